"""Bad transcripts, one row per case: the loader (API) raises a DataError naming the transcript file (and line)
or the audio file; ``speechq quantize`` ends in one error line naming it, before any inference."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from _cases import assert_cli_error, make_corpus, model_leftovers, run_cli, slow_rows

from speechq.data import LibriSpeechDataLoader
from speechq.errors import DataError

CHAPTER = Path("1") / "10"
TRANS = CHAPTER / "1-10.trans.txt"
DEEPSPEECH_ALPHABET = set("abcdefghijklmnopqrstuvwxyz' ")


def _drop_line(root: Path) -> tuple[Path, str]:
    """Audio 1-10-0001.flac stays, its transcript line goes."""
    trans = root / TRANS
    trans.write_text("".join(l for l in trans.read_text().splitlines(True) if not l.startswith("1-10-0001")))
    return root / CHAPTER / "1-10-0001.flac", "audio file has no transcript line"


def _drop_audio(root: Path) -> tuple[Path, str]:
    (root / CHAPTER / "1-10-0001.flac").unlink()
    return root / f"{TRANS}:2", "transcript for a missing audio file"


def _latin1(root: Path) -> tuple[Path, str]:
    trans = root / TRANS
    trans.write_bytes(trans.read_bytes().replace(b"A QUIET TONE", b"A QUI\xc9T TONE"))  # É in Latin-1
    return trans, "not UTF-8 text (byte 37: b'\\xc9')"


def _foreign(root: Path) -> tuple[Path, str]:
    trans = root / TRANS
    trans.write_text(trans.read_text().replace("A QUIET TONE", "A QUIET TONE 42 ÇA"))
    return root / f"{TRANS}:2", "characters ['2', '4', 'ç'] outside the alphabet"


def _empty(root: Path) -> tuple[Path, str]:
    trans = root / TRANS
    trans.write_text(trans.read_text().replace("1-10-0001 A QUIET TONE", "1-10-0001   "))
    return root / f"{TRANS}:2", "empty transcript for utterance '1-10-0001'"


def _wrong_chapter(root: Path) -> tuple[Path, str]:
    trans = root / TRANS
    trans.write_text(trans.read_text().replace("1-10-0001", "2-10-0001"))
    return root / f"{TRANS}:2", "does not belong to chapter '1-10'"


CASES = [
    pytest.param(_drop_line, id="missing-transcript-for-an-utterance"),
    pytest.param(_drop_audio, id="transcript-for-a-missing-file"),
    pytest.param(_latin1, id="non-utf8-bytes"),
    pytest.param(_foreign, id="characters-outside-the-alphabet"),
    pytest.param(_empty, id="empty-transcript"),
    pytest.param(_wrong_chapter, id="line-in-the-wrong-chapter-file"),
]


@pytest.mark.parametrize("damage", CASES)
def test_loader_names_the_bad_transcript(tmp_path: Path, damage: Callable[[Path], tuple[Path, str]]) -> None:
    root = make_corpus(tmp_path / "corpus")
    culprit, message = damage(root)
    with pytest.raises(DataError) as raised:
        LibriSpeechDataLoader(root, alphabet=DEEPSPEECH_ALPHABET)
    assert f"{culprit}: " in str(raised.value) and message in str(raised.value)
    if damage is _latin1:  # the whole chapter's transcript is unreadable: nothing is left to skip to
        with pytest.raises(DataError, match="no usable utterances"):
            LibriSpeechDataLoader(root, alphabet=DEEPSPEECH_ALPHABET, skip_bad=True)
        return
    kept = LibriSpeechDataLoader(root, alphabet=DEEPSPEECH_ALPHABET, skip_bad=True)
    assert [u.utterance_id for u in kept.utterances] == ["1-10-0000", "1-10-0002"]


def test_punctuation_is_not_foreign_to_the_cli(tmp_path: Path) -> None:
    """The CLI checks transcripts against the model's alphabet plus punctuation (which scoring removes)."""
    from speechq.workflows import make_loader, spoken_characters
    from speechq.zoo import get_recipe

    spec = get_recipe("deepspeech")
    assert spoken_characters(spec) >= DEEPSPEECH_ALPHABET | set(",.?!\u2019\"-")
    assert not spoken_characters(spec) & set("0123456789$+=\u00e9")
    root = make_corpus(tmp_path / "corpus", {"1-10-0000": "Hello, world! Don\u2019t \u201cpanic\u201d..."})
    assert make_loader(spec, root)[0][1].text == "HELLO, WORLD! DON\u2019T \u201cPANIC\u201d..."


def test_flat_layout_names_both_missing_sides(tmp_path: Path) -> None:
    """POT's flat layout (audio folder + label folder): a label without audio, audio without a label."""
    root = make_corpus(tmp_path / "corpus")
    audio, labels = tmp_path / "wav", tmp_path / "annotation"
    audio.mkdir()
    labels.mkdir()
    for flac in sorted((root / CHAPTER).glob("*.flac"))[:2]:
        flac.rename(audio / flac.name)
    (labels / "1-10-0001.txt").write_text("A QUIET TONE")
    (labels / "1-10-0009.txt").write_text("NOBODY SAID THIS")
    with pytest.raises(DataError) as raised:
        LibriSpeechDataLoader(audio, label_dir=labels)
    text = str(raised.value)
    assert f"{audio / '1-10-0000.flac'}: no transcript {labels / '1-10-0000.txt'}" in text
    assert f"{labels / '1-10-0009.txt'}: transcript for a missing audio file" in text


CLI_CASES = slow_rows(CASES, {"transcript-for-a-missing-file", "empty-transcript", "line-in-the-wrong-chapter-file"})


@pytest.mark.parametrize("damage", CLI_CASES)
def test_cli_quantize_names_the_bad_transcript(tmp_path: Path, tiny_ir: Path, damage: Callable[[Path], tuple[Path, str]]) -> None:
    root = make_corpus(tmp_path / "corpus")
    culprit, message = damage(root)
    done = run_cli("quantize", "-m", tiny_ir, "-d", root, "-o", tmp_path / "out", "--subset-size", "2", "--no-progress")
    assert_cli_error(done, "quantize", f"{culprit}: ", message)
    assert model_leftovers(tmp_path / "out") == []
