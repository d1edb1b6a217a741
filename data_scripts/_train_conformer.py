"""The conformer part of ``train_small_models.py`` (``--model conformer``): a small conformer CTC model that takes the
raw waveform and computes its log-mel spectrogram inside the graph, trained from scratch on the synthetic corpus.

It is not shipped: it is the kind of model users bring to the generic ``ctc`` recipe (``bench/bench_any_ctc.py``
measures how INT8 treats it). Interface of the IR: input ``input_values`` [1, N] f32 (N dynamic; the waveform
normalised to zero mean and unit variance, ``--normalize-waveform`` in the ``ctc`` recipe), output ``logits``
[1, T, 32] f32 (one frame per 40 ms), symbols of facebook/wav2vec2-base-960h's ``vocab.json`` (``<pad>`` = blank,
``|`` = word delimiter).

Graph: ``torch.stft`` (512-point FFT of a 25 ms Hann window, 10 ms hop) -> power -> 80 mel filters -> log -> per-utterance mean and
variance normalisation -> two 3x3 convolutions of stride 2 -> linear -> conformer blocks (half feed-forward,
self-attention, depthwise convolution module, half feed-forward, layer norm) -> linear to the symbols. Training,
batching, augmentation and scoring are the Wav2Vec2 part's (``_train_wav2vec2``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Sequence

import librosa
import numpy as np
import openvino as ov
import torch
from torch import nn

import _train_wav2vec2 as w2v  # waveform batches, training loop, vocabulary, IR helpers
import _training as common

logger = logging.getLogger("train_small_models")

CHECKPOINT = "conformer_small.pt"
TRAINING_JSON = "conformer_small.training.json"
N_FFT, WINDOW, HOP, MELS = 512, 400, 160, 80  # 25 ms Hann window in a 512-point FFT (NeMo's layout): OpenVINO's
# STFT is about 100x slower for a 400-point FFT (0.68 s against 7 ms for 3 s of audio on this CPU)


@dataclass(frozen=True)
class ConformerTrainConfig:
    """Model shape, optimisation and augmentation (the fields ``_train_wav2vec2.train`` reads, plus the shape)."""

    channels: int = 32  # of the subsampling convolutions
    d_model: int = 128
    layers: int = 3
    heads: int = 4
    ff_mult: int = 4
    kernel: int = 15
    dropout: float = 0.1
    epochs: int = 12
    batch_seconds: float = 60.0
    lr: float = 1.5e-3
    warmup_steps: int = 400
    final_lr_ratio: float = 0.03
    weight_decay: float = 0.01
    grad_clip: float = 5.0
    speeds: tuple[float, ...] = (0.9, 0.95, 1.0, 1.05, 1.1)
    eq_db: float = 0.0  # the Wav2Vec2 part's random equaliser (off)
    time_masks: int = 2
    time_mask_frames: int = 20
    seed: int = 0
    threads: int = 2


class _FeedForward(nn.Sequential):
    def __init__(self, d: int, mult: int, dropout: float) -> None:
        super().__init__(nn.LayerNorm(d), nn.Linear(d, mult * d), nn.SiLU(), nn.Dropout(dropout),
                         nn.Linear(mult * d, d), nn.Dropout(dropout))


class _ConvModule(nn.Module):
    def __init__(self, d: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.pointwise_in = nn.Conv1d(d, 2 * d, 1)
        self.depthwise = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d)
        self.depthwise_norm = nn.GroupNorm(1, d)  # no batch statistics: padded batches train like single utterances
        self.pointwise_out = nn.Conv1d(d, d, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, d]
        y = nn.functional.glu(self.pointwise_in(self.norm(x).transpose(1, 2)), dim=1)
        y = self.pointwise_out(nn.functional.silu(self.depthwise_norm(self.depthwise(y))))
        return self.dropout(y.transpose(1, 2))


class _Block(nn.Module):
    def __init__(self, c: ConformerTrainConfig) -> None:
        super().__init__()
        self.ff1, self.ff2 = _FeedForward(c.d_model, c.ff_mult, c.dropout), _FeedForward(c.d_model, c.ff_mult, c.dropout)
        self.attention_norm = nn.LayerNorm(c.d_model)
        self.attention = nn.MultiheadAttention(c.d_model, c.heads, batch_first=True)
        self.attention_dropout = nn.Dropout(c.dropout)
        self.conv = _ConvModule(c.d_model, c.kernel, c.dropout)
        self.out_norm = nn.LayerNorm(c.d_model)

    def forward(self, x: torch.Tensor, padding: torch.Tensor | None) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        y = self.attention_norm(x)
        x = x + self.attention_dropout(self.attention(y, y, y, key_padding_mask=padding, need_weights=False)[0])
        x = x + self.conv(x)
        return self.out_norm(x + 0.5 * self.ff2(x))


def _subsampled(frames: torch.Tensor) -> torch.Tensor:
    """Frames after two 3x3 convolutions of stride 2 without padding."""
    return ((frames - 3) // 2 + 1 - 3) // 2 + 1


class ConformerCTC(nn.Module):
    """Waveform -> in-graph log-mel -> conformer -> CTC logits; called like Hugging Face's Wav2Vec2ForCTC."""

    def __init__(self, c: ConformerTrainConfig) -> None:
        super().__init__()
        self.config = c
        self.register_buffer("window", torch.hann_window(WINDOW), persistent=False)
        mel = librosa.filters.mel(sr=w2v.SAMPLE_RATE_HZ, n_fft=N_FFT, n_mels=MELS)  # [80, 257], Slaney
        self.register_buffer("mel", torch.from_numpy(mel.astype(np.float32)), persistent=False)
        self.subsample = nn.Sequential(nn.Conv2d(1, c.channels, 3, stride=2), nn.ReLU(),
                                       nn.Conv2d(c.channels, c.channels, 3, stride=2), nn.ReLU())
        self.project = nn.Linear(c.channels * (((MELS - 3) // 2 + 1 - 3) // 2 + 1), c.d_model)
        self.blocks = nn.ModuleList(_Block(c) for _ in range(c.layers))
        self.head = nn.Linear(c.d_model, len(w2v.HF_TOKENS))

    def features(self, x: torch.Tensor, frames: torch.Tensor | None) -> torch.Tensor:
        """Log-mel [B, T, 80], normalised per utterance over its ``frames`` valid frames (all when None)."""
        spec = torch.stft(x, N_FFT, HOP, WINDOW, window=self.window, center=True, return_complex=True)  # [B, F, T]
        power = torch.view_as_real(spec).pow(2).sum(-1)
        logmel = torch.log(torch.matmul(self.mel, power) + 1e-6).transpose(1, 2)  # [B, T, 80]
        if frames is None:
            mean = logmel.mean(1, keepdim=True)
            std = (logmel - mean).pow(2).mean(1, keepdim=True).sqrt()
        else:
            valid = (torch.arange(logmel.shape[1])[None, :] < frames[:, None]).unsqueeze(-1).float()
            mean = (logmel * valid).sum(1, keepdim=True) / frames[:, None, None]
            std = (((logmel - mean) * valid).pow(2).sum(1, keepdim=True) / frames[:, None, None]).sqrt()
        return (logmel - mean) / (std + 1e-5)

    def forward(self, input_values: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> SimpleNamespace:
        frames = None if attention_mask is None else attention_mask.sum(1) // HOP + 1
        feats = self.features(input_values, frames)
        if self.training:
            feats = self._mask_time(feats)
        y = self.subsample(feats.unsqueeze(1))  # [B, C, T', F']
        y = self.project(y.permute(0, 2, 1, 3).flatten(2))
        out_frames = None if frames is None else _subsampled(frames)
        padding = None if out_frames is None else torch.arange(y.shape[1])[None, :] >= out_frames[:, None]
        for block in self.blocks:
            y = block(y, padding)
        logits = self.head(y)
        loss = None
        if labels is not None:
            assert out_frames is not None, "training needs the attention mask"
            target_lengths = (labels >= 0).sum(1)
            log_probs = logits.log_softmax(-1).transpose(0, 1)
            loss = nn.functional.ctc_loss(log_probs, labels.clamp(min=0), out_frames, target_lengths, blank=0,
                                          reduction="mean", zero_infinity=True)
        return SimpleNamespace(logits=logits, loss=loss)

    def _mask_time(self, feats: torch.Tensor) -> torch.Tensor:
        """SpecAugment time masks (set to 0, the normalised mean), drawn from torch's generator."""
        feats = feats.clone()
        for row in range(feats.shape[0]):
            for _ in range(self.config.time_masks):
                width = int(torch.randint(0, self.config.time_mask_frames + 1, (1,)))
                start = int(torch.randint(0, max(1, feats.shape[1] - width), (1,)))
                feats[row, start : start + width] = 0.0
        return feats


def new_model(config: ConformerTrainConfig) -> nn.Module:
    return ConformerCTC(config)


def export_openvino(model: nn.Module) -> ov.Model:
    """``openvino.convert_model``: ``input_values`` [1, ?] f32 -> ``logits`` [1, ?, 32] f32, spectrogram included."""
    model.eval()
    with torch.no_grad():
        ir = ov.convert_model(w2v._LogitsOnly(model), example_input=torch.zeros(1, w2v.SAMPLE_RATE_HZ),
                              input=[ov.PartialShape([1, -1])])
    ir.inputs[0].get_tensor().set_names({"input_values"})
    ir.outputs[0].get_tensor().set_names({"logits"})
    ir.set_friendly_name("conformer_small")
    return ir


def _hours(waves: Sequence[np.ndarray]) -> float:
    return sum(len(w) for w in waves) / w2v.SAMPLE_RATE_HZ / 3600


def run(args: argparse.Namespace) -> None:
    """Train, export, verify and evaluate the conformer; write ``model.xml``, ``vocab.json`` and ``MODEL_CARD.md``."""
    config, splits = common.start_run(ConformerTrainConfig, args.settings, args.work_dir, args.corpus)
    waves = {name: w2v.cached_audio(items, args.work_dir, name) for name, items in splits.items()}
    files = {"make_model": new_model, "checkpoint": CHECKPOINT, "training_json": TRAINING_JSON}
    if args.reuse_training:
        model, seconds, best_epoch = w2v.load_trained(config, args.work_dir, **files)
    else:
        model, seconds, best_epoch = w2v.train(config, splits, waves, args.work_dir, **files, control=args.control)
    ir = export_openvino(model)
    compiled = common.compile_f32(ir)
    diff = w2v.verify_export(compiled, model, waves["dev"][:8])
    args.out.mkdir(parents=True, exist_ok=True)
    ov.save_model(ir, args.out / "model.xml", compress_to_fp16=False)
    w2v.write_vocab_json(args.out / "vocab.json")
    refs = {name: [common.text_of(u) for u in splits[name]] for name in ("dev", "test")}
    results = {f"{name} greedy": common.score(refs[name], w2v.greedy_texts(w2v.ir_logits(compiled, waves[name])))
               for name in ("dev", "test")}
    parameters = sum(p.numel() for p in model.parameters())
    rows = "\n".join(f"| {name} | {100 * s.wer:.2f}% | {100 * s.cer:.2f}% |" for name, s in results.items())
    card = f"""# conformer_small (not shipped)

A conformer CTC model that computes its own log-mel spectrogram (`torch.stft`, 80 mel filters, log, per-utterance
normalisation) from the raw waveform, trained from scratch on speechq's synthetic corpus: the kind of model a user
brings to the generic `ctc` recipe. `data_scripts/_train_conformer.py` describes the graph.

- Shape: {config.layers} conformer blocks of width {config.d_model}, {config.heads} heads, depthwise kernel
  {config.kernel}, 4x subsampling (40 ms frames); {parameters:,} parameters.
- Training: {config.epochs} epochs ({len(splits['train'])} utterances, {_hours(waves['train']):.2f} h), speed
  perturbation {", ".join(map(str, config.speeds))}, {config.time_masks} time masks of up to {config.time_mask_frames}
  frames; the epoch with the lowest dev greedy CER ({best_epoch}) kept; {seconds / 60:.1f} min on 2 CPU threads.
- The IR matches PyTorch within {diff:.1e}.
- Run it with `speechq eval --recipe ctc --normalize-waveform -m <folder>/model.xml`.

| evaluation (FP32, greedy) | WER | CER |
|---|---|---|
{rows}

Command: `{args.command}`
"""
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    (args.out / "figures.json").write_text(json.dumps({
        "parameters": parameters, "train_seconds": seconds, "best_epoch": best_epoch, "export_max_abs_diff": diff,
        "results": {name: dataclasses.asdict(s) for name, s in results.items()}, "config": dataclasses.asdict(config),
        "time": time.strftime("%Y-%m-%d %H:%M")}, indent=2))
    for name, s in results.items():
        logger.info("%-20s WER %6.2f%%  CER %6.2f%%", name, 100 * s.wer, 100 * s.cer)
