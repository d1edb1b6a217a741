import numpy as np
import openvino as ov
import pytest
from speechq_testing import Accuracy, ArrayLoader, build_mlp
from openvino import opset13 as ops

import speechq as sq
from speechq.engines import runtime_layers


def test_predict_returns_metric_and_per_sample_results_sorted(mlp, mlp_engine, mlp_data):
    mlp_engine.set_model(mlp)
    metrics, stats = mlp_engine.predict()
    assert metrics == {"accuracy": 1.0} and stats == {}
    sampler = sq.IndexSampler(mlp_engine.data_loader, subset_indices=[5, 1, 3])
    (per_sample, avg), _ = mlp_engine.predict(sampler=sampler, metric_per_sample=True)
    assert [r["sample_id"] for r in per_sample] == [1, 3, 5]
    assert all(r["metric_name"] == "accuracy" and r["result"] == 1.0 for r in per_sample)
    assert avg == {"accuracy": 1.0}


def test_stats_layout_collects_real_activation_statistics(mlp, mlp_engine, mlp_data):
    mlp_engine.set_model(mlp)
    layout = {"fc1": {"max": lambda a: float(a.max()), "min": lambda a: float(a.min())}, "relu": {"mean": np.mean}}
    sampler = sq.IndexSampler(mlp_engine.data_loader, subset_indices=[0, 1, 2])
    _, stats = mlp_engine.predict(stats_layout=layout, sampler=sampler, stat_aliases={"relu": "after_relu"})
    x = mlp_data[0]
    weights = next(op for op in mlp.model.get_ordered_ops() if op.get_friendly_name() == "fc1").input_value(1).get_node().get_data()
    expected_fc1 = x[:3] @ weights
    np.testing.assert_allclose(stats["fc1"]["max"], expected_fc1.max(axis=1), rtol=1e-4)
    np.testing.assert_allclose(stats["fc1"]["min"], expected_fc1.min(axis=1), rtol=1e-4)
    np.testing.assert_allclose(stats["after_relu"]["mean"], np.maximum(expected_fc1, 0).mean(axis=1), rtol=1e-4)


def test_unknown_stats_node_is_named(mlp, mlp_engine):
    mlp_engine.set_model(mlp)
    with pytest.raises(sq.ConfigError, match="no node named 'nope'"):
        mlp_engine.predict(stats_layout={"nope": {"max": np.max}})


def test_async_mode_gives_the_same_results_as_sync(mlp, mlp_data):
    x, labels = mlp_data
    flipped = [(label + 1) % 10 if i % 3 == 0 else label for i, label in enumerate(labels)]
    results = []
    for requests in (1, 3):
        engine = sq.IEEngine({"eval_requests_number": requests, "stat_requests_number": requests}, ArrayLoader(x, flipped), Accuracy())
        engine.set_model(mlp)
        (per_sample, avg), stats = engine.predict(stats_layout={"fc2": {"max": np.max}}, metric_per_sample=True)
        results.append((per_sample, avg, stats))
    assert results[0][0] == results[1][0]
    assert results[0][1] == results[1][1] == {"accuracy": pytest.approx(2 / 3, abs=0.02)}
    np.testing.assert_array_equal(results[0][2]["fc2"]["max"], results[1][2]["fc2"]["max"])


def test_batches_are_stacked_and_dict_inputs_accepted(mlp, mlp_data):
    x, labels = mlp_data
    model = build_mlp()
    model.reshape({"x": [-1, 64]})

    class DictLoader(ArrayLoader):
        def __getitem__(self, index):
            data, label = super().__getitem__(index)
            return {"x": data}, label, {"note": index}

    engine = sq.IEEngine({}, DictLoader(x, labels), Accuracy())
    engine.set_model(model)
    metrics, _ = engine.predict(sampler=sq.BatchSampler(engine.data_loader, batch_size=8))
    assert metrics == {"accuracy": 1.0}


def test_wrong_input_names_are_reported(mlp, mlp_data):
    class WrongLoader(ArrayLoader):
        def __getitem__(self, index):
            data, label = super().__getitem__(index)
            return {"input_node": data}, label

    engine = sq.IEEngine({}, WrongLoader(*mlp_data), Accuracy())
    engine.set_model(mlp)
    with pytest.raises(sq.DataError, match=r"\['input_node'\] are not model inputs; the model has \['x'\]"):
        engine.predict()


