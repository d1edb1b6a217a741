"""The Wav2Vec2ForCTC part of ``train_small_models.py`` (``--model wav2vec2``): a small Hugging Face Wav2Vec2ForCTC
trained from scratch on raw 16 kHz waveforms of the synthetic corpus, exported with ``openvino.convert_model``.

Interface of the IR: input ``input_values`` [1, N] f32 (N dynamic; the utterance normalised to zero mean and unit
variance, as ``speechq.features.wav2vec2_input`` computes it), output ``logits`` [1, T, 32] f32 (before softmax,
T = one frame per 20 ms, 320 samples), symbols of ``vocab.json`` in Hugging Face's format (facebook/wav2vec2-base-960h's
order: ``<pad>`` = CTC blank at 0, ``<s>``, ``</s>``, ``<unk>``, ``|`` = word delimiter, letters, apostrophe).

Corpus reading, scoring, the word LM, the LM-weight search and the shipped subset are the DeepSpeech part's helpers
(``train_small_models``); this module holds only what differs: waveform batches, the model, export and model card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import openvino as ov
import scipy.fft
import soxr
import torch
from torch import nn

import _training as common  # what the trainers share (corpus, scores, training loop, LM, subset, card)
from speechq.data import Utterance, read_audio
from speechq.decoding import Vocabulary, greedy_decode
from speechq.features import wav2vec2_input

logger = logging.getLogger("train_small_models")

SAMPLE_RATE_HZ = 16_000
HOP_SAMPLES = 320  # product of the encoder strides: one frame per 20 ms
EQ_POINTS_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)  # where the random equaliser draws its gains
# facebook/wav2vec2-base-960h's vocab.json, in its order.
HF_TOKENS: tuple[str, ...] = ("<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R", "D",
                              "L", "U", "M", "W", "C", "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z")
VOCABULARY = Vocabulary(HF_TOKENS, blank_index=0, word_delimiter="|")
CHECKPOINT = "wav2vec2_small.pt"
TRAINING_JSON = "wav2vec2_small.training.json"


@dataclass(frozen=True)
class Wav2Vec2TrainConfig:
    """Everything that decides the trained weights (with the corpus): model shape, optimisation, augmentation."""

    conv_dim: tuple[int, ...] = (32, 48, 64, 96, 128, 128, 128)  # 7 conv layers, narrow where the frame rate is high
    hidden: int = 160
    layers: int = 3
    heads: int = 4
    intermediate: int = 320
    pos_conv_kernel: int = 32
    pos_conv_groups: int = 16
    epochs: int = 36
    batch_seconds: float = 60.0  # audio per batch, padding included
    lr: float = 1.5e-3
    warmup_steps: int = 400
    final_lr_ratio: float = 0.03
    weight_decay: float = 0.01
    grad_clip: float = 5.0
    dropout: float = 0.1  # hidden dropout only (attention/activation dropout are slow on CPU and not needed)
    mask_time_prob: float = 0.05
    mask_time_length: int = 10
    speeds: tuple[float, ...] = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15)
    eq_db: float = 0.0  # per utterance and epoch, a random equaliser: gains of +-this many dB at EQ_POINTS_HZ
    seed: int = 0
    threads: int = 2


# ------------------------------------------------------------------------------------------------------ corpus
def cached_audio(utterances: Sequence[Utterance], cache_dir: Path, name: str) -> list[np.ndarray]:
    """Waveforms [N] float32 at 16 kHz of each utterance, read once and cached as ``cache_dir/<name>-audio-<hash>.npz``."""
    listing = "\n".join(f"{u.utterance_id} {u.audio_path} {u.audio_path.stat().st_size}" for u in utterances)
    path = cache_dir / f"{name}-audio-{hashlib.sha256(listing.encode()).hexdigest()[:12]}.npz"
    if path.is_file():
        with np.load(path) as data:
            flat, lengths = data["flat"], data["lengths"]
        return list(np.split(flat, np.cumsum(lengths)[:-1]))
    waves = [read_audio(u.audio_path) for u in utterances]
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, flat=np.concatenate(waves), lengths=np.array([len(w) for w in waves]))
    return waves


def labels_of(utterance: Utterance) -> list[int]:
    """Token ids of the transcript in the Hugging Face vocabulary (upper case, ``|`` between words)."""
    return VOCABULARY.text_to_ids(common.text_of(utterance).upper())


def equalised(audio: np.ndarray, gains_db: np.ndarray) -> np.ndarray:
    """``audio`` through a zero-phase equaliser: ``gains_db`` [len(EQ_POINTS_HZ)] at those frequencies, linear in dB
    over log frequency between them, flat beyond the first and last (a channel or vocal-tract colour): [N] float32.
    (The FFT runs on the audio zero-padded to a length with small prime factors: an utterance of a prime number of
    samples would take ten times as long.)"""
    size = scipy.fft.next_fast_len(len(audio), real=True)
    hz = np.fft.rfftfreq(size, 1 / SAMPLE_RATE_HZ)
    curve_db = np.interp(np.log(np.maximum(hz, 1.0)), np.log(EQ_POINTS_HZ), gains_db)
    spectrum = scipy.fft.rfft(audio, size) * 10 ** (curve_db / 20)
    return scipy.fft.irfft(spectrum, size)[: len(audio)].astype(np.float32)


def perturbed(audio: np.ndarray, speed: float, gains_db: np.ndarray | None = None) -> np.ndarray:
    """Speed perturbation (resampling from ``16 kHz * speed``), the equaliser if ``gains_db`` (:func:`equalised`),
    then Wav2Vec2's normalisation: [N'] float32."""
    if speed != 1.0:
        audio = soxr.resample(audio, SAMPLE_RATE_HZ * speed, SAMPLE_RATE_HZ).astype(np.float32)
    if gains_db is not None:
        audio = equalised(audio, gains_db)
    return wav2vec2_input(audio)[0]


def pad_waves(waves: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, N_max] zero-padded waveforms and the attention mask [B, N_max] int64 (1 = real sample)."""
    lengths = [len(w) for w in waves]
    batch = torch.zeros(len(waves), max(lengths))
    mask = torch.zeros(len(waves), max(lengths), dtype=torch.int64)
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(w)
        mask[i, : len(w)] = 1
    return batch, mask


