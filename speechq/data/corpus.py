"""Finding utterances and their transcripts: LibriSpeech layout, flat audio + label folders, manifests.

Every layout gives a list of :class:`Utterance` sorted by id, after the same checks: each audio file has exactly
one transcript and each transcript an audio file, ids are unique, transcripts are UTF-8 and not empty, characters
are inside the alphabet (when one is given), and each audio header is readable with at least one sample.
Whatever fails is a :class:`Problem` naming the file; :func:`settle` raises them all in one DataError, or with
``skip_bad`` logs a warning per problem and a count, and drops only the utterances concerned.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from speechq.data.audio import AUDIO_EXTENSIONS, AudioInfo, audio_info
from speechq.errors import ConfigError, DataError

__all__ = [
    "MANIFEST_SUFFIXES",
    "Problem",
    "Utterance",
    "find_audio_utterances",
    "find_utterances",
    "read_manifest",
    "speaker_of",
    "write_manifest",
]

logger = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".tsv", ".jsonl")
_TRANS_SUFFIX = ".trans.txt"
_DURATION_TOLERANCE_S = 0.5  # a manifest duration further than this from the file's own is an error
_MAX_LISTED_PROBLEMS = 10
_LIBRISPEECH_ID = re.compile(r"([^-/]+)-[^-/]+-\d+")  # <speaker>-<chapter>-<n>


@dataclass(frozen=True)
class Utterance:
    """One utterance found in a corpus.

    Attributes:
        utterance_id: e.g. ``"84-121550-0000"`` (audio folders: the path relative to the root, without suffix).
        audio_path: the audio file.
        text: transcript as written in the corpus (runs of white space made single spaces), ``None`` unlabelled.
        source: where the transcript was read (``file`` or ``file:line``), for messages.
        info: the audio header (rate, frames, channels), once checked.
    """

    utterance_id: str
    audio_path: Path
    text: str | None
    source: str
    info: AudioInfo | None = None


def speaker_of(utterance_id: str) -> str | None:
    """The speaker an utterance id names: ``"84"`` for LibriSpeech's ``"84-121550-0000"``; the folder for an audio
    folder's ``"<folder>/<name>"`` (its path relative to the root, one folder per speaker); ``None`` for other ids."""
    folder, _, name = utterance_id.rpartition("/")
    if folder:
        return folder
    match = _LIBRISPEECH_ID.fullmatch(name)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Problem:
    """Something wrong with one file (or one manifest line); ``utterance_id`` is the utterance it rules out."""

    where: str
    message: str
    utterance_id: str | None = None

    def __str__(self) -> str:
        # an audio file's problem already starts with its path (read_audio's messages do)
        return self.message if self.message.startswith(f"{self.where}: ") else f"{self.where}: {self.message}"


# ------------------------------------------------------------------------------------------------ front door
def find_utterances(
    path: str | Path,
    label_dir: str | Path | None = None,
    alphabet: Iterable[str] | None = None,
    skip_bad: bool = False,
) -> list[Utterance]:
    """Labelled utterances of a corpus, checked, sorted by id.

    Args:
        path: a LibriSpeech-layout folder (a split, or a root holding several splits: ``<speaker>/<chapter>/``
            with ``<speaker>-<chapter>.trans.txt``), or a flat folder of audio files (with ``label_dir``), or a
            manifest file (``.tsv``: ``path<TAB>transcript[<TAB>duration_s]``, optional header line starting with
            ``path``; ``.jsonl``: ``{"path", "transcript" (or "text"), "duration" (optional), "id" (optional)}``;
            relative paths are resolved against the manifest's folder; the id is the file name without suffix).
        label_dir: folder of ``<id>.txt`` transcripts for a flat audio folder.
        alphabet: characters allowed in transcripts after lower-casing (include the space), or None.
        skip_bad: drop bad utterances with a warning each (and a count) instead of raising.

    Raises:
        DataError: problems found (all listed, each naming its file) without ``skip_bad``, or nothing usable.
        ConfigError: ``path`` does not exist, ``label_dir`` given with a manifest, or a bad ``alphabet``.
    """
    path = Path(path)
    allowed = _alphabet(alphabet)
    if path.is_file():
        if label_dir is not None:
            raise ConfigError(f"label_dir={label_dir}: not used with a manifest file ({path}); pass one or the other")
        utterances, problems = read_manifest(path)
    elif path.is_dir():
        if label_dir is not None:
            utterances, problems = _scan_flat(path, Path(label_dir))
        else:
            utterances, problems = _scan_librispeech(path)
    else:
        raise ConfigError(f"{path}: no such corpus folder or manifest file")
    checked, more = _check(utterances, allowed)
    return settle(checked, problems + more, skip_bad, str(path))


