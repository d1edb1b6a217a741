"""speechq side by side with what a user would pick instead, on one DeepSpeech model, one data set, one machine.

Contenders (options in the report; ``bench/_peers/quantizers.py`` holds each one's code):
1. speechq DefaultQuantization, and AccuracyAwareQuantization with ``--max-drop`` (absolute WER);
2. NNCF used directly as OpenVINO's notebooks do: ``nncf.quantize`` with a hand-built calibration set (every
   16-step chunk with zero LSTM state), and ``nncf.quantize_with_accuracy_control`` with a WER validation function;
3. ONNX Runtime static INT8 (QDQ, per-channel weights) of the ONNX export, on its CPU execution provider;
4. PyTorch dynamic INT8 of the LSTM and Linear layers;
5. POT (openvino-dev 2023.3) in its own virtual environment, created with ``--with-pot`` (skipped otherwise);
6. FP32 baselines: PyTorch, ONNX Runtime, OpenVINO with f32 inference precision and with its default precision.

Figures: WER/CER on held-out test utterances with the shipped small model (trained weights); latency per 16-step
chunk and throughput (audio seconds per second), single stream, 1 thread and all cores, warm-up, repeated
passes, median and p10-p90, on the shipped model and on DeepSpeech 0.8.2 sizes (2048 units, random weights);
quantization wall time and peak memory (each quantization in its own process) and their growth with the
calibration subset size; INT8 size on disk; versions of every library. Every model runs through one streaming
loop (``bench/_peers/runners.py``), each contender in a process of its own.

Usage::

    python bench/bench_peers.py --out bench/results/peers [--with-pot]   # writes peers.md, peers.json, peers.png
    python bench/bench_peers.py --tiny --out /tmp/peers                  # seconds: what the test suite runs
    python bench/bench_peers.py --render bench/results/peers.json        # Markdown and plot again from the JSON

Data: calibration utterances from ``--calibration-data`` (default: the corpus's dev split at /work/corpus/dev where
present, else the shipped utterances), test utterances from ``--test-data`` (default /work/corpus/test, else the
shipped utterances after the calibration ones).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _peers
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # speechq from this checkout

from _peers.children import ChildRun, run_child  # noqa: E402
from _peers.common import Utterances, chunk_count  # noqa: E402
from _peers.contenders import BY_KEY, CONTENDERS, Contender  # noqa: E402
from _peers.pot_venv import DEFAULT_VENV, ensure_pot_venv  # noqa: E402
from _peers.prepare import baseline_artifact, fp32_models, read_split, write_subset  # noqa: E402
from _peers.quantizers import OPTIONS  # noqa: E402
from _peers.report import write_report, write_summary  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHIPPED_DATA = REPO / "speechq" / "zoo" / "data" / "synthetic-test"
SHIPPED_MODEL = REPO / "speechq" / "zoo" / "deepspeech_small" / "model.xml"
CORPUS = Path("/work/corpus")
WORKER = BENCH / "_peers" / "worker.py"
POT_WORKER = BENCH / "_peers" / "pot_worker.py"
BASELINE_OPTIONS = {
    "openvino_fp32": "the FP32 IR compiled with INFERENCE_PRECISION_HINT f32",
    "openvino_fp32_default": "the FP32 IR compiled with OpenVINO's default precision (bf16 on CPUs with AVX-512 BF16 "
                             "or AMX)",
    "torch_fp32": "the IR's weights in a torch.nn.Module (Linear, LSTM), eager, torch.inference_mode",
    "onnxruntime_fp32": "torch.onnx.export (TorchScript exporter, opset 17) of that module, CPU execution provider, "
                        "all graph optimisations",
}


@dataclass
class Settings:
    out: Path
    work: Path
    calibration_data: Path
    test_data: Path
    calibration_utterances: int
    test_utterances: int | None
    growth_sizes: tuple[int, ...]
    speed_hidden: int | None  # None: speed on the shipped model only
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
    parser.add_argument("--speed-hidden", type=int, default=2048, help="units of the random-weight speed model (0: none)")
    parser.add_argument("--speed-calibration-utterances", type=int, default=30)
    parser.add_argument("--speed-utterances", type=int, default=8)
    parser.add_argument("--passes", type=int, default=3, help="timed passes over the speed utterances per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of speed measurements (contenders interleaved)")
    parser.add_argument("--max-drop", type=float, default=0.01, help="accuracy-aware contenders: largest WER rise")
    parser.add_argument("--with-pot", action="store_true", help="create POT's virtual environment if missing")
    parser.add_argument("--pot-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--only", default="", help="comma-separated contender keys (default: all)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per child process")
    parser.add_argument("--jobs", type=int, default=1, help="child processes at a time (>1 spoils timings; --tiny: 2)")
    parser.add_argument("--tiny", action="store_true",
                        help="seconds, for tests: 3 calibration and 4 test utterances of the shipped data, no growth, "
                             "speed on the shipped model only, 1 pass")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    if args.tiny:
        calibration = test = SHIPPED_DATA
        args.calibration_utterances, args.test_utterances, args.growth_sizes = 3, 4, ""
        args.speed_hidden, args.speed_utterances, args.passes, args.rounds = 0, 2, 1, 1
        args.jobs = max(args.jobs, 2)
    else:
        calibration = args.calibration_data or (CORPUS / "dev" if (CORPUS / "dev").is_dir() else SHIPPED_DATA)
        test = args.test_data or (CORPUS / "test" if (CORPUS / "test").is_dir() else SHIPPED_DATA)
    growth = tuple(sorted({int(s) for s in args.growth_sizes.split(",") if s.strip()} - {args.calibration_utterances}))
    return Settings(
        out=args.out, work=args.work_dir, calibration_data=calibration, test_data=test,
        calibration_utterances=args.calibration_utterances, test_utterances=args.test_utterances,
        growth_sizes=growth, speed_hidden=args.speed_hidden or None,
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


def prepare(settings: Settings, pot_python: Path | None) -> dict[str, Any]:
    """Utterances, calibration subsets and FP32 models, written to the work folder."""
    import openvino as ov

    from speechq.zoo.architectures import deepspeech_graph, random_deepspeech_weights

    work, cache = settings.work, settings.work / "features"
    sizes = {settings.calibration_utterances, *settings.growth_sizes}
    if settings.speed_hidden:
        sizes.add(settings.speed_calibration_utterances)
    calibration = read_split(settings.calibration_data, 0, max(sizes), cache)
    same = settings.calibration_data.resolve() == settings.test_data.resolve()
    test = read_split(settings.test_data, len(calibration.utterances) if same else 0, settings.test_utterances, cache)
    if not len(calibration.utterances) or not len(test.utterances):
        raise SystemExit(f"no utterances: {settings.calibration_data} gave {len(calibration.utterances)} for "
                         f"calibration, {settings.test_data} gave {len(test.utterances)} for testing")
    with_torch = importlib.util.find_spec("torch") is not None
    models = {"trained": fp32_models("trained", ov.Core().read_model(SHIPPED_MODEL), work / "models", with_torch)}
    if settings.speed_hidden:
        graph = deepspeech_graph(random_deepspeech_weights(settings.speed_hidden))
        models["full_size"] = fp32_models(f"full_size_{settings.speed_hidden}", graph, work / "models", with_torch)
    counts = sorted({min(size, len(calibration.utterances)) for size in sizes})
    subsets = {count: write_subset(calibration, count, work / "data", pot_python is not None) for count in counts}
    test_path = test.utterances.save(work / "data" / "test.npz")
    speed_path = test.utterances.head(settings.speed_utterances).save(work / "data" / "speed.npz")
    return {"calibration": calibration.utterances, "test": test.utterances, "test_path": str(test_path),
            "speed_path": str(speed_path), "subsets": subsets, "models": models}


# ------------------------------------------------------------------------------------------------ quantization
DERIVED_FROM = {"speechq_accuracy_aware": "speechq_default", "nncf_accuracy_control": "nncf"}


def quantize(contender: Contender, model_key: str, data: dict[str, Any], size: int, settings: Settings,
             pot_python: Path | None, fp32_layers: list[str] | None = None) -> ChildRun:
    """One quantization in a child process. With ``fp32_layers``, an accuracy-aware contender's choice on the
    trained model is applied to another model: its tool's default quantization with those layers left FP32."""
    models, subset = data["models"][model_key], data["subsets"][size]
    out = settings.work / "int8" / model_key / f"{contender.key}-{size}"
    name = f"quantize-{model_key}-{contender.key}-{size}"
    if contender.tool == "pot":
        task = {"xml": models["xml"], "chunks": subset["pot_chunks"], "hidden": models["hidden"], "out": str(out)}
        return run_child([str(pot_python), str(POT_WORKER)], task, settings.work / "logs", name, settings.timeout_s)
    task = {"task": "quantize", "contender": contender.quantizer, "fp32": models, "calibration": subset["utterances"],
            "count": subset["count"], "manifest": subset["manifest"], "out": str(out), "max_drop": settings.max_drop}
    if fp32_layers is not None:
        task.update(contender=DERIVED_FROM[contender.key], ignored_layers=fp32_layers)
    return run_child([sys.executable, str(WORKER)], task, settings.work / "logs", name, settings.timeout_s)


