"""Speech data: reading audio, finding utterances in LibriSpeech layouts and manifests, DataLoaders.

A leaf of the package: it imports numpy, soundfile, soxr, speechq.api/errors/constants and speechq.features only.
"""

from speechq.data.audio import AUDIO_EXTENSIONS, SILENCE_PEAK, AudioInfo, audio_info, read_audio
from speechq.data.cache import DEFAULT_CACHE_BYTES, FeatureCache
from speechq.data.corpus import (
    MANIFEST_SUFFIXES,
    Problem,
    Utterance,
    find_audio_utterances,
    find_utterances,
    read_manifest,
    speaker_of,
    write_manifest,
)
from speechq.data.loaders import AudioFolderDataLoader, LibriSpeechDataLoader
from speechq.data.prepare import PreparedCorpus, prepare_librispeech
from speechq.data.speakers import SPEAKER_FILES, read_speaker_labels, read_speakers_tsv, speaker_labels

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioFolderDataLoader",
    "AudioInfo",
    "DEFAULT_CACHE_BYTES",
    "FeatureCache",
    "LibriSpeechDataLoader",
    "MANIFEST_SUFFIXES",
    "PreparedCorpus",
    "Problem",
    "SILENCE_PEAK",
    "SPEAKER_FILES",
    "Utterance",
    "audio_info",
    "find_audio_utterances",
    "find_utterances",
    "prepare_librispeech",
    "read_audio",
    "read_manifest",
    "read_speaker_labels",
    "read_speakers_tsv",
    "speaker_labels",
    "speaker_of",
    "write_manifest",
]
