"""Wav2Vec2-base sizes on this CPU: FP32 (f32), OpenVINO's default precision and speechq INT8, per utterance.

A Hugging Face Wav2Vec2ForCTC with wav2vec2-base's configuration (7 convolutions, 12 transformer layers of 768,
32 symbols) and random weights (speed does not depend on them), converted with ``openvino.convert_model``,
quantized by speechq's DefaultQuantization with the wav2vec2 recipe's defaults (transformer model type, mixed
preset, SmoothQuant on the feature encoder's convolutions, first convolution FP32) on random "audio", then timed on
``--seconds`` of audio, one thread and all cores. It also lists which layers run in which precision at run time, to
see what keeps time outside INT8. Needs the ``torch`` extra (``pip install -e '.[torch]'``).

It times the INT8 model as the recipe saves it and, in the same run, the same quantized model with its MatMuls
left as MatMuls (on CPUs without VNNI the recipe runs them as 1x1 convolutions: ``matmul_as_convolution``).

Usage: ``python bench/bench_wav2vec2_speed.py [--seconds 5] [--repeats 20] [--out bench/results/wav2vec2_speed]``;
writes ``OUT.md`` and ``OUT.json``, with the CPU and commit they were measured on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import openvino as ov

import speechq as sq
from speechq.benchmark import measure_latency
from speechq.engines import runtime_layers
from speechq.model import compress_model_weights, get_core
from speechq.zoo import get_recipe

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _peers
from _peers import provenance  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "wav2vec2_speed"
RATE = 16_000


def wav2vec2_base(seconds: float) -> ov.Model:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    torch.manual_seed(0)
    model = Wav2Vec2ForCTC(Wav2Vec2Config(vocab_size=32)).eval()  # defaults are wav2vec2-base's sizes
    example = torch.zeros(1, int(seconds * RATE))
    converted = ov.convert_model(model, example_input=example, input=[1, -1])
    converted.inputs[0].get_tensor().set_names({"input_values"})
    converted.outputs[0].get_tensor().set_names({"logits"})
    return converted


class Audio(sq.DataLoader):
    def __init__(self, items: list[np.ndarray]) -> None:
        super().__init__()
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):  # type: ignore[no-untyped-def]
        if index >= len(self.items):
            raise IndexError(index)
        return {"input_values": self.items[index]}, None


def precisions(model: ov.Model, hint: str) -> dict[str, int]:
    properties = {} if hint == "default" else {"INFERENCE_PRECISION_HINT": hint}
    compiled = get_core().compile_model(model, "CPU", properties)
    return dict(Counter(f"{layer.type} {layer.precision}" for layer in runtime_layers(compiled)
                        if layer.type in ("Convolution", "FullyConnected", "MatMul", "Softmax", "MHA", "ScaledDotProductAttention")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--calibration", type=int, default=8, help="random 'utterances' for calibration")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output path without suffix: writes OUT.md, OUT.json")
    args = parser.parse_args()
    fp32 = wav2vec2_base(args.seconds)
    rng = np.random.default_rng(0)
    audio = [rng.normal(0, 1, (1, int(args.seconds * RATE))).astype(np.float32) for _ in range(args.calibration)]
    engine = sq.IEEngine({}, Audio(audio), None)
    params = {**get_recipe("wav2vec2").quantization_defaults, "stat_subset_size": len(audio)}  # the recipe's defaults
    algorithm = sq.DefaultQuantization(params, engine)
    quantized = algorithm.quantize(sq.CompressedModel.from_ov(fp32, "wav2vec2_base"), compress_weights=False)
    as_matmuls = sq.CompressedModel.from_ov(quantized.model.clone(), "wav2vec2_base")
    compress_model_weights(as_matmuls)  # the same quantized model with its MatMuls left as MatMuls
    algorithm.finish(quantized)  # as the recipe saves it (matmul_as_convolution: auto)
    int8, int8_matmuls = quantized.model, as_matmuls.model
    inputs = [{"input_values": audio[0]}]
    rows = {}
    for threads in (1, None):
        key = "1 thread" if threads == 1 else "all cores"
        for label, model, hint in (("FP32 f32", fp32, "f32"), ("FP32 default", fp32, "default"), ("INT8", int8, "f32"),
                                   ("INT8 default", int8, "default"), ("INT8 MatMuls as MatMuls", int8_matmuls, "f32")):
            lat = measure_latency(model, inputs, label, precision=hint, num_threads=threads, repeats=args.repeats)
            rows[f"{label}, {key}"] = {"median_ms": lat.median_ms, "p10_ms": lat.p10_ms, "p90_ms": lat.p90_ms,
                                       "float_precision": lat.precision}
    layers = {"FP32 default": precisions(fp32, "default"), "INT8": precisions(int8, "f32"),
              "INT8 default": precisions(int8, "default"), "INT8 MatMuls as MatMuls": precisions(int8_matmuls, "f32")}
    one = {k.split(",")[0]: v["median_ms"] for k, v in rows.items() if k.endswith("1 thread")}
    summary = {"int8_vs_f32_1thread": one["FP32 f32"] / one["INT8"], "int8_vs_default_1thread": one["FP32 default"] / one["INT8"],
               "int8_default_vs_default_1thread": one["FP32 default"] / one["INT8 default"],
               "int8_vs_int8_matmuls_1thread": one["INT8 MatMuls as MatMuls"] / one["INT8"],
               "matmuls_as_convolutions": len(algorithm.as_convolution)}
    machine = {"cpu": provenance.cpu_name(), "source": provenance.source_state(), "openvino": ov.get_version()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"latency": rows, "layers": layers, "summary": summary,
                                                         "seconds": args.seconds, **machine}, indent=2))
    lines = ["# Wav2Vec2-base sizes (random weights)", "", f"{args.seconds:g} s of audio per inference; median and "
             f"p10-p90 of {args.repeats} runs after warm-up. CPU: {machine['cpu']}; OpenVINO {machine['openvino']}; "
             f"speechq {machine['source']}.", "",
             "| model, threads | float layers in | median ms | p10-p90 ms |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['float_precision']} | {v['median_ms']:.1f} | {v['p10_ms']:.1f}-{v['p90_ms']:.1f} |"
              for k, v in rows.items()]
    lines += ["", f"- INT8 vs FP32 f32 (1 thread): {summary['int8_vs_f32_1thread']:.2f}x; INT8 vs OpenVINO's default "
              f"precision: {summary['int8_vs_default_1thread']:.2f}x; INT8 with the float layers in the default precision vs "
              f"FP32 default: {summary['int8_default_vs_default_1thread']:.2f}x",
              f"- {summary['matmuls_as_convolutions']} quantized MatMuls run as 1x1 convolutions (matmul_as_convolution "
              f"auto); INT8 vs the same INT8 model with its MatMuls as MatMuls (1 thread): "
              f"{summary['int8_vs_int8_matmuls_1thread']:.2f}x", "", "Compute layers at run time (type precision: count):", ""]
    lines += [f"- {name}: {', '.join(f'{k} x{n}' for k, n in sorted(counts.items()))}" for name, counts in layers.items()]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