def quantization_row(contender: Contender, model_key: str, size: int, run: ChildRun, data: dict[str, Any]) -> dict[str, Any]:
    result = run.result or {}
    calibration = data["calibration"].head(size)
    row = {"key": contender.key, "label": contender.label, "model": model_key, "calibration_utterances": len(calibration),
           "calibration_chunks": chunk_count(calibration), "ok": run.ok, "process_seconds": run.wall_seconds,
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
    appended to ``raw`` (one measurement per contender and round). Returns failures."""
    failures: dict[str, str] = {}
    keys = list(artifacts)
    for round_index in range(first_round, settings.rounds):
        shift = round_index % max(1, len(keys))
        for key in keys[shift:] + keys[:shift]:
            if key in failures:
                continue
            run = measure(key, artifacts[key], data, settings, False, f"speed-{model_key}-{key}-{round_index}")
            if not run.ok:
                failures[key] = run.failure()
                continue
            raw.setdefault(key, []).append(run.result["speed"])  # type: ignore[index]
    return failures


# -------------------------------------------------------------------------------------------------------- main
def versions(pot: dict[str, str]) -> dict[str, str]:
    """Installed versions of every library the benchmark uses (POT's from its own venv)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("speechq", "openvino", "nncf", "numpy", "scipy", "torch", "onnx", "onnxruntime", "jiwer",
                 "matplotlib"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return {**found, **pot}


def cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")
    return f"{name} ({', '.join(f for f in wanted if f in flags) or 'no AVX2'})"


def source_state() -> str:
    """The commit the benchmark ran on, and whether speechq's sources differed from it."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--", "speechq")
    return commit + (" with uncommitted changes in speechq/" if dirty else "")


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
    path = settings.work / "data" / "test-chunks.npz"
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
                  for ids, mfcc in zip(paths, test.mfcc)]
    references = list(test.texts)
    return {"wer": word_error_rate(references, hypotheses).corpus_rate,
            "cer": char_error_rate(references, hypotheses).corpus_rate, "utterances": len(test)}


def run(settings: Settings) -> dict[str, Any]:
    started = time.time()
    selected = [c for c in CONTENDERS if not settings.only or c.key in settings.only]
    pot_python, pot_reason = (None, "")
    if any(c.tool == "pot" for c in selected):
        log("POT: checking its virtual environment" + (" (creating it if missing)" if settings.with_pot else ""))
        pot_python, pot_reason = ensure_pot_venv(settings.pot_venv, settings.with_pot)
    log("preparing data and FP32 models")
    data = prepare(settings, pot_python)
    models = data["models"]
    records = {c.key: {"key": c.key, "label": c.label, "tool": c.tool, "runtime": c.runtime,
                       "options": BASELINE_OPTIONS.get(c.key) or OPTIONS[c.quantizer or ""].format(max_drop=settings.max_drop),
                       "status": "ok", "reason": ""} for c in selected}
    for c in selected:
        reason = missing_reason(c, models["trained"], pot_reason)
        if reason:
            records[c.key].update(status="skipped", reason=reason)
    runnable = [c for c in selected if records[c.key]["status"] == "ok"]

    artifacts, quantization, pot_versions = quantize_all(runnable, records, data, settings, pot_python)
    log("measuring the trained model: WER and speed")
    keys = list(artifacts["trained"])
    runs = in_parallel([lambda k=k: measure(k, artifacts["trained"][k], data, settings, True, f"measure-trained-{k}")
                        for k in keys], settings.jobs)
    first = dict(zip(keys, runs))
    for key, child in first.items():
        if not child.ok:
            records[key].update(status="failed", reason=f"measurement failed: {child.failure()}")
    accuracy = {key: child.result["error_rates"] for key, child in first.items() if child.ok}  # type: ignore[index]
    if pot_python is not None and "pot_default" in artifacts["trained"]:
        accuracy.update(pot_own_runtime(artifacts, data, settings, pot_python))
    speed_raw = {"trained": {key: [child.result["speed"]] for key, child in first.items() if child.ok}}  # type: ignore[index]
    for model_key in models:
        first_round = 1 if model_key == "trained" else 0  # round 0 of the trained model came with its WER
        log(f"measuring the speed of {model_key}: rounds {first_round + 1} to {settings.rounds}")
        raw = speed_raw.setdefault(model_key, {})
        failures = speed_rounds({k: a for k, a in artifacts[model_key].items() if model_key != "trained" or k in raw},
                                data, settings, model_key, raw, first_round)
        for key, failure in failures.items():
            records[key]["reason"] += f" {model_key} speed failed: {failure}"

    return {
        "meta": {
            "cpu": cpu_name(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": settings.command, "source": source_state(), "wall_seconds": time.time() - started, "versions": versions(pot_versions),
            "tiny": settings.tiny, "threads": list(settings.threads), "passes": settings.passes,
            "rounds": settings.rounds, "max_drop": settings.max_drop,
            "calibration_data": str(settings.calibration_data), "test_data": str(settings.test_data),
            "calibration_utterances": min(settings.calibration_utterances, len(data["calibration"])),
            "test_utterances": len(data["test"]), "test_audio_seconds": sum(data["test"].audio_seconds),
            "speed_utterances": len(Utterances.load(Path(data["speed_path"]))),
            "models": {key: {"hidden": m["hidden"], "bytes": m["bytes"]} for key, m in models.items()},
        },
        "contenders": list(records.values()),
        "accuracy_raw": accuracy,
        "speed_raw": speed_raw,
        "artifacts": artifacts,
        "quantization": quantization,
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
    results = run(settings)
    paths = write_report(results, settings.out)
    log("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
