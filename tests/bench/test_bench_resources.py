"""The resource benchmark (bench/bench_resources.py) in its tiny setting: real quantizations in child processes,
each with its measured peak memory and time, and a well-formed table, JSON and plot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "bench_resources.py"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    out = tmp_path_factory.mktemp("resources")
    done = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--data", str(REPO / "speechq" / "zoo" / "data" /
                           "synthetic-test"), "--out", str(out / "resources"), "--work-dir", str(out / "work")],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "resources.json").read_text()), (out / "resources.md").read_text(), out / "resources.png"


def test_every_size_and_algorithm_ran_and_was_measured(tiny: tuple[dict[str, Any], str, Path]) -> None:
    summary, _, _ = tiny
    rows = summary["rows"]
    assert {(r["algorithm"], r["utterances"]) for r in rows} == {
        (a, n) for a in ("DefaultQuantization", "AccuracyAwareQuantization") for n in (2, 4)}
    for row in rows:
        assert row["status"] == "ok", row
        assert row["utterances"] == row["params"]["stat_subset_size"]
        # openvino and nncf alone take well over 100 MiB; the sampled timeline never exceeds the kernel's peak
        assert 100 < row["peak_rss_mb"] < summary["memory_goal_mb"]
        assert row["rss_timeline"] and max(rss for _, rss in row["rss_timeline"]) <= row["peak_rss_mb"] + 1
        assert 0 < row["cpu_seconds"] and 0 < row["wall_seconds"]
        assert row["audio_seconds"] > 0 and row["int8_weight_bytes"] > 0


def test_accuracy_aware_ranked_and_said_what_it_reverted(tiny: tuple[dict[str, Any], str, Path]) -> None:
    summary, _, _ = tiny
    ranked = 0
    for row in (r for r in summary["rows"] if r["algorithm"] == "AccuracyAwareQuantization"):
        # maximal_drop 0 on a model that drifts under the performance preset: ranking and a revert, said by name;
        # on a few utterances INT8 may not change a word (seen with 2 on an AVX-512 VNNI CPU): nothing to revert
        assert row["int8_wer_vs_fp32"] is not None
        assert isinstance(row["reverted_layers"], list) and row["reached"] in (True, False)
        messages = [message for _, message in row["events"]]
        if any("rank" in message.lower() for message in messages):
            ranked += 1
            # a revert that kept the drop, named in the events; or one that made it worse, said undone (seen with 4
            # on an AVX2 CPU: max_iter_num=1 then ends with no layer in FP32 and the target not reached)
            undone = [m for m in messages if "made the drop worse" in m and "undone" in m]
            if row["reverted_layers"]:
                assert all(any(layer in m for m in messages) for layer in row["reverted_layers"]), messages[-8:]
            else:
                assert undone and not row["reached"], messages[-8:]
        else:
            assert row["reached"] and row["int8_wer_vs_fp32"] == 0 and not row["reverted_layers"], row
    assert ranked, "no calibration size made accuracy-aware quantization rank layers"
    default = [r for r in summary["rows"] if r["algorithm"] == "DefaultQuantization"]
    assert all(r["reverted_layers"] is None for r in default)


def test_table_json_and_plot_are_well_formed(tiny: tuple[dict[str, Any], str, Path]) -> None:
    summary, text, png = tiny
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in table}) == 1
    assert len(table) == 2 + len(summary["rows"])
    assert "Reproduce: `python bench/bench_resources.py --tiny" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert summary["versions"]["openvino"] and summary["versions"]["nncf"]
