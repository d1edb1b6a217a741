"""What the CLI and recipes do, as library functions: evaluate, quantize and compare, benchmark, transcribe.

Each composes the library's pieces (recipe spec -> loader, engine, decoder, metric; pipeline; latency) and returns
frozen results; printing and report files are the caller's business (``speechq.report``).
"""

from __future__ import annotations

import logging
import re
import string
import tempfile
import time
import unicodedata
from itertools import zip_longest
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from speechq.algorithms import AccuracyAwareResult
from speechq.algorithms.drift import OutputDrift, check_drift
from speechq.algorithms.front_end import FrontEndPart
from speechq.algorithms.sensitivity import Sensitivity
from speechq.api.data_loader import DataLoader
from speechq.api.metric import Metric, MetricGroup
from speechq.api.sampler import IndexSampler
from speechq.benchmark import Latency, measure_latency
from speechq.constants import DEFAULT_STAT_SUBSET_SIZE, SAMPLE_RATE_HZ
from speechq.engines import IEEngine, StreamingEngine, WindowedEngine
from speechq.data import speaker_of
from speechq.errors import ConfigError, DataError
from speechq.metrics import (CharErrorRate, ErrorRateMetric, ErrorRates, RateChange, TokenErrorRate, WordErrorRate,
                             rate_change)
from speechq.model import (CompressedModel, check_companion_files, check_output, compress_model_weights, load_model,
                           save_companion_files, save_model)
from speechq.pipeline import create_pipeline
from speechq.zoo.specs import RecipeSpec

__all__ = [
    "Evaluation",
    "QuantizeResult",
    "SpeakerRates",
    "by_speaker",
    "speaker_groups",
    "ChainLoader",
    "ReferenceLoader",
    "agreement_loader",
    "evaluate_model",
    "make_decoder",
    "make_engine",
    "make_loader",
    "rate_changes",
    "BenchmarkResult",
    "Throughput",
    "benchmark_models",
    "quantize_and_compare",
    "spoken_characters",
]

logger = logging.getLogger(__name__)

ALGORITHM_NAMES = ("DefaultQuantization", "AccuracyAwareQuantization")
DRIFT_ITEMS = 4  # utterances whose inferences compare the saved INT8 model with FP32


@dataclass(frozen=True)
class SpeakerRates:
    """One speaker's part of an evaluation: the speaker (:func:`speechq.data.speaker_of`), how many utterances,
    and each error rate over them, corpus-level (their edits / their reference length)."""

    speaker: str
    utterances: int
    metrics: Mapping[str, float]


@dataclass(frozen=True)
class Evaluation:
    """One model's figures on one data set.

    Attributes:
        label: e.g. ``"FP32"``; metrics: ``{"wer": ..., "cer": ...}`` corpus-level; utterances: items scored;
        audio_seconds: their total duration; wall_seconds: evaluation time (decoding included); decoding: how
        the outputs were decoded (the decoder's ``description``, e.g. ``"greedy"``), empty when unknown;
        error_counts: for each error-rate metric, the edits and reference length of every utterance in data-set
        order (what :func:`rate_changes` resamples), empty when the metric is not an error rate; utterance_ids: the
        utterances in that order (empty when the loader does not name them); speakers: each speaker's error rates,
        when asked for (:func:`by_speaker`).
    """

    label: str
    metrics: Mapping[str, float]
    utterances: int
    audio_seconds: float
    wall_seconds: float
    decoding: str = ""
    error_counts: Mapping[str, ErrorRates] = field(default_factory=dict)
    utterance_ids: tuple[str, ...] = ()
    speakers: tuple[SpeakerRates, ...] = ()

    @property
    def real_time_factor(self) -> float:
        """Processing seconds per second of audio (lower is faster)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else float("nan")


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


def make_loader(spec: RecipeSpec, data: str | Path, label_dir: str | Path | None = None,
                labelled: bool = True) -> DataLoader:
    """The recipe's speech loader over ``data``: labelled (LibriSpeech layout, flat folder + ``label_dir``, or
    manifest), or with ``labelled=False`` any folder of audio files (annotations without text). Every file is
    decoded here (features cached), so NaN, infinite or silent audio is refused before the first inference."""
    from speechq.data import AudioFolderDataLoader, LibriSpeechDataLoader

    if not labelled:
        if label_dir is not None:
            raise ConfigError("label_dir (--label-dir) has no use when the audio is scored without its transcripts")
        return AudioFolderDataLoader(Path(data), features=spec.features(), check_audio=True)
    return LibriSpeechDataLoader(Path(data), features=spec.features(), check_audio=True, alphabet=spoken_characters(spec),
                                 label_dir=None if label_dir is None else Path(label_dir))


_PUNCTUATION = frozenset(c for c in string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00ab\u00bb\u00a1\u00bf"
                         if unicodedata.category(c).startswith("P"))  # what the English normalisation removes


def spoken_characters(spec: RecipeSpec) -> frozenset[str] | None:
    """Characters a transcript may hold for ``spec``'s model: its one-character tokens (any case), the space, and
    punctuation (which WER/CER's normalisation removes). A transcript with others (digits, accented letters the
    model cannot spell) would be scored against text the model can never produce, so the loader refuses it.
    None where the vocabulary's tokens are not single characters (word pieces): then nothing is checked."""
    tokens = [t for t in spec.vocabulary(None).tokens if t]
    if not tokens or any(len(t) != 1 for t in tokens):
        return None
    return frozenset(tokens) | {" "} | _PUNCTUATION


