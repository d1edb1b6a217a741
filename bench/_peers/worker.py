"""A child process of the peer benchmark: ``python bench/_peers/worker.py task.json result.json``.

Tasks (JSON):
- ``{"task": "quantize", "contender": ..., "fp32": {...}, "calibration": utterances.npz, "count": n,
  "manifest": calibration.tsv, "out": folder, "max_drop": 0.01}``: one quantization (``quantizers``);
- ``{"task": "measure", "artifact": {...}, "wer_data": utterances.npz | null, "speed_data": utterances.npz,
  "threads": [1, 2], "passes": 3, "warmup": 1}``: one model's WER and speed (``runners``).

Each quantization and each contender's measurements run in a process of their own: the parent reads its wall time
and peak memory from the operating system, and runtimes never share a process (their thread pools would compete).
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ (for _peers)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository (speechq without installing)

from _peers.common import Utterances, peak_rss_mb, read_json, write_json  # noqa: E402


def measure(task: dict[str, Any]) -> dict[str, Any]:
    from _peers.runners import error_rates, make_runner, speed

    result: dict[str, Any] = {}
    if task.get("wer_data"):
        runner = make_runner(task["artifact"], 1)  # accuracy does not depend on threads
        result["error_rates"] = error_rates(runner, Utterances.load(Path(task["wer_data"])))
        del runner
    speeds = {}
    data = Utterances.load(Path(task["speed_data"]))
    for threads in task["threads"]:
        runner = make_runner(task["artifact"], threads)
        load = os.getloadavg()[0]
        cpu, wall = _cpu_seconds(), time.perf_counter()
        speeds[str(threads)] = speed(runner, data, task["passes"], task.get("warmup", 1))
        # cores this process kept busy while measuring (about `threads` on an otherwise idle machine)
        speeds[str(threads)]["cores_used"] = (_cpu_seconds() - cpu) / (time.perf_counter() - wall)
        speeds[str(threads)]["load_before"] = load
        speeds[str(threads)]["float_precision"] = getattr(runner, "float_precision", "?")
        del runner
    result["speed"] = speeds
    return result


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def quantize(task: dict[str, Any]) -> dict[str, Any]:
    from _peers.quantizers import QUANTIZERS

    return QUANTIZERS[task["contender"]](task)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    task_path, result_path = Path(argv[0]), Path(argv[1])
    task = read_json(task_path)
    start = time.perf_counter()
    result = {"measure": measure, "quantize": quantize}[task["task"]](task)
    result["child_seconds"] = time.perf_counter() - start
    result["child_peak_rss_mb"] = peak_rss_mb()
    write_json(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
