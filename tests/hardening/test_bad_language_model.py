"""A model's ``language_model/`` folder that speechq cannot use: ``speechq`` ends in one line naming the file, before
any inference and without writing a model; an output folder holding another language model is not mixed into."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _cases import assert_cli_error, model_leftovers, run_cli

from speechq.zoo import get_recipe

SHIPPED_LM = get_recipe("deepspeech").default_model.parent / "language_model"


def _model_with_lm(tmp_path: Path, tiny_ir: Path) -> Path:
    """A copy of the tiny model with a copy of the shipped language_model/ folder beside it."""
    folder = tmp_path / "model"
    folder.mkdir()
    for suffix in (".xml", ".bin"):
        shutil.copyfile(tiny_ir.with_suffix(suffix), folder / f"model{suffix}")
    shutil.copytree(SHIPPED_LM, folder / "language_model")
    return folder / "model.xml"


@pytest.mark.parametrize("command", ["quantize", "eval", "transcribe"])
def test_malformed_attrs_json_is_named(tmp_path: Path, tiny_ir: Path, corpus: Path, command: str) -> None:
    model = _model_with_lm(tmp_path, tiny_ir)
    attrs = model.parent / "language_model" / "attrs.json"
    attrs.write_text('{"alpha": "strong"}', encoding="utf-8")
    args = {"quantize": ["-m", model, "-o", tmp_path / "out", "--no-progress"], "eval": [model],
            "transcribe": ["-m", model]}[command]
    assert_cli_error(run_cli(command, *args, "-d", corpus), command, attrs, "alpha must be a finite number")
    assert model_leftovers(tmp_path / "out") == []


def test_greedy_decoding_does_not_read_the_folder(tmp_path: Path, tiny_ir: Path, corpus: Path) -> None:
    model = _model_with_lm(tmp_path, tiny_ir)
    (model.parent / "language_model" / "attrs.json").unlink()
    done = run_cli("eval", model, "-d", corpus, "--decoder", "greedy")
    assert done.returncode == 0, done.stderr
    assert "Decoding: greedy" in done.stdout


def test_quantize_refuses_to_mix_two_language_models(tmp_path: Path, tiny_ir: Path, corpus: Path) -> None:
    model = _model_with_lm(tmp_path, tiny_ir)
    out = tmp_path / "out"
    (out / "language_model").mkdir(parents=True)
    (out / "language_model" / "5gram.bin").write_bytes(b"someone else's LM")
    done = run_cli("quantize", "-m", model, "-d", corpus, "-o", out, "--no-progress")
    assert_cli_error(done, "quantize", out / "language_model", "5gram.bin", "ask for overwrite")
    assert model_leftovers(out) == ["language_model/5gram.bin"]  # nothing written, the other file untouched
    assert (out / "language_model" / "5gram.bin").read_bytes() == b"someone else's LM"
