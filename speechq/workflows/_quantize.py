"""Quantize a model of a recipe's family, evaluate FP32 against INT8, time both and save INT8; POT's JSON configs."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from speechq.algorithms import AccuracyAwareResult
from speechq.drift import OutputDrift, check_drift
from speechq.algorithms.front_end import FrontEndPart
from speechq.algorithms.sensitivity import Sensitivity
from speechq.api.sampler import IndexSampler
from speechq.benchmark import Latency, compare_latencies
from speechq.constants import DEFAULT_STAT_SUBSET_SIZE
from speechq.engines import IEEngine
from speechq.errors import ConfigError
from speechq.metrics import RateChange
from speechq.model import (CompressedModel, check_companion_files, check_output, compress_model_weights, load_model,
                           save_companion_files, save_model)
from speechq.pipeline import create_pipeline
from speechq.workflows._building import error_rates, make_decoder, make_engine, make_loader
from speechq.workflows._evaluation import Evaluation, evaluate_model, rate_changes
from speechq.workflows._transcripts import agreement_reference
from speechq.zoo.specs import RecipeSpec


ALGORITHM_NAMES = ("DefaultQuantization", "AccuracyAwareQuantization")


DRIFT_ITEMS = 4  # utterances whose inferences compare the saved INT8 model with FP32


@dataclass(frozen=True)
class QuantizeResult:
    """FP32 against INT8 for one quantization run."""

    recipe: str
    algorithm: str
    params: Mapping[str, Any]
    fp32: Evaluation
    int8: Evaluation
    fp32_weight_bytes: int
    int8_weight_bytes: int
    latencies: tuple[Latency, ...]
    latency_unit: str
    saved: tuple[Mapping[str, str], ...]
    accuracy_aware: AccuracyAwareResult | None = None
    fp32_layers_kept: tuple[str, ...] = field(default_factory=tuple)  # weighted layers of ``front_end``
    drift: tuple[OutputDrift, ...] = field(default_factory=tuple)
    front_end: tuple[FrontEndPart, ...] = field(default_factory=tuple)  # kept FP32 by default (keep_front_end_fp32)
    sensitivity: Sensitivity | None = None  # per layer: accuracy-aware ranking, or sensitivity_subset_size
    reference: str = "transcripts"  # what error rates are measured against ("FP32 transcripts": agreement)
    changes: Mapping[str, RateChange] = field(default_factory=dict)  # INT8 - FP32 per error rate, with intervals


def quantize_and_compare(
    spec: RecipeSpec,
    model_path: str | Path,
    data: str | Path,
    output_dir: str | Path,
    *,
    algorithm: str = "DefaultQuantization",
    params: Mapping[str, Any] | None = None,
    label_dir: str | Path | None = None,
    model_name: str | None = None,
    overwrite: bool = False,
    decoder: str = "auto",
    lm_path: str | Path | None = None,
    engine_config: Mapping[str, Any] | None = None,
    latency_repeats: int = 30,
    print_progress: bool = False,
    agreement: bool = False,
    skip_bad: bool = False,
) -> QuantizeResult:
    """Quantize a model of ``spec``'s family on ``data``, evaluate FP32 and INT8, time both, save INT8 (int8 weights).

    With ``agreement``, ``data`` is any folder of audio and error rates are measured against the FP32 model's own
    transcripts (FP32 then scores 0; accuracy-aware quantization's ``maximal_drop`` bounds the disagreement).
    With ``skip_bad``, bad utterances of ``data`` are left out with a warning each (see :func:`make_loader`).

    Everything is validated (model inputs, data, algorithm parameters, output location) before the first
    inference.
    """
    if algorithm not in ALGORITHM_NAMES:
        raise ConfigError(f"unknown algorithm {algorithm!r}; valid algorithms are {list(ALGORITHM_NAMES)}")
    model = load_model(model_path)
    spec.check_model(model.model, str(model_path))
    name = model_name or Path(model_path).stem
    check_output(Path(output_dir), [name], overwrite)
    companions = _companion_files(spec, model_path)
    check_companion_files(companions, Path(output_dir), overwrite)
    loader = make_loader(spec, data, label_dir, labelled=not agreement, skip_bad=skip_bad)
    vocabulary = spec.vocabulary_for(model_path)
    engine = make_engine(spec, loader, make_decoder(spec, vocabulary, decoder, lm_path, model_path=model_path),
                         error_rates(spec.unit), engine_config)
    fp32: Evaluation | None = None
    if agreement:  # the pass that makes the references is FP32's evaluation
        loader, fp32 = agreement_reference(engine, model, loader, spec.unit, "FP32", print_progress)
    merged = {**spec.quantization_defaults, **dict(params or {})}
    if "stat_subset_size" not in merged:  # POT's default of 300, without its warning on smaller data sets
        merged["stat_subset_size"] = min(DEFAULT_STAT_SUBSET_SIZE, len(loader))
    pipeline = create_pipeline([{"name": algorithm, "params": merged}], engine)
    for step in pipeline.algorithms:
        step.print_progress = print_progress
    if fp32 is None:
        fp32 = evaluate_model(engine, model, "FP32", print_progress)
    int8_model = pipeline.run(model)
    compress_model_weights(int8_model)
    int8 = evaluate_model(engine, int8_model, "INT8", print_progress)
    engine.release()  # saving, timing and the drift check compile what they need: a large model's copy costs GBs
    saved = save_model(int8_model, output_dir, model_name=name, overwrite=overwrite)
    save_companion_files(companions, Path(output_dir))  # the INT8 model carries its vocabulary and LM as FP32 did
    fp32_bytes = weight_bytes(model)
    int8_bytes = sum(Path(w["weights"]).stat().st_size for w in saved)
    latencies = _latencies(engine, model, int8_model, latency_repeats)
    engine.set_model(model)
    probe = engine.collect_model_inputs(IndexSampler(loader, list(range(min(DRIFT_ITEMS, len(loader))))))
    engine.release()
    drift = check_drift(model.model, int8_model.model, probe, max_items=10 * DRIFT_ITEMS, outputs=engine.result_outputs)
    aaq = getattr(pipeline.algorithms[0], "result", None)
    front_end = tuple(getattr(pipeline.algorithms[0], "front_end", ()))
    return QuantizeResult(
        recipe=spec.name, algorithm=algorithm, params=merged, fp32=fp32, int8=int8, fp32_weight_bytes=fp32_bytes,
        int8_weight_bytes=int8_bytes, latencies=latencies,
        latency_unit="chunk" if spec.engine == "streaming" else "utterance", saved=tuple(saved), accuracy_aware=aaq,
        drift=tuple(drift), reference="FP32 transcripts" if agreement else "transcripts", front_end=front_end,
        fp32_layers_kept=tuple(layer for part in front_end for layer in part.layers),
        sensitivity=getattr(pipeline.algorithms[0], "sensitivity", None), changes=rate_changes(fp32, int8),
    )


def weight_bytes(model: CompressedModel) -> int:
    """Bytes of the model's .bin file(s) as ``save_model`` writes them."""
    with tempfile.TemporaryDirectory(prefix="speechq-size-") as scratch:
        written = save_model(model, scratch, model_name="size_probe")
        return sum(Path(w["weights"]).stat().st_size for w in written)


def _latencies(engine: IEEngine, fp32: CompressedModel, int8: CompressedModel, repeats: int) -> tuple[Latency, ...]:
    engine.set_model(fp32)
    inputs = engine.collect_model_inputs(IndexSampler(engine.data_loader, [0]))  # type: ignore[arg-type]
    engine.release()
    return compare_latencies(fp32.model, int8.model, inputs, repeats=repeats)


def _companion_files(spec: RecipeSpec, model_path: str | Path) -> list[tuple[Path, str]]:
    """Files the model needs beside it, with the sub-folder each goes to: the recipe's vocabulary file and the
    ``language_model/`` folder (see :mod:`speechq.decoding.language_model`)."""
    from speechq.decoding import LANGUAGE_MODEL_FOLDER, find_language_model

    vocabulary_file = spec.vocabulary_file_of(model_path)
    files = [] if vocabulary_file is None else [(vocabulary_file, "")]
    language_model = find_language_model(model_path)
    if language_model is not None:
        files += [(path, LANGUAGE_MODEL_FOLDER) for path in language_model.files]
    return files


POT_CONFIG_KEYS = {"model", "engine", "compression"}


def read_pot_config(path: str | Path) -> dict[str, Any]:
    """Parse POT's JSON config (``pot -c config.json``) into ``quantize_and_compare`` keyword arguments.

    ``{"model": {"model_name", "model", "weights"}, "engine": {"type": "simplified", "data_source", "device",
    "recipe", "label_dir"}, "compression": {"target_device", "algorithms": [{"name", "params"}]}}``; ``recipe``
    (default ``deepspeech``) and ``label_dir`` are speechq's additions.

    Raises:
        ConfigError: unreadable JSON, unknown keys, several algorithms, or missing model / data paths.
    """
    import json

    from speechq.engines._options import check_keys

    config_path = Path(path)
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{config_path}: cannot read the config ({error})") from error
    if not isinstance(config, dict):
        raise ConfigError(f"{config_path}: the config must be a JSON object")
    check_keys(str(config_path), config, POT_CONFIG_KEYS)
    model = config.get("model", {})
    engine = dict(config.get("engine", {}))
    compression = dict(config.get("compression", {}))
    check_keys(f"{config_path}: model", model, {"model_name", "model", "weights"})
    check_keys(f"{config_path}: engine", engine, {"type", "data_source", "device", "recipe", "label_dir"})
    check_keys(f"{config_path}: compression", compression, {"target_device", "algorithms"})
    if engine.get("type", "simplified") != "simplified":
        raise ConfigError(f"{config_path}: engine type {engine['type']!r} is not supported; use 'simplified'")
    algorithms = compression.get("algorithms", [])
    if len(algorithms) != 1 or not isinstance(algorithms[0], dict):
        raise ConfigError(f"{config_path}: compression.algorithms must hold exactly one algorithm, got {len(algorithms)}")
    params = dict(algorithms[0].get("params", {}))
    if "target_device" in compression:
        params.setdefault("target_device", compression["target_device"])
    for key, where in (("model", model), ("data_source", engine)):
        if not where.get(key):
            raise ConfigError(f"{config_path}: '{key}' is missing")
    base = config_path.parent
    return {
        "recipe": engine.get("recipe", "deepspeech"),
        "model_path": base / model["model"],
        "data": base / engine["data_source"],
        "label_dir": None if engine.get("label_dir") is None else base / engine["label_dir"],
        "model_name": model.get("model_name"),
        "algorithm": algorithms[0].get("name"),
        "params": params,
        "engine_config": {"device": engine.get("device", "CPU")},
    }
