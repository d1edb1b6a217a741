"""Quantized MatMuls as 1x1 convolutions, for CPUs whose int8 matrix product is no faster than f32's.

On CPUs without a u8 x i8 dot-product instruction (no AVX-512 VNNI, AVX-VNNI or AMX: AVX2), OpenVINO 2026.4's CPU
plugin runs an int8 FullyConnected with oneDNN's ``jit_gemm_I8``, which is no faster than its f32 FullyConnected
(wav2vec2-base's 74 MatMuls: 533 ms against 551 ms, one thread, 5 s of audio), while its int8 1x1 convolution
(``jit_avx2_1x1_I8``) is more than twice as fast. So, once the model is quantized, every quantized MatMul with
constant weights is rewritten as a Convolution (kernel 1) with the same activation and weight quantizers: the same
quantized values, another kernel. Over ``[batch, steps, channels]`` activations it runs between two transposes
(Transpose -> Convolution -> Transpose); over ``[rows, channels]`` ones (DeepSpeech's dense layers) each row is an
image of one step, reshaped to ``[rows, channels, 1]`` and back, without a copy (for the 16 rows of a DeepSpeech
chunk it runs as fast as the transposed form, with no transposes; for 250 rows of 768 -> 3072 it is 1.7x slower than
that form, yet 1.8x faster than the int8 FullyConnected). A bias added after it moves into the convolution's side
(the plugin fuses it into the convolution); the transposes or reshapes of MatMuls that read the same tensor are
shared, and a transpose back followed, through element-wise steps with per-channel parameters (GELU, a FakeQuantize,
SmoothQuant's scales; reshaped to the channel-first layout), by a transpose forth is dropped. On CPUs with VNNI or
AMX the int8 FullyConnected is fast and nothing is rewritten (``matmul_as_convolution`` ``auto``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import openvino as ov
from numpy.typing import NDArray
from openvino import opset13 as ops

from speechq.algorithms.graph import is_fake_quantize, quantizer_of

__all__ = ["matmuls_as_convolutions", "wants_matmul_as_convolution"]

logger = logging.getLogger(__name__)

_CHANNELS_FIRST = (0, 2, 1)  # [batch, steps, channels] <-> [batch, channels, steps]
# element-wise steps that commute with a transpose (their other inputs reshaped along: _to_channels_first)
_ELEMENTWISE = frozenset({"Gelu", "Relu", "Clamp", "Sigmoid", "Tanh", "Swish", "HSwish", "Mish", "Exp", "Abs",
                          "FakeQuantize", "Multiply", "Add", "Subtract", "Divide", "Maximum", "Minimum", "Convert"})


def _constant(output: ov.Output) -> NDArray[Any] | None:
    node = output.get_node()
    return np.asarray(node.get_data()) if node.get_type_name() == "Constant" else None


def _as_kernel(values: NDArray[Any], transpose_b: bool) -> NDArray[Any]:
    """A MatMul weight (or per-channel range) as a 1x1 convolution's: ``[N, K]`` (``[K, N]`` when not
    ``transpose_b``) -> ``[N, K, 1]``; scalars unchanged."""
    if values.ndim < 2 or values.size == 1:
        return values.reshape(()) if values.size == 1 else values
    matrix = values.reshape(values.shape[-2:])
    return np.ascontiguousarray((matrix if transpose_b else matrix.T)[:, :, None])


def _convolution_weights(output: ov.Output, transpose_b: bool) -> ov.Output | None:
    """The quantized weights feeding a MatMul (FakeQuantize of a constant, constant ranges) rebuilt as a 1x1
    convolution's ``[N, K, 1]`` quantized weights; None when they are not of that form."""
    fq = output.get_node()
    if not is_fake_quantize(fq):
        return None
    weights, *ranges = (_constant(fq.input_value(i)) for i in range(5))
    if weights is None or weights.ndim != 2 or any(r is None for r in ranges):
        return None
    kernel = ops.constant(_as_kernel(weights, transpose_b))
    bounds = [ops.constant(_as_kernel(np.asarray(r), transpose_b)) for r in ranges]
    return ops.fake_quantize(kernel, *bounds, int(fq.get_attributes()["levels"])).output(0)


def _bias(matmul: ov.Node, channels: int) -> tuple[ov.Node, NDArray[Any]] | None:
    """The Add of a constant ``[channels]`` bias that alone consumes ``matmul``, with the bias as ``[1, N, 1]``."""
    targets = list(matmul.output(0).get_target_inputs())
    if len(targets) != 1 or targets[0].get_node().get_type_name() != "Add":
        return None
    add = targets[0].get_node()
    bias = _constant(add.input_value(1 - targets[0].get_index()))
    if bias is None or bias.ndim == 0 or bias.size != channels or bias.shape[-1] != channels:
        return None
    return add, bias.reshape(1, channels, 1)


def _transposed(output: ov.Output) -> ov.Output:
    return ops.transpose(output, ops.constant(np.array(_CHANNELS_FIRST, np.int64))).output(0)


def _rows_as_batch(output: ov.Output, channels: int) -> ov.Output:
    """``[rows, channels]`` as ``[rows, channels, 1]``: each row an image of one step (a free reshape, no copy)."""
    return ops.reshape(output, ops.constant(np.array([-1, channels, 1], np.int64)), special_zero=False).output(0)


def _is_swap(node: ov.Node) -> bool:
    """A Transpose that swaps the last two axes of a 3-D tensor."""
    if node.get_type_name() != "Transpose":
        return False
    order = _constant(node.input_value(1))
    return order is not None and tuple(int(v) for v in order) == _CHANNELS_FIRST


