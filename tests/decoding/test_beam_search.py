"""Beam search through pyctcdecode: label mapping, agreement with greedy, a tiny ARPA LM changing a decision."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from ctc_helpers import ambiguous_cat, path_logits
from hypothesis import given, settings
from hypothesis import strategies as st

from speechq.decoding import (
    BeamSearchCTCDecoder,
    BeamSearchParams,
    Vocabulary,
    beam_decode,
    beam_decode_many,
    build_beam_decoder,
    greedy_decode,
    labels_in_case_of,
    pyctcdecode_labels,
    read_arpa_unigrams,
)
from speechq.errors import ConfigError, ModelError


def test_labels_map_blank_and_delimiter_at_any_index():
    hf = Vocabulary.from_tokens(["<pad>", "<s>", "|", "A", "B"], blank_index=0, word_delimiter="|")
    assert pyctcdecode_labels(hf) == ["", "<s>", " ", "A", "B"]
    middle = Vocabulary.from_tokens(["a", "-", " ", "b"], blank_index=1, word_delimiter=" ")
    assert pyctcdecode_labels(middle) == ["a", "", " ", "b"]
    phonemes = Vocabulary.from_tokens(["AH0", "K", "<b>"], blank_index=2)
    assert pyctcdecode_labels(phonemes) == ["\u2581AH0", "\u2581K", ""]


def test_labels_pyctcdecode_would_misread_are_refused():
    with pytest.raises(ConfigError, match="'<pad>'"):
        pyctcdecode_labels(Vocabulary.from_tokens(["<pad>", "a", "|", "_b"], blank_index=3, word_delimiter="|"))
    with pytest.raises(ConfigError, match="' '"):
        pyctcdecode_labels(Vocabulary.from_tokens([" ", "a", "|", "-"], blank_index=3, word_delimiter="|"))


def test_without_lm_beam_agrees_with_greedy_on_clear_speech(deepspeech):
    logits = ambiguous_cat(deepspeech)
    search = build_beam_decoder(deepspeech)
    assert beam_decode(search, logits) == greedy_decode(logits, deepspeech) == "the kat"


def test_arpa_lm_changes_the_decision(deepspeech, tiny_arpa: Path):
    logits = ambiguous_cat(deepspeech)
    search = build_beam_decoder(deepspeech, tiny_arpa, BeamSearchParams(alpha=1.0, beta=0.5))
    assert beam_decode(search, logits) == "the cat"
    assert "cat" in read_arpa_unigrams(tiny_arpa) and "<s>" not in read_arpa_unigrams(tiny_arpa)


def test_capital_vocabulary_uses_a_lower_case_lm(tiny_arpa: Path):
    """Hugging Face's capitals against an LM of lower-case words: the LM still decides (text in the LM's case)."""
    hf = Vocabulary.from_tokens(["<pad>", "|", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "'"], blank_index=0, word_delimiter="|")
    logits = ambiguous_cat(hf, str.upper)
    assert greedy_decode(logits, hf) == "THE KAT"
    search = build_beam_decoder(hf, tiny_arpa, BeamSearchParams(alpha=1.0, beta=0.5))
    assert beam_decode(search, logits) == "the cat"


def test_labels_follow_the_lm_case_only_when_they_disagree():
    assert labels_in_case_of(["", " ", "A", "<s>"], ["cat"]) == ["", " ", "a", "<s>"]
    assert labels_in_case_of(["", "a", "b"], ["CAT"]) == ["", "A", "B"]
    assert labels_in_case_of(["", "a", "b"], ["cat", "Paris"]) == ["", "a", "b"]  # mixed case: left alone
    assert labels_in_case_of(["", "A", "b"], ["cat"]) == ["", "A", "b"]


def test_hotwords_change_the_decision_without_lm(deepspeech):
    logits = ambiguous_cat(deepspeech)
    search = build_beam_decoder(deepspeech, params=BeamSearchParams(hotwords=("cat",)))
    assert beam_decode(search, logits) == "the cat"


def test_token_level_vocabulary_decodes_tokens_joined_by_spaces():
    vocab = Vocabulary.from_tokens(["<b>", "AH0", "K", "T"], blank_index=0)
    logits = path_logits([2, 2, 0, 1, 3, 3, 0, 3], vocab.size)
    assert beam_decode(build_beam_decoder(vocab), logits) == "K AH0 T T" == greedy_decode(logits, vocab)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 28), max_size=30), st.integers(0, 28))
def test_peaked_logits_give_the_greedy_text(path, blank):
    tokens = list(Vocabulary.deepspeech().tokens[:-1])
    tokens.insert(blank, "-")
    vocab = Vocabulary.from_tokens(tokens, blank_index=blank, word_delimiter=" ")
    logits = path_logits(path, vocab.size, peak=0.99)
    search = build_beam_decoder(vocab, params=BeamSearchParams(beam_width=8))
    assert beam_decode(search, logits) == greedy_decode(logits, vocab)


def test_many_in_parallel_equal_sequential(deepspeech, tiny_arpa: Path):
    rng = np.random.default_rng(1)
    utterances = [ambiguous_cat(deepspeech)] + [
        path_logits(rng.integers(0, 29, size=n), 29, peak=0.6) for n in (0, 5, 40, 17)
    ]
    search = build_beam_decoder(deepspeech, tiny_arpa)
    lengths = [None, None, 3, 30, None]
    sequential = beam_decode_many(search, utterances, lengths)
    assert beam_decode_many(search, utterances, lengths, num_workers=2) == sequential
    assert sequential[1] == "" and sequential == [beam_decode(search, u, n) for u, n in zip(utterances, lengths)]


def test_bad_settings_and_files(deepspeech, tmp_path: Path):
    with pytest.raises(ConfigError, match="beam_width"):
        BeamSearchParams(beam_width=0)
    with pytest.raises(ConfigError, match="token_min_logp"):
        BeamSearchParams(token_min_logp=1.0)
    with pytest.raises(ModelError, match="does not exist"):
        build_beam_decoder(deepspeech, tmp_path / "missing.arpa")
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00not a language model" * 10)
    with pytest.raises(ModelError, match="garbage.bin"):
        build_beam_decoder(deepspeech, garbage, unigrams=["cat"])
    with pytest.raises(ConfigError, match="num_workers"):
        BeamSearchCTCDecoder(deepspeech, num_workers=0)


def test_loading_prints_nothing_and_errors_keep_kenlms_reason(deepspeech, tiny_arpa: Path, tmp_path: Path, capfd,
                                                              caplog):
    """KenLM's progress bar (C++ on file descriptor 2) and pyctcdecode's notes on small vocabularies stay out of the
    user's terminal; a model KenLM refuses is an error with KenLM's reason, and the terminal works afterwards."""
    build_beam_decoder(deepspeech, tiny_arpa)  # 11 words: pyctcdecode would warn "Only 11 unigrams passed"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pyctcdecode")] == []
    unigram_only = tmp_path / "unigram_only.arpa"
    unigram_only.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n-1.0\thello\t-0.5\n\n\\end\\\n", encoding="utf-8")
    with pytest.raises(ModelError, match="unigram_only.arpa: KenLM cannot load it: .*at least a bigram model"):
        build_beam_decoder(deepspeech, unigram_only)
    print("after", file=sys.stderr)
    assert capfd.readouterr().err == "after\n"
