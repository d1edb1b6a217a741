"""Quantized MatMuls as 1x1 convolutions (speechq.algorithms.matmul_layout): the same quantized values on another
kernel, and the int8 convolution runs where the CPU would otherwise run its int8 FullyConnected."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops
from speechq_testing import ArrayLoader

import speechq as sq
from speechq.algorithms.matmul_layout import matmuls_as_convolutions, wants_matmul_as_convolution
from speechq.engines import runtime_layers
from speechq.errors import ConfigError
from speechq.model import get_core

STEPS, WIDTH, HIDDEN = 40, 48, 96
F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def feed_forward() -> ov.Model:
    """LayerNorm-free transformer feed-forward block: x -> dense+bias -> GELU -> dense+bias, plus a second dense
    reading x (shares the first's input transpose), [1, T, 48] f32."""
    rng = np.random.default_rng(0)
    x = ops.parameter([1, -1, WIDTH], ov.Type.f32, name="x")

    def dense(inp: ov.Output, n_in: int, n_out: int) -> ov.Node:
        w = ops.constant(rng.normal(0, 0.2, (n_out, n_in)).astype(np.float32))
        return ops.add(ops.matmul(inp, w, False, True), ops.constant(rng.normal(0, 0.1, n_out).astype(np.float32)))

    hidden = ops.gelu(dense(x, WIDTH, HIDDEN), "erf")
    out = ops.add(dense(hidden, HIDDEN, WIDTH), dense(x, WIDTH, WIDTH))
    return ov.Model([ops.result(out)], [x], "feed_forward")


def _inputs() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(12, 1, STEPS, WIDTH)).astype(np.float32)


@pytest.fixture(scope="module")
def quantized() -> tuple[ov.Model, ov.Model]:
    """(the model quantized with its MatMuls as MatMuls, the same quantized model rewritten), FakeQuantize form."""
    x = _inputs()
    engine = sq.IEEngine({"device": "CPU"}, ArrayLoader(x, [0] * len(x)), None)
    algorithm = sq.DefaultQuantization({"stat_subset_size": len(x), "matmul_as_convolution": "never"}, engine)
    int8 = algorithm.quantize(sq.CompressedModel.from_ov(feed_forward(), "ff"), compress_weights=False).model
    rewritten = int8.clone()
    assert len(matmuls_as_convolutions(rewritten)) == 3
    return int8, rewritten


def _run(model: ov.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(get_core().compile_model(model, "CPU", F32)(x)[0])


def test_the_rewrite_computes_the_same_quantized_values(quantized: tuple[ov.Model, ov.Model]) -> None:
    int8, rewritten = quantized
    fp32 = feed_forward()
    for x in _inputs()[:4]:
        expected, got = _run(int8, x), _run(rewritten, x)
        assert got.shape == expected.shape == (1, STEPS, WIDTH)
        # float rounding of another kernel, far below the quantization error itself
        rounding = np.abs(got - expected).mean() / np.abs(expected).mean()
        quantization = np.abs(expected - _run(fp32, x)).mean() / np.abs(expected).mean()
        assert rounding < 1e-3 and rounding < quantization / 10, (rounding, quantization)


def test_the_rewritten_layers_run_as_int8_convolutions(quantized: tuple[ov.Model, ov.Model]) -> None:
    int8, rewritten = quantized
    layers = runtime_layers(get_core().compile_model(rewritten, "CPU", F32))
    convolutions = [layer for layer in layers if layer.type == "Convolution"]
    assert len(convolutions) == 3 and all(layer.precision in ("u8", "i8") for layer in convolutions), layers
    assert not [layer for layer in layers if layer.type == "FullyConnected"]
    transposes = sum(op.get_type_name() == "Transpose" for op in rewritten.get_ordered_ops())
    assert transposes == 3, transposes  # x forth (shared by two layers), two back; the pair around GELU dropped


def test_an_fp32_matmul_is_left_alone() -> None:
    model = feed_forward()
    assert matmuls_as_convolutions(model) == []
    assert sum(op.get_type_name() == "MatMul" for op in model.get_ordered_ops()) == 3


def test_default_quantization_rewrites_only_where_asked() -> None:
    x = _inputs()
    engine = sq.IEEngine({"device": "CPU"}, ArrayLoader(x, [0] * len(x)), None)
    for setting, rewrites in (("always", True), ("never", False)):
        algorithm = sq.DefaultQuantization({"stat_subset_size": len(x), "matmul_as_convolution": setting}, engine)
        int8 = algorithm.run(sq.CompressedModel.from_ov(feed_forward(), "ff")).model
        types = {op.get_type_name() for op in int8.get_ordered_ops()}
        assert (len(algorithm.as_convolution) == 3) is rewrites
        assert ("MatMul" not in types) is rewrites and ("Convolution" in types) is rewrites


@pytest.mark.parametrize("isa, rewrites", [("AVX2", True)])
def test_auto_follows_the_cpus_int8_dot_product(monkeypatch: pytest.MonkeyPatch, isa: str, rewrites: bool) -> None:
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)  # oneDNN held to AVX2: the kernels of a CPU without VNNI
    assert wants_matmul_as_convolution("auto") is rewrites
    assert wants_matmul_as_convolution("always") and not wants_matmul_as_convolution("never")


