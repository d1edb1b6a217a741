"""Streaming DeepSpeech on this CPU: engine overhead, utterances in flight, native state, FP32 vs INT8.

One run measures everything on the same machine and inputs, so ratios are within one run:
- StreamingEngine against a bare loop of ``infer`` calls on the same chunks (overhead, target <= 5%);
- several utterances in flight (async) against one at a time;
- native stateful (ReadValue/Assign) against explicit state inputs;
- per-chunk latency (median, p10-p90) and real-time factor of FP32 with f32, FP32 with OpenVINO's default precision
  and INT8, for the shipped small model and for DeepSpeech-0.8.2 sizes (2048 units, random weights).

Usage: ``python bench/bench_streaming.py [--utterances 8] [--repeats 5] [--quick]``; writes
``bench/results/streaming.md`` and ``streaming.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import openvino as ov

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _peers

import speechq as sq  # noqa: E402
from _peers import provenance  # noqa: E402
from speechq.benchmark import measure_latency, spread
from speechq.engines import StreamingEngine, make_stateful
from speechq.zoo.architectures import deepspeech_graph, random_deepspeech_weights
from speechq.zoo.specs import get_recipe

RESULTS = Path(__file__).parent / "results"
CHUNK_SECONDS = 16 * 0.02


class Features(sq.DataLoader):
    def __init__(self, items: list[np.ndarray]) -> None:
        super().__init__()
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        if index >= len(self.items):
            raise IndexError(index)
        return self.items[index], None


def shipped_features(count: int) -> list[np.ndarray]:
    spec = get_recipe("deepspeech")
    from speechq.data import LibriSpeechDataLoader

    loader = LibriSpeechDataLoader(spec.default_data, features=spec.features())
    return [loader[i][0] for i in range(min(count, len(loader)))]


def timed(function, repeats: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return spread(times)


def bare_loop(model: ov.Model, features: list[np.ndarray]) -> None:
    compiled = sq.model.get_core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    hidden = model.input("previous_state_c").get_partial_shape()[1].get_length()
    from speechq.zoo.architectures import DEEPSPEECH_STATE_C_OUTPUT, DEEPSPEECH_STATE_H_OUTPUT

    def run() -> None:
        for utterance in features:
            c = np.zeros((1, hidden), np.float32)
            h = np.zeros((1, hidden), np.float32)
            steps = -(-len(utterance) // 16) * 16
            padded = np.zeros((steps, 19, 26), np.float32)
            padded[: len(utterance)] = utterance
            for start in range(0, steps, 16):
                out = request.infer({"input_node": padded[None, start : start + 16], "previous_state_c": c, "previous_state_h": h})
                c, h = out[DEEPSPEECH_STATE_C_OUTPUT].copy(), out[DEEPSPEECH_STATE_H_OUTPUT].copy()
                out["logits"].copy()

    return run


def engine_run(model: ov.Model, features: list[np.ndarray], requests: int):
    engine = StreamingEngine({"eval_requests_number": requests}, Features(features))
    engine.set_model(model)
    engine.compile(requests)
    return lambda: engine.predict()


def measure_model(label: str, model: ov.Model, features: list[np.ndarray], repeats: int) -> dict:
    chunks = sum(-(-len(f) // 16) for f in features)
    audio_seconds = sum(len(f) for f in features) * 0.02
    engine = StreamingEngine({}, Features(features))
    int8 = sq.DefaultQuantization({"stat_subset_size": len(features)}, engine).run(sq.CompressedModel.from_ov(model, label)).model
    engine.set_model(model)
    inputs = engine.collect_model_inputs(sq.IndexSampler(engine.data_loader, [0]))
    row: dict = {"model": label, "chunks": chunks, "audio_seconds": audio_seconds}
    latencies = {}
    for threads in (1, None):
        key = "1 thread" if threads == 1 else "all cores"
        for name, m, precision in (("FP32 f32", model, "f32"), ("FP32 default", model, "default"), ("INT8", int8, "f32")):
            lat = measure_latency(m, inputs, name, precision=precision, num_threads=threads, repeats=max(20, repeats * 10))
            latencies[f"{name}, {key}"] = {"median_ms": lat.median_ms, "p10_ms": lat.p10_ms, "p90_ms": lat.p90_ms,
                                           "rtf": lat.median_ms / 1000 / CHUNK_SECONDS}
    row["latency_per_chunk"] = latencies
    bare = timed(bare_loop(model, features), repeats)
    sync = timed(engine_run(model, features, 1), repeats)
    two = timed(engine_run(model, features, 2), repeats)
    stateful = timed(engine_run(make_stateful(model), features, 1), repeats)
    row["utterance_loops_seconds"] = {"bare infer loop": bare, "StreamingEngine sync": sync,
                                      "StreamingEngine 2 in flight": two, "StreamingEngine native stateful": stateful}
    row["engine_overhead_vs_bare"] = sync[0] / bare[0] - 1
    row["two_in_flight_speedup"] = sync[0] / two[0]
    row["native_stateful_speedup"] = sync[0] / stateful[0]
    row["int8_vs_f32_1thread"] = latencies["FP32 f32, 1 thread"]["median_ms"] / latencies["INT8, 1 thread"]["median_ms"]
    row["int8_vs_default_1thread"] = latencies["FP32 default, 1 thread"]["median_ms"] / latencies["INT8, 1 thread"]["median_ms"]
    return row


def markdown(rows: list[dict], meta: dict) -> str:
    lines = ["# Streaming DeepSpeech benchmark", "", f"{meta['cpu']}, {meta['cores']} cores; openvino {meta['openvino']}, nncf {meta['nncf']}; "
             f"{meta['utterances']} utterances, {meta['repeats']} repeats (median, p10-p90).", ""]
    for row in rows:
        lines += [f"## {row['model']} ({row['chunks']} chunks, {row['audio_seconds']:.1f} s of audio)", "",
                  "| per chunk | median ms | p10-p90 ms | real-time factor |", "|---|---|---|---|"]
        for name, lat in row["latency_per_chunk"].items():
            lines.append(f"| {name} | {lat['median_ms']:.3f} | {lat['p10_ms']:.3f}-{lat['p90_ms']:.3f} | {lat['rtf']:.4f} |")
        lines += ["", "| whole data set | median s | p10-p90 s |", "|---|---|---|"]
        for name, (median, p10, p90) in row["utterance_loops_seconds"].items():
            lines.append(f"| {name} | {median:.3f} | {p10:.3f}-{p90:.3f} |")
        lines += ["", f"- StreamingEngine overhead vs bare infer loop: {100 * row['engine_overhead_vs_bare']:+.1f}%",
                  f"- 2 utterances in flight vs 1: {row['two_in_flight_speedup']:.2f}x",
                  f"- native stateful vs explicit state: {row['native_stateful_speedup']:.2f}x",
                  f"- INT8 vs FP32 f32 (1 thread): {row['int8_vs_f32_1thread']:.2f}x; INT8 vs OpenVINO default precision: "
                  f"{row['int8_vs_default_1thread']:.2f}x", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny setting (tests): full size with 256 units")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    features = shipped_features(args.utterances)
    rows = []
    spec = get_recipe("deepspeech")
    if spec.default_model is not None and spec.default_model.exists():
        rows.append(measure_model("shipped deepspeech_small", sq.load_model(spec.default_model).model, features, args.repeats))
    hidden = 256 if args.quick else 2048
    rows.append(measure_model(f"DeepSpeech-0.8.2 sizes ({hidden} units, random weights)",
                              deepspeech_graph(random_deepspeech_weights(hidden)), features, args.repeats))
    import nncf

    meta = {"cpu": provenance.cpu_name(), "cores": os.cpu_count(),
            "openvino": ov.__version__, "nncf": nncf.__version__, "utterances": len(features), "repeats": args.repeats}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "streaming.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (args.out / "streaming.md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))


if __name__ == "__main__":
    main()
