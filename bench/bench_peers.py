"""speechq side by side with what a user would pick instead, per architecture (DeepSpeech, Wav2Vec2): one trained
model, one data set, one machine.

Contenders (options in the report; ``bench/_peers/quantizers.py`` holds each one's code):
1. speechq DefaultQuantization (Wav2Vec2: the wav2vec2 recipe's defaults), and AccuracyAwareQuantization with
   ``--max-drop`` (absolute WER);
2. NNCF used directly as OpenVINO's notebooks do: ``nncf.quantize`` with a hand-built calibration set (DeepSpeech:
   every 16-step chunk with zero LSTM state; Wav2Vec2: whole utterances, ``model_type=TRANSFORMER``), and
   ``nncf.quantize_with_accuracy_control`` with a WER validation function;
3. ONNX Runtime static INT8 (QDQ, per-channel weights) of the ONNX export, on its CPU execution provider;
4. PyTorch dynamic INT8 of the LSTM and Linear layers (Wav2Vec2: Linear);
5. POT (openvino-dev 2023.3) in its own virtual environment, created with ``--with-pot`` (skipped otherwise; for
   Wav2Vec2 also skipped, with the error, where OpenVINO 2023.3 cannot load the IR);
6. FP32 baselines: PyTorch, ONNX Runtime, OpenVINO with f32 inference precision and with its default precision.

Figures: WER/CER on held-out test utterances with the shipped small model (trained weights; greedy decoding);
latency per inference (DeepSpeech: per 16-step chunk; Wav2Vec2: per utterance of ``--speed-seconds`` of audio) and
throughput (audio seconds per second), single stream, 1 thread and all cores, warm-up, repeated passes, median and
p10-p90, on the shipped model and at full size with random weights (DeepSpeech 0.8.2: 2048 units; Hugging Face's
wav2vec2-base); quantization wall time and peak memory (each quantization in its own process) and their growth
with the calibration subset size; INT8 size on disk; versions of every library. Every model of an architecture
runs through one loop (``bench/_peers/runners.py``), each contender in a process of its own. The PyTorch and ONNX
models hold the IR's weights (``_peers/deepspeech_torch.py``, ``_peers/wav2vec2_torch.py``; Wav2Vec2's are checked
to reproduce the IR's logits).

Usage::

    python bench/bench_peers.py --out bench/results/peers [--with-pot]   # peers.{md,json,png} (DeepSpeech) and
                                                                         # peers_wav2vec2.{md,json,png}
    python bench/bench_peers.py --model wav2vec2 --out bench/results/peers   # one architecture
    python bench/bench_peers.py --tiny --out /tmp/peers                  # 5 minutes on 2 cores: what the tests run
    python bench/bench_peers.py --render bench/results/peers.json        # Markdown and plot again from the JSON

Data: calibration utterances from ``--calibration-data`` (default: the corpus's dev split at /work/corpus/dev where
present, else the shipped utterances), test utterances from ``--test-data`` (default /work/corpus/test, else the
shipped utterances after the calibration ones).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _peers
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # speechq from this checkout

from _peers import provenance  # noqa: E402
from _peers.architectures import ARCHITECTURES, Architecture  # noqa: E402
from _peers.children import ChildRun, run_child  # noqa: E402
from _peers.common import Utterances, inference_count  # noqa: E402
from _peers.contenders import CONTENDERS, Contender  # noqa: E402
from _peers.pot_venv import DEFAULT_VENV, ensure_pot_venv  # noqa: E402
from _peers.prepare import baseline_artifact, fp32_models, read_split, speed_model, write_subset  # noqa: E402
from _peers.quantizers import options_text  # noqa: E402
from _peers.report import write_report, write_summary  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHIPPED_DATA = REPO / "speechq" / "zoo" / "data" / "synthetic-test"
CORPUS = Path("/work/corpus")
WORKER = BENCH / "_peers" / "worker.py"
POT_WORKER = BENCH / "_peers" / "pot_worker.py"
BASELINE_OPTIONS = {
    "openvino_fp32": "the FP32 IR compiled with INFERENCE_PRECISION_HINT f32",
    "openvino_fp32_default": "the FP32 IR compiled with OpenVINO's default precision (bf16 on CPUs with AVX-512 BF16 "
                             "or AMX)",
    "torch_fp32": {"deepspeech": "the IR's weights in a torch.nn.Module (Linear, LSTM), eager, torch.inference_mode",
                   "wav2vec2": "the IR's weights in Hugging Face's Wav2Vec2ForCTC built from config.json (checked to "
                               "reproduce the IR's logits), eager, torch.inference_mode"},
    "onnxruntime_fp32": "torch.onnx.export (TorchScript exporter, opset 17) of that module, CPU execution provider, "
                        "all graph optimisations",
}


def contender_options(key: str, quantizer: str | None, architecture: str, max_drop: float) -> str:
    """What a contender does, as the report states it."""
    if quantizer is None:
        text = BASELINE_OPTIONS[key]
        return text[architecture] if isinstance(text, dict) else text
    return options_text(architecture, quantizer, max_drop)


@dataclass
class Settings:
    out: Path
    work: Path
    calibration_data: Path
    test_data: Path
    calibration_utterances: int
    test_utterances: int | None
    growth_sizes: tuple[int, ...]
    speed_hidden: int | None  # None: DeepSpeech speed on the shipped model only
    speed_wav2vec2: str | None  # "base", "tiny" or None (Wav2Vec2 speed on the shipped model only)
    speed_seconds: float  # audio per Wav2Vec2 speed inference
    architectures: tuple[str, ...]
    speed_calibration_utterances: int
    speed_utterances: int
    passes: int
    rounds: int
    threads: tuple[int, ...]
    max_drop: float
    with_pot: bool
    pot_venv: Path
    only: tuple[str, ...]
    timeout_s: float
    tiny: bool
    jobs: int
    command: str = ""


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "peers",
                        help="output path without suffix: writes OUT.md, OUT.json, OUT.png")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/speechq-bench-peers"),
                        help="models, features and child logs (kept: features are reused)")
    parser.add_argument("--calibration-data", type=Path)
    parser.add_argument("--test-data", type=Path)
    parser.add_argument("--calibration-utterances", type=int, default=300)
    parser.add_argument("--test-utterances", type=int, help="default: all")
    parser.add_argument("--growth-sizes", default="25,50,100,200", help="other calibration subset sizes, comma-separated")
    parser.add_argument("--model", choices=["all", *ARCHITECTURES], default="all", help="architecture(s) to benchmark")
    parser.add_argument("--speed-hidden", type=int, default=2048,
                        help="units of the random-weight DeepSpeech speed model (0: none)")
    parser.add_argument("--speed-wav2vec2", choices=["base", "none"], default="base",
                        help="sizes of the random-weight Wav2Vec2 speed model (Hugging Face's wav2vec2-base, or none)")
    parser.add_argument("--speed-seconds", type=float, default=5.0, help="audio per Wav2Vec2 speed inference")
    parser.add_argument("--speed-calibration-utterances", type=int, default=30)
    parser.add_argument("--speed-utterances", type=int, default=8,
                        help="test utterances per speed pass (Wav2Vec2: clips of --speed-seconds cut from them)")
    parser.add_argument("--passes", type=int, default=3, help="timed passes over the speed utterances per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of speed measurements (contenders interleaved)")
    parser.add_argument("--max-drop", type=float, default=0.01, help="accuracy-aware contenders: largest WER rise")
    parser.add_argument("--with-pot", action="store_true", help="create POT's virtual environment if missing")
    parser.add_argument("--pot-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--only", default="", help="comma-separated contender keys (default: all)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per child process")
    parser.add_argument("--jobs", type=int, default=1, help="child processes at a time (>1 spoils timings; --tiny: 2)")
    parser.add_argument("--tiny", action="store_true",
                        help="minutes, for tests: 3 calibration and 4 test utterances of the shipped data, no "
                             "growth, 1 pass; speed on the shipped models, and Wav2Vec2 also on tiny random sizes")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    if args.tiny:
        calibration = test = SHIPPED_DATA
        args.calibration_utterances, args.test_utterances, args.growth_sizes = 3, 4, ""
        args.speed_hidden, args.speed_utterances, args.passes, args.rounds = 0, 2, 1, 1
        args.speed_calibration_utterances = 3
        args.speed_wav2vec2 = "tiny" if args.speed_wav2vec2 != "none" else "none"
        args.jobs = max(args.jobs, 2)
    else:
        calibration = args.calibration_data or (CORPUS / "dev" if (CORPUS / "dev").is_dir() else SHIPPED_DATA)
        test = args.test_data or (CORPUS / "test" if (CORPUS / "test").is_dir() else SHIPPED_DATA)
    growth = tuple(sorted({int(s) for s in args.growth_sizes.split(",") if s.strip()} - {args.calibration_utterances}))
    return Settings(
        out=args.out, work=args.work_dir, calibration_data=calibration, test_data=test,
        calibration_utterances=args.calibration_utterances, test_utterances=args.test_utterances,
        growth_sizes=growth, speed_hidden=args.speed_hidden or None,
        speed_wav2vec2=None if args.speed_wav2vec2 == "none" else args.speed_wav2vec2, speed_seconds=args.speed_seconds,
        architectures=tuple(ARCHITECTURES) if args.model == "all" else (args.model,),
        speed_calibration_utterances=args.speed_calibration_utterances, speed_utterances=args.speed_utterances,
        passes=args.passes, rounds=args.rounds, threads=tuple(sorted({1, cores})), max_drop=args.max_drop,
        with_pot=args.with_pot, pot_venv=args.pot_venv, only=tuple(k for k in args.only.split(",") if k),
        timeout_s=args.timeout, tiny=args.tiny, jobs=args.jobs, command=" ".join(["python", *sys.argv]) if argv is None else "",
    )


# ------------------------------------------------------------------------------------------------------ set-up
def missing_reason(contender: Contender, models: dict[str, Any], pot_reason: str) -> str:
    """Why ``contender`` cannot run here ("" if it can)."""
    missing = [name for name in contender.needs if importlib.util.find_spec(name) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (pip install -e '.[bench]')"
    if contender.runtime == "onnxruntime" and "onnx_error" in models:
        return models["onnx_error"]
    if contender.tool == "pot" and pot_reason:
        return pot_reason
    return ""


def installed(*names: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in names)


def prepare(settings: Settings, arch: Architecture, pot_python: Path | None) -> dict[str, Any]:
    """Utterances, calibration subsets and FP32 models of one architecture, written to the work folder."""
    import openvino as ov

    work, cache = settings.work / arch.key, settings.work / "features"
    speed_size = settings.speed_hidden if arch.key == "deepspeech" else settings.speed_wav2vec2
    with_torch = installed("torch") if arch.key == "deepspeech" else installed("torch", "transformers")
    if speed_size and not with_torch:
        log(f"{arch.name}: no speed model at full size (it is built with PyTorch and transformers)")
        speed_size = None
    sizes = {settings.calibration_utterances, *settings.growth_sizes}
    if speed_size:
        sizes.add(settings.speed_calibration_utterances)
    calibration = read_split(settings.calibration_data, 0, max(sizes), cache, arch.key)
    same = settings.calibration_data.resolve() == settings.test_data.resolve()
    test = read_split(settings.test_data, len(calibration.utterances) if same else 0, settings.test_utterances, cache,
                      arch.key)
    if not len(calibration.utterances) or not len(test.utterances):
        raise SystemExit(f"no utterances: {settings.calibration_data} gave {len(calibration.utterances)} for "
                         f"calibration, {settings.test_data} gave {len(test.utterances)} for testing")
    trained = ov.Core().read_model(arch.shipped_model)
    title = ("shipped small model (256 units, trained)" if arch.key == "deepspeech" else
             "shipped small model (Wav2Vec2ForCTC, 3 transformer layers of 160, trained)")
    models = {"trained": fp32_models(arch.key, "trained", trained, work / "models", with_torch, title)}
    if speed_size:
        models["full_size"] = speed_model(arch.key, speed_size, work / "models", with_torch)
    counts = sorted({min(size, len(calibration.utterances)) for size in sizes})
    subsets = {count: write_subset(calibration, count, work / "data", pot_python is not None, arch.key)
               for count in counts}
    test_path = test.utterances.save(work / "data" / "test.npz")
    speed = test.utterances.head(settings.speed_utterances)
    if arch.key != "deepspeech":  # one latency figure per utterance: utterances of one length
        speed = test.utterances.clips(settings.speed_seconds, settings.speed_utterances)
    speed_path = speed.save(work / "data" / "speed.npz")
    return {"architecture": arch.key, "calibration": calibration.utterances, "test": test.utterances,
            "test_path": str(test_path), "speed_path": str(speed_path), "subsets": subsets, "models": models}


# ------------------------------------------------------------------------------------------------ quantization
DERIVED_FROM = {"speechq_accuracy_aware": "speechq_default", "nncf_accuracy_control": "nncf"}


def quantize(contender: Contender, model_key: str, data: dict[str, Any], size: int, settings: Settings,
             pot_python: Path | None, fp32_layers: list[str] | None = None) -> ChildRun:
    """One quantization in a child process. With ``fp32_layers``, an accuracy-aware contender's choice on the
    trained model is applied to another model: its tool's default quantization with those layers left FP32."""
    arch = data["architecture"]
    models, subset = data["models"][model_key], data["subsets"][size]
    out = settings.work / arch / "int8" / model_key / f"{contender.key}-{size}"
    name = f"quantize-{arch}-{model_key}-{contender.key}-{size}"
    if contender.tool == "pot":
        task = {"architecture": arch, "xml": models["xml"], "calibration": subset["pot_data"],
                "hidden": models["hidden"], "out": str(out)}
        return run_child([str(pot_python), str(POT_WORKER)], task, settings.work / "logs", name, settings.timeout_s)
    task = {"task": "quantize", "architecture": arch, "contender": contender.quantizer, "fp32": models,
            "calibration": subset["utterances"], "count": subset["count"], "manifest": subset["manifest"],
            "out": str(out), "max_drop": settings.max_drop}
    if fp32_layers is not None:
        task.update(contender=DERIVED_FROM[contender.key], ignored_layers=fp32_layers)
    return run_child([sys.executable, str(WORKER)], task, settings.work / "logs", name, settings.timeout_s)


