"""WER, CER and token error rate as speechq (POT) metrics.

``update(output, target)`` takes one batch:

- ``target``: the list of the batch's annotations, each a :class:`~speechq.api.SpeechAnnotation` (its ``text``) or a
  plain string;
- ``output``: either the decoded texts, one string per sample (what an engine passes when a CTC decoder is its
  post-processing hook), or the raw model outputs (a list of arrays in output order, a dict by name, or one
  array), which the metric decodes with its own ``decoder`` (given, or greedy over a given ``vocabulary``).

``value`` holds the last batch's per-utterance rates (for accuracy-aware ranking); ``avg_value`` the corpus rate
since ``reset()`` (total edits / total reference length); ``result`` every count; ``utterance_mean`` the mean of
per-utterance rates, which is a different figure.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from speechq.api.metric import Metric
from speechq.api.types import SpeechAnnotation
from speechq.decoding import CTCDecoder, GreedyCTCDecoder, Vocabulary
from speechq.errors import ConfigError, DataError
from speechq.metrics.error_rate import ErrorRates, Unit, error_rates
from speechq.metrics.normalize import ENGLISH, WHITESPACE, TextTransform

__all__ = ["ErrorRateMetric", "WordErrorRate", "CharErrorRate", "TokenErrorRate", "reference_texts"]

_DESCRIPTIONS = {"word": "word error rate", "char": "character error rate", "token": "token error rate"}


class ErrorRateMetric(Metric):
    """Error rate over one unit; use :class:`WordErrorRate`, :class:`CharErrorRate` or :class:`TokenErrorRate`.

    Args:
        unit: ``"word"``, ``"char"`` or ``"token"``.
        name: the metric's name in ``value``/``avg_value``/``get_attributes``.
        normalize: text transform applied to references and hypotheses (``None``: none).
        decoder: decodes raw model outputs when ``update`` receives arrays instead of texts.
        vocabulary: without ``decoder``, arrays are decoded greedily over this vocabulary, ``layout`` axes.
        layout: ``"BTV"``, ``"TBV"`` or ``"TV"`` (only with ``vocabulary``).

    Raises:
        ConfigError: both ``decoder`` and ``vocabulary`` given, a bad name, layout or transform.
    """

    def __init__(
        self,
        unit: Unit,
        name: str,
        normalize: TextTransform | None,
        decoder: CTCDecoder | None = None,
        vocabulary: Vocabulary | None = None,
        layout: str = "BTV",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"metric name must be a non-empty string, got {name!r}")
        if normalize is not None and not callable(normalize):
            raise ConfigError(f"normalize must be a str -> str callable or None, got {type(normalize).__name__}")
        if decoder is not None and vocabulary is not None:
            raise ConfigError("give a decoder or a vocabulary (for greedy decoding), not both")
        if decoder is not None and not callable(decoder):
            raise ConfigError(f"decoder must be callable as decoder(outputs, metadata), got {type(decoder).__name__}")
        self.unit = unit
        self.name = name
        self.normalize = normalize
        self.decoder: CTCDecoder | None = GreedyCTCDecoder(vocabulary, layout) if vocabulary is not None else decoder
        self._last = ErrorRates.empty(unit)
        self._total = ErrorRates.empty(unit)
        super().__init__()

    @property
    def higher_better(self) -> bool:
        return False

    @property
    def value(self) -> dict[str, list[float]]:
        """``{name: [rate of each utterance of the last batch]}``."""
        return {self.name: list(self._last.per_utterance)}

    @property
    def avg_value(self) -> dict[str, float]:
        """``{name: corpus rate since reset}`` (total edits / total reference length; NaN before any update)."""
        return {self.name: self._total.corpus_rate}

    @property
    def result(self) -> ErrorRates:
        """Every count since ``reset()``, with per-utterance rates in update order."""
        return self._total

    @property
    def last_batch(self) -> ErrorRates:
        """Counts of the last ``update`` only."""
        return self._last

    @property
    def utterance_mean(self) -> float:
        """Mean of the per-utterance rates since reset: NOT the corpus figure ``avg_value`` reports."""
        return self._total.utterance_mean

    def update(self, output: Any, target: Any) -> None:
        """Score one batch (see the module docstring for what ``output`` and ``target`` may be).

        Raises:
            DataError: the batch sizes differ, a reference is missing (``text`` is None) or of the wrong type,
                or ``output`` is neither texts nor arrays. ConfigError: arrays arrived and there is no decoder.
        """
        references = reference_texts(target)
        hypotheses = self._hypotheses(output)
        if len(hypotheses) != len(references):
            raise DataError(
                f"{self.name}: {len(hypotheses)} hypotheses for {len(references)} references in one batch; "
                "the output must give one text per sample"
            )
        self._last = error_rates(references, hypotheses, self.unit, self.normalize)
        self._total = self._total + self._last

    def reset(self) -> None:
        self._last = ErrorRates.empty(self.unit)
        self._total = ErrorRates.empty(self.unit)

    def get_attributes(self) -> dict[str, dict[str, str]]:
        return {self.name: {"direction": "higher-worse", "type": _DESCRIPTIONS[self.unit]}}

    def _hypotheses(self, output: Any) -> list[str]:
        if isinstance(output, str):
            raise DataError(f"{self.name}: output is one string; expected a list with one text per sample")
        if isinstance(output, (Mapping, np.ndarray)):
            return self._decode(output)
        if not isinstance(output, Sequence):
            raise DataError(
                f"{self.name}: output must be a list of texts or of model outputs, got {type(output).__name__}"
            )
        items = list(output)
        if all(isinstance(item, str) for item in items):
            return items
        if items and all(isinstance(item, np.ndarray) for item in items):
            return self._decode(items)
        kinds = sorted({type(item).__name__ for item in items})
        raise DataError(f"{self.name}: output must hold only texts (str) or only model outputs (arrays), got {kinds}")

    def _decode(self, outputs: Any) -> list[str]:
        if self.decoder is None:
            raise ConfigError(
                f"{self.name} received model outputs (arrays) but has no decoder: build it with vocabulary=... "
                "or decoder=..., or give the engine a CTC decoder as postprocess"
            )
        return list(self.decoder(outputs, None))


class WordErrorRate(ErrorRateMetric):
    """Word error rate, ``"wer"``: corpus-level in ``avg_value``, per utterance in ``value``.

    Args:
        normalize: text transform (default :data:`~speechq.metrics.normalize.ENGLISH`; ``None``: none).
        decoder / vocabulary / layout: how to decode raw model outputs (see :class:`ErrorRateMetric`).
        name: metric name (default ``"wer"``).
    """

    def __init__(
        self,
        normalize: TextTransform | None = ENGLISH,
        decoder: CTCDecoder | None = None,
        vocabulary: Vocabulary | None = None,
        layout: str = "BTV",
        name: str = "wer",
    ) -> None:
        super().__init__("word", name, normalize, decoder, vocabulary, layout)


class CharErrorRate(ErrorRateMetric):
    """Character error rate (spaces between words count), ``"cer"``; arguments as :class:`WordErrorRate`."""

    def __init__(
        self,
        normalize: TextTransform | None = ENGLISH,
        decoder: CTCDecoder | None = None,
        vocabulary: Vocabulary | None = None,
        layout: str = "BTV",
        name: str = "cer",
    ) -> None:
        super().__init__("char", name, normalize, decoder, vocabulary, layout)


class TokenErrorRate(ErrorRateMetric):
    """Error rate over space-separated tokens (phonemes, word pieces), ``"ter"``.

    Texts decoded over a vocabulary without a word delimiter are their tokens joined by spaces, so each token
    counts as one unit. Normalisation defaults to whitespace only (tokens keep their case and symbols).
    """

    def __init__(
        self,
        normalize: TextTransform | None = WHITESPACE,
        decoder: CTCDecoder | None = None,
        vocabulary: Vocabulary | None = None,
        layout: str = "BTV",
        name: str = "ter",
    ) -> None:
        super().__init__("token", name, normalize, decoder, vocabulary, layout)


def reference_texts(target: Any) -> list[str]:
    """The reference text of each annotation of a batch.

    Args:
        target: the list of the batch's annotations: :class:`~speechq.api.SpeechAnnotation` or ``str``.

    Raises:
        DataError: ``target`` is not a list, an annotation has no text (unlabelled), or is of another type.
    """
    if isinstance(target, (str, SpeechAnnotation)) or not isinstance(target, Sequence):
        raise DataError(f"target must be the list of the batch's annotations, got {type(target).__name__}")
    texts = []
    for index, annotation in enumerate(target):
        if isinstance(annotation, SpeechAnnotation):
            if annotation.text is None:
                raise DataError(
                    f"utterance {annotation.utterance_id!r} has no reference text (annotation.text is None); "
                    "error rates need labelled data"
                )
            if not isinstance(annotation.text, str):
                raise DataError(
                    f"utterance {annotation.utterance_id!r}: reference text must be a string, "
                    f"got {type(annotation.text).__name__}"
                )
            texts.append(annotation.text)
        elif isinstance(annotation, str):
            texts.append(annotation)
        else:
            raise DataError(
                f"annotation {index} of the batch must be a SpeechAnnotation or a str, got {type(annotation).__name__}"
                + (" (a missing reference)" if annotation is None else "")
            )
    return texts
