"""The ``wav2vec2`` recipe on a user's own model: the ``vocab.json`` beside the model decides the symbols (checked
against the logits before any inference), travels with the INT8 model, and a bad one is named in one line.

The model is a tiny Wav2Vec2-shaped CTC graph built with OpenVINO's opset (waveform ``input_values`` [1, N] ->
strided convolutions, one frame per 320 samples -> ``logits`` [1, T, V]), so these run without the shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from _cases import assert_cli_error, model_leftovers, run_cli
from openvino import opset13 as ops

import speechq as sq
from speechq.errors import ConfigError, ModelError, OutputError
from speechq.workflows import quantize_and_compare
from speechq.zoo import get_recipe

SPEC = get_recipe("wav2vec2")
# A vocabulary of a different model family: 12 symbols, blank "<pad>", word delimiter "|".
TOKENS = ["<pad>", "|", "A", "D", "E", "H", "L", "O", "R", "W", "'", "<unk>"]


def build_wav2vec2_like(symbols: int, seed: int = 0) -> ov.Model:
    """``input_values`` [1, ?] f32 -> conv (kernel 400, stride 320, 16 channels, ReLU) -> 1x1 conv ->
    ``logits`` [1, T, symbols]."""
    rng = np.random.default_rng(seed)
    audio = ops.parameter([1, -1], np.float32, name="input_values")
    audio.output(0).get_tensor().set_names({"input_values"})
    x = ops.unsqueeze(audio, ops.constant(np.array([1], np.int64)))  # [1, 1, N]
    w1 = (rng.normal(size=(16, 1, 400)) / 20).astype(np.float32)
    x = ops.relu(ops.convolution(x, ops.constant(w1), [320], [0], [0], [1]))
    w2 = (rng.normal(size=(symbols, 16, 1)) / 4).astype(np.float32)
    x = ops.convolution(x, ops.constant(w2), [1], [0], [0], [1])
    logits = ops.result(ops.transpose(x, ops.constant(np.array([0, 2, 1], np.int64))))
    logits.output(0).get_tensor().set_names({"logits"})
    return ov.Model([logits], [audio], "wav2vec2_like")


def _model_folder(folder: Path, symbols: int, vocab: str | None) -> Path:
    sq.save_model(sq.CompressedModel.from_ov(build_wav2vec2_like(symbols), "model"), folder, model_name="model")
    if vocab is not None:
        (folder / "vocab.json").write_text(vocab, encoding="utf-8")
    return folder / "model.xml"


def _vocab_json(tokens: list[str]) -> str:
    return json.dumps({token: index for index, token in enumerate(tokens)})


def test_vocab_json_beside_the_model_sets_the_symbols(tmp_path: Path) -> None:
    path = _model_folder(tmp_path, len(TOKENS), _vocab_json(TOKENS))
    vocabulary = SPEC.vocabulary_for(path)
    assert list(vocabulary.tokens) == TOKENS and vocabulary.blank_index == 0 and vocabulary.word_delimiter == "|"
    SPEC.check_model(sq.load_model(path).model, str(path))  # 12 logits, 12 symbols: accepted


def test_without_vocab_json_the_shipped_vocabulary_applies(tmp_path: Path) -> None:
    path = _model_folder(tmp_path, 32, None)
    assert SPEC.vocabulary_file_of(path) is None and len(SPEC.vocabulary_for(path)) == 32
    SPEC.check_model(sq.load_model(path).model, str(path))


def test_vocab_json_of_the_wrong_size_is_named_before_any_inference(tmp_path: Path, corpus: Path) -> None:
    path = _model_folder(tmp_path, 32, _vocab_json(TOKENS))
    with pytest.raises(ModelError) as raised:
        quantize_and_compare(SPEC, path, corpus, tmp_path / "out", params={"stat_subset_size": 2}, latency_repeats=1)
    message = str(raised.value)
    assert str(tmp_path / "vocab.json") in message and "12 symbols" in message and "'logits': '[1,1..,32]'" in message
    assert model_leftovers(tmp_path / "out") == []


def test_malformed_vocab_json_is_named(tmp_path: Path, corpus: Path) -> None:
    path = _model_folder(tmp_path, 32, '{"<pad>": 0, "A": ')
    with pytest.raises(ConfigError, match=str(tmp_path / "vocab.json")):
        quantize_and_compare(SPEC, path, corpus, tmp_path / "out", params={"stat_subset_size": 2}, latency_repeats=1)
    assert model_leftovers(tmp_path / "out") == []


def test_cli_names_a_vocab_json_of_the_wrong_size(tmp_path: Path, corpus: Path) -> None:
    path = _model_folder(tmp_path, 32, _vocab_json(TOKENS))
    done = run_cli("quantize", "--recipe", "wav2vec2", "-m", path, "-d", corpus, "-o", tmp_path / "out",
                   "--subset-size", "2", "--no-progress")
    assert_cli_error(done, "quantize", tmp_path / "vocab.json", "12 symbols")
    assert model_leftovers(tmp_path / "out") == []


def test_int8_model_gets_the_vocab_json_and_a_different_one_is_refused_first(tmp_path: Path, corpus: Path) -> None:
    path = _model_folder(tmp_path / "model", len(TOKENS), _vocab_json(TOKENS))
    out = tmp_path / "out"
    out.mkdir()
    (out / "vocab.json").write_text(_vocab_json(list(reversed(TOKENS))), encoding="utf-8")
    with pytest.raises(OutputError, match=str(out / "vocab.json")):
        quantize_and_compare(SPEC, path, corpus, out, params={"stat_subset_size": 2}, latency_repeats=1)
    assert model_leftovers(out) == []

    result = quantize_and_compare(SPEC, path, corpus, out, params={"stat_subset_size": 2}, latency_repeats=1,
                                  overwrite=True)
    assert (out / "vocab.json").read_bytes() == (tmp_path / "model" / "vocab.json").read_bytes()
    assert [Path(saved["model"]).name for saved in result.saved] == ["model.xml"]
    assert SPEC.vocabulary_for(out / "model.xml") == SPEC.vocabulary_for(path)
    assert 0 <= result.int8.metrics["wer"] and sorted(p.name for p in out.iterdir()) == ["model.bin", "model.xml",
                                                                                          "vocab.json"]
