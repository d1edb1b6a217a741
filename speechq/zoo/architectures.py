"""The DeepSpeech 0.8.2 graph as OpenVINO builds it, from numpy weights: the shipped small model's export and the
full-size random-weight model for speed measurements share this one builder.

Interface (Open Model Zoo's mozilla-deepspeech-0.8.2 IR): ``input_node`` [1, 16, 19, 26] f32,
``previous_state_c`` / ``previous_state_h`` [1, H]; outputs ``logits`` [16, 1, 29] (softmax probabilities,
time-major) and the new LSTM state ``...BlockLSTM/TensorIterator.2`` (c) and ``...TensorIterator.1`` (h).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
import openvino as ov
from openvino import opset13 as ops
from openvino import opset15

__all__ = [
    "DEEPSPEECH_STATE_C_OUTPUT",
    "DEEPSPEECH_STATE_H_OUTPUT",
    "DeepSpeechWeights",
    "deepspeech_graph",
    "deepspeech_mfcc_graph",
    "deepspeech_waveform_graph",
    "deepspeech_weights_from_model",
    "log_mel_graph",
    "power_spectrum_graph",
    "random_deepspeech_weights",
]

DEEPSPEECH_STATE_H_OUTPUT = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.1"
DEEPSPEECH_STATE_C_OUTPUT = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.2"
_STEPS, _WINDOW, _CEPSTRA, _CLASSES = 16, 19, 26, 29


@dataclass(frozen=True)
class DeepSpeechWeights:
    """Dense weights as [in, out] with biases [out]; LSTM as OpenVINO's LSTMSequence wants it (gates f, i, c, o):
    ``lstm_w`` [1, 4H, H_in], ``lstm_r`` [1, 4H, H], ``lstm_b`` [1, 4H]."""

    dense: tuple[tuple[NDArray[np.float32], NDArray[np.float32]], ...]  # layer_1, layer_2, layer_3, layer_5, layer_6
    lstm_w: NDArray[np.float32]
    lstm_r: NDArray[np.float32]
    lstm_b: NDArray[np.float32]

    @property
    def hidden(self) -> int:
        return int(self.lstm_r.shape[2])


def random_deepspeech_weights(hidden: int = 2048, seed: int = 0) -> DeepSpeechWeights:
    """Random weights of DeepSpeech's shape (``hidden`` = 2048 is DeepSpeech 0.8.2's size), for speed only."""
    rng = np.random.default_rng(seed)

    def dense(n_in: int, n_out: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
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


def _dense(x: ov.Output, weight: NDArray[np.float32], bias: NDArray[np.float32], name: str, clip: bool) -> ov.Node:
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


def deepspeech_weights_from_model(model: ov.Model) -> DeepSpeechWeights:
    """The weights of a model built by :func:`deepspeech_graph` (such as the shipped one), read from its constants.

    Raises:
        ModelError: a layer of DeepSpeech's graph is missing or its weights are not constants.
    """
    from speechq.errors import ModelError

    ops_by_name = {op.get_friendly_name(): op for op in model.get_ordered_ops()}

    def constant(layer: str, port: int) -> NDArray[np.float32]:
        node = ops_by_name.get(layer)
        source = None if node is None else node.input_value(port).get_node()
        if source is None or source.get_type_name() != "Constant":
            raise ModelError(f"model {model.get_friendly_name()!r}: no constant input {port} on {layer!r}; "
                             "not a graph of deepspeech_graph()")
        return np.asarray(source.get_data(), np.float32)

    dense = tuple((constant(f"{layer}/MatMul", 1), constant(f"{layer}/BiasAdd", 1))
                  for layer in ("layer_1", "layer_2", "layer_3", "layer_5", "layer_6"))
    lstm = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/LSTMSequence"
    return DeepSpeechWeights(dense, constant(lstm, 4), constant(lstm, 5), constant(lstm, 6))


def _i64(*values: int) -> ov.Node:
    return ops.constant(np.array(values, np.int64))


def _scalar(value: int) -> ov.Node:
    return ops.constant(np.array(value, np.int64))


def power_spectrum_graph(audio: ov.Output, window_samples: int, hop_samples: int, window: NDArray[Any]) -> ov.Output:
    """``[1, N]`` waveform -> ``[1, T, window_samples // 2 + 1]`` power spectra ``|rfft(frame * window)|^2`` of the
    ``T = (N - window_samples) // hop_samples + 1`` whole frames (framed with Gather, transformed with RDFT: the
    CPU plugin's STFT operation is a slow reference implementation)."""
    samples = ops.gather(ops.shape_of(audio), _scalar(1), _scalar(0))
    frames = ops.add(ops.divide(ops.subtract(samples, _scalar(window_samples)), _scalar(hop_samples)), _scalar(1))
    starts = ops.multiply(ops.range(_scalar(0), frames, _scalar(1), "i64"), _scalar(hop_samples))
    indices = ops.add(ops.unsqueeze(starts, _i64(1)), ops.constant(np.arange(window_samples, dtype=np.int64)[np.newaxis]))
    framed = ops.gather(audio, indices, _scalar(1))  # [1, T, window]
    windowed = ops.multiply(framed, ops.constant(np.asarray(window, np.float32)))
    spectrum = opset15.rdft(windowed, _i64(-1))  # [1, T, bins, 2]
    return ops.reduce_sum(ops.multiply(spectrum, spectrum), _i64(-1), False).output(0)


def log_mel_graph(audio: ov.Output, mels: int = 80, window_samples: int = 400, hop_samples: int = 160,
                  normalise: bool = True) -> ov.Output:
    """``[1, N]`` 16 kHz waveform -> ``[1, T, mels]`` log-mel features computed in the graph, as NeMo- or
    ESPnet-style front ends do: Hann-windowed power spectra (:func:`power_spectrum_graph`), librosa's Slaney mel
    filterbank, ``log(energy + 1e-6)``, and with ``normalise`` each band's mean and variance over the utterance
    subtracted and divided out."""
    import librosa

    power = power_spectrum_graph(audio, window_samples, hop_samples, np.hanning(window_samples))
    filterbank = librosa.filters.mel(sr=16000, n_fft=window_samples, n_mels=mels).T.astype(np.float32)
    energies = ops.matmul(power, ops.constant(filterbank), False, False)
    energies.set_friendly_name("front_end/mel_filterbank")
    features = ops.log(ops.add(energies, ops.constant(np.array(1e-6, np.float32))))
    features.set_friendly_name("front_end/log")
    if normalise:
        mean = ops.reduce_mean(features, _i64(1), True)
        centred = ops.subtract(features, mean)
        variance = ops.reduce_mean(ops.multiply(centred, centred), _i64(1), True)
        features = ops.divide(centred, ops.sqrt(ops.add(variance, ops.constant(np.array(1e-5, np.float32)))))
        features.set_friendly_name("front_end/normalised")
    return features.output(0)


def deepspeech_mfcc_graph(audio: ov.Output) -> ov.Output:
    """DeepSpeech's MFCC computed in the graph, as :func:`speechq.features.deepspeech_mfcc` computes it (pad_end):
    ``[1, N]`` waveform -> 512-sample Hann windows every 320 -> power -> magnitude -> 40 mel energies -> log (floor
    1e-12) -> 26 cepstra ``[T, 26]``, ``T = ceil(N / 320)``."""
    from speechq.constants import DEEPSPEECH_STEP_SAMPLES as step
    from speechq.constants import DEEPSPEECH_WINDOW_SAMPLES as window
    from speechq.features import deepspeech_dct_matrix, deepspeech_mel_matrix

    padded = ops.pad(audio, _i64(0, 0), _i64(0, window), "constant")
    power = power_spectrum_graph(padded.output(0), window, step, np.hanning(window))  # floor(N / step) + 1 frames
    samples = ops.gather(ops.shape_of(audio), _i64(1), _i64(0))
    steps = ops.divide(ops.add(samples, _i64(step - 1)), _i64(step))  # ceil(N / step), integer division
    power = ops.slice(power, _i64(0), steps, _i64(1), _i64(1))
    energies = ops.matmul(ops.sqrt(power), ops.constant(deepspeech_mel_matrix().astype(np.float32)), False, False)
    energies.set_friendly_name("front_end/mel_filterbank")
    log = ops.log(ops.maximum(energies, ops.constant(np.array(1e-12, np.float32))))
    log.set_friendly_name("front_end/log")
    cepstra = ops.matmul(log, ops.constant(deepspeech_dct_matrix().astype(np.float32)), False, False)
    cepstra.set_friendly_name("front_end/dct")
    return ops.squeeze(cepstra, _i64(0)).output(0)


def _context_windows_graph(features: ov.Output, context: int) -> ov.Output:
    """``[T, C]`` -> ``[T, 2 * context + 1, C]`` with zeros beyond the utterance (:func:`speechq.features.context_windows`)."""
    padded = ops.pad(features, _i64(context, 0), _i64(context, 0), "constant")
    steps = ops.gather(ops.shape_of(features), _scalar(0), _scalar(0))  # T
    starts = ops.unsqueeze(ops.range(_scalar(0), steps, _scalar(1), "i64"), _i64(1))
    offsets = ops.constant(np.arange(2 * context + 1, dtype=np.int64)[np.newaxis])
    return ops.gather(padded, ops.add(starts, offsets), _i64(0).output(0)).output(0)


def deepspeech_waveform_graph(weights: DeepSpeechWeights, name: str = "deepspeech_waveform") -> ov.Model:
    """DeepSpeech on a whole utterance from its raw waveform: ``audio`` [1, N] f32 (16 kHz, in [-1, 1]) -> in-graph
    MFCC with 9 frames of context (:func:`deepspeech_mfcc_graph`) -> dense x3 -> LSTMSequence over all T steps (zero
    initial state) -> dense x2 -> ``logits`` [T, 1, 29] softmax probabilities, time-major as DeepSpeech's.

    With the shipped model's weights (:func:`deepspeech_weights_from_model`) it transcribes as the streaming model
    does: a model that computes its own spectrogram, to test what INT8 does to an in-graph front end."""
    h = weights.hidden
    audio = ops.parameter([1, -1], np.float32, name="audio")
    audio.output(0).get_tensor().set_names({"audio"})
    windows = _context_windows_graph(deepspeech_mfcc_graph(audio.output(0)), 9)
    y = ops.reshape(windows, _i64(-1, _WINDOW * _CEPSTRA), False)
    for (weight, bias), layer in zip(weights.dense[:3], ("layer_1", "layer_2", "layer_3")):
        y = _dense(y.output(0), weight, bias, layer, clip=True)
    steps = ops.gather(ops.shape_of(y), _i64(0), _i64(0))
    zeros = ops.constant(np.zeros((1, 1, h), np.float32))
    lstm = ops.lstm_sequence(
        ops.unsqueeze(y, _i64(0)), zeros, zeros, ops.convert(steps, "i32"), ops.constant(weights.lstm_w),
        ops.constant(weights.lstm_r), ops.constant(weights.lstm_b), h, "forward",
    )
    lstm.set_friendly_name("lstm")
    y = ops.reshape(lstm.output(0), _i64(-1, h), False)
    y = _dense(y.output(0), *weights.dense[3], "layer_5", clip=True)
    y = _dense(y.output(0), *weights.dense[4], "layer_6", clip=False)
    probs = ops.reshape(ops.softmax(y, 1), _i64(-1, 1, _CLASSES), False)
    result = ops.result(probs)
    result.output(0).get_tensor().set_names({"logits"})
    return ov.Model([result], [audio], name)
