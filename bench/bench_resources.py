"""What a speechq quantization costs: peak memory and wall time of DefaultQuantization and AccuracyAwareQuantization
against the number of calibration utterances, on a Wav2Vec2-base-size model.

Each run is one ``speechq.workflows.quantize_and_compare`` call (what ``speechq quantize --recipe wav2vec2
--agreement`` does: FP32 transcripts as the reference, FP32 evaluation, quantization, INT8 evaluation, saving,
latency, drift check) in a process of its own. The child samples its own resident memory every 0.2 s and reads its
peak (``VmHWM``) at the end; the parent times it from start to exit (interpreter start and imports included) and
reads its CPU time from ``wait4``.

Model: Hugging Face ``Wav2Vec2ForCTC`` with wav2vec2-base's sizes (7 convolutions, 12 transformer layers of 768,
94.4M parameters), random weights (seed 0), converted with ``openvino.convert_model`` (needs the ``torch`` extra),
the shipped Wav2Vec2 model's ``vocab.json`` beside it. Random weights have no word error rate worth the name, so
error rates are agreement with the FP32 model's own transcripts (``--agreement``), which also makes
accuracy-aware quantization rank and revert layers for real. Greedy decoding, so that the figures are the
quantization's (a model's own language model would add beam search's cost, and put right the small differences
accuracy-aware quantization ranks layers by). Data: the first N utterances of the corpus's dev split
(``/work/corpus/dev``; else the shipped utterances).

Usage::

    python bench/bench_resources.py --out bench/results/resources        # sizes 30, 100, 300 (2 hours or more)
    python bench/bench_resources.py --tiny --out /tmp/resources           # seconds: shipped small model, 2 and 4
    python bench/bench_resources.py --render bench/results/resources.json # Markdown and plot again from the JSON
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _peers
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # speechq from this checkout

from _peers import provenance  # noqa: E402
from _peers.children import ChildRun, run_child  # noqa: E402
from _peers.common import link_first_audio, peak_rss_mb, read_json, write_json  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHIPPED_MODEL = REPO / "speechq" / "zoo" / "wav2vec2_small" / "model.xml"
SHIPPED_DATA = REPO / "speechq" / "zoo" / "data" / "synthetic-test"
CORPUS_DEV = Path("/work/corpus/dev")
MEMORY_GOAL_MB = 3 * 1024  # issue: AAQ with 300 utterances on a Wav2Vec2-base-size model within 3 GB
ALGORITHMS = {"default": "DefaultQuantization", "accuracy-aware": "AccuracyAwareQuantization"}
AAQ_PARAMS = {"maximal_drop": 0.01, "ranking_subset_size": 20, "max_iter_num": 3}
TINY_AAQ_PARAMS = {"maximal_drop": 0.0, "ranking_subset_size": 2, "max_iter_num": 1,
                   "preset": "performance"}  # the small model drifts under it: ranking and reverting run too
SAMPLE_SECONDS = 0.2


# ---------------------------------------------------------------------------------------------------- child side


class _MemorySampler(threading.Thread):
    """Resident memory of this process (VmRSS, MiB) every ``SAMPLE_SECONDS``, with the time since ``start``."""

    def __init__(self, start: float) -> None:
        super().__init__(daemon=True)
        self.start_time, self.samples, self.stopped = start, [], threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_SECONDS):
            self.samples.append((round(time.perf_counter() - self.start_time, 2), round(_rss_mb(), 1)))


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Events(logging.Handler):
    """speechq's log lines with their time: where the run spends its time and memory."""

    def __init__(self, start: float) -> None:
        super().__init__(logging.INFO)
        self.start_time, self.events = start, []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.events) < 400:
            self.events.append((round(time.perf_counter() - self.start_time, 2), record.getMessage()[:200]))


