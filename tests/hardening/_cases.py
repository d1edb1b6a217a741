"""Helpers of the bad-input matrix (tests/hardening): files written for real, the CLI run as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest
import soundfile

RATE_HZ = 16_000
TEXTS = {"1-10-0000": "hello world", "1-10-0001": "a quiet tone", "1-10-0002": "speech test"}
"""The utterances of a tiny LibriSpeech-layout corpus (speaker 1, chapter 10)."""


def tone(seconds: float = 1.0, rate: int = RATE_HZ, hz: float = 440.0, amplitude: float = 0.5, channels: int = 1) -> np.ndarray:
    """A deterministic sine with a little noise: float32 ``[frames]`` (or ``[frames, channels]``, same in each)."""
    t = np.arange(int(round(seconds * rate))) / rate
    noise = np.random.default_rng(int(hz)).normal(scale=0.01, size=t.size)
    mono = (amplitude * np.sin(2 * np.pi * hz * t) + noise).astype(np.float32)
    return mono if channels == 1 else np.repeat(mono[:, np.newaxis], channels, axis=1)


def write_audio(path: Path, samples: np.ndarray, rate: int = RATE_HZ, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, rate, subtype=subtype)
    return path


def make_corpus(root: Path, texts: Mapping[str, str] = TEXTS, seconds: float = 1.0) -> Path:
    """A LibriSpeech-layout split: ``root/1/10/<id>.flac`` (tones of different pitch) and ``1-10.trans.txt``."""
    chapter = root / "1" / "10"
    for index, uid in enumerate(sorted(texts)):
        write_audio(chapter / f"{uid}.flac", tone(seconds, hz=300.0 + 150 * index))
    lines = "".join(f"{uid} {text.upper()}\n" for uid, text in sorted(texts.items()))
    (chapter / "1-10.trans.txt").write_text(lines, encoding="utf-8")
    return root


def run_cli(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m speechq.cli ARGS`` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "speechq.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def slow_rows(rows: list[Any], ids: set[str]) -> list[Any]:
    """``rows`` (pytest.param) with those whose id is in ``ids`` marked slow: a CLI twin of an API row that checks the
    same culprit costs a process start (about 2 s: ``import speechq`` loads NNCF), so only a few run by default."""
    unknown = ids - {row.id for row in rows}
    assert not unknown, unknown
    return [pytest.param(*row.values, id=row.id, marks=[*row.marks, pytest.mark.slow]) if row.id in ids else row
            for row in rows]


def last_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else ""


def assert_cli_error(done: subprocess.CompletedProcess[str], command: str, *culprits: str | Path) -> str:
    """Exit code 2, no traceback, and a last stderr line ``speechq <command>: error: ...`` naming every culprit."""
    line = last_line(done.stderr)
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert line.startswith(f"speechq {command}: error:"), done.stderr[-3000:]
    for culprit in culprits:
        assert str(culprit) in line, (str(culprit), line)
    return line


def model_leftovers(folder: Path) -> list[str]:
    """Model files (.xml/.bin) and save staging leftovers anywhere under ``folder`` (relative paths, sorted)."""
    if not folder.exists():
        return []
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*")
        if p.suffix in (".xml", ".bin") or p.name.startswith(".speechq-save-")
    )