# ------------------------------------------------------------------------------------------------------- model
def hf_config(config: Wav2Vec2TrainConfig) -> Any:
    """The transformers Wav2Vec2Config of the small model (group-normed conv encoder, pre-LN transformer)."""
    from transformers import Wav2Vec2Config

    return Wav2Vec2Config(
        vocab_size=len(HF_TOKENS), pad_token_id=0, bos_token_id=1, eos_token_id=2,
        conv_dim=config.conv_dim, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_bias=False, feat_extract_norm="group", do_stable_layer_norm=True,
        hidden_size=config.hidden, num_hidden_layers=config.layers, num_attention_heads=config.heads,
        intermediate_size=config.intermediate, num_conv_pos_embeddings=config.pos_conv_kernel,
        num_conv_pos_embedding_groups=config.pos_conv_groups,
        hidden_dropout=config.dropout, activation_dropout=0.0, attention_dropout=0.0, feat_proj_dropout=0.0,
        final_dropout=0.0, layerdrop=0.0, mask_time_prob=config.mask_time_prob,
        mask_time_length=config.mask_time_length, mask_feature_prob=0.0, ctc_loss_reduction="mean",
        ctc_zero_infinity=True,
    )


def new_model(config: Wav2Vec2TrainConfig) -> nn.Module:
    """A freshly initialised Wav2Vec2ForCTC (seeded by the caller)."""
    from transformers import Wav2Vec2ForCTC

    return Wav2Vec2ForCTC(hf_config(config))


# ---------------------------------------------------------------------------------------------------- training
class EpochPlan(NamedTuple):
    speeds: list[float]  # per utterance
    batches: list[list[int]]  # utterance indices, in training order
    eq_gains_db: np.ndarray | None  # [utterances, len(EQ_POINTS_HZ)], or None without the equaliser


