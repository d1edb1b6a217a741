"""Wav2Vec2ForCTC as PyTorch and ONNX, with the weights of an OpenVINO IR converted from Hugging Face's model.

``weights_of`` reads the parameters back out of an IR made by ``openvino.convert_model`` of a ``Wav2Vec2ForCTC``
(the shipped ``speechq/zoo/wav2vec2_small/model.xml``, or the speed model this benchmark converts): the PyTorch
front end keeps each parameter's path in the name of its constant (``self.model.wav2vec2.encoder.layers.0.attention
.q_proj.weight``); the constants it folded (biases, layer-norm scales reshaped to ``[1, 1, C]``, the positional
convolution after weight normalisation) have lost their names, and are found through the operation that reads them
(``__module.model.wav2vec2.encoder.layers.0.attention.q_proj/aten::linear/Add`` -> ``....q_proj.bias``).
``torch_model`` builds the module from the Hugging Face config and loads them; ``check_logits`` runs both on the
same audio and raises unless they agree (the benchmark calls it for every model it rebuilds).

Interface (as the IR): ``input_values`` [1, N] float32 (16 kHz, normalised) -> ``logits`` [1, T, V] float32.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import torch
from torch import nn

SAMPLE_RATE_HZ = 16_000
CHECK_SECONDS = 2.0  # audio of the logits check
CHECK_TOLERANCE = 1e-4  # largest |torch - OpenVINO f32| over the logits, relative to max(1, max |logits|)
UNUSED_AT_INFERENCE = ("masked_spec_embed",)  # SpecAugment's mask vector: training only, absent from the IR
# (consumer operation type, end of its name) -> which parameter of the module in the name the constant is
_FOLDED = ((("Add",), re.compile(r"/aten::linear/Add(_\d+)?$"), "bias"),
           (("Multiply",), re.compile(r"/aten::layer_norm/Multiply(_\d+)?$"), "weight"),
           (("Add",), re.compile(r"/aten::layer_norm/Add(_\d+)?$"), "bias"),
           (("GroupConvolution", "Convolution"), re.compile(r"/aten::_convolution/(Group)?Convolution$"), "weight"),
           (("Add",), re.compile(r"/aten::_convolution/Add$"), "bias"))


class WeightsMismatch(RuntimeError):
    """The IR's constants do not give a ``Wav2Vec2ForCTC`` that computes what the IR computes."""


class LogitsOnly(nn.Module):
    """``Wav2Vec2ForCTC`` with one tensor in (``input_values`` [1, N]) and one out (``logits`` [1, T, V]), as the
    shipped IR was converted (``data_scripts/_train_wav2vec2.py``): its parameter paths start with ``model.``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return self.model(input_values).logits


def read_config(path: Path) -> Any:
    """A Hugging Face ``Wav2Vec2Config`` from its ``config.json``."""
    from transformers import Wav2Vec2Config

    return Wav2Vec2Config.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def build(config: Any) -> nn.Module:
    """A ``Wav2Vec2ForCTC`` of ``config`` in eval mode, its positional convolution's weight normalisation removed
    (the IR holds the normalised weight; one plain ``weight`` parameter loads it). Weights are random until loaded."""
    from transformers import Wav2Vec2ForCTC

    model = Wav2Vec2ForCTC(config).eval()
    conv = model.wav2vec2.encoder.pos_conv_embed.conv
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if hasattr(conv, "parametrizations"):
            torch.nn.utils.parametrize.remove_parametrizations(conv, "weight")
        elif hasattr(conv, "weight_g"):
            torch.nn.utils.remove_weight_norm(conv)
    return model


def weights_of(model: ov.Model, module: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of ``module`` (``build``'s) read from ``model``'s constants, by name (named constants) or by
    the operation that reads them (folded ones); shapes follow the module.

    Raises:
        WeightsMismatch: a parameter is missing, found twice, or has the wrong number of values.
    """
    wanted = {k: v for k, v in module.state_dict().items() if not k.endswith(UNUSED_AT_INFERENCE)}
    found: dict[str, torch.Tensor] = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Constant" or op.get_output_element_type(0) != ov.Type.f32:
            continue
        key = _parameter_of(op, wanted)
        if key is None:
            continue
        value = op.get_data()
        if value.size != wanted[key].numel():
            raise WeightsMismatch(f"{op.get_friendly_name()} -> {key}: {value.size} values, the module has "
                                  f"{wanted[key].numel()} ({tuple(wanted[key].shape)})")
        if key in found:
            raise WeightsMismatch(f"{key}: two constants of the IR map to it (the second: {op.get_friendly_name()})")
        found[key] = torch.from_numpy(np.array(value, np.float32).reshape(tuple(wanted[key].shape)))
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise WeightsMismatch(f"no constant of the IR holds {missing[:8]}{' ...' if len(missing) > 8 else ''}")
    state = module.state_dict()
    state.update(found)
    return state