class ChainLoader(DataLoader):
    """The items of several loaders, one after the other (e.g. one per audio file given on a command line)."""

    def __init__(self, loaders: Sequence[DataLoader]) -> None:
        super().__init__()
        self._loaders = list(loaders)
        self._starts = np.cumsum([0] + [len(loader) for loader in self._loaders])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(index)
        which = int(np.searchsorted(self._starts, index, side="right")) - 1
        return self._loaders[which][index - int(self._starts[which])]


def has_transcripts(data: str | Path, label_dir: str | Path | None = None) -> bool:
    """Whether ``data`` comes with transcripts: a manifest file, a flat folder with ``label_dir``, or a folder in
    LibriSpeech's layout (``*.trans.txt`` files)."""
    path = Path(data)
    return path.is_file() or label_dir is not None or next(path.rglob("*.trans.txt"), None) is not None


class ReferenceLoader(DataLoader):
    """The items of ``loader`` with other reference transcripts, ``texts[utterance_id]`` (say, the FP32 model's own),
    so that error rates measure agreement with that reference."""

    def __init__(self, loader: DataLoader, texts: Mapping[str, str]) -> None:
        super().__init__(loader.config)
        self._loader, self._texts = loader, dict(texts)

    def __len__(self) -> int:
        return len(self._loader)

    @property
    def texts(self) -> dict[str, str]:
        """The reference transcript of each utterance id."""
        return dict(self._texts)

    def __getitem__(self, index: int) -> Any:
        from speechq.api.types import SpeechAnnotation

        item = self._loader[index]
        annotation = item[1]
        return (item[0], SpeechAnnotation(annotation.utterance_id, self._texts[annotation.utterance_id]), *item[2:])


def agreement_loader(engine: IEEngine, reference: CompressedModel, loader: DataLoader, unit: str = "word",
                     print_progress: bool = False) -> ReferenceLoader:
    """``loader`` with ``reference``'s own transcripts as references (the engine's loader and metric are replaced
    by this and a fresh error-rate metric over ``unit``): for audio without transcripts, error rates then measure how
    far another model's transcripts are from the reference model's."""
    texts = dict(transcribe(engine, reference, loader, print_progress))
    agreement = ReferenceLoader(loader, texts)
    engine.set_data_loader(agreement)
    engine.set_metric(error_rates(unit))
    return agreement


def agreement_reference(engine: IEEngine, reference: CompressedModel, loader: DataLoader, unit: str = "word",
                        label: str = "FP32", print_progress: bool = False) -> tuple[DataLoader, Evaluation]:
    """:func:`agreement_loader`, and the reference model's evaluation from that same pass (no second one): its
    error rates against its own transcripts, computed by the engine's new metric (0 for any deterministic model),
    and the pass's wall time."""
    from speechq.api.types import SpeechAnnotation

    start = time.perf_counter()
    agreement = agreement_loader(engine, reference, loader, unit, print_progress)
    wall = time.perf_counter() - start
    texts = agreement.texts
    metric = error_rates(unit)
    metric.update(list(texts.values()), [SpeechAnnotation(uid, text) for uid, text in texts.items()])
    ids, seconds = _loader_facts(agreement)
    return agreement, Evaluation(label, dict(metric.avg_value), len(agreement), seconds, wall, _decoding(engine),
                                 _error_counts(metric), ids)


def make_decoder(spec: RecipeSpec, vocabulary: Any, decoder: str = "auto", lm_path: str | Path | None = None,
                 beam_width: int = 64, model_path: str | Path | None = None) -> Any:
    """The recipe's CTC decoder (its logits layout and outputs), usable as the engine's ``postprocess``; ``decoder``,
    ``lm_path`` and ``model_path`` choose greedy or beam search as :func:`speechq.decoding.decoder_for` does."""
    from speechq.decoding import decoder_for

    return decoder_for(vocabulary, spec.logits_layout, decoder, lm_path=lm_path, model_path=model_path,
                       beam_width=beam_width, logits_output=spec.logits_output, lengths_output=spec.lengths_output)


