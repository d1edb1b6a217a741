"""The README's main job end to end: quantize the shipped DeepSpeech-architecture model on the shipped data."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from speechq_testing import assert_reverts_most_harmful_first

import speechq as sq
from speechq.engines import runtime_layers
from speechq.model import get_core
from speechq.zoo import get_recipe

SPEC = get_recipe("deepspeech")
pytestmark = pytest.mark.skipif(
    SPEC.default_model is None or not SPEC.default_model.exists(), reason="the shipped DeepSpeech model is not built"
)


def _speechq(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "speechq.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=1200, env=None if env is None else {**os.environ, **env})


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    out = tmp_path_factory.mktemp("quantized")
    done = _speechq("quantize", "--json", "--no-progress", "-o", str(out), "--report", str(out / "report"))
    assert done.returncode == 0, done.stderr
    return out, json.loads(done.stdout)


@pytest.mark.slow
def test_int8_keeps_wer_within_one_point_and_is_smaller(quantized):
    out, report = quantized
    fp32, int8 = report["fp32"]["metrics"], report["int8"]["metrics"]
    assert 0 <= fp32["wer"] < 0.5  # a model that really recognises the shipped speech
    language_model = SPEC.default_model.parent / "language_model"
    assert f"language model {language_model / 'lm.arpa'}" in report["fp32"]["decoding"]  # the model's own, by default
    assert report["int8"]["decoding"] == report["fp32"]["decoding"]
    copied = out / "language_model"
    assert sorted(copied.iterdir()) == sorted(copied / p.name for p in language_model.iterdir())
    assert all((out / "language_model" / p.name).read_bytes() == p.read_bytes() for p in language_model.iterdir())
    # 58 utterances (about 350 words) are a noisy sample: measured -0.29 points here (interval -2.32 to +1.73) for
    # +0.72 on the 500 of the held-out test split; the criterion is checked on the 500 below
    assert abs(int8["wer"] - fp32["wer"]) <= 0.03
    for rate in ("wer", "cer"):  # the change with its paired-bootstrap interval over the same 58 utterances
        change = report["changes"][rate]
        assert (change["before"], change["after"], change["utterances"]) == (fp32[rate], int8[rate], 58)
        assert change["low"] <= int8[rate] - fp32[rate] <= change["high"] and change["confidence"] == 0.95
    assert report["int8_weight_bytes"] < report["fp32_weight_bytes"] / 3
    assert {lat["label"] for lat in report["latencies"]} == {"FP32 (f32)", "FP32 (OpenVINO default precision)", "INT8"}
    assert (out / "model.xml").exists() and (out / "model.bin").exists()
    [drift] = report["drift"]  # the logits only: the state outputs are fed back, not compared
    assert drift["output"] == "logits" and drift["agreement"] > 0.9 and drift["relative_error"] < 0.25


@pytest.mark.slow
def test_int8_keeps_wer_within_one_point_on_the_held_out_test_split(quantized, held_out_test_split):
    """The issue's criterion where it is defined: the README's main command's INT8 model against the shipped FP32
    model on the 500 held-out test utterances, both decoded as the model ships (beam search with its own LM)."""
    out, _ = quantized
    done = _speechq("eval", "--json", "-d", str(held_out_test_split), str(out / "model.xml"), str(SPEC.default_model))
    assert done.returncode == 0, done.stderr
    int8, fp32 = json.loads(done.stdout)
    assert int8["utterances"] == fp32["utterances"] == 500 and int8["decoding"] == fp32["decoding"]
    assert 0 < fp32["metrics"]["wer"] < 0.3  # 16.13% measured
    # measured +0.72 on an AVX-512 VNNI CPU (also +0.72 quantized and run with ONEDNN_MAX_CPU_ISA=AVX2: 7-bit weights)
    assert abs(int8["metrics"]["wer"] - fp32["metrics"]["wer"]) <= 0.01


@pytest.mark.slow
def test_report_holds_json_markdown_and_plots(quantized):
    from PIL import Image

    out, report = quantized
    folder = out / "report"
    assert json.loads((folder / "report.json").read_text()) == report
    markdown = (folder / "report.md").read_text()
    assert "| FP32 |" in markdown and "| INT8 |" in markdown and "latency per chunk" in markdown
    wer = report["changes"]["wer"]
    assert (f"- INT8: WER {100 * (wer['after'] - wer['before']):+.2f} percentage points (95% paired-bootstrap "
            f"interval {100 * wer['low']:+.2f} to {100 * wer['high']:+.2f}, 58 utterances)") in markdown
    for name in ("error_rates.png", "latency.png"):
        with Image.open(folder / name) as image:
            assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 150
    assert not list(folder.glob(".*partial"))


@pytest.mark.slow
def test_saved_int8_model_runs_int8_and_evaluates_to_the_reported_wer(quantized):
    out, report = quantized
    model = sq.load_model(out / "model.xml")
    compiled = get_core().compile_model(model.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    compute = [layer for layer in runtime_layers(compiled) if layer.is_compute]
    assert any(layer.type == "RNNSeq" and layer.is_integer for layer in compute)
    assert sum(layer.is_integer for layer in compute) >= len(compute) - 1
    done = _speechq("eval", "--json", str(out / "model.xml"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["metrics"]["wer"] == pytest.approx(report["int8"]["metrics"]["wer"])


@pytest.mark.slow
def test_output_is_refused_unless_overwrite(quantized):
    out, _ = quantized
    before = (out / "model.bin").read_bytes()
    done = _speechq("quantize", "--no-progress", "-o", str(out))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"speechq quantize: error: {out / 'model.xml'} already exists; refusing to overwrite it (ask for overwrite)"
    assert (out / "model.bin").read_bytes() == before


def test_transcribe_prints_one_line_per_utterance():
    done = _speechq("transcribe")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    from speechq.data import LibriSpeechDataLoader

    loader = LibriSpeechDataLoader(SPEC.default_data)
    assert [line.split("\t")[0] for line in lines] == [loader[i][1].utterance_id for i in range(len(loader))]
    assert sum(bool(line.split("\t")[1].strip()) for line in lines) >= len(lines) * 0.9  # real text, not blanks


def test_eval_by_speaker_gives_each_speakers_own_rates():
    done = _speechq("eval", "--by-speaker", "--decoder", "greedy", "--json")
    assert done.returncode == 0, done.stderr
    [whole] = json.loads(done.stdout)
    speakers = {s["speaker"]: s for s in whole["speakers"]}
    assert sum(s["utterances"] for s in speakers.values()) == whole["utterances"] == len(whole["utterance_ids"])
    assert set(speakers) == {p.name for p in SPEC.default_data.iterdir() if p.is_dir()}
    busiest = max(speakers.values(), key=lambda s: s["utterances"])
    done = _speechq("eval", "--decoder", "greedy", "--json", "-d", str(SPEC.default_data / busiest["speaker"]))
    assert done.returncode == 0, done.stderr
    [alone] = json.loads(done.stdout)  # that speaker's folder scored by itself
    assert alone["utterances"] == busiest["utterances"] > 1
    assert alone["metrics"] == pytest.approx(busiest["metrics"])


def test_eval_by_speaker_says_who_the_corpus_names(tmp_path):
    split = tmp_path / "corpus" / "test"
    first, second = sorted(p for p in SPEC.default_data.iterdir() if p.is_dir())[:2]
    for speaker in (first, second):
        shutil.copytree(speaker, split / speaker.name)
    speakers_file = tmp_path / "corpus" / "SPEAKERS.TXT"  # LibriSpeech's: in the corpus root, beside the split
    speakers_file.write_text(f";ID |SEX| SUBSET |MINUTES| NAME\n{first.name} | F | test | 1.00 | Ada Lovelace\n")
    done = _speechq("eval", "--by-speaker", "--decoder", "greedy", "-d", str(split))
    assert done.returncode == 0, done.stderr
    assert f"| {first.name} | Ada Lovelace (F) |" in done.stdout and f"| {second.name} |  |" in done.stdout
    speakers_file.write_text(f"{first.name} F test\n")
    done = _speechq("eval", "--by-speaker", "--decoder", "greedy", "-d", str(split))
    assert done.returncode == 2 and "SPEAKERS.TXT, line 1: expected" in done.stderr and "Traceback" not in done.stderr


def test_bad_arguments_end_in_one_line(tmp_path):
    done = _speechq("quantize", "-m", str(tmp_path / "nope.xml"), "-o", str(tmp_path / "o"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"speechq quantize: error: model file not found: {tmp_path / 'nope.xml'}"
    done = _speechq("quantize", "--max-drop", "0.01", "-o", str(tmp_path / "o"))
    assert done.returncode == 2 and "needs the AccuracyAwareQuantization algorithm" in done.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.slow
def test_benchmark_compares_fp32_precisions_with_int8_in_one_run(quantized):
    out, _ = quantized
    done = _speechq("benchmark", "--json", str(SPEC.default_model), str(out / "model.xml"), "--utterances", "2",
                    "--repeats", "5", "--runs", "2", "--streams", "2")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    labels = ["FP32 (f32)", "FP32 (OpenVINO default precision)", "INT8"]
    assert [lat["label"] for lat in result["latencies"]] == labels
    assert all(0 < lat["p10_ms"] <= lat["median_ms"] <= lat["p90_ms"] and lat["runs"] == 5 for lat in result["latencies"])
    assert result["latency_unit"] == "chunk" and result["utterances"] == 2
    streams = [(t["label"], t["streams"]) for t in result["throughputs"]]
    assert streams == [(label, n) for n in (1, 2) for label in labels]
    assert len({t["audio_seconds"] for t in result["throughputs"]}) == 1 and result["throughputs"][0]["audio_seconds"] > 1


def test_benchmark_leaves_out_a_precision_the_plugin_cannot_run_and_says_so(tmp_path):
    # oneDNN held to AVX2 (as the README's AVX2 figures are measured) on a CPU with AVX-512 BF16: the plugin still
    # picks bf16 by default, and oneDNN then has no bf16 LSTM; elsewhere the default precision compiles as usual
    bf16_cpu = "BF16" in get_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")  # the plugin's own view
    model = str(SPEC.default_model)
    done = _speechq("benchmark", "--json", model, model, "--utterances", "1", "--repeats", "3", "--runs", "1",
                    "--streams", "1", "--report", str(tmp_path / "report"), env={"ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    expected = ["FP32 (f32)", "INT8"] if bf16_cpu else ["FP32 (f32)", "FP32 (OpenVINO default precision)", "INT8"]
    assert [lat["label"] for lat in result["latencies"]] == expected
    assert [t["label"] for t in result["throughputs"]] == expected  # not timed end to end either
    markdown = (tmp_path / "report" / "report.md").read_text()
    if bf16_cpu:
        assert "latency of FP32 (OpenVINO default precision) not measured: the CPU plugin could not run the FP32 " \
               "model in the precision it picks by default (could not create a primitive descriptor for the LSTM" \
               in done.stderr
        assert "- FP32 (OpenVINO default precision): not measured: the plugin could not run the model" in markdown
    assert "- INT8 vs FP32 (f32): " in markdown


def test_benchmark_names_a_missing_int8_model(tmp_path):
    done = _speechq("benchmark", str(SPEC.default_model), str(tmp_path / "int8.xml"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"speechq benchmark: error: model file not found: {tmp_path / 'int8.xml'}"


@pytest.mark.slow
def test_recipe_quantizes_the_shipped_model(tmp_path):
    recipe = Path(__file__).resolve().parents[2] / "recipes" / "deepspeech.py"
    done = subprocess.run([sys.executable, str(recipe), "-o", str(tmp_path), "--subset-size", "20"],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0].split()
    fp32, int8 = float(first[2].rstrip("%")), float(first[5].rstrip("%"))
    # calibrated on 20 of the 58 utterances it scores, about 350 words: a model that still recognises the speech
    # (measured +1.14 points), not the 1-point criterion, which the demo's INT8 meets on the 500 held-out utterances
    assert fp32 < 50 and int8 < 50 and abs(int8 - fp32) <= 5.0
    assert re.search(r"\(INT8 - FP32: [+-]\d+\.\d\d percentage points \(95% paired-bootstrap interval [+-]\d+\.\d\d to "
                     r"[+-]\d+\.\d\d, 58 utterances\)\)", first_line := done.stdout.splitlines()[0]), first_line
    assert (tmp_path / "model.xml").exists() and (tmp_path / "model.bin").exists()
    again = subprocess.run([sys.executable, str(recipe), "-o", str(tmp_path), "--subset-size", "20"],
                           capture_output=True, text=True, timeout=1200)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.slow
def test_accuracy_aware_reaches_a_tight_drop_by_reverting_the_fewest_layers(tmp_path, held_out_test_split):
    # the 500 held-out test utterances decoded greedily, 300 of them for calibration, where DefaultQuantization loses
    # (measured on an AVX-512 VNNI CPU: WER 37.02% -> 39.05%, back to 37.02% with the LSTM and layer_1 in FP32); the 58
    # shipped utterances are too few to rank layers by (there INT8 is -0.29 points from FP32, and nothing is reverted)
    done = _speechq("quantize", "-a", "accuracy-aware", "--max-drop", "0.002", "--decoder", "greedy", "-d",
                    str(held_out_test_split), "--subset-size", "300", "--json", "--no-progress", "-o",
                    str(tmp_path / "out"), "--report", str(tmp_path / "report"))
    assert done.returncode == 0, done.stderr
    # one or two layers back in FP32 must do (measured: the LSTM, then layer_1), the one ranked most harmful first
    assert_reverts_most_harmful_first(json.loads(done.stdout), max_drop=0.002)
    assert (tmp_path / "report" / "sensitivity.png").exists()


@pytest.fixture(scope="module")
def unlabelled_audio(tmp_path_factory) -> Path:
    """Eight shipped utterances as a bare folder of audio: no transcripts anywhere."""
    folder = tmp_path_factory.mktemp("unlabelled")
    for flac in sorted(SPEC.default_data.rglob("*.flac"))[:8]:
        shutil.copy(flac, folder / flac.name)
    return folder


def test_unlabelled_audio_is_scored_by_agreement_with_fp32(unlabelled_audio, tmp_path):
    # greedy: the model's LM puts right the few characters INT8 changes, and the disagreement is what is tested here
    done = _speechq("quantize", "--agreement", "--decoder", "greedy", "-d", str(unlabelled_audio), "-o", str(tmp_path),
                    "--json", "--no-progress")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["reference"] == "FP32 transcripts"
    assert report["fp32"]["metrics"] == {"wer": 0.0, "cer": 0.0} and report["fp32"]["utterances"] == 8
    assert report["fp32"]["decoding"] == report["int8"]["decoding"] == "greedy"
    assert 0 < report["int8"]["metrics"]["cer"] < 0.15  # INT8 changes some characters, not most
    done = _speechq("eval", "--agreement", "--decoder", "greedy", "--json", "-d", str(unlabelled_audio),
                    str(tmp_path / "model.xml"), str(SPEC.default_model))
    assert done.returncode == 0, done.stderr
    first, second = json.loads(done.stdout)
    assert first["metrics"] == {"wer": 0.0, "cer": 0.0}
    assert second["metrics"]["cer"] == pytest.approx(report["int8"]["metrics"]["cer"], abs=0.02)


def test_transcribe_needs_no_transcripts(unlabelled_audio):
    done = _speechq("transcribe", "-d", str(unlabelled_audio))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == sorted(p.stem for p in unlabelled_audio.iterdir())
    assert all(line.split("\t")[1].strip() for line in lines)


def test_transcribe_takes_audio_files(unlabelled_audio, tmp_path):
    files = sorted(unlabelled_audio.iterdir())[:2]
    done = _speechq("transcribe", str(files[1]), str(files[0]))
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.strip().splitlines()] == [files[1].stem, files[0].stem]
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("hello")
    done = _speechq("transcribe", str(files[0]), str(not_audio))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith(f"speechq transcribe: error: {not_audio}: no such audio")
