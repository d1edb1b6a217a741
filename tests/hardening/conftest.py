"""Fixtures of the bad-input matrix: a tiny DeepSpeech-shaped IR on disk and a tiny LibriSpeech-layout corpus,
written once per session (rows that damage them work on copies)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cases import make_corpus
from speechq_testing import build_tiny_deepspeech

import speechq as sq


@pytest.fixture(scope="session")
def tiny_ir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``model.xml`` + ``model.bin``: the deepspeech recipe's inputs (input_node, previous_state_c/h), 29 symbols."""
    folder = tmp_path_factory.mktemp("tiny_ir")
    sq.save_model(sq.CompressedModel.from_ov(build_tiny_deepspeech(), "model"), folder, model_name="model")
    return folder / "model.xml"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three labelled one-second utterances in LibriSpeech layout (do not modify: copy it)."""
    return make_corpus(tmp_path_factory.mktemp("corpus"))