def plan_epochs(lengths: Sequence[int], config: Any) -> list[EpochPlan]:
    """Per epoch: the speed of each utterance (drawn at random), length-bucketed batches in random order and, with
    ``config.eq_db``, each utterance's equaliser gains (from a generator of their own: the speeds and batches are
    those of a run without it)."""
    rng = np.random.default_rng(config.seed)
    eq_rng = np.random.default_rng((config.seed, 1))
    plan = []
    for _ in range(config.epochs):
        speeds = [config.speeds[c] for c in rng.integers(len(config.speeds), size=len(lengths))]
        scaled = [round(n / s) for n, s in zip(lengths, speeds)]
        batches = common.make_batches(scaled, round(config.batch_seconds * SAMPLE_RATE_HZ), rng)
        gains = (eq_rng.uniform(-config.eq_db, config.eq_db, (len(lengths), len(EQ_POINTS_HZ))) if config.eq_db
                 else None)
        plan.append(EpochPlan(speeds, batches, gains))
    return plan


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, waves: Sequence[np.ndarray],
                labels: Sequence[list[int]], plan: EpochPlan, step: int, total_steps: int,
                config: Any) -> tuple[int, float]:
    """One pass over the epoch's batches (CTC loss, mean over utterances); returns the step reached and mean loss."""
    model.train()
    losses = []
    for batch in plan.batches:
        x, mask = pad_waves([perturbed(waves[i], plan.speeds[i],
                                       None if plan.eq_gains_db is None else plan.eq_gains_db[i]) for i in batch])
        width = max(len(labels[i]) for i in batch)
        target = torch.full((len(batch), width), -100, dtype=torch.int64)  # -100: padding, ignored by the loss
        for row, i in enumerate(batch):
            target[row, : len(labels[i])] = torch.tensor(labels[i])
        loss = model(x, attention_mask=mask, labels=target).loss
        losses.append(common.optimizer_step(model, optimizer, loss, common.lr_at(step, total_steps, config),
                                            config.grad_clip))
        step += 1
    return step, float(np.mean(losses))