def test_rank_mismatch_is_reported(mlp):
    engine = sq.IEEngine({}, ArrayLoader(np.zeros((2, 3, 64), np.float32), [0, 0]), Accuracy())
    engine.set_model(mlp)
    with pytest.raises(sq.DataError, match=r"input 'x' expects shape \[1,64\], items \[0\] give \[3, 64\]"):
        engine.predict()
    engine = sq.IEEngine({}, ArrayLoader(np.zeros((2, 1, 1, 64), np.float32), [0, 0]), Accuracy())
    engine.set_model(mlp)
    with pytest.raises(sq.DataError, match=r"input 'x' expects rank 2"):
        engine.predict()


def test_engine_config_is_validated():
    with pytest.raises(sq.ConfigError, match=r"unknown parameter\(s\) \['devcie'\]"):
        sq.IEEngine({"devcie": "CPU"})
    with pytest.raises(sq.ConfigError, match="eval_requests_number"):
        sq.IEEngine({"eval_requests_number": "2"})
    with pytest.raises(sq.ConfigError, match="accuracy_checker"):
        sq.IEEngine({"type": "accuracy_checker"})


def test_f32_baseline_is_the_default_precision(mlp):
    engine = sq.IEEngine({})
    engine.set_model(mlp)
    compiled, _ = engine.compile()
    assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) in ("<Type: 'float32'>", "f32")
    fc = [layer for layer in runtime_layers(compiled) if layer.is_compute]
    assert fc and all(layer.precision == "f32" for layer in fc)


def test_print_progress_shows_a_bar(mlp, mlp_engine, capsys):
    mlp_engine.set_model(mlp)
    mlp_engine.predict(print_progress=True)
    assert "60/60" in capsys.readouterr().err


def test_stateful_model_state_is_reset_per_sample():
    x = ops.parameter([1, 1], np.float32, name="x")
    init = ops.constant(np.zeros((1, 1), np.float32))
    info = ov.op.util.VariableInfo()
    info.data_shape, info.data_type, info.variable_id = ov.PartialShape([1, 1]), ov.Type.f32, "acc"
    var = ov.op.util.Variable(info)
    read = ops.read_value(init, var)
    total = ops.add(read, x)
    assign = ops.assign(total, var)
    result = ops.result(total)
    model = ov.Model([result], [assign], [x], "accumulator")

    engine = sq.IEEngine({}, ArrayLoader(np.ones((3, 1), np.float32), [1, 1, 1]))
    engine.set_model(model)
    _, stats = engine.predict(stats_layout={total.get_friendly_name(): {"v": lambda a: float(a[0, 0])}})
    assert stats[total.get_friendly_name()]["v"] == [1.0, 1.0, 1.0]
    recorded = engine.collect_model_inputs(sq.IndexSampler(engine.data_loader))
    assert [item["nncf_reset_state"] for item in recorded] == [True, True, True]


def test_model_inputs_are_built_without_the_model_unless_the_engine_runs_its_own_loop(mlp, mlp_data):
    x, labels = mlp_data

    class Running(sq.IEEngine):
        def _process_dataset(self, compiled, sampler, state, progress):  # the same loop, replaced
            super()._process_dataset(compiled, sampler, state, progress)

    loader = ArrayLoader(x, labels)
    sampler = sq.IndexSampler(loader, [5, 0, 7])
    recorded = []
    for engine in (sq.IEEngine({}, loader), Running({}, loader)):
        engine.set_model(mlp)
        recorded.append(engine.collect_model_inputs(sampler))
    built, fed = recorded
    assert [set(item) for item in built] == [{"x"}] * 3
    for one, other, index in zip(built, fed, [5, 0, 7]):
        np.testing.assert_array_equal(one["x"], other["x"])
        np.testing.assert_array_equal(one["x"][0], x[index])


def test_postprocess_callable_feeds_the_metric(mlp, mlp_data):
    x, labels = mlp_data
    seen = []

    def top_class(outputs, metadata):
        seen.append(len(metadata))
        logits = outputs["logits"]
        onehot = np.zeros_like(logits)
        onehot[np.arange(len(logits)), logits.argmax(axis=-1)] = 1.0
        return [onehot]

    engine = sq.IEEngine({}, ArrayLoader(x, labels), Accuracy(), postprocess=top_class)
    engine.set_model(mlp)
    assert engine.predict()[0] == {"accuracy": 1.0}
    assert seen == [1] * 60
