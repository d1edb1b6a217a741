import numpy as np

from speechq.engines._state_pairs import find_streaming_layout
from speechq.zoo.architectures import DEEPSPEECH_STATE_C_OUTPUT, DEEPSPEECH_STATE_H_OUTPUT, deepspeech_graph, random_deepspeech_weights
from speechq.model import get_core


def test_deepspeech_graph_has_omz_interface_and_runs():
    model = deepspeech_graph(random_deepspeech_weights(hidden=32, seed=1))
    assert [(p.get_any_name(), list(p.get_shape())) for p in model.inputs] == [
        ("input_node", [1, 16, 19, 26]), ("previous_state_c", [1, 32]), ("previous_state_h", [1, 32])]
    assert {p.get_any_name() for p in model.outputs} == {"logits", DEEPSPEECH_STATE_C_OUTPUT, DEEPSPEECH_STATE_H_OUTPUT}
    assert dict(find_streaming_layout(model).state_map) == {DEEPSPEECH_STATE_C_OUTPUT: "previous_state_c",
                                                           DEEPSPEECH_STATE_H_OUTPUT: "previous_state_h"}
    compiled = get_core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    zeros = np.zeros((1, 32), np.float32)
    out = compiled({"input_node": np.ones((1, 16, 19, 26), np.float32), "previous_state_c": zeros, "previous_state_h": zeros})
    np.testing.assert_allclose(out["logits"].sum(axis=-1), 1.0, rtol=1e-5)
    assert np.abs(out[DEEPSPEECH_STATE_C_OUTPUT]).max() > 0


def test_in_graph_mfcc_equals_the_feature_function():
    import openvino as ov
    from openvino import opset13 as ops

    import speechq as sq
    from speechq.zoo.architectures import deepspeech_mfcc_graph

    audio = ops.parameter([1, -1], np.float32, name="audio")
    compiled = get_core().compile_model(ov.Model([ops.result(deepspeech_mfcc_graph(audio.output(0)))], [audio]), "CPU",
                                        {"INFERENCE_PRECISION_HINT": "f32"})
    rng = np.random.default_rng(0)
    for samples in (32_000, 32_001, 31_999, 700):  # whole steps, one sample over, one under, one step
        waveform = (0.1 * rng.normal(size=samples)).astype(np.float32)
        expected = sq.deepspeech_mfcc(waveform)
        got = compiled({"audio": waveform[np.newaxis]})[0]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=2e-4)


def test_waveform_deepspeech_transcribes_as_the_streaming_model():
    """The shipped weights behind an in-graph MFCC front end: one whole-utterance inference gives the streaming
    model's probabilities (chunks of 16 steps, state carried)."""
    import speechq as sq
    from speechq.zoo import get_recipe
    from speechq.zoo.architectures import deepspeech_waveform_graph, deepspeech_weights_from_model

    spec = get_recipe("deepspeech")
    shipped = sq.load_model(spec.default_model)
    waveform = sq.CompressedModel.from_ov(deepspeech_waveform_graph(deepspeech_weights_from_model(shipped.model)), "w")
    raw = sq.LibriSpeechDataLoader(spec.default_data, features=sq.Wav2Vec2Features(do_normalize=False))
    mfcc = sq.LibriSpeechDataLoader(spec.default_data, features=sq.DeepSpeechFeatures())
    caught: dict[str, list[np.ndarray]] = {"raw": [], "mfcc": []}
    for key, engine, loader, model in (("raw", sq.IEEngine, raw, waveform), ("mfcc", sq.StreamingEngine, mfcc, shipped)):
        run = engine({}, loader, None, postprocess=lambda outputs, metadata, key=key: caught[key].append(outputs["logits"]))
        run.set_model(model)
        run.predict(sampler=sq.IndexSampler(loader, [0, 5]))
    for whole, streamed in zip(caught["raw"], caught["mfcc"]):
        assert whole.shape == streamed.shape
        np.testing.assert_allclose(whole, streamed, atol=1e-3)