def find_audio_utterances(
    root: str | Path,
    extensions: Sequence[str] = AUDIO_EXTENSIONS,
    recursive: bool = True,
    skip_bad: bool = False,
) -> list[Utterance]:
    """Unlabelled utterances (``text=None``) of every audio file under ``root``, checked, sorted by id.

    The id is the path relative to ``root`` without its suffix (``"speaker1/take2"``); ``root`` may also be one
    audio file (id: its name without the suffix).

    Raises:
        DataError: unreadable files or clashing ids without ``skip_bad``, or no audio at all.
        ConfigError: ``root`` is neither a folder nor an audio file, or an extension does not start with a dot.
    """
    root = Path(root)
    suffixes = _suffixes(extensions)
    if root.is_file() and root.suffix.lower() in suffixes:
        checked, problems = _check([Utterance(root.stem, root, None, str(root))], None)
        return settle(checked, problems, skip_bad, str(root))
    if not root.is_dir():
        raise ConfigError(f"{root}: no such audio folder or audio file (extensions {sorted(suffixes)})")
    files = _audio_files(root, suffixes, recursive)
    if not files:
        raise DataError(f"{root}: no audio files ({', '.join(suffixes)}) in this folder{' or below' if recursive else ''}")
    utterances = [Utterance(f.relative_to(root).with_suffix("").as_posix(), f, None, str(f)) for f in files]
    checked, problems = _check(utterances, None)
    return settle(checked, problems, skip_bad, str(root))


def settle(utterances: list[Utterance], problems: list[Problem], skip_bad: bool, where: str) -> list[Utterance]:
    """The utterances no problem rules out, sorted by id; raise or warn about the problems.

    Raises:
        DataError: there are problems and not ``skip_bad`` (the message lists them); or no utterance is left.
    """
    problems = sorted(set(problems), key=lambda p: (p.where, p.message))
    if problems and not skip_bad:
        listed = "; ".join(str(p) for p in problems[:_MAX_LISTED_PROBLEMS])
        more = f"; and {len(problems) - _MAX_LISTED_PROBLEMS} more" if len(problems) > _MAX_LISTED_PROBLEMS else ""
        hint = "(skip_bad=True, or --skip-bad on the command line, leaves them out)"
        if len(problems) == 1 and listed.startswith(f"{where}: "):  # one file given, one problem: named once
            raise DataError(f"{listed} {hint}")
        raise DataError(f"{where}: {len(problems)} problem(s): {listed}{more} {hint}")
    ruled_out = {p.utterance_id for p in problems if p.utterance_id is not None}
    kept = sorted((u for u in utterances if u.utterance_id not in ruled_out), key=lambda u: u.utterance_id)
    for problem in problems:
        logger.warning("skipped: %s", problem)
    if problems:
        logger.warning("%s: skipped %d problem(s); %d utterance(s) kept", where, len(problems), len(kept))
    if not kept:
        raise DataError(f"{where}: no usable utterances found")
    return kept


