"""A model's own language model: the ``language_model/`` folder beside it (pyctcdecode's and Hugging Face's layout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ctc_helpers import ambiguous_cat
from pyctcdecode import build_ctcdecoder
from pyctcdecode.language_model import LanguageModel

from speechq.decoding import (
    BeamSearchCTCDecoder,
    GreedyCTCDecoder,
    beam_decode,
    decoder_for,
    find_language_model,
    pyctcdecode_labels,
    read_language_model_folder,
    write_language_model_folder,
)
from speechq.errors import ConfigError, ModelError, OutputError


def _model_with_lm(tmp_path: Path, arpa: Path, alpha: float, beta: float = 0.5) -> Path:
    """``tmp_path/model.xml`` (a name only: nothing here loads it) with a ``language_model/`` folder beside it."""
    write_language_model_folder(tmp_path / "language_model", arpa, alpha=alpha, beta=beta)
    return tmp_path / "model.xml"


@pytest.mark.parametrize("alpha, expected", [(1.0, "the cat"), (0.0, "the kat")])
def test_the_folder_weights_decide(deepspeech, tiny_arpa: Path, tmp_path: Path, alpha: float, expected: str):
    model = _model_with_lm(tmp_path, tiny_arpa, alpha)
    own = find_language_model(model)
    assert own is not None and (own.alpha, own.beta) == (alpha, 0.5)
    assert beam_decode(own.beam_search(deepspeech), ambiguous_cat(deepspeech)) == expected


def test_auto_decoding_follows_the_model(deepspeech, tiny_arpa: Path, tmp_path: Path):
    model = _model_with_lm(tmp_path / "with", tiny_arpa, 1.0)
    logits = ambiguous_cat(deepspeech)[None]  # [1, T, V]
    auto = decoder_for(deepspeech, "BTV", model_path=model)
    assert isinstance(auto, BeamSearchCTCDecoder) and auto({"logits": logits}) == ["the cat"]
    assert str(model.parent / "language_model" / "tiny.arpa") in auto.description and "alpha 1" in auto.description
    greedy = decoder_for(deepspeech, "BTV", "greedy", model_path=model)
    assert isinstance(greedy, GreedyCTCDecoder) and greedy({"logits": logits}) == ["the kat"]
    assert isinstance(decoder_for(deepspeech, "BTV", model_path=tmp_path / "without" / "model.xml"), GreedyCTCDecoder)
    plain_beam = decoder_for(deepspeech, "BTV", "beam", model_path=tmp_path / "without" / "model.xml")
    assert plain_beam.description.endswith("no language model") and plain_beam({"logits": logits}) == ["the kat"]


def test_an_explicit_lm_replaces_the_models_own(deepspeech, tiny_arpa: Path, tmp_path: Path):
    model = _model_with_lm(tmp_path, tiny_arpa, 0.0)  # its own LM with no weight: 'kat'
    explicit = decoder_for(deepspeech, "BTV", lm_path=tiny_arpa, model_path=model)
    assert str(tiny_arpa) in explicit.description
    with pytest.raises(ConfigError, match="needs beam search"):
        decoder_for(deepspeech, "BTV", "greedy", lm_path=tiny_arpa)
    with pytest.raises(ConfigError, match="'auto', 'greedy' or 'beam'"):
        decoder_for(deepspeech, "BTV", "viterbi")


def test_a_model_folder_holds_its_language_model_inside(tiny_arpa: Path, tmp_path: Path):
    write_language_model_folder(tmp_path / "hf_model" / "language_model", tiny_arpa)
    assert find_language_model(tmp_path / "hf_model").kenlm_path == tmp_path / "hf_model" / "language_model" / "tiny.arpa"
    assert find_language_model(tmp_path / "hf_model" / "model.xml") is not None
    assert find_language_model(tmp_path / "elsewhere" / "model.xml") is None
    assert find_language_model(None) is None


def test_pyctcdecode_reads_what_speechq_writes_and_the_reverse(deepspeech, tiny_arpa: Path, tmp_path: Path):
    written = write_language_model_folder(tmp_path / "ours", tiny_arpa, alpha=0.7, beta=1.25)
    theirs = LanguageModel.load_from_dir(str(written.folder))
    assert (theirs.alpha, theirs.beta) == (0.7, 1.25)
    decoder = build_ctcdecoder(pyctcdecode_labels(deepspeech), kenlm_model_path=str(tiny_arpa), alpha=1.0, beta=0.75)
    (tmp_path / "saved").mkdir()
    decoder.save_to_dir(str(tmp_path / "saved"))  # writes alphabet.json and language_model/
    read = read_language_model_folder(tmp_path / "saved" / "language_model")
    assert (read.alpha, read.beta, read.kenlm_path.name, read.unigrams_path.name) == (1.0, 0.75, "tiny.arpa", "unigrams.txt")
    assert beam_decode(read.beam_search(deepspeech), ambiguous_cat(deepspeech)) == "the cat"  # its LM decides


def _folder(tmp_path: Path, tiny_arpa: Path) -> Path:
    return write_language_model_folder(tmp_path / "language_model", tiny_arpa).folder


BAD_FOLDERS = {
    "no attrs.json": (lambda f: (f / "attrs.json").unlink(), "needs attrs.json"),
    "attrs.json not JSON": (lambda f: (f / "attrs.json").write_text("{alpha"), "attrs.json: cannot read it"),
    "attrs.json a list": (lambda f: (f / "attrs.json").write_text("[]"), "attrs.json: must be a JSON object"),
    "alpha not a number": (lambda f: (f / "attrs.json").write_text('{"alpha": "high"}'), "attrs.json: alpha must be"),
    "unknown key": (lambda f: (f / "attrs.json").write_text('{"alpha": 1, "gamma": 2}'), "unknown keys \\['gamma'\\]"),
    "no KenLM model": (lambda f: (f / "tiny.arpa").unlink(), "expected one KenLM model .* found none"),
    "two KenLM models": (lambda f: (f / "other.bin").write_bytes(b"x"), "found other.bin, tiny.arpa"),
}


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_a_malformed_folder_is_refused_by_name(case: str, tiny_arpa: Path, tmp_path: Path):
    spoil, message = BAD_FOLDERS[case]
    folder = _folder(tmp_path, tiny_arpa)
    spoil(folder)
    with pytest.raises(ConfigError, match=message) as caught:
        find_language_model(tmp_path / "model.xml")
    assert str(folder) in str(caught.value)


def test_writing_refuses_an_existing_folder_and_a_non_arpa_model(tiny_arpa: Path, tmp_path: Path):
    folder = _folder(tmp_path, tiny_arpa)
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(OutputError, match="already exists"):
        write_language_model_folder(folder, tiny_arpa)
    assert sorted(p.name for p in folder.iterdir()) == before == ["attrs.json", "tiny.arpa", "unigrams.txt"]
    binary = tmp_path / "lm.bin"
    binary.write_bytes(b"mmap lm http://kheafield.com/code\x00\x01")
    with pytest.raises(ModelError, match="lm.bin"):
        write_language_model_folder(tmp_path / "other", binary)
    assert not (tmp_path / "other").exists()
    assert json.loads((folder / "attrs.json").read_text())["score_boundary"] is True
