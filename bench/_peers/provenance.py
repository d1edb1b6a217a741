"""What every benchmark writes beside its figures: the CPU, the library versions, the commit it ran on."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[2]
LIBRARIES = ("speechq", "openvino", "nncf", "numpy", "torch", "transformers")
INT8_AND_BF16_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")
# `git archive` writes the commit here (export-subst in .gitattributes), so an exported snapshot still knows it.
ARCHIVED_COMMIT = "$Format:%h$"


def versions(names: Sequence[str] = LIBRARIES) -> dict[str, str]:
    """Python's version and each installed library's among ``names`` (absent ones left out)."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo) with the vector extensions that decide INT8 and bf16 speed."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return f"{name} ({', '.join(f for f in INT8_AND_BF16_FLAGS if f in flags) or 'no AVX2'})"


def source_state() -> str:
    """The commit the benchmark ran on, and whether speechq's sources differed from it."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        if ARCHIVED_COMMIT.startswith("$"):
            return "unknown commit"
        return f"{ARCHIVED_COMMIT} (exported with git archive; local changes cannot be seen)"
    dirty = git("status", "--porcelain", "--", "speechq")
    return commit + (" with uncommitted changes in speechq/" if dirty else "")
