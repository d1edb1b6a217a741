"""speechq.features: DeepSpeech MFCC against an independent per-frame reference, context windows, chunks, Wav2Vec2."""

from __future__ import annotations

import math
from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.fft
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from speechq import features as F
from speechq.errors import ConfigError, DataError

LIBRISPEECH_MINI = Path(__file__).resolve().parents[1].parent / "shared" / "librispeech-mini"

# Agreement of the vectorised MFCC with the per-frame float64 reference below, in cepstral units (the cepstra of
# speech span about -60..+20). Measured: at most 7.5e-6 on the four LibriSpeech utterances (float32 output rounding).
MFCC_ATOL = 5e-5


# --------------------------------------------------------------------------------- independent reference
def _reference_filterbank(num_bins: int, channels: int, low: float, high: float, rate: int) -> tuple:
    """TensorFlow MfccMelFilterbank::Initialize, transcribed as loops (band mapper + weights)."""

    def mel(f: float) -> float:
        return 1127.0 * math.log(1.0 + f / 700.0)

    mel_low, mel_high = mel(low), mel(high)
    spacing = (mel_high - mel_low) / (channels + 1)
    centres = [mel_low + spacing * (i + 1) for i in range(channels + 1)]
    hz_per_bin = 0.5 * rate / (num_bins - 1)
    start, end = int(1.5 + low / hz_per_bin), int(high / hz_per_bin)
    band, weights, channel = [-2] * num_bins, [0.0] * num_bins, 0
    for i in range(start, end + 1):
        while channel < channels and centres[channel] < mel(i * hz_per_bin):
            channel += 1
        band[i] = channel - 1
        if band[i] >= 0:
            weights[i] = (centres[band[i] + 1] - mel(i * hz_per_bin)) / (centres[band[i] + 1] - centres[band[i]])
        else:
            weights[i] = (centres[0] - mel(i * hz_per_bin)) / (centres[0] - mel_low)
    return start, end, band, weights


def reference_mfcc(audio: np.ndarray) -> np.ndarray:
    """Frame by frame, with an explicit DFT and TensorFlow's loops: [ceil(N / 320), 26] float64."""
    window, step, channels, ceps = 512, 320, 40, 26
    steps = math.ceil(len(audio) / step)
    padded = np.concatenate([audio.astype(np.float64), np.zeros(window + step)])
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / (window - 1)) for n in range(window)])
    n = np.arange(window)
    k = np.arange(window // 2 + 1)[:, None]
    cos_table, sin_table = np.cos(2 * np.pi * k * n / window), np.sin(2 * np.pi * k * n / window)
    start, end, band, weights = _reference_filterbank(window // 2 + 1, channels, 20.0, 8000.0, 16000)
    out = np.zeros((steps, ceps))
    for t in range(steps):
        frame = padded[t * step : t * step + window] * hann
        power = (cos_table @ frame) ** 2 + (sin_table @ frame) ** 2
        energies = [0.0] * channels
        for i in range(start, end + 1):
            value = math.sqrt(power[i])
            weighted = value * weights[i]
            if band[i] >= 0:
                energies[band[i]] += weighted
            if band[i] + 1 < channels:
                energies[band[i] + 1] += value - weighted
        logs = [math.log(max(e, 1e-12)) for e in energies]
        for i in range(ceps):
            out[t, i] = sum(
                math.sqrt(2.0 / channels) * math.cos(math.pi / channels * i * (j + 0.5)) * logs[j] for j in range(channels)
            )
    return out


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    path = LIBRISPEECH_MINI / "test-clean" / "1089" / "134691" / "1089-134691-0000.flac"
    if not path.is_file():
        pytest.skip(f"{path} is absent (real LibriSpeech utterances for tests)")
    audio, rate = soundfile.read(str(path), dtype="float32")
    assert rate == 16_000
    return audio


# ------------------------------------------------------------------------------------------------ MFCC
def test_mfcc_matches_reference_on_speech(speech: np.ndarray) -> None:
    ours = F.deepspeech_mfcc(speech)
    reference = reference_mfcc(speech)
    assert ours.shape == reference.shape == (math.ceil(len(speech) / 320), 26)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, rtol=0, atol=MFCC_ATOL)


def test_mfcc_matches_reference_on_noise_and_tones() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(5_000) / 16_000
    audio = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.normal(size=t.size)).astype(np.float32)
    np.testing.assert_allclose(F.deepspeech_mfcc(audio), reference_mfcc(audio), rtol=0, atol=MFCC_ATOL)


def test_power_spectrum_and_dct_agree_with_librosa_and_scipy(speech: np.ndarray) -> None:
    """The stages the reference shares no code with: librosa's STFT and scipy's DCT-II give the same numbers."""
    frames = F._frames(speech, pad_end=True)
    ours = np.abs(np.fft.rfft(frames * np.hanning(512), 512, axis=-1)) ** 2
    padded = np.concatenate([speech, np.zeros(512, np.float32)])
    stft = librosa.stft(padded, n_fft=512, hop_length=320, win_length=512, window=np.hanning(512), center=False)
    np.testing.assert_allclose(ours, (np.abs(stft) ** 2).T[: len(ours)], rtol=1e-4, atol=1e-6)
    logs = np.random.default_rng(0).normal(size=(7, 40))
    scipy_dct = scipy.fft.dct(logs, type=2, norm="ortho", axis=-1)[:, :26]
    scipy_dct[:, 0] *= math.sqrt(2.0)  # TensorFlow scales every coefficient by sqrt(2 / N), ortho scales c0 by sqrt(1 / N)
    np.testing.assert_allclose(logs @ F._dct_matrix(), scipy_dct, atol=1e-12)


