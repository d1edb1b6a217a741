"""Quantized LSTM/GRU sequences that the CPU plugin really computes right.

OpenVINO's CPU plugin runs a quantized LSTMSequence/GRUSequence as one oneDNN int8 RNN primitive
(``ConvertFqRnnToQuantizedRnn``), which has one data scale and shift for both the sequence input X and the hidden
state H, and one set of per-channel weight scales for both the input weights W and the recurrent weights R: the
plugin takes X's and W's and applies them to H and R too. NNCF quantizes the four independently, so R (and H) are
read with the wrong scales and the recurrent layer computes garbage: measured on the shipped DeepSpeech model, INT8
WER 100% against 41% in FP32, while the same ranges evaluated exactly give 41%.

What speechq does, after NNCF and before weights are compressed, for every sequence with quantized X, H, W, R:

1. Equalise: X / s and W * s (with s = sqrt(max|X range| / max|H range|)) leave the layer's result unchanged (the
   input projection is linear) and bring X's range closer to H's. The division is folded into X's FakeQuantize (output range =
   input range / s), the product into W's (output range = input range * s).
2. Unify: X's and H's FakeQuantize nodes get the same output range (their union); W's and R's get the same
   per-channel range (the larger of the two, row by row).
3. The cell state C stays FP32: oneDNN keeps C in f32, so a FakeQuantize on C only adds rounding error (a step of
   0.3 over C's [-39, 39] in DeepSpeech); it is bypassed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
import openvino as ov
from openvino import opset13 as ops

from speechq.algorithms.graph import quantizer_of

__all__ = ["RecurrentAlignment", "align_recurrent_quantizers"]

logger = logging.getLogger(__name__)

# op type -> (cell-state input port or None, W input port; R is the next one)
_SEQUENCES = {"LSTMSequence": (2, 4), "GRUSequence": (None, 3)}
_X, _H = 0, 1
# X / s, W * s with s = (max|X| / max|H|) ** _BALANCE: 1 moves all of X's excess range into W (and so into R's shared
# scale), 0 none of it (H then shares X's coarse range). Like SmoothQuant's migration strength 0.5, the middle splits
# the precision loss between the data and the weights. Measured on the shipped DeepSpeech model (greedy WER on the
# 500 held-out test utterances, FP32 47.82%): balance 1 -> +2.73 points, 0.75 -> +1.31, 0.5 -> +1.28,
# 0.25 -> +0.89, 0 -> +1.45 (the middle values are within the noise of 500 utterances; CER: +0.24 points at 0.5).
# Again on an AVX2 CPU (7-bit weights), with the share of characters changed against FP32's transcripts, the steadier
# figure: 0.5 -> +1.36 WER / 5.51%, 0.35 -> +1.47 / 5.79%, 0.25 -> +0.70 / 5.40%, 0.15 -> +0.86 / 5.91%,
# 0 -> +1.53 / 6.41%. The rest is the int8 RNN's own rounding of H at every step (the README's "Quantized LSTMs").
_BALANCE = 0.5


@dataclass(frozen=True)
class RecurrentAlignment:
    """What was changed on one recurrent layer.

    Attributes:
        layer: the sequence node's name; scale: s (X / s, W * s; 1.0 when not equalised); x_range / h_range: the
        output ranges NNCF chose; unified_range: the range both now share; cell_state_fp32: a FakeQuantize on C was
        bypassed.
    """

    layer: str
    scale: float
    x_range: tuple[float, float]
    h_range: tuple[float, float]
    unified_range: tuple[float, float]
    cell_state_fp32: bool


def _scalar_ranges(fq: ov.Node) -> tuple[float, float, float, float] | None:
    """(input_low, input_high, output_low, output_high) of a per-tensor FakeQuantize, else None."""
    values = []
    for index in range(1, 5):
        node = fq.input_value(index).get_node()
        if node.get_type_name() != "Constant":
            return None
        data = np.asarray(node.get_data(), dtype=np.float64)
        if data.size != 1:
            return None
        values.append(float(data.ravel()[0]))
    return values[0], values[1], values[2], values[3]


def _new_fake_quantize(source: ov.Output, fq: ov.Node, ranges: tuple[float, float, float, float]) -> ov.Node:
    constants = [ops.constant(np.array(v, dtype=np.float32)) for v in ranges]
    new = ops.fake_quantize(source, *constants, fq.get_levels())
    new.set_friendly_name(fq.get_friendly_name())
    return new


def _weight_quantizer(
    sequence: ov.Node, port: int
) -> tuple[ov.Node, NDArray[np.float32], list[NDArray[np.float32]]] | None:
    """The FakeQuantize on a weight input (constant data, constant ranges), its weights and [il, ih, ol, oh]."""
    fq = sequence.input_value(port).get_node()
    if fq.get_type_name() != "FakeQuantize":
        return None
    nodes = [fq.input_value(i).get_node() for i in range(5)]
    if any(n.get_type_name() != "Constant" for n in nodes):
        return None
    return fq, np.asarray(nodes[0].get_data(), np.float32), [np.asarray(n.get_data(), np.float32) for n in nodes[1:]]


def _set_inputs(node: ov.Node, values: dict[int, NDArray[np.floating[Any]]]) -> None:
    for index, value in values.items():
        node.input(index).replace_source_output(ops.constant(value.astype(np.float32)).output(0))


def _unify_weights(sequence: ov.Node, w_port: int, scale: float) -> bool:
    """W * ``scale``, then W's and R's FakeQuantize ranges set to the larger of the two per output channel."""
    w, r = _weight_quantizer(sequence, w_port), _weight_quantizer(sequence, w_port + 1)
    if w is None or r is None or w[0].get_levels() != r[0].get_levels():
        return False
    (w_fq, _, w_ranges), (r_fq, _, r_ranges) = w, r
    high = np.maximum(np.abs(w_ranges[3]) * scale, np.abs(r_ranges[3]))
    low = np.minimum(w_ranges[2] * scale, r_ranges[2])
    # W keeps its constant: its quantizer maps [low, high] / scale onto [low, high], so it outputs W * scale on R's
    # grid, and putting the layer back in FP32 (bypassing the quantizers, as accuracy-aware quantization does)
    # restores both W and X exactly.
    _set_inputs(w_fq, {1: low / scale, 2: high / scale, 3: low, 4: high})
    _set_inputs(r_fq, {1: low, 2: high, 3: low, 4: high})
    return True


def _bypass_cell_state_quantizer(sequence: ov.Node, port: int | None) -> bool:
    if port is None:
        return False
    found = quantizer_of(sequence.input(port))
    if found is None:
        return False
    target, fq = found
    target.replace_source_output(fq.input_value(0))
    return True


def _align(sequence: ov.Node, cell_port: int | None, w_port: int) -> RecurrentAlignment | None:
    cell_fp32 = _bypass_cell_state_quantizer(sequence, cell_port)
    x_found, h_found = quantizer_of(sequence.input(_X)), quantizer_of(sequence.input(_H))
    if x_found is None or h_found is None:
        return None
    (x_target, fx), (h_target, fh) = x_found, h_found
    x_ranges, h_ranges = _scalar_ranges(fx), _scalar_ranges(fh)
    if fh.input_value(0).get_node().get_type_name() == "Constant":
        logger.info("%s: its initial state H is a constant (NNCF quantized it as a weight); the plugin runs this "
                    "sequence in f32", sequence.get_friendly_name())
        return None
    if x_ranges is None or h_ranges is None or fx.get_levels() != fh.get_levels():
        logger.warning("%s: X/H quantizers are not per-tensor with equal levels; left as NNCF placed them",
                       sequence.get_friendly_name())
        return None
    x_out, h_out = (x_ranges[2], x_ranges[3]), (h_ranges[2], h_ranges[3])
    h_size, x_size = max(abs(h_out[0]), abs(h_out[1])), max(abs(x_out[0]), abs(x_out[1]))
    scale = (x_size / h_size) ** _BALANCE if h_size > 0 and x_size > 0 else 1.0
    if not _unify_weights(sequence, w_port, scale):
        logger.warning("%s: W and R are not FakeQuantize nodes on constants (compressed already?); left as they are",
                       sequence.get_friendly_name())
        return None
    unified = (min(x_out[0] / scale, h_out[0]), max(x_out[1] / scale, h_out[1]))
    new_x = _new_fake_quantize(fx.input_value(0), fx, (unified[0] * scale, unified[1] * scale, *unified))
    x_target.replace_source_output(new_x.output(0))  # this path only: fx keeps any other consumer
    new_h = _new_fake_quantize(fh.input_value(0), fh, (*unified, *unified))
    h_target.replace_source_output(new_h.output(0))
    return RecurrentAlignment(sequence.get_friendly_name(), scale, x_out, h_out, unified, cell_fp32)


def align_recurrent_quantizers(model: ov.Model) -> list[RecurrentAlignment]:
    """Rewrite ``model`` in place so that its quantized LSTM/GRU sequences run correctly in the CPU plugin's int8
    RNN (see the module docstring); returns what was changed, one entry per sequence. Needs weight FakeQuantize
    nodes (call it before compressing weights)."""
    changes = []
    for node in model.get_ordered_ops():
        if node.get_type_name() in _SEQUENCES:
            change = _align(node, *_SEQUENCES[node.get_type_name()])
            if change is not None:
                changes.append(change)
                logger.info("%s: X / %.4g and W * %.4g, X and H share the range [%.4g, %.4g]%s", change.layer,
                            change.scale, change.scale, *change.unified_range,
                            "; cell state kept FP32" if change.cell_state_fp32 else "")
    if changes:
        model.validate_nodes_and_infer_types()
    return changes
