"""The package type-checks under ``mypy --strict`` (third-party modules without types are taken as Any)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent


def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    command = [sys.executable, "-m", "mypy", "--strict", "speechq", "--ignore-missing-imports",
               "--cache-dir", str(tmp_path / "mypy_cache")]
    result = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"mypy --strict found problems:\n{result.stdout}{result.stderr}"
