"""The peer benchmark (bench/bench_peers.py) in its tiny setting: it runs end to end with real OpenVINO and NNCF,
every contender gets a row or a stated reason, and the Markdown table, JSON and PNG are well formed.

Contenders whose packages are missing (PyTorch, ONNX Runtime: the ``bench`` extra; POT: its own venv) must be
reported as skipped with the reason; those installed must run.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "bench_peers.py"
sys.path.insert(0, str(REPO / "bench"))

from _peers.contenders import CONTENDERS  # noqa: E402

ALWAYS = {"openvino_fp32", "openvino_fp32_default", "speechq_default", "speechq_accuracy_aware", "nncf",
          "nncf_accuracy_control"}  # openvino and nncf are speechq's own dependencies


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    out = tmp_path_factory.mktemp("peers")
    done = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--out", str(out / "peers"),
                           "--work-dir", str(out / "work")], capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "peers.json").read_text()), (out / "peers.md").read_text(), out / "peers.png"


def _records(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {record["key"]: record for record in summary["contenders"]}


def test_every_contender_has_a_row_or_a_reason(tiny: tuple[dict[str, Any], str, Path]) -> None:
    summary, _, _ = tiny
    records = _records(summary)
    assert set(records) == {c.key for c in CONTENDERS}
    accuracy = {row["key"] for row in summary["accuracy"]}
    for contender in CONTENDERS:
        record = records[contender.key]
        assert record["status"] in ("ok", "skipped", "failed"), record
        assert record["options"], record
        if record["status"] == "ok":
            assert contender.key in accuracy, record
        else:
            assert record["reason"], record
        if contender.key in ALWAYS:
            assert record["status"] == "ok", record
        missing = [name for name in contender.needs if importlib.util.find_spec(name) is None]
        if missing:
            assert record["status"] == "skipped" and "not installed" in record["reason"], record
        elif contender.tool != "pot":
            assert record["status"] == "ok", record


def test_error_rates_are_fractions(tiny: tuple[dict[str, Any], str, Path]) -> None:
    summary, _, _ = tiny
    for row in summary["accuracy"]:
        for name in ("wer", "cer"):
            assert math.isfinite(row[name]) and row[name] >= 0, row
        if row["key"] in ALWAYS - {"nncf"}:  # plain NNCF may garble the LSTM (that is a finding, not a bug)
            assert 0 <= row["wer"] <= 1 and 0 <= row["cer"] <= 1, row
        assert row["utterances"] == summary["meta"]["test_utterances"] > 0
    fp32 = next(row for row in summary["accuracy"] if row["key"] == "openvino_fp32")
    assert fp32["wer_vs_fp32_points"] == 0


def test_speed_rows_are_positive_and_ordered(tiny: tuple[dict[str, Any], str, Path]) -> None:
    summary, _, _ = tiny
    threads = set(summary["meta"]["threads"])
    ok = {key for key, record in _records(summary).items() if record["status"] == "ok"}
    rows = summary["speed"]["trained"]
    assert {(row["key"], row["threads"]) for row in rows} == {(key, t) for key in ok for t in threads}
    for row in rows:
        for figure in ("latency_ms", "throughput"):
            spread = row[figure]
            assert 0 < spread["p10"] <= spread["median"] <= spread["p90"], row
        assert row["speedup_vs_openvino_f32"] > 0, row
        assert row["speedup_vs_own_fp32"] is None or row["speedup_vs_own_fp32"] > 0, row
        if row["key"] == "openvino_fp32":
            assert row["speedup_vs_openvino_f32"] == pytest.approx(1.0)


def test_quantization_costs_are_measured(tiny: tuple[dict[str, Any], str, Path]) -> None:
    summary, _, _ = tiny
    records = _records(summary)
    rows = {row["key"]: row for row in summary["quantization"] if row["model"] == "trained"}
    for contender in CONTENDERS:
        if contender.quantizer is None or records[contender.key]["status"] != "ok":
            continue
        row = rows[contender.key]
        assert row["ok"], row
        assert row["quantize_seconds"] > 0 and row["process_seconds"] >= row["quantize_seconds"], row
        assert row["peak_rss_mb"] > 0 and row["size_bytes"] > 0, row
    versions = summary["meta"]["versions"]
    assert {"python", "speechq", "openvino", "nncf", "numpy"} <= set(versions)


def test_markdown_tables_are_well_formed(tiny: tuple[dict[str, Any], str, Path]) -> None:
    summary, text, png = tiny
    for heading in ("## Accuracy", "## Speed", "## Quantization cost", "## Contenders"):
        assert heading in text
    table: list[str] = []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            columns = {row.count("|") for row in table}
            assert len(columns) == 1, table
            assert set(table[1].replace("|", "")) <= {"-"}, table
            table = []
    for record in summary["contenders"]:
        assert f"| {record['label']} |" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