def error_rates(unit: str = "word") -> Metric:
    """Corpus-level WER and CER (``unit="word"``), or token error rate (``"token"``: space-separated tokens).

    Raises:
        ConfigError: another unit.
    """
    if unit == "word":
        return MetricGroup(WordErrorRate(), CharErrorRate())
    if unit == "token":
        return MetricGroup(TokenErrorRate())
    raise ConfigError(f"error rates are over 'word' or 'token', got {unit!r}")


def make_engine(spec: RecipeSpec, loader: DataLoader | None, decoder: Any, metric: Metric | None = None,
                engine_config: Mapping[str, Any] | None = None) -> IEEngine:
    """The engine a recipe runs its models with (streaming, windowed or plain), decoding with ``decoder``."""
    config = {**spec.engine_config, **dict(engine_config or {})}
    kinds: dict[str, type[IEEngine]] = {"streaming": StreamingEngine, "windowed": WindowedEngine, "plain": IEEngine}
    return kinds[spec.engine](config, loader, metric, postprocess=decoder)


def _audio_seconds(loader: DataLoader) -> float:
    return _loader_facts(loader)[1]


def _loader_facts(loader: DataLoader) -> tuple[tuple[str, ...], float]:
    """The loader's utterance ids in its order (empty when an item names none) and its seconds of audio."""
    ids: list[str | None] = []
    samples = 0
    for index in range(len(loader)):
        item = loader[index]
        metadata = item[2] if len(item) == 3 else {}
        samples += int(metadata.get("num_samples", 0))
        ids.append(getattr(item[1], "utterance_id", None) or metadata.get("utterance_id"))
    named = tuple(str(uid) for uid in ids if uid is not None)
    return (named if len(named) == len(ids) else ()), samples / SAMPLE_RATE_HZ


def evaluate_model(engine: IEEngine, model: CompressedModel, label: str, print_progress: bool = False) -> Evaluation:
    """The engine's metrics for ``model`` over its whole data set, with wall time."""
    if engine.data_loader is None:
        raise ConfigError("evaluate_model needs an engine with a data loader")
    engine.set_model(model)
    start = time.perf_counter()
    metrics, _ = engine.predict(print_progress=print_progress)
    wall = time.perf_counter() - start
    ids, seconds = _loader_facts(engine.data_loader)
    return Evaluation(label, dict(metrics or {}), len(engine.data_loader), seconds, wall, _decoding(engine),
                      _error_counts(engine.metric), ids)


def speaker_groups(utterance_ids: Sequence[str]) -> dict[str, list[int]]:
    """Each speaker's utterances (positions in ``utterance_ids``), speakers in natural order ("2" before "10").

    Raises:
        DataError: an utterance id names no speaker (:func:`speechq.data.speaker_of`: LibriSpeech ids, or audio in
            one folder per speaker).
    """
    groups: dict[str, list[int]] = {}
    for index, uid in enumerate(utterance_ids):
        speaker = speaker_of(uid)
        if speaker is None:
            raise DataError(f"utterance {uid!r} names no speaker: per-speaker rates need LibriSpeech ids "
                            "(<speaker>-<chapter>-<n>) or audio files in one folder per speaker")
        groups.setdefault(speaker, []).append(index)
    order = sorted(groups, key=lambda s: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)])
    return {speaker: groups[speaker] for speaker in order}


def by_speaker(evaluation: Evaluation) -> Evaluation:
    """``evaluation`` with each speaker's error rates (``speakers``, in :func:`speaker_groups`' order).

    Raises:
        DataError: the evaluation holds no per-utterance error counts or utterance ids, or an utterance id names
            no speaker.
    """
    if not evaluation.error_counts or len(evaluation.utterance_ids) != evaluation.utterances:
        raise DataError(f"{evaluation.label}: per-speaker error rates need every utterance's id and error counts, "
                        "which this evaluation does not hold")
    speakers = tuple(SpeakerRates(speaker, len(positions), {name: counts.corpus_rate_of(positions)
                                                            for name, counts in evaluation.error_counts.items()})
                     for speaker, positions in speaker_groups(evaluation.utterance_ids).items())
    return replace(evaluation, speakers=speakers)


