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

__all__ = ["prepare_for_quantization", "op_type_counts"]

logger = logging.getLogger(__name__)

_LOOPS = ("TensorIterator", "Loop")


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
