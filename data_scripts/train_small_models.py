"""Train the small models that ship with speechq, from scratch on CPU, deterministic for a seed.

``--model deepspeech``: a Mozilla DeepSpeech 0.8.2-shaped network with a smaller hidden size, trained with CTC on
the train split of the offline synthetic corpus (LibriSpeech layout, ``data_scripts/make_synthetic_corpus.py``),
exported to OpenVINO IR with exactly the interface of Open Model Zoo's ``mozilla-deepspeech-0.8.2`` IR:

    inputs  ``input_node`` [1, 16, 19, 26] f32 (MFCC context windows), ``previous_state_c`` / ``previous_state_h``
            [1, H] f32;
    outputs ``logits`` [16, 1, 29] f32 (softmax probabilities, time-major: 0 = space, 1..26 = a..z,
            27 = apostrophe, 28 = CTC blank), and the new LSTM state: ``...BlockLSTM/TensorIterator.2`` (c) and
            ``...BlockLSTM/TensorIterator.1`` (h), [1, H] each.

The LSTM of the IR is an ``LSTMSequence`` (not a TensorIterator), so NNCF can quantize it (``_train_deepspeech.py``).
The script then builds a word 3-gram ARPA language model from the training text (``build_arpa_lm.py``), evaluates the
IR chunk by chunk with carried state on the dev and test splits (greedy, and beam search with the LM), writes the
model card and copies a fixed subset of the test split for demos and tests.

Usage (the command the shipped model card states)::

    python data_scripts/train_small_models.py --model deepspeech --corpus /work/corpus \\
        --work-dir /work/train-work --out speechq/zoo/deepspeech_small --subset-out speechq/zoo/data/synthetic-test

``--model wav2vec2``: a small Hugging Face Wav2Vec2ForCTC trained from scratch on the raw waveforms of the same
split, exported with ``openvino.convert_model`` (``_train_wav2vec2.py``; it evaluates on the subset the DeepSpeech
run wrote)::

    python data_scripts/train_small_models.py --model wav2vec2 --corpus /work/corpus \\
        --work-dir /work/train-w2v --out speechq/zoo/wav2vec2_small

``--model conformer``: a conformer CTC model that computes its log-mel spectrogram inside the graph
(``_train_conformer.py``, trained like the Wav2Vec2 model). It is not shipped: ``bench/bench_any_ctc.py`` measures
what INT8 does to such a model::

    python data_scripts/train_small_models.py --model conformer --corpus /work/corpus \\
        --work-dir /work/train-conformer --out /work/conformer_small --no-lm

This file is the command line; each model lives in its own module, and ``_training.py`` holds what they share (the
corpus, scores, batches, the learning-rate schedule, the training loop that keeps the best epoch and can resume, the
language model, the shipped test subset, model-card helpers).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _train_deepspeech  # noqa: E402  (sibling modules: one per model, and _training, what they share)
import _training  # noqa: E402
import make_synthetic_corpus  # noqa: E402

logger = logging.getLogger("train_small_models")


def parse_settings(items: Sequence[str], parser: argparse.ArgumentParser, config_type: type) -> dict[str, object]:
    """``NAME=VALUE`` overrides of a training config (a dataclass such as DeepSpeechConfig), converted to each field's
    type (tuples: comma-separated, of the type of their first default element)."""
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
        args.settings = parse_settings(args.set, parser, _train_deepspeech.DeepSpeechConfig)
    if args.out is None:
        args.out = Path("/work/conformer_small") if args.model == "conformer" else Path(f"speechq/zoo/{args.model}_small")
    if args.stop_after_epoch is not None and args.stop_after_epoch < 1:
        parser.error(f"--stop-after-epoch {args.stop_after_epoch}: must be at least 1")
    if args.reuse_training and (args.resume or args.stop_after_epoch is not None):
        parser.error("--reuse-training exports a finished run: it trains nothing to --resume or stop")
    args.control = _training.RunControl(args.resume, args.stop_after_epoch)
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
            _train_deepspeech.run(args)
        elif args.model == "wav2vec2":
            import _train_wav2vec2  # the Wav2Vec2ForCTC model (imports transformers: only when asked for)

            _train_wav2vec2.run(args)
        elif args.model == "conformer":
            import _train_conformer  # a conformer with an in-graph log-mel front end (not shipped)

            _train_conformer.run(args)
    except _training.StoppedEarly as stopped:
        logger.info("%s", stopped)
    return 0


if __name__ == "__main__":
    sys.exit(main())

