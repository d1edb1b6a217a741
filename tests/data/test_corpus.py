"""Bad corpora: each problem raises a DataError naming the file, or with skip_bad a warning naming it and a count."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from _data_helpers import WriteAudio, make_tone

from speechq.data import AudioFolderDataLoader, LibriSpeechDataLoader, find_utterances, speaker_of
from speechq.errors import ConfigError, DataError

ALPHABET = set("abcdefghijklmnopqrstuvwxyz' ")


@pytest.fixture
def native(tmp_path: Path, write_audio: WriteAudio) -> Path:
    """A LibriSpeech-layout split of three good utterances in chapter 10-20, returned as the split folder."""
    for n in range(3):
        write_audio(f"split/10/20/10-20-{n:04d}.flac", make_tone(0.3 + 0.1 * n, 16_000))
    _trans(tmp_path / "split", "10-20", {f"10-20-{n:04d}": f"WORD NUMBER {n}" for n in range(3)})
    return tmp_path / "split"


def _trans(split: Path, chapter: str, lines: dict[str, str]) -> Path:
    speaker, number = chapter.split("-")
    path = split / speaker / number / f"{chapter}.trans.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k} {v}\n" for k, v in lines.items()), encoding="utf-8")
    return path


def _expect_problem(path: Path, culprit: str, message: str, kept: int, caplog: pytest.LogCaptureFixture,
                    **options: object) -> None:
    """DataError naming ``culprit``; then with skip_bad a warning naming it, a count, and ``kept`` items."""
    with pytest.raises(DataError, match=message) as raised:
        LibriSpeechDataLoader(path, **options)  # type: ignore[arg-type]
    assert culprit in str(raised.value) and "skip_bad=True" in str(raised.value)
    with caplog.at_level(logging.WARNING, logger="speechq.data"):
        loader = LibriSpeechDataLoader(path, skip_bad=True, **options)  # type: ignore[arg-type]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(culprit in w and re.search(message, w) for w in warnings), warnings
    assert any("skipped 1 problem(s)" in w and f"{kept} utterance(s) kept" in w for w in warnings), warnings
    assert len(loader) == kept


def test_good_native_split(native: Path) -> None:
    assert [u.text for u in find_utterances(native)] == ["WORD NUMBER 0", "WORD NUMBER 1", "WORD NUMBER 2"]


def test_audio_without_transcript(native: Path, write_audio: WriteAudio, caplog: pytest.LogCaptureFixture) -> None:
    write_audio("split/10/20/10-20-0009.flac", make_tone(0.2, 16_000))
    _expect_problem(native, "10-20-0009.flac", "audio file has no transcript line", 3, caplog)


def test_transcript_without_audio(native: Path, caplog: pytest.LogCaptureFixture) -> None:
    (native / "10" / "20" / "10-20-0001.flac").unlink()
    _expect_problem(native, "10-20.trans.txt:2", "transcript for a missing audio file .*split/10/20/10-20-0001", 2, caplog)


def test_non_utf8_transcript(native: Path, write_audio: WriteAudio, caplog: pytest.LogCaptureFixture) -> None:
    write_audio("split/10/21/10-21-0000.flac", make_tone(0.2, 16_000))
    trans = native / "10" / "21" / "10-21.trans.txt"
    trans.write_bytes("10-21-0000 CAF\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"10-21\.trans\.txt: not UTF-8 text"):
        LibriSpeechDataLoader(native)
    with caplog.at_level(logging.WARNING, logger="speechq.data"):
        assert len(LibriSpeechDataLoader(native, skip_bad=True)) == 3
    assert any("10-21.trans.txt: not UTF-8" in r.getMessage() for r in caplog.records)
    assert any("1 audio file(s) skipped" in r.getMessage() for r in caplog.records)


def test_empty_transcript(native: Path, caplog: pytest.LogCaptureFixture) -> None:
    _trans(native, "10-20", {"10-20-0000": "WORD", "10-20-0001": "", "10-20-0002": "MORE"})
    _expect_problem(native, "10-20.trans.txt:2", "empty transcript for utterance '10-20-0001'", 2, caplog)


def test_duplicate_ids_across_splits(native: Path, tmp_path: Path, write_audio: WriteAudio) -> None:
    write_audio("other/10/20/10-20-0000.flac", make_tone(0.2, 16_000))
    _trans(tmp_path / "other", "10-20", {"10-20-0000": "AGAIN"})
    root = tmp_path
    with pytest.raises(DataError, match="duplicate utterance id '10-20-0000'") as raised:
        LibriSpeechDataLoader(root)
    assert "other/10/20/10-20.trans.txt:1" in str(raised.value) and "split/10/20/10-20.trans.txt:1" in str(raised.value)
    assert [u.utterance_id for u in LibriSpeechDataLoader(root, skip_bad=True).utterances] == ["10-20-0001", "10-20-0002"]


def test_line_in_the_wrong_chapter(native: Path, caplog: pytest.LogCaptureFixture) -> None:
    _trans(native, "10-20", {"10-20-0000": "A", "10-20-0001": "B", "10-20-0002": "C", "11-20-0000": "D"})
    _expect_problem(native, "10-20.trans.txt:4", "does not belong to chapter '10-20'", 3, caplog)


def test_two_audio_files_for_one_id(native: Path, write_audio: WriteAudio, caplog: pytest.LogCaptureFixture) -> None:
    write_audio("split/10/20/10-20-0002.wav", make_tone(0.2, 16_000))
    _expect_problem(native, "10-20.trans.txt:3", "several audio files for utterance '10-20-0002'", 2, caplog)


def test_unreadable_audio(native: Path, caplog: pytest.LogCaptureFixture) -> None:
    (native / "10" / "20" / "10-20-0000.flac").write_text("garbage")
    _expect_problem(native, "10-20-0000.flac: not a readable audio file", "not a readable audio file", 2, caplog)


def test_characters_outside_the_alphabet(native: Path, caplog: pytest.LogCaptureFixture) -> None:
    _trans(native, "10-20", {"10-20-0000": "WORD", "10-20-0001": "CAFÉ 42", "10-20-0002": "DON'T"})
    _expect_problem(native, "10-20.trans.txt:2", r"characters \['2', '4', 'é'\] outside the alphabet", 2, caplog,
                    alphabet=ALPHABET)
    assert len(LibriSpeechDataLoader(native, alphabet=ALPHABET | set("é0123456789"))) == 3


def test_nan_and_silent_audio_found_at_construction(native: Path, write_audio: WriteAudio,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    samples = make_tone(0.2, 16_000)
    samples[5] = np.nan
    write_audio("split/10/20/10-20-0001.wav", samples, subtype="FLOAT")
    (native / "10" / "20" / "10-20-0001.flac").unlink()
    loader = LibriSpeechDataLoader(native)  # headers are fine: found when the item is read
    with pytest.raises(DataError, match=r"10-20-0001\.wav: 1 NaN or infinite samples"):
        loader[1]
    _expect_problem(native, "10-20-0001.wav: 1 NaN", "NaN or infinite", 2, caplog, check_audio=True)


def test_silent_audio_allowed_on_request(native: Path, write_audio: WriteAudio) -> None:
    write_audio("split/10/20/10-20-0000.flac", np.zeros(4_000, np.int16))
    with pytest.raises(DataError, match=r"10-20-0000\.flac: all-silent audio"):
        LibriSpeechDataLoader(native, check_audio=True)
    assert len(LibriSpeechDataLoader(native, check_audio=True, allow_silent=True)) == 3


# ------------------------------------------------------------------------------------------------ flat
@pytest.fixture
def flat(tmp_path: Path, write_audio: WriteAudio) -> tuple[Path, Path]:
    labels = tmp_path / "annotation"
    labels.mkdir()
    for uid in ("a", "b", "c"):
        write_audio(f"wav/{uid}.wav", make_tone(0.2, 16_000))
        (labels / f"{uid}.txt").write_text(f"TEXT OF {uid.upper()}\n", encoding="utf-8")
    return tmp_path / "wav", labels


def test_flat_missing_label_and_orphan_label(flat: tuple[Path, Path], write_audio: WriteAudio,
                                             caplog: pytest.LogCaptureFixture) -> None:
    audio, labels = flat
    write_audio("wav/d.wav", make_tone(0.2, 16_000))
    _expect_problem(audio, "wav/d.wav", "no transcript", 3, caplog, label_dir=labels)
    (audio / "d.wav").unlink()
    (labels / "e.txt").write_text("ORPHAN\n", encoding="utf-8")
    caplog.clear()
    _expect_problem(audio, "annotation/e.txt", "transcript for a missing audio file", 3, caplog, label_dir=labels)


def test_flat_non_utf8_and_empty(flat: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    audio, labels = flat
    (labels / "b.txt").write_bytes(b"\xff\xfe\x00")
    _expect_problem(audio, "annotation/b.txt", "not UTF-8 text", 2, caplog, label_dir=labels)
    (labels / "b.txt").write_text("  \n", encoding="utf-8")
    caplog.clear()
    _expect_problem(audio, "annotation/b.txt", "empty transcript for utterance 'b'", 2, caplog, label_dir=labels)


def test_flat_label_dir_must_exist(flat: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="label_dir"):
        LibriSpeechDataLoader(flat[0], label_dir=tmp_path / "nowhere")


# --------------------------------------------------------------------------------------------- manifests
def test_manifest_problems(flat: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    manifest = tmp_path / "list.tsv"
    manifest.write_text(
        "path\ttranscript\tduration\n"
        "wav/a.wav\tFIRST\t0.2\n"
        "wav/missing.wav\tGONE\n"
        "wav/b.wav\n"
        "wav/c.wav\tTHIRD\t9.5\n"
        "wav/a.wav\tAGAIN\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as raised:
        LibriSpeechDataLoader(manifest)
    message = str(raised.value)
    assert "5 problem(s)" in message
    assert "list.tsv:3: transcript for a missing audio file" in message
    assert "list.tsv:4: expected path<TAB>transcript" in message
    assert "list.tsv:5: duration 9.5 s, but" in message
    assert "list.tsv:2: duplicate utterance id 'a'" in message and "list.tsv:6: duplicate" in message
    with caplog.at_level(logging.WARNING, logger="speechq.data"), pytest.raises(DataError, match="no usable"):
        LibriSpeechDataLoader(manifest, skip_bad=True)
    assert any("skipped 5 problem(s); 0 utterance(s) kept" in r.getMessage() for r in caplog.records)


def test_jsonl_manifest_problems(flat: tuple[Path, Path], tmp_path: Path) -> None:
    manifest = tmp_path / "list.jsonl"
    lines = [json.dumps({"path": "wav/a.wav", "transcript": "OK"}), "{not json", json.dumps(["wav/b.wav"]),
             json.dumps({"path": "wav/c.wav"}), json.dumps({"path": "wav/b.wav", "transcript": "B", "duration": "x"})]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as raised:
        LibriSpeechDataLoader(manifest)
    message = str(raised.value)
    for fragment in ("list.jsonl:2: not JSON", "list.jsonl:3: expected a JSON object",
                     "list.jsonl:4: expected string fields", "list.jsonl:5: duration must be a number"):
        assert fragment in message
    assert [u.utterance_id for u in LibriSpeechDataLoader(manifest, skip_bad=True).utterances] == ["a"]


def test_manifest_suffix_and_label_dir(flat: tuple[Path, Path], tmp_path: Path) -> None:
    (tmp_path / "list.csv").write_text("wav/a.wav,OK\n")
    with pytest.raises(ConfigError, match=r"\.tsv or \.jsonl"):
        LibriSpeechDataLoader(tmp_path / "list.csv")
    (tmp_path / "list.tsv").write_text("wav/a.wav\tOK\n")
    with pytest.raises(ConfigError, match="label_dir"):
        LibriSpeechDataLoader(tmp_path / "list.tsv", label_dir=flat[1])
    with pytest.raises(ConfigError, match="no such corpus"):
        LibriSpeechDataLoader(tmp_path / "nothing")


def test_folder_without_transcripts(tmp_path: Path, write_audio: WriteAudio) -> None:
    write_audio("loose/a.wav", make_tone(0.2, 16_000))
    with pytest.raises(DataError, match=r"no \*\.trans\.txt transcripts .* pass label_dir"):
        LibriSpeechDataLoader(tmp_path / "loose")


# ------------------------------------------------------------------------------------------ audio folder
def test_audio_folder_problems(tmp_path: Path, write_audio: WriteAudio, caplog: pytest.LogCaptureFixture) -> None:
    write_audio("calib/a.wav", make_tone(0.2, 16_000))
    write_audio("calib/a.flac", make_tone(0.2, 16_000))
    write_audio("calib/b.wav", make_tone(0.2, 16_000))
    (tmp_path / "calib" / "c.wav").write_text("not audio")
    with pytest.raises(DataError) as raised:
        AudioFolderDataLoader(tmp_path / "calib")
    assert "duplicate utterance id 'a'" in str(raised.value) and "c.wav: not a readable audio file" in str(raised.value)
    with caplog.at_level(logging.WARNING, logger="speechq.data"):
        loader = AudioFolderDataLoader(tmp_path / "calib", skip_bad=True)
    assert [u.utterance_id for u in loader.utterances] == ["b"]
    assert any("skipped 3 problem(s); 1 utterance(s) kept" in r.getMessage() for r in caplog.records)
    with pytest.raises(ConfigError, match="no such audio folder"):
        AudioFolderDataLoader(tmp_path / "none")
    with pytest.raises(ConfigError, match="extensions"):
        AudioFolderDataLoader(tmp_path / "calib", extensions="wav")  # type: ignore[arg-type]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: no audio files"):
        AudioFolderDataLoader(tmp_path / "empty")


# ------------------------------------------------------------------------------------------------ speakers
def test_speaker_of_the_ids_each_layout_gives(native: Path, tmp_path: Path, write_audio: WriteAudio) -> None:
    assert [speaker_of(u.utterance_id) for u in find_utterances(native)] == ["10"] * 3  # <speaker>-<chapter>-<n>
    for name in ("alice/a.wav", "alice/b.wav", "bob/take/c.wav", "d.wav"):
        write_audio(f"calls/{name}", make_tone(0.2, 16_000))
    speakers = {u.utterance_id: speaker_of(u.utterance_id) for u in AudioFolderDataLoader(tmp_path / "calls").utterances}
    assert speakers == {"alice/a": "alice", "alice/b": "alice", "bob/take/c": "bob/take", "d": None}
    assert [speaker_of(uid) for uid in ("84-121550", "a-b-c", "-1-2", "lecture-01")] == [None] * 4