def quantization_row(contender: Contender, model_key: str, size: int, run: ChildRun, data: dict[str, Any]) -> dict[str, Any]:
    result = run.result or {}
    calibration = data["calibration"].head(size)
    row = {"key": contender.key, "label": contender.label, "model": model_key, "calibration_utterances": len(calibration),
           "calibration_chunks": inference_count(data["architecture"], calibration), "ok": run.ok, "process_seconds": run.wall_seconds,
           "process_cpu_seconds": run.cpu_seconds, "peak_rss_mb": float("nan")}
    if run.ok:
        # the child's own VmHWM: wait4's ru_maxrss also counts the parent's pages the child had between fork and exec
        row.update(quantize_seconds=result["quantize_seconds"], rss_before_mb=result["rss_before_mb"],
                   peak_rss_mb=result["child_peak_rss_mb"], size_bytes=result["artifact"]["bytes"])
        for extra in ("fp32_layers", "calibration_wer", "runtime_ops", "versions"):
            if extra in result:
                row[extra] = result[extra]
    else:
        row["error"] = run.failure()
    return row


# ------------------------------------------------------------------------------------------------ measurement
def measure(key: str, artifact: dict[str, Any], data: dict[str, Any], settings: Settings, wer: bool,
            name: str) -> ChildRun:
    task = {"task": "measure", "artifact": artifact, "wer_data": data["test_path"] if wer else None,
            "speed_data": data["speed_path"], "threads": list(settings.threads), "passes": settings.passes,
            "warmup": 1}
    return run_child([sys.executable, str(WORKER)], task, settings.work / "logs", name, settings.timeout_s)


