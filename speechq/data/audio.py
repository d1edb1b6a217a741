"""Reading audio files: any soundfile format, mixed down to mono, resampled to the model's rate."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
import soundfile
import soxr

from speechq.constants import SAMPLE_RATE_HZ
from speechq.errors import ConfigError, DataError

__all__ = ["AUDIO_EXTENSIONS", "AudioInfo", "audio_info", "read_audio"]

logger = logging.getLogger(__name__)

_BASE_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".oga", ".aiff", ".aif", ".au", ".caf", ".w64", ".rf64")
AUDIO_EXTENSIONS: tuple[str, ...] = _BASE_EXTENSIONS + ((".mp3",) if "MP3" in soundfile.available_formats() else ())
"""File name endings taken as audio (lower case); ``.mp3`` only where libsndfile decodes MP3 (1.1 and later)."""

SILENCE_PEAK = 1.0 / 32768
"""A file whose loudest sample is at most this (one 16-bit step) counts as silent."""

_RESAMPLE_QUALITY = "HQ"  # soxr's high quality (the python-soxr default)
_FLOAT_PEAK_LIMIT = 1.5  # float files louder than this hold unscaled integers, not audio in [-1, 1]
_SOUNDFILE_ERRORS = (soundfile.SoundFileError, RuntimeError, OSError, ValueError, TypeError)


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file's header says.

    Attributes:
        path: the file. sample_rate_hz: its rate. num_frames: samples per channel. channels: channel count.
    """

    path: Path
    sample_rate_hz: int
    num_frames: int
    channels: int

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.sample_rate_hz

    def num_samples_at(self, sample_rate_hz: int) -> int:
        """Samples after resampling to ``sample_rate_hz``: ``frames * target / rate`` rounded half up, as soxr gives."""
        if sample_rate_hz == self.sample_rate_hz:
            return self.num_frames
        return math.floor(self.num_frames * sample_rate_hz / self.sample_rate_hz + 0.5)


def audio_info(path: str | Path) -> AudioInfo:
    """Read an audio file's header only (cheap): rate, length, channels.

    Raises:
        DataError: the file is missing (or a broken symlink / symlink loop), is not audio soundfile can read, or
            holds no samples.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise DataError(f"{path}: broken symbolic link or symlink loop (no audio file behind it)")
    if not path.is_file():
        raise DataError(f"{path}: no such audio file")
    try:
        info = soundfile.info(str(path))
    except _SOUNDFILE_ERRORS as error:
        raise DataError(f"{path}: not a readable audio file ({_reason(error)})") from error
    if info.frames <= 0:
        raise DataError(f"{path}: zero-length audio (no samples)")
    if any(line.startswith("data") and "(should be" in line for line in str(info.extra_info).splitlines()):
        logger.warning("%s: the header announces more audio than the file holds (truncated?); using the %d frames "
                       "present", path, info.frames)
    return AudioInfo(path, int(info.samplerate), int(info.frames), int(info.channels))


def read_audio(path: str | Path, sample_rate_hz: int = SAMPLE_RATE_HZ, allow_silent: bool = False) -> NDArray[np.float32]:
    """One audio file as a mono float32 waveform at ``sample_rate_hz``.

    Integer PCM is scaled by its full range (int16 / 32768), so 16-bit and float copies of a file give the same
    samples; several channels are averaged; another rate is resampled with soxr (high quality); the result is
    clipped to [-1, 1] (a resampler may overshoot a full-scale signal slightly).

    Args:
        path: any format soundfile reads (WAV, FLAC, OGG/Vorbis/Opus, MP3 with libsndfile >= 1.1, ...).
        sample_rate_hz: the rate to return.
        allow_silent: accept a file whose samples are all within one 16-bit step of zero.

    Returns:
        ``[N]`` float32 in [-1, 1], ``N = frames * sample_rate_hz / file_rate`` rounded half up.

    Raises:
        DataError: missing, unreadable, non-audio or zero-length file; NaN or infinite samples; float samples far
            outside [-1, 1]; silence (unless ``allow_silent``); too short to resample to one sample.
        ConfigError: ``sample_rate_hz`` is not a positive integer.
    """
    if isinstance(sample_rate_hz, bool) or not isinstance(sample_rate_hz, (int, np.integer)) or sample_rate_hz <= 0:
        raise ConfigError(f"sample_rate_hz must be a positive integer, got {sample_rate_hz!r}")
    info = audio_info(path)
    try:
        samples, rate = soundfile.read(str(info.path), dtype="float32", always_2d=True)
    except _SOUNDFILE_ERRORS as error:
        raise DataError(f"{info.path}: cannot decode audio ({_reason(error)})") from error
    mono = _check_samples(info.path, samples).mean(axis=1, dtype=np.float32)
    if rate != sample_rate_hz:
        mono = soxr.resample(mono, rate, int(sample_rate_hz), quality=_RESAMPLE_QUALITY)
        if mono.size == 0:
            raise DataError(f"{info.path}: {samples.shape[0]} samples at {rate} Hz are too short for {sample_rate_hz} Hz")
    mono = np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)
    if not allow_silent and float(np.max(np.abs(mono))) <= SILENCE_PEAK:
        raise DataError(
            f"{info.path}: all-silent audio (no sample above {SILENCE_PEAK:.1e} of full scale); "
            "pass allow_silent=True to accept it"
        )
    return np.ascontiguousarray(mono)


def _check_samples(path: Path, samples: NDArray[np.float32]) -> NDArray[np.float32]:
    """``samples`` [frames, channels] unchanged, or DataError for empty, non-finite or unscaled data."""
    if samples.shape[0] == 0:
        raise DataError(f"{path}: zero-length audio (no samples)")
    finite = np.isfinite(samples)
    if not finite.all():
        bad = int(np.size(finite) - np.count_nonzero(finite))
        first = int(np.argmin(finite.all(axis=1)))
        raise DataError(f"{path}: {bad} NaN or infinite samples (first at frame {first})")
    peak = float(np.max(np.abs(samples)))
    if peak > _FLOAT_PEAK_LIMIT:
        raise DataError(
            f"{path}: float samples reach {peak:.4g}; expected audio scaled to [-1, 1] "
            "(the file seems to hold unscaled integer values)"
        )
    return samples


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
