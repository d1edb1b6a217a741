"""Helpers shared by the tests of speechq.data (imported by name: tests/data is on sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

WriteAudio = Callable[..., Path]
Tone = Callable[..., np.ndarray]


def make_tone(seconds: float, rate: int, hz: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    """A sine of ``hz`` with a little deterministic noise: float32 [seconds * rate]."""
    t = np.arange(int(round(seconds * rate))) / rate
    noise = np.random.default_rng(rate).normal(scale=0.01, size=t.size)
    return (amplitude * np.sin(2 * np.pi * hz * t) + noise).astype(np.float32)