def speed_rounds(artifacts: dict[str, dict[str, Any]], data: dict[str, Any], settings: Settings,
                 model_key: str, raw: dict[str, list[dict]], first_round: int = 0) -> dict[str, str]:
    """Speed of every artifact in rounds ``first_round .. settings.rounds - 1``, the order rotated each round,
    appended to ``raw`` (one measurement per contender and round; ``settings.jobs`` at a time). Returns failures."""
    failures: dict[str, str] = {}
    keys = list(artifacts)
    for round_index in range(first_round, settings.rounds):
        shift = round_index % max(1, len(keys))
        order = [key for key in keys[shift:] + keys[:shift] if key not in failures]
        runs = in_parallel([lambda k=k: measure(k, artifacts[k], data, settings, False,
                                                f"speed-{data['architecture']}-{model_key}-{k}-{round_index}")
                            for k in order], settings.jobs)
        for key, run in zip(order, runs):
            if not run.ok:
                failures[key] = run.failure()
                continue
            raw.setdefault(key, []).append(run.result["speed"])  # type: ignore[index]
    return failures


# -------------------------------------------------------------------------------------------------------- main
def versions(pot: dict[str, str]) -> dict[str, str]:
    """Installed versions of every library the benchmark uses (POT's from its own venv)."""
    return {**provenance.versions(("speechq", "openvino", "nncf", "numpy", "scipy", "torch", "transformers", "onnx",
                                   "onnxruntime", "jiwer", "matplotlib")), **pot}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def in_parallel(calls: list[Callable[[], Any]], jobs: int) -> list[Any]:
    """Results of ``calls`` in order, ``jobs`` at a time (children are separate processes; more than one at a time
    spoils their timings, so only the tiny setting does it)."""
    if jobs <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda call: call(), calls))


