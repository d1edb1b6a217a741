"""Text normalisation: the English preset, composition, switching it off."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from speechq.metrics import (
    ENGLISH,
    WHITESPACE,
    CollapseWhitespace,
    Compose,
    RemovePunctuation,
    Strip,
    ToLowerCase,
    apply_transform,
    word_error_rate,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Don't, SAY it!", "don't say it"),
        ("  HE   COULD\twait\n", "he could wait"),
        ("well-known \u201cquotes\u201d", "well known quotes"),
        ("it\u2019s James' hat.", "it's james' hat"),
        ("...", ""),
        ("", ""),
    ],
)
def test_english_preset(text, expected):
    assert ENGLISH(text) == expected


def test_compose_applies_in_order_and_is_configurable():
    keep_hyphens = Compose([ToLowerCase(), RemovePunctuation(keep="'-", replacement=""), CollapseWhitespace(), Strip()])
    assert keep_hyphens("Well-known, RIGHT?") == "well-known right"
    assert WHITESPACE(" AH0  K ") == "AH0 K"
    assert apply_transform(None, ["A  b"]) == ["A  b"]
    assert apply_transform(str.upper, ["a"]) == ["A"]


def test_normalisation_on_by_default_and_can_be_disabled():
    assert word_error_rate("HELLO, World.", "hello world").corpus_rate == 0.0
    assert word_error_rate("HELLO, World.", "hello world", normalize=None).corpus_rate == 1.0


@given(st.text(max_size=40))
def test_english_is_idempotent_and_leaves_no_edge_or_double_spaces(text):
    once = ENGLISH(text)
    assert ENGLISH(once) == once
    assert once == once.strip() and "  " not in once and once == once.lower()


def test_librispeech_transcripts_match_their_lower_case(librispeech_mini):
    files = sorted(librispeech_mini.rglob("*.trans.txt"))
    lines = [line.split(" ", 1)[1] for f in files for line in f.read_text().splitlines()]
    assert len(lines) == 4 and all(line.isupper() for line in lines)
    assert word_error_rate(lines, [line.lower() for line in lines]).corpus_rate == 0.0
