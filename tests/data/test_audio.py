"""read_audio: formats, channels, rates, and every bad input named."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from speechq.data import AUDIO_EXTENSIONS, audio_info, read_audio
from speechq.errors import ConfigError, DataError
from speechq.features import DeepSpeechFeatures, chunk_steps, deepspeech_num_steps

from _data_helpers import WriteAudio, make_tone


def test_int16_and_float32_files_give_the_same_samples_and_features(write_audio: WriteAudio) -> None:
    pcm = (make_tone(1.0, 16_000) * 32768).round().astype(np.int16)
    as_int = write_audio("int.wav", pcm, subtype="PCM_16")
    as_float = write_audio("float.wav", pcm.astype(np.float32) / 32768, subtype="FLOAT")
    as_flac = write_audio("int.flac", pcm, subtype="PCM_16")
    samples = read_audio(as_int)
    assert samples.dtype == np.float32 and samples.shape == (16_000,)
    np.testing.assert_array_equal(samples, pcm / np.float32(32768))
    np.testing.assert_array_equal(read_audio(as_float), samples)
    np.testing.assert_array_equal(read_audio(as_flac), samples)
    features = DeepSpeechFeatures()
    np.testing.assert_array_equal(features(read_audio(as_float)), features(samples))


def test_stereo_is_mixed_down(write_audio: WriteAudio) -> None:
    left, right = make_tone(0.5, 16_000, 440), make_tone(0.5, 16_000, 660, amplitude=0.3)
    path = write_audio("stereo.wav", np.stack([left, right], axis=1), subtype="FLOAT")
    np.testing.assert_allclose(read_audio(path), (left + right) / 2, atol=1e-7)
    assert audio_info(path).channels == 2


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_other_rates_are_resampled(write_audio: WriteAudio, rate: int) -> None:
    path = write_audio(f"tone{rate}.wav", make_tone(1.0, rate), rate, subtype="FLOAT")
    samples = read_audio(path)
    assert samples.shape == (16_000,) and samples.dtype == np.float32
    reference = make_tone(1.0, 16_000)
    middle = slice(800, -800)  # resampler edge effects aside
    error = samples[middle] - reference[middle]
    # the tone matches within the noise that differs between the two (independent noise draws, 0.01 rms each)
    assert np.sqrt(np.mean(error**2)) < 0.02
    spectrum = np.abs(np.fft.rfft(samples))
    assert abs(int(np.argmax(spectrum)) - 440) <= 1  # 1 Hz bins over one second


def test_resampled_speech_keeps_its_features(librispeech_mini: Path, write_audio: WriteAudio) -> None:
    original_path = next(librispeech_mini.rglob("1089-134691-0000.flac"))
    original = read_audio(original_path)
    up = soundfile.read(str(original_path), dtype="float32")[0]
    import soxr

    path = write_audio("speech44k.wav", soxr.resample(up, 16_000, 44_100, quality="VHQ"), 44_100, subtype="FLOAT")
    back = read_audio(path)
    assert len(back) == len(original)
    snr = 10 * math.log10(np.sum(original**2) / np.sum((back - original) ** 2))
    assert snr > 40
    features = DeepSpeechFeatures()
    reference, resampled = features.mfcc(original), features.mfcc(back)
    # cepstra span about -40..+20; the round trip only trims the top mel channel (the filters' transition band
    # below 8 kHz), which moves every cepstrum by about 0.07
    assert np.max(np.abs(resampled - reference)) < 0.2
    assert np.corrcoef(resampled.ravel(), reference.ravel())[0, 1] > 0.999


def test_mp3_when_libsndfile_reads_it(write_audio: WriteAudio) -> None:
    if ".mp3" not in AUDIO_EXTENSIONS:
        pytest.skip("this libsndfile does not read MP3 (needs 1.1 or later)")
    path = write_audio("tone.mp3", make_tone(1.0, 16_000), subtype="MPEG_LAYER_III")
    samples = read_audio(path)
    assert abs(len(samples) - 16_000) < 2_000 and np.max(np.abs(samples)) > 0.3


# ------------------------------------------------------------------------------------------- bad inputs
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing\.wav: no such audio file"):
        read_audio(tmp_path / "nothing.wav")


def test_non_audio_file(tmp_path: Path) -> None:
    path = tmp_path / "text.wav"
    path.write_text("this is not audio\n")
    with pytest.raises(DataError, match=r"text\.wav: not a readable audio file"):
        read_audio(path)


def test_zero_length_file(write_audio: WriteAudio) -> None:
    path = write_audio("empty.wav", np.zeros(0, np.int16))
    with pytest.raises(DataError, match=r"empty\.wav: zero-length audio"):
        read_audio(path)


def test_corrupt_flac(write_audio: WriteAudio) -> None:
    path = write_audio("good.flac", make_tone(2.0, 16_000))
    data = bytearray(path.read_bytes())
    data[200:] = bytes(len(data) - 200)  # frames zeroed: header fine, stream broken
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"good\.flac"):
        read_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(write_audio: WriteAudio, bad: float) -> None:
    samples = make_tone(0.2, 16_000)
    samples[100] = bad
    path = write_audio("bad.wav", samples, subtype="FLOAT")
    with pytest.raises(DataError, match=r"bad\.wav: 1 NaN or infinite samples \(first at frame 100\)"):
        read_audio(path)


def test_silence_is_an_error_unless_allowed(write_audio: WriteAudio) -> None:
    path = write_audio("silent.wav", np.zeros(8_000, np.int16))
    with pytest.raises(DataError, match=r"silent\.wav: all-silent audio.*allow_silent=True"):
        read_audio(path)
    np.testing.assert_array_equal(read_audio(path, allow_silent=True), np.zeros(8_000, np.float32))
    one_step = write_audio("dither.wav", np.tile(np.array([1, -1, 0], np.int16), 1000))
    with pytest.raises(DataError, match="all-silent"):
        read_audio(one_step)


def test_unscaled_float_file(write_audio: WriteAudio) -> None:
    path = write_audio("unscaled.wav", make_tone(0.2, 16_000) * 32768, subtype="FLOAT")
    with pytest.raises(DataError, match=r"unscaled\.wav: float samples reach"):
        read_audio(path)


def test_too_short_to_resample(write_audio: WriteAudio) -> None:
    path = write_audio("one.wav", np.array([0.5], np.float32), 44_100, subtype="FLOAT")
    with pytest.raises(DataError, match=r"one\.wav: 1 samples at 44100 Hz are too short"):
        read_audio(path)


@pytest.mark.parametrize("rate", [0, -16_000, 16_000.0, True])
def test_bad_rate_parameter(write_audio: WriteAudio, rate: object) -> None:
    path = write_audio("ok.wav", make_tone(0.1, 16_000))
    with pytest.raises(ConfigError, match="sample_rate_hz"):
        read_audio(path, rate)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- invariants
@settings(max_examples=25, deadline=None)
@given(
    seconds=st.floats(0.01, 1.5),
    rate=st.sampled_from([8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000]),
    channels=st.integers(1, 2),
)
def test_lengths_steps_and_chunks_for_any_length_and_rate(seconds: float, rate: int, channels: int) -> None:
    samples = np.stack([make_tone(seconds, rate, hz=300.0 * (c + 1)) for c in range(channels)], axis=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.flac"
        soundfile.write(str(path), samples, rate, subtype="PCM_16")
        audio = read_audio(path)
        info = audio_info(path)
    expected = math.floor(len(samples) * 16_000 / rate + 0.5)  # soxr rounds half up
    assert audio.shape == (expected,) == (info.num_samples_at(16_000),)
    assert audio.dtype == np.float32 and np.all(np.abs(audio) <= 1.0)
    windows = DeepSpeechFeatures()(audio)
    assert windows.shape == (math.ceil(expected / 320), 19, 26) == (deepspeech_num_steps(expected), 19, 26)
    chunks, valid = chunk_steps(windows)
    assert valid == len(windows) and chunks.shape[0] == math.ceil(len(windows) / 16)
    assert np.all(chunks.reshape(-1, 19, 26)[valid:] == 0)
