"""The DeepSpeech-architecture model of ``train_small_models.py --model deepspeech``: MFCC features, the network,
its augmentation and training, export with the interface of Open Model Zoo's mozilla-deepspeech-0.8.2 IR,
evaluation and the model card."""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import openvino as ov
import soxr
import torch
import torch.nn.functional as F
from torch import nn

from _training import (  # what the trainers share
    BEAM_WIDTH,
    TUNE_UTTERANCES,
    RunControl,
    Scores,
    TrainingReport,
    build_lm,
    card_tail,
    choose_subset,
    compile_f32,
    keep_best_epoch,
    load_checkpoint,
    lr_at,
    make_batches,
    make_beam_decoder,
    optimizer_step,
    run_settings,
    start_run,
    score,
    ship_language_model,
    text_of,
    tune_lm_weights,
    wrap,
    write_card,
    write_subset,
)
from speechq import features as sq_features
from speechq.data import Utterance, read_audio
from speechq.decoding import Vocabulary, greedy_decode
from speechq.zoo.architectures import (
    DEEPSPEECH_STATE_C_OUTPUT as STATE_C_OUTPUT,
    DEEPSPEECH_STATE_H_OUTPUT as STATE_H_OUTPUT,
    DeepSpeechWeights,
    deepspeech_graph,
)

logger = logging.getLogger("train_small_models")


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


def encode_text(text: str) -> list[int]:
    """Label ids of a transcript (speechq.decoding's DeepSpeech vocabulary; raises DataError on other characters)."""
    return VOCABULARY.text_to_ids(text)


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


def greedy_text(probs: np.ndarray) -> str:
    """Best path of probabilities [T, 29] (speechq.decoding)."""
    return greedy_decode(probs, VOCABULARY)


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


def ir_probabilities(compiled: ov.CompiledModel, mfccs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Chunked IR probabilities [T, 29] of every utterance."""
    return [chunked_probabilities(compiled, windows_of(m)) for m in mfccs]


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


def model_card(report: TrainingReport) -> str:
    """MODEL_CARD.md text of the shipped DeepSpeech-architecture model."""
    c, h = report.config, report.config.hidden
    intro = wrap(f"""A small network of Mozilla DeepSpeech 0.8.2's architecture, trained from scratch by speechq on its
        own synthetic corpus (`data_scripts/make_synthetic_corpus.py`), so that speechq's demo, recipes and tests have
        a real trained speech model without downloading anything. Its IR has exactly the interface of Open Model Zoo's
        `mozilla-deepspeech-0.8.2` IR, with a hidden size of {h} instead of 2048.""")
    features = wrap("""Features (`speechq.features`): 16 kHz audio, DeepSpeech MFCC (32 ms windows, 20 ms steps, 26
        cepstra), context windows of 9 frames each side, computed on the whole utterance, then cut into chunks of 16
        steps; the last chunk is zero-padded and only its valid steps kept. Feed each chunk with the state outputs of
        the previous one (zeros for the first).""")
    architecture = wrap(f"""MFCC window (494) -> layer_1 dense {h} -> clipped ReLU (min(max(x, 0), 20)) -> layer_2
        dense {h} -> clipped ReLU -> layer_3 dense {h} -> clipped ReLU -> LSTM {h} (one `LSTMSequence`, OpenVINO gate
        order f, i, c, o) -> layer_5 dense {h} -> clipped ReLU -> layer_6 dense 29 -> softmax. The input
        normalisation used in training (per-cepstrum mean and standard deviation of the training frames) is folded
        into layer_1, so the IR takes raw MFCC windows like the real model. Parameters: {report.parameters:,};
        `model.bin`: {report.bin_bytes:,} bytes (FP32).""")
    sorta = ", the first epoch from short to long utterances (SortaGrad)" if c.sorted_first_epoch else ""
    training = wrap(f"""CTC loss (blank 28), Adam, learning rate {c.lr} (linear warm-up over {c.warmup_steps} steps,
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
    alpha, beta, dev_lm = tune_lm_weights(arpa, probs["dev"][:TUNE_UTTERANCES], refs["dev"][:TUNE_UTTERANCES],
                                          VOCABULARY)
    decode = make_beam_decoder(arpa, alpha, beta, VOCABULARY)
    results[f"dev beam+LM (first {TUNE_UTTERANCES}, tuning)"] = dev_lm
    results["test beam+LM"] = score(refs["test"], decode(probs["test"]))
    results["shipped subset beam+LM"] = score([text_of(u) for u in subset], decode(subset_probs))
    return results, (alpha, beta)


def run(args: argparse.Namespace) -> None:
    """Train, export, verify, evaluate and ship the DeepSpeech-architecture model."""
    config, splits = start_run(DeepSpeechConfig, args.settings, args.work_dir, args.corpus)
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
    report = TrainingReport(
        config=config, parameters=sum(p.numel() for p in model.parameters()),
        bin_bytes=(args.out / "model.bin").stat().st_size,
        data={name: (len(splits[name]), _hours(mfccs[name])) for name in splits}, train_seconds=seconds,
        best_epoch=best_epoch, export_max_abs_diff=diff, results=results, lm=lm_text, command=args.command,
    )
    write_card(report, model_card(report), args.out, args.work_dir / "deepspeech_small.json")