def quantize_all(runnable: list[Contender], records: dict[str, dict[str, Any]], data: dict[str, Any],
                 settings: Settings, pot_python: Path | None) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """Every quantization: each model at its calibration size, then the growth sizes on the trained model.
    Returns the models to measure (baselines included) per benchmarked model, the cost rows and POT's versions."""
    models = data["models"]
    count = len(data["calibration"])
    artifacts: dict[str, dict[str, Any]] = {key: {} for key in models}
    jobs: list[tuple[Contender, str, int]] = []
    for model_key in models:
        size = min(settings.calibration_utterances if model_key == "trained" else settings.speed_calibration_utterances,
                   count)
        for c in runnable:
            if c.quantizer is None:
                artifact = baseline_artifact(c.key, models[model_key])
                if artifact is not None:
                    artifacts[model_key][c.key] = artifact
            elif not c.trained_only or model_key == "trained":
                jobs.append((c, model_key, size))
    main_size = min(settings.calibration_utterances, count)
    for size in sorted({min(s, count) for s in settings.growth_sizes} - {main_size}):
        jobs += [(c, "trained", size) for c in runnable if c.growth]

    def one(job: tuple[Contender, str, int]) -> ChildRun:
        c, model_key, size = job
        log(f"quantize {model_key}: {c.label} ({size} utterances)")
        return quantize(c, model_key, data, size, settings, pot_python)

    quantization, pot_versions = [], {}
    for (c, model_key, size), child in zip(jobs, in_parallel([lambda j=j: one(j) for j in jobs], settings.jobs)):
        quantization.append(quantization_row(c, model_key, size, child, data))
        main = model_key != "trained" or size == main_size
        if child.ok and main:
            artifacts[model_key][c.key] = child.result["artifact"]  # type: ignore[index]
            pot_versions.update((child.result or {}).get("versions", {}))
        elif not child.ok and model_key == "trained" and size == main_size:
            records[c.key].update(status="failed", reason=f"quantization failed: {child.failure()}")
    chosen = {row["key"]: row["fp32_layers"] for row in quantization
              if row["model"] == "trained" and row["ok"] and "fp32_layers" in row}
    for model_key in (k for k in models if k != "trained"):
        size = min(settings.speed_calibration_utterances, count)
        for c in (c for c in runnable if c.trained_only and c.key in chosen):
            log(f"quantize {model_key}: {c.label}: the trained model's choice, FP32 layers {chosen[c.key] or 'none'}")
            child = quantize(c, model_key, data, size, settings, pot_python, chosen[c.key])
            row = quantization_row(c, model_key, size, child, data)
            row["derived"] = f"{DERIVED_FROM[c.key]} with the layers the trained model kept FP32 left FP32"
            quantization.append(row)
            if child.ok:
                artifacts[model_key][c.key] = child.result["artifact"]  # type: ignore[index]
    return artifacts, quantization, pot_versions


