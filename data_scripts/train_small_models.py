"""Train the small models that ship with speechq, from scratch on CPU, deterministic for a seed.

``--model deepspeech``: a Mozilla DeepSpeech 0.8.2-shaped network with a smaller hidden size, trained with CTC on
the train split of the offline synthetic corpus (LibriSpeech layout, ``data_scripts/make_synthetic_corpus.py``),
exported to OpenVINO IR with exactly the interface of Open Model Zoo's ``mozilla-deepspeech-0.8.2`` IR:

    inputs  ``input_node`` [1, 16, 19, 26] f32 (MFCC context windows), ``previous_state_c`` / ``previous_state_h``
            [1, H] f32;
    outputs ``logits`` [16, 1, 29] f32 (softmax probabilities, time-major: 0 = space, 1..26 = a..z,
            27 = apostrophe, 28 = CTC blank), and the new LSTM state: ``...BlockLSTM/TensorIterator.2`` (c) and
            ``...BlockLSTM/TensorIterator.1`` (h), [1, H] each.

The LSTM of the IR is an ``LSTMSequence`` (not a TensorIterator), so NNCF can quantize it. The script then builds a
word 3-gram ARPA language model from the training text (``build_arpa_lm.py``), evaluates the IR chunk by chunk with
carried state on the dev and test splits (greedy, and beam search with the LM), writes the model card and copies a
fixed subset of the test split for demos and tests.

Usage (the command the shipped model card states)::

    python data_scripts/train_small_models.py --model deepspeech --corpus /work/corpus \\
        --work-dir /work/train-work --out speechq/zoo/deepspeech_small --subset-out speechq/zoo/data/synthetic-test

``--model wav2vec2``: a small Hugging Face Wav2Vec2ForCTC trained from scratch on the raw waveforms of the same
split, exported with ``openvino.convert_model`` (``_train_wav2vec2.py``, which shares this script's corpus, scoring,
training-loop, LM and subset helpers; it evaluates on the subset the DeepSpeech run wrote)::

    python data_scripts/train_small_models.py --model wav2vec2 --corpus /work/corpus \\
        --work-dir /work/train-w2v --out speechq/zoo/wav2vec2_small

``--model conformer``: a conformer CTC model that computes its log-mel spectrogram inside the graph
(``_train_conformer.py``, trained like the Wav2Vec2 model). It is not shipped: ``bench/bench_any_ctc.py`` measures
what INT8 does to such a model::

    python data_scripts/train_small_models.py --model conformer --corpus /work/corpus \
        --work-dir /work/train-conformer --out /work/conformer_small --no-lm
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import math
import shutil
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import openvino as ov
import soxr
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_arpa_lm  # noqa: E402  (sibling scripts)
import make_synthetic_corpus  # noqa: E402

from speechq import features as sq_features  # noqa: E402
from speechq.data import Utterance, find_utterances, read_audio  # noqa: E402
from speechq.decoding import (  # noqa: E402
    LANGUAGE_MODEL_FOLDER,
    BeamSearchParams,
    Vocabulary,
    beam_decode_many,
    build_beam_decoder,
    greedy_decode,
    write_language_model_folder,
)
from speechq.metrics import char_error_rate, word_error_rate  # noqa: E402
from speechq.zoo.architectures import (  # noqa: E402
    DEEPSPEECH_STATE_C_OUTPUT as STATE_C_OUTPUT,
    DEEPSPEECH_STATE_H_OUTPUT as STATE_H_OUTPUT,
    DeepSpeechWeights,
    deepspeech_graph,
)

logger = logging.getLogger("train_small_models")

# ---------------------------------------------------------------------------------------------------- constants
VOCABULARY = Vocabulary.deepspeech()  # 0 = space, 1..26 = a..z, 27 = apostrophe, 28 = blank
BLANK = VOCABULARY.blank_index
CLASSES = len(VOCABULARY)
SAMPLE_RATE_HZ = 16_000
CHUNK_STEPS = 16
CONTEXT = 9
CEPSTRA = 26
WINDOW = 2 * CONTEXT + 1
INPUT_SIZE = WINDOW * CEPSTRA  # 494
RELU_CLIP = 20.0
F32 = {"INFERENCE_PRECISION_HINT": "f32"}


@dataclass(frozen=True)
class DeepSpeechConfig:
    """Everything that decides the trained weights (with the corpus)."""

    hidden: int = 256
    epochs: int = 45
    batch_frames: int = 3_000  # feature steps per batch, padding included (small batches: more updates per minute)
    lr: float = 2e-3
    warmup_steps: int = 300
    final_lr_ratio: float = 0.03
    grad_clip: float = 5.0
    dropout: float = 0.1
    time_masks: int = 2
    time_mask_steps: int = 5
    cepstrum_masks: int = 0
    cepstrum_mask_width: int = 3
    high_shelf_db: float = 0.0  # per utterance, a gain of +-this many dB above a random 3.5-7.5 kHz corner
    feature_noise: float = 0.0  # std of noise added to MFCC, in training standard deviations
    channel_offset: float = 1.0  # per-utterance cepstral offsets, in standard deviations of speakers' mean cepstra
    speeds: tuple[float, ...] = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15)  # speed perturbation: each epoch sees one at random per utterance
    sorted_first_epoch: bool = False
    seed: int = 0
    threads: int = 2


@dataclass(frozen=True)
class Scores:
    """Corpus-level error rates (fractions, not percent)."""

    wer: float
    cer: float


# ------------------------------------------------------------------------------------------------------- corpus
def read_split(root: Path) -> list[Utterance]:
    """Labelled utterances of a LibriSpeech-layout split, checked and sorted by id (speechq.data)."""
    return find_utterances(root, alphabet=VOCABULARY.tokens[:BLANK])


def text_of(utterance: Utterance) -> str:
    """Lower-case transcript (LibriSpeech writes upper case)."""
    return (utterance.text or "").lower()


def encode_text(text: str) -> list[int]:
    """Label ids of a transcript (speechq.decoding's DeepSpeech vocabulary; raises DataError on other characters)."""
    return VOCABULARY.text_to_ids(text)


# ----------------------------------------------------------------------------------------------------- features
def utterance_mfcc(path: Path, speed: float = 1.0) -> np.ndarray:
    """DeepSpeech MFCC of one audio file, optionally speed-perturbed: [T, 26] float32 (20 ms steps).

    ``speed`` > 1 plays the audio faster and higher (Kaldi-style speed perturbation: resampling from
    ``16 kHz * speed`` to 16 kHz), which shifts formants like another speaker's vocal tract would.
    """
    audio = read_audio(path)
    if speed != 1.0:
        audio = soxr.resample(audio, SAMPLE_RATE_HZ * speed, SAMPLE_RATE_HZ).astype(np.float32)
    return np.asarray(sq_features.deepspeech_mfcc(audio), dtype=np.float32)


def windows_of(mfcc: np.ndarray) -> np.ndarray:
    """Context windows [T, 19, 26] float32 of an MFCC sequence, exactly as speechq.features computes them."""
    return np.asarray(sq_features.context_windows(mfcc), dtype=np.float32)


def cached_mfcc(utterances: Sequence[Utterance], cache_dir: Path, name: str, speed: float = 1.0) -> list[np.ndarray]:
    """MFCC [T, 26] of each utterance at ``speed``, computed once and cached as ``cache_dir/<name>-<hash>.npz``."""
    listing = "\n".join(f"{u.utterance_id} {u.audio_path} {u.audio_path.stat().st_size}" for u in utterances)
    key = hashlib.sha256(f"{listing}\nspeed {speed}".encode()).hexdigest()[:12]
    path = cache_dir / f"{name}-x{speed:g}-{key}.npz"
    if path.is_file():
        with np.load(path) as data:
            flat, lengths = data["flat"], data["lengths"]
        return list(np.split(flat, np.cumsum(lengths)[:-1]))
    start = time.time()
    feats = [utterance_mfcc(u.audio_path, speed) for u in utterances]
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, flat=np.concatenate(feats), lengths=np.array([len(f) for f in feats]))
    logger.info("%s: MFCC of %d utterances in %.0f s -> %s", name, len(feats), time.time() - start, path)
    return feats


