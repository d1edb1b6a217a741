import logging

import numpy as np
import pytest
from speechq_testing import Accuracy, ArrayLoader

import speechq as sq
from speechq.algorithms.accuracy_aware import quantized_layers
from speechq.algorithms.default.nncf_backend import _cpu_has_int8_dot_product
from speechq.algorithms.graph import DATA_MOVEMENT, is_fake_quantize, quantizer_ports
from speechq.engines import runtime_layers
from speechq.model import get_core


def _fake_quantize_ranges(model: sq.CompressedModel) -> dict[str, tuple[float, float]]:
    """Input range (low, high) of every activation FakeQuantize, keyed by the layer it feeds (found as speechq finds
    it, through data-movement nodes: the reshapes of MatMuls run as convolutions on CPUs without VNNI)."""
    ranges = {}
    for op in model.model.get_ordered_ops():
        if is_fake_quantize(op) or op.get_type_name() in DATA_MOVEMENT:
            continue
        for _, fq in quantizer_ports(op):
            if fq.input_value(0).get_node().get_type_name() == "Constant":
                continue
            low = float(np.min(fq.input_value(1).get_node().get_data()))
            high = float(np.max(fq.input_value(2).get_node().get_data()))
            ranges[op.get_friendly_name()] = (low, high)
    return ranges