def pot_own_runtime(artifacts: dict[str, dict[str, Any]], data: dict[str, Any], settings: Settings,
                    pot_python: Path) -> dict[str, dict[str, Any]]:
    """WER of POT's INT8 model, and of the FP32 model, on POT's own runtime (OpenVINO 2023.3 in POT's venv): does
    POT's model fail on today's OpenVINO only, or on its own runtime too?"""
    import numpy as np

    from _peers.common import chunks_of

    test = data["test"]
    path = Path(data["test_path"]).with_name("test-chunks.npz")
    chunks = [chunks_of(test.windows(i)) for i in range(len(test))]
    np.savez(path, input_node=np.concatenate(chunks), counts=np.array([len(c) for c in chunks]))
    rows = {}
    for key, label, xml in (
            ("openvino_fp32@2023.3", "OpenVINO FP32 (f32), run on OpenVINO 2023.3", data["models"]["trained"]["xml"]),
            ("pot_default@2023.3", "POT DefaultQuantization, run on OpenVINO 2023.3 (POT's own runtime)",
             artifacts["trained"]["pot_default"]["path"])):
        log(f"  {label}")
        child = run_child([str(pot_python), str(POT_WORKER)], {"task": "probe", "xml": xml, "chunks": str(path)},
                          settings.work / "logs", f"probe-{key}", settings.timeout_s)
        if child.ok:
            rows[key] = {"label": label, **score_paths(child.result["paths"], test)}  # type: ignore[index]
    return rows