# --------------------------------------------------------------------------------------------------------- model
def torch_windows(mfcc: torch.Tensor) -> torch.Tensor:
    """[B, T, 26] -> flattened context windows [B, T, 494], zeros outside the sequence (as speechq.features)."""
    padded = F.pad(mfcc, (0, 0, CONTEXT, CONTEXT))
    return padded.unfold(1, WINDOW, 1).transpose(2, 3).reshape(mfcc.shape[0], mfcc.shape[1], INPUT_SIZE)


class DeepSpeechSmall(nn.Module):
    """DeepSpeech 0.8.2 layers: 3 dense + clipped ReLU, one LSTM, dense + clipped ReLU, dense to 29 classes.

    Input statistics (``mean``/``inv_std`` per window element) are buffers applied before layer 1; export folds them
    into layer 1's weights so the IR takes raw MFCC windows like the real model.
    """

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(INPUT_SIZE))
        self.register_buffer("inv_std", torch.ones(INPUT_SIZE))
        self.layer_1 = nn.Linear(INPUT_SIZE, hidden)
        self.layer_2 = nn.Linear(hidden, hidden)
        self.layer_3 = nn.Linear(hidden, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.layer_5 = nn.Linear(hidden, hidden)
        self.layer_6 = nn.Linear(hidden, CLASSES)
        self.dropout = nn.Dropout(dropout)
        with torch.no_grad():  # forget-gate bias 1: remembers longer from the start
            self.lstm.bias_ih_l0[hidden : 2 * hidden].fill_(1.0)
            self.lstm.bias_hh_l0.zero_()

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Flattened windows [B, T, 494] (raw MFCC) -> logits [B, T, 29] (before softmax)."""
        x = (windows - self.mean) * self.inv_std
        for layer in (self.layer_1, self.layer_2):
            x = layer(x).clamp(0.0, RELU_CLIP)
        x = self.dropout(self.layer_3(x).clamp(0.0, RELU_CLIP))  # dropout at two places only: it is slow on CPU
        x, _ = self.lstm(x)
        x = self.dropout(self.layer_5(x).clamp(0.0, RELU_CLIP))
        return self.layer_6(x)


def set_input_statistics(model: DeepSpeechSmall, mfccs: Sequence[np.ndarray]) -> None:
    """Per-cepstrum mean and 1/std over all training frames, tiled over the 19 window positions."""
    frames = np.concatenate(mfccs).astype(np.float64)
    mean, std = frames.mean(axis=0), frames.std(axis=0) + 1e-3
    model.mean.copy_(torch.from_numpy(np.tile(mean, WINDOW).astype(np.float32)))
    model.inv_std.copy_(torch.from_numpy(np.tile(1.0 / std, WINDOW).astype(np.float32)))


# ------------------------------------------------------------------------------------------------------ training
def make_batches(lengths: Sequence[int], batch_frames: int, rng: np.random.Generator) -> list[list[int]]:
    """Utterance indices grouped by similar length (at most ``batch_frames`` padded steps each), in shuffled order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and (len(current) + 1) * lengths[index] > batch_frames:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


def pad_batch(mfccs: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, T_max, 26] zero-padded MFCC and lengths [B] int64."""
    lengths = torch.tensor([len(m) for m in mfccs], dtype=torch.int64)
    batch = torch.zeros(len(mfccs), int(lengths.max()), CEPSTRA)
    for i, m in enumerate(mfccs):
        batch[i, : len(m)] = torch.from_numpy(m)
    return batch, lengths


def speaker_offset_std(utterances: Sequence[Utterance], mfccs: Sequence[np.ndarray]) -> np.ndarray:
    """Standard deviation over training speakers of each speaker's mean cepstrum: [26] float32.

    It sizes the channel/speaker offsets of :func:`augment_mfcc` (a fixed spectral envelope, such as another vocal
    tract or microphone, adds a constant to each cepstrum over the whole utterance).
    """
    frames: dict[str, list[np.ndarray]] = {}
    for u, m in zip(utterances, mfccs):
        frames.setdefault(u.utterance_id.split("-")[0], []).append(m)
    means = np.array([np.concatenate(v).mean(axis=0) for _, v in sorted(frames.items())])
    return means.std(axis=0).astype(np.float32)


def augment_mfcc(x: torch.Tensor, lengths: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                 offset_std: torch.Tensor, config: DeepSpeechConfig, gen: torch.Generator) -> torch.Tensor:
    """Augmented copy of a padded MFCC batch [B, T, 26] (padding stays zero):

    a random constant offset per utterance and cepstrum (``channel_offset * offset_std``), SpecAugment-style time
    masks (frames set to the training mean), cepstrum masks, a high shelf on the log-mel spectrum the cepstra are the
    DCT of (:func:`shelved`), and Gaussian noise (``feature_noise * std``).
    ``mean``/``std``: [26] training statistics.
    """
    b, t, _ = x.shape
    valid = (torch.arange(t)[None, :] < lengths[:, None]).unsqueeze(-1)  # [B, T, 1]
    x = x + config.channel_offset * offset_std * torch.randn((b, 1, CEPSTRA), generator=gen)
    if config.feature_noise:
        x = x + config.feature_noise * std * torch.randn(x.shape, generator=gen)
    for i in range(b):
        for _ in range(config.time_masks):
            width = int(torch.randint(0, config.time_mask_steps + 1, (1,), generator=gen))
            start = int(torch.randint(0, max(1, int(lengths[i]) - width), (1,), generator=gen))
            x[i, start : start + width] = mean
        for _ in range(config.cepstrum_masks):
            width = int(torch.randint(0, config.cepstrum_mask_width + 1, (1,), generator=gen))
            start = int(torch.randint(1, CEPSTRA - width + 1, (1,), generator=gen))
            x[i, :, start : start + width] = mean[start : start + width]
    if config.high_shelf_db:
        x = shelved(x, config.high_shelf_db, gen)
    return x * valid


DCT = torch.from_numpy(sq_features.deepspeech_dct_matrix()).float()  # [40 bands, 26 cepstra]
INVERSE_DCT = torch.linalg.pinv(DCT)  # [26, 40]: cepstra -> the log-mel spectrum they keep (INVERSE_DCT @ DCT = I)


SHELF_CORNER_BANDS = (28, 40)  # mel bands 28-39 of DeepSpeech's 40 (20-8000 Hz): centres 3.5-7.5 kHz


def high_shelf(log_mel: torch.Tensor, corner: torch.Tensor, gain_db: torch.Tensor) -> torch.Tensor:
    """DeepSpeech log-mel energies [..., 40] (natural log of filterbank magnitudes) with a gain of ``gain_db`` dB
    (broadcast) above the mel band ``corner``, through a logistic step one band wide (half the gain at ``corner``)."""
    step = torch.sigmoid(torch.arange(log_mel.shape[-1], dtype=torch.float32) - corner)
    return log_mel + step * gain_db * (math.log(10.0) / 20.0)


def shelved(x: torch.Tensor, max_db: float, gen: torch.Generator) -> torch.Tensor:
    """``x`` [B, T, 26] through the 40 log-mel bands the cepstra are the DCT of, with a high shelf per utterance: a
    gain drawn from +-``max_db`` dB above a corner band drawn from ``SHELF_CORNER_BANDS`` (:func:`high_shelf`):
    another microphone, codec or vocoder in the top octave, where synthetic voices differ most."""
    corner = torch.randint(*SHELF_CORNER_BANDS, (x.shape[0], 1, 1), generator=gen).float()
    gain_db = max_db * (2.0 * torch.rand((x.shape[0], 1, 1), generator=gen) - 1.0)
    return high_shelf(x @ INVERSE_DCT, corner, gain_db) @ DCT


class Schedule(Protocol):
    """The optimisation settings :func:`lr_at` reads (both trainers' configs have them)."""

    lr: float
    warmup_steps: int
    final_lr_ratio: float


def lr_at(step: int, total_steps: int, config: Schedule) -> float:
    """Linear warm-up, then cosine decay to ``final_lr_ratio * lr``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps))
    ratio = config.final_lr_ratio + (1 - config.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return config.lr * ratio


def optimizer_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, lr: float,
                   grad_clip: float) -> float:
    """One update at learning rate ``lr`` with gradients clipped to norm ``grad_clip``; returns the loss."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return float(loss.detach())


@dataclass(frozen=True)
class RunControl:
    """How a training run starts and ends: ``resume`` continues after the last epoch whose state a run with the same
    settings saved in the work folder (from scratch when there is none); ``stop_after`` ends the run after that epoch,
    its state saved, so that a long training can span several sittings."""
    resume: bool = False
    stop_after: int | None = None


class StoppedEarly(Exception):
    """The run ended after ``RunControl.stop_after`` epochs; the work folder holds the state to resume from."""


def state_file(checkpoint: str) -> str:
    """The name of the resumable training state saved beside ``checkpoint`` (``name.pt`` -> ``name.state.pt``)."""
    return f"{Path(checkpoint).stem}.state.pt"


def keep_best_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, epochs: int, run_epoch: Callable[[int], float],
                    dev_texts: Callable[[], list[str]], dev_refs: Sequence[str], work_dir: Path, checkpoint: str,
                    training_json: str, settings: str, control: RunControl = RunControl(),
                    generators: Sequence[torch.Generator] = ()) -> tuple[float, int]:
    """Run ``run_epoch(epoch)`` (returns its mean loss) for epochs 1..``epochs``, score ``dev_texts()`` (greedy
    transcripts of the dev split) after each, and keep the weights of the epoch with the lowest dev CER: saved as
    ``work_dir/checkpoint`` and loaded back into ``model`` at the end. ``work_dir/training_json`` is written with
    every best epoch, so that ``--reuse-training`` can export a run stopped early. Returns (seconds, best epoch).

    After every epoch the whole state of the run (weights, ``optimizer``, torch's and numpy's global generators and
    ``generators``, the best epoch so far, the time spent) is saved as :func:`state_file`, under ``settings`` (a text
    that names the run's configuration and data); ``control`` resumes from it and stops early. A resumed run trains
    exactly the weights of one that was never stopped (``run_epoch`` must depend on nothing but the epoch number and
    these states). Raises SystemExit when the saved state is of other settings, StoppedEarly after ``stop_after``."""
    best_cer, best_epoch, best_state, done, earlier = math.inf, 0, None, 0, 0.0
    saved = work_dir / state_file(checkpoint)
    if control.resume and saved.is_file():
        # our own file, holding numpy's generator state (a tuple with an array): not a weights-only pickle
        state = torch.load(saved, weights_only=False)
        if state["settings"] != settings:
            raise SystemExit(f"train_small_models: {saved} was saved by a run with other settings or data:\n  saved: "
                             f"{state['settings']}\n  now:   {settings}\nresume with the same command, or train in "
                             "another --work-dir")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])
        for generator, rng in zip(generators, state["generators"], strict=True):
            generator.set_state(rng)
        best_cer, best_epoch, done, earlier = state["best_cer"], state["best_epoch"], state["epoch"], state["seconds"]
        best_state = torch.load(work_dir / checkpoint) if best_epoch else None
        logger.info("resuming after epoch %d/%d (best so far: epoch %d, dev CER %.2f%%) from %s", done, epochs,
                    best_epoch, 100 * best_cer, saved)
    elif control.resume:
        logger.info("no saved state in %s: training from scratch", work_dir)
    start = time.time() - earlier
    for epoch in range(done + 1, epochs + 1):
        loss = run_epoch(epoch)
        dev = score(dev_refs, dev_texts())
        logger.info("epoch %d/%d: loss %.3f, dev greedy WER %.2f%% CER %.2f%% (%.1f min)", epoch, epochs, loss,
                    100 * dev.wer, 100 * dev.cer, (time.time() - start) / 60)
        if dev.cer < best_cer:
            best_cer, best_epoch = dev.cer, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
            torch.save(best_state, work_dir / checkpoint)
            (work_dir / training_json).write_text(json.dumps({"seconds": time.time() - start, "best_epoch": epoch}))
        state = {"settings": settings, "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
                 "generators": [g.get_state() for g in generators], "best_cer": best_cer, "best_epoch": best_epoch,
                 "seconds": time.time() - start}
        torch.save(state, saved.with_name(saved.name + ".partial"))
        saved.with_name(saved.name + ".partial").replace(saved)  # a run killed while saving keeps the last state
        if epoch == control.stop_after and epoch < epochs:
            raise StoppedEarly(f"stopped after epoch {epoch}/{epochs} (best so far: epoch {best_epoch}); the state is in "
                               f"{saved}: run the same command with --resume to go on")
    seconds = time.time() - start
    if best_state is None:
        raise RuntimeError("no epoch was trained (epochs must be at least 1)")
    (work_dir / training_json).write_text(json.dumps({"seconds": seconds, "best_epoch": best_epoch,
                                                       "epochs_run": epochs}))
    model.load_state_dict(best_state)
    model.eval()
    return seconds, best_epoch


