"""Quantized layers that the device's int8 kernels compute wrong, found by running each one alone.

OpenVINO 2026.4's CPU plugin on CPUs with AMX miscomputes some int8 grouped 1-D convolutions: with a kernel of 32
(or 16) and 16 or 20 channels per group the output is far off (mean relative error above 100% against the same
quantized values in f32), while 10 channels per group, an odd kernel, or the same CPU held to AVX-512 VNNI
(``ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI``) are right. A Wav2Vec2 positional convolution of 160 channels in 8 groups is
such a layer, and it takes the whole INT8 model to garbage.

What speechq does: after NNCF has placed the FakeQuantize nodes, every quantized GroupConvolution is rebuilt alone
(its activation quantizer, its quantized weights, its strides and pads) and run on the device, against the same
quantized values convolved in f32. A layer whose output is more than ``MAX_RELATIVE_ERROR`` off is one the device
miscomputes: DefaultQuantization keeps it FP32 (with a warning naming it) and quantizes again.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import openvino as ov
from numpy.typing import NDArray
from openvino import opset13 as ops

from speechq.algorithms.graph import is_fake_quantize, quantizer_of
from speechq.model import get_core

__all__ = ["MAX_RELATIVE_ERROR", "int8_kernel_error", "miscomputed_int8_layers"]

logger = logging.getLogger(__name__)

# Mean absolute error over mean absolute output; the same quantized values differ only by float rounding (about 1e-6)
# where the kernel is right, and by more than 1 where it is wrong.
MAX_RELATIVE_ERROR = 0.05
_PROBE_STEPS = 4  # input length of a probe, in kernel lengths (at least 64 steps)
_CHECKED_TYPES = ("GroupConvolution",)


def _fake_quantize_inputs(fq: ov.Node) -> list[ov.Output] | None:
    """The four range inputs of ``fq``; None when a range is not a constant."""
    ranges = [fq.input_value(i) for i in range(1, 5)]
    return ranges if all(r.get_node().get_type_name() == "Constant" for r in ranges) else None


def _constant_value(output: ov.Output) -> NDArray[Any] | None:
    """The value of ``output`` when it is computed from constants only (quantized weights: a FakeQuantize on a
    constant, or int8 constants converted and scaled), else None."""
    pending, seen = [output.get_node()], set()
    while pending:
        node = pending.pop()
        if node.get_type_name() == "Parameter":
            return None
        if node.get_friendly_name() not in seen:
            seen.add(node.get_friendly_name())
            pending.extend(i.get_source_output().get_node() for i in node.inputs())
    compiled = get_core().compile_model(ov.Model([ops.result(output)], []), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.asarray(compiled({})[0])


def _probe_models(node: ov.Node) -> tuple[ov.Model, ov.Model, NDArray[Any], NDArray[Any]] | None:
    """(the layer alone as it was quantized: its activation quantizer, its quantized weights, its strides and pads;
    the same quantized values convolved in f32; an input within the activation quantizer's range; the quantized
    weights' values), or None when ``node`` is not a quantized layer with constant weights and input channels, or
    its activation ranges are per channel in another layout (a quantizer before a Transpose)."""
    activation = quantizer_of(node.input(0))
    ranges = _fake_quantize_inputs(activation[1]) if activation is not None else None
    shape = node.get_input_partial_shape(0)
    if activation is None or ranges is None or shape.rank.is_dynamic or shape[1].is_dynamic:
        return None
    moved = not is_fake_quantize(node.input_value(0).get_node())  # reached through Transpose/Reshape/...
    if moved and any(np.size(r.get_node().get_data()) > 1 for r in ranges):
        return None  # per-channel ranges in another layout than the layer's input
    weights = _constant_value(node.input_value(1))
    if weights is None:
        return None
    levels = int(activation[1].get_attributes()["levels"])
    steps = max(64, _PROBE_STEPS * int(np.prod(weights.shape[3:])))
    shape = [1, shape[1].get_length()] + [steps] * (shape.rank.get_length() - 2)
    attributes = node.get_attributes()
    pads = {"strides": attributes["strides"], "pads_begin": attributes["pads_begin"],
            "pads_end": attributes["pads_end"], "dilations": attributes["dilations"],
            "auto_pad": str(attributes.get("auto_pad", "explicit")).lower()}
    x = ops.parameter(shape, ov.Type.f32)
    layer = ov.Model([ops.group_convolution(ops.fake_quantize(x, *ranges, levels), node.input_value(1), **pads)], [x])
    xq = ops.parameter(shape, ov.Type.f32)
    wq = ops.parameter(list(weights.shape), ov.Type.f32)
    reference = ov.Model([ops.group_convolution(ops.fake_quantize(xq, *ranges, levels), wq, **pads)], [xq, wq])
    low, high = (np.asarray(r.get_node().get_data()) for r in ranges[:2])
    sample = np.random.default_rng(0).uniform(float(np.min(low)), float(np.max(high)), size=shape)
    return layer, reference, sample.astype(np.float32), weights


def int8_kernel_error(node: ov.Node, device: str = "CPU") -> float | None:
    """Mean relative error of the quantized layer ``node`` run alone on ``device`` against the same quantized values
    convolved in f32; None when ``node`` is not a quantized layer this can rebuild."""
    probe = _probe_models(node)
    if probe is None:
        return None
    layer, reference, sample, weights = probe
    core, f32 = get_core(), {"INFERENCE_PRECISION_HINT": "f32"}
    got = np.asarray(core.compile_model(layer, device, f32)(sample)[0])
    expected = np.asarray(core.compile_model(reference, device, f32)([sample, weights])[0])
    scale = float(np.abs(expected).mean())
    return float(np.abs(got - expected).mean()) / scale if scale > 0 else float(np.abs(got).mean())


def miscomputed_int8_layers(model: ov.Model, device: str = "CPU") -> dict[str, float]:
    """The quantized layers of ``model`` (FakeQuantize nodes placed, before weight compression) that ``device``
    computes more than ``MAX_RELATIVE_ERROR`` off, with their errors."""
    found: dict[str, float] = {}
    for node in model.get_ordered_ops():
        if node.get_type_name() not in _CHECKED_TYPES:
            continue
        error = int8_kernel_error(node, device)
        if error is None:
            logger.debug("int8 kernel check: %s is not a quantized layer with constant weights", node.get_friendly_name())
        elif error > MAX_RELATIVE_ERROR:
            found[node.get_friendly_name()] = error
    return found
