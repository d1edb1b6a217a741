"""Who a corpus' speakers are, from the file that describes them: LibriSpeech's ``SPEAKERS.TXT`` or the
``speakers.tsv`` of speechq's synthetic corpus (``data_scripts/make_synthetic_corpus.py``).

``SPEAKERS.TXT`` (LibriSpeech root): ``;`` comment lines, then ``ID | SEX | SUBSET | MINUTES | NAME`` (a name may
itself hold ``|``). ``speakers.tsv``: a header ``speaker engine voice held_out splits``, then one speaker a line.
"""

from __future__ import annotations

from pathlib import Path

from speechq.errors import DataError

__all__ = ["SPEAKER_FILES", "read_speaker_labels", "read_speakers_tsv", "speaker_labels"]

SPEAKER_FILES = ("SPEAKERS.TXT", "speakers.tsv")
_TSV_COLUMNS = ("speaker", "engine", "voice", "held_out")


def speaker_labels(data: str | Path) -> dict[str, str]:
    """Each speaker's label (``"Kristin LeMoine (F)"``, ``"flite rms, held out"``) from the speaker file of
    ``data``'s corpus: the first of :data:`SPEAKER_FILES` in the folder of ``data`` (or beside a manifest file), then
    in its parent (a split such as ``test-clean/`` sits in the corpus root). Empty when there is none.

    Raises:
        DataError: a speaker file that cannot be read or has a malformed line (file and line named).
    """
    path = Path(data)
    folder = path.parent if path.is_file() else path
    for candidate in (folder, folder.parent):
        for name in SPEAKER_FILES:
            if (candidate / name).is_file():
                return read_speaker_labels(candidate / name)
    return {}


def read_speaker_labels(path: str | Path) -> dict[str, str]:
    """Speaker id -> label from one ``SPEAKERS.TXT`` or ``speakers.tsv`` (by its name's suffix).

    Raises:
        DataError: unreadable, or a line without the expected fields (the file and line number named).
    """
    path = Path(path)
    if path.suffix.lower() == ".tsv":
        return {speaker: f"{row['engine']} {row['voice']}{', held out' if row['held_out'] == '1' else ''}"
                for speaker, row in read_speakers_tsv(path).items()}
    return _librispeech_labels(path, _lines(path))


def read_speakers_tsv(path: str | Path) -> dict[str, dict[str, str]]:
    """The synthetic corpus' ``speakers.tsv``: speaker id -> that speaker's row by column name (``engine``,
    ``voice``, ``held_out`` as ``"0"`` or ``"1"``, ...).

    Raises:
        DataError: unreadable, a header without the columns speaker, engine, voice, held_out, or a line with another
            number of fields (the file and line number named).
    """
    path = Path(path)
    lines = _lines(path)
    header = lines[0].split("\t") if lines else []
    if any(column not in header for column in _TSV_COLUMNS):
        raise DataError(f"{path}, line 1: expected a header with the columns {', '.join(_TSV_COLUMNS)}")
    rows = {}
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split("\t")]
        row = dict(zip(header, fields))
        if len(fields) != len(header) or not row["speaker"]:
            raise DataError(f"{path}, line {number}: expected {len(header)} tab-separated fields, got {len(fields)}")
        rows[row["speaker"]] = row
    return rows


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()  # a byte-order mark is no part of the first line
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the speaker file ({error})") from error


def _librispeech_labels(path: Path, lines: list[str]) -> dict[str, str]:
    labels = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        fields = [field.strip() for field in line.split("|", 4)]
        if len(fields) != 5 or not fields[0] or not fields[4]:
            raise DataError(f"{path}, line {number}: expected 'ID | SEX | SUBSET | MINUTES | NAME', got {line.strip()!r}")
        labels[fields[0]] = f"{fields[4]} ({fields[1]})" if fields[1] else fields[4]
    return labels