def load_checkpoint(model: nn.Module, work_dir: Path, checkpoint: str, training_json: str) -> tuple[float, int]:
    """Load the weights a finished :func:`keep_best_epoch` left in ``work_dir`` into ``model`` (eval mode);
    returns its (seconds, best epoch)."""
    model.load_state_dict(torch.load(work_dir / checkpoint))
    model.eval()
    figures = json.loads((work_dir / training_json).read_text())
    return float(figures["seconds"]), int(figures["best_epoch"])


def train_epoch(model: DeepSpeechSmall, optimizer: torch.optim.Optimizer, mfccs: Sequence[np.ndarray],
                labels: Sequence[list[int]], batches: Sequence[list[int]], step: int, total_steps: int,
                config: DeepSpeechConfig, gen: torch.Generator, offset_std: torch.Tensor) -> tuple[int, float]:
    """One pass over ``batches``; returns the global step reached and the mean CTC loss per utterance."""
    model.train()
    losses = []
    mean = model.mean.view(WINDOW, CEPSTRA)[0]
    std = 1.0 / model.inv_std.view(WINDOW, CEPSTRA)[0]
    for batch in batches:
        x, lengths = pad_batch([mfccs[i] for i in batch])
        windows = torch_windows(augment_mfcc(x, lengths, mean, std, offset_std, config, gen))
        targets = torch.tensor([t for i in batch for t in labels[i]], dtype=torch.int64)
        target_lengths = torch.tensor([len(labels[i]) for i in batch], dtype=torch.int64)
        log_probs = model(windows).log_softmax(-1).transpose(0, 1)
        loss = F.ctc_loss(log_probs, targets, lengths, target_lengths, blank=BLANK, zero_infinity=True)
        losses.append(optimizer_step(model, optimizer, loss, lr_at(step, total_steps, config), config.grad_clip))
        step += 1
    return step, float(np.mean(losses))


