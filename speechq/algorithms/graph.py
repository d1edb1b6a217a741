"""Graph preparation before quantization, so that the layers that matter can run INT8 at run time.

- Constant folding: weights that reach a layer through Transpose/Concat/Convert (ONNX exports, fp16 IRs) become
  plain constants, which NNCF can quantize.
- TensorIterator/Loop bodies holding an LSTM/GRU cell become LSTMSequence/GRUSequence: NNCF does not quantize
  inside TensorIterator bodies, so without this the recurrent layer (most of DeepSpeech's work) stays FP32.
OpenVINO's MOC transformations do both; the model's inputs, outputs and results are unchanged.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import cast

import numpy as np
import openvino as ov
from openvino import opset13 as ops
from openvino._offline_transformations import apply_moc_transformations

__all__ = ["DATA_MOVEMENT", "is_fake_quantize", "op_type_counts", "prepare_for_quantization", "quantizer_of", "quantizer_ports",
           "single_consumer", "store_exact_fp16_weights"]

logger = logging.getLogger(__name__)

_LOOPS = ("TensorIterator", "Loop")

# Ops that only move data: an activation FakeQuantize can sit before them, the real consumer is further down.
DATA_MOVEMENT = frozenset(
    {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split", "VariadicSplit", "StridedSlice", "Gather",
     "MaxPool", "Broadcast", "Tile", "Pad"}
)


def is_fake_quantize(node: ov.Node) -> bool:
    return cast(str, node.get_type_name()) == "FakeQuantize"


def single_consumer(node: ov.Node) -> bool:
    """``node`` feeds exactly one input, and not a Result."""
    targets = [t for output in node.outputs() for t in output.get_target_inputs()]
    return len(targets) == 1 and targets[0].get_node().get_type_name() != "Result"


def quantizer_of(port: ov.Input) -> tuple[ov.Input, ov.Node] | None:
    """The FakeQuantize feeding ``port``, directly or through data-movement nodes that feed only this path, and the
    input port it feeds (re-source that port to bypass it); None when the input is not quantized."""
    target, source = port, port.get_source_output().get_node()
    while source.get_type_name() in DATA_MOVEMENT and single_consumer(source) and source.get_input_size() >= 1:
        target, source = source.input(0), source.input_value(0).get_node()
    return (target, source) if is_fake_quantize(source) else None


def quantizer_ports(node: ov.Node) -> list[tuple[ov.Input, ov.Node]]:
    """:func:`quantizer_of` for every quantized input of ``node``."""
    return [found for found in (quantizer_of(port) for port in node.inputs()) if found is not None]


def op_type_counts(model: ov.Model) -> Counter[str]:
    """How many nodes of each operation type ``model`` has."""
    return Counter(op.get_type_name() for op in model.get_ordered_ops())


def prepare_for_quantization(model: ov.Model) -> ov.Model:
    """A constant-folded copy of ``model`` with recurrent loops turned into sequence operations."""
    prepared = model.clone()
    apply_moc_transformations(prepared, cf=True)
    before, after = op_type_counts(model), op_type_counts(prepared)
    for loop in _LOOPS:
        if before[loop]:
            logger.info("graph preparation: %d %s -> %d left (sequence ops now %d)", before[loop], loop, after[loop],
                        sum(after[t] for t in ("LSTMSequence", "GRUSequence", "RNNSequence")))
            if after[loop]:
                logger.warning("%d %s nodes remain: NNCF does not quantize inside their bodies", after[loop], loop)
    return prepared


_WEIGHTED = frozenset({"MatMul", "Convolution", "GroupConvolution", "ConvolutionBackpropData"})


def store_exact_fp16_weights(model: ov.Model) -> int:
    """Store in fp16 (Constant f16 -> Convert f32, as fp16 IRs and ONNX exports hold them) every f32 weight of a
    layer left in FP32 whose values fp16 represents exactly: weights that arrived in fp16 and were unpacked by
    constant folding. Computes the same; keeps an fp16 model's FP32 layers at their size. Returns how many."""
    stored = 0
    for node in model.get_ordered_ops():
        if node.get_type_name() not in _WEIGHTED or node.get_input_size() < 2:
            continue
        weight = node.input_value(1).get_node()
        if weight.get_type_name() != "Constant" or weight.get_element_type() != ov.Type.f32:
            continue
        values = np.asarray(weight.get_data())
        half = values.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), values):
            continue
        node.input(1).replace_source_output(ops.convert(ops.constant(half), ov.Type.f32).output(0))
        stored += 1
    if stored:
        logger.info("%d FP32 layers keep their fp16-exact weights in fp16", stored)
    return stored