def _parameter_of(op: Any, wanted: dict[str, torch.Tensor]) -> str | None:
    """The state-dict key a constant holds: its own name (``self.model.<path>``), or the module path in the name of
    the operation reading it plus ``weight`` / ``bias`` by that operation's kind; None for other constants."""
    name = op.get_friendly_name()
    if name.startswith("self."):
        return _match(name[len("self."):], wanted)
    consumers = [target.get_node() for target in op.output(0).get_target_inputs()]
    if len(consumers) != 1:
        return None
    consumer = consumers[0]
    reader = consumer.get_friendly_name()
    if not reader.startswith("__module."):
        return None
    for types, pattern, parameter in _FOLDED:
        if consumer.get_type_name() in types and pattern.search(reader):
            path = reader[len("__module."):].split("/", 1)[0]
            return _match(f"{path}.{parameter}", wanted)
    return None


def _match(path: str, wanted: dict[str, torch.Tensor]) -> str | None:
    """The key of ``wanted`` that ``path`` names, allowing for a wrapper's prefix (``model.`` of ``LogitsOnly``)."""
    if path in wanted:
        return path
    hits = [key for key in wanted if path.endswith("." + key)]
    return hits[0] if len(hits) == 1 else None


def torch_model(model: ov.Model, config: Any) -> nn.Module:
    """``Wav2Vec2ForCTC`` of ``config`` holding ``model``'s weights, checked against ``model`` (``check_logits``)."""
    module = build(config)
    module.load_state_dict(weights_of(model, module))
    check_logits(module, model)
    return module


def check_logits(module: nn.Module, model: ov.Model, seconds: float = CHECK_SECONDS) -> float:
    """Largest |PyTorch - OpenVINO (f32)| over the logits of the same ``seconds`` of random audio (seed 0), relative to
    max(1, max |logits|).

    Raises:
        WeightsMismatch: above ``CHECK_TOLERANCE``.
    """
    audio = np.random.default_rng(0).normal(0.0, 1.0, (1, int(seconds * SAMPLE_RATE_HZ))).astype(np.float32)
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    reference = compiled({compiled.inputs[0]: audio})[compiled.outputs[0]]
    with torch.inference_mode():
        logits = module(torch.from_numpy(audio)).logits.numpy()
    if logits.shape != reference.shape:
        raise WeightsMismatch(f"PyTorch gives logits {logits.shape}, the IR {reference.shape}")
    error = float(np.abs(logits - reference).max() / max(1.0, float(np.abs(reference).max())))
    if not error <= CHECK_TOLERANCE:
        raise WeightsMismatch(f"the rebuilt Wav2Vec2ForCTC differs from the IR by {error:.2e} (relative, largest over "
                              f"the logits of {seconds:g} s of audio; tolerance {CHECK_TOLERANCE:g}): the weights were "
                              "not read correctly")
    return error


def dynamic_int8(module: nn.Module) -> nn.Module:
    """PyTorch's dynamic INT8 quantization of the Linear layers (int8 weights, activations quantized on the fly), as
    PyTorch's BERT tutorial does it for transformers."""
    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao; it still runs
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8)


def save(module: nn.Module, config: Any, path: Path) -> Path:
    """``path`` (state dict) and ``path.with_suffix('.config.json')`` (the config ``load`` rebuilds it from)."""
    torch.save(module.state_dict(), path)
    Path(path).with_suffix(".config.json").write_text(config.to_json_string(), encoding="utf-8")
    return Path(path)


def load(path: Path, quantized: bool) -> nn.Module:
    """A module written by ``save`` (``quantized``: after ``dynamic_int8``)."""
    module = build(read_config(Path(path).with_suffix(".config.json")))
    if quantized:
        module = dynamic_int8(module)
    # packed int8 weights are TorchScript objects, which weights_only loading refuses (the file is our own)
    module.load_state_dict(torch.load(path, weights_only=not quantized))
    return module.eval()


def export_onnx(module: nn.Module, path: Path, opset: int = 17) -> Path:
    """ONNX export with the IR's interface (``input_values`` [1, N] -> ``logits`` [1, T, V], N dynamic), TorchScript
    exporter (``dynamo=False``: no onnxscript needed)."""
    example = torch.zeros(1, SAMPLE_RATE_HZ)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(LogitsOnly(module), (example,), str(path), input_names=["input_values"],
                          output_names=["logits"], opset_version=opset, dynamo=False,
                          dynamic_axes={"input_values": {1: "samples"}, "logits": {1: "frames"}})
    return Path(path)


def convert(module: nn.Module, name: str) -> ov.Model:
    """``openvino.convert_model`` of ``module`` as the shipped model was converted (``LogitsOnly`` wrapper, input
    ``input_values`` [1, ?], output ``logits``)."""
    with torch.no_grad():
        model = ov.convert_model(LogitsOnly(module), example_input=torch.zeros(1, SAMPLE_RATE_HZ),
                                 input=[ov.PartialShape([1, -1])])
    model.inputs[0].get_tensor().set_names({"input_values"})
    model.outputs[0].get_tensor().set_names({"logits"})
    model.set_friendly_name(name)
    return model