# ---------------------------------------------------------------------------------------------- layouts
def _scan_librispeech(root: Path) -> tuple[list[Utterance], list[Problem]]:
    """``<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac`` with ``<speaker>-<chapter>.trans.txt`` beside them."""
    transcripts = sorted(root.rglob(f"*{_TRANS_SUFFIX}"))
    if not transcripts:
        raise DataError(
            f"{root}: no *{_TRANS_SUFFIX} transcripts (LibriSpeech layout); for a flat folder of audio files pass "
            "label_dir, or pass a manifest file (.tsv or .jsonl)"
        )
    audio = _audio_by_folder(_audio_files(root, AUDIO_EXTENSIONS, recursive=True))
    utterances: list[Utterance] = []
    problems: list[Problem] = []
    claimed: set[Path] = set()
    unreadable: set[Path] = set()
    for trans in transcripts:
        lines = _read_text(trans, problems)
        if lines is None:
            unreadable.add(trans.parent)
            continue
        chapter = trans.name[: -len(_TRANS_SUFFIX)]
        for number, line in enumerate(lines.splitlines(), 1):
            if not line.strip():
                continue
            uid, _, text = line.strip().partition(" ")
            where = f"{trans}:{number}"
            if not uid.startswith(chapter + "-"):
                problems.append(Problem(where, f"utterance {uid!r} does not belong to chapter {chapter!r}", uid))
                continue
            found = _pick_audio(audio[trans.parent].get(uid, []), where, uid, problems, trans.parent)
            claimed.update(audio[trans.parent].get(uid, []))
            if found is not None:
                utterances.append(Utterance(uid, found, " ".join(text.split()), where))
    for folder, stems in audio.items():
        orphans = [(stem, f) for stem, files in stems.items() for f in files if f not in claimed]
        if folder in unreadable and orphans:
            problems.append(Problem(str(folder), f"{len(orphans)} audio file(s) skipped: their transcript is unreadable"))
            continue
        problems.extend(Problem(str(f), "audio file has no transcript line in any *.trans.txt", s) for s, f in orphans)
    return utterances, problems


def _scan_flat(audio_dir: Path, label_dir: Path) -> tuple[list[Utterance], list[Problem]]:
    """``audio_dir/<id>.<ext>`` with ``label_dir/<id>.txt`` (one transcript per file), as POT's scripts used."""
    if not label_dir.is_dir():
        raise ConfigError(f"label_dir={label_dir}: no such folder")
    audio = _audio_by_folder(_audio_files(audio_dir, AUDIO_EXTENSIONS, recursive=False)).get(audio_dir, {})
    labels = {p.stem: p for p in sorted(label_dir.glob("*.txt")) if p.is_file()}
    utterances: list[Utterance] = []
    problems: list[Problem] = []
    for uid in sorted(set(audio) | set(labels)):
        if uid not in labels:
            problems.extend(Problem(str(f), f"no transcript {label_dir / (uid + '.txt')}", uid) for f in audio[uid])
            continue
        if uid not in audio:
            problems.append(Problem(str(labels[uid]), f"transcript for a missing audio file {audio_dir / uid}.*", uid))
            continue
        text = _read_text(labels[uid], problems, uid)
        found = _pick_audio(audio[uid], str(labels[uid]), uid, problems, audio_dir)
        if text is not None and found is not None:
            utterances.append(Utterance(uid, found, " ".join(text.split()), str(labels[uid])))
    return utterances, problems