def test_mel_filterbank_is_a_partition_of_the_band() -> None:
    matrix = F._mel_matrix()
    assert matrix.shape == (257, 40) and np.all(matrix >= 0)
    sums = matrix.sum(axis=1)
    inner = slice(3, 240)  # between the first and the last channel centre every bin's weight sums to one
    np.testing.assert_allclose(sums[inner], 1.0, atol=1e-12)
    assert np.all(sums[:2] == 0) and np.all(np.diff(sums[240:]) < 0) and sums[256] == pytest.approx(0.0, abs=1e-9)


def test_frame_count_accuracy_checker_and_tensorflow() -> None:
    assert F.deepspeech_num_steps(16_000) == 50
    assert F.deepspeech_num_steps(16_001) == 51
    assert F.deepspeech_num_steps(16_000, pad_end=False) == 49
    assert F.deepspeech_num_steps(511, pad_end=False) == 0
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, 16_000).astype(np.float32)
    padded, whole = F.deepspeech_mfcc(audio), F.deepspeech_mfcc(audio, pad_end=False)
    assert whole.shape == (49, 26)
    np.testing.assert_array_equal(padded[:49], whole)


def test_silence_hits_the_log_floor() -> None:
    mfcc = F.deepspeech_mfcc(np.zeros(1_000, np.float32))
    np.testing.assert_allclose(mfcc[:, 0], math.sqrt(2 / 40) * 40 * math.log(1e-12), rtol=1e-6)
    np.testing.assert_allclose(mfcc[:, 1:], 0, atol=1e-4)


@pytest.mark.parametrize("bad", [np.zeros((2, 100)), np.array([0.0, np.nan]), np.array([np.inf]), np.array(["a"])])
def test_mfcc_rejects_bad_audio(bad: np.ndarray) -> None:
    with pytest.raises(DataError, match="audio"):
        F.deepspeech_mfcc(bad)


# ------------------------------------------------------------------------------- windows and chunks
@settings(max_examples=60, deadline=None)
@given(num_samples=st.integers(0, 20_000), pad_end=st.booleans())
def test_feature_length_for_any_audio_length(num_samples: int, pad_end: bool) -> None:
    audio = np.random.default_rng(num_samples).uniform(-1, 1, num_samples).astype(np.float32)
    mfcc = F.deepspeech_mfcc(audio, pad_end=pad_end)
    expected = math.ceil(num_samples / 320) if pad_end else max(0, (num_samples - 512) // 320 + 1)
    assert mfcc.shape == (expected, 26) == (F.deepspeech_num_steps(num_samples, pad_end), 26)
    assert np.all(np.isfinite(mfcc))


@settings(max_examples=60, deadline=None)
@given(steps=st.integers(0, 60), width=st.integers(1, 5), context=st.integers(0, 12))
def test_context_windows_shift_with_zero_padding(steps: int, width: int, context: int) -> None:
    mfcc = np.arange(1, steps * width + 1, dtype=np.float32).reshape(steps, width)
    windows = F.context_windows(mfcc, context)
    assert windows.shape == (steps, 2 * context + 1, width) and windows.dtype == np.float32
    assert windows.flags.writeable and windows.flags.c_contiguous
    for t in range(steps):
        for k in range(2 * context + 1):
            source = t + k - context
            expected = mfcc[source] if 0 <= source < steps else np.zeros(width, np.float32)
            np.testing.assert_array_equal(windows[t, k], expected)


@settings(max_examples=60, deadline=None)
@given(steps=st.integers(0, 100), size=st.integers(1, 20))
def test_chunks_pad_the_last_and_keep_the_length(steps: int, size: int) -> None:
    features = np.random.default_rng(steps).normal(size=(steps, 3, 2)).astype(np.float32)
    chunks, valid = F.chunk_steps(features, size)
    assert valid == steps
    assert chunks.shape == (math.ceil(steps / size), size, 3, 2) and chunks.dtype == np.float32
    flat = chunks.reshape(-1, 3, 2)
    np.testing.assert_array_equal(flat[:steps], features)
    assert np.all(flat[steps:] == 0)


def test_windows_and_chunks_reject_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="context"):
        F.context_windows(np.zeros((3, 26)), -1)
    with pytest.raises(DataError, match="mfcc"):
        F.context_windows(np.zeros(26))
    with pytest.raises(ConfigError, match="chunk_steps"):
        F.chunk_steps(np.zeros((3, 2)), 0)
    with pytest.raises(ConfigError, match="chunk_steps"):
        F.chunk_steps(np.zeros((3, 2)), 2.5)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------- Wav2Vec2
