"""speechq: POT's post-training quantization API on current OpenVINO and NNCF, for speech recognition."""

import os

# oneDNN (inside OpenVINO's CPU plugin) keeps up to 1024 compiled kernels, a set per input shape: with speech's
# many lengths they pile up (speechq.model.get_core bounds the plugin's own shape cache, which holds them too).
# 64 keeps what fixed-shape models use. Set before OpenVINO creates its first kernel; a value the user set wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

from speechq.algorithms import (
    AccuracyAwareQuantization,
    AccuracyAwareResult,
    DefaultQuantization,
    create_algorithm,
)
from speechq.api import (
    BatchSampler,
    DataLoader,
    Engine,
    IndexSampler,
    Metric,
    MetricGroup,
    Sample,
    Sampler,
    SpeechAnnotation,
)
from speechq.data import AudioFolderDataLoader, LibriSpeechDataLoader, prepare_librispeech, read_audio
from speechq.decoding import (
    BeamSearchCTCDecoder,
    CTCDecoder,
    GreedyCTCDecoder,
    StreamingGreedyDecoder,
    LanguageModelFolder,
    Vocabulary,
    beam_decode,
    decoder_for,
    find_language_model,
    greedy_decode,
)
from speechq.engines import IEEngine, StreamingEngine, WindowedEngine, make_stateful
from speechq.errors import ConfigError, DataError, ModelError, OutputError, SpeechqError
from speechq.features import (
    DeepSpeechFeatures,
    Wav2Vec2Features,
    chunk_steps,
    context_windows,
    deepspeech_mfcc,
    wav2vec2_input,
)
from speechq.metrics import (
    CharErrorRate,
    ErrorRates,
    RateChange,
    TokenErrorRate,
    WordErrorRate,
    char_error_rate,
    rate_change,
    token_error_rate,
    word_error_rate,
)
from speechq.model import CompressedModel, compress_model_weights, load_model, save_model
from speechq.pipeline import Pipeline, create_pipeline

__version__ = "0.1.0"

__all__ = [
    "AccuracyAwareQuantization",
    "AccuracyAwareResult",
    "AudioFolderDataLoader",
    "BatchSampler",
    "BeamSearchCTCDecoder",
    "CTCDecoder",
    "CharErrorRate",
    "CompressedModel",
    "ConfigError",
    "DataError",
    "DataLoader",
    "DeepSpeechFeatures",
    "DefaultQuantization",
    "Engine",
    "ErrorRates",
    "GreedyCTCDecoder",
    "IEEngine",
    "IndexSampler",
    "LanguageModelFolder",
    "LibriSpeechDataLoader",
    "Metric",
    "MetricGroup",
    "ModelError",
    "OutputError",
    "Pipeline",
    "RateChange",
    "Sample",
    "Sampler",
    "SpeechAnnotation",
    "SpeechqError",
    "StreamingEngine",
    "StreamingGreedyDecoder",
    "TokenErrorRate",
    "Vocabulary",
    "Wav2Vec2Features",
    "WindowedEngine",
    "WordErrorRate",
    "beam_decode",
    "char_error_rate",
    "chunk_steps",
    "compress_model_weights",
    "context_windows",
    "create_algorithm",
    "create_pipeline",
    "decoder_for",
    "deepspeech_mfcc",
    "find_language_model",
    "greedy_decode",
    "load_model",
    "make_stateful",
    "prepare_librispeech",
    "rate_change",
    "read_audio",
    "save_model",
    "token_error_rate",
    "wav2vec2_input",
    "word_error_rate",
    "__version__",
]
