"""Builders of tiny real OpenVINO models, in-memory loaders and simple metrics shared by the tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import openvino as ov
from openvino import opset13 as ops

import speechq as sq

LIBRISPEECH_MINI = Path(__file__).resolve().parents[1].parent / "shared" / "librispeech-mini"
SHIPPED_UTTERANCES = Path(__file__).resolve().parents[1] / "speechq" / "zoo" / "data" / "synthetic-test"
CORPUS_SCRIPT = Path(__file__).resolve().parents[1] / "data_scripts" / "make_synthetic_corpus.py"


def load_script(path: Path, name: str | None = None) -> ModuleType:
    """A script that is no package module (``recipes/``, ``data_scripts/``, ``bench/``) imported from its file and
    registered in ``sys.modules`` as ``name`` (default: unique to the path), so its dataclasses resolve."""
    name = name or f"script_{path.parent.name}_{path.stem}_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def assert_reverts_most_harmful_first(report: dict[str, Any], max_drop: float, most: int = 2) -> None:
    """A ``speechq quantize -a accuracy-aware --json`` report where DefaultQuantization lost more than ``max_drop``
    (the setting such a test needs) and accuracy-aware quantization got back within it by reverting between one and
    ``most`` layers, starting with the top of its sensitivity ranking (the lowest WER with that layer alone in FP32;
    layers that tie there are equally harmful: the search takes the first of them in its own candidate order, which
    the report's table need not share)."""
    aaq = report["accuracy_aware"]
    assert aaq["default_quantized"] - aaq["baseline"] > max_drop, aaq
    assert aaq["reached"] and report["int8"]["metrics"]["wer"] - report["fp32"]["metrics"]["wer"] <= max_drop
    assert 1 <= len(aaq["reverted_layers"]) <= most, aaq["reverted_layers"]
    assert aaq["sensitivity"][aaq["reverted_layers"][0]] == min(aaq["sensitivity"].values()), aaq["sensitivity"]


def build_mlp(seed: int = 0, inputs: int = 64, hidden: int = 64, classes: int = 10) -> ov.Model:
    """x [1, inputs] -> fc1 -> ReLU -> fc2 -> logits [1, classes], float32 weights."""
    rng = np.random.default_rng(seed)
    x = ops.parameter([1, inputs], np.float32, name="x")
    fc1 = ops.matmul(x, ops.constant((rng.normal(size=(inputs, hidden)) / 8).astype(np.float32)), False, False)
    fc1.set_friendly_name("fc1")
    relu = ops.relu(fc1)
    relu.set_friendly_name("relu")
    fc2 = ops.matmul(relu, ops.constant((rng.normal(size=(hidden, classes)) / 8).astype(np.float32)), False, False)
    fc2.set_friendly_name("fc2")
    result = ops.result(fc2)
    result.output(0).get_tensor().set_names({"logits"})
    return ov.Model([result], [x], "tiny_mlp")


class ArrayLoader(sq.DataLoader):
    """Items ``(x[i], labels[i])`` of in-memory arrays."""

    def __init__(self, x: np.ndarray, labels: list[Any]) -> None:
        super().__init__()
        self._x, self._labels = x, labels

    def __len__(self) -> int:
        return len(self._x)

    def __getitem__(self, index: int) -> tuple[np.ndarray, Any]:
        if index >= len(self):
            raise IndexError(index)
        return self._x[index], self._labels[index]


class Accuracy(sq.Metric):
    """Top-1 accuracy (higher-better), or its error rate (higher-worse) with ``as_error``."""

    def __init__(self, as_error: bool = False) -> None:
        self.as_error = as_error
        self.name = "error" if as_error else "accuracy"
        super().__init__()

    def reset(self) -> None:
        self._all: list[float] = []
        self._last: list[float] = []

    @property
    def value(self) -> dict[str, list[float]]:
        return {self.name: self._last}

    @property
    def avg_value(self) -> dict[str, float]:
        return {self.name: float(np.mean(self._all))}

    def update(self, output: Any, target: Any) -> None:
        predicted = np.argmax(output[0], axis=-1).ravel()
        hits = [float(p == t) for p, t in zip(predicted, target)]
        self._last = [1.0 - h for h in hits] if self.as_error else hits
        self._all += self._last

    def get_attributes(self) -> dict[str, dict[str, str]]:
        direction = "higher-worse" if self.as_error else "higher-better"
        return {self.name: {"direction": direction, "type": self.name}}


OMZ_STATE_H = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.1"
OMZ_STATE_C = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.2"


def build_tiny_deepspeech(
    steps: int = 16, hidden: int = 8, seed: int = 0, state_names: tuple[str, str] = ("previous_state_c", "previous_state_h"),
    symbols: int = 29,
) -> ov.Model:
    """A DeepSpeech-shaped model with OMZ's interface: ``input_node`` [1, steps, 19, 26], ``previous_state_c/h``
    [1, hidden] -> ``logits`` [steps, 1, symbols] (softmax; DeepSpeech has 29) and the new c/h states; one dense
    layer, one LSTMSequence."""
    rng = np.random.default_rng(seed)
    c_name, h_name = state_names
    x = ops.parameter([1, steps, 19, 26], np.float32, name="input_node")
    c0 = ops.parameter([1, hidden], np.float32, name=c_name)
    h0 = ops.parameter([1, hidden], np.float32, name=h_name)
    flat = ops.reshape(x, ops.constant(np.array([steps, 494], np.int64)), False)
    dense = ops.matmul(flat, ops.constant((rng.normal(size=(494, hidden)) / 10).astype(np.float32)), False, False)
    dense.set_friendly_name("dense1")
    act = ops.clamp(ops.add(dense, ops.constant(rng.normal(size=hidden).astype(np.float32) / 10)), 0.0, 20.0)
    seq = ops.reshape(act, ops.constant(np.array([1, steps, hidden], np.int64)), False)
    state_shape = ops.constant(np.array([1, 1, hidden], np.int64))
    lstm = ops.lstm_sequence(
        seq, ops.reshape(h0, state_shape, False), ops.reshape(c0, state_shape, False),
        ops.constant(np.array([steps], np.int32)),
        ops.constant((rng.normal(size=(1, 4 * hidden, hidden)) / 3).astype(np.float32)),
        ops.constant((rng.normal(size=(1, 4 * hidden, hidden)) / 3).astype(np.float32)),
        ops.constant((rng.normal(size=(1, 4 * hidden)) / 3).astype(np.float32)),
        hidden, "forward",
    )
    lstm.set_friendly_name("lstm")
    y = ops.reshape(lstm.output(0), ops.constant(np.array([steps, hidden], np.int64)), False)
    out = ops.matmul(y, ops.constant(rng.normal(size=(hidden, symbols)).astype(np.float32)), False, False)
    out.set_friendly_name("dense_out")
    probs = ops.reshape(ops.softmax(out, 1), ops.constant(np.array([steps, 1, symbols], np.int64)), False)
    results = []
    for value, name in ((probs.output(0), "logits"), (lstm.output(1), OMZ_STATE_H), (lstm.output(2), OMZ_STATE_C)):
        if name != "logits":
            value = ops.reshape(value, ops.constant(np.array([1, hidden], np.int64)), False).output(0)
        result = ops.result(value)
        result.output(0).get_tensor().set_names({name})
        results.append(result)
    return ov.Model(results, [x, c0, h0], "tiny_deepspeech")


class MeanOutput(sq.Metric):
    """Per-sample mean and max of the first output (higher-better): a metric that sees every output value."""

    def reset(self) -> None:
        self._all: list[float] = []
        self._last: list[float] = []

    @property
    def value(self) -> dict[str, list[float]]:
        return {"mean": self._last}

    @property
    def avg_value(self) -> dict[str, float]:
        return {"mean": float(np.mean(self._all))}

    def update(self, output: Any, target: Any) -> None:
        self._last = [float(np.mean(output[0]))]
        self._all += self._last

    def get_attributes(self) -> dict[str, dict[str, str]]:
        return {"mean": {"direction": "higher-better", "type": "mean"}}


def first_outputs(engine: Any, loader: sq.DataLoader) -> list[np.ndarray]:
    """The first output ``engine.predict()`` gives for each item of ``loader``, in order (a metric keeps them)."""
    caught: list[np.ndarray] = []

    class Keep(MeanOutput):
        def update(self, output: Any, target: Any) -> None:
            caught.append(output[0])
            super().update(output, target)

    engine.set_metric(Keep())
    engine.set_data_loader(loader)
    engine.predict()
    return caught


def build_tiny_conv_ctc(vocabulary: int = 12, seed: int = 0) -> ov.Model:
    """A Wav2Vec2-like whole-utterance model: waveform ``input_values`` [1, N] (dynamic N) -> conv (kernel 400,
    stride 320) -> ReLU -> 1x1 conv -> ``logits`` [1, frames, vocabulary] log-probabilities."""
    rng = np.random.default_rng(seed)
    audio = ops.parameter([1, -1], np.float32, name="input_values")
    x = ops.unsqueeze(audio, ops.constant(np.array([1], np.int64)))
    conv = ops.convolution(x, ops.constant((rng.normal(size=(16, 1, 400)) / 20).astype(np.float32)), [320], [0], [0], [1])
    conv.set_friendly_name("feature_conv")
    hidden = ops.relu(conv)
    head = ops.convolution(hidden, ops.constant(rng.normal(size=(vocabulary, 16, 1)).astype(np.float32)), [1], [0], [0], [1])
    head.set_friendly_name("head")
    frames_last = ops.transpose(head, ops.constant(np.array([0, 2, 1], np.int64)))
    log_probs = ops.log_softmax(frames_last, 2)
    result = ops.result(log_probs)
    result.output(0).get_tensor().set_names({"logits"})
    return ov.Model([result], [audio], "tiny_conv_ctc")


def _i64(*values: int) -> ov.Node:
    return ops.constant(np.array(values, np.int64))


def build_log_mel_ctc(vocabulary: int = 12, mels: int = 40, channels: int = 64, seed: int = 0,
                      lengths_input: bool = False, normalise: bool = True) -> ov.Model:
    """A conv CTC model that computes its own log-mel: ``audio`` [1, N] (dynamic N) -> :func:`log_mel_graph` ->
    conv1d (kernel 5, ``channels``, ReLU) -> conv1d (kernel 3, ReLU) -> 1x1 conv -> ``logits`` [1, T, vocabulary]
    log-probabilities. With ``lengths_input``, also ``length`` [1] int64 (samples), whose frame count
    ``1 + (length - 400) // 160`` comes out as ``logits_length`` [1] int64."""
    rng = np.random.default_rng(seed)
    audio = ops.parameter([1, -1], np.float32, name="audio")
    audio.output(0).get_tensor().set_names({"audio"})
    from speechq.zoo.architectures import log_mel_graph

    x = ops.transpose(log_mel_graph(audio.output(0), mels, normalise=normalise), _i64(0, 2, 1))  # [1, mels, T]
    for index, (kernel, inputs) in enumerate(((5, mels), (3, channels))):
        weight = (rng.normal(size=(channels, inputs, kernel)) / np.sqrt(inputs * kernel)).astype(np.float32)
        conv = ops.convolution(x, ops.constant(weight), [1], [kernel // 2], [kernel // 2], [1])
        conv.set_friendly_name(f"conv{index + 1}")
        bias = ops.constant(rng.normal(0, 0.1, size=(1, channels, 1)).astype(np.float32))
        x = ops.relu(ops.add(conv, bias))
    head = ops.convolution(x, ops.constant((rng.normal(size=(vocabulary, channels, 1)) / np.sqrt(channels)).astype(np.float32)),
                           [1], [0], [0], [1])
    head.set_friendly_name("head")
    log_probs = ops.log_softmax(ops.transpose(head, _i64(0, 2, 1)), 2)
    result = ops.result(log_probs)
    result.output(0).get_tensor().set_names({"logits"})
    results, parameters = [result], [audio]
    if lengths_input:
        length = ops.parameter([1], np.int64, name="length")
        length.output(0).get_tensor().set_names({"length"})
        frames = ops.add(ops.divide(ops.subtract(length, _i64(400)), _i64(160)), _i64(1))
        frames_result = ops.result(frames)
        frames_result.output(0).get_tensor().set_names({"logits_length"})
        results.append(frames_result)
        parameters.append(length)
    return ov.Model(results, parameters, "log_mel_ctc")


def build_features_ctc(vocabulary: int = 29, mels: int = 40, layout: str = "TF", seed: int = 0,
                       time_major: bool = False) -> ov.Model:
    """A CTC model on precomputed features: ``features`` [1, T, mels] (``TF``) or [1, mels, T] (``FT``), T dynamic
    -> conv1d (kernel 3, 32 channels, ReLU) -> 1x1 conv -> ``logits`` [1, T, vocabulary] softmax probabilities, or
    [T, 1, vocabulary] with ``time_major``."""
    rng = np.random.default_rng(seed)
    shape = [1, -1, mels] if layout == "TF" else [1, mels, -1]
    features = ops.parameter(shape, np.float32, name="features")
    features.output(0).get_tensor().set_names({"features"})
    x = ops.transpose(features, _i64(0, 2, 1)) if layout == "TF" else features
    hidden = ops.relu(ops.convolution(x, ops.constant((rng.normal(size=(32, mels, 3)) / 8).astype(np.float32)),
                                      [1], [1], [1], [1]))
    scores = ops.convolution(hidden, ops.constant(rng.normal(size=(vocabulary, 32, 1)).astype(np.float32)), [1], [0], [0], [1])
    probs = ops.softmax(ops.transpose(scores, _i64(2, 0, 1) if time_major else _i64(0, 2, 1)), 2)
    result = ops.result(probs)
    result.output(0).get_tensor().set_names({"logits"})
    return ov.Model([result], [features], "features_ctc")