def _error_counts(metric: Metric | None) -> dict[str, ErrorRates]:
    """The counts behind each error rate of ``metric`` (an error-rate metric or a group of them), by name."""
    parts = metric.metrics if isinstance(metric, MetricGroup) else (metric,)
    return {part.name: part.result for part in parts if isinstance(part, ErrorRateMetric)}


def rate_changes(before: Evaluation, after: Evaluation) -> dict[str, RateChange]:
    """``after``'s error rates minus ``before``'s, each with a 95% paired-bootstrap interval
    (:func:`speechq.metrics.rate_change`), for the rates both evaluations hold per-utterance counts of.

    Raises:
        DataError: the two were not scored on the same utterances (by id, where both name them).
    """
    if before.utterance_ids and after.utterance_ids and before.utterance_ids != after.utterance_ids:
        differ = next(pair for pair in zip_longest(before.utterance_ids, after.utterance_ids, fillvalue="(none)")
                      if pair[0] != pair[1])
        raise DataError(f"{before.label} and {after.label} were scored on different utterances ({differ[0]!r} "
                        f"against {differ[1]!r}); their error rates do not pair")
    return {name: rate_change(counts, after.error_counts[name])
            for name, counts in before.error_counts.items() if name in after.error_counts}


def _decoding(engine: IEEngine) -> str:
    """How ``engine`` decodes its outputs (its postprocess decoder's ``description``); empty when it does not say."""
    return str(getattr(getattr(engine, "postprocess", None), "description", ""))


def weight_bytes(model: CompressedModel) -> int:
    """Bytes of the model's .bin file(s) as ``save_model`` writes them."""
    with tempfile.TemporaryDirectory(prefix="speechq-size-") as scratch:
        written = save_model(model, scratch, model_name="size_probe")
        return sum(Path(w["weights"]).stat().st_size for w in written)


