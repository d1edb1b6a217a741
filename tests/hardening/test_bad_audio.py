"""Bad and unusual audio, one row per case: refused with a DataError (API) or one error line (CLI) naming the
file, or — for valid but unusual files — read into the same samples and features as the 16 kHz mono 16-bit
equivalent."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soxr
from _cases import assert_cli_error, make_corpus, model_leftovers, run_cli, slow_rows, tone, write_audio

from speechq.data import AudioFolderDataLoader, LibriSpeechDataLoader, read_audio
from speechq.errors import DataError
from speechq.features import DeepSpeechFeatures


# ------------------------------------------------------------------------------------------- bad files
def _corrupt_flac(path: Path) -> Path:
    data = bytearray(write_audio(path, tone(2.0)).read_bytes())
    for index in range(2000, len(data), 97):  # bit errors all through the frames (FLAC's CRCs catch them)
        data[index] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def _truncated_flac(path: Path) -> Path:
    data = write_audio(path, tone(2.0)).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt_wav_header(path: Path) -> Path:
    data = bytearray(write_audio(path, tone()).read_bytes())
    data[20:36] = b"\xff" * 16  # the 'fmt ' chunk's body
    path.write_bytes(bytes(data))
    return path


def _zero_length_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _zero_frames_wav(path: Path) -> Path:
    return write_audio(path, np.zeros(0, np.float32))


def _non_finite(value: float) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        samples = tone()
        samples[1234] = value
        return write_audio(path, samples, subtype="FLOAT")

    return write


def _all_zero(path: Path) -> Path:
    return write_audio(path, np.zeros(16_000, np.float32))


def _text_with_audio_suffix(path: Path) -> Path:
    path.write_text("transcripts are not audio\n")
    return path


def _symlink_loop(path: Path) -> Path:
    path.symlink_to(path.name)  # the link points at itself
    return path


def _broken_symlink(path: Path) -> Path:
    path.symlink_to(path.parent / "gone.flac")
    return path


BAD_FILES = [
    pytest.param("a.flac", _corrupt_flac, "cannot decode audio", id="corrupt-flac-bytes"),
    pytest.param("a.flac", _truncated_flac, "cannot decode audio", id="truncated-flac"),
    pytest.param("a.wav", _corrupt_wav_header, "not a readable audio file", id="corrupt-wav-header"),
    pytest.param("a.wav", _zero_length_file, "not a readable audio file", id="zero-byte-file"),
    pytest.param("a.wav", _zero_frames_wav, "zero-length audio", id="wav-with-no-samples"),
    pytest.param("a.wav", _non_finite(np.nan), "NaN or infinite samples (first at frame 1234)", id="nan-samples"),
    pytest.param("a.wav", _non_finite(np.inf), "NaN or infinite samples (first at frame 1234)", id="inf-samples"),
    pytest.param("a.flac", _all_zero, "all-silent audio", id="all-zero-audio"),
    pytest.param("a.flac", _text_with_audio_suffix, "not a readable audio file", id="text-file-named-flac"),
    pytest.param("a.flac", _symlink_loop, "symlink loop", id="symlink-loop"),
    pytest.param("a.flac", _broken_symlink, "broken symbolic link", id="broken-symlink"),
]


@pytest.mark.parametrize(("name", "make", "message"), BAD_FILES)
def test_read_audio_names_the_bad_file(tmp_path: Path, name: str, make: Callable[[Path], Path], message: str) -> None:
    path = make(tmp_path / name)
    with pytest.raises(DataError) as raised:
        read_audio(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


@pytest.mark.parametrize(("name", "make", "message"), BAD_FILES)
def test_corpus_loader_names_the_bad_file(tmp_path: Path, name: str, make: Callable[[Path], Path], message: str) -> None:
    """In a LibriSpeech-layout corpus, the loader (which decodes every file up front) refuses, naming the file."""
    root = make_corpus(tmp_path / "corpus")
    target = root / "1" / "10" / "1-10-0001.flac"
    target.unlink()
    path = make(target.with_suffix(Path(name).suffix))
    with pytest.raises(DataError) as raised:
        LibriSpeechDataLoader(root, features=DeepSpeechFeatures(), check_audio=True)
    assert str(path) in str(raised.value) and message in str(raised.value)
    kept = LibriSpeechDataLoader(root, features=DeepSpeechFeatures(), check_audio=True, skip_bad=True)
    assert [u.utterance_id for u in kept.utterances] == ["1-10-0000", "1-10-0002"]


def test_truncated_wav_is_read_with_a_warning_naming_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A WAV cut short (an interrupted copy) still decodes: libsndfile reads the frames present. speechq uses them
    and warns, naming the file (a WAV streamed without its final size looks the same, and is valid)."""
    data = write_audio(tmp_path / "a.wav", tone()).read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="speechq.data"):
        samples = read_audio(path)
    assert 7_900 < samples.size < 8_000
    assert f"{path}: the header announces more audio than the file holds (truncated?)" in caplog.text
    caplog.clear()
    read_audio(tmp_path / "a.wav")
    assert "truncated" not in caplog.text


def test_all_zero_audio_is_accepted_when_allowed(tmp_path: Path) -> None:
    """The documented way out: ``allow_silent=True`` reads silence as zeros (features of silence)."""
    path = _all_zero(tmp_path / "silence.flac")
    assert not read_audio(path, allow_silent=True).any()
    loader = AudioFolderDataLoader(tmp_path, features=DeepSpeechFeatures(), allow_silent=True, check_audio=True)
    assert np.isfinite(loader[0][0]).all()


