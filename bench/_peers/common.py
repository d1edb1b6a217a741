"""What every process of the peer benchmark shares: utterance files, model inputs, JSON, memory of a process.

The parent reads each utterance once through speechq's reader and writes what the architecture's model reads with
the transcripts; children read them back, so every contender sees exactly the same inputs. DeepSpeech: the MFCC
(speechq's front end), context windows (``[T, 19, 26]``) made on reading (cheap), which keeps the files small, and
cut into 16-step chunks. Wav2Vec2: the 16 kHz waveform, normalised on reading as Hugging Face's feature extractor
does (``speechq.features.wav2vec2_input``), one inference per utterance.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from speechq.features import context_windows, wav2vec2_input

CHUNK_STEPS = 16  # time steps per inference (Open Model Zoo's mozilla-deepspeech-0.8.2 interface)
STEP_SECONDS = 0.02  # audio seconds per time step
WINDOW, CEPSTRA = 19, 26
INPUT_NAMES = ("input_node", "previous_state_c", "previous_state_h")
SAMPLE_RATE_HZ = 16_000


@dataclass(frozen=True)
class Utterances:
    """Utterances as every contender sees them.

    Attributes:
        ids: utterance ids (corpus order); texts: reference transcripts; features: what the architecture reads,
        float32 each (DeepSpeech: MFCC ``[T, 26]``; Wav2Vec2: the waveform ``[N]`` at 16 kHz, not normalised);
        audio_seconds: duration of each utterance's audio.
    """

    ids: tuple[str, ...]
    texts: tuple[str, ...]
    features: tuple[np.ndarray, ...]
    audio_seconds: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def head(self, count: int) -> Utterances:
        """The first ``count`` utterances."""
        return Utterances(self.ids[:count], self.texts[:count], self.features[:count], self.audio_seconds[:count])

    def windows(self, index: int) -> np.ndarray:
        """DeepSpeech: ``[T, 19, 26]`` float32 context windows of utterance ``index`` (as speechq's
        DeepSpeechFeatures)."""
        return context_windows(self.features[index])

    def input_values(self, index: int) -> np.ndarray:
        """Wav2Vec2: ``[1, N]`` float32 model input of utterance ``index`` (as speechq's Wav2Vec2Features)."""
        return wav2vec2_input(self.features[index])

    def clips(self, seconds: float, count: int) -> Utterances:
        """``count`` clips of exactly ``seconds`` of audio (Wav2Vec2 speed inputs): the utterances' waveforms one
        after the other (from the start again if they are too short), cut in pieces; no transcripts."""
        size = int(round(seconds * SAMPLE_RATE_HZ))
        audio = np.concatenate(self.features) if self.features else np.zeros(0, np.float32)
        if not len(audio):
            raise ValueError("no audio to cut speed clips from")
        audio = np.tile(audio, -(-size * count // len(audio)))
        pieces = tuple(audio[i * size : (i + 1) * size].copy() for i in range(count))
        ids = tuple(f"clip-{i}" for i in range(count))
        return Utterances(ids, ("",) * count, pieces, (size / SAMPLE_RATE_HZ,) * count)

    def save(self, path: Path) -> Path:
        """``path`` (.npz: the features) and ``path.with_suffix('.json')`` (ids, texts, durations)."""
        flat = np.concatenate(self.features) if self.features else np.zeros((0,), np.float32)
        np.savez(path, flat=flat, lengths=np.array([len(m) for m in self.features], np.int64))
        write_json(path.with_suffix(".json"), {"ids": self.ids, "texts": self.texts, "audio_seconds": self.audio_seconds})
        return path

    @classmethod
    def load(cls, path: Path) -> Utterances:
        meta = read_json(Path(path).with_suffix(".json"))
        with np.load(path) as data:
            flat, lengths = data["flat"], data["lengths"]
        features = tuple(np.split(flat, np.cumsum(lengths)[:-1])) if len(lengths) else ()
        return cls(tuple(meta["ids"]), tuple(meta["texts"]), features, tuple(float(s) for s in meta["audio_seconds"]))


def chunks_of(windows: np.ndarray) -> np.ndarray:
    """``[T, 19, 26]`` -> ``[n, 1, 16, 19, 26]``: 16-step chunks, the last one zero-padded (its padding is trimmed
    from the outputs)."""
    count = -(-len(windows) // CHUNK_STEPS)
    padded = np.zeros((count * CHUNK_STEPS, WINDOW, CEPSTRA), np.float32)
    padded[: len(windows)] = windows
    return padded.reshape(count, 1, CHUNK_STEPS, WINDOW, CEPSTRA)


def zero_state_feeds(utterances: Utterances, hidden: int) -> list[dict[str, np.ndarray]]:
    """The calibration set a user builds by hand for a recurrent model: every chunk of every utterance, each with
    a zero LSTM state (the state a chunk really gets depends on the chunks before it, which this set ignores)."""
    zeros = np.zeros((1, hidden), np.float32)
    feeds = []
    for index in range(len(utterances)):
        for chunk in chunks_of(utterances.windows(index)):
            feeds.append({"input_node": chunk, "previous_state_c": zeros, "previous_state_h": zeros})
    return feeds


def calibration_feeds(architecture: str, utterances: Utterances, hidden: int) -> list[dict[str, np.ndarray]]:
    """The calibration set a user builds by hand: DeepSpeech ``zero_state_feeds``; Wav2Vec2 one
    ``{"input_values": [1, N]}`` per utterance (as OpenVINO's wav2vec2 notebook feeds NNCF)."""
    if architecture == "deepspeech":
        return zero_state_feeds(utterances, hidden)
    return [{"input_values": utterances.input_values(i)} for i in range(len(utterances))]


def inference_count(architecture: str, utterances: Utterances) -> int:
    """Inferences a pass over ``utterances`` takes: 16-step chunks (DeepSpeech), utterances (Wav2Vec2)."""
    if architecture == "deepspeech":
        return sum(-(-len(m) // CHUNK_STEPS) for m in utterances.features)
    return len(utterances)


def write_json(path: Path, value: Any) -> None:
    Path(path).write_text(json.dumps(value, indent=2, sort_keys=False, default=_plain) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (VmHWM), in MiB; NaN where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def files_bytes(paths: Sequence[Path]) -> int:
    return sum(Path(p).stat().st_size for p in paths if Path(p).is_file())


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, 10th and 90th percentiles."""
    array = np.asarray(values, np.float64)
    return {"median": float(np.median(array)), "p10": float(np.percentile(array, 10)),
            "p90": float(np.percentile(array, 90)), "n": int(len(array))}


def link_first_audio(source: Path, count: int, folder: Path) -> Path:
    """A fresh flat folder of links to the first ``count`` audio files (.flac, .wav) under ``source``, by path."""
    files = sorted(p for p in source.rglob("*") if p.suffix in (".flac", ".wav"))
    if len(files) < count:
        raise SystemExit(f"{source}: {len(files)} audio files, fewer than the {count} asked for")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in files[:count]:
        (folder / path.name).symlink_to(path.resolve())
    return folder