def _latencies(engine: IEEngine, fp32: CompressedModel, int8: CompressedModel, repeats: int) -> tuple[Latency, ...]:
    engine.set_model(fp32)
    inputs = engine.collect_model_inputs(IndexSampler(engine.data_loader, [0]))  # type: ignore[arg-type]
    engine.release()
    return (
        measure_latency(fp32.model, inputs, "FP32 (f32)", precision="f32", repeats=repeats),
        measure_latency(fp32.model, inputs, "FP32 (OpenVINO default precision)", precision="default", repeats=repeats),
        measure_latency(int8.model, inputs, "INT8", precision="f32", repeats=repeats),
    )


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
) -> QuantizeResult:
    """Quantize a model of ``spec``'s family on ``data``, evaluate FP32 and INT8, time both, save INT8 (int8 weights).

    With ``agreement``, ``data`` is any folder of audio and error rates are measured against the FP32 model's own
    transcripts (FP32 then scores 0; accuracy-aware quantization's ``maximal_drop`` bounds the disagreement).

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
    loader = make_loader(spec, data, label_dir, labelled=not agreement)
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


class TranscriptCollector(Metric):
    """Keeps the decoded text of every sample (a "metric" so that any engine can gather transcripts)."""

    def reset(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self._last: list[float] = []

    @property
    def value(self) -> dict[str, list[float]]:
        return {"utterances": self._last}

    @property
    def avg_value(self) -> dict[str, float]:
        return {"utterances": float(len(self.texts))}

    def update(self, output: Any, target: Any) -> None:
        for text, annotation in zip(output, target):
            self.texts.append((getattr(annotation, "utterance_id", str(annotation)), str(text)))
        self._last = [1.0] * len(target)

    def get_attributes(self) -> dict[str, dict[str, str]]:
        return {"utterances": {"direction": "higher-better", "type": "count"}}


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


def transcribe(engine: IEEngine, model: CompressedModel, loader: DataLoader, print_progress: bool = False) -> list[tuple[str, str]]:
    """``(utterance id, text)`` for every item of ``loader``, in order (the engine must decode to text)."""
    collector = TranscriptCollector()
    engine.set_data_loader(loader)
    engine.set_metric(collector)
    engine.set_model(model)
    engine.predict(print_progress=print_progress)
    return collector.texts


@dataclass(frozen=True)
class Throughput:
    """End-to-end speed of one model through its recipe's engine (features cached, decoding included).

    Attributes:
        label: which model and precision; streams: utterances in flight (1 = single stream);
        audio_seconds: audio per pass; median_s, p10_s, p90_s: wall time of a pass over the data; runs: timed passes.
    """

    label: str
    streams: int
    audio_seconds: float
    median_s: float
    p10_s: float
    p90_s: float
    runs: int

    @property
    def audio_per_second(self) -> float:
        """Seconds of audio processed per wall-clock second (median pass; higher is faster)."""
        return self.audio_seconds / self.median_s if self.median_s else float("nan")


@dataclass(frozen=True)
class BenchmarkResult:
    """FP32 against INT8 speed, all measured in one run on the same inputs.

    ``latencies``: per inference (a chunk for streaming models, an utterance otherwise), FP32 in f32, FP32 in
    OpenVINO's default precision, INT8 last; ``throughputs``: the same three models end to end, single stream and
    with ``streams`` utterances in flight.
    """

    recipe: str
    fp32_model: str
    int8_model: str
    utterances: int
    latencies: tuple[Latency, ...]
    latency_unit: str
    throughputs: tuple[Throughput, ...]
    threads: int | None


def _pass_times(engine: IEEngine, runs: int) -> list[float]:
    engine.predict()  # warm-up: compiles, fills the feature cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        engine.predict()
        times.append(time.perf_counter() - start)
    return times


def benchmark_models(
    spec: RecipeSpec,
    fp32_path: str | Path,
    int8_path: str | Path,
    data: str | Path,
    *,
    label_dir: str | Path | None = None,
    utterances: int = 8,
    streams: int | None = None,
    threads: int | None = None,
    latency_repeats: int = 50,
    throughput_runs: int = 5,
    device: str = "CPU",
) -> BenchmarkResult:
    """Latency per inference and end-to-end throughput of an FP32 model and its INT8 version, in one run.

    ``utterances``: the first ones of ``data`` are used; ``streams``: utterances in flight for the all-cores
    throughput (default: the number of CPU cores); ``threads``: CPU threads for inference (default: all).

    Raises:
        ConfigError: non-positive sizes; ModelError and DataError from loading.
    """
    import os
    import statistics

    from speechq.engines._options import positive_int

    for key, value in (("utterances", utterances), ("latency_repeats", latency_repeats),
                       ("throughput_runs", throughput_runs)):
        positive_int("benchmark", key, value)
    streams = positive_int("benchmark", "streams", streams if streams is not None else (os.cpu_count() or 1))
    models = {}
    for label, path in (("FP32", fp32_path), ("INT8", int8_path)):
        models[label] = load_model(path)
        spec.check_model(models[label].model, str(path))
    loader = make_loader(spec, data, label_dir)
    count = min(utterances, len(loader))
    subset = _FirstItems(loader, count)
    decoder = make_decoder(spec, spec.vocabulary_for(fp32_path))
    base = {"device": device, **({} if threads is None else {"num_threads": threads})}
    engine = make_engine(spec, subset, decoder, None, {**base, "inference_precision": "f32"})
    engine.set_model(models["FP32"])
    inputs = engine.collect_model_inputs(IndexSampler(subset, [0]))
    runs = [("FP32 (f32)", models["FP32"], "f32"), ("FP32 (OpenVINO default precision)", models["FP32"], "default"),
            ("INT8", models["INT8"], "f32")]
    latencies = tuple(measure_latency(model.model, inputs, label, precision=precision, num_threads=threads,
                                      repeats=latency_repeats, device=device) for label, model, precision in runs)
    audio = _audio_seconds(subset)
    throughputs = []
    for n in sorted({1, streams}):
        for label, model, precision in runs:
            engine = make_engine(spec, subset, decoder, None,
                                 {**base, "inference_precision": precision, "eval_requests_number": n})
            engine.set_model(model)
            times = _pass_times(engine, throughput_runs)
            deciles = statistics.quantiles(times, n=10) if len(times) > 1 else [times[0]] * 9
            throughputs.append(Throughput(label, n, audio, statistics.median(times), deciles[0], deciles[-1], len(times)))
    return BenchmarkResult(
        recipe=spec.name, fp32_model=str(fp32_path), int8_model=str(int8_path), utterances=count,
        latencies=latencies, latency_unit="chunk" if spec.engine == "streaming" else "utterance",
        throughputs=tuple(throughputs), threads=threads,
    )


class _FirstItems(DataLoader):
    """The first ``count`` items of a loader (sharing its feature cache)."""

    def __init__(self, loader: DataLoader, count: int) -> None:
        super().__init__(loader.config)
        self._loader, self._count = loader, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._loader[index]


def summarise_latency(latencies: Sequence[Latency]) -> dict[str, float]:
    """Speed-ups of the last entry (INT8) over each other entry, from medians in the same run."""
    int8 = latencies[-1]
    return {f"INT8 vs {lat.label}": lat.median_ms / int8.median_ms for lat in latencies[:-1]}


def percent(value: float) -> str:
    return f"{100 * value:.2f}%" if np.isfinite(value) else "n/a"
