"""speechq: POT's post-training quantization API on current OpenVINO and NNCF, for speech recognition."""

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
from speechq.decoding import (
    BeamSearchCTCDecoder,
    CTCDecoder,
    GreedyCTCDecoder,
    StreamingGreedyDecoder,
    Vocabulary,
    beam_decode,
    greedy_decode,
)
from speechq.engines import IEEngine, StreamingEngine, WindowedEngine, make_stateful
from speechq.errors import ConfigError, DataError, ModelError, OutputError, SpeechqError
from speechq.metrics import (
    CharErrorRate,
    ErrorRates,
    TokenErrorRate,
    WordErrorRate,
    char_error_rate,
    token_error_rate,
    word_error_rate,
)
from speechq.model import CompressedModel, compress_model_weights, load_model, save_model
from speechq.pipeline import Pipeline, create_pipeline

__version__ = "0.1.0"

__all__ = [
    "AccuracyAwareQuantization",
    "AccuracyAwareResult",
    "BatchSampler",
    "BeamSearchCTCDecoder",
    "CTCDecoder",
    "CharErrorRate",
    "CompressedModel",
    "ConfigError",
    "DataError",
    "DataLoader",
    "DefaultQuantization",
    "Engine",
    "ErrorRates",
    "GreedyCTCDecoder",
    "IEEngine",
    "IndexSampler",
    "Metric",
    "MetricGroup",
    "ModelError",
    "OutputError",
    "Pipeline",
    "Sample",
    "Sampler",
    "SpeechAnnotation",
    "SpeechqError",
    "StreamingEngine",
    "StreamingGreedyDecoder",
    "TokenErrorRate",
    "Vocabulary",
    "WindowedEngine",
    "WordErrorRate",
    "beam_decode",
    "char_error_rate",
    "compress_model_weights",
    "create_algorithm",
    "create_pipeline",
    "greedy_decode",
    "load_model",
    "make_stateful",
    "save_model",
    "token_error_rate",
    "word_error_rate",
    "__version__",
]
