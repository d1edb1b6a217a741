"""Word, character and token error rates through jiwer, with the counts behind them.

Two averages, never to be confused:

- ``corpus_rate``: total edits / total reference length (words, characters or tokens). This is the figure speech
  papers report ("WER on test-clean") and what the metrics' ``avg_value`` gives.
- ``utterance_mean``: the mean of the per-utterance rates. It weighs a 2-word utterance like a 40-word one, so it
  differs from the corpus figure; use it only where per-utterance statistics are wanted.

Per-utterance rate: ``edits / max(1, reference length)``. For an empty reference that is the number of inserted
words (0 when the hypothesis is empty too), as jiwer defines it; the corpus figure stays exact because it sums
edits and lengths before dividing (and is ``edits / max(1, 0)`` only when every reference is empty, as jiwer's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import jiwer

from speechq.errors import ConfigError, DataError
from speechq.metrics.normalize import ENGLISH, WHITESPACE, TextTransform, apply_transform

__all__ = [
    "ErrorRates",
    "Unit",
    "UNITS",
    "error_rates",
    "word_error_rate",
    "char_error_rate",
    "token_error_rate",
]

Unit = Literal["word", "char", "token"]
UNITS: tuple[str, ...] = ("word", "char", "token")


@dataclass(frozen=True)
class ErrorRates:
    """Edit counts of a set of utterances and the rates they give.

    Attributes:
        unit: ``"word"``, ``"char"`` or ``"token"``.
        hits, substitutions, deletions, insertions: totals over the utterances (from jiwer's alignment).
        per_utterance_edits, per_utterance_lengths: each utterance's edits and reference length, in input order
            (what a corpus rate over any subset or resample of the utterances is computed from; see
            :func:`speechq.metrics.rate_change`); ``per_utterance`` gives each utterance's rate.
    """

    unit: str
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    per_utterance_edits: tuple[int, ...]
    per_utterance_lengths: tuple[int, ...]

    @classmethod
    def empty(cls, unit: str) -> ErrorRates:
        """No utterances yet (rates are NaN)."""
        return cls(unit, 0, 0, 0, 0, (), ())

    @property
    def per_utterance(self) -> tuple[float, ...]:
        """Each utterance's rate, ``edits / max(1, reference length)``, in input order."""
        return tuple(e / max(1, n) for e, n in zip(self.per_utterance_edits, self.per_utterance_lengths))

    @property
    def utterances(self) -> int:
        return len(self.per_utterance_edits)

    @property
    def edits(self) -> int:
        """Substitutions + deletions + insertions."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def reference_length(self) -> int:
        """Reference words/characters/tokens: hits + substitutions + deletions."""
        return self.hits + self.substitutions + self.deletions

    @property
    def hypothesis_length(self) -> int:
        """Hypothesis words/characters/tokens: hits + substitutions + insertions."""
        return self.hits + self.substitutions + self.insertions

    @property
    def corpus_rate(self) -> float:
        """Total edits / total reference length (``max(1, .)``); NaN without utterances. The reported figure."""
        if not self.per_utterance_edits:
            return math.nan
        return self.edits / max(1, self.reference_length)

    def corpus_rate_of(self, indices: Sequence[int]) -> float:
        """The corpus rate of some of the utterances (positions in input order): their edits / their reference
        length (``max(1, .)``); NaN for none.

        Raises:
            DataError: a position outside ``range(utterances)``.
        """
        if not indices:
            return math.nan
        outside = [i for i in indices if not 0 <= i < self.utterances]
        if outside:
            raise DataError(f"utterance positions {outside[:5]} are outside the {self.utterances} utterances scored")
        edits = sum(self.per_utterance_edits[i] for i in indices)
        return edits / max(1, sum(self.per_utterance_lengths[i] for i in indices))

    @property
    def utterance_mean(self) -> float:
        """Mean of the per-utterance rates (NOT the corpus figure); NaN without utterances."""
        if not self.per_utterance_edits:
            return math.nan
        return math.fsum(self.per_utterance) / len(self.per_utterance)

    def __add__(self, other: ErrorRates) -> ErrorRates:
        """Both sets together (counts summed, per-utterance counts concatenated)."""
        if not isinstance(other, ErrorRates):
            return NotImplemented
        if other.unit != self.unit:
            raise ConfigError(f"cannot add {self.unit} error rates to {other.unit} error rates")
        return ErrorRates(
            self.unit,
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.per_utterance_edits + other.per_utterance_edits,
            self.per_utterance_lengths + other.per_utterance_lengths,
        )


def error_rates(
    references: Sequence[str] | str,
    hypotheses: Sequence[str] | str,
    unit: Unit = "word",
    normalize: TextTransform | None = ENGLISH,
) -> ErrorRates:
    """Align each hypothesis with its reference (jiwer) and count the edits.

    Args:
        references: reference texts (a single string is one utterance).
        hypotheses: as many hypothesis texts, same order.
        unit: ``"word"`` and ``"token"`` split on whitespace (tokens are space-separated, as token-level
            vocabularies decode); ``"char"`` counts characters, spaces between words included.
        normalize: applied to both sides first; ``None`` for none (jiwer still strips ends and, for words,
            splits on spaces).

    Raises:
        DataError: different numbers of references and hypotheses, or a text that is not a string.
        ConfigError: unknown unit.
    """
    if unit not in UNITS:
        raise ConfigError(f"unit must be one of {UNITS}, got {unit!r}")
    refs = _texts(references, "reference")
    hyps = _texts(hypotheses, "hypothesis")
    if len(refs) != len(hyps):
        raise DataError(f"{len(refs)} references but {len(hyps)} hypotheses; they must pair one to one")
    if not refs:
        return ErrorRates.empty(unit)
    refs, hyps = apply_transform(normalize, refs), apply_transform(normalize, hyps)
    output: Any = jiwer.process_characters(refs, hyps) if unit == "char" else jiwer.process_words(refs, hyps)
    counts = [_alignment_counts(alignment) for alignment in output.alignments]
    return ErrorRates(
        unit,
        hits=sum(c[0] for c in counts),
        substitutions=sum(c[1] for c in counts),
        deletions=sum(c[2] for c in counts),
        insertions=sum(c[3] for c in counts),
        per_utterance_edits=tuple(s + d + i for _, s, d, i in counts),
        per_utterance_lengths=tuple(h + s + d for h, s, d, _ in counts),
    )


def word_error_rate(
    references: Sequence[str] | str, hypotheses: Sequence[str] | str, normalize: TextTransform | None = ENGLISH
) -> ErrorRates:
    """Word error rates (see :func:`error_rates`); ``.corpus_rate`` is the WER."""
    return error_rates(references, hypotheses, "word", normalize)


def char_error_rate(
    references: Sequence[str] | str, hypotheses: Sequence[str] | str, normalize: TextTransform | None = ENGLISH
) -> ErrorRates:
    """Character error rates, spaces counted (see :func:`error_rates`); ``.corpus_rate`` is the CER."""
    return error_rates(references, hypotheses, "char", normalize)


def token_error_rate(
    references: Sequence[str] | str, hypotheses: Sequence[str] | str, normalize: TextTransform | None = WHITESPACE
) -> ErrorRates:
    """Error rates over space-separated tokens (e.g. phonemes); whitespace-only normalisation by default."""
    return error_rates(references, hypotheses, "token", normalize)


def _texts(texts: Sequence[str] | str, what: str) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if not isinstance(texts, Sequence):
        raise DataError(f"{what} texts must be a string or a sequence of strings, got {type(texts).__name__}")
    bad = [(i, type(t).__name__) for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise DataError(f"{what} texts must be strings; (index, type) {bad[:5]} are not")
    return list(texts)


def _alignment_counts(alignment: Sequence[Any]) -> tuple[int, int, int, int]:
    """``(hits, substitutions, deletions, insertions)`` of one utterance's jiwer alignment chunks."""
    hits = substitutions = deletions = insertions = 0
    for chunk in alignment:
        reference_span = chunk.ref_end_idx - chunk.ref_start_idx
        if chunk.type == "equal":
            hits += reference_span
        elif chunk.type == "substitute":
            substitutions += reference_span
        elif chunk.type == "delete":
            deletions += reference_span
        elif chunk.type == "insert":
            insertions += chunk.hyp_end_idx - chunk.hyp_start_idx
    return hits, substitutions, deletions, insertions
