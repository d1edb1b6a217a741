"""Error-rate metrics: WER, CER and token error rate (corpus-level, through jiwer), with text normalisation, and
the paired bootstrap that says whether a change of error rate is more than the luck of the utterances.

Pure leaves: they import speechq.api and speechq.decoding (to decode raw outputs), never engines or OpenVINO.
"""

from speechq.metrics.error_rate import (
    UNITS,
    ErrorRates,
    char_error_rate,
    error_rates,
    token_error_rate,
    word_error_rate,
)
from speechq.metrics.metric import CharErrorRate, ErrorRateMetric, TokenErrorRate, WordErrorRate, reference_texts
from speechq.metrics.significance import RateChange, rate_change
from speechq.metrics.normalize import (
    ENGLISH,
    WHITESPACE,
    CollapseWhitespace,
    Compose,
    NormalizeApostrophes,
    RemovePunctuation,
    Strip,
    TextTransform,
    ToLowerCase,
    apply_transform,
)

__all__ = [
    "ENGLISH",
    "UNITS",
    "WHITESPACE",
    "CharErrorRate",
    "CollapseWhitespace",
    "Compose",
    "ErrorRateMetric",
    "ErrorRates",
    "NormalizeApostrophes",
    "RateChange",
    "RemovePunctuation",
    "Strip",
    "TextTransform",
    "ToLowerCase",
    "TokenErrorRate",
    "WordErrorRate",
    "apply_transform",
    "char_error_rate",
    "rate_change",
    "error_rates",
    "reference_texts",
    "token_error_rate",
    "word_error_rate",
]
