"""What a model is and how it runs: inputs, outputs, state pairs, and the precision of each runtime layer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speechq.algorithms.front_end import FrontEndPart, find_fp32_front_end
from speechq.algorithms.graph import prepare_for_quantization
from speechq.engines import RuntimeLayer, runtime_layers
from speechq.engines._state_pairs import find_streaming_layout
from speechq.errors import ModelError
from speechq.model import get_core, load_model
from speechq.zoo.specs import RecipeSpec

__all__ = ["ModelInfo", "model_info", "recipe_usage"]


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
    recipe: str | None = None

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
        if self.recipe:
            lines += ["", self.recipe]
        if self.front_end:
            lines += ["", "kept in FP32 when quantized (unless the parameter named after each is false):"]
            lines += [f"- {part.describe()} (`{part.switch}`)" for part in self.front_end]
        lines += ["",
                  "| runtime layer | type | precision |", "|---|---|---|"]
        lines += [f"| {layer.name} | {layer.type} | {layer.precision} |" for layer in self.layers]
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.precision_counts().items()))
        lines += ["", f"compute layers by precision: {counts}"]
        return "\n".join(lines)


def recipe_usage(spec: RecipeSpec) -> str:
    """One line: what ``spec`` feeds the model, which output it decodes and how it scores it."""
    vocabulary = spec.vocabulary(None)
    bound = f", frames bounded by {spec.lengths_output!r}" if spec.lengths_output else ""
    filled = spec.engine_config.get("lengths_inputs", {})
    lengths = f", fills {sorted(filled)} with the signal's length" if filled else ""
    return (f"{spec.name} recipe: feeds {spec.required_inputs[0]!r} with {spec.features()!r}{lengths}; decodes "
            f"{spec.logits_output or 'the output over the vocabulary'!r} ({spec.logits_layout}) over {len(vocabulary)} "
            f"symbols (blank {vocabulary.blank_index}, word delimiter {vocabulary.word_delimiter!r}){bound}; error "
            f"rates over {spec.unit}s")


def model_info(path: str | Path, recipe: RecipeSpec | None = None) -> ModelInfo:
    """Describe the model at ``path`` (IR or ONNX), and with ``recipe`` how that recipe runs it."""
    model = load_model(path).model
    try:
        pairs = dict(find_streaming_layout(model).state_map)
    except ModelError:
        pairs = {}
    compiled = get_core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})

    def ports(group: Any) -> tuple[tuple[str, str, str], ...]:
        return tuple((p.get_any_name(), str(p.get_partial_shape()), p.get_element_type().get_type_name())
                     for p in group)

    return ModelInfo(
        path=str(path), inputs=ports(model.inputs), outputs=ports(model.outputs), state_pairs=pairs,
        stateful=bool(model.get_sinks()), layers=tuple(layer for layer in runtime_layers(compiled) if layer.is_compute),
        front_end=tuple(find_fp32_front_end(prepare_for_quantization(model))),
        recipe=None if recipe is None else recipe_usage(recipe),
    )