def test_int8_kernels_really_run(mlp_int8):
    compiled = get_core().compile_model(mlp_int8.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    compute = [layer for layer in runtime_layers(compiled) if layer.is_compute]
    assert len(compute) == 2
    assert all(layer.is_integer for layer in compute), compute


def test_quantized_model_keeps_accuracy_on_ordinary_inputs(mlp, mlp_int8, mlp_engine):
    ordinary = [i for i in range(60) if i % 7]  # items without the outlier feature
    mlp_engine.set_model(mlp_int8)
    metrics, _ = mlp_engine.predict(sampler=sq.IndexSampler(mlp_engine.data_loader, ordinary))
    assert metrics["accuracy"] >= 0.85


def test_calibration_uses_stat_subset_size_items(mlp, mlp_engine, caplog):
    algorithm = sq.DefaultQuantization({"stat_subset_size": 7}, mlp_engine)
    assert len(algorithm.calibration_inputs(mlp)) == 7
    algorithm = sq.DefaultQuantization({"stat_subset_size": 1000}, mlp_engine)
    with caplog.at_level(logging.WARNING):
        assert len(algorithm.calibration_inputs(mlp)) == 60
    assert "stat_subset_size 1000 is larger than the data set (60 items)" in caplog.text


def test_shuffled_subset_is_seeded(mlp, mlp_engine):
    def first_inputs(seed):
        inputs = sq.DefaultQuantization({"stat_subset_size": 5, "shuffle_data": True, "seed": seed}, mlp_engine).calibration_inputs(mlp)
        return np.concatenate([i["x"] for i in inputs])

    np.testing.assert_array_equal(first_inputs(1), first_inputs(1))
    assert not np.array_equal(first_inputs(1), first_inputs(2))


def test_ranges_come_from_the_calibration_data(mlp, mlp_engine):
    with_outliers = sq.DefaultQuantization({"stat_subset_size": 30}, mlp_engine).run(mlp)
    loader = mlp_engine.data_loader
    clean = ArrayLoader(np.stack([loader[i][0] for i in range(60) if i % 7]), [0] * 51)
    without = sq.DefaultQuantization({"stat_subset_size": 30}, sq.IEEngine({}, clean)).run(mlp)
    # POT's symmetric default: the mean over items of each item's abs-max
    expected = np.mean([np.abs(loader[i][0]).max() for i in range(30)])
    assert _fake_quantize_ranges(with_outliers)["fc1"][1] == pytest.approx(expected, rel=1e-3)
    assert _fake_quantize_ranges(without)["fc1"][1] < 10.0


def test_presets_choose_symmetric_or_asymmetric_activations(mlp, mlp_engine):
    performance = _fake_quantize_ranges(sq.DefaultQuantization({"stat_subset_size": 20}, mlp_engine).run(mlp))["fc2"]
    mixed = _fake_quantize_ranges(sq.DefaultQuantization({"stat_subset_size": 20, "preset": "mixed"}, mlp_engine).run(mlp))["fc2"]
    accuracy = _fake_quantize_ranges(sq.DefaultQuantization({"stat_subset_size": 20, "preset": "accuracy"}, mlp_engine).run(mlp))["fc2"]
    # fc2's input is ReLU output (>= 0): symmetric unsigned starts at 0, asymmetric ranges start at the observed min
    assert performance[0] == 0.0
    assert mixed == accuracy


def test_user_range_estimators_override_the_defaults(mlp, mlp_engine):
    default = _fake_quantize_ranges(sq.DefaultQuantization({"stat_subset_size": 60}, mlp_engine).run(mlp))["fc1"]
    max_of_max = sq.DefaultQuantization(
        {"stat_subset_size": 60, "activations": {"range_estimator": {"max": {"type": "abs_max", "aggregator": "max"}}}},
        mlp_engine,
    ).run(mlp)
    assert _fake_quantize_ranges(max_of_max)["fc1"][1] == pytest.approx(400.0, rel=1e-3)
    assert default[1] < 100.0
    quantile = sq.DefaultQuantization(
        {"stat_subset_size": 60, "activations": {"range_estimator": {"preset": "quantile"}}}, mlp_engine
    ).run(mlp)
    assert _fake_quantize_ranges(quantile)["fc1"][1] <= default[1] * 1.001


def test_ignored_scope_and_operations_stay_fp32(mlp, mlp_engine):
    by_scope = sq.DefaultQuantization({"stat_subset_size": 10, "ignored": {"scope": ["fc1"]}}, mlp_engine).run(mlp)
    assert [layer.name for layer in quantized_layers(by_scope.model)] == ["fc2"]
    by_type = sq.DefaultQuantization(
        {"stat_subset_size": 10, "ignored": {"operations": [{"type": "MatMul", "attributes": {"transpose_b": False}}]}},
        mlp_engine,
    ).run(mlp)
    assert quantized_layers(by_type.model) == []
    with pytest.raises(sq.ConfigError, match=r"ignored.scope: no node named \['fc9'\]"):
        sq.DefaultQuantization({"ignored": {"scope": ["fc9"]}}, mlp_engine).run(mlp)


def test_an_engine_that_cannot_report_inputs_is_refused(mlp):
    class Bare(sq.Engine):
        def set_model(self, model):
            pass

        def predict(self, *args, **kwargs):
            return None, {}

    with pytest.raises(sq.ConfigError, match="Bare cannot report the inputs"):
        sq.DefaultQuantization({}, Bare({}, ArrayLoader(np.zeros((2, 64), np.float32), [0, 0]))).run(mlp)


def test_quantization_is_silent_unless_progress_is_asked(mlp, mlp_engine, capfd):
    sq.DefaultQuantization({"stat_subset_size": 5}, mlp_engine).run(mlp)
    out, err = capfd.readouterr()
    assert out == "" and "Statistics collection" not in err
    algorithm = sq.DefaultQuantization({"stat_subset_size": 5}, mlp_engine)
    algorithm.print_progress = True
    algorithm.run(mlp)
    out, err = capfd.readouterr()
    assert out == "" and "Statistics collection" in err


def test_sensitivity_alone_in_int8_is_the_other_layer_alone_in_fp32(mlp, mlp_data):
    """With two quantized layers, fc1 alone in INT8 is the model with fc2 alone in FP32, and the reverse: the two
    measures are separate evaluations of the same models, so they must agree exactly."""
    x, labels = mlp_data
    engine = sq.IEEngine({}, ArrayLoader(x, labels), Accuracy())
    params = {"stat_subset_size": 30, "sensitivity_subset_size": 60, "sensitivity_int8_alone": True}
    algorithm = sq.DefaultQuantization(params, engine)
    algorithm.run(mlp)
    sensitivity = algorithm.sensitivity
    fc1, fc2 = sensitivity.layers
    assert (fc1.layer, fc2.layer) == ("fc1", "fc2")
    assert fc1.int8_alone == fc2.value and fc2.int8_alone == fc1.value
    for entry in (fc1, fc2):
        assert sensitivity.cost(entry) == pytest.approx(sensitivity.fp32 - entry.int8_alone)


def test_sensitivity_on_request_measures_each_layer_alone_in_fp32(mlp, mlp_data):
    x, labels = mlp_data
    engine = sq.IEEngine({}, ArrayLoader(x, labels), Accuracy())
    algorithm = sq.DefaultQuantization({"stat_subset_size": 30, "sensitivity_subset_size": 60}, engine)
    algorithm.run(mlp)
    sensitivity = algorithm.sensitivity
    assert sensitivity.items == 60 and [entry.layer for entry in sensitivity.layers] == ["fc1", "fc2"]
    assert sensitivity.fp32 == 1.0  # labels are the FP32 model's own predictions
    assert sensitivity.int8 < sensitivity.fp32 and sensitivity.gain(sensitivity.ranked()[0]) >= 0  # 0: AVX2, 7-bit
    for entry in sensitivity.layers:  # each a real evaluation: a whole number of the 60 items right
        assert round(entry.value * 60, 6).is_integer() and entry.value <= sensitivity.fp32
    assert sq.DefaultQuantization({"stat_subset_size": 5}, engine).sensitivity is None
    with pytest.raises(sq.ConfigError, match="sensitivity_subset_size needs an engine with a metric"):
        sq.DefaultQuantization({"stat_subset_size": 5, "sensitivity_subset_size": 5},
                               sq.IEEngine({}, ArrayLoader(x, labels))).run(mlp)


def _int8_weight_extent(model: sq.CompressedModel) -> dict[str, int]:
    """Largest |value| of each int8 weight constant, keyed by the layer it feeds (through Convert, Subtract, ...)."""
    extent = {}
    for op in model.model.get_ordered_ops():
        if op.get_type_name() == "Constant" and op.get_element_type().get_type_name() == "i8":
            node = op
            while node.get_type_name() not in ("MatMul", "Convolution"):
                node = next(iter(node.output(0).get_target_inputs())).get_node()
            extent[node.get_friendly_name()] = int(np.abs(op.get_data().astype(np.int32)).max())
    return extent


def test_saturation_fix_gives_weights_seven_bit_ranges_where_asked(mlp, mlp_engine):
    def extent(fix):
        params = {"stat_subset_size": 20} if fix is None else {"stat_subset_size": 20, "saturation_fix": fix}
        return _int8_weight_extent(sq.DefaultQuantization(params, mlp_engine).run(mlp))

    assert extent("no") == {"fc1": 127, "fc2": 127}
    assert extent("all") == {"fc1": 64, "fc2": 64}  # 7 bits: half the steps, so no u8 x i8 pair sum passes int16
    assert extent("first_layer") == {"fc1": 127, "fc2": 127}  # NNCF's first layer is the first convolution
    assert extent(None) == extent("first_layer" if _cpu_has_int8_dot_product() else "all")


@pytest.mark.parametrize("isa, seven_bit", [("AVX2", True), ("avx512_core", True), ("AVX512_CORE_VNNI", None)])
def test_saturation_fix_follows_a_onednn_isa_cap(mlp, mlp_engine, monkeypatch, isa, seven_bit):
    # ONEDNN_MAX_CPU_ISA=AVX2 makes the plugin run AVX2's int8 kernels (pair sums in 16 bits) on any CPU: auto then
    # gives 7-bit weights as on a CPU without VNNI; a cap that keeps VNNI changes nothing
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
    extent = _int8_weight_extent(sq.DefaultQuantization({"stat_subset_size": 20}, mlp_engine).run(mlp))
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    seven_bit = (not _cpu_has_int8_dot_product()) if seven_bit is None else seven_bit
    assert extent == ({"fc1": 64, "fc2": 64} if seven_bit else {"fc1": 127, "fc2": 127})
