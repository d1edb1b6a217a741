"""Speaker labels from LibriSpeech's SPEAKERS.TXT and the synthetic corpus' speakers.tsv."""

from __future__ import annotations

from pathlib import Path

import pytest

from speechq.data import speaker_labels
from speechq.errors import DataError

SPEAKERS_TXT = """\
; Some speakers
;ID      |SEX| SUBSET           |MINUTES| NAME
14   | F | train-clean-360  | 25.03 | Kristin LeMoine
60   | M | train-clean-100  | 20.18 | |CBW|Simon

84   | F | dev-clean        |  8.02 | Christie Nowak
"""
SPEAKERS_TSV = "speaker\tengine\tvoice\theld_out\tsplits\n1001\tespeak-ng\ten-us\t0\ttrain,dev,test\n1103\tflite\trms\t1\ttest\n"


def test_librispeech_speakers_file_in_the_corpus_root_labels_a_split(tmp_path: Path) -> None:
    (tmp_path / "SPEAKERS.TXT").write_text(SPEAKERS_TXT)
    (tmp_path / "dev-clean" / "84").mkdir(parents=True)
    labels = speaker_labels(tmp_path / "dev-clean")
    assert labels == {"14": "Kristin LeMoine (F)", "60": "|CBW|Simon (M)", "84": "Christie Nowak (F)"}
    assert speaker_labels(tmp_path / "dev-clean" / "84") == {}  # a speaker's own folder: two levels below


def test_synthetic_corpus_speakers_tsv_and_a_manifest_beside_it(tmp_path: Path) -> None:
    (tmp_path / "speakers.tsv").write_text(SPEAKERS_TSV)
    (tmp_path / "test").mkdir()
    expected = {"1001": "espeak-ng en-us", "1103": "flite rms, held out"}
    assert speaker_labels(tmp_path / "test") == expected
    manifest = tmp_path / "test.tsv"
    manifest.write_text("")
    assert speaker_labels(manifest) == expected


def test_no_speaker_file_means_no_labels(tmp_path: Path) -> None:
    assert speaker_labels(tmp_path) == {}


@pytest.mark.parametrize(("name", "text", "where"), [
    ("SPEAKERS.TXT", "14 | F | train-clean-360 | 25.03\n", "line 1"),
    ("SPEAKERS.TXT", "; header\n14 | F | x | 1 | Kristin\n15 F x 1 Bob\n", "line 3"),
    ("speakers.tsv", "speaker\tengine\tvoice\n1001\tespeak-ng\ten-us\n", "line 1"),
    ("speakers.tsv", SPEAKERS_TSV + "1104\tflite\n", "line 4"),
])
def test_a_malformed_line_is_named_with_its_file(tmp_path: Path, name: str, text: str, where: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=rf"{name}, {where}: expected"):
        speaker_labels(tmp_path)


def test_an_unreadable_speaker_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "SPEAKERS.TXT").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DataError, match="SPEAKERS.TXT: cannot read the speaker file"):
        speaker_labels(tmp_path)


def test_a_byte_order_mark_is_not_a_malformed_first_line(tmp_path: Path) -> None:
    (tmp_path / "speakers.tsv").write_bytes(b"\xef\xbb\xbf" + SPEAKERS_TSV.replace("\n", "\r\n").encode())
    assert speaker_labels(tmp_path) == {"1001": "espeak-ng en-us", "1103": "flite rms, held out"}