def read_manifest(path: str | Path) -> tuple[list[Utterance], list[Problem]]:
    """Utterances listed in a ``.tsv`` or ``.jsonl`` manifest (see :func:`find_utterances`), unchecked.

    Returns:
        ``(utterances, problems)``: malformed lines and missing files are problems naming ``manifest:line``.

    Raises:
        ConfigError: the suffix is neither ``.tsv`` nor ``.jsonl``. DataError: the manifest is not UTF-8 text.
    """
    path = Path(path)
    if path.suffix.lower() not in MANIFEST_SUFFIXES:
        raise ConfigError(f"{path}: manifest files end in {' or '.join(MANIFEST_SUFFIXES)}, got {path.suffix!r}")
    problems: list[Problem] = []
    text = _read_text(path, problems)
    if text is None:
        raise DataError(str(problems[0]))
    parse = _parse_tsv_line if path.suffix.lower() == ".tsv" else _parse_jsonl_line
    utterances: list[Utterance] = []
    first = True
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        if first and path.suffix.lower() == ".tsv" and line.split("\t")[0].strip().lower() == "path":
            first = False
            continue
        first = False
        try:
            audio, transcript, duration, uid = parse(line)
        except ValueError as error:
            problems.append(Problem(where, str(error)))
            continue
        audio_path = audio if audio.is_absolute() else path.parent / audio
        uid = uid or audio_path.stem
        if not audio_path.is_file():
            problems.append(Problem(where, f"transcript for a missing audio file {audio_path}", uid))
            continue
        utterance = Utterance(uid, audio_path, " ".join(transcript.split()), where)
        if duration is not None:
            _check_duration(utterance, duration, problems)
        utterances.append(utterance)
    return utterances, problems


def write_manifest(utterances: Sequence[Utterance], path: str | Path) -> Path:
    """Write a ``.tsv`` (with a ``path\\ttranscript\\tduration`` header) or ``.jsonl`` manifest.

    Paths are written relative to the manifest's folder where the audio lies below it; durations (seconds, from
    the checked audio headers) where known.

    Raises:
        ConfigError: unknown suffix. DataError: an utterance has no transcript.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise ConfigError(f"{path}: manifest files end in {' or '.join(MANIFEST_SUFFIXES)}, got {path.suffix!r}")
    lines = ["path\ttranscript\tduration"] if suffix == ".tsv" else []
    for utterance in utterances:
        if utterance.text is None:
            raise DataError(f"{utterance.audio_path}: no transcript to write into manifest {path}")
        relative = _relative(utterance.audio_path, path.parent)
        duration = round(utterance.info.duration_s, 4) if utterance.info is not None else None
        if suffix == ".tsv":
            lines.append("\t".join([relative, utterance.text, "" if duration is None else f"{duration:g}"]))
        else:
            record: dict[str, Any] = {"id": utterance.utterance_id, "path": relative, "transcript": utterance.text}
            if duration is not None:
                record["duration"] = duration
            lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------- checks
def _check(utterances: list[Utterance], alphabet: frozenset[str] | None) -> tuple[list[Utterance], list[Problem]]:
    """Headers read, duplicates, empty transcripts and foreign characters found."""
    problems: list[Problem] = []
    by_id: dict[str, list[Utterance]] = defaultdict(list)
    for utterance in utterances:
        by_id[utterance.utterance_id].append(utterance)
    checked: list[Utterance] = []
    for uid, group in by_id.items():
        if len(group) > 1:
            places = ", ".join(sorted(u.source for u in group))
            problems.extend(Problem(u.source, f"duplicate utterance id {uid!r} (also in {places})", uid) for u in group)
            continue
        utterance = group[0]
        if utterance.text is not None and not utterance.text:
            problems.append(Problem(utterance.source, f"empty transcript for utterance {uid!r}", uid))
            continue
        if utterance.text is not None and alphabet is not None:
            foreign = sorted(set(utterance.text.lower()) - alphabet)
            if foreign:
                problems.append(Problem(utterance.source, f"utterance {uid!r}: characters {foreign} outside the alphabet", uid))
                continue
        try:
            checked.append(replace(utterance, info=audio_info(utterance.audio_path)))
        except DataError as error:
            problems.append(Problem(utterance.source, str(error), uid))
    return checked, problems


def _check_duration(utterance: Utterance, duration: float, problems: list[Problem]) -> None:
    try:
        actual = audio_info(utterance.audio_path).duration_s
    except DataError:
        return  # reported by _check
    if abs(actual - duration) > _DURATION_TOLERANCE_S:
        problems.append(
            Problem(utterance.source, f"duration {duration:g} s, but {utterance.audio_path} lasts {actual:.3f} s",
                    utterance.utterance_id)
        )


def _alphabet(alphabet: Iterable[str] | None) -> frozenset[str] | None:
    if alphabet is None:
        return None
    if isinstance(alphabet, str):
        raise ConfigError("alphabet must be a collection of characters (e.g. set(\"abc' \")), not one string")
    allowed = frozenset(alphabet)
    bad = sorted(repr(c) for c in allowed if not isinstance(c, str) or len(c) != 1)
    if bad or not allowed:
        raise ConfigError(f"alphabet must hold single characters, got {bad[:5] or 'nothing'}")
    return frozenset(c.lower() for c in allowed)


# ---------------------------------------------------------------------------------------------- helpers
def _suffixes(extensions: Sequence[str]) -> tuple[str, ...]:
    if isinstance(extensions, str) or not all(isinstance(e, str) and e.startswith(".") for e in extensions):
        raise ConfigError(f"extensions must be a list of suffixes starting with '.', got {extensions!r}")
    return tuple(e.lower() for e in extensions)


def _audio_files(root: Path, suffixes: Sequence[str], recursive: bool) -> list[Path]:
    """Audio files under ``root``; broken symlinks and symlink loops with an audio suffix are kept (and reported
    by :func:`audio_info`), not silently dropped."""
    candidates = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in candidates if p.suffix.lower() in suffixes and (p.is_file() or _dangling(p)))


def _dangling(path: Path) -> bool:
    return path.is_symlink() and not path.exists()


def _audio_by_folder(files: list[Path]) -> dict[Path, dict[str, list[Path]]]:
    grouped: dict[Path, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for file in files:
        grouped[file.parent][file.stem].append(file)
    return grouped


def _pick_audio(files: list[Path], where: str, uid: str, problems: list[Problem], folder: Path) -> Path | None:
    if not files:
        problems.append(Problem(where, f"transcript for a missing audio file {folder / uid}.<audio suffix>", uid))
        return None
    if len(files) > 1:
        problems.append(Problem(where, f"several audio files for utterance {uid!r}: {[f.name for f in files]}", uid))
        return None
    return files[0]


def _read_text(path: Path, problems: list[Problem], uid: str | None = None) -> str | None:
    """The file's text, or None after recording a problem (unreadable or not UTF-8)."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.append(Problem(str(path), f"not UTF-8 text (byte {error.start}: {error.object[error.start:error.start + 1]!r})", uid))
    except OSError as error:
        problems.append(Problem(str(path), f"unreadable ({error.strerror or error})", uid))
    return None


