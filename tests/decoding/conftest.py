"""Shared fixtures for decoding tests (helpers live in ctc_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ctc_helpers import write_arpa

from speechq.decoding import Vocabulary

LM_SENTENCES = ["the cat sat on the mat", "the cat ate", "a cat sat", "the dog sat on the cat", "the mat"]


@pytest.fixture(scope="session")
def tiny_arpa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bigram ARPA model in which 'cat' is common and 'kat' unknown."""
    return write_arpa(tmp_path_factory.mktemp("lm") / "tiny.arpa", LM_SENTENCES)


@pytest.fixture(scope="session")
def deepspeech() -> Vocabulary:
    return Vocabulary.deepspeech()
