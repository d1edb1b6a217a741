"""prepare_librispeech (library function and data_scripts CLI): flat layout, manifests, idempotence, refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from speechq_testing import load_script

from speechq.data import PreparedCorpus, prepare_librispeech, read_audio
from speechq.errors import ConfigError, OutputError

SCRIPT = Path(__file__).resolve().parents[2] / "data_scripts" / "prepare_librispeech.py"


def test_flat_copy_has_the_same_samples(librispeech_mini: Path, flat_mini: PreparedCorpus) -> None:
    assert flat_mini.num_utterances == 4 and flat_mini.written
    for flac in sorted(librispeech_mini.rglob("*.flac")):
        wav = flat_mini.audio_dir / f"{flac.stem}.wav"
        assert soundfile.info(str(wav)).subtype == "PCM_16"
        np.testing.assert_array_equal(soundfile.read(str(wav), dtype="int16")[0],
                                      soundfile.read(str(flac), dtype="int16")[0])
        text = (flat_mini.label_dir / f"{flac.stem}.txt").read_text(encoding="utf-8").strip()
        assert f"{flac.stem} {text}" in (flac.parent / f"{flac.parent.parent.name}-{flac.parent.name}.trans.txt").read_text()
    lines = flat_mini.manifests[0].read_text(encoding="utf-8").splitlines()
    assert lines[0] == "path\ttranscript\tduration" and lines[1] == "wav/1089-134691-0000.wav\tHE COULD WAIT NO LONGER\t2.085"


def test_idempotent_and_refusing(librispeech_mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "flat"
    first = prepare_librispeech(librispeech_mini / "dev-clean", out)
    stamp = first.manifests[0].stat().st_mtime_ns
    again = prepare_librispeech(librispeech_mini / "dev-clean", out)
    assert not again.written and again.manifests[0].stat().st_mtime_ns == stamp
    with pytest.raises(OutputError, match="not empty and does not hold this corpus"):
        prepare_librispeech(librispeech_mini / "test-clean", out)
    replaced = prepare_librispeech(librispeech_mini / "test-clean", out, overwrite=True)
    assert replaced.written and sorted(p.name for p in replaced.audio_dir.iterdir()) == ["1089-134691-0000.wav"]
    with pytest.raises(OutputError, match="must not lie inside"):
        prepare_librispeech(librispeech_mini, librispeech_mini / "flat")
    with pytest.raises(ConfigError, match="no such LibriSpeech split"):
        prepare_librispeech(tmp_path / "none", tmp_path / "x")


def test_command_line(librispeech_mini: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(librispeech_mini / "test-other"), "--out", str(tmp_path / "o")]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=True)
    assert "1 utterances (written)" in done.stdout
    assert read_audio(tmp_path / "o" / "wav" / "2033-164915-0001.wav").shape == (143_040,)
    script = load_script(SCRIPT)
    assert script.main(args) == 0 and "already prepared" in capsys.readouterr().out
    assert script.main([str(librispeech_mini / "test-clean"), *args[1:]]) == 1
    error = capsys.readouterr().err
    assert "prepare_librispeech:" in error and "--overwrite" in error
