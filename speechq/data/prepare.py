"""A LibriSpeech split in its native layout -> the flat audio + annotation layout POT's scripts used, plus manifests."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

import soundfile

from speechq.data.corpus import Utterance, find_utterances, write_manifest
from speechq.errors import ConfigError, DataError, OutputError

__all__ = ["PreparedCorpus", "prepare_librispeech"]

logger = logging.getLogger(__name__)

_AUDIO_DIR, _LABEL_DIR = "wav", "annotation"
_MANIFESTS = ("manifest.tsv", "manifest.jsonl")
_READ_DTYPE = {"PCM_U8": "int16", "PCM_S8": "int16", "PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32",
               "FLOAT": "float32", "DOUBLE": "float64"}


@dataclass(frozen=True)
class PreparedCorpus:
    """Where :func:`prepare_librispeech` put things.

    Attributes:
        root: the output folder. audio_dir: ``root/wav`` (``<id>.wav``). label_dir: ``root/annotation``
        (``<id>.txt``). manifests: ``root/manifest.tsv`` and ``root/manifest.jsonl``. num_utterances: count.
        written: False when the folder already held exactly this corpus and nothing was written.
    """

    root: Path
    audio_dir: Path
    label_dir: Path
    manifests: tuple[Path, ...]
    num_utterances: int
    written: bool


def prepare_librispeech(
    split_dir: str | Path,
    out_dir: str | Path,
    overwrite: bool = False,
    alphabet: Iterable[str] | None = None,
    skip_bad: bool = False,
) -> PreparedCorpus:
    """Copy a LibriSpeech split into ``out_dir/wav/<id>.wav`` + ``out_dir/annotation/<id>.txt`` + manifests.

    Samples are copied exactly (FLAC -> WAV of the same sample format and rate). Idempotent: a folder that already
    holds this corpus is left as it is; a folder holding anything else is refused unless ``overwrite``, which
    replaces only ``wav/``, ``annotation/`` and the manifests. The manifests are written last, so an interrupted
    run leaves no manifest.

    Raises:
        DataError: the split has bad utterances (see :func:`speechq.data.find_utterances`), unless ``skip_bad``.
        OutputError: ``out_dir`` holds something else and ``overwrite`` is False; or it lies inside the split.
        ConfigError: ``split_dir`` is not a folder.
    """
    split, root = Path(split_dir), Path(out_dir)
    if not split.is_dir():
        raise ConfigError(f"{split}: no such LibriSpeech split folder")
    if root.resolve() == split.resolve() or split.resolve() in root.resolve().parents:
        raise OutputError(f"{root}: the output folder must not lie inside the split {split}")
    utterances = find_utterances(split, alphabet=alphabet, skip_bad=skip_bad)
    audio_dir, label_dir = root / _AUDIO_DIR, root / _LABEL_DIR
    targets = [replace(u, audio_path=audio_dir / f"{u.utterance_id}.wav") for u in utterances]
    result = PreparedCorpus(root, audio_dir, label_dir, tuple(root / m for m in _MANIFESTS), len(targets), True)
    if _already_prepared(root, targets):
        logger.info("%s already holds these %d utterances; nothing written", root, len(targets))
        return replace(result, written=False)
    _make_room(root, overwrite)
    audio_dir.mkdir(parents=True)
    label_dir.mkdir(parents=True)
    for source, target in zip(utterances, targets):
        _copy_audio(source.audio_path, target.audio_path)
        (label_dir / f"{target.utterance_id}.txt").write_text(f"{target.text}\n", encoding="utf-8")
    for manifest in result.manifests:
        write_manifest(targets, manifest)
    logger.info("%s: %d utterances written", root, len(targets))
    return result


def _already_prepared(root: Path, targets: list[Utterance]) -> bool:
    tsv = root / _MANIFESTS[0]
    if not tsv.is_file() or not all((root / m).is_file() for m in _MANIFESTS):
        return False
    scratch = root / ".manifest.check.tsv"
    try:
        write_manifest(targets, scratch)
        same = scratch.read_bytes() == tsv.read_bytes()
    finally:
        scratch.unlink(missing_ok=True)
    return same and all(t.audio_path.is_file() for t in targets)


def _make_room(root: Path, overwrite: bool) -> None:
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()):
        if not overwrite:
            raise OutputError(
                f"{root}: not empty and does not hold this corpus; choose another folder or pass overwrite=True "
                f"(--overwrite), which replaces {_AUDIO_DIR}/, {_LABEL_DIR}/ and {', '.join(_MANIFESTS)} there"
            )
        for manifest in _MANIFESTS:
            (root / manifest).unlink(missing_ok=True)
        for folder in (_AUDIO_DIR, _LABEL_DIR):
            shutil.rmtree(root / folder, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)


def _copy_audio(source: Path, target: Path) -> None:
    """Same samples, same rate and sample format, as WAV."""
    info = soundfile.info(str(source))
    subtype = info.subtype if info.subtype in _READ_DTYPE and soundfile.check_format("WAV", info.subtype) else "PCM_16"
    try:
        samples, rate = soundfile.read(str(source), dtype=_READ_DTYPE.get(subtype, "int16"))
    except (soundfile.SoundFileError, RuntimeError) as error:
        raise DataError(f"{source}: cannot decode audio ({error})") from error
    soundfile.write(str(target), samples, rate, subtype=subtype, format="WAV")
