"""The subgraphs INT8 breaks (an in-graph log-mel front end, convolutions on a raw waveform) are found by their
structure and kept FP32 by DefaultQuantization unless asked otherwise; on real speech that is the difference between
a working and a wrecked INT8 model."""

from __future__ import annotations

import logging

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops
from speechq_testing import ArrayLoader, build_tiny_conv_ctc

import speechq as sq
from speechq.drift import measure_drift
from speechq.algorithms.front_end import (
    DEPTHWISE_CONVOLUTIONS,
    SPECTRAL_FRONT_END,
    WAVEFORM_CONVOLUTIONS,
    find_fp32_front_end,
    front_end_names,
)
from speechq.algorithms.accuracy_aware import quantized_layers
from speechq.algorithms.graph import prepare_for_quantization
from speechq.engines import runtime_layers
from speechq.model import get_core
from speechq.zoo import TRANSFORMER_QUANTIZATION_DEFAULTS
from speechq.zoo.architectures import deepspeech_waveform_graph, random_deepspeech_weights

CALIBRATION = list(range(0, 32, 2))  # shipped utterances: calibrate on the even ones,
HELD_OUT = list(range(1, 32, 2))  # measure on the odd ones


def _runtime_precisions(model: sq.CompressedModel) -> dict[str, str]:
    """Runtime precision of each compute layer, by the name of the node it came from."""
    compiled = get_core().compile_model(model.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return {name: layer.precision for layer in runtime_layers(compiled) if layer.is_compute for name in layer.sources}


def test_log_mel_front_end_and_the_layer_reading_it_are_found(log_mel_ctc):
    [part] = find_fp32_front_end(log_mel_ctc.model)
    assert part.kind == SPECTRAL_FRONT_END and part.anchor == "front_end/log"
    assert part.layers == ("front_end/mel_filterbank", "conv1")  # the filterbank, then the first layer reading normalised log-mel
    types = {op.get_friendly_name(): op.get_type_name() for op in log_mel_ctc.model.get_ordered_ops()}
    kept = {types[name] for name in part.nodes}
    assert {"RDFT", "Multiply", "ReduceSum", "MatMul", "Log", "ReduceMean", "Subtract", "Divide", "Convolution"} <= kept
    assert "conv2" not in part.nodes and "head" not in part.nodes and "Relu" not in kept
    assert [p.layers for p in find_fp32_front_end(log_mel_ctc.model, first_layer=False)] == [("front_end/mel_filterbank",)]


def test_mfcc_front_end_keeps_the_dct_as_part_of_the_features():
    """DeepSpeech's MFCC in the graph: filterbank, log, DCT (a fixed linear map feeding the first layer through
    the context windows), then the first dense layer."""
    model = deepspeech_waveform_graph(random_deepspeech_weights(hidden=16))
    [part] = find_fp32_front_end(prepare_for_quantization(model))
    assert part.layers == ("front_end/mel_filterbank", "front_end/dct", "layer_1/MatMul")
    assert "layer_2/MatMul" not in part.nodes and "lstm" not in part.nodes


def test_raw_waveform_convolutions_are_found_up_to_the_count():
    model = build_tiny_conv_ctc()
    [part] = find_fp32_front_end(model)
    assert part.kind == WAVEFORM_CONVOLUTIONS and part.anchor == "input_values" and part.layers == ("feature_conv",)
    assert [p.layers for p in find_fp32_front_end(model, waveform_convolutions=2)] == [("feature_conv", "head")]
    assert find_fp32_front_end(model, waveform_convolutions=0) == []


def test_models_without_a_front_end_keep_nothing(tiny_deepspeech, mlp):
    assert find_fp32_front_end(tiny_deepspeech.model) == []
    assert find_fp32_front_end(mlp.model) == []
    # a log at the output (log of a softmax) is not a front end: its ancestry holds the model's nonlinearities
    x = ops.parameter([1, 64], np.float32, name="x")
    hidden = ops.relu(ops.matmul(x, ops.constant(np.ones((64, 8), np.float32)), False, False))
    log = ops.log(ops.softmax(ops.matmul(hidden, ops.constant(np.ones((8, 4), np.float32)), False, False), 1))
    assert find_fp32_front_end(ov.Model([ops.result(log)], [x])) == []
    # features [batch, frames, 80] are not a waveform
    features = ops.parameter([1, -1, 80], np.float32, name="features")
    conv = ops.convolution(ops.transpose(features, ops.constant(np.array([0, 2, 1]))),
                           ops.constant(np.ones((4, 80, 3), np.float32)), [1], [0], [0], [1])
    assert find_fp32_front_end(ov.Model([ops.result(conv)], [features])) == []


def _separable_block(seed: int = 0) -> ov.Model:
    """features [1, 16, T] -> pointwise conv (16 -> 32) -> grouped conv (4 groups of 8 channels) -> depthwise conv
    (32 groups of one channel, kernel 15) -> pointwise conv (32 -> 8): a conformer convolution module's shape."""
    rng = np.random.default_rng(seed)
    x = ops.parameter([1, 16, -1], np.float32, name="features")

    def weights(*shape: int) -> ov.Node:
        return ops.constant((rng.normal(size=shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32))

    pointwise = ops.convolution(x, weights(32, 16, 1), [1], [0], [0], [1])
    pointwise.set_friendly_name("pointwise_in")
    grouped = ops.group_convolution(ops.relu(pointwise), weights(4, 8, 8, 3), [1], [1], [1], [1])
    grouped.set_friendly_name("grouped")
    depthwise = ops.group_convolution(ops.relu(grouped), weights(32, 1, 1, 15), [1], [7], [7], [1])
    depthwise.set_friendly_name("depthwise")
    out = ops.convolution(ops.relu(depthwise), weights(8, 32, 1), [1], [0], [0], [1])
    out.set_friendly_name("pointwise_out")
    return ov.Model([ops.result(out)], [x], "separable")


def test_depthwise_convolutions_are_found_and_kept_fp32_unless_asked():
    model = _separable_block()
    [part] = find_fp32_front_end(model)
    assert part.kind == DEPTHWISE_CONVOLUTIONS and part.layers == ("depthwise",)  # not the 8-channel groups
    assert part.switch == "keep_depthwise_fp32" and "depthwise convolutions: 1 (depthwise)" == part.describe()
    assert find_fp32_front_end(model, depthwise=False) == []

    rng = np.random.default_rng(1)
    loader = ArrayLoader(rng.normal(size=(8, 16, 50)).astype(np.float32), [0] * 8)
    compressed = sq.CompressedModel.from_ov(model, "separable")

    def int8_layers(**params):
        algorithm = sq.DefaultQuantization({"stat_subset_size": 8, **params}, sq.IEEngine({}, loader))
        quantized = algorithm.run(compressed)
        return algorithm.front_end, {name for name, precision in _runtime_precisions(quantized).items()
                                     if precision in ("i8", "u8")}

    kept, default = int8_layers()
    assert kept == [part] and "depthwise" not in default and {"pointwise_in", "grouped", "pointwise_out"} <= default
    kept, everything = int8_layers(keep_depthwise_fp32=False)
    assert kept == [] and "depthwise" in everything


def test_front_end_names_are_unique_and_ordered(log_mel_ctc):
    parts = find_fp32_front_end(log_mel_ctc.model) * 2
    names = front_end_names(parts)
    assert names == list(parts[0].nodes)


def _quantize(model, loader, **params):
    engine = sq.IEEngine({}, _Subset(loader, CALIBRATION))
    algorithm = sq.DefaultQuantization({"stat_subset_size": len(CALIBRATION), **params}, engine)
    return algorithm, algorithm.run(model)


class _Subset(sq.DataLoader):
    def __init__(self, loader, indices):
        super().__init__()
        self._loader, self._indices = loader, indices

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, index):
        return self._loader[self._indices[index]]


@pytest.fixture(scope="module")
def held_out_inputs(log_mel_ctc, shipped_waveforms):
    engine = sq.IEEngine({}, shipped_waveforms)
    engine.set_model(log_mel_ctc)
    return engine.collect_model_inputs(sq.IndexSampler(shipped_waveforms, HELD_OUT))


def test_default_quantization_keeps_the_front_end_fp32_and_the_model_working(log_mel_ctc, shipped_waveforms,
                                                                            held_out_inputs, caplog):
    with caplog.at_level(logging.INFO, logger="speechq.algorithms.default.algorithm"):
        algorithm, kept = _quantize(log_mel_ctc, shipped_waveforms)
    assert [part.layers for part in algorithm.front_end] == [("front_end/mel_filterbank", "conv1")]
    assert "kept in FP32 by default" in caplog.text and "spectral front end from 'front_end/log'" in caplog.text
    precisions = _runtime_precisions(kept)
    assert precisions["front_end/mel_filterbank"] == "f32" and precisions["conv1"] == "f32"
    assert precisions["conv2"] in ("u8", "i8") and precisions["head"] in ("u8", "i8")
    quantized_all_algorithm, quantized_all = _quantize(log_mel_ctc, shipped_waveforms, keep_front_end_fp32=False)
    assert quantized_all_algorithm.front_end == []
    assert _runtime_precisions(quantized_all)["front_end/mel_filterbank"] in ("u8", "i8")
    # on held-out real speech: the frame-wise most likely symbol
    [safe] = measure_drift(log_mel_ctc.model, kept.model, held_out_inputs, max_items=len(HELD_OUT))
    [wrecked] = measure_drift(log_mel_ctc.model, quantized_all.model, held_out_inputs, max_items=len(HELD_OUT))
    assert safe.agreement > 0.95  # measured 0.98
    assert wrecked.agreement < 0.7  # measured 0.4: power spectra on an 8-bit grid lose everything quiet


def test_user_scope_adds_to_the_front_end_and_false_leaves_only_the_scope(log_mel_ctc, shipped_waveforms):
    algorithm, model = _quantize(log_mel_ctc, shipped_waveforms, ignored={"scope": ["conv2"]})
    precisions = _runtime_precisions(model)
    assert precisions["conv2"] == "f32" and precisions["conv1"] == "f32" and precisions["head"] in ("u8", "i8")
    _, model = _quantize(log_mel_ctc, shipped_waveforms, keep_front_end_fp32=False, ignored={"scope": ["conv2"]})
    precisions = _runtime_precisions(model)
    assert precisions["conv2"] == "f32" and precisions["conv1"] in ("u8", "i8")


def test_waveform_convolution_count_is_a_parameter(shipped_waveforms):
    model = sq.CompressedModel.from_ov(build_tiny_conv_ctc(), "conv")
    loader = sq.LibriSpeechDataLoader(shipped_waveforms.utterances[0].audio_path.parents[2], features=sq.Wav2Vec2Features())
    algorithm, default = _quantize(model, loader)
    assert [part.layers for part in algorithm.front_end] == [("feature_conv",)]
    assert _runtime_precisions(default)["feature_conv"] == "f32"
    algorithm, none = _quantize(model, loader, front_end_waveform_convolutions=0)
    assert algorithm.front_end == [] and _runtime_precisions(none)["feature_conv"] in ("u8", "i8")


def test_front_end_parameters_are_checked():
    with pytest.raises(sq.ConfigError, match="'keep_front_end_fp32' must be true or false, got 'no'"):
        sq.DefaultQuantization({"keep_front_end_fp32": "no"}, sq.IEEngine({}))
    with pytest.raises(sq.ConfigError, match="'front_end_waveform_convolutions' must be an integer >= 0, got -1"):
        sq.DefaultQuantization({"front_end_waveform_convolutions": -1}, sq.IEEngine({}))


def test_a_trained_model_with_its_own_mfcc_survives_default_quantization(shipped_waveforms):
    """The shipped DeepSpeech weights behind an in-graph MFCC front end, on held-out shipped speech: plain
    ``nncf.quantize`` rounds the power spectrum to 8 bits and the transcripts fall apart; speechq's defaults keep
    the front end FP32 and the transcripts within 2% of FP32's characters (measured: CER against FP32's
    transcripts 65.2% and 0.77%)."""
    import nncf

    from speechq.metrics import char_error_rate
    from speechq.workflows import transcribe
    from speechq.zoo import get_recipe
    from speechq.zoo.architectures import deepspeech_waveform_graph, deepspeech_weights_from_model

    weights = deepspeech_weights_from_model(sq.load_model(get_recipe("deepspeech").default_model).model)
    fp32 = sq.CompressedModel.from_ov(deepspeech_waveform_graph(weights), "deepspeech_waveform")
    held_out = _Subset(shipped_waveforms, list(range(1, len(shipped_waveforms), 2)))
    engine = sq.IEEngine({}, held_out, None, postprocess=sq.GreedyCTCDecoder(sq.Vocabulary.deepspeech(), "TBV"))
    reference = [text for _, text in transcribe(engine, fp32, held_out)]

    def disagreement(model: sq.CompressedModel) -> float:
        return char_error_rate(reference, [text for _, text in transcribe(engine, model, held_out)]).corpus_rate

    calibration = _Subset(shipped_waveforms, list(range(0, len(shipped_waveforms), 2)))
    algorithm = sq.DefaultQuantization({"stat_subset_size": len(calibration)}, sq.IEEngine({}, calibration))
    inputs = algorithm.calibration_inputs(fp32)
    plain = nncf.quantize(fp32.model, nncf.Dataset(inputs), subset_size=len(inputs))
    assert disagreement(sq.CompressedModel.from_ov(plain, "plain")) > 0.3
    kept = algorithm.run(fp32)
    assert [part.layers for part in algorithm.front_end] == [("front_end/mel_filterbank", "front_end/dct", "layer_1/MatMul")]
    assert disagreement(kept) < 0.02


def _residual_block() -> ov.Model:
    """A transformer-style residual block: x + FC(x), layer norm, FC, then a GLU-like gate."""
    rng = np.random.default_rng(2)
    x = ops.parameter([1, 50, 16], np.float32, name="x")
    fc1 = ops.matmul(x, ops.constant(rng.normal(size=(16, 16)).astype(np.float32)), False, False)
    residual = ops.add(x, fc1)
    residual.set_friendly_name("residual")
    norm = ops.mvn(residual, ops.constant(np.array([-1], np.int64)), True, 1e-5, "inside_sqrt")
    norm.set_friendly_name("norm")
    fc2 = ops.matmul(norm, ops.constant(rng.normal(size=(16, 32)).astype(np.float32)), False, False)
    a, b = ops.split(fc2, ops.constant(np.int64(-1)), 2).outputs()
    gate = ops.multiply(a, ops.sigmoid(b))
    gate.set_friendly_name("gate")
    fc3 = ops.matmul(ops.add(gate, residual), ops.constant(rng.normal(size=(16, 8)).astype(np.float32)), False, False)
    return ov.Model([ops.result(fc3)], [x], "residual")


def test_transformer_defaults_of_the_generic_recipes_leave_residual_streams_float():
    """The wav2vec2 and ctc recipes' defaults quantize what feeds the MatMuls, not the inputs of residual Adds,
    gates or layer norms (NNCF's default places quantizers there too: on a conformer they cost held-out accuracy)."""
    rng = np.random.default_rng(3)
    loader = ArrayLoader(rng.normal(size=(8, 50, 16)).astype(np.float32), [0] * 8)
    compressed = sq.CompressedModel.from_ov(_residual_block(), "residual")

    def quantized_inputs(**params) -> dict[str, set[str]]:
        quantized = sq.DefaultQuantization({"stat_subset_size": 8, "matmul_as_convolution": "never", **params},
                                           sq.IEEngine({}, loader)).run(compressed)  # MatMuls stay MatMuls on any CPU
        fed: dict[str, set[str]] = {}
        for layer in quantized_layers(quantized.model):
            fed.setdefault(layer.type, set()).add(layer.name)
        return fed

    nncf_default = quantized_inputs()
    assert {"Add", "MVN", "Multiply"} <= set(nncf_default)  # NNCF's default quantizes the residual stream
    recipe = quantized_inputs(**TRANSFORMER_QUANTIZATION_DEFAULTS)
    assert set(recipe) <= {"MatMul"} and recipe["MatMul"], recipe
