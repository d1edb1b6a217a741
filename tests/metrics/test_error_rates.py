"""Error-rate functions against jiwer, edge cases, and corpus vs per-utterance averages."""

from __future__ import annotations

import math

import jiwer
import pytest
from hypothesis import given
from hypothesis import strategies as st

from speechq.errors import ConfigError, DataError
from speechq.metrics import ErrorRates, char_error_rate, error_rates, token_error_rate, word_error_rate

WORDS = st.sampled_from(["a", "b", "cat", "dog", "the"])
SENTENCES = st.lists(WORDS, max_size=8).map(" ".join)
PAIRS = st.lists(st.tuples(SENTENCES, SENTENCES), min_size=1, max_size=6)


@given(PAIRS)
def test_words_match_jiwer(pairs):
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    result = word_error_rate(refs, hyps)
    expected = jiwer.process_words(refs, hyps)
    assert (result.hits, result.substitutions, result.deletions, result.insertions) == (
        expected.hits, expected.substitutions, expected.deletions, expected.insertions
    )
    assert result.corpus_rate == pytest.approx(expected.wer)
    assert result.corpus_rate == pytest.approx(result.edits / max(1, sum(len(r.split()) for r in refs)))
    assert result.per_utterance == pytest.approx([jiwer.wer(r, h) for r, h in pairs])


@given(PAIRS)
def test_characters_match_jiwer(pairs):
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    result = char_error_rate(refs, hyps)
    assert result.corpus_rate == pytest.approx(jiwer.cer(refs, hyps))
    assert result.per_utterance == pytest.approx([jiwer.cer(r, h) for r, h in pairs])
    assert result.reference_length == sum(len(r) for r in refs)


RAW = st.text(alphabet="ab c,.'\t\n", max_size=12)


@given(st.lists(st.tuples(RAW, RAW), min_size=1, max_size=5))
def test_random_strings_without_normalisation_match_jiwer(pairs):
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    words, chars = word_error_rate(refs, hyps, normalize=None), char_error_rate(refs, hyps, normalize=None)
    assert words.corpus_rate == pytest.approx(jiwer.wer(refs, hyps))
    assert chars.corpus_rate == pytest.approx(jiwer.cer(refs, hyps))
    assert words.per_utterance == pytest.approx([jiwer.wer(r, h) for r, h in pairs])


@given(PAIRS, st.integers(1, 5))
def test_corpus_figure_does_not_depend_on_batching(pairs, cut):
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    whole = word_error_rate(refs, hyps)
    split = word_error_rate(refs[:cut], hyps[:cut]) + word_error_rate(refs[cut:], hyps[cut:])
    assert split == whole


@given(PAIRS, st.data())
def test_rate_of_some_utterances_is_their_own_corpus_rate(pairs, data):
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    picked = sorted(data.draw(st.sets(st.integers(0, len(pairs) - 1), min_size=1)))
    for measure in (word_error_rate, char_error_rate):
        alone = measure([refs[i] for i in picked], [hyps[i] for i in picked]).corpus_rate
        assert measure(refs, hyps).corpus_rate_of(picked) == pytest.approx(alone)


def test_rate_of_no_or_unknown_utterances():
    rates = word_error_rate(["a b", "c"], ["a", "c"])
    assert math.isnan(rates.corpus_rate_of([]))
    with pytest.raises(DataError, match=r"utterance positions \[2, -1\] are outside the 2 utterances"):
        rates.corpus_rate_of([0, 2, -1])


def test_edge_cases():
    empty_hypothesis = word_error_rate(["the cat sat"], [""])
    assert empty_hypothesis.deletions == 3 and empty_hypothesis.corpus_rate == 1.0
    assert empty_hypothesis.per_utterance == (1.0,)
    # empty reference: per utterance the number of inserted words; the corpus figure stays total edits / total words
    mixed = word_error_rate(["", "a b c d"], ["uh um", "a b c d"])
    assert mixed.per_utterance == (2.0, 0.0) and mixed.corpus_rate == 2 / 4
    assert mixed.corpus_rate == pytest.approx(jiwer.wer(["", "a b c d"], ["uh um", "a b c d"]))
    all_insertions = word_error_rate(["", ""], ["x", "y z"])
    assert all_insertions.insertions == 3 and all_insertions.corpus_rate == 3.0 == jiwer.wer(["", ""], ["x", "y z"])
    both_empty = word_error_rate([""], [""])
    assert both_empty.corpus_rate == 0.0 and both_empty.per_utterance == (0.0,)
    nothing = word_error_rate([], [])
    assert nothing.utterances == 0 and math.isnan(nothing.corpus_rate) and math.isnan(nothing.utterance_mean)


def test_corpus_and_per_utterance_averages_differ():
    refs = ["hello", "the quick brown fox jumps over the lazy dog again"]
    hyps = ["yellow", "the quick brown fox jumps over the lazy dog again"]
    result = word_error_rate(refs, hyps)
    assert result.corpus_rate == pytest.approx(1 / 11)  # what papers report
    assert result.utterance_mean == pytest.approx(0.5)  # a different figure


def test_token_error_rate_counts_space_separated_tokens():
    result = token_error_rate(["HH AH0 L OW1"], ["HH AH1 L OW1"])
    assert result.unit == "token" and result.substitutions == 1 and result.corpus_rate == 0.25
    assert token_error_rate(["HH"], ["hh"]).corpus_rate == 1.0  # case is kept for tokens


def test_bad_inputs():
    with pytest.raises(DataError, match="2 references but 1 hypotheses"):
        word_error_rate(["a", "b"], ["a"])
    with pytest.raises(DataError, match=r"reference texts must be strings; \(index, type\) \[\(1, 'NoneType'\)\]"):
        word_error_rate(["a", None], ["a", "b"])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="unit"):
        error_rates(["a"], ["a"], unit="phone")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot add"):
        ErrorRates.empty("word") + ErrorRates.empty("char")