def child(task_path: Path, result_path: Path) -> None:
    """Run one quantization described by ``task_path`` and write its figures to ``result_path``."""
    start = time.perf_counter()
    sampler = _MemorySampler(start)
    sampler.start()
    events = _Events(start)
    logging.getLogger("speechq").addHandler(events)
    logging.getLogger("speechq").setLevel(logging.INFO)
    task = read_json(task_path)
    from speechq.workflows import quantize_and_compare
    from speechq.zoo import get_recipe

    result = quantize_and_compare(get_recipe("wav2vec2"), task["model"], task["data"], task["out"],
                                  algorithm=task["algorithm"], params=task["params"], overwrite=True,
                                  agreement=True, decoder="greedy", latency_repeats=3)
    sampler.stopped.set()
    sampler.join()
    aaq = result.accuracy_aware
    write_json(result_path, {
        "peak_rss_mb": peak_rss_mb(),
        "utterances": result.fp32.utterances, "audio_seconds": result.fp32.audio_seconds,
        "int8_wer_vs_fp32": result.int8.metrics.get("wer"), "int8_cer_vs_fp32": result.int8.metrics.get("cer"),
        "reverted_layers": list(aaq.reverted_layers) if aaq is not None else None,
        "reached": aaq.reached if aaq is not None else None,
        "int8_weight_bytes": result.int8_weight_bytes, "rss_timeline": thin(sampler.samples), "events": events.events,
    })


def prepare_model(task_path: Path, result_path: Path) -> None:
    """Child: write wav2vec2-base sizes with random weights as an IR with the shipped vocab.json beside it."""
    import openvino as ov
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    task = read_json(task_path)
    out = Path(task["out"])
    torch.manual_seed(0)
    model = Wav2Vec2ForCTC(Wav2Vec2Config(vocab_size=32)).eval()  # defaults are wav2vec2-base's sizes
    converted = ov.convert_model(model, example_input=torch.zeros(1, 16_000), input=[1, -1])
    converted.inputs[0].get_tensor().set_names({"input_values"})
    converted.outputs[0].get_tensor().set_names({"logits"})
    out.mkdir(parents=True, exist_ok=True)
    ov.save_model(converted, out / "model.xml", compress_to_fp16=False)
    shutil.copyfile(SHIPPED_MODEL.parent / "vocab.json", out / "vocab.json")
    write_json(result_path, {"model": str(out / "model.xml"),
                             "parameters": sum(p.numel() for p in model.parameters())})


