"""Is a change of error rate more than the luck of the utterances? A paired bootstrap over utterances.

Two models decoded on the same utterances differ by some corpus error rate; on a few hundred utterances a fraction
of a point can be chance: which utterances happened to be in the set. :func:`rate_change` draws the utterances again
with replacement, many times, the same draw for both models (a paired bootstrap: Koehn 2004; Bisani and Ney 2004 for
WER), recomputes both corpus rates (total edits / total reference length) on each draw and reports the change with
the percentile interval of the redrawn changes. An interval that excludes 0 says the change is unlikely to come from
the choice of utterances alone; it says nothing about utterances unlike these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from speechq.errors import ConfigError, DataError
from speechq.metrics.error_rate import ErrorRates

__all__ = ["RateChange", "rate_change"]

_CELLS_PER_BLOCK = 4_000_000  # resamples x utterances drawn at once (memory: 8 bytes each)


@dataclass(frozen=True)
class RateChange:
    """Corpus error rate after minus before, on the same utterances, with a paired-bootstrap interval.

    Attributes:
        unit: ``"word"``, ``"char"`` or ``"token"``.
        before, after: the two corpus rates (fractions: 0.2253 is 22.53%).
        low, high: the ``confidence`` percentile interval of the change (fractions).
        confidence: e.g. 0.95; resamples: bootstrap draws; utterances: how many utterances were scored.
    """

    unit: str
    before: float
    after: float
    low: float
    high: float
    confidence: float
    resamples: int
    utterances: int

    @property
    def change(self) -> float:
        """``after - before`` (a fraction: 0.002 is +0.2 percentage points)."""
        return self.after - self.before

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.low > 0 or self.high < 0

    def describe(self) -> str:
        """E.g. ``+0.20 percentage points (95% paired-bootstrap interval -0.41 to +0.83, 500 utterances)``."""
        return (f"{100 * self.change:+.2f} percentage points ({100 * self.confidence:g}% paired-bootstrap interval "
                f"{100 * self.low:+.2f} to {100 * self.high:+.2f}, {self.utterances} utterances)")


def rate_change(before: ErrorRates, after: ErrorRates, confidence: float = 0.95, resamples: int = 2000,
                seed: int = 0) -> RateChange:
    """The change of corpus error rate from ``before`` to ``after`` with a paired-bootstrap percentile interval.

    Args:
        before, after: error counts of two models on the same utterances in the same order (e.g. FP32 and INT8:
            an :class:`~speechq.metrics.ErrorRateMetric`'s ``result``).
        confidence: width of the interval, in (0, 1).
        resamples: bootstrap draws (at least 100); the same seed gives the same interval.

    Raises:
        ConfigError: ``confidence`` or ``resamples`` out of range.
        DataError: different units, different numbers of utterances, different reference lengths (not the same
            utterances), or no utterances.
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 100:
        raise ConfigError(f"resamples must be an integer of at least 100, got {resamples!r}")
    if before.unit != after.unit:
        raise DataError(f"cannot compare {before.unit} error rates with {after.unit} error rates")
    if before.utterances != after.utterances:
        raise DataError(f"the two sets of error rates cover {before.utterances} and {after.utterances} utterances; "
                        "a paired comparison needs the same utterances")
    if before.utterances == 0:
        raise DataError("no utterances to compare")
    lengths = np.asarray(before.per_utterance_lengths, dtype=np.int64)
    mismatch = np.flatnonzero(lengths != np.asarray(after.per_utterance_lengths, dtype=np.int64))
    if mismatch.size:
        raise DataError(f"utterance {int(mismatch[0])} has a reference of {int(lengths[mismatch[0]])} "
                        f"{before.unit}s before and {after.per_utterance_lengths[mismatch[0]]} after: not the same "
                        "utterances or not the same normalisation")
    edits_before = np.asarray(before.per_utterance_edits, dtype=np.int64)
    edits_after = np.asarray(after.per_utterance_edits, dtype=np.int64)
    n = len(lengths)
    rng = np.random.default_rng(seed)
    changes = np.empty(resamples)
    block = max(1, _CELLS_PER_BLOCK // n)
    for start in range(0, resamples, block):
        count = min(block, resamples - start)
        drawn = rng.integers(0, n, size=(count, n))
        total = np.maximum(lengths[drawn].sum(axis=1), 1)
        changes[start : start + count] = (edits_after[drawn].sum(axis=1) - edits_before[drawn].sum(axis=1)) / total
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(changes, [tail, 1.0 - tail])
    return RateChange(before.unit, before.corpus_rate, after.corpus_rate, float(low), float(high), confidence, resamples, n)