def _parse_tsv_line(line: str) -> tuple[Path, str, float | None, str | None]:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) not in (2, 3) or not fields[0].strip():
        raise ValueError(f"expected path<TAB>transcript[<TAB>duration_s], got {len(fields)} tab-separated field(s)")
    duration = _duration(fields[2]) if len(fields) == 3 and fields[2].strip() else None
    return Path(fields[0].strip()), fields[1], duration, None


def _parse_jsonl_line(line: str) -> tuple[Path, str, float | None, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at column {error.colno})") from error
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    audio, transcript = record.get("path"), record.get("transcript", record.get("text"))
    if not isinstance(audio, str) or not audio or not isinstance(transcript, str):
        raise ValueError(f"expected string fields 'path' and 'transcript', got keys {sorted(record)}")
    uid = record.get("id")
    if uid is not None and (not isinstance(uid, str) or not uid):
        raise ValueError(f"'id' must be a non-empty string, got {uid!r}")
    duration = record.get("duration")
    return Path(audio), transcript, None if duration is None else _duration(duration), uid


def _duration(value: Any) -> float:
    try:
        duration = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"duration must be a number of seconds, got {value!r}") from error
    if not duration >= 0:
        raise ValueError(f"duration must be >= 0 seconds, got {value!r}")
    return duration


def _relative(audio: Path, folder: Path) -> str:
    try:
        return audio.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return os.path.abspath(audio)
