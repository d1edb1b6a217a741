"""Which layers of a quantized OpenVINO model are quantized, and how to put single layers back in FP32."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import openvino as ov

from speechq.algorithms.graph import DATA_MOVEMENT, is_fake_quantize, quantizer_ports, single_consumer

__all__ = ["QuantizedLayer", "quantized_layers", "revert_layers"]

_SHAPE_ONLY = frozenset({"ShapeOf"})  # reads a quantized tensor's shape, never its values: nothing to revert

@dataclass(frozen=True)
class QuantizedLayer:
    """A node whose inputs come from FakeQuantize nodes: the unit accuracy-aware quantization reverts.

    A quantizer reached through data-movement nodes that feed only this node (the Reshapes before an LSTMSequence's
    X and H, say) belongs to it too, so that all inputs of a layer go back to FP32 together (the CPU plugin refuses
    an LSTMSequence whose weights are quantized and its input not, and the reverse).

    Attributes:
        name: the node's friendly name.
        type: the node's operation type.
        consumers: the compute layers it ends up feeding (itself, unless it only moves data).
    """

    name: str
    type: str
    consumers: tuple[str, ...]


def _belongs_to_consumer(node: ov.Node) -> bool:
    """A data-movement node whose quantizer its single consumer claims (see :func:`_quantizer_ports`)."""
    return node.get_type_name() in DATA_MOVEMENT and single_consumer(node)


def _compute_consumers(node: ov.Node, seen: set[str] | None = None) -> list[str]:
    if node.get_type_name() not in DATA_MOVEMENT:
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
    """Every node (not a FakeQuantize, not a data-movement node its consumer claims, not a ShapeOf) with quantized
    inputs, in topological order."""
    layers = []
    for node in model.get_ordered_ops():
        if is_fake_quantize(node) or _belongs_to_consumer(node) or node.get_type_name() in _SHAPE_ONLY:
            continue
        if quantizer_ports(node):
            layers.append(QuantizedLayer(node.get_friendly_name(), node.get_type_name(), tuple(_compute_consumers(node))))
    return layers


def revert_layers(model: ov.Model, names: Iterable[str]) -> ov.Model:
    """A copy of ``model`` where the named layers read their inputs from before their FakeQuantize nodes.

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
        for target, quantizer in quantizer_ports(node):
            target.replace_source_output(quantizer.input_value(0))
    missing = wanted - found
    if missing:
        raise KeyError(f"no node named {sorted(missing)} in model {model.get_friendly_name()!r}")
    copy.validate_nodes_and_infer_types()
    return copy
