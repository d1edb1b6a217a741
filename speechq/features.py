"""Model input features: DeepSpeech MFCC with context windows, Wav2Vec2's normalised waveform, and a standard
log-mel spectrogram for CTC models that read precomputed features.

Functional core (pure functions on numpy arrays) and thin transform classes that validate their parameters once
and delegate to the functions.

DeepSpeech 0.8.2 front end, as Open Model Zoo's accuracy checker computes it for ``mozilla-deepspeech-0.8.2``
(``models/public/mozilla-deepspeech-0.8.2/accuracy-check.yml``: ``audio_normalization(int16mode)``,
``clip_audio(512 samples, overlap 192)``, ``hanning_window(512)``, ``audio_spectrogram(fftbase 512, squared)``,
``audio_triangle_filtering(filter_amplitudes, base 257, 40 channels, 20-8000 Hz)``, ``audio_dct(26)``,
``clip_cepstrum(context 9)``, ``pack_cepstrum(16)``), which ports TensorFlow's ``audio_spectrogram`` and ``mfcc``
kernels that DeepSpeech's own graph uses:

1. audio in [-1, 1) (int16 / 32768), framed into windows of 512 samples every 320 samples (20 ms at 16 kHz);
   the end is zero-padded so that there are ``ceil(N / 320)`` frames (``pad_end=False``: only whole windows,
   ``floor((N - 512) / 320) + 1`` frames, as TensorFlow's kernel and older accuracy checkers frame);
2. each frame times a symmetric Hann window (``np.hanning(512)``; TensorFlow's kernel uses the periodic Hann,
   which moves cepstra by 2e-3 on average and 5e-2 at most on LibriSpeech speech, far below what matters);
3. power spectrum ``|rfft(frame, 512)|^2``: 257 bins of 31.25 Hz;
4. TensorFlow's mel filterbank applied to the magnitude ``sqrt(power)``: 40 triangular channels, linear in mel
   (``1127 ln(1 + f / 700)``) between 20 Hz and 8000 Hz, bins 2..256 only;
5. natural log with a floor of 1e-12 on the channel energies;
6. DCT-II with TensorFlow's scaling ``sqrt(2 / 40) cos(pi i (j + 0.5) / 40)`` (the same factor for every
   coefficient), first 26 coefficients.

Then context windows of 9 frames each side (zeros outside the utterance): ``[T, 19, 26]``, fed to the model in
chunks of 16 steps (``[1, 16, 19, 26]``, the last chunk zero-padded).

None of this depends on per-utterance statistics, so features of a chunked stream equal those of the whole clip.
Wav2Vec2's input does depend on them (mean and variance of the whole utterance), as Hugging Face computes it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from speechq.constants import (
    DEEPSPEECH_CEPSTRA,
    DEEPSPEECH_CHUNK_STEPS,
    DEEPSPEECH_CONTEXT_FRAMES,
    DEEPSPEECH_FFT_SIZE,
    DEEPSPEECH_MEL_CHANNELS,
    DEEPSPEECH_MEL_HIGH_HZ,
    DEEPSPEECH_MEL_LOW_HZ,
    DEEPSPEECH_STEP_SAMPLES,
    DEEPSPEECH_WINDOW_SAMPLES,
    SAMPLE_RATE_HZ,
)
from speechq.errors import ConfigError, DataError

__all__ = [
    "DeepSpeechFeatures",
    "Wav2Vec2Features",
    "chunk_steps",
    "context_windows",
    "deepspeech_dct_matrix",
    "deepspeech_mel_matrix",
    "deepspeech_mfcc",
    "deepspeech_num_steps",
    "LogMelFeatures",
    "log_mel",
    "log_mel_num_frames",
    "wav2vec2_input",
]

_LOG_FLOOR = 1e-12  # TensorFlow's kFilterbankFloor
_HZ_TO_MEL = 1127.0  # TensorFlow's MfccMelFilterbank::FreqToMel: 1127 ln(1 + f / 700)
_MEL_BREAK_HZ = 700.0
_WAV2VEC2_EPSILON = 1e-7  # Hugging Face Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm


# ------------------------------------------------------------------------------------------------- checks
def _audio_1d(audio: Any, name: str = "audio") -> NDArray[np.floating[Any]]:
    """``audio`` as a 1-D floating array (no copy when it already is one).

    Raises:
        DataError: not 1-D, not real numbers, or not finite.
    """
    array = np.asarray(audio)
    if array.ndim != 1:
        raise DataError(f"{name}: expected a 1-D waveform [N], got shape {list(array.shape)}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise DataError(f"{name}: expected real samples, got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name}: {int(np.sum(~np.isfinite(array)))} samples are NaN or infinite")
    return array


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------------------ DeepSpeech MFCC
def deepspeech_num_steps(num_samples: int, pad_end: bool = True) -> int:
    """Number of MFCC frames (time steps) of ``num_samples`` audio samples at 16 kHz.

    ``ceil(N / 320)`` with ``pad_end`` (accuracy checker), else ``floor((N - 512) / 320) + 1`` (0 when N < 512).
    """
    if pad_end:
        return -(-num_samples // DEEPSPEECH_STEP_SAMPLES)
    if num_samples < DEEPSPEECH_WINDOW_SAMPLES:
        return 0
    return (num_samples - DEEPSPEECH_WINDOW_SAMPLES) // DEEPSPEECH_STEP_SAMPLES + 1


def _frames(audio: NDArray[Any], pad_end: bool) -> NDArray[np.float64]:
    """``[T, 512]`` float64 windows every 320 samples (zero-padded at the end with ``pad_end``)."""
    steps = deepspeech_num_steps(len(audio), pad_end)
    needed = (steps - 1) * DEEPSPEECH_STEP_SAMPLES + DEEPSPEECH_WINDOW_SAMPLES if steps else 0
    padded = np.zeros(max(needed, len(audio)), dtype=np.float64)
    padded[: len(audio)] = audio
    if steps == 0:
        return np.zeros((0, DEEPSPEECH_WINDOW_SAMPLES), dtype=np.float64)
    view = np.lib.stride_tricks.sliding_window_view(padded, DEEPSPEECH_WINDOW_SAMPLES)
    return view[:: DEEPSPEECH_STEP_SAMPLES][:steps]


def _hz_to_mel(hz: NDArray[Any] | float) -> NDArray[np.float64]:
    mel: NDArray[np.float64] = _HZ_TO_MEL * np.log1p(np.asarray(hz, dtype=np.float64) / _MEL_BREAK_HZ)
    return mel


@functools.lru_cache(maxsize=4)
def _mel_matrix(
    num_bins: int = DEEPSPEECH_FFT_SIZE // 2 + 1,
    channels: int = DEEPSPEECH_MEL_CHANNELS,
    low_hz: float = DEEPSPEECH_MEL_LOW_HZ,
    high_hz: float = DEEPSPEECH_MEL_HIGH_HZ,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> NDArray[np.float64]:
    """TensorFlow's MFCC filterbank as a ``[num_bins, channels]`` float64 matrix (applied to magnitudes).

    Bin ``i`` (frequency ``i * hz_per_bin``, with ``hz_per_bin = sample_rate / 2 / (num_bins - 1)``) between
    ``start = int(1.5 + low / hz_per_bin)`` and ``end = int(high / hz_per_bin)`` falls between two channel centres
    (equally spaced in mel); it gives weight ``w`` to the lower channel and ``1 - w`` to the upper one, ``w``
    falling linearly in mel from 1 at the lower centre to 0 at the upper centre. The band below the first centre
    only feeds channel 0 (``1 - w``), the band above the last centre only feeds the last channel (``w``).
    """
    mel_low, mel_high = float(_hz_to_mel(low_hz)), float(_hz_to_mel(high_hz))
    centres = mel_low + (mel_high - mel_low) / (channels + 1) * np.arange(1, channels + 2)  # [channels + 1]
    hz_per_bin = 0.5 * sample_rate_hz / (num_bins - 1)
    start, end = int(1.5 + low_hz / hz_per_bin), int(high_hz / hz_per_bin)
    bins = np.arange(start, end + 1)
    mel = _hz_to_mel(bins * hz_per_bin)
    lower = np.searchsorted(centres[:channels], mel, side="left") - 1  # channel below the bin, -1 before the first
    upper_centre = centres[lower + 1]
    lower_centre = np.where(lower >= 0, centres[np.maximum(lower, 0)], mel_low)
    weight = (upper_centre - mel) / (upper_centre - lower_centre)
    matrix = np.zeros((num_bins, channels), dtype=np.float64)
    has_lower = lower >= 0
    matrix[bins[has_lower], lower[has_lower]] += weight[has_lower]
    has_upper = lower + 1 < channels
    matrix[bins[has_upper], lower[has_upper] + 1] += 1.0 - weight[has_upper]
    return matrix


@functools.lru_cache(maxsize=4)
def _dct_matrix(inputs: int = DEEPSPEECH_MEL_CHANNELS, outputs: int = DEEPSPEECH_CEPSTRA) -> NDArray[np.float64]:
    """TensorFlow's MfccDct: ``[inputs, outputs]`` with ``sqrt(2 / inputs) cos(pi i (j + 0.5) / inputs)``."""
    j = np.arange(inputs)[:, np.newaxis]
    i = np.arange(outputs)[np.newaxis, :]
    return math.sqrt(2.0 / inputs) * np.cos(math.pi / inputs * i * (j + 0.5))


