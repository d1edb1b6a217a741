"""Child processes with their wall time and peak resident memory, read from the operating system (``wait4``)."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from _peers.common import read_json, write_json


@dataclass(frozen=True)
class ChildRun:
    """One finished child: exit ``status`` (0 = success), ``wall_seconds`` (start to exit, interpreter start and
    imports included), ``peak_rss_mb`` (the child's ``ru_maxrss``: on Linux it includes the parent's resident
    pages the child shared between fork and exec, so a child's own peak is best read in the child, from
    /proc/self/status VmHWM), ``cpu_seconds`` (user + system time: what
    the work cost, whatever else ran on the machine), its JSON ``result`` (None on failure) and the end of its
    stderr."""

    status: int
    wall_seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    result: dict[str, Any] | None
    stderr_tail: str

    @property
    def ok(self) -> bool:
        return self.status == 0 and self.result is not None

    def failure(self) -> str:
        lines = [line for line in self.stderr_tail.splitlines() if line.strip()]
        return f"exit status {self.status}: " + (" / ".join(lines[-3:]) if lines else "no error output")


def run_child(command: Sequence[str], task: dict[str, Any], folder: Path, name: str, timeout_s: float,
              env: dict[str, str] | None = None) -> ChildRun:
    """Run ``command + [task.json, result.json]`` and wait for it (killed after ``timeout_s``)."""
    folder.mkdir(parents=True, exist_ok=True)
    task_path, result_path = folder / f"{name}.task.json", folder / f"{name}.result.json"
    result_path.unlink(missing_ok=True)
    write_json(task_path, task)
    with open(folder / f"{name}.stdout", "wb") as out, open(folder / f"{name}.stderr", "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen([*command, str(task_path), str(result_path)], stdout=out, stderr=err,
                                   env={**os.environ, **(env or {})})
        status, usage = _wait(process, start + timeout_s)
        wall = time.perf_counter() - start
    stderr = (folder / f"{name}.stderr").read_text(errors="replace")[-4000:]
    result = read_json(result_path) if status == 0 and result_path.is_file() else None
    peak = usage.ru_maxrss / 1024 if usage is not None else float("nan")
    cpu = usage.ru_utime + usage.ru_stime if usage is not None else float("nan")
    return ChildRun(status, wall, peak, cpu, result, stderr)


def _wait(process: subprocess.Popen, deadline: float) -> tuple[int, Any]:
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage
        if time.perf_counter() > deadline:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = -9
            return -9, usage
        time.sleep(0.01)
