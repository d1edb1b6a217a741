import numpy as np
import pytest
from speechq_testing import OMZ_STATE_C, OMZ_STATE_H, ArrayLoader, MeanOutput, build_tiny_deepspeech, first_outputs

import speechq as sq
from speechq.engines import StreamingEngine, make_stateful, runtime_layers
from speechq.engines._state_pairs import find_streaming_layout
from speechq.model import get_core


class FeatureLoader(ArrayLoader):
    def __getitem__(self, index):
        data, label = super().__getitem__(index)
        return data, label, {"num_steps": len(data)}



def _whole_utterance_logits(features: np.ndarray) -> np.ndarray:
    """The same weights run over the whole utterance in one inference (no chunking)."""
    model = build_tiny_deepspeech(steps=len(features))
    compiled = get_core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    zeros = np.zeros((1, 8), np.float32)
    return compiled({"input_node": features[np.newaxis], "previous_state_c": zeros, "previous_state_h": zeros})["logits"]


def _streamed_logits(engine: StreamingEngine, features: list[np.ndarray]) -> list[np.ndarray]:
    return first_outputs(engine, FeatureLoader(features, list(range(len(features)))))


def test_state_pairs_are_found_from_the_graph(tiny_deepspeech):
    layout = find_streaming_layout(tiny_deepspeech.model)
    assert layout.chunk_input == "input_node"
    assert dict(layout.state_map) == {OMZ_STATE_H: "previous_state_h", OMZ_STATE_C: "previous_state_c"}
    assert layout.outputs == ("logits",)
    # names that say nothing: the LSTM ports still decide
    anonymous = build_tiny_deepspeech(state_names=("state_a", "state_b"))
    assert dict(find_streaming_layout(anonymous).state_map) == {OMZ_STATE_H: "state_b", OMZ_STATE_C: "state_a"}


def test_streaming_equals_whole_utterance_inference(tiny_deepspeech, utterance_features):
    engine = StreamingEngine({})
    engine.set_model(tiny_deepspeech)
    streamed = _streamed_logits(engine, utterance_features)
    for features, logits in zip(utterance_features, streamed):
        assert logits.shape == (len(features), 1, 29)  # padding frames of the last chunk dropped
        np.testing.assert_allclose(logits, _whole_utterance_logits(features), atol=2e-5)


