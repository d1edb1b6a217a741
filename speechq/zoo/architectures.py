"""The DeepSpeech 0.8.2 graph as OpenVINO builds it, from numpy weights: the shipped small model's export and the
full-size random-weight model for speed measurements share this one builder.

Interface (Open Model Zoo's mozilla-deepspeech-0.8.2 IR): ``input_node`` [1, 16, 19, 26] f32,
``previous_state_c`` / ``previous_state_h`` [1, H]; outputs ``logits`` [16, 1, 29] (softmax probabilities,
time-major) and the new LSTM state ``...BlockLSTM/TensorIterator.2`` (c) and ``...TensorIterator.1`` (h).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import openvino as ov
from openvino import opset13 as ops

__all__ = [
    "DEEPSPEECH_STATE_C_OUTPUT",
    "DEEPSPEECH_STATE_H_OUTPUT",
    "DeepSpeechWeights",
    "deepspeech_graph",
    "random_deepspeech_weights",
]

DEEPSPEECH_STATE_H_OUTPUT = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.1"
DEEPSPEECH_STATE_C_OUTPUT = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.2"
_STEPS, _WINDOW, _CEPSTRA, _CLASSES = 16, 19, 26, 29


@dataclass(frozen=True)
class DeepSpeechWeights:
    """Dense weights as [in, out] with biases [out]; LSTM as OpenVINO's LSTMSequence wants it (gates f, i, c, o):
    ``lstm_w`` [1, 4H, H_in], ``lstm_r`` [1, 4H, H], ``lstm_b`` [1, 4H]."""

    dense: tuple[tuple[np.ndarray, np.ndarray], ...]  # layer_1, layer_2, layer_3, layer_5, layer_6
    lstm_w: np.ndarray
    lstm_r: np.ndarray
    lstm_b: np.ndarray

    @property
    def hidden(self) -> int:
        return int(self.lstm_r.shape[2])


def random_deepspeech_weights(hidden: int = 2048, seed: int = 0) -> DeepSpeechWeights:
    """Random weights of DeepSpeech's shape (``hidden`` = 2048 is DeepSpeech 0.8.2's size), for speed only."""
    rng = np.random.default_rng(seed)

    def dense(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
        return (rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out)).astype(np.float32),
                rng.normal(0, 0.01, n_out).astype(np.float32))

    sizes = [(_WINDOW * _CEPSTRA, hidden), (hidden, hidden), (hidden, hidden), (hidden, hidden), (hidden, _CLASSES)]
    scale = 1 / np.sqrt(hidden)
    return DeepSpeechWeights(
        dense=tuple(dense(a, b) for a, b in sizes),
        lstm_w=rng.normal(0, scale, (1, 4 * hidden, hidden)).astype(np.float32),
        lstm_r=rng.normal(0, scale, (1, 4 * hidden, hidden)).astype(np.float32),
        lstm_b=np.zeros((1, 4 * hidden), np.float32),
    )


def _dense(x: ov.Output, weight: np.ndarray, bias: np.ndarray, name: str, clip: bool) -> ov.Node:
    product = ops.matmul(x, ops.constant(weight), False, False)
    product.set_friendly_name(f"{name}/MatMul")
    y = ops.add(product, ops.constant(bias))
    y.set_friendly_name(f"{name}/BiasAdd")
    if clip:
        y = ops.clamp(y, 0.0, 20.0)
        y.set_friendly_name(f"{name}/clipped_relu")
    return y


def deepspeech_graph(weights: DeepSpeechWeights, name: str = "deepspeech") -> ov.Model:
    """One 16-step chunk of DeepSpeech: dense x3 (clipped ReLU 20) -> LSTMSequence -> dense (clipped) -> dense ->
    softmax, with the state in and out as explicit inputs and outputs."""
    h = weights.hidden
    x = ops.parameter([1, _STEPS, _WINDOW, _CEPSTRA], np.float32, name="input_node")
    c0 = ops.parameter([1, h], np.float32, name="previous_state_c")
    h0 = ops.parameter([1, h], np.float32, name="previous_state_h")
    for parameter in (x, c0, h0):
        parameter.output(0).get_tensor().set_names({parameter.get_friendly_name()})
    y = ops.reshape(x, ops.constant(np.array([_STEPS, _WINDOW * _CEPSTRA], np.int64)), False)
    for (weight, bias), layer in zip(weights.dense[:3], ("layer_1", "layer_2", "layer_3")):
        y = _dense(y.output(0), weight, bias, layer, clip=True)
    seq = ops.reshape(y, ops.constant(np.array([1, _STEPS, h], np.int64)), False)
    state_shape = ops.constant(np.array([1, 1, h], np.int64))
    lstm = ops.lstm_sequence(
        seq, ops.reshape(h0, state_shape, False), ops.reshape(c0, state_shape, False),
        ops.constant(np.array([_STEPS], np.int32)), ops.constant(weights.lstm_w), ops.constant(weights.lstm_r),
        ops.constant(weights.lstm_b), h, "forward",
    )
    lstm.set_friendly_name("cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/LSTMSequence")
    y = ops.reshape(lstm.output(0), ops.constant(np.array([_STEPS, h], np.int64)), False)
    y = _dense(y.output(0), *weights.dense[3], "layer_5", clip=True)
    y = _dense(y.output(0), *weights.dense[4], "layer_6", clip=False)
    probs = ops.reshape(ops.softmax(y, 1), ops.constant(np.array([_STEPS, 1, _CLASSES], np.int64)), False)
    results = []
    for value, output_name in ((probs.output(0), "logits"), (lstm.output(2), DEEPSPEECH_STATE_C_OUTPUT),
                               (lstm.output(1), DEEPSPEECH_STATE_H_OUTPUT)):
        if output_name != "logits":
            value = ops.reshape(value, ops.constant(np.array([1, h], np.int64)), False).output(0)
        value.get_node().set_friendly_name(output_name)
        result = ops.result(value)
        result.output(0).get_tensor().set_names({output_name})
        results.append(result)
    return ov.Model(results, [x, c0, h0], name)