# --------------------------------------------------------------------------------------- bad folders
def test_folder_without_audio(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no audio here")
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataError, match=f"^{tmp_path}: no audio files"):
        AudioFolderDataLoader(tmp_path)
    with pytest.raises(DataError, match=f"^{tmp_path}: no \\*.trans.txt transcripts"):
        LibriSpeechDataLoader(tmp_path)


def test_folder_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    """A folder that links back to its parent is not walked forever: each file is found once."""
    write_audio(tmp_path / "a" / "x.flac", tone())
    (tmp_path / "a" / "back").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    assert [u.utterance_id for u in AudioFolderDataLoader(tmp_path).utterances] == ["a/x"]


# ------------------------------------------------------------------------- valid but unusual files
def _signal(rate: int, seconds: float = 1.0) -> np.ndarray:
    """Four tones and a little noise (float32 [seconds * rate])."""
    t = np.arange(int(seconds * rate)) / rate
    tones = sum(a * np.sin(2 * np.pi * f * t) for f, a in ((220, 0.3), (700, 0.2), (1800, 0.1), (3100, 0.05)))
    return (tones + np.random.default_rng(0).normal(scale=0.01, size=t.size)).astype(np.float32)


def _unusual(case: str) -> tuple[np.ndarray, int, str, np.ndarray]:
    """(samples, rate, subtype) of the unusual file, and the same audio as 16 kHz mono float32."""
    s16 = _signal(16_000)
    if case == "8kHz":
        s8 = _signal(8_000)
        return s8, 8_000, "PCM_16", soxr.resample(s8, 8_000, 16_000, quality="VHQ")
    if case == "44.1kHz":
        return soxr.resample(s16, 16_000, 44_100, quality="VHQ"), 44_100, "PCM_16", s16
    if case == "stereo":
        return np.stack([1.5 * s16, 0.5 * s16], axis=1), 16_000, "PCM_16", s16
    if case == "24-bit":
        return s16, 16_000, "PCM_24", s16
    assert case == "44.1kHz-stereo-24-bit"
    up = soxr.resample(s16, 16_000, 44_100, quality="VHQ")
    return np.stack([up, up], axis=1), 44_100, "PCM_24", s16


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
@pytest.mark.parametrize("case", ["8kHz", "44.1kHz", "stereo", "24-bit", "44.1kHz-stereo-24-bit"])
def test_unusual_but_valid_audio_gives_the_16k_mono_features(tmp_path: Path, case: str, suffix: str) -> None:
    samples, rate, subtype, same16 = _unusual(case)
    unusual = read_audio(write_audio(tmp_path / f"unusual{suffix}", samples, rate, subtype=subtype))
    reference = read_audio(write_audio(tmp_path / f"reference{suffix}", same16, 16_000, subtype="PCM_16"))
    assert unusual.shape == reference.shape == (16_000,) and unusual.dtype == np.float32
    middle = slice(800, -800)  # resampler edge effects aside
    assert np.sqrt(np.mean((unusual[middle] - reference[middle]) ** 2)) < 5e-3  # signal rms ~0.27
    features = DeepSpeechFeatures()
    got, want = features.mfcc(unusual)[5:-5], features.mfcc(reference)[5:-5]
    if case == "8kHz":
        # an 8 kHz file holds nothing above 4 kHz, where the 16-bit reference holds its quantization noise: the
        # top mel bands differ in level, every other part of the cepstra agrees
        assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.98
    else:
        assert np.max(np.abs(got - want)) < 0.2  # cepstra span about -5..+9 here
        assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.999


# ------------------------------------------------------------------------------------------------ CLI
@pytest.mark.parametrize(
    ("make", "message"),
    slow_rows([
        pytest.param(_corrupt_flac, "cannot decode audio", id="corrupt-flac"),
        pytest.param(_all_zero, "all-silent audio", id="all-zero-audio"),
        pytest.param(_symlink_loop, "symlink loop", id="symlink-loop"),
    ], {"symlink-loop"}),
)
def test_cli_quantize_names_the_bad_audio_before_any_inference(
    tmp_path: Path, tiny_ir: Path, make: Callable[[Path], Path], message: str
) -> None:
    root = make_corpus(tmp_path / "corpus")
    target = root / "1" / "10" / "1-10-0002.flac"
    target.unlink()
    make(target)
    done = run_cli("quantize", "-m", tiny_ir, "-d", root, "-o", tmp_path / "out", "--subset-size", "2", "--no-progress")
    assert_cli_error(done, "quantize", target, message)
    assert model_leftovers(tmp_path / "out") == []


def test_cli_transcribe_names_a_folder_without_audio(tmp_path: Path, tiny_ir: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing to hear")
    done = run_cli("transcribe", "-m", tiny_ir, empty)
    assert_cli_error(done, "transcribe", empty, "no audio files")


def test_cli_skip_bad_leaves_the_bad_file_out_and_says_so(tmp_path: Path, tiny_ir: Path) -> None:
    """Without --skip-bad the run stops, naming the file once and the way out; with it, the other utterances are
    transcribed and evaluated, and a warning names the file left out."""
    root = make_corpus(tmp_path / "corpus")
    target = _corrupt_flac(root / "1" / "10" / "1-10-0001.flac")
    line = assert_cli_error(run_cli("transcribe", "-m", tiny_ir, "-d", root), "transcribe", target, "--skip-bad")
    assert line.count(str(target)) == 1, line
    done = run_cli("transcribe", "-m", tiny_ir, "-d", root, "--skip-bad")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [row.split("\t")[0] for row in done.stdout.splitlines()] == ["1-10-0000", "1-10-0002"]
    assert f"{target}: cannot decode audio" in done.stderr and "skipped 1 problem(s)" in done.stderr
    done = run_cli("eval", "--json", "--skip-bad", "--decoder", "greedy", "-d", root, tiny_ir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [result["utterances"] for result in json.loads(done.stdout)] == [2]
