"""The DeepSpeech chunk as PyTorch and ONNX, with the weights of an OpenVINO IR of speechq's DeepSpeech graph.

``weights_of`` reads the weights back out of an IR built by ``speechq.zoo.architectures.deepspeech_graph`` (the
shipped small model, or the full-size random one) with speechq's ``deepspeech_weights_from_model``; ``DeepSpeechChunk`` is the same network as a ``torch.nn.Module``
with the same interface (``input_node`` [1, 16, 19, 26], ``previous_state_c`` / ``previous_state_h`` [1, H] ->
softmax probabilities [16, 1, 29], new c, new h), so PyTorch, ONNX Runtime and OpenVINO run one and the same model.
The layer names follow ``data_scripts/_train_deepspeech.py``'s ``DeepSpeechSmall``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import torch
from torch import nn

from speechq.zoo.architectures import DeepSpeechWeights, deepspeech_weights_from_model

RELU_CLIP = 20.0
DENSE_LAYERS = ("layer_1", "layer_2", "layer_3", "layer_5", "layer_6")
OUTPUT_NAMES = ("logits", "state_c", "state_h")


def weights_of(model: ov.Model) -> DeepSpeechWeights:
    """The weights of an FP32 DeepSpeech IR made by ``deepspeech_graph`` (speechq's reader)."""
    return deepspeech_weights_from_model(model)


class DeepSpeechChunk(nn.Module):
    """One 16-step chunk of DeepSpeech 0.8.2: dense x3 (clipped ReLU 20) -> LSTM -> dense (clipped) -> dense ->
    softmax, state in and out explicitly (as the IR)."""

    def __init__(self, hidden: int, input_size: int = 19 * 26, classes: int = 29) -> None:
        super().__init__()
        self.hidden = hidden
        self.layer_1 = nn.Linear(input_size, hidden)
        self.layer_2 = nn.Linear(hidden, hidden)
        self.layer_3 = nn.Linear(hidden, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.layer_5 = nn.Linear(hidden, hidden)
        self.layer_6 = nn.Linear(hidden, classes)

    def forward(self, input_node: torch.Tensor, previous_state_c: torch.Tensor,
                previous_state_h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        steps = input_node.shape[1]
        x = input_node.reshape(steps, -1)
        for layer in (self.layer_1, self.layer_2, self.layer_3):
            x = layer(x).clamp(0.0, RELU_CLIP)
        y, (h, c) = self.lstm(x.reshape(1, steps, self.hidden), (previous_state_h[None], previous_state_c[None]))
        y = self.layer_5(y.reshape(steps, self.hidden)).clamp(0.0, RELU_CLIP)
        probs = torch.softmax(self.layer_6(y), dim=-1)
        return probs.reshape(steps, 1, -1), c[0], h[0]


def torch_model(weights: DeepSpeechWeights) -> DeepSpeechChunk:
    """``DeepSpeechChunk`` holding ``weights`` (gates reordered from OpenVINO's f, i, c, o to PyTorch's i, f, g, o;
    the whole LSTM bias in ``bias_ih``), in eval mode."""
    h = weights.hidden
    module = DeepSpeechChunk(h, weights.dense[0][0].shape[0], weights.dense[-1][0].shape[1])
    order = np.concatenate([np.arange(h, 2 * h), np.arange(0, h), np.arange(2 * h, 4 * h)])
    state = {}
    for layer, (weight, bias) in zip(DENSE_LAYERS, weights.dense):
        state[f"{layer}.weight"] = torch.from_numpy(np.ascontiguousarray(weight.T))
        state[f"{layer}.bias"] = torch.from_numpy(bias.copy())
    state["lstm.weight_ih_l0"] = torch.from_numpy(weights.lstm_w[0][order].copy())
    state["lstm.weight_hh_l0"] = torch.from_numpy(weights.lstm_r[0][order].copy())
    state["lstm.bias_ih_l0"] = torch.from_numpy(weights.lstm_b[0][order].copy())
    state["lstm.bias_hh_l0"] = torch.zeros(4 * h)
    module.load_state_dict(state)
    return module.eval()


def dynamic_int8(module: DeepSpeechChunk) -> nn.Module:
    """PyTorch's dynamic INT8 quantization of the LSTM and Linear layers (int8 weights, activations quantized on
    the fly per batch), as PyTorch's LSTM tutorial does it."""
    import warnings

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao; it still runs
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(module, {nn.LSTM, nn.Linear}, dtype=torch.qint8)


def load_torch(path: Path, hidden: int, quantized: bool) -> nn.Module:
    """A module saved with ``torch.save(module.state_dict(), path)``; ``quantized``: after ``dynamic_int8``."""
    module: nn.Module = DeepSpeechChunk(hidden).eval()
    if quantized:
        module = dynamic_int8(module)  # type: ignore[arg-type]
    # packed int8 weights are TorchScript objects, which weights_only loading refuses (the file is our own)
    module.load_state_dict(torch.load(path, weights_only=not quantized))
    return module.eval()


def export_onnx(module: DeepSpeechChunk, path: Path, opset: int = 17) -> Path:
    """ONNX export with the IR's input names (TorchScript exporter, ``dynamo=False``: it needs no onnxscript and
    exports ``nn.LSTM`` as one ONNX ``LSTM`` node)."""
    h = module.hidden
    example = (torch.zeros(1, 16, 19, 26), torch.zeros(1, h), torch.zeros(1, h))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example, str(path), input_names=["input_node", "previous_state_c", "previous_state_h"],
                          output_names=list(OUTPUT_NAMES), opset_version=opset, dynamo=False)
    return path
