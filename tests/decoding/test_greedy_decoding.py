"""Greedy CTC decoding against a plain-Python reference; batch == per item; streaming == whole utterance."""

from __future__ import annotations

import numpy as np
import pytest
from ctc_helpers import path_logits, spell
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from speechq.decoding import (
    StreamingGreedyDecoder,
    Vocabulary,
    collapse_ctc_path,
    greedy_decode,
    greedy_decode_batch,
    greedy_decode_batch_ids,
    greedy_decode_ids,
)
from speechq.errors import DataError, ModelError


def reference_greedy(logits: np.ndarray, blank: int) -> list[int]:
    """Best path the obvious way: first maximum per frame, merge repeats, drop blanks."""
    out: list[int] = []
    previous = None
    for row in logits.tolist():
        best = max(range(len(row)), key=lambda v: row[v])  # first maximum on ties, as numpy.argmax
        if best != previous and best != blank:
            out.append(best)
        previous = best
    return out


@st.composite
def logits_and_blank(draw: st.DrawFn, max_frames: int = 40) -> tuple[np.ndarray, int]:
    size = draw(st.integers(2, 7))
    frames = draw(st.integers(0, max_frames))
    # small integers make ties and long runs (repeats, blanks) frequent
    logits = draw(arrays(np.float32, (frames, size), elements=st.integers(0, 3).map(float)))
    return logits, draw(st.integers(0, size - 1))


def letters_vocab(size: int, blank: int) -> Vocabulary:
    tokens = [chr(ord("a") + i) for i in range(size - 1)]
    tokens.insert(blank, "_")
    return Vocabulary.from_tokens(tokens, blank_index=blank, word_delimiter=None)


@given(logits_and_blank())
def test_matches_reference_with_blank_anywhere(case):
    logits, blank = case
    assert greedy_decode_ids(logits, blank).tolist() == reference_greedy(logits, blank)


@given(logits_and_blank(), st.data())
def test_valid_length_is_a_prefix(case, data):
    logits, blank = case
    length = data.draw(st.integers(0, logits.shape[0]))
    assert greedy_decode_ids(logits, blank, length).tolist() == reference_greedy(logits[:length], blank)


@given(logits_and_blank(), st.integers(1, 4), st.data())
def test_batch_equals_per_item(case, batch, data):
    logits, blank = case
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    stacked = np.stack([logits] + [rng.integers(0, 4, logits.shape).astype(np.float32) for _ in range(batch - 1)])
    lengths = [data.draw(st.integers(0, logits.shape[0])) for _ in range(batch)]
    decoded = greedy_decode_batch_ids(stacked, blank, lengths)
    assert [d.tolist() for d in decoded] == [reference_greedy(x[:n], blank) for x, n in zip(stacked, lengths)]
    vocab = letters_vocab(logits.shape[1], blank)
    per_item = [greedy_decode(x, vocab, n) for x, n in zip(stacked, lengths)]
    assert greedy_decode_batch(stacked, vocab, lengths) == per_item


@settings(max_examples=100)
@given(logits_and_blank(max_frames=60), st.data())
def test_streaming_equals_whole_utterance_for_any_chunking(case, data):
    logits, blank = case
    cuts = sorted(data.draw(st.lists(st.integers(0, logits.shape[0]), max_size=8)))
    vocab = letters_vocab(logits.shape[1], blank)
    decoder = StreamingGreedyDecoder(vocab)
    for start, stop in zip([0, *cuts], [*cuts, logits.shape[0]]):
        decoder.push(logits[start:stop])
    assert decoder.frames == logits.shape[0]
    assert decoder.token_ids.tolist() == reference_greedy(logits, blank)
    assert decoder.finish() == greedy_decode(logits, vocab)
    assert decoder.frames == 0 and decoder.text == ""


def test_repeat_straddling_a_chunk_boundary_collapses(deepspeech):
    a = deepspeech.text_to_ids("a")[0]
    logits = path_logits([a, a, a, deepspeech.blank_index, a], deepspeech.size)
    decoder = StreamingGreedyDecoder(deepspeech)
    decoder.push(logits[:2])
    assert decoder.text == "a"
    decoder.push(logits[2:])
    assert decoder.finish() == "aa" == greedy_decode(logits, deepspeech)


def test_probabilities_log_probabilities_and_logits_agree(deepspeech):
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(200, deepspeech.size)).astype(np.float32)
    probs = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    texts = {greedy_decode(x, deepspeech) for x in (raw, probs, np.log(probs))}
    assert len(texts) == 1


def test_deepspeech_words(deepspeech):
    logits = path_logits(spell(deepspeech, "hello world"), deepspeech.size)
    assert greedy_decode(logits, deepspeech) == "hello world"
    double = path_logits(spell(deepspeech, "aa", frames_per_token=1)[:-1] + [deepspeech.text_to_ids("a")[0]], 29)
    assert greedy_decode(double, deepspeech) == "aa"


def test_collapse_with_previous_frame():
    assert collapse_ctc_path(np.array([1, 1, 0, 1, 2]), blank_index=0, previous=1).tolist() == [1, 2]
    assert collapse_ctc_path(np.array([1, 1, 0, 1, 2]), blank_index=0).tolist() == [1, 1, 2]


def test_errors_name_shapes_and_sizes(deepspeech):
    with pytest.raises(DataError, match=r"\[T, V\].*shape \(2, 3, 29\)"):
        greedy_decode(np.zeros((2, 3, 29)), deepspeech)
    with pytest.raises(ModelError, match="32 symbols"):
        greedy_decode(np.zeros((5, 32)), deepspeech)
    with pytest.raises(DataError, match="valid_length 6 is outside"):
        greedy_decode(np.zeros((5, 29)), deepspeech, valid_length=6)
    with pytest.raises(DataError, match="2 entries for a batch of 1"):
        greedy_decode_batch(np.zeros((1, 5, 29)), deepspeech, [1, 2])
    with pytest.raises(ModelError):
        StreamingGreedyDecoder(deepspeech).push(np.zeros((3, 28)))
