"""DataLoaders over speech corpora: labelled (LibriSpeech layouts, manifests) and unlabelled audio folders."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from speechq.api import DataLoader, SpeechAnnotation
from speechq.constants import SAMPLE_RATE_HZ
from speechq.data.audio import AUDIO_EXTENSIONS, read_audio
from speechq.data.cache import DEFAULT_CACHE_BYTES, FeatureCache
from speechq.data.corpus import Problem, Utterance, find_audio_utterances, find_utterances, settle
from speechq.errors import ConfigError, DataError

__all__ = ["AudioFolderDataLoader", "LibriSpeechDataLoader"]

logger = logging.getLogger(__name__)

FeatureTransform = Callable[[NDArray[np.float32]], Any]
"""audio ``[N]`` float32 at the loader's rate -> model input array (e.g. :class:`speechq.features.DeepSpeechFeatures`)."""


class _SpeechDataLoader(DataLoader):
    """Shared by both loaders: items of checked utterances, features computed once and cached (LRU in bytes)."""

    def __init__(
        self,
        utterances: list[Utterance],
        features: FeatureTransform | None,
        input_name: str | None,
        sample_rate_hz: int,
        allow_silent: bool,
        cache_bytes: int,
        config: dict[str, Any],
    ) -> None:
        super().__init__(config)
        self.features = features
        self.input_name = input_name
        self.sample_rate_hz = sample_rate_hz
        self.allow_silent = allow_silent
        self.cache: FeatureCache[tuple[NDArray[Any], int]] = FeatureCache(cache_bytes)
        self._utterances = tuple(utterances)
        self._time_axis = int(getattr(features, "time_axis", 0))

    @property
    def utterances(self) -> tuple[Utterance, ...]:
        """The utterances, in item order (sorted by id)."""
        return self._utterances

    def __len__(self) -> int:
        return len(self._utterances)

    def __getitem__(self, index: int) -> tuple[Any, SpeechAnnotation, dict[str, Any]]:
        """``(data, SpeechAnnotation(id, text), metadata)`` of utterance ``index``.

        ``data`` is the features array (a fresh copy), or ``{input_name: array}``. ``metadata`` holds
        ``utterance_id``, ``path``, ``num_samples`` (audio samples at the model rate), ``num_steps`` (feature
        steps along the transform's ``time_axis``, 0 by default), ``sample_rate_hz`` and ``duration_s``.

        Raises:
            IndexError: ``index`` outside ``[-len, len)``. DataError: the audio cannot be used (named).
        """
        utterance = self._utterances[self._position(index)]
        features, num_samples = self._features(utterance)
        array = features.copy()
        metadata = {
            "utterance_id": utterance.utterance_id,
            "path": str(utterance.audio_path),
            "num_samples": num_samples,
            "num_steps": int(array.shape[self._time_axis]) if array.ndim else 1,
            "sample_rate_hz": self.sample_rate_hz,
            "duration_s": num_samples / self.sample_rate_hz,
        }
        data = {self.input_name: array} if self.input_name is not None else array
        return data, SpeechAnnotation(utterance.utterance_id, utterance.text), metadata

    def _position(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} indices are integers, got {type(index).__name__}")
        size = len(self._utterances)
        if not -size <= index < size:
            raise IndexError(f"index {index} out of range for {size} utterances")
        return int(index) % size

    def _features(self, utterance: Utterance) -> tuple[NDArray[Any], int]:
        cached = self.cache.get(utterance.utterance_id)
        if cached is not None:
            return cached
        audio = read_audio(utterance.audio_path, self.sample_rate_hz, allow_silent=self.allow_silent)
        features = audio if self.features is None else np.asarray(self.features(audio))
        if not isinstance(features, np.ndarray) or features.dtype == object:
            raise DataError(f"{utterance.audio_path}: features gave {type(features).__name__}, expected a numeric array")
        features.setflags(write=False)
        self.cache.put(utterance.utterance_id, (features, len(audio)), features.nbytes)
        return features, len(audio)

    def _check_audio(self, skip_bad: bool, where: str) -> None:
        """Decode every file now (NaN, infinity, silence found before the first inference)."""
        problems = []
        for utterance in self._utterances:
            try:
                self._features(utterance)
            except DataError as error:
                problems.append(Problem(utterance.source, str(error), utterance.utterance_id))
        self._utterances = tuple(settle(list(self._utterances), problems, skip_bad, where))


