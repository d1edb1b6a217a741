import numpy as np
import pytest
from speechq_testing import ArrayLoader, build_tiny_conv_ctc, first_outputs
from hypothesis import given
from hypothesis import strategies as st

import speechq as sq
from speechq.engines import WindowedEngine
from speechq.engines.windowed_engine import window_starts
from speechq.model import get_core


@pytest.fixture(scope="module")
def conv_ctc():
    return sq.CompressedModel.from_ov(build_tiny_conv_ctc(), "conv")


def _joined_logits(engine, audios):
    return first_outputs(engine, ArrayLoader(audios, [0] * len(audios)))


@given(st.integers(1, 100_000), st.integers(1_000, 20_000), st.integers(100, 5_000))
def test_windows_cover_the_audio(num_samples, window, step):
    starts = window_starts(num_samples, window, step)
    assert starts[0] == 0 and starts[-1] + window >= num_samples
    assert all(b - a == step for a, b in zip(starts, starts[1:]))
    assert len(starts) == 1 or starts[-2] + window < num_samples


def test_windowed_logits_equal_whole_utterance_logits(conv_ctc):
    rng = np.random.default_rng(0)
    audios = [rng.normal(size=n).astype(np.float32) for n in (160_000, 31_999, 75_003)]
    engine = WindowedEngine({}, window_samples=32_000, context_samples=4_800)
    engine.set_model(conv_ctc)
    windowed = _joined_logits(engine, audios)
    assert engine.hop_samples == 320
    compiled = get_core().compile_model(conv_ctc.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    for audio, logits in zip(audios, windowed):
        whole = compiled({"input_values": audio[np.newaxis]})["logits"]
        assert logits.shape == whole.shape
        np.testing.assert_allclose(logits, whole, atol=1e-4)


def test_windowed_engine_options_are_checked(conv_ctc):
    with pytest.raises(sq.ConfigError, match=r"2 \* context_samples \(32000\) must be smaller than window_samples \(32000\)"):
        WindowedEngine({}, window_samples=32_000, context_samples=16_000)
    with pytest.raises(sq.ModelError, match=r"input_name 'audio' is not a model input \['input_values'\]"):
        WindowedEngine({}, input_name="audio").set_model(conv_ctc)


def test_static_length_models_are_explained():
    model = build_tiny_conv_ctc()
    model.reshape({"input_values": [1, 16000]})
    with pytest.raises(sq.ModelError, match=r"must be \[batch, samples\] with a dynamic number of samples, got \[1,16000\]"):
        WindowedEngine({}).set_model(model)


class _RunningWindowedEngine(WindowedEngine):
    """Replaces ``_process_dataset`` (doing the same), so collect_model_inputs records what inference is fed."""

    def _process_dataset(self, compiled, sampler, state, progress):
        super()._process_dataset(compiled, sampler, state, progress)


def test_model_inputs_are_built_without_the_model_as_inference_is_fed(conv_ctc):
    rng = np.random.default_rng(1)
    audios = [rng.normal(size=n).astype(np.float32) for n in (20_000, 160_000, 31_999, 75_003)]
    loader = ArrayLoader(audios, [0] * len(audios))
    engines = [cls({}, loader, window_samples=32_000, context_samples=4_800) for cls in (WindowedEngine, _RunningWindowedEngine)]
    for engine in engines:
        engine.set_model(conv_ctc)
    built, fed = (engine.collect_model_inputs(sq.IndexSampler(loader)) for engine in engines)
    assert len(built) == len(fed) == 1 + 7 + 1 + 3  # windows per utterance
    for one, other in zip(built, fed):
        assert one.keys() == other.keys() == {"input_values"}
        np.testing.assert_array_equal(one["input_values"], other["input_values"])
    assert engines[0].hop_samples == 320  # the long utterances needed it

    short = WindowedEngine({}, loader, window_samples=32_000, context_samples=4_800)
    short.set_model(conv_ctc)
    inputs = short.collect_model_inputs(sq.IndexSampler(loader, [0, 2]))
    assert [item["input_values"].shape for item in inputs] == [(1, 20_000), (1, 31_999)]
    assert short.hop_samples is None  # one window each: the model never ran