def test_several_utterances_in_flight_give_the_same_results(tiny_deepspeech, utterance_features):
    results = []
    for requests in (1, 3):
        engine = StreamingEngine({"eval_requests_number": requests, "stat_requests_number": requests},
                                 FeatureLoader(utterance_features, [0] * 6), MeanOutput())
        engine.set_model(tiny_deepspeech)
        (per_sample, avg), stats = engine.predict(metric_per_sample=True, stats_layout={"dense1": {"max": np.max}})
        results.append((per_sample, avg, stats["dense1"]["max"]))
    assert results[0][0] == results[1][0] and results[0][1] == results[1][1]
    chunks = sum(-(-len(f) // 16) for f in utterance_features)
    assert len(results[0][2]) == chunks  # one statistic per chunk inference
    assert sorted(results[0][2]) == sorted(results[1][2])


def test_native_stateful_model_gives_the_same_outputs(tiny_deepspeech, utterance_features):
    stateful = sq.CompressedModel.from_ov(make_stateful(tiny_deepspeech.model), "stateful")
    assert [p.get_any_name() for p in stateful.model.inputs] == ["input_node"]
    assert len(stateful.model.get_sinks()) == 2
    explicit = StreamingEngine({})
    explicit.set_model(tiny_deepspeech)
    native = StreamingEngine({"eval_requests_number": 2})
    native.set_model(stateful)
    for a, b in zip(_streamed_logits(explicit, utterance_features), _streamed_logits(native, utterance_features)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_calibration_follows_the_reset_schedule_of_inference(tiny_deepspeech, utterance_features):
    stateful = sq.CompressedModel.from_ov(make_stateful(tiny_deepspeech.model), "stateful")
    engine = StreamingEngine({}, FeatureLoader(utterance_features[:3], [0] * 3))
    engine.set_model(stateful)
    recorded = engine.collect_model_inputs(sq.IndexSampler(engine.data_loader))
    assert [item["nncf_reset_state"] for item in recorded] == [True, False, False, True, True]


def test_calibration_sees_the_carried_state(tiny_deepspeech, utterance_features):
    """The calibration set is every chunk with the state carried into it, not chunks with zero state."""
    engine = StreamingEngine({}, FeatureLoader(utterance_features, [0] * 6))
    algorithm = sq.DefaultQuantization({"stat_subset_size": 6}, engine)
    carried = algorithm.calibration_inputs(tiny_deepspeech)
    assert len(carried) == sum(-(-len(f) // 16) for f in utterance_features)
    assert np.abs(carried[1]["previous_state_h"]).max() > 0.05
    zero_state = [dict(item, previous_state_c=np.zeros_like(item["previous_state_c"]),
                       previous_state_h=np.zeros_like(item["previous_state_h"])) for item in carried]
    from speechq.algorithms.default.nncf_backend import quantize_with_nncf

    def state_input_range(calibration):
        model = quantize_with_nncf(tiny_deepspeech.model, calibration, algorithm.params)
        lstm = next(op for op in model.get_ordered_ops() if op.get_friendly_name() == "lstm")
        fq = lstm.input_value(1).get_node()  # initial H, through its FakeQuantize
        while fq.get_type_name() != "FakeQuantize":
            fq = fq.input_value(0).get_node()
        return float(np.max(fq.input_value(2).get_node().get_data()))

    assert state_input_range(carried) > 10 * state_input_range(zero_state)


def test_recurrent_layer_runs_int8(tiny_deepspeech, utterance_features):
    engine = StreamingEngine({}, FeatureLoader(utterance_features, [0] * 6))
    quantized = sq.DefaultQuantization({"stat_subset_size": 6}, engine).run(tiny_deepspeech)
    compiled = get_core().compile_model(quantized.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    recurrent = [layer for layer in runtime_layers(compiled) if layer.type == "RNNSeq"]
    assert recurrent and all(layer.is_integer for layer in recurrent), recurrent


def test_unpairable_and_ambiguous_models_are_explained(tiny_deepspeech):
    with pytest.raises(sq.ModelError, match=r"state_map: 'nope' is not an output of the model \(inputs: input_node"):
        StreamingEngine({}, state_map={"nope": "previous_state_c"}).set_model(tiny_deepspeech)
    with pytest.raises(sq.ModelError, match=r"expected one chunk input .* found \['input_node', 'previous_state_c', 'previous_state_h'\]"):
        StreamingEngine({}, state_map={}).set_model(tiny_deepspeech)


def test_bad_items_are_named(tiny_deepspeech):
    engine = StreamingEngine({}, ArrayLoader([np.zeros((20, 19, 25), np.float32)], [0]), MeanOutput())
    engine.set_model(tiny_deepspeech)
    with pytest.raises(sq.DataError, match=r"item 0: chunks of shape \[1, 16, 19, 25\] do not fit input 'input_node'"):
        engine.predict()
    with pytest.raises(sq.DataError, match="one utterance per batch"):
        engine.set_data_loader(ArrayLoader([np.zeros((20, 19, 26), np.float32)] * 2, [0, 0]))
        engine.predict(sampler=sq.BatchSampler(engine.data_loader, batch_size=2))


def test_tensor_iterator_lstm_is_turned_into_an_int8_sequence(tiny_deepspeech, utterance_features):
    """Older IRs hold the LSTM in a TensorIterator, which NNCF cannot quantize; speechq prepares the graph."""
    from openvino._offline_transformations import convert_sequence_to_tensor_iterator_transformation

    old_style = tiny_deepspeech.model.clone()
    convert_sequence_to_tensor_iterator_transformation(old_style)
    assert "TensorIterator" in {op.get_type_name() for op in old_style.get_ordered_ops()}
    engine = StreamingEngine({}, FeatureLoader(utterance_features, [0] * 6), MeanOutput())
    quantized = sq.DefaultQuantization({"stat_subset_size": 6}, engine).run(sq.CompressedModel.from_ov(old_style, "ti"))
    types = {op.get_type_name() for op in quantized.model.get_ordered_ops()}
    assert "LSTMSequence" in types and "TensorIterator" not in types
    compiled = get_core().compile_model(quantized.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    recurrent = [layer for layer in runtime_layers(compiled) if layer.type == "RNNSeq"]
    assert recurrent and all(layer.is_integer for layer in recurrent), recurrent
    # whatever the IR's origin, the same INT8 model comes out
    from_sequence = sq.DefaultQuantization({"stat_subset_size": 6}, engine).run(tiny_deepspeech)
    engine.set_model(quantized)
    int8_from_ti = _streamed_logits(engine, utterance_features[:2])
    engine.set_model(from_sequence)
    int8_from_sequence = _streamed_logits(engine, utterance_features[:2])
    for a, b in zip(int8_from_ti, int8_from_sequence):
        np.testing.assert_allclose(a, b, atol=1e-5)