def deepspeech_mel_matrix() -> NDArray[np.float64]:
    """DeepSpeech's ``[257, 40]`` mel filterbank (applied to magnitudes; see :func:`deepspeech_mfcc`)."""
    return _mel_matrix().copy()


def deepspeech_dct_matrix() -> NDArray[np.float64]:
    """DeepSpeech's ``[40, 26]`` DCT-II (log mel energies -> cepstra; see :func:`deepspeech_mfcc`)."""
    return _dct_matrix().copy()


def deepspeech_mfcc(audio: ArrayLike, pad_end: bool = True) -> NDArray[np.float32]:
    """DeepSpeech 0.8.2 MFCC of one utterance (Open Model Zoo accuracy checker's computation, see module doc).

    Args:
        audio: ``[N]`` waveform at 16 kHz, float in [-1, 1] (integer arrays are taken as already scaled).
        pad_end: zero-pad the end to ``ceil(N / 320)`` frames (accuracy checker); ``False`` keeps only whole
            512-sample windows (TensorFlow's kernel).

    Returns:
        ``[T, 26]`` float32 cepstra, one row per 20 ms step (``T`` = :func:`deepspeech_num_steps`).

    Raises:
        DataError: ``audio`` is not 1-D real finite samples.
    """
    samples = _audio_1d(audio)
    frames = _frames(samples.astype(np.float32, copy=False), pad_end) * np.hanning(DEEPSPEECH_WINDOW_SAMPLES)
    power = np.abs(np.fft.rfft(frames, DEEPSPEECH_FFT_SIZE, axis=-1)) ** 2  # [T, 257]
    energies = np.sqrt(power) @ _mel_matrix()  # [T, 40]
    log_energies = np.log(np.maximum(energies, _LOG_FLOOR))
    cepstra: NDArray[np.float32] = (log_energies @ _dct_matrix()).astype(np.float32)
    return cepstra


