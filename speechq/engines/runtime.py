"""What the OpenVINO plugin really runs: layer types and precisions of a compiled model's runtime graph."""

from __future__ import annotations

from dataclasses import dataclass

import openvino as ov

__all__ = ["RuntimeLayer", "runtime_layers", "COMPUTE_LAYER_TYPES", "INTEGER_PRECISIONS"]

COMPUTE_LAYER_TYPES = frozenset({"FullyConnected", "Convolution", "MatMul", "RNNSeq", "RNNCell", "Deconvolution"})
INTEGER_PRECISIONS = frozenset({"i8", "u8"})
DEQUANTIZATION_SUFFIX = "/DequantizationMultiply"  # OpenVINO's low-precision passes name a node's INT8 scale so


@dataclass(frozen=True)
class RuntimeLayer:
    """One node of the runtime graph.

    Attributes:
        name: runtime node name; ``type``: the plugin's layer type (e.g. ``FullyConnected``, ``RNNSeq``);
        precision: the precision it runs in (``runtimePrecision``: ``u8``/``i8`` for INT8 kernels, ``f32``,
        ``bf16``...); original_names: the model nodes fused into it.
    """

    name: str
    type: str
    precision: str
    original_names: tuple[str, ...]

    @property
    def is_compute(self) -> bool:
        return self.type in COMPUTE_LAYER_TYPES

    @property
    def is_integer(self) -> bool:
        return self.precision in INTEGER_PRECISIONS

    @property
    def sources(self) -> frozenset[str]:
        """The model nodes this layer computes: ``original_names`` with the dequantization scales OpenVINO made from a
        quantized node named as that node (a fused INT8 layer may list only ``<node>/DequantizationMultiply``)."""
        return frozenset(name.removesuffix(DEQUANTIZATION_SUFFIX) for name in self.original_names)


def _rt(node: ov.Node, key: str) -> str:
    info = node.get_rt_info()
    return str(info[key].astype(str)) if key in info else ""


def runtime_layers(compiled: ov.CompiledModel) -> list[RuntimeLayer]:
    """Every layer of ``compiled``'s runtime graph with its type and runtime precision."""
    layers = []
    for node in compiled.get_runtime_model().get_ordered_ops():
        originals = tuple(n for n in _rt(node, "originalLayersNames").split(",") if n)
        layers.append(RuntimeLayer(node.get_friendly_name(), _rt(node, "layerType"), _rt(node, "runtimePrecision"), originals))
    return layers