def _rewrite(matmul: ov.Node, shared: dict[tuple[str, int], ov.Output]) -> bool:
    attributes = matmul.get_attributes()
    x = matmul.input_value(0)
    shape = x.get_partial_shape()
    rank = 0 if shape.rank.is_dynamic else shape.rank.get_length()
    if attributes["transpose_a"] or rank not in (2, 3) or shape[rank - 1].is_dynamic:
        return False
    if quantizer_of(matmul.input(0)) is None:
        return False  # activations not quantized: the layer is FP32
    weights = _convolution_weights(matmul.input_value(1), bool(attributes["transpose_b"]))
    if weights is None:
        return False
    key = (x.get_node().get_name(), x.get_index())  # get_name(): unique in the model
    if key not in shared:
        shared[key] = _transposed(x) if rank == 3 else _rows_as_batch(x, shape[1].get_length())
    convolution = ops.convolution(shared[key], weights, [1], [0], [0], [1])
    convolution.set_friendly_name(matmul.get_friendly_name())  # the layer keeps its name (runtime graph, info)
    y, last, channels = convolution.output(0), matmul, weights.get_partial_shape()[0].get_length()
    bias = _bias(matmul, channels)
    if bias is not None:
        last, values = bias[0], bias[1]
        add = ops.add(y, ops.constant(values.astype(np.float32)))
        add.set_friendly_name(last.get_friendly_name())
        y = add.output(0)
    if rank == 3:
        out = ops.transpose(y, ops.constant(np.array(_CHANNELS_FIRST, np.int64)))
        out.set_friendly_name(f"{last.get_friendly_name()}/steps_last")
    else:
        out = ops.reshape(y, ops.constant(np.array([-1, channels], np.int64)), special_zero=False)
        out.set_friendly_name(f"{last.get_friendly_name()}/rows")
    names = last.output(0).get_names()  # a model output (logits) keeps its tensor names
    last.output(0).get_tensor().set_names(set())
    out.output(0).get_tensor().set_names(names)
    for target in list(last.output(0).get_target_inputs()):
        target.replace_source_output(out.output(0))
    return True


def _per_channel(values: NDArray[Any]) -> bool:
    """A parameter an element-wise step applies along the last axis of ``[batch, steps, channels]``: a scalar, or
    ones but for the last axis."""
    return values.size == 1 or (values.ndim <= 3 and all(d == 1 for d in values.shape[:-1]))


def _movable(node: ov.Node) -> bool:
    """An element-wise step on input 0 whose other inputs are per-channel constants, alone on its path."""
    if node.get_type_name() not in _ELEMENTWISE or len(node.output(0).get_target_inputs()) != 1:
        return False
    parameters = [_constant(node.input_value(i)) for i in range(1, node.get_input_size())]
    return all(p is not None and _per_channel(p) for p in parameters)


def _to_channels_first(node: ov.Node) -> None:
    """Give ``node``'s per-channel parameters the ``[1, channels, 1]`` shape of the channel-first layout."""
    for i in range(1, node.get_input_size()):
        values = _constant(node.input_value(i))
        if values is not None and values.size > 1:
            node.input(i).replace_source_output(ops.constant(np.ascontiguousarray(values.reshape(1, -1, 1))).output(0))


def _drop_transpose_pairs(model: ov.Model) -> int:
    """Transpose back -> element-wise steps with per-channel parameters -> Transpose forth, each alone on its path:
    both transposes dropped (the steps then run channel-first). Returns how many pairs."""
    dropped = 0
    for forth in model.get_ordered_ops():
        if not _is_swap(forth):
            continue
        chain, node = [], forth.input_value(0).get_node()
        while _movable(node):
            chain.append(node)
            node = node.input_value(0).get_node()
        if not _is_swap(node) or len(node.output(0).get_target_inputs()) != 1:
            continue
        for step in chain:
            _to_channels_first(step)
        first = chain[-1] if chain else forth
        first.input(0).replace_source_output(node.input_value(0))
        for target in list(forth.output(0).get_target_inputs()):
            target.replace_source_output(forth.input_value(0) if chain else node.input_value(0))
        dropped += 1
    return dropped


def wants_matmul_as_convolution(setting: str) -> bool:
    """``matmul_as_convolution``: ``always``, ``never``, or ``auto``: on a CPU without a u8 x i8 dot product (the
    test of ``saturation_fix``; ``ONEDNN_MAX_CPU_ISA=AVX2`` counts as one)."""
    if setting != "auto":
        return setting == "always"
    from speechq.algorithms.default.nncf_backend import _cpu_has_int8_dot_product  # imports NNCF: only when quantizing

    return not _cpu_has_int8_dot_product()


def matmuls_as_convolutions(model: ov.Model) -> list[str]:
    """Rewrite, in place, every quantized MatMul of ``model`` (FakeQuantize nodes placed, weights not yet compressed)
    over ``[batch, steps, channels]`` or ``[rows, channels]`` activations with constant quantized weights as a 1x1
    convolution (between two transposes, or two reshapes), with the same quantizers. Returns the rewritten layers'
    names: each convolution takes its MatMul's name, and the transpose or reshape after it carries the tensor names
    of the output it replaces."""
    shared: dict[tuple[str, int], ov.Output] = {}
    rewritten = [node.get_friendly_name() for node in model.get_ordered_ops()
                 if node.get_type_name() == "MatMul" and _rewrite(node, shared)]
    if rewritten:
        dropped = _drop_transpose_pairs(model)
        model.validate_nodes_and_infer_types()
        logger.info("%d quantized MatMuls run as 1x1 convolutions (%d transpose pairs dropped)",
                    len(rewritten), dropped)
    return rewritten
