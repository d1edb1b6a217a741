"""What the trainers of ``train_small_models.py`` share: reading the corpus, scoring, batches, the learning-rate
schedule, the training loop that keeps the best epoch (and saves a state to resume from after every epoch), the
language model (built, tuned, shipped), the shipped test subset, and model-card helpers."""

from __future__ import annotations

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
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_arpa_lm  # noqa: E402  (sibling script)

from speechq.data import Utterance, find_utterances  # noqa: E402
from speechq.decoding import (  # noqa: E402
    LANGUAGE_MODEL_FOLDER,
    BeamSearchParams,
    Vocabulary,
    beam_decode_many,
    build_beam_decoder,
    write_language_model_folder,
)
from speechq.metrics import char_error_rate, word_error_rate  # noqa: E402

logger = logging.getLogger("train_small_models")


F32 = {"INFERENCE_PRECISION_HINT": "f32"}


@dataclass(frozen=True)
class Scores:
    """Corpus-level error rates (fractions, not percent)."""

    wer: float
    cer: float


_LETTERS = Vocabulary.deepspeech()
CORPUS_ALPHABET = _LETTERS.tokens[: _LETTERS.blank_index]  # space, a..z, apostrophe: what the corpus' transcripts hold


def read_split(root: Path) -> list[Utterance]:
    """Labelled utterances of a LibriSpeech-layout split, checked and sorted by id (speechq.data)."""
    return find_utterances(root, alphabet=CORPUS_ALPHABET)


def text_of(utterance: Utterance) -> str:
    """Lower-case transcript (LibriSpeech writes upper case)."""
    return (utterance.text or "").lower()


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
        partial = saved.with_name(saved.name + ".partial")
        torch.save(state, partial)
        partial.replace(saved)  # a run killed while saving keeps the last state
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


def score(refs: Sequence[str], hyps: Sequence[str]) -> Scores:
    """Corpus-level WER and CER (total edits / total reference words or characters; speechq.metrics)."""
    return Scores(wer=word_error_rate(refs, hyps).corpus_rate, cer=char_error_rate(refs, hyps).corpus_rate)


def compile_f32(model: ov.Model) -> ov.CompiledModel:
    """CPU, f32 inference precision (the CPU plugin would otherwise run bf16 where the CPU has it)."""
    return ov.Core().compile_model(model, "CPU", F32)


def make_beam_decoder(arpa: Path, alpha: float, beta: float, vocabulary: Vocabulary
                      ) -> Callable[[Sequence[np.ndarray]], list[str]]:
    """Beam search with the word LM (speechq.decoding: pyctcdecode + kenlm); probabilities or logits [T, V] of
    ``vocabulary``'s symbols -> texts."""
    search = build_beam_decoder(vocabulary, arpa, BeamSearchParams(beam_width=BEAM_WIDTH, alpha=alpha, beta=beta))

    def decode(probs: Sequence[np.ndarray]) -> list[str]:
        return beam_decode_many(search, list(probs), num_workers=BEAM_WORKERS)

    return decode


BEAM_WIDTH = 32
BEAM_WORKERS = 2
ALPHAS = (0.3, 0.6, 1.0)
BETAS = (0.5, 1.5, 3.0)


def tune_lm_weights(arpa: Path, probs: Sequence[np.ndarray], refs: Sequence[str], vocabulary: Vocabulary
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
class TrainingReport:
    """Figures a model card states (``config``: the model's training config dataclass)."""

    config: Any
    parameters: int
    bin_bytes: int
    data: dict[str, tuple[int, float]]  # split -> (utterances, hours)
    train_seconds: float
    best_epoch: int
    export_max_abs_diff: float
    results: dict[str, Scores]  # e.g. "dev greedy", "test greedy", "test beam+LM", "subset greedy"
    lm: str
    command: str


def start_run(config_type: type, settings: dict[str, object], work_dir: Path, corpus: Path
              ) -> tuple[Any, dict[str, list[Utterance]]]:
    """The start of every training run: ``config_type``'s defaults with ``settings`` (``--set``) applied, torch set
    to ``config.threads`` threads and deterministic algorithms, ``work_dir`` made, and the corpus' train, dev and
    test splits read. Returns (config, splits)."""
    config = dataclasses.replace(config_type(), **settings)
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    torch.utils.deterministic.fill_uninitialized_memory = False  # NaN-filling new tensors halves CPU speed
    work_dir.mkdir(parents=True, exist_ok=True)
    return config, {name: read_split(corpus / name) for name in ("train", "dev", "test")}


def write_card(report: TrainingReport, card: str, out: Path, figures: Path) -> None:
    """``out/MODEL_CARD.md`` (``card``), ``report`` as JSON in ``figures``, and each result logged."""
    (out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    figures.write_text(json.dumps(dataclasses.asdict(report), indent=2, default=str))
    for name, s in report.results.items():
        logger.info("%-40s WER %6.2f%%  CER %6.2f%%", name, 100 * s.wer, 100 * s.cer)


def pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=115, break_on_hyphens=False)


def card_tail(data: dict[str, tuple[int, float]], training: str, how_run: str, results: dict[str, Scores], lm: str,
              command: str, run_note: str = "") -> str:
    """The model card sections both shipped models share: training data, training, accuracy, reproduce."""
    data_rows = "\n".join(f"| {split} | {n} | {hours:.2f} |" for split, (n, hours) in data.items())
    result_rows = "\n".join(f"| {name} | {pct(s.wer)} | {pct(s.cer)} |" for name, s in results.items())
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

{wrap(lm)}

## Reproduce
```
{command}
```
Training is seeded and runs with `torch.use_deterministic_algorithms(True)`: `tests/zoo/test_trainers.py` checks
on a tiny corpus that a second run, in another process, writes the same checkpoint bytes; a second full run was
not compared{run_note}.
"""


def run_settings(config: Any, splits: dict[str, list[Utterance]]) -> str:
    """What a saved training state must match to be resumed: the training config and the data (utterance ids)."""
    ids = {name: hashlib.sha256(" ".join(u.utterance_id for u in items).encode()).hexdigest()[:12]
           for name, items in sorted(splits.items())}
    return json.dumps({"config": dataclasses.asdict(config), "utterances": ids}, sort_keys=True, default=str)


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