@torch.no_grad()
def torch_logits(model: nn.Module, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Logits [T, 32] float32 of each utterance, run alone and whole (as the IR runs), eval mode."""
    model.eval()
    return [model(torch.from_numpy(wav2vec2_input(w))).logits[0].numpy() for w in waves]


def greedy_texts(logits: Sequence[np.ndarray]) -> list[str]:
    """Best-path texts, lower case (references are lower case; WER/CER normalise case anyway)."""
    return [greedy_decode(item, VOCABULARY).lower() for item in logits]


def train(config: Any, splits: dict[str, list[Utterance]], waves: dict[str, list[np.ndarray]], work_dir: Path,
          make_model: Callable[[Any], nn.Module] | None = None, checkpoint: str = CHECKPOINT,
          training_json: str = TRAINING_JSON, control: common.RunControl = common.RunControl()
          ) -> tuple[nn.Module, float, int]:
    """Train from scratch (or resume, see ``RunControl``); keep the epoch with the lowest dev greedy CER. Returns
    (model, seconds, best epoch).

    ``make_model(config)`` builds any waveform CTC model called like Wav2Vec2ForCTC (``model(x, attention_mask=...,
    labels=...)`` with ``.loss`` and ``.logits``; default: :func:`new_model`), trained on this vocabulary."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)  # transformers draws its SpecAugment time masks from numpy's global generator
    model = (make_model or new_model)(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    labels = [labels_of(u) for u in splits["train"]]
    plan = plan_epochs([len(w) for w in waves["train"]], config)
    total_steps = sum(len(p.batches) for p in plan)
    dev_refs = [common.text_of(u) for u in splits["dev"]]

    def run_epoch(epoch: int) -> float:
        step = sum(len(earlier.batches) for earlier in plan[: epoch - 1])
        return train_epoch(model, optimizer, waves["train"], labels, plan[epoch - 1], step, total_steps, config)[1]

    seconds, best_epoch = common.keep_best_epoch(model, optimizer, config.epochs, run_epoch,
                                                 lambda: greedy_texts(torch_logits(model, waves["dev"])), dev_refs,
                                                 work_dir, checkpoint, training_json,
                                                 common.run_settings(config, splits), control)
    return model, seconds, best_epoch


def load_trained(config: Any, work_dir: Path, make_model: Callable[[Any], nn.Module] | None = None,
                 checkpoint: str = CHECKPOINT, training_json: str = TRAINING_JSON) -> tuple[nn.Module, float, int]:
    """The weights and figures a finished training (of :func:`train`, same arguments) left in ``work_dir``."""
    model = (make_model or new_model)(config)
    seconds, best_epoch = common.load_checkpoint(model, work_dir, checkpoint, training_json)
    return model, seconds, best_epoch


# ------------------------------------------------------------------------------------------------------ export
class _LogitsOnly(nn.Module):
    """Wav2Vec2ForCTC with one tensor in (``input_values`` [1, N]) and one out (``logits`` [1, T, V])."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return self.model(input_values).logits


def export_openvino(model: nn.Module) -> ov.Model:
    """``openvino.convert_model`` of the trained model: ``input_values`` [1, ?] f32 -> ``logits`` [1, ?, 32] f32."""
    model.eval()
    with torch.no_grad():
        ir = ov.convert_model(_LogitsOnly(model), example_input=torch.zeros(1, SAMPLE_RATE_HZ),
                              input=[ov.PartialShape([1, -1])])
    ir.inputs[0].get_tensor().set_names({"input_values"})
    ir.outputs[0].get_tensor().set_names({"logits"})
    ir.set_friendly_name("wav2vec2_small")
    return ir


def ir_logits(compiled: ov.CompiledModel, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Logits [T, 32] of each whole utterance from the IR."""
    request = compiled.create_infer_request()
    return [request.infer({"input_values": wav2vec2_input(w)})["logits"][0].copy() for w in waves]


def verify_export(compiled: ov.CompiledModel, model: nn.Module, waves: Sequence[np.ndarray],
                  tolerance: float = 1e-3) -> float:
    """Largest |IR - torch| over the logits of ``waves``; raises above ``tolerance``."""
    worst = max(float(np.abs(a - b).max()) for a, b in zip(ir_logits(compiled, waves), torch_logits(model, waves)))
    if worst > tolerance:
        raise RuntimeError(f"exported IR differs from the torch model by {worst:.2e} (> {tolerance:.0e})")
    return worst


def write_vocab_json(path: Path) -> None:
    """Hugging Face's ``vocab.json``: ``{token: id}``."""
    path.write_text(json.dumps({t: i for i, t in enumerate(HF_TOKENS)}, indent=2) + "\n", encoding="utf-8")


# -------------------------------------------------------------------------------------------------- evaluation
def evaluate_ir(compiled: ov.CompiledModel, splits: dict[str, list[Utterance]], waves: dict[str, list[np.ndarray]],
                subset: Sequence[Utterance], arpa: Path | None
                ) -> tuple[dict[str, common.Scores], tuple[float, float] | None]:
    """Greedy (and beam + LM, weights tuned on dev) scores of the IR on whole utterances of dev, test and the
    shipped subset (the test utterances it holds)."""
    logits = {name: ir_logits(compiled, waves[name]) for name in ("dev", "test")}
    refs = {name: [common.text_of(u) for u in splits[name]] for name in ("dev", "test")}
    results = {f"{name} greedy": common.score(refs[name], greedy_texts(logits[name])) for name in ("dev", "test")}
    index = {u.utterance_id: i for i, u in enumerate(splits["test"])}
    subset_logits = [logits["test"][index[u.utterance_id]] for u in subset]
    subset_refs = [common.text_of(u) for u in subset]
    results["shipped subset greedy"] = common.score(subset_refs, greedy_texts(subset_logits))
    if arpa is None:
        return results, None
    tune = common.TUNE_UTTERANCES
    alpha, beta, dev_lm = common.tune_lm_weights(arpa, logits["dev"][:tune], refs["dev"][:tune], VOCABULARY)
    decode = common.make_beam_decoder(arpa, alpha, beta, VOCABULARY)
    results[f"dev beam+LM (first {tune}, tuning)"] = dev_lm
    results["test beam+LM"] = common.score(refs["test"], decode(logits["test"]))
    results["shipped subset beam+LM"] = common.score(subset_refs, decode(subset_logits))
    return results, (alpha, beta)


def shipped_subset(subset_dir: Path, test: Sequence[Utterance]) -> list[Utterance]:
    """The test utterances the DeepSpeech run copied to ``subset_dir`` (this run does not write a second subset).

    Raises:
        RuntimeError: an utterance of the subset is not in the test split.
    """
    ids = {u.utterance_id for u in test}
    subset = common.read_split(subset_dir)
    strangers = [u.utterance_id for u in subset if u.utterance_id not in ids]
    if strangers:
        raise RuntimeError(f"{subset_dir}: utterances {strangers[:5]} are not in the test split")
    return subset


# ------------------------------------------------------------------------------------------------- model card
def _augmentation(c: Wav2Vec2TrainConfig) -> str:
    parts = []
    if c.speeds != (1.0,):
        parts.append(f"speed perturbation (each epoch hears every utterance at one of the speeds "
                     f"{', '.join(map(str, c.speeds))}, drawn at random)")
    if c.mask_time_prob:
        parts.append(f"SpecAugment-style time masks on the encoder features (transformers' `mask_time_prob` "
                     f"{c.mask_time_prob}, spans of {c.mask_time_length} frames)")
    if c.eq_db:
        parts.append(f"a random equaliser per utterance and epoch (gains drawn from +-{c.eq_db:g} dB at "
                     f"{', '.join(f'{hz:g}' for hz in EQ_POINTS_HZ)} Hz, linear in dB over log frequency between "
                     f"them; zero-phase, on the whole utterance)")
    return "; ".join(parts) or "none"


def model_card(report: common.TrainingReport) -> str:
    """MODEL_CARD.md text of the shipped Wav2Vec2ForCTC-architecture model."""
    c, w = report.config, common.wrap
    intro = w("""A small Hugging Face `Wav2Vec2ForCTC` (transformers `Wav2Vec2Config`, raw 16 kHz waveform in,
        character CTC out), trained from scratch by speechq on its own synthetic corpus
        (`data_scripts/make_synthetic_corpus.py`) without any pre-training or download, so that speechq's Wav2Vec2
        recipe, CLI and tests have a real trained transformer speech model. `config.json` is its transformers
        configuration and `vocab.json` its tokenizer vocabulary (facebook/wav2vec2-base-960h's 32 symbols, in
        its order); the IR was made with `openvino.convert_model`.""")
    architecture = w(f"""Feature encoder: 7 convolutions (kernels 10, 3, 3, 3, 3, 2, 2; strides 5, 2, 2, 2, 2, 2, 2:
        one frame per 20 ms = 320 samples) of {', '.join(map(str, c.conv_dim))} channels, GELU, group norm after the
        first (`feat_extract_norm="group"`), no conv bias; feature projection to {c.hidden}; convolutional positional
        embedding (kernel {c.pos_conv_kernel}, {c.pos_conv_groups} groups); {c.layers} pre-LN transformer layers
        (`do_stable_layer_norm=True`) of width {c.hidden}, {c.heads} heads, feed-forward {c.intermediate}; linear
        CTC head to 32 symbols. Parameters: {report.parameters:,}; `model.bin`: {report.bin_bytes:,} bytes
        (FP32).""")
    training = w(f"""CTC loss (blank `<pad>` = 0, mean over utterances), AdamW (weight decay {c.weight_decay}),
        learning rate {c.lr} (linear warm-up over {c.warmup_steps} steps, cosine decay to {c.final_lr_ratio} of it),
        {c.epochs} epochs of length-bucketed batches of at most {c.batch_seconds:g} s of audio (padding included,
        with an attention mask), gradient norm clipped at {c.grad_clip}, hidden dropout {c.dropout}.
        Augmentation: {_augmentation(c)}. Every utterance is normalised to zero mean and unit variance after
        perturbation. The weights of the epoch with the lowest dev greedy CER (epoch {report.best_epoch}) are kept.
        Seed {c.seed}, {c.threads} CPU threads; training took {report.train_seconds / 60:.1f} minutes on this
        project's 2-core CPU. The IR matches the PyTorch model within {report.export_max_abs_diff:.1e} (largest
        absolute difference of logits on 8 dev utterances).""")
    return f"""# wav2vec2_small

{intro}

## Interface (OpenVINO IR, FP32 weights)
| | name | shape | meaning |
|---|---|---|---|
| input | `input_values` | [1, N] f32, N dynamic | 16 kHz waveform normalised to zero mean and unit variance over the utterance (`speechq.features.Wav2Vec2Features`, as Hugging Face's `Wav2Vec2FeatureExtractor` with `do_normalize=True`) |
| output | `logits` | [1, T, 32] f32 | CTC logits (before softmax), one frame per 320 samples; symbols of `vocab.json`: 0 = `<pad>` (blank), 4 = `\\|` (word delimiter), capital letters and `'` |

Long audio: speechq's `WindowedEngine` runs it in overlapping windows (recipe `wav2vec2`).

## Architecture
{architecture}

{common.card_tail(report.data, training, "IR on whole utterances", report.results, report.lm, report.command)}"""


# -------------------------------------------------------------------------------------------------------- main
def _hours(waves: Sequence[np.ndarray]) -> float:
    return sum(len(w) for w in waves) / SAMPLE_RATE_HZ / 3600


def _lm_text(args: argparse.Namespace, arpa: Path, weights: tuple[float, float], shipped: str) -> str:
    return (f"Beam search: pyctcdecode, beam width {common.BEAM_WIDTH}, word {args.lm_order}-gram LM of the training "
            f"text (interpolated Kneser-Ney, `data_scripts/build_arpa_lm.py --text {args.lm_text} --order "
            f"{args.lm_order} --prune-below {args.lm_prune_below}`, {arpa.stat().st_size:,} bytes, lower case: "
            f"speechq's beam search gives pyctcdecode the vocabulary's capitals in the LM's case), alpha {weights[0]}, "
            f"beta {weights[1]} chosen on the first {common.TUNE_UTTERANCES} dev utterances. {shipped}")


def run(args: argparse.Namespace) -> None:
    """Train, export, verify, evaluate and ship the Wav2Vec2ForCTC-architecture model."""
    config, splits = common.start_run(Wav2Vec2TrainConfig, args.settings, args.work_dir, args.corpus)
    waves = {name: cached_audio(items, args.work_dir, name) for name, items in splits.items()}
    if args.reuse_training:
        model, seconds, best_epoch = load_trained(config, args.work_dir)
    else:
        model, seconds, best_epoch = train(config, splits, waves, args.work_dir, control=args.control)
    ir = export_openvino(model)
    compiled = common.compile_f32(ir)
    diff = verify_export(compiled, model, waves["dev"][:8])
    args.out.mkdir(parents=True, exist_ok=True)
    ov.save_model(ir, args.out / "model.xml", compress_to_fp16=False)
    model.save_pretrained(str(args.work_dir / "hf"))  # the Hugging Face folder (weights not shipped: size budget)
    shutil.copyfile(args.work_dir / "hf" / "config.json", args.out / "config.json")  # with "architectures"
    write_vocab_json(args.out / "vocab.json")
    write_vocab_json(args.work_dir / "hf" / "vocab.json")
    subset = shipped_subset(args.subset_out, splits["test"])
    arpa = common.build_lm(args.lm_text, args.lm_order, args.lm_prune_below, args.work_dir) if args.lm_text else None
    results, weights = evaluate_ir(compiled, splits, waves, subset, arpa)
    lm = "No language model was used."
    if arpa is not None and weights is not None:
        lm = _lm_text(args, arpa, weights, common.ship_language_model(arpa, weights, args.out))
    report = common.TrainingReport(
        config=config, parameters=sum(p.numel() for p in model.parameters()),
        bin_bytes=(args.out / "model.bin").stat().st_size,
        data={name: (len(splits[name]), _hours(waves[name])) for name in splits}, train_seconds=seconds,
        best_epoch=best_epoch, export_max_abs_diff=diff, results=results, lm=lm, command=args.command,
    )
    common.write_card(report, model_card(report), args.out, args.work_dir / "wav2vec2_small.json")