def score_paths(paths: list[list[int]], test: Utterances) -> dict[str, Any]:
    """WER and CER of best paths (symbol ids per step), decoded as speechq's greedy decoder does."""
    import numpy as np

    from speechq.decoding import Vocabulary
    from speechq.decoding.greedy import collapse_ctc_path
    from speechq.metrics import char_error_rate, word_error_rate

    vocabulary = Vocabulary.deepspeech()
    hypotheses = [vocabulary.tokens_to_text(collapse_ctc_path(np.array(ids[: len(mfcc)]), vocabulary.blank_index))
                  for ids, mfcc in zip(paths, test.features)]
    references = list(test.texts)
    return {"wer": word_error_rate(references, hypotheses).corpus_rate,
            "cer": char_error_rate(references, hypotheses).corpus_rate, "utterances": len(test)}


def pot_loads(arch: Architecture, data: dict[str, Any], settings: Settings, pot_python: Path) -> str:
    """Why POT cannot quantize the architecture's models ("" if it can): the IRs this OpenVINO saved must read and
    compile on POT's own OpenVINO (2023.3). DeepSpeech's IR is speechq's own opset-8 graph: not asked."""
    if arch.key == "deepspeech":
        return ""
    for model_key, models in data["models"].items():
        child = run_child([str(pot_python), str(POT_WORKER)], {"task": "load", "xml": models["xml"]},
                          settings.work / "logs", f"pot-load-{arch.key}-{model_key}", settings.timeout_s)
        if not child.ok:
            return f"checking whether OpenVINO 2023.3 loads the {model_key} IR failed: {child.failure()}"
        if not child.result["loads"]:  # type: ignore[index]
            return (f"the {model_key} IR (saved by OpenVINO {ov_version()}) does not load in OpenVINO 2023.3, "
                    f"POT's runtime: {child.result['error']}")  # type: ignore[index]
    return ""


def ov_version() -> str:
    from importlib.metadata import version

    return version("openvino")


