"""Which layers of a quantized OpenVINO model are quantized, and how to put single layers back in FP32."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import openvino as ov

__all__ = ["QuantizedLayer", "quantized_layers", "revert_layers"]

# Ops that only move data: an activation FakeQuantize can sit before them, the real consumer is further down.
_DATA_MOVEMENT = frozenset(
    {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split", "VariadicSplit", "StridedSlice", "Gather",
     "MaxPool", "Broadcast", "Tile", "Pad"}
)


@dataclass(frozen=True)
class QuantizedLayer:
    """A node fed directly by at least one FakeQuantize.

    Attributes:
        name: the node's friendly name (the unit that accuracy-aware quantization reverts).
        type: the node's operation type.
        consumers: the compute layers it ends up feeding (itself, unless it only moves data).
    """

    name: str
    type: str
    consumers: tuple[str, ...]


def _is_fake_quantize(node: ov.Node) -> bool:
    return node.get_type_name() == "FakeQuantize"


def _compute_consumers(node: ov.Node, seen: set[str] | None = None) -> list[str]:
    if node.get_type_name() not in _DATA_MOVEMENT:
        return [node.get_friendly_name()]
    seen = seen if seen is not None else set()
    found: list[str] = []
    for output in node.outputs():
        for target in output.get_target_inputs():
            child = target.get_node()
            if child.get_friendly_name() in seen or child.get_type_name() == "Result":
                continue
            seen.add(child.get_friendly_name())
            found.extend(c for c in _compute_consumers(child, seen) if c not in found)
    return found


def quantized_layers(model: ov.Model) -> list[QuantizedLayer]:
    """Every non-FakeQuantize node with an input coming straight from a FakeQuantize, in topological order."""
    layers = []
    for node in model.get_ordered_ops():
        if _is_fake_quantize(node):
            continue
        if any(_is_fake_quantize(i.get_source_output().get_node()) for i in node.inputs()):
            layers.append(QuantizedLayer(node.get_friendly_name(), node.get_type_name(), tuple(_compute_consumers(node))))
    return layers


def revert_layers(model: ov.Model, names: Iterable[str]) -> ov.Model:
    """A copy of ``model`` where the named nodes read their inputs from before their FakeQuantize nodes.

    A FakeQuantize that still feeds other nodes stays for them; one left without consumers drops out of the
    graph. Needs weight FakeQuantize nodes (not yet compressed to int8).

    Raises:
        KeyError: a name is not a node of ``model``.
    """
    wanted = set(names)
    copy = model.clone()
    found = set()
    for node in copy.get_ordered_ops():
        if node.get_friendly_name() not in wanted:
            continue
        found.add(node.get_friendly_name())
        for node_input in node.inputs():
            source = node_input.get_source_output().get_node()
            if _is_fake_quantize(source):
                node_input.replace_source_output(source.input_value(0))
    missing = wanted - found
    if missing:
        raise KeyError(f"no node named {sorted(missing)} in model {model.get_friendly_name()!r}")
    copy.validate_nodes_and_infer_types()
    return copy
