"""Vocabulary: constructors, files, validation, text <-> ids."""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from speechq.decoding import DEEPSPEECH_TOKENS, Vocabulary
from speechq.errors import ConfigError, DataError, ModelError

# wav2vec2-base-960h's vocab.json
WAV2VEC2_VOCAB = {
    "<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, "T": 6, "A": 7, "O": 8, "N": 9, "I": 10, "H": 11,
    "S": 12, "R": 13, "D": 14, "L": 15, "U": 16, "M": 17, "W": 18, "C": 19, "F": 20, "G": 21, "Y": 22, "P": 23,
    "B": 24, "V": 25, "K": 26, "'": 27, "X": 28, "J": 29, "Q": 30, "Z": 31,
}  # fmt: skip

DEEPSPEECH_ALPHABET_TXT = (
    "# Each line in this file represents the Unicode codepoint\n# of a character.\n \n"
    + "\n".join([*string.ascii_lowercase, "'"])
    + "\n# The last (non-comment) line needs to end with a newline.\n"
)


def test_deepspeech_has_29_symbols_blank_last():
    vocab = Vocabulary.deepspeech()
    assert vocab.size == len(vocab) == 29
    assert vocab.blank_index == 28 and vocab.word_delimiter == " "
    assert vocab.tokens[:2] == (" ", "a") and vocab.tokens[27] == "'"


def test_hf_vocab_json(tmp_path: Path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(WAV2VEC2_VOCAB))
    vocab = Vocabulary.from_hf_vocab_json(path)
    assert vocab.size == 32 and vocab.blank_index == 0 and vocab.word_delimiter == "|"
    assert vocab.tokens[5] == "E"
    assert Vocabulary.from_file(path) == vocab
    assert vocab.tokens_to_text([11, 5, 15, 15, 8, 4, 18, 8, 13, 15, 14]) == "HELLO WORLD"


def test_deepspeech_alphabet_txt_appends_the_blank(tmp_path: Path):
    path = tmp_path / "alphabet.txt"
    path.write_text(DEEPSPEECH_ALPHABET_TXT)
    assert Vocabulary.from_file(path) == Vocabulary.deepspeech()


def test_blank_one_past_the_last_token_is_appended(tmp_path: Path):
    """NeMo's vocabularies list every token but the blank, which is the model's last output."""
    path = tmp_path / "tokens.txt"
    path.write_text("a\nb\n \n")
    vocab = Vocabulary.from_file(path, blank=3)
    assert vocab.tokens == ("a", "b", " ", "") and vocab.blank_index == 3 and vocab.word_delimiter == " "


def test_json_list_with_blank_and_no_delimiter(tmp_path: Path):
    path = tmp_path / "phonemes.json"
    path.write_text(json.dumps(["<b>", "AH0", "K", "T", "#"]))
    vocab = Vocabulary.from_file(path, blank="<b>", word_delimiter=None)
    assert vocab.blank_index == 0 and vocab.word_delimiter is None
    assert vocab.tokens_to_text([2, 1, 3]) == "K AH0 T"
    assert Vocabulary.from_file(path, blank=0, word_delimiter=None) == vocab


def test_text_file_escaped_comment_and_explicit_blank(tmp_path: Path):
    path = tmp_path / "tokens.txt"
    path.write_text("# comment\nx\n\\#\n_\n")
    vocab = Vocabulary.from_file(path, blank="_", word_delimiter=None)
    assert vocab.tokens == ("x", "#", "_") and vocab.blank_index == 2


def test_from_tokens_negative_blank_index_is_normalised():
    vocab = Vocabulary.from_tokens(["a", "b", "-"], blank_index=-1)
    assert vocab.blank_index == 2 and vocab.blank == "-"


@pytest.mark.parametrize(
    ("tokens", "blank", "delimiter", "match"),
    [
        ([], 0, None, "no tokens"),
        (["a", "b", "a"], 2, None, "duplicate"),
        (["a", "b"], 2, None, "out of range"),
        (["a", "b"], "1", None, "integer"),
        (["a", "b"], 1, "|", "not one of"),
        (["a", "|"], 1, "|", "is the blank"),
        (["a", "", "b"], 2, None, "empty string"),
        (["a", 3], 0, None, "strings"),
    ],
)
def test_invalid_vocabularies(tokens, blank, delimiter, match):
    with pytest.raises(ConfigError, match=match):
        Vocabulary(tuple(tokens), blank, delimiter)


def test_file_errors_name_the_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        Vocabulary.from_file(tmp_path / "missing.txt")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json.*not valid JSON"):
        Vocabulary.from_file(bad_json)
    gap = tmp_path / "gap.json"
    gap.write_text(json.dumps({"<pad>": 0, "a": 2}))
    with pytest.raises(ConfigError, match="missing \\[1\\]"):
        Vocabulary.from_file(gap)
    no_pad = tmp_path / "nopad.json"
    no_pad.write_text(json.dumps({"a": 0, "|": 1}))
    with pytest.raises(ConfigError, match="nopad.json.*blank token '<pad>'"):
        Vocabulary.from_hf_vocab_json(no_pad)
    duplicate = tmp_path / "dup.txt"
    duplicate.write_text("a\nb\na\n")
    with pytest.raises(ConfigError, match="dup.txt.*duplicate"):
        Vocabulary.from_file(duplicate)


def test_check_output_size_names_the_output():
    vocab = Vocabulary.deepspeech()
    vocab.check_output_size(29, "logits")
    with pytest.raises(ModelError, match="output 'logits'.*32 symbols.*29"):
        vocab.check_output_size(32, "output 'logits'")


def test_tokens_to_text_collapses_delimiters_and_skips_blanks():
    vocab = Vocabulary.from_tokens(["<pad>", "|", "A", "B"], blank_index=0, word_delimiter="|")
    assert vocab.tokens_to_text([1, 2, 0, 1, 1, 3, 1]) == "A B"
    assert vocab.tokens_to_text(np.array([], dtype=np.int64)) == ""
    with pytest.raises(DataError, match="outside"):
        vocab.tokens_to_text([4])


def test_text_to_ids_longest_match_and_unknown():
    vocab = Vocabulary.from_tokens(["th", "t", "h", "e", " ", "_"], blank_index=-1, word_delimiter=" ")
    assert vocab.text_to_ids("the  the") == [0, 3, 4, 0, 3]
    with pytest.raises(DataError, match="'x'"):
        vocab.text_to_ids("tex")


@given(st.lists(st.text(alphabet=string.ascii_lowercase + "'", min_size=1, max_size=6), max_size=6))
def test_text_round_trip(words):
    vocab = Vocabulary.deepspeech()
    text = " ".join(words)
    assert vocab.tokens_to_text(vocab.text_to_ids(text)) == text
    assert len(DEEPSPEECH_TOKENS) == 29
