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

import openvino as ov
from openvino._offline_transformations import apply_moc_transformations

__all__ = ["DATA_MOVEMENT", "is_fake_quantize", "op_type_counts", "prepare_for_quantization", "quantizer_of", "quantizer_ports", "single_consumer"]

logger = logging.getLogger(__name__)

_LOOPS = ("TensorIterator", "Loop")

# Ops that only move data: an activation FakeQuantize can sit before them, the real consumer is further down.
DATA_MOVEMENT = frozenset(
    {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split", "VariadicSplit", "StridedSlice", "Gather",
     "MaxPool", "Broadcast", "Tile", "Pad"}
)


def is_fake_quantize(node: ov.Node) -> bool:
    return node.get_type_name() == "FakeQuantize"


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