class LibriSpeechDataLoader(_SpeechDataLoader):
    """Labelled speech: items ``(features, SpeechAnnotation(utterance_id, text), metadata)``, sorted by id.

    Args:
        path: a LibriSpeech folder in its native layout (``<split>/<speaker>/<chapter>/<id>.flac`` with
            ``<speaker>-<chapter>.trans.txt``; a split or a root of several splits), or a flat folder of audio
            files with ``label_dir`` holding ``<id>.txt`` transcripts, or a manifest (``.tsv``/``.jsonl``, see
            :func:`speechq.data.find_utterances`).
        features: audio ``[N]`` float32 at ``sample_rate_hz`` -> model input (``DeepSpeechFeatures()``,
            ``Wav2Vec2Features()``, any callable); None gives the waveform ``[N]`` itself.
        label_dir: transcripts of a flat audio folder.
        input_name: give ``{input_name: features}`` instead of the bare array.
        sample_rate_hz: the model's rate; every file is resampled to it.
        skip_bad: skip bad utterances with a warning each and a count, instead of raising.
        cache_bytes: bound of the in-memory feature cache (LRU), default 512 MiB; 0 disables it.
        alphabet: characters allowed in transcripts after lower-casing (include the space and the apostrophe
            where the model has them); utterances with others are reported.
        allow_silent: accept all-silent audio.
        check_audio: decode every file at construction, so that NaN/Inf/silent audio is found (and, with
            ``skip_bad``, skipped) before the first inference; otherwise it raises when the item is read.

    Raises:
        DataError: bad utterances (each named) without ``skip_bad``; nothing usable.
        ConfigError: bad parameters, or ``features`` made for another sample rate.
    """

    def __init__(
        self,
        path: str | Path,
        features: FeatureTransform | None = None,
        label_dir: str | Path | None = None,
        input_name: str | None = None,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        skip_bad: bool = False,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        alphabet: Iterable[str] | None = None,
        allow_silent: bool = False,
        check_audio: bool = False,
    ) -> None:
        _check_options(features, input_name, sample_rate_hz, skip_bad, allow_silent, check_audio)
        utterances = find_utterances(path, label_dir=label_dir, alphabet=alphabet, skip_bad=skip_bad)
        config = {"data_source": str(path), "label_dir": None if label_dir is None else str(label_dir)}
        super().__init__(utterances, features, input_name, sample_rate_hz, allow_silent, cache_bytes, config)
        if check_audio:
            self._check_audio(skip_bad, str(path))
        logger.info("%s: %d utterances", path, len(self))


class AudioFolderDataLoader(_SpeechDataLoader):
    """Unlabelled audio (calibration): items ``(features, SpeechAnnotation(utterance_id, None), metadata)``.

    The annotation is a :class:`~speechq.api.SpeechAnnotation` whose ``text`` is None (rather than ``None``
    itself), so that every speechq loader carries utterance ids. Ids are paths relative to ``path`` without the
    suffix; items are sorted by id.

    Args:
        path: a folder of audio files (searched recursively unless ``recursive=False``).
        extensions: file suffixes taken as audio (default: every format soundfile reads here, see
            :data:`speechq.data.AUDIO_EXTENSIONS`).
        Others: as :class:`LibriSpeechDataLoader`.

    Raises:
        DataError: unreadable files (each named) without ``skip_bad``; no audio at all.
        ConfigError: bad parameters.
    """

    def __init__(
        self,
        path: str | Path,
        features: FeatureTransform | None = None,
        input_name: str | None = None,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        skip_bad: bool = False,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        extensions: Sequence[str] = AUDIO_EXTENSIONS,
        recursive: bool = True,
        allow_silent: bool = False,
        check_audio: bool = False,
    ) -> None:
        _check_options(features, input_name, sample_rate_hz, skip_bad, allow_silent, check_audio)
        utterances = find_audio_utterances(path, extensions=extensions, recursive=recursive, skip_bad=skip_bad)
        super().__init__(utterances, features, input_name, sample_rate_hz, allow_silent, cache_bytes,
                         {"data_source": str(path)})
        if check_audio:
            self._check_audio(skip_bad, str(path))
        logger.info("%s: %d audio files", path, len(self))


def _check_options(
    features: Any, input_name: Any, sample_rate_hz: Any, skip_bad: Any, allow_silent: Any, check_audio: Any
) -> None:
    """Raise ConfigError for a parameter of the wrong type or value."""
    if features is not None and not callable(features):
        raise ConfigError(f"features must be a callable audio -> array (or None), got {type(features).__name__}")
    if input_name is not None and (not isinstance(input_name, str) or not input_name):
        raise ConfigError(f"input_name must be a non-empty string (or None), got {input_name!r}")
    if isinstance(sample_rate_hz, bool) or not isinstance(sample_rate_hz, (int, np.integer)) or sample_rate_hz <= 0:
        raise ConfigError(f"sample_rate_hz must be a positive integer, got {sample_rate_hz!r}")
    wanted = getattr(features, "sample_rate_hz", None)
    if wanted is not None and wanted != sample_rate_hz:
        raise ConfigError(f"features {features!r} expect {wanted} Hz audio, but sample_rate_hz={sample_rate_hz}")
    for name, value in (("skip_bad", skip_bad), ("allow_silent", allow_silent), ("check_audio", check_audio)):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be True or False, got {value!r}")
