"""What a model is and how it runs: inputs, outputs, state pairs, and the precision of each runtime layer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from speechq.algorithms.front_end import FrontEndPart, find_fp32_front_end
from speechq.algorithms.graph import prepare_for_quantization
from speechq.engines import RuntimeLayer, runtime_layers
from speechq.engines._state_pairs import find_streaming_layout
from speechq.errors import ModelError
from speechq.model import get_core, load_model

__all__ = ["ModelInfo", "model_info"]


@dataclass(frozen=True)
class ModelInfo:
    """Attributes: path; inputs / outputs as ``(name, shape, type)``; state_pairs (output -> input, empty when the
    model is not recurrent); stateful (ReadValue/Assign); layers: compute layers of the runtime graph compiled with
    f32 precision (so INT8 shows as u8/i8 and the rest as f32); front_end: what DefaultQuantization keeps FP32 by
    default (``speechq.algorithms.front_end``)."""

    path: str
    inputs: tuple[tuple[str, str, str], ...]
    outputs: tuple[tuple[str, str, str], ...]
    state_pairs: dict[str, str]
    stateful: bool
    layers: tuple[RuntimeLayer, ...]
    front_end: tuple[FrontEndPart, ...] = ()

    def precision_counts(self) -> dict[str, int]:
        return dict(Counter(layer.precision for layer in self.layers))

    def markdown(self) -> str:
        lines = [f"# {self.path}", "", "| input | shape | type |", "|---|---|---|"]
        lines += [f"| {n} | {s} | {t} |" for n, s, t in self.inputs]
        lines += ["", "| output | shape | type |", "|---|---|---|"]
        lines += [f"| {n} | {s} | {t} |" for n, s, t in self.outputs]
        if self.state_pairs:
            lines += ["", "| state output | feeds input |", "|---|---|"]
            lines += [f"| {o} | {i} |" for o, i in self.state_pairs.items()]
        lines += ["", f"stateful (ReadValue/Assign): {'yes' if self.stateful else 'no'}"]
        if self.front_end:
            lines += ["", "kept in FP32 when quantized (unless keep_front_end_fp32 is false):"]
            lines += [f"- {part.describe()}" for part in self.front_end]
        lines += ["",
                  "| runtime layer | type | precision |", "|---|---|---|"]
        lines += [f"| {layer.name} | {layer.type} | {layer.precision} |" for layer in self.layers]
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.precision_counts().items()))
        lines += ["", f"compute layers by precision: {counts}"]
        return "\n".join(lines)


def model_info(path: str | Path) -> ModelInfo:
    """Describe the model at ``path`` (IR or ONNX)."""
    model = load_model(path).model
    try:
        pairs = dict(find_streaming_layout(model).state_map)
    except ModelError:
        pairs = {}
    compiled = get_core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    ports = lambda group: tuple((p.get_any_name(), str(p.get_partial_shape()), p.get_element_type().get_type_name()) for p in group)  # noqa: E731
    return ModelInfo(
        path=str(path), inputs=ports(model.inputs), outputs=ports(model.outputs), state_pairs=pairs,
        stateful=bool(model.get_sinks()), layers=tuple(layer for layer in runtime_layers(compiled) if layer.is_compute),
        front_end=tuple(find_fp32_front_end(prepare_for_quantization(model))),
    )