def thin(samples: list[tuple[float, float]], limit: int = 800) -> list[tuple[float, float]]:
    """At most ``limit`` of ``samples`` (time, MiB): the highest of each run of consecutive ones, so that the peaks
    stay in the plot (a 50-minute run samples 15,000 times)."""
    if len(samples) <= limit:
        return list(samples)
    step = -(-len(samples) // limit)
    return [max(samples[i:i + step], key=lambda sample: sample[1]) for i in range(0, len(samples), step)]


# --------------------------------------------------------------------------------------------------- parent side


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve())]
    if args.model is not None:
        model, model_note = args.model, f"`{args.model}`"
    elif args.tiny:
        model, model_note = SHIPPED_MODEL, "the shipped Wav2Vec2 model (tiny setting)"
    else:
        prepared = run_child([*me, "--prepare"], {"out": str(work / "wav2vec2_base")}, work / "runs", "prepare",
                             timeout_s=1800)
        if not prepared.ok:
            raise SystemExit(f"building wav2vec2-base sizes failed: {prepared.failure()}")
        model = Path(prepared.result["model"])
        model_note = (f"Wav2Vec2ForCTC with wav2vec2-base's sizes, {prepared.result['parameters'] / 1e6:.1f}M "
                      f"parameters, random weights")
    source = args.data or (CORPUS_DEV if CORPUS_DEV.is_dir() else SHIPPED_DATA)
    params = {"default": {}, "accuracy-aware": dict(TINY_AAQ_PARAMS if args.tiny else AAQ_PARAMS)}
    rows = []
    for size in args.sizes:
        data = link_first_audio(source, size, work / f"data-{size}")
        for key, algorithm in ALGORITHMS.items():
            name = f"{key}-{size}"
            task = {"model": str(model), "data": str(data), "out": str(work / "out" / name), "algorithm": algorithm,
                    "params": {**params[key], "stat_subset_size": size}}
            saved = work / "rows" / f"{name}.json"
            if args.resume and saved.is_file() and read_json(saved)["task"] == task:
                rows.append(read_json(saved)["row"])
                print(f"{name}: measured before, kept ({saved})", file=sys.stderr, flush=True)
                continue
            print(f"{name}: quantizing ...", file=sys.stderr, flush=True)
            done: ChildRun = run_child(me + ["--child"], task, work / "runs", name, timeout_s=args.timeout)
            row = {"algorithm": algorithm, "utterances": size, "params": task["params"], "status": "ok" if done.ok
                   else done.failure(), "wall_seconds": done.wall_seconds, "cpu_seconds": done.cpu_seconds}
            if done.ok:
                row.update(done.result)
                saved.parent.mkdir(exist_ok=True)
                write_json(saved, {"task": task, "row": row})
            rows.append(row)
            print(f"{name}: {row['status']}, {done.wall_seconds:.1f} s, peak "
                  f"{row.get('peak_rss_mb', float('nan')):.0f} MiB", file=sys.stderr, flush=True)
    return {"machine": f"{provenance.cpu_name()}, {os.cpu_count()} cores", "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "speechq_commit": provenance.source_state(), "versions": provenance.versions(), "model": model_note, "data": str(source),
            "tiny": args.tiny, "memory_goal_mb": MEMORY_GOAL_MB, "rows": rows,
            "command": "python bench/bench_resources.py " + " ".join(args.argv)}