@torch.no_grad()
def torch_probabilities(model: DeepSpeechSmall, mfccs: Sequence[np.ndarray], batch_frames: int) -> list[np.ndarray]:
    """Softmax probabilities [T, 29] float32 of each utterance (whole utterance, eval mode)."""
    model.eval()
    out: list[np.ndarray] = [np.empty(0)] * len(mfccs)
    lengths = [len(m) for m in mfccs]
    for batch in make_batches(lengths, batch_frames, np.random.default_rng(0)):
        x, _ = pad_batch([mfccs[i] for i in batch])
        probs = model(torch_windows(x)).softmax(-1).numpy()
        for row, i in enumerate(batch):
            out[i] = probs[row, : lengths[i]]
    return out


# -------------------------------------------------------------------------------------------------- decoding etc.
def greedy_text(probs: np.ndarray) -> str:
    """Best path of probabilities [T, 29] (speechq.decoding)."""
    return greedy_decode(probs, VOCABULARY)


def score(refs: Sequence[str], hyps: Sequence[str]) -> Scores:
    """Corpus-level WER and CER (total edits / total reference words or characters; speechq.metrics)."""
    return Scores(wer=word_error_rate(refs, hyps).corpus_rate, cer=char_error_rate(refs, hyps).corpus_rate)


