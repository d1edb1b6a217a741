"""Fixtures of tests/data: small audio files written on the fly, and a flat copy of librispeech-mini."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from _data_helpers import WriteAudio

from speechq.data import PreparedCorpus, prepare_librispeech


@pytest.fixture
def write_audio(tmp_path: Path) -> WriteAudio:
    """``write_audio(name, samples, rate, subtype="PCM_16")`` -> path of a file under tmp_path (folders made)."""

    def write(name: str, samples: np.ndarray, rate: int = 16_000, subtype: str = "PCM_16") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), samples, rate, subtype=subtype)
        return path

    return write


@pytest.fixture(scope="session")
def flat_mini(librispeech_mini: Path, tmp_path_factory: pytest.TempPathFactory) -> PreparedCorpus:
    """librispeech-mini prepared into the flat wav/annotation layout with manifests (once per session)."""
    return prepare_librispeech(librispeech_mini, tmp_path_factory.mktemp("flat") / "mini")