def _hugging_face_normalise(audio: np.ndarray) -> np.ndarray:
    """Wav2Vec2FeatureExtractor: float32 cast, then zero_mean_unit_var_norm without attention mask."""
    x = np.asarray(audio, dtype=np.float32)
    return (x - x.mean()) / np.sqrt(x.var() + 1e-7)


@settings(max_examples=40, deadline=None)
@given(num_samples=st.integers(1, 5_000), scale=st.floats(1e-4, 1.0), offset=st.floats(-0.2, 0.2))
def test_wav2vec2_matches_hugging_face_formula(num_samples: int, scale: float, offset: float) -> None:
    audio = (offset + scale * np.random.default_rng(num_samples).normal(size=num_samples)).astype(np.float32)
    values = F.wav2vec2_input(audio)
    assert values.shape == (1, num_samples) and values.dtype == np.float32
    np.testing.assert_array_equal(values[0], _hugging_face_normalise(audio))


def test_wav2vec2_statistics_and_flag(speech: np.ndarray) -> None:
    values = F.wav2vec2_input(speech)[0]
    assert abs(float(values.mean())) < 1e-5 and abs(float(values.std()) - 1) < 1e-3
    raw = F.wav2vec2_input(speech.astype(np.float64), do_normalize=False)
    assert raw.dtype == np.float32
    np.testing.assert_array_equal(raw[0], speech)
    constant = F.wav2vec2_input(np.full(100, 0.5, np.float32))
    np.testing.assert_array_equal(constant, 0)  # the 1e-7 keeps silence finite


# ------------------------------------------------------------------------------------------ transforms
def test_transform_classes_equal_the_functions(speech: np.ndarray) -> None:
    np.testing.assert_array_equal(F.DeepSpeechFeatures()(speech), F.context_windows(F.deepspeech_mfcc(speech)))
    np.testing.assert_array_equal(
        F.DeepSpeechFeatures(context=4, pad_end=False)(speech),
        F.context_windows(F.deepspeech_mfcc(speech, pad_end=False), 4),
    )
    np.testing.assert_array_equal(F.Wav2Vec2Features()(speech), F.wav2vec2_input(speech))
    np.testing.assert_array_equal(F.Wav2Vec2Features(False)(speech), F.wav2vec2_input(speech, do_normalize=False))
    ds = F.DeepSpeechFeatures()
    assert ds(speech).shape == (ds.num_steps(len(speech)), 19, 26)
    assert ds.sample_rate_hz == F.Wav2Vec2Features.sample_rate_hz == 16_000


@pytest.mark.parametrize(
    "make", [lambda: F.DeepSpeechFeatures(context=-1), lambda: F.DeepSpeechFeatures(pad_end=1),
             lambda: F.Wav2Vec2Features(do_normalize="yes")]
)
def test_transform_classes_validate(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        make()


def test_streaming_chunks_equal_whole_utterance_features(speech: np.ndarray) -> None:
    """No per-utterance statistics: MFCC of a prefix equals the prefix of the MFCC (frames fully inside it)."""
    whole = F.deepspeech_mfcc(speech)
    prefix_samples = 320 * 40 + 192  # exactly 40 whole windows
    np.testing.assert_array_equal(F.deepspeech_mfcc(speech[:prefix_samples])[:40], whole[:40])


def test_log_mel_equals_the_in_graph_front_end(speech: np.ndarray) -> None:
    """The features speechq computes for a features-input model are what ``log_mel_graph`` computes in a graph."""
    import openvino as ov
    from openvino import opset13 as ops

    from speechq.zoo.architectures import log_mel_graph

    audio = ops.parameter([1, -1], np.float32, name="audio")
    compiled = ov.Core().compile_model(ov.Model([ops.result(log_mel_graph(audio.output(0), 40))], [audio]), "CPU",
                                       {"INFERENCE_PRECISION_HINT": "f32"})
    for samples in (len(speech), 16_000, 16_161):
        expected = F.log_mel(speech[:samples], mels=40)
        assert expected.shape == (F.log_mel_num_frames(samples, 400, 160), 40)
        np.testing.assert_allclose(compiled(speech[np.newaxis, :samples])[0][0], expected, atol=1e-4)


def test_log_mel_transform_layouts_and_checks(speech: np.ndarray) -> None:
    frames_first = F.LogMelFeatures(mels=40)(speech[:16_000])
    assert frames_first.shape == (98, 40) and F.LogMelFeatures(mels=40).num_steps(16_000) == 98
    np.testing.assert_array_equal(F.LogMelFeatures(mels=40, layout="FT")(speech[:16_000]), frames_first.T)
    np.testing.assert_allclose(frames_first.mean(axis=0), 0.0, atol=1e-4)  # normalised per band
    with pytest.raises(ConfigError, match=r"layout must be 'TF'"):
        F.LogMelFeatures(layout="BTF")
    with pytest.raises(ConfigError, match=r"hop_samples \(500\) must not exceed window_samples \(400\)"):
        F.LogMelFeatures(hop_samples=500)