def context_windows(mfcc: ArrayLike, context: int = DEEPSPEECH_CONTEXT_FRAMES) -> NDArray[Any]:
    """Each step with ``context`` frames either side, zeros beyond the utterance (DeepSpeech's ``clip_cepstrum``).

    Args:
        mfcc: ``[T, C]`` features (C = 26 cepstra for DeepSpeech).
        context: frames each side (9 for DeepSpeech).

    Returns:
        ``[T, 2 * context + 1, C]`` (``[T, 19, 26]``), same dtype, a new contiguous writable array;
        ``out[t, k] = mfcc[t + k - context]`` where that index is inside ``[0, T)``, else zeros.

    Raises:
        DataError: ``mfcc`` is not 2-D. ConfigError: ``context`` is not an integer >= 0.
    """
    context = _positive_int(context, "context", minimum=0)
    features = np.asarray(mfcc)
    if features.ndim != 2:
        raise DataError(f"mfcc: expected [T, C] features, got shape {list(features.shape)}")
    steps, width = features.shape
    if steps == 0:
        return np.zeros((0, 2 * context + 1, width), dtype=features.dtype)
    padded = np.zeros((steps + 2 * context, width), dtype=features.dtype)
    padded[context : context + steps] = features
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * context + 1, axis=0)  # [T, C, 19]
    return np.array(windows.transpose(0, 2, 1), order="C")


