import logging
import math

import pytest
from speechq_testing import Accuracy, ArrayLoader

import speechq as sq
from speechq.algorithms.accuracy_aware import metric_drop, quantized_layers
from speechq.engines import runtime_layers
from speechq.model import get_core


def _run(mlp, mlp_data, params, as_error=False):
    engine = sq.IEEngine({}, ArrayLoader(*mlp_data), Accuracy(as_error=as_error))
    pipeline = sq.create_pipeline([{"name": "AccuracyAwareQuantization", "params": params}], engine)
    model = pipeline.run(mlp)
    return model, pipeline.algorithms[0].result, pipeline


@pytest.fixture(scope="module")
def aaq_run(mlp, mlp_data):
    return _run(mlp, mlp_data, {"stat_subset_size": 30, "maximal_drop": 0.01})


def test_metric_drop_respects_direction_and_type():
    assert metric_drop(0.9, 0.8, higher_better=True, drop_type="absolute") == pytest.approx(0.1)
    assert metric_drop(0.10, 0.12, higher_better=False, drop_type="absolute") == pytest.approx(0.02)
    assert metric_drop(0.10, 0.12, higher_better=False, drop_type="relative") == pytest.approx(0.2)
    assert metric_drop(0.10, 0.08, higher_better=False, drop_type="absolute") == pytest.approx(-0.02)
    assert metric_drop(0.0, 0.1, higher_better=False, drop_type="relative") == math.inf


def test_reaches_maximal_drop_by_reverting_layers(aaq_run, mlp_data):
    model, result, pipeline = aaq_run
    assert result.default_quantized < result.baseline - 0.01  # INT8 everywhere really hurt
    assert result.reached and result.drop <= 0.01
    assert result.reverted_layers and set(result.reverted_layers) <= {"fc1", "fc2"}
    assert set(result.sensitivity) == {"fc1", "fc2"}
    assert pipeline.evaluate(model)["accuracy"] == pytest.approx(result.final)
    remaining = {layer.name for layer in quantized_layers(model.model)}
    assert not remaining & set(result.reverted_layers)


def test_reverted_layers_run_fp32_and_the_rest_int8(aaq_run):
    model, result, _ = aaq_run
    compiled = get_core().compile_model(model.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    for layer in runtime_layers(compiled):
        if layer.is_compute:
            reverted = any(name in result.reverted_layers for name in layer.original_names)
            assert layer.is_integer != reverted, layer


def test_higher_worse_metric_is_handled(mlp, mlp_data, aaq_run):
    _, error_result, _ = _run(mlp, mlp_data, {"stat_subset_size": 30, "maximal_drop": 0.01}, as_error=True)
    accuracy_result = aaq_run[1]
    assert not error_result.higher_better
    assert error_result.baseline == pytest.approx(1 - accuracy_result.baseline)
    assert error_result.default_quantized == pytest.approx(1 - accuracy_result.default_quantized)
    assert error_result.reached and error_result.reverted_layers == accuracy_result.reverted_layers


def test_unreached_drop_is_reported_and_best_model_returned(mlp, mlp_data, caplog):
    with caplog.at_level(logging.WARNING):
        model, result, pipeline = _run(mlp, mlp_data, {"stat_subset_size": 30, "maximal_drop": 0.0, "max_iter_num": 1})
    assert result.iterations == 1 and len(result.reverted_layers) <= 1
    assert not result.reached and result.drop > 0.0
    assert "maximal_drop 0.00000 NOT reached" in caplog.text
    assert "stopped after max_iter_num=1" in caplog.text
    assert result.final >= result.default_quantized
    assert pipeline.evaluate(model)["accuracy"] == pytest.approx(result.final)


def test_needs_a_metric(mlp, mlp_data):
    engine = sq.IEEngine({}, ArrayLoader(*mlp_data))
    with pytest.raises(sq.ConfigError, match="needs an engine with a metric"):
        sq.AccuracyAwareQuantization({}, engine).run(mlp)
    engine = sq.IEEngine({}, ArrayLoader(*mlp_data), Accuracy())
    with pytest.raises(sq.ConfigError, match=r"'metric' 'wer' is not one of the metric's names \['accuracy'\]"):
        sq.AccuracyAwareQuantization({"metric": "wer"}, engine).run(mlp)


def test_sensitivity_is_the_first_ranking_with_reference_values_on_the_same_items(aaq_run):
    _, result, pipeline = aaq_run
    sensitivity = pipeline.algorithms[0].sensitivity
    assert {entry.layer for entry in sensitivity.layers} == set(result.sensitivity) == {"fc1", "fc2"}
    assert {entry.type for entry in sensitivity.layers} == {"MatMul"}
    assert sensitivity.metric == "accuracy" and sensitivity.higher_better
    assert sensitivity.int8 < sensitivity.fp32  # on the ranking subset (the items that degraded most)
    best = sensitivity.ranked()[0]
    assert best.layer == result.reverted_layers[0] and sensitivity.gain(best) >= 0  # 0 with 7-bit weights (AVX2)


def test_asked_for_int8_alone_sensitivity_is_kept_next_to_the_ranking(mlp, mlp_data, aaq_run):
    params = {"stat_subset_size": 30, "maximal_drop": 0.01, "sensitivity_subset_size": 60, "sensitivity_int8_alone": True}
    _, result, pipeline = _run(mlp, mlp_data, params)
    sensitivity = pipeline.algorithms[0].sensitivity
    assert result.reverted_layers == aaq_run[1].reverted_layers  # the search ranked layers as without the option
    assert result.sensitivity == aaq_run[1].sensitivity  # the first ranking, as before
    assert sensitivity.items == 60 and all(entry.int8_alone is not None for entry in sensitivity.layers)
