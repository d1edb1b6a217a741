"""The paired bootstrap of error-rate changes: per-utterance counts, intervals against the binomial, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from speechq.errors import ConfigError, DataError
from speechq.metrics import ErrorRates, char_error_rate, rate_change, word_error_rate

WORDS = st.sampled_from(["a", "b", "cat", "dog", "the"])
SENTENCES = st.lists(WORDS, max_size=8).map(" ".join)
PAIRS = st.lists(st.tuples(SENTENCES, SENTENCES), min_size=1, max_size=6)


@given(PAIRS, PAIRS)
def test_per_utterance_counts_add_up_to_the_totals(first, second):
    one = word_error_rate([r for r, _ in first], [h for _, h in first])
    two = word_error_rate([r for r, _ in second], [h for _, h in second])
    for rates in (one, two, one + two):
        assert sum(rates.per_utterance_edits) == rates.edits
        assert sum(rates.per_utterance_lengths) == rates.reference_length
        assert rates.per_utterance == pytest.approx(
            [e / max(1, n) for e, n in zip(rates.per_utterance_edits, rates.per_utterance_lengths)])
    assert (one + two).per_utterance_edits == one.per_utterance_edits + two.per_utterance_edits


def _one_word_corpus(errors_before: list[int], errors_after: list[int]) -> tuple[ErrorRates, ErrorRates]:
    """One-word references; 1 marks an utterance whose hypothesis is wrong."""
    refs = ["cat"] * len(errors_before)
    before = word_error_rate(refs, ["dog" if e else "cat" for e in errors_before])
    after = word_error_rate(refs, ["dog" if e else "cat" for e in errors_after])
    return before, after


def test_interval_matches_the_normal_approximation_of_a_known_difference():
    # 400 one-word utterances; after is wrong on 40 more of them than before (and right on 10 before got wrong):
    # per-utterance differences d in {-1, 0, +1}; the corpus change is mean(d), its sampling sd is sd(d)/sqrt(n)
    rng = np.random.default_rng(7)
    before = (rng.random(400) < 0.2).astype(int)
    after = before.copy()
    after[np.flatnonzero(before == 0)[:40]] = 1
    after[np.flatnonzero(before == 1)[:10]] = 0
    change = rate_change(*_one_word_corpus(list(before), list(after)), resamples=4000)
    d = after - before
    assert change.change == pytest.approx(d.mean())
    half_width = 1.959964 * d.std() / math.sqrt(len(d))
    assert change.low == pytest.approx(d.mean() - half_width, abs=0.25 * half_width)
    assert change.high == pytest.approx(d.mean() + half_width, abs=0.25 * half_width)
    assert change.significant and change.low > 0
    assert change.utterances == 400 and change.unit == "word"


def test_no_difference_and_a_small_one_are_not_significant():
    same = word_error_rate(["the cat sat"] * 50, ["the cat sad"] * 25 + ["the cat sat"] * 25)
    assert (lambda c: (c.change, c.low, c.high, c.significant))(rate_change(same, same)) == (0.0, 0.0, 0.0, False)
    # one extra error in 300 utterances: inside the interval of sampling noise
    before, after = _one_word_corpus([0] * 150 + [1] * 150, [0] * 149 + [1] * 151)
    change = rate_change(before, after)
    assert change.low <= 0 <= change.high and not change.significant
    assert change.describe() == (f"{100 * change.change:+.2f} percentage points (95% paired-bootstrap interval "
                                 f"{100 * change.low:+.2f} to {100 * change.high:+.2f}, 300 utterances)")


def test_the_interval_is_repeatable_for_a_seed_and_widens_with_confidence():
    before, after = _one_word_corpus([0, 1] * 100, [1, 1, 0, 1] * 50)
    assert rate_change(before, after, seed=3) == rate_change(before, after, seed=3)
    narrow, wide = rate_change(before, after, confidence=0.8), rate_change(before, after, confidence=0.99)
    assert wide.low < narrow.low <= narrow.high < wide.high


def test_long_references_weigh_more_as_in_the_corpus_rate():
    # one long utterance holds most words: the corpus change is its change, whatever the short ones do
    refs = ["a b c d e f g h i j k l m n o p q r s t"] + ["a"] * 10
    before = word_error_rate(refs, [refs[0]] + ["a"] * 10)
    after = word_error_rate(refs, ["a b c d e f g h i j"] + ["b"] * 10)
    change = rate_change(before, after)
    assert change.change == pytest.approx(after.corpus_rate - before.corpus_rate)
    assert change.change == pytest.approx(20 / 30)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_confidence_out_of_range_is_refused(confidence):
    before, after = _one_word_corpus([0, 1], [1, 1])
    with pytest.raises(ConfigError, match="confidence"):
        rate_change(before, after, confidence=confidence)


@pytest.mark.parametrize("resamples", [0, 99, 1000.0, True])
def test_too_few_resamples_are_refused(resamples):
    before, after = _one_word_corpus([0, 1], [1, 1])
    with pytest.raises(ConfigError, match="resamples"):
        rate_change(before, after, resamples=resamples)


def test_sets_that_do_not_pair_are_refused_with_what_differs():
    before, _ = _one_word_corpus([0, 1, 0], [0, 1, 0])
    _, shorter = _one_word_corpus([0, 1], [0, 1])
    with pytest.raises(DataError, match="3 and 2 utterances"):
        rate_change(before, shorter)
    other_refs = word_error_rate(["cat", "two words", "cat"], ["cat", "two words", "cat"])
    with pytest.raises(DataError, match="utterance 1 has a reference of 1 words before and 2 after"):
        rate_change(before, other_refs)
    with pytest.raises(DataError, match="cannot compare word error rates with char"):
        rate_change(before, char_error_rate(["cat"] * 3, ["cat"] * 3))
    with pytest.raises(DataError, match="no utterances"):
        rate_change(ErrorRates.empty("word"), ErrorRates.empty("word"))