def chunk_steps(features: ArrayLike, chunk_steps: int = DEEPSPEECH_CHUNK_STEPS) -> tuple[NDArray[Any], int]:
    """Cut ``[T, ...]`` features into chunks of ``chunk_steps`` steps, zero-padding the last (``pack_cepstrum``).

    Args:
        features: ``[T, ...]`` (for DeepSpeech ``[T, 19, 26]``).
        chunk_steps: steps per chunk (16 for DeepSpeech).

    Returns:
        ``(chunks, valid_steps)``: ``chunks`` is ``[ceil(T / chunk_steps), chunk_steps, ...]`` of the same dtype
        (``[0, chunk_steps, ...]`` when T = 0); ``valid_steps`` is T, the true length (the last chunk holds
        ``T - (n - 1) * chunk_steps`` real steps, the rest zeros).

    Raises:
        DataError: ``features`` is a scalar. ConfigError: ``chunk_steps`` is not a positive integer.
    """
    size = _positive_int(chunk_steps, "chunk_steps")
    array = np.asarray(features)
    if array.ndim < 1:
        raise DataError("features: expected [T, ...], got a scalar")
    steps = array.shape[0]
    count = -(-steps // size)
    chunks = np.zeros((count * size, *array.shape[1:]), dtype=array.dtype)
    chunks[:steps] = array
    return chunks.reshape(count, size, *array.shape[1:]), steps


# ------------------------------------------------------------------------------------------------ Wav2Vec2
def wav2vec2_input(audio: ArrayLike, do_normalize: bool = True) -> NDArray[np.float32]:
    """Wav2Vec2 model input of one utterance, as Hugging Face's ``Wav2Vec2FeatureExtractor`` makes it.

    With ``do_normalize``: ``(x - mean(x)) / sqrt(var(x) + 1e-7)`` over the utterance, computed in float32
    exactly as ``zero_mean_unit_var_norm`` does; without it the waveform is passed through as float32.

    Args:
        audio: ``[N]`` waveform at 16 kHz, float in [-1, 1].
        do_normalize: the extractor's ``do_normalize`` flag.

    Returns:
        ``[1, N]`` float32.

    Raises:
        DataError: ``audio`` is not 1-D real finite samples.
    """
    samples = np.asarray(_audio_1d(audio), dtype=np.float32)
    if do_normalize:
        samples = (samples - samples.mean()) / np.sqrt(samples.var() + _WAV2VEC2_EPSILON)
    return np.asarray(samples, dtype=np.float32)[np.newaxis, :]


# ------------------------------------------------------------------------------------------------ log-mel
_LOG_MEL_OFFSET = 1e-6  # log(energy + offset)
_NORMALISE_EPSILON = 1e-5  # per-band standard deviation floor (added to the variance)


def log_mel_num_frames(num_samples: int, window_samples: int, hop_samples: int) -> int:
    """Frames of :func:`log_mel`: ``1 + (N - window) // hop`` whole windows, at least 1 (a short clip is
    zero-padded to one window)."""
    return 1 + max(0, num_samples - window_samples) // hop_samples


@functools.lru_cache(maxsize=8)
def _slaney_mel_matrix(mels: int, fft_size: int, sample_rate_hz: int) -> NDArray[np.float32]:
    import librosa

    matrix: NDArray[np.float32] = librosa.filters.mel(sr=sample_rate_hz, n_fft=fft_size, n_mels=mels).T.astype(np.float32)
    return matrix  # [fft_size // 2 + 1, mels]


def log_mel(audio: ArrayLike, mels: int = 80, window_samples: int = 400, hop_samples: int = 160,
            normalize: bool = True) -> NDArray[np.float32]:
    """Log-mel spectrogram of one utterance, as NeMo/ESPnet-style CTC models read it.

    Hann windows of ``window_samples`` every ``hop_samples`` (defaults: 25 ms every 10 ms at 16 kHz; only whole
    windows, see :func:`log_mel_num_frames`), power spectrum of a ``window_samples``-point FFT, librosa's Slaney mel
    filterbank, ``log(energy + 1e-6)``; with ``normalize`` each band's mean and standard deviation over the
    utterance are removed (``(x - mean) / sqrt(var + 1e-5)``). The same computation as the in-graph
    :func:`speechq.zoo.architectures.log_mel_graph`.

    Args:
        audio: ``[N]`` waveform at 16 kHz, float in [-1, 1].

    Returns:
        ``[T, mels]`` float32.

    Raises:
        DataError: ``audio`` is not 1-D real finite samples.
    """
    samples = np.asarray(_audio_1d(audio), dtype=np.float32)
    if len(samples) < window_samples:
        samples = np.pad(samples, (0, window_samples - len(samples)))
    frames = np.lib.stride_tricks.sliding_window_view(samples, window_samples)[::hop_samples]
    power = np.abs(np.fft.rfft(frames * np.hanning(window_samples).astype(np.float32), axis=-1)) ** 2
    features = np.log(power.astype(np.float32) @ _slaney_mel_matrix(mels, window_samples, SAMPLE_RATE_HZ) + _LOG_MEL_OFFSET)
    if normalize:
        centred = features - features.mean(axis=0, keepdims=True)
        features = centred / np.sqrt((centred * centred).mean(axis=0, keepdims=True) + _NORMALISE_EPSILON)
    return np.asarray(features, dtype=np.float32)


# ---------------------------------------------------------------------------------------- thin transforms
class DeepSpeechFeatures:
    """audio ``[N]`` float32 16 kHz -> DeepSpeech 0.8.2 input ``[T, 2 * context + 1, 26]`` float32.

    The streaming engine cuts the result into chunks of 16 steps (``input_node`` [1, 16, 19, 26]).

    Args:
        context: frames each side of a step (9).
        pad_end: see :func:`deepspeech_mfcc`.

    Attributes:
        sample_rate_hz: the rate the audio must have (16000).
        time_axis: axis of the output that runs in time steps (0).

    Raises:
        ConfigError: a parameter is out of range.
    """

    sample_rate_hz = SAMPLE_RATE_HZ
    time_axis = 0

    def __init__(self, context: int = DEEPSPEECH_CONTEXT_FRAMES, pad_end: bool = True) -> None:
        self.context = _positive_int(context, "context", minimum=0)
        if not isinstance(pad_end, bool):
            raise ConfigError(f"pad_end must be True or False, got {pad_end!r}")
        self.pad_end = pad_end

    def mfcc(self, audio: ArrayLike) -> NDArray[np.float32]:
        """``[T, 26]`` float32 cepstra (no context)."""
        return deepspeech_mfcc(audio, pad_end=self.pad_end)

    def num_steps(self, num_samples: int) -> int:
        """Time steps of ``num_samples`` audio samples."""
        return deepspeech_num_steps(num_samples, self.pad_end)

    def __call__(self, audio: ArrayLike) -> NDArray[np.float32]:
        return context_windows(self.mfcc(audio), self.context)

    def __repr__(self) -> str:
        return f"DeepSpeechFeatures(context={self.context}, pad_end={self.pad_end})"


class Wav2Vec2Features:
    """audio ``[N]`` float32 16 kHz -> Wav2Vec2 input ``[1, N]`` float32 (see :func:`wav2vec2_input`).

    Attributes:
        sample_rate_hz: the rate the audio must have (16000).
        time_axis: axis of the output that runs in time (1: samples).

    Raises:
        ConfigError: ``do_normalize`` is not a bool.
    """

    sample_rate_hz = SAMPLE_RATE_HZ
    time_axis = 1

    def __init__(self, do_normalize: bool = True) -> None:
        if not isinstance(do_normalize, bool):
            raise ConfigError(f"do_normalize must be True or False, got {do_normalize!r}")
        self.do_normalize = do_normalize

    def num_steps(self, num_samples: int) -> int:
        """Time steps (samples) of ``num_samples`` audio samples."""
        return num_samples

    def __call__(self, audio: ArrayLike) -> NDArray[np.float32]:
        return wav2vec2_input(audio, do_normalize=self.do_normalize)

    def __repr__(self) -> str:
        return f"Wav2Vec2Features(do_normalize={self.do_normalize})"


class LogMelFeatures:
    """audio ``[N]`` float32 16 kHz -> log-mel ``[T, mels]`` (``layout="TF"``) or ``[mels, T]`` (``"FT"``) float32
    (see :func:`log_mel`), for CTC models that read precomputed features ``[batch, T, mels]`` or
    ``[batch, mels, T]``.

    Attributes:
        sample_rate_hz: the rate the audio must have (16000).
        time_axis: axis of the output that runs in frames (0 for ``"TF"``, 1 for ``"FT"``).

    Raises:
        ConfigError: a size that is not a positive integer, a hop longer than the window, an unknown layout.
    """

    sample_rate_hz = SAMPLE_RATE_HZ

    def __init__(self, mels: int = 80, window_samples: int = 400, hop_samples: int = 160, normalize: bool = True,
                 layout: str = "TF") -> None:
        self.mels = _positive_int(mels, "mels")
        self.window_samples = _positive_int(window_samples, "window_samples", minimum=2)
        self.hop_samples = _positive_int(hop_samples, "hop_samples")
        if self.hop_samples > self.window_samples:
            raise ConfigError(f"hop_samples ({hop_samples}) must not exceed window_samples ({window_samples})")
        if not isinstance(normalize, bool):
            raise ConfigError(f"normalize must be True or False, got {normalize!r}")
        if layout not in ("TF", "FT"):
            raise ConfigError(f"layout must be 'TF' (frames, mels) or 'FT' (mels, frames), got {layout!r}")
        self.normalize, self.layout = normalize, layout
        self.time_axis = 0 if layout == "TF" else 1

    def num_steps(self, num_samples: int) -> int:
        """Frames of ``num_samples`` audio samples."""
        return log_mel_num_frames(num_samples, self.window_samples, self.hop_samples)

    def __call__(self, audio: ArrayLike) -> NDArray[np.float32]:
        features = log_mel(audio, self.mels, self.window_samples, self.hop_samples, self.normalize)
        return features if self.layout == "TF" else np.ascontiguousarray(features.T)

    def __repr__(self) -> str:
        return (f"LogMelFeatures(mels={self.mels}, window_samples={self.window_samples}, "
                f"hop_samples={self.hop_samples}, normalize={self.normalize}, layout={self.layout!r})")