def test_a_wrong_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'matmul_as_convolution' must be one of \['auto', 'always', 'never'\]"):
        sq.DefaultQuantization({"matmul_as_convolution": "yes"}, None)


def test_a_model_output_keeps_its_name_and_the_layer_its_name(quantized: tuple[ov.Model, ov.Model]) -> None:
    int8, _ = quantized
    model = int8.clone()
    model.outputs[0].get_tensor().set_names({"logits"})
    names = {op.get_friendly_name() for op in model.get_ordered_ops() if op.get_type_name() == "MatMul"}
    assert set(matmuls_as_convolutions(model)) == names
    assert model.output("logits").get_partial_shape()[2].get_length() == WIDTH
    assert {op.get_friendly_name() for op in model.get_ordered_ops() if op.get_type_name() == "Convolution"} == names


def dense_rows() -> ov.Model:
    """DeepSpeech's layout: [rows, 26] -> dense+bias -> ReLU -> dense+bias, 2-D MatMuls, 16 rows."""
    rng = np.random.default_rng(2)
    x = ops.parameter([16, 26], ov.Type.f32, name="x")
    w1, w2 = (ops.constant(rng.normal(0, 0.2, shape).astype(np.float32)) for shape in ((26, 64), (64, 29)))
    hidden = ops.relu(ops.add(ops.matmul(x, w1, False, False), ops.constant(rng.normal(0, 0.1, 64).astype(np.float32))))
    out = ops.add(ops.matmul(hidden, w2, False, False), ops.constant(rng.normal(0, 0.1, 29).astype(np.float32)))
    return ov.Model([ops.result(out)], [x], "dense_rows")


def test_two_dimensional_matmuls_run_as_convolutions_over_rows() -> None:
    x = np.random.default_rng(3).normal(size=(8, 16, 26)).astype(np.float32)
    engine = sq.IEEngine({"device": "CPU"}, ArrayLoader(x, [0] * len(x)), None)
    algorithm = sq.DefaultQuantization({"stat_subset_size": len(x), "matmul_as_convolution": "never"}, engine)
    int8 = algorithm.quantize(sq.CompressedModel.from_ov(dense_rows(), "rows"), compress_weights=False).model
    rewritten = int8.clone()
    assert len(matmuls_as_convolutions(rewritten)) == 2
    types = [op.get_type_name() for op in rewritten.get_ordered_ops()]
    assert "MatMul" not in types and "Transpose" not in types  # reshapes only
    for item in x[:3]:
        expected, got = _run(int8, item), _run(rewritten, item)
        assert got.shape == expected.shape == (16, 29)
        rounding = np.abs(got - expected).mean() / np.abs(expected).mean()
        quantization = np.abs(expected - _run(dense_rows(), item)).mean() / np.abs(expected).mean()
        assert rounding < 1e-3 and rounding < quantization / 10, (rounding, quantization)
    layers = runtime_layers(get_core().compile_model(rewritten, "CPU", F32))
    convolutions = [layer for layer in layers if layer.type == "Convolution"]
    assert len(convolutions) == 2 and all(layer.is_integer for layer in convolutions), layers
    assert not [layer for layer in layers if layer.type == "FullyConnected"]