# -------------------------------------------------------------------------------------------------------- export
def _fold_input_statistics(model: DeepSpeechSmall) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer 1's weight [H, 494] and bias [H] taking raw windows: W' = W * inv_std, b' = b - W' @ mean."""
    weight = model.layer_1.weight.detach().double() * model.inv_std.double()
    bias = model.layer_1.bias.detach().double() - weight @ model.mean.double()
    return weight.float(), bias.float()


def deepspeech_weights(model: DeepSpeechSmall) -> DeepSpeechWeights:
    """The trained weights in speechq.zoo's layout: dense as [in, out], LSTM gates reordered from torch's (i, f, g, o)
    to OpenVINO's LSTMSequence order (f, i, c, o), input normalisation folded into layer_1."""
    def dense(weight: torch.Tensor, bias: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        return (weight.detach().numpy().T.astype(np.float32).copy(), bias.detach().numpy().astype(np.float32).copy())

    lstm, h = model.lstm, model.lstm.hidden_size
    order = torch.cat([torch.arange(h, 2 * h), torch.arange(0, h), torch.arange(2 * h, 4 * h)])
    return DeepSpeechWeights(
        dense=(dense(*_fold_input_statistics(model)), dense(model.layer_2.weight, model.layer_2.bias),
               dense(model.layer_3.weight, model.layer_3.bias), dense(model.layer_5.weight, model.layer_5.bias),
               dense(model.layer_6.weight, model.layer_6.bias)),
        lstm_w=lstm.weight_ih_l0.detach()[order].numpy()[None].astype(np.float32),
        lstm_r=lstm.weight_hh_l0.detach()[order].numpy()[None].astype(np.float32),
        lstm_b=(lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()[order].numpy()[None].astype(np.float32),
    )


def export_openvino(model: DeepSpeechSmall) -> ov.Model:
    """The trained network as an OpenVINO model with Open Model Zoo's mozilla-deepspeech-0.8.2 interface
    (speechq.zoo.architectures builds the graph, as it does for the full-size random-weight model)."""
    return deepspeech_graph(deepspeech_weights(model), "deepspeech_small")


def chunked_probabilities(compiled: ov.CompiledModel, windows: np.ndarray) -> np.ndarray:
    """Run the IR chunk by chunk over windows [T, 19, 26], carrying the state; probabilities [T, 29] float32."""
    h = compiled.input("previous_state_c").get_partial_shape()[1].get_length()
    state_c, state_h = np.zeros((1, h), np.float32), np.zeros((1, h), np.float32)
    padded = np.zeros((math.ceil(len(windows) / CHUNK_STEPS) * CHUNK_STEPS, WINDOW, CEPSTRA), np.float32)
    padded[: len(windows)] = windows
    request = compiled.create_infer_request()
    outputs = []
    for start in range(0, len(padded), CHUNK_STEPS):
        result = request.infer({"input_node": padded[None, start : start + CHUNK_STEPS],
                                "previous_state_c": state_c, "previous_state_h": state_h})
        outputs.append(result["logits"][:, 0].copy())
        state_c, state_h = result[STATE_C_OUTPUT].copy(), result[STATE_H_OUTPUT].copy()
    return np.concatenate(outputs)[: len(windows)]


def compile_f32(model: ov.Model) -> ov.CompiledModel:
    """CPU, f32 inference precision (the CPU plugin would otherwise run bf16 where the CPU has it)."""
    return ov.Core().compile_model(model, "CPU", F32)


def verify_export(compiled: ov.CompiledModel, model: DeepSpeechSmall, mfccs: Sequence[np.ndarray],
                  tolerance: float = 1e-4) -> float:
    """Largest |IR chunked - torch whole utterance| over the probabilities of ``mfccs``; raises above tolerance."""
    reference = torch_probabilities(model, mfccs, batch_frames=10**9)
    worst = 0.0
    for mfcc, expected in zip(mfccs, reference):
        worst = max(worst, float(np.abs(chunked_probabilities(compiled, windows_of(mfcc)) - expected).max()))
    if worst > tolerance:
        raise RuntimeError(f"exported IR differs from the torch model by {worst:.2e} (> {tolerance:.0e})")
    return worst


# ---------------------------------------------------------------------------------------------------- evaluation
def ir_probabilities(compiled: ov.CompiledModel, mfccs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Chunked IR probabilities [T, 29] of every utterance."""
    return [chunked_probabilities(compiled, windows_of(m)) for m in mfccs]


def make_beam_decoder(arpa: Path, alpha: float, beta: float, vocabulary: Vocabulary = VOCABULARY
                      ) -> Callable[[Sequence[np.ndarray]], list[str]]:
    """Beam search with the word LM (speechq.decoding: pyctcdecode + kenlm); probabilities or logits [T, V] of
    ``vocabulary``'s symbols (DeepSpeech's 29 by default) -> texts."""
    search = build_beam_decoder(vocabulary, arpa, BeamSearchParams(beam_width=BEAM_WIDTH, alpha=alpha, beta=beta))

    def decode(probs: Sequence[np.ndarray]) -> list[str]:
        return beam_decode_many(search, list(probs), num_workers=BEAM_WORKERS)

    return decode


BEAM_WIDTH = 32
BEAM_WORKERS = 2
ALPHAS = (0.3, 0.6, 1.0)
BETAS = (0.5, 1.5, 3.0)


def tune_lm_weights(arpa: Path, probs: Sequence[np.ndarray], refs: Sequence[str], vocabulary: Vocabulary = VOCABULARY
                    ) -> tuple[float, float, Scores]:
    """(alpha, beta) of the small grid with the lowest WER on (dev) ``probs``, and that score."""
    best: tuple[float, float, Scores] | None = None
    for alpha in ALPHAS:
        for beta in BETAS:
            decode = make_beam_decoder(arpa, alpha, beta, vocabulary)
            result = score(refs, decode(probs))
            logger.info("LM alpha %.1f beta %.1f: dev WER %.2f%%", alpha, beta, 100 * result.wer)
            if best is None or result.wer < best[2].wer:
                best = (alpha, beta, result)
    if best is None:
        raise RuntimeError("empty LM weight grid")
    return best


# ------------------------------------------------------------------------------------------------- shipped files
def choose_subset(utterances: Sequence[Utterance], count: int, max_bytes: int) -> list[Utterance]:
    """``count`` utterances evenly spaced over the id-sorted split, among files of at most 1.25 times the mean
    size the budget allows, then dropping the largest while over ``max_bytes`` (depends only on the split's files)."""
    limit = 1.25 * max_bytes / max(1, count)
    ordered = sorted((u for u in utterances if u.audio_path.stat().st_size <= limit), key=lambda u: u.utterance_id)
    count = min(count, len(ordered))
    picked = [ordered[round(i * (len(ordered) - 1) / max(1, count - 1))] for i in range(count)]
    while sum(u.audio_path.stat().st_size for u in picked) > max_bytes and len(picked) > 1:
        picked.remove(max(picked, key=lambda u: (u.audio_path.stat().st_size, u.utterance_id)))
    return sorted(picked, key=lambda u: u.utterance_id)


def write_subset(utterances: Sequence[Utterance], out: Path, speakers_tsv: Path | None = None) -> None:
    """Copy ``utterances`` to ``out`` in LibriSpeech layout (``spk/chapter/spk-chapter.trans.txt`` + FLAC), with the
    rows of the corpus' ``speakers_tsv`` for their speakers as ``out/speakers.tsv`` (so that ``speechq eval
    --by-speaker`` on the subset says which voice each speaker is)."""
    import soundfile

    if out.exists():
        shutil.rmtree(out)
    chapters: dict[Path, list[Utterance]] = {}
    for u in utterances:
        speaker, chapter, _ = u.utterance_id.split("-")
        chapters.setdefault(out / speaker / chapter, []).append(u)
    for folder, items in chapters.items():
        folder.mkdir(parents=True)
        for u in items:
            if u.audio_path.suffix == ".flac":
                shutil.copyfile(u.audio_path, folder / u.audio_path.name)
            else:
                audio, rate = soundfile.read(str(u.audio_path), dtype="int16")
                soundfile.write(str(folder / f"{u.utterance_id}.flac"), audio, rate, format="FLAC", subtype="PCM_16")
        speaker, chapter = folder.parent.name, folder.name
        lines = "".join(f"{u.utterance_id} {text_of(u).upper()}\n" for u in items)
        (folder / f"{speaker}-{chapter}.trans.txt").write_text(lines, encoding="utf-8")
    if speakers_tsv is not None and speakers_tsv.is_file():
        rows = speakers_tsv.read_text(encoding="utf-8").splitlines()
        kept = {u.utterance_id.split("-")[0] for u in utterances}
        table = [rows[0]] + [row for row in rows[1:] if row.split("\t")[0] in kept]
        (out / "speakers.tsv").write_text("\n".join(table) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class DeepSpeechReport:
    """Figures the model card states."""

    config: DeepSpeechConfig
    parameters: int
    bin_bytes: int
    data: dict[str, tuple[int, float]]  # split -> (utterances, hours)
    train_seconds: float
    best_epoch: int
    export_max_abs_diff: float
    results: dict[str, Scores]  # e.g. "dev greedy", "test greedy", "test beam+LM", "subset greedy"
    lm: str
    command: str


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def _wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=115, break_on_hyphens=False)


def _augmentation(c: DeepSpeechConfig) -> str:
    """The augmentations a config uses, in words."""
    parts = []
    if c.speeds != (1.0,):
        parts.append(f"speed perturbation (each epoch sees every utterance at one of the speeds "
                     f"{', '.join(map(str, c.speeds))}, drawn at random)")
    if c.time_masks and c.time_mask_steps:
        parts.append(f"{c.time_masks} time masks of up to {c.time_mask_steps} steps per utterance")
    if c.cepstrum_masks and c.cepstrum_mask_width:
        parts.append(f"{c.cepstrum_masks} cepstrum masks of up to {c.cepstrum_mask_width} coefficients")
    if c.high_shelf_db:
        parts.append(f"a high shelf per utterance: a gain drawn from +-{c.high_shelf_db:g} dB above a corner drawn from "
                     "3.5-7.5 kHz (on the log-mel bands under the cepstra)")
    if c.channel_offset:
        parts.append(f"a random constant offset per utterance on each cepstrum, normal with {c.channel_offset} "
                     "times the standard deviation of the training speakers' mean cepstra (a new speaker or channel)")
    if c.feature_noise:
        parts.append(f"Gaussian noise of {c.feature_noise} standard deviations on the features")
    return "; ".join(parts) or "none"


def card_tail(data: dict[str, tuple[int, float]], training: str, how_run: str, results: dict[str, Scores], lm: str,
              command: str, run_note: str = "") -> str:
    """The model card sections both shipped models share: training data, training, accuracy, reproduce."""
    data_rows = "\n".join(f"| {split} | {n} | {hours:.2f} |" for split, (n, hours) in data.items())
    result_rows = "\n".join(f"| {name} | {_pct(s.wer)} | {_pct(s.cer)} |" for name, s in results.items())
    return f"""## Training data
| split | utterances | hours |
|---|---|---|
{data_rows}

## Training
{training}

## Accuracy (FP32, {how_run}, corpus-level)
| evaluation | WER | CER |
|---|---|---|
{result_rows}

{_wrap(lm)}

## Reproduce
```
{command}
```
Training is seeded and runs with `torch.use_deterministic_algorithms(True)`: `tests/zoo/test_trainers.py` checks
on a tiny corpus that a second run, in another process, writes the same checkpoint bytes; a second full run was
not compared{run_note}.
"""


def model_card(report: DeepSpeechReport) -> str:
    """MODEL_CARD.md text of the shipped DeepSpeech-architecture model."""
    c, h = report.config, report.config.hidden
    intro = _wrap(f"""A small network of Mozilla DeepSpeech 0.8.2's architecture, trained from scratch by speechq on its
        own synthetic corpus (`data_scripts/make_synthetic_corpus.py`), so that speechq's demo, recipes and tests have
        a real trained speech model without downloading anything. Its IR has exactly the interface of Open Model Zoo's
        `mozilla-deepspeech-0.8.2` IR, with a hidden size of {h} instead of 2048.""")
    features = _wrap("""Features (`speechq.features`): 16 kHz audio, DeepSpeech MFCC (32 ms windows, 20 ms steps, 26
        cepstra), context windows of 9 frames each side, computed on the whole utterance, then cut into chunks of 16
        steps; the last chunk is zero-padded and only its valid steps kept. Feed each chunk with the state outputs of
        the previous one (zeros for the first).""")
    architecture = _wrap(f"""MFCC window (494) -> layer_1 dense {h} -> clipped ReLU (min(max(x, 0), 20)) -> layer_2
        dense {h} -> clipped ReLU -> layer_3 dense {h} -> clipped ReLU -> LSTM {h} (one `LSTMSequence`, OpenVINO gate
        order f, i, c, o) -> layer_5 dense {h} -> clipped ReLU -> layer_6 dense 29 -> softmax. The input
        normalisation used in training (per-cepstrum mean and standard deviation of the training frames) is folded
        into layer_1, so the IR takes raw MFCC windows like the real model. Parameters: {report.parameters:,};
        `model.bin`: {report.bin_bytes:,} bytes (FP32).""")
    sorta = ", the first epoch from short to long utterances (SortaGrad)" if c.sorted_first_epoch else ""
    training = _wrap(f"""CTC loss (blank 28), Adam, learning rate {c.lr} (linear warm-up over {c.warmup_steps} steps,
        cosine decay to {c.final_lr_ratio} of it), {c.epochs} epochs of length-bucketed batches of at most
        {c.batch_frames} feature steps, gradient norm clipped at {c.grad_clip}, dropout {c.dropout} after layer_3 and layer_5{sorta}.
        Augmentation: {_augmentation(c)}. Trained on whole utterances; the weights of the epoch
        with the lowest dev greedy CER (epoch {report.best_epoch}) are kept. Seed {c.seed}, {c.threads} CPU threads;
        training took {report.train_seconds / 60:.1f} minutes on this project's 2-core CPU. The exported IR, run chunk
        by chunk with carried state, matches the PyTorch model run on whole utterances within
        {report.export_max_abs_diff:.1e} (largest absolute difference of probabilities).""")
    return f"""# deepspeech_small

{intro}

## Interface (OpenVINO IR, FP32 weights)
| | name | shape | meaning |
|---|---|---|---|
| input | `input_node` | [1, 16, 19, 26] f32 | 16 steps of MFCC context windows (9 + 1 + 9 frames of 26 cepstra) |
| input | `previous_state_c` | [1, {h}] f32 | LSTM cell state from the previous chunk (zeros at utterance start) |
| input | `previous_state_h` | [1, {h}] f32 | LSTM hidden state from the previous chunk (zeros at utterance start) |
| output | `logits` | [16, 1, 29] f32 | softmax probabilities (despite the name), time-major; 0 = space, 1..26 = a..z, 27 = `'`, 28 = CTC blank |
| output | `{STATE_C_OUTPUT}` | [1, {h}] f32 | new c state: feed to `previous_state_c` |
| output | `{STATE_H_OUTPUT}` | [1, {h}] f32 | new h state: feed to `previous_state_h` |

{features}

## Architecture
{architecture}

{card_tail(report.data, training, "IR run chunk by chunk", report.results, report.lm, report.command,
           f" (a run takes {report.train_seconds / 60:.0f} minutes here)")}"""


# ---------------------------------------------------------------------------------------------------------- main
def _hours(mfccs: Sequence[np.ndarray]) -> float:
    return sum(len(m) for m in mfccs) * 0.02 / 3600


def plan_epochs(views: Sequence[Sequence[np.ndarray]], config: DeepSpeechConfig
                ) -> list[tuple[list[np.ndarray], list[list[int]]]]:
    """Per epoch: which speed view of each training utterance it sees (drawn at random), and its batches (in
    random order; with ``sorted_first_epoch``, the first epoch goes from short to long utterances: SortaGrad)."""
    rng = np.random.default_rng(config.seed)
    plan = []
    for epoch in range(config.epochs):
        choice = rng.integers(len(views), size=len(views[0]))
        mfccs = [views[c][i] for i, c in enumerate(choice)]
        batches = make_batches([len(m) for m in mfccs], config.batch_frames, rng)
        if epoch == 0 and config.sorted_first_epoch:
            batches.sort(key=lambda batch: (len(mfccs[batch[0]]), batch[0]))
        plan.append((mfccs, batches))
    return plan


def run_settings(config: Any, splits: dict[str, list[Utterance]]) -> str:
    """What a saved training state must match to be resumed: the training config and the data (utterance ids)."""
    ids = {name: hashlib.sha256(" ".join(u.utterance_id for u in items).encode()).hexdigest()[:12]
           for name, items in sorted(splits.items())}
    return json.dumps({"config": dataclasses.asdict(config), "utterances": ids}, sort_keys=True, default=str)


def train_deepspeech(config: DeepSpeechConfig, splits: dict[str, list[Utterance]], train_views: list[list[np.ndarray]],
                     dev_mfccs: list[np.ndarray], work_dir: Path, control: RunControl = RunControl()
                     ) -> tuple[DeepSpeechSmall, float, int]:
    """Train from scratch (or resume, see :class:`RunControl`) on ``train_views`` (MFCC of the train split at each
    speed of ``config.speeds``); keep the epoch with the lowest dev greedy CER. Returns (model, seconds, best
    epoch)."""
    torch.manual_seed(config.seed)
    model = DeepSpeechSmall(config.hidden, config.dropout)
    set_input_statistics(model, train_views[config.speeds.index(1.0)])
    offset_std = torch.from_numpy(speaker_offset_std(splits["train"], train_views[config.speeds.index(1.0)]))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    labels = [encode_text(text_of(u)) for u in splits["train"]]
    gen = torch.Generator().manual_seed(config.seed)
    plan = plan_epochs(train_views, config)
    total_steps = sum(len(batches) for _, batches in plan)
    dev_refs = [text_of(u) for u in splits["dev"]]

    def run_epoch(epoch: int) -> float:
        mfccs, batches = plan[epoch - 1]
        step = sum(len(earlier) for _, earlier in plan[: epoch - 1])
        return train_epoch(model, optimizer, mfccs, labels, batches, step, total_steps, config, gen, offset_std)[1]

    def dev_texts() -> list[str]:
        return [greedy_text(p) for p in torch_probabilities(model, dev_mfccs, config.batch_frames)]

    seconds, best_epoch = keep_best_epoch(model, optimizer, config.epochs, run_epoch, dev_texts, dev_refs, work_dir,
                                          CHECKPOINT, TRAINING_JSON, run_settings(config, splits), control, [gen])
    return model, seconds, best_epoch


CHECKPOINT = "deepspeech_small.pt"
TRAINING_JSON = "deepspeech_small.training.json"


def load_trained(config: DeepSpeechConfig, work_dir: Path) -> tuple[DeepSpeechSmall, float, int]:
    """The weights and figures a finished training left in ``work_dir`` (to export and evaluate again)."""
    model = DeepSpeechSmall(config.hidden, config.dropout)
    seconds, best_epoch = load_checkpoint(model, work_dir, CHECKPOINT, TRAINING_JSON)
    return model, seconds, best_epoch


def evaluate_ir(compiled: ov.CompiledModel, splits: dict[str, list[Utterance]], mfccs: dict[str, list[np.ndarray]],
                subset: Sequence[Utterance], arpa: Path | None) -> tuple[dict[str, Scores], tuple[float, float] | None]:
    """Greedy (and beam + LM, weights tuned on dev) scores of the chunked IR on dev, test and the shipped subset."""
    probs = {name: ir_probabilities(compiled, mfccs[name]) for name in ("dev", "test")}
    refs = {name: [text_of(u) for u in splits[name]] for name in ("dev", "test")}
    results = {f"{name} greedy": score(refs[name], [greedy_text(p) for p in probs[name]]) for name in ("dev", "test")}
    index = {u.utterance_id: i for i, u in enumerate(splits["test"])}
    subset_probs = [probs["test"][index[u.utterance_id]] for u in subset]
    results["shipped subset greedy"] = score([text_of(u) for u in subset], [greedy_text(p) for p in subset_probs])
    if arpa is None:
        return results, None
    alpha, beta, dev_lm = tune_lm_weights(arpa, probs["dev"][:TUNE_UTTERANCES], refs["dev"][:TUNE_UTTERANCES])
    decode = make_beam_decoder(arpa, alpha, beta)
    results[f"dev beam+LM (first {TUNE_UTTERANCES}, tuning)"] = dev_lm
    results["test beam+LM"] = score(refs["test"], decode(probs["test"]))
    results["shipped subset beam+LM"] = score([text_of(u) for u in subset], decode(subset_probs))
    return results, (alpha, beta)


TUNE_UTTERANCES = 200
LM_SHIP_BYTES = 1_000_000


def build_lm(text_file: Path, order: int, prune_below: int, work_dir: Path) -> Path:
    """ARPA LM of the training text (interpolated Kneser-Ney, rare top-order n-grams pruned), in the work dir, words
    in lower case (speechq's beam search gives pyctcdecode a vocabulary of capitals in the LM's case)."""
    arpa = work_dir / f"lm-{order}gram-prune{prune_below}.arpa"
    sentences = build_arpa_lm.read_sentences(text_file)
    arpa.write_text(build_arpa_lm.build_arpa(sentences, order, prune_below), encoding="utf-8")
    logger.info("LM: %s (%d bytes)", arpa, arpa.stat().st_size)
    return arpa


def ship_language_model(arpa: Path, weights: tuple[float, float], out: Path) -> str:
    """Write ``<out>/language_model/`` (the LM as ``lm.arpa``, its unigrams, the tuned weights: what speechq decodes
    the model with by default) when the LM fits ``LM_SHIP_BYTES``; the model card's sentence about it."""
    folder = out / LANGUAGE_MODEL_FOLDER
    shutil.rmtree(folder, ignore_errors=True)
    if arpa.stat().st_size > LM_SHIP_BYTES:
        return f"The LM is not shipped (larger than {LM_SHIP_BYTES:,} bytes)."
    write_language_model_folder(folder, arpa, alpha=weights[0], beta=weights[1], name="lm.arpa")
    return (f"Shipped in `{LANGUAGE_MODEL_FOLDER}/` (pyctcdecode's layout: `lm.arpa`, `unigrams.txt`, `attrs.json` "
            "with these weights): speechq decodes the model with it by default.")


def run_deepspeech(args: argparse.Namespace) -> None:
    """Train, export, verify, evaluate and ship the DeepSpeech-architecture model."""
    config = dataclasses.replace(DeepSpeechConfig(), **args.settings)
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    torch.utils.deterministic.fill_uninitialized_memory = False  # NaN-filling new tensors halves CPU speed
    args.work_dir.mkdir(parents=True, exist_ok=True)
    splits = {name: read_split(args.corpus / name) for name in ("train", "dev", "test")}
    mfccs = {name: cached_mfcc(items, args.work_dir, name) for name, items in splits.items()}
    train_views = [mfccs["train"] if speed == 1.0 else cached_mfcc(splits["train"], args.work_dir, "train", speed)
                   for speed in config.speeds]
    if args.reuse_training:
        model, seconds, best_epoch = load_trained(config, args.work_dir)
    else:
        model, seconds, best_epoch = train_deepspeech(config, splits, train_views, mfccs["dev"], args.work_dir,
                                                      args.control)
    ir = export_openvino(model)
    compiled = compile_f32(ir)
    diff = verify_export(compiled, model, mfccs["dev"][:8])
    args.out.mkdir(parents=True, exist_ok=True)
    ov.save_model(ir, args.out / "model.xml", compress_to_fp16=False)
    subset = choose_subset(splits["test"], args.subset_size, args.subset_bytes)
    write_subset(subset, args.subset_out, args.corpus / "speakers.tsv")
    arpa = build_lm(args.lm_text, args.lm_order, args.lm_prune_below, args.work_dir) if args.lm_text else None
    results, weights = evaluate_ir(compiled, splits, mfccs, subset, arpa)
    lm_text = "No language model was built."
    if arpa is not None and weights is not None:
        shipped = ship_language_model(arpa, weights, args.out)
        lm_text = (f"Beam search: pyctcdecode, beam width {BEAM_WIDTH}, word {args.lm_order}-gram LM (interpolated "
                   f"Kneser-Ney, `data_scripts/build_arpa_lm.py --text {args.lm_text} --order {args.lm_order} "
                   f"--prune-below {args.lm_prune_below}`, {arpa.stat().st_size:,} bytes), alpha {weights[0]}, beta "
                   f"{weights[1]} chosen on the first {TUNE_UTTERANCES} dev utterances. {shipped}")
    report = DeepSpeechReport(
        config=config, parameters=sum(p.numel() for p in model.parameters()),
        bin_bytes=(args.out / "model.bin").stat().st_size,
        data={name: (len(splits[name]), _hours(mfccs[name])) for name in splits}, train_seconds=seconds,
        best_epoch=best_epoch, export_max_abs_diff=diff, results=results, lm=lm_text, command=args.command,
    )
    (args.out / "MODEL_CARD.md").write_text(model_card(report), encoding="utf-8")
    (args.work_dir / "deepspeech_small.json").write_text(json.dumps(dataclasses.asdict(report), indent=2, default=str))
    for name, s in results.items():
        logger.info("%-40s WER %6.2f%%  CER %6.2f%%", name, 100 * s.wer, 100 * s.cer)


def parse_settings(items: Sequence[str], parser: argparse.ArgumentParser, config_type: type = DeepSpeechConfig
                   ) -> dict[str, object]:
    """``NAME=VALUE`` overrides of a training config (DeepSpeechConfig by default), converted to each field's type
    (tuples: comma-separated, of the type of their first default element)."""
    defaults = config_type()
    fields = [f.name for f in dataclasses.fields(config_type)]
    settings: dict[str, object] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in fields or not value:
            parser.error(f"--set {item!r}: expected NAME=VALUE with NAME one of {fields}")
        current = getattr(defaults, name)
        try:
            if isinstance(current, bool):
                settings[name] = {"true": True, "false": False, "1": True, "0": False}[value.lower()]
            elif isinstance(current, tuple):
                settings[name] = tuple(type(current[0])(v) for v in value.split(","))
            else:
                settings[name] = type(current)(value)
        except (ValueError, KeyError):
            parser.error(f"--set {item!r}: {value!r} is not a {type(current).__name__}")
    return settings


def _reproducing(argv: Sequence[str]) -> list[str]:
    """The arguments that make the model (for its card's Reproduce block): without those that only say how this
    sitting runs (``--reuse-training``, ``--resume``, ``--stop-after-epoch N``)."""
    given: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--stop-after-epoch":
            skip = True
        elif arg not in ("--reuse-training", "--resume") and not arg.startswith("--stop-after-epoch="):
            given.append(arg)
    return given


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["deepspeech", "wav2vec2", "conformer"], required=True,
                        help="which small model to train (conformer: not shipped, for bench/bench_any_ctc.py)")
    parser.add_argument("--corpus", type=Path, default=Path("/work/corpus"), help="LibriSpeech-layout corpus root "
                        "with train/, dev/, test/")
    parser.add_argument("--lm-text", type=Path, default=None, help="training text for the LM, one sentence a line "
                        "(default: <corpus>/train_text.txt)")
    parser.add_argument("--no-lm", action="store_true", help="skip the language model and beam search")
    parser.add_argument("--lm-order", type=int, default=3)
    parser.add_argument("--lm-prune-below", type=int, default=2, help="drop top-order n-grams seen fewer times")
    parser.add_argument("--work-dir", type=Path, default=Path("/work/train-work"), help="feature cache, checkpoints")
    parser.add_argument("--out", type=Path, default=None, help="model folder (default: speechq/zoo/<model>_small; "
                        "conformer: /work/conformer_small)")
    parser.add_argument("--subset-out", type=Path, default=Path("speechq/zoo/data/synthetic-test"),
                        help="shipped test subset: written by the deepspeech run, read by the wav2vec2 run")
    parser.add_argument("--subset-size", type=int, default=60)
    parser.add_argument("--subset-bytes", type=int, default=3_000_000)
    parser.add_argument("--reuse-training", action="store_true", help="export and evaluate the weights a finished "
                        "run left in --work-dir instead of training again (same settings)")
    parser.add_argument("--resume", action="store_true", help="go on from the last epoch a run with the same "
                        "settings saved in --work-dir (its state is saved after every epoch); from scratch if none")
    parser.add_argument("--stop-after-epoch", type=int, default=None, metavar="N", help="stop after epoch N, its "
                        "state saved in --work-dir, without exporting (go on later with --resume)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a training setting (DeepSpeechConfig or Wav2Vec2TrainConfig field), "
                        "e.g. --set epochs=30")
    args = parser.parse_args(argv)
    if args.model == "wav2vec2":
        import _train_wav2vec2

        args.settings = parse_settings(args.set, parser, _train_wav2vec2.Wav2Vec2TrainConfig)
    elif args.model == "conformer":
        import _train_conformer

        args.settings = parse_settings(args.set, parser, _train_conformer.ConformerTrainConfig)
    else:
        args.settings = parse_settings(args.set, parser)
    if args.out is None:
        args.out = Path("/work/conformer_small") if args.model == "conformer" else Path(f"speechq/zoo/{args.model}_small")
    if args.stop_after_epoch is not None and args.stop_after_epoch < 1:
        parser.error(f"--stop-after-epoch {args.stop_after_epoch}: must be at least 1")
    if args.reuse_training and (args.resume or args.stop_after_epoch is not None):
        parser.error("--reuse-training exports a finished run: it trains nothing to --resume or stop")
    args.control = RunControl(args.resume, args.stop_after_epoch)
    given = _reproducing(sys.argv[1:] if argv is None else argv)
    args.command = "python data_scripts/train_small_models.py " + " ".join(given)
    if (args.corpus / "corpus.json").is_file():  # the model card's Reproduce block: the corpus, then the training
        args.command = f"{make_synthetic_corpus.rebuild_command(args.corpus)}\n{args.command}"
    if args.lm_text is None and not args.no_lm:
        args.lm_text = args.corpus / "train_text.txt"
    if args.no_lm:
        args.lm_text = None
    elif not args.lm_text.is_file():
        parser.error(f"--lm-text {args.lm_text} is not a file (give the training text, or --no-lm)")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    args = parse_args(argv)
    try:
        if args.model == "deepspeech":
            run_deepspeech(args)
        elif args.model == "wav2vec2":
            import _train_wav2vec2  # the Wav2Vec2ForCTC part (sibling module; it shares this script's helpers)

            _train_wav2vec2.run(args)
        elif args.model == "conformer":
            import _train_conformer  # a conformer with an in-graph log-mel front end (sibling module, not shipped)

            _train_conformer.run(args)
    except StoppedEarly as stopped:
        logger.info("%s", stopped)
    return 0


if __name__ == "__main__":
    # the sibling modules import this script as ``train_small_models``: one module, so StoppedEarly is one class
    sys.modules.setdefault("train_small_models", sys.modules[__name__])
    sys.exit(main())