def run(settings: Settings, arch: Architecture, pot: tuple[Path | None, str]) -> dict[str, Any]:
    """Every contender of one architecture: quantization, WER on the trained model, speed, in rounds."""
    started = time.time()
    selected = [c for c in CONTENDERS[arch.key] if not settings.only or c.key in settings.only]
    pot_python, pot_reason = pot
    log(f"{arch.name}: preparing data and FP32 models")
    data = prepare(settings, arch, pot_python)
    models = data["models"]
    if pot_python is not None and any(c.tool == "pot" for c in selected):
        pot_reason = pot_loads(arch, data, settings, pot_python)
        pot_python = None if pot_reason else pot_python
    records = {c.key: {"key": c.key, "label": c.label, "tool": c.tool, "runtime": c.runtime,
                       "options": contender_options(c.key, c.quantizer, arch.key, settings.max_drop),
                       "status": "ok", "reason": ""} for c in selected}
    for c in selected:
        reason = missing_reason(c, models["trained"], pot_reason)
        if reason:
            records[c.key].update(status="skipped", reason=reason)
    runnable = [c for c in selected if records[c.key]["status"] == "ok"]

    artifacts, quantization, pot_versions = quantize_all(runnable, records, data, settings, pot_python)
    log(f"{arch.name}: measuring the trained model: WER and speed")
    keys = list(artifacts["trained"])
    runs = in_parallel([lambda k=k: measure(k, artifacts["trained"][k], data, settings, True,
                                            f"measure-{arch.key}-trained-{k}") for k in keys], settings.jobs)
    first = dict(zip(keys, runs))
    for key, child in first.items():
        if not child.ok:
            records[key].update(status="failed", reason=f"measurement failed: {child.failure()}")
    accuracy = {key: child.result["error_rates"] for key, child in first.items() if child.ok}  # type: ignore[index]
    if arch.key == "deepspeech" and pot_python is not None and "pot_default" in artifacts["trained"]:
        accuracy.update(pot_own_runtime(artifacts, data, settings, pot_python))
    speed_raw = {"trained": {key: [child.result["speed"]] for key, child in first.items() if child.ok}}  # type: ignore[index]
    for model_key in models:
        first_round = 1 if model_key == "trained" else 0  # round 0 of the trained model came with its WER
        log(f"{arch.name}: measuring the speed of {model_key}: rounds {first_round + 1} to {settings.rounds}")
        raw = speed_raw.setdefault(model_key, {})
        failures = speed_rounds({k: a for k, a in artifacts[model_key].items() if model_key != "trained" or k in raw},
                                data, settings, model_key, raw, first_round)
        for key, failure in failures.items():
            records[key]["reason"] += f" {model_key} speed failed: {failure}"
    return {"meta": meta(settings, arch, data, started, pot_versions), "contenders": list(records.values()),
            "accuracy_raw": accuracy, "speed_raw": speed_raw, "artifacts": artifacts, "quantization": quantization}


def meta(settings: Settings, arch: Architecture, data: dict[str, Any], started: float,
         pot_versions: dict[str, str]) -> dict[str, Any]:
    """What the report says about the run: machine, versions, settings, data, models."""
    return {
        "architecture": arch.key, "latency_unit": arch.latency_unit,
        "cpu": provenance.cpu_name(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": settings.command, "source": provenance.source_state(), "wall_seconds": time.time() - started,
        "versions": versions(pot_versions), "tiny": settings.tiny, "threads": list(settings.threads),
        "passes": settings.passes, "rounds": settings.rounds, "max_drop": settings.max_drop,
        "calibration_data": str(settings.calibration_data), "test_data": str(settings.test_data),
        "calibration_utterances": min(settings.calibration_utterances, len(data["calibration"])),
        "test_utterances": len(data["test"]), "test_audio_seconds": sum(data["test"].audio_seconds),
        "speed_utterances": len(Utterances.load(Path(data["speed_path"]))),
        "speed_seconds": settings.speed_seconds if arch.key != "deepspeech" else None,
        "models": {key: {"hidden": m["hidden"], "bytes": m["bytes"], "title": m["title"]}
                   for key, m in data["models"].items()},
    }


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["--render"]:  # --render OUT.json [OUT]: the Markdown and the plot again, from the JSON
        from _peers.common import read_json

        source = Path(arguments[1])
        out = Path(arguments[2]) if len(arguments) > 2 else source.with_suffix("")
        log("wrote " + ", ".join(str(p) for p in write_summary(read_json(source), out)))
        return 0
    settings = parse_args(argv)
    pot: tuple[Path | None, str] = (None, "")
    if not settings.only or "pot_default" in settings.only:
        log("POT: checking its virtual environment" + (" (creating it if missing)" if settings.with_pot else ""))
        pot = ensure_pot_venv(settings.pot_venv, settings.with_pot)
    for key in settings.architectures:
        arch = ARCHITECTURES[key]
        paths = write_report(run(settings, arch, pot), arch.out(settings.out))
        log("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
