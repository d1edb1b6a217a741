"""Bad models, one row per case: ``quantize_and_compare`` (API) raises a ModelError naming the file and the input,
output or symbol count at fault, before the first inference; ``speechq quantize -m`` ends in one error line
naming it and writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import openvino as ov
import pytest
from _cases import assert_cli_error, model_leftovers, run_cli, slow_rows
from speechq_testing import build_mlp, build_tiny_deepspeech

import speechq as sq
from speechq.errors import ModelError
from speechq.workflows import quantize_and_compare
from speechq.zoo import get_recipe

SPEC = get_recipe("deepspeech")


def _save(model: ov.Model, folder: Path) -> Path:
    sq.save_model(sq.CompressedModel.from_ov(model, "model"), folder, model_name="model")
    return folder / "model.xml"


def _missing_xml(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    return folder / "model.xml", [f"model file not found: {folder / 'model.xml'}"]


def _missing_bin(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    shutil.copy(tiny_ir, folder / "model.xml")
    return folder / "model.xml", [f"weights file not found: {folder / 'model.bin'}"]


def _xml_not_ir(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    (folder / "model.xml").write_text("<?xml version='1.0'?>\n<html><body>a web page</body></html>\n")
    shutil.copy(tiny_ir.with_suffix(".bin"), folder / "model.bin")
    return folder / "model.xml", [f"{folder / 'model.xml'}: cannot be read as a model (Unable to read the model"]


def _xml_truncated(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    text = tiny_ir.read_text()
    (folder / "model.xml").write_text(text[: len(text) // 2])
    shutil.copy(tiny_ir.with_suffix(".bin"), folder / "model.bin")
    return folder / "model.xml", [f"{folder / 'model.xml'}: cannot be read as a model"]


def _bin_too_short(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    shutil.copy(tiny_ir, folder / "model.xml")
    (folder / "model.bin").write_bytes(tiny_ir.with_suffix(".bin").read_bytes()[:100])
    return folder / "model.xml", [f"{folder / 'model.xml'}: cannot be read as a model"]


def _onnx_garbage(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    (folder / "model.onnx").write_bytes(bytes(range(256)) * 4)
    return folder / "model.onnx", [f"{folder / 'model.onnx'}: cannot be read as a model (Unable to read the model"]


def _onnx_empty(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    (folder / "model.onnx").write_bytes(b"")
    return folder / "model.onnx", [f"{folder / 'model.onnx'}: cannot be read as a model"]


def _unknown_suffix(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    shutil.copy(tiny_ir, folder / "model.pb")
    return folder / "model.pb", [f"{folder / 'model.pb'}: expected an OpenVINO IR (.xml) or ONNX (.onnx) model"]


def _input_names(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    path = _save(build_tiny_deepspeech(state_names=("c0", "h0")), folder)
    return path, [f"{path}: the deepspeech recipe needs inputs", "missing ['previous_state_c', 'previous_state_h']"]


def _not_speech(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    path = _save(build_mlp(), folder)
    return path, [f"{path}: the deepspeech recipe needs inputs", "the model has ['x']"]


def _unpaired_state(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    """The recipe's inputs, but no state outputs to feed previous_state_c/h."""
    full = build_tiny_deepspeech()
    path = _save(ov.Model([full.get_results()[0]], full.get_parameters(), "no_state_outputs"), folder)
    return path, ["expected one chunk input besides the state inputs", "'previous_state_c', 'previous_state_h'"]


def _vocabulary_size(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    path = _save(build_tiny_deepspeech(symbols=30), folder)
    return path, [f"{path}: the deepspeech recipe decodes 29 symbols", "'logits': '[16,1,30]'"]


def _dynamic_chunk(folder: Path, tiny_ir: Path) -> tuple[Path, list[str]]:
    model = build_tiny_deepspeech()
    model.reshape({"input_node": ov.PartialShape([1, -1, 19, 26])})
    path = _save(model, folder)
    return path, ["chunk input 'input_node' [1,?,19,26]: its time axis 1 must be static"]


CASES = [
    pytest.param(_missing_xml, id="missing-xml"),
    pytest.param(_missing_bin, id="missing-bin"),
    pytest.param(_xml_not_ir, id="xml-that-is-not-an-ir"),
    pytest.param(_xml_truncated, id="truncated-ir-xml"),
    pytest.param(_bin_too_short, id="bin-shorter-than-the-xml-says"),
    pytest.param(_onnx_garbage, id="onnx-that-fails-to-parse"),
    pytest.param(_onnx_empty, id="empty-onnx"),
    pytest.param(_unknown_suffix, id="unknown-model-suffix"),
    pytest.param(_input_names, id="input-names-not-the-recipes"),
    pytest.param(_not_speech, id="not-a-speech-model"),
    pytest.param(_unpaired_state, id="state-inputs-that-cannot-be-paired"),
    pytest.param(_vocabulary_size, id="vocabulary-size-differs-from-output"),
    pytest.param(_dynamic_chunk, id="dynamic-time-axis-where-static-needed"),
]


@pytest.mark.parametrize("make", CASES)
def test_quantize_api_names_the_bad_model(tmp_path: Path, tiny_ir: Path, corpus: Path,
                                          make: Callable[[Path, Path], tuple[Path, list[str]]]) -> None:
    path, culprits = make(tmp_path, tiny_ir)
    with pytest.raises(ModelError) as raised:
        quantize_and_compare(SPEC, path, corpus, tmp_path / "out", params={"stat_subset_size": 2}, latency_repeats=1)
    for culprit in culprits:
        assert culprit in str(raised.value)
    assert "\n" not in str(raised.value)
    assert model_leftovers(tmp_path / "out") == []


CLI_CASES = slow_rows(CASES, {"missing-xml", "truncated-ir-xml", "bin-shorter-than-the-xml-says", "empty-onnx",
                                "unknown-model-suffix", "not-a-speech-model"})


@pytest.mark.parametrize("make", CLI_CASES)
def test_cli_quantize_names_the_bad_model(tmp_path: Path, tiny_ir: Path, corpus: Path,
                                          make: Callable[[Path, Path], tuple[Path, list[str]]]) -> None:
    path, culprits = make(tmp_path, tiny_ir)
    done = run_cli("quantize", "-m", path, "-d", corpus, "-o", tmp_path / "out", "--subset-size", "2", "--no-progress")
    assert_cli_error(done, "quantize", *culprits)
    assert done.stdout == ""
    assert model_leftovers(tmp_path / "out") == []
