"""What benchmarks record about their source: the commit, in a checkout and in a `git archive` snapshot."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from speechq_testing import load_script

REPO = Path(__file__).resolve().parents[2]
MODULE = Path("bench") / "_peers" / "provenance.py"


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True)


@pytest.fixture(scope="module")
def head() -> str:
    if shutil.which("git") is None or _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    return _git("rev-parse", "--short", "HEAD").stdout.decode().strip()


def test_a_checkout_names_its_head(head: str) -> None:
    assert load_script(REPO / MODULE).source_state().startswith(head)


def test_an_exported_snapshot_still_names_its_commit(head: str, tmp_path: Path) -> None:
    archived = _git("archive", "--format=tar", "HEAD", str(MODULE))
    assert archived.returncode == 0, archived.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as tar:
        tar.extractall(tmp_path, filter="data")
    snapshot = tmp_path / MODULE
    if subprocess.run(["git", "-C", str(tmp_path), "rev-parse"], capture_output=True).returncode == 0:
        pytest.skip(f"{tmp_path} lies inside a git work tree")
    state = load_script(snapshot).source_state()
    assert state.startswith(head), state
    assert "git archive" in state