def markdown(summary: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in summary["versions"].items())
    lines = [
        "# What a speechq quantization costs: memory and time against calibration size", "",
        f"{summary['machine']}; {summary['date']}; speechq at {summary['speechq_commit']}; {versions}.", "",
        f"Model: {summary['model']}. Data: the first N utterances of `{summary['data']}`. Each row is one "
        "`quantize_and_compare` (`speechq quantize --recipe wav2vec2 --agreement`: FP32 transcripts as the "
        "reference, FP32 evaluation, quantization, INT8 evaluation, saving, latency, drift check) in its own "
        "process, all cores.", "",
        f"Reproduce: `{summary['command']}`.", "",
        "| algorithm | utterances | audio s | peak RSS MiB | wall s | CPU s | INT8 WER vs FP32 transcripts | "
        "reverted layers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        if row["status"] != "ok":
            lines.append(f"| {row['algorithm']} | {row['utterances']} | - | - | {row['wall_seconds']:.1f} | - | "
                         f"failed: {row['status']} | - |")
            continue
        reverted = row["reverted_layers"]
        reverted_text = "-" if reverted is None else (f"{len(reverted)} ({'reached' if row['reached'] else 'not reached'})")
        lines.append(f"| {row['algorithm']} | {row['utterances']} | {row['audio_seconds']:.0f} | {row['peak_rss_mb']:.0f} "
                     f"| {row['wall_seconds']:.1f} | {row['cpu_seconds']:.1f} | "
                     f"{row['int8_wer_vs_fp32']:.2%} | {reverted_text} |")
    lines += ["", "Accuracy-aware parameters: " + ", ".join(
        f"`{k}` {v}" for k, v in next((r["params"] for r in summary["rows"] if r["algorithm"] != "DefaultQuantization"),
                                      {}).items() if k != "stat_subset_size")
              + " (absolute drop of word error against the FP32 transcripts). Ranking costs one evaluation of "
              "`ranking_subset_size` utterances per quantized layer; memory does not grow with it. Random weights "
              "give near-flat logits whose best symbol INT8 changes often: the error columns say only that every "
              "step ran (accuracy on trained models: the recipes' figures); this table is about memory and time."]
    aaq = [r for r in summary["rows"] if r["status"] == "ok" and r["algorithm"] == "AccuracyAwareQuantization"]
    if aaq:
        largest = max(aaq, key=lambda r: r["utterances"])
        verdict = "within" if largest["peak_rss_mb"] <= summary["memory_goal_mb"] else "ABOVE"
        lines += ["", f"AccuracyAwareQuantization with {largest['utterances']} utterances peaks at "
                  f"{largest['peak_rss_mb']:.0f} MiB: {verdict} the goal of {summary['memory_goal_mb']} MiB."]
    lines += ["", "![memory and time](resources.png)" if not summary["tiny"] else "", ""]
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in summary["rows"] if r["status"] == "ok"]
    figure, (peak, wall, timeline) = plt.subplots(1, 3, figsize=(15, 4.2))
    for algorithm in ALGORITHMS.values():
        rows = sorted((r for r in ok if r["algorithm"] == algorithm), key=lambda r: r["utterances"])
        if not rows:
            continue
        sizes = [r["utterances"] for r in rows]
        peak.plot(sizes, [r["peak_rss_mb"] for r in rows], marker="o", label=algorithm)
        wall.plot(sizes, [r["wall_seconds"] for r in rows], marker="o", label=algorithm)
        largest = rows[-1]
        times, rss = zip(*largest["rss_timeline"]) if largest["rss_timeline"] else ((), ())
        timeline.plot(times, rss, label=f"{algorithm}, {largest['utterances']} utterances")
    peak.axhline(summary["memory_goal_mb"], color="grey", linestyle="--", label="goal")
    peak.set(title="peak resident memory", xlabel="calibration utterances", ylabel="MiB")
    wall.set(title="wall time", xlabel="calibration utterances", ylabel="s")
    timeline.set(title="resident memory during the largest runs", xlabel="s", ylabel="MiB")
    for axes in (peak, wall, timeline):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_outputs(summary: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out.with_suffix(".json"), summary)
    out.with_suffix(".md").write_text(markdown(summary), encoding="utf-8")
    plot(summary, out.with_suffix(".png"))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("--child", "--prepare"):
        (child if argv[0] == "--child" else prepare_model)(Path(argv[1]), Path(argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "resources",
                        help="writes <out>.md, <out>.json and <out>.png (default bench/results/resources)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/speechq-bench-resources"))
    parser.add_argument("--model", type=Path, help="a Wav2Vec2 IR with vocab.json beside it, instead of building "
                        "wav2vec2-base sizes (or, with --tiny, the shipped model)")
    parser.add_argument("--data", type=Path, help="audio folder to take utterances from (default: corpus dev split)")
    parser.add_argument("--sizes", type=int, nargs="+", help="calibration sizes (default 30 100 300; tiny: 2 4)")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds allowed per run (default 3 h: "
                        "accuracy-aware quantization of wav2vec2-base on 300 utterances took over an hour here)")
    parser.add_argument("--resume", action="store_true", help="keep the rows an earlier run with the same --work-dir "
                        "measured with the same task (an interrupted run goes on where it stopped)")
    parser.add_argument("--tiny", action="store_true", help="the shipped small model and a few utterances")
    parser.add_argument("--render", type=Path, metavar="JSON", help="write Markdown and plot again from a JSON")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.render:
        write_outputs(json.loads(args.render.read_text()), args.out if "--out" in argv else args.render)
        return
    args.sizes = args.sizes or ([2, 4] if args.tiny else [30, 100, 300])
    summary = run(args)
    write_outputs(summary, args.out)
    print(markdown(summary))
    if any(row["status"] != "ok" for row in summary["rows"]):
        raise SystemExit("some runs failed: see the table")


if __name__ == "__main__":
    main()
