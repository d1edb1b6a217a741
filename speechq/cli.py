"""The ``speechq`` command: parse arguments, call the library, print. No logic the library lacks."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from speechq.errors import SpeechqError

if TYPE_CHECKING:
    from speechq.api.data_loader import DataLoader
    from speechq.zoo.specs import RecipeSpec

__all__ = ["main"]

_ALGORITHMS = {"default": "DefaultQuantization", "DefaultQuantization": "DefaultQuantization",
               "accuracy-aware": "AccuracyAwareQuantization", "AccuracyAwareQuantization": "AccuracyAwareQuantization"}


def _add_ctc(parser: argparse.ArgumentParser) -> None:
    ctc = parser.add_argument_group("--recipe ctc (any CTC model: .xml or .onnx, waveform or log-mel features input)")
    ctc.add_argument("--vocab", type=Path, help="vocabulary: JSON list, Hugging Face vocab.json or one token per line "
                     "(default: vocab.json beside the model)")
    ctc.add_argument("--blank", help="the blank's index or token (default: <pad>/<blank>, else one past the last token)")
    ctc.add_argument("--word-delimiter", help="the word-boundary token, or 'none' (default: '|' or space if present)")
    ctc.add_argument("--unit", choices=("word", "token"), help="error rates over words (WER, CER) or tokens (TER); "
                     "default: words when there is a word delimiter")
    ctc.add_argument("--layout", choices=("BTV", "TBV"), help="axes of the CTC output (default: from its shape)")
    ctc.add_argument("--normalize-waveform", action="store_true",
                     help="zero mean, unit variance per utterance (Hugging Face Wav2Vec2-style models)")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipe", default="deepspeech", help="deepspeech, wav2vec2, or ctc (any CTC model; default: deepspeech)")
    _add_ctc(parser)
    parser.add_argument("-d", "--data", type=Path, help="LibriSpeech split, flat audio folder, or manifest (.tsv/.jsonl); default: the shipped test set")
    parser.add_argument("--label-dir", type=Path, help="transcripts (.txt) beside a flat audio folder")
    parser.add_argument("--skip-bad", action="store_true", help="leave out unreadable audio and bad transcripts, with "
                        "a warning naming each and a count (default: stop and list them)")
    parser.add_argument("--decoder", choices=("auto", "greedy", "beam"), default="auto",
                        help="auto (default): beam search with the model's language model (--lm, or the "
                        "language_model/ folder beside the model) when it has one, else greedy")
    parser.add_argument("--lm", type=Path, help="KenLM model (ARPA or binary) for beam search")
    parser.add_argument("--device", default="CPU")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step")


def _add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="also write report.json, report.md and PNG plots into DIR")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speechq", description="INT8 quantization of speech models, judged by WER")
    sub = parser.add_subparsers(dest="command", required=True)

    q = sub.add_parser("quantize", help="quantize a model and compare FP32 vs INT8 (WER, size, speed)")
    _add_common(q)
    q.add_argument("-c", "--config", type=Path, help="POT-style JSON config (model, engine.data_source, compression.algorithms)")
    q.add_argument("-m", "--model", type=Path, help="model .xml/.onnx; default: the shipped model of the recipe")
    q.add_argument("-a", "--algorithm", choices=sorted(_ALGORITHMS), default="default")
    q.add_argument("--preset", choices=("performance", "mixed", "accuracy"))
    q.add_argument("--subset-size", type=int, help="stat_subset_size: calibration utterances (default 300)")
    q.add_argument("--max-drop", type=float, help="maximal_drop for accuracy-aware quantization (absolute WER)")
    q.add_argument("-o", "--output", type=Path, default=Path("speechq-out"), help="output folder (default speechq-out)")
    q.add_argument("--name", help="output model name (default: the input model's file name)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing output model")
    q.add_argument("--no-progress", action="store_true")
    q.add_argument("--agreement", action="store_true",
                   help="score INT8 against the FP32 model's own transcripts: -d is then any folder of audio")
    q.add_argument("--sensitivity", type=int, metavar="N",
                   help="measure each layer's sensitivity on N utterances (one evaluation per layer; the report "
                        "shows a table and a plot; accuracy-aware quantization reports its own ranking)")
    q.add_argument("--sensitivity-int8-alone", action="store_true",
                   help="with --sensitivity: also measure each layer alone in INT8, every other layer FP32 (which "
                        "layers are safe to quantize by themselves; a second evaluation per layer)")
    q.add_argument("--quantize-front-end", action="store_true",
                   help="quantize an in-graph spectrogram front end and the first convolutions on a raw waveform too "
                        "(kept FP32 by default: INT8 breaks them)")
    q.add_argument("--quantize-depthwise", action="store_true",
                   help="quantize depthwise convolutions too (kept FP32 by default: each output sums too few "
                        "products for 8-bit rounding noise to average out)")
    _add_report(q)

    e = sub.add_parser("eval", help="WER, CER and real-time factor of one or more models")
    _add_common(e)
    _add_report(e)
    e.add_argument("--agreement", action="store_true",
                   help="score every model against the first one's transcripts: -d is then any folder of audio")
    e.add_argument("--by-speaker", action="store_true",
                   help="also each speaker's WER and CER (LibriSpeech speaker ids, or audio in one folder per speaker), "
                   "with who they are where the corpus has a SPEAKERS.TXT or speakers.tsv")
    e.add_argument("models", nargs="*", type=Path, help="model files; default: the shipped model of the recipe")

    t = sub.add_parser("transcribe", help="audio files or a data set to text")
    _add_common(t)
    t.add_argument("-m", "--model", type=Path)
    t.add_argument("audio", nargs="*", type=Path, help="audio files or folders (instead of -d)")

    b = sub.add_parser("benchmark", help="FP32 vs INT8 latency and throughput of a model pair")
    _add_common(b)
    b.add_argument("fp32", type=Path, help="FP32 model .xml/.onnx")
    b.add_argument("int8", type=Path, help="INT8 model .xml (e.g. what 'speechq quantize' wrote)")
    b.add_argument("--utterances", type=int, default=8, help="how many utterances of the data set (default 8)")
    b.add_argument("--streams", type=int, help="utterances in flight for the all-cores figure (default: CPU cores)")
    b.add_argument("--threads", type=int, help="CPU threads for inference (default: all)")
    b.add_argument("--repeats", type=int, default=50, help="timed inferences per latency figure (default 50)")
    _add_report(b)
    b.add_argument("--runs", type=int, default=5, help="timed passes per throughput figure (default 5)")

    i = sub.add_parser("info", help="inputs, outputs, state pairs and runtime precision of each layer")
    i.add_argument("model", type=Path)
    i.add_argument("--json", action="store_true")
    i.add_argument("--recipe", choices=("ctc",), help="also show how the ctc recipe reads the model")
    _add_ctc(i)
    return parser


def _check_report(args: argparse.Namespace) -> None:
    """Refuse an unwritable --report folder before any long work."""
    if getattr(args, "report", None) is not None:
        from speechq.model import check_output

        check_output(args.report, [], overwrite=True)


def _print(result: object, markdown: str, args: argparse.Namespace) -> None:
    """Print a result as Markdown or JSON; with --report, also write the report files."""
    from speechq.report import to_json, write_report

    if args.report is not None:
        write_report(result, args.report)  # type: ignore[arg-type]
    print(to_json(result) if args.json else markdown)


def _recipe(args: argparse.Namespace, model: Path | None) -> RecipeSpec:
    """The recipe named by --recipe; for ``ctc``, built for ``model`` from the --vocab ... options."""
    from speechq.zoo import ctc_recipe, get_recipe

    if args.recipe != "ctc":
        return get_recipe(args.recipe)
    if model is None:
        raise SpeechqError("the ctc recipe ships no model: give the model (-m/--model, or the model files)")
    blank = args.blank
    if blank is not None and blank.lstrip("-").isdigit():
        blank = int(blank)
    delimiter = args.word_delimiter
    return ctc_recipe(model, args.vocab, blank=blank, unit=args.unit, layout=args.layout,
                      normalize_waveform=args.normalize_waveform,
                      **({} if delimiter is None else {"word_delimiter": None if delimiter == "none" else delimiter}))


def _spec_paths(args: argparse.Namespace) -> tuple[RecipeSpec, Path, Path]:
    given = getattr(args, "model", None) or (args.models[0] if getattr(args, "models", None) else None)
    spec = _recipe(args, given)
    model = given or spec.default_model
    data = args.data or spec.default_data
    if model is None or data is None:
        raise SpeechqError(f"the {spec.name} recipe ships no default model or data: give --model and --data")
    return spec, Path(model), Path(data)


def _quantize(args: argparse.Namespace) -> int:
    from speechq.report import quantize_markdown
    from speechq.workflows import quantize_and_compare, read_pot_config
    from speechq.zoo import get_recipe

    params = {k: v for k, v in (("preset", args.preset), ("stat_subset_size", args.subset_size),
                                ("maximal_drop", args.max_drop),
                                ("keep_front_end_fp32", False if args.quantize_front_end else None),
                                ("keep_depthwise_fp32", False if args.quantize_depthwise else None),
                                ("sensitivity_subset_size", args.sensitivity),
                                ("sensitivity_int8_alone", True if args.sensitivity_int8_alone else None)) if v is not None}
    if args.config is not None:
        job = read_pot_config(args.config)
        recipe = job.pop("recipe")
        spec = _recipe(args, job["model_path"]) if recipe == "ctc" else get_recipe(recipe)
        job["params"] = {**job["params"], **params}
    else:
        spec, model, data = _spec_paths(args)
        job = {"model_path": model, "data": data, "label_dir": args.label_dir, "model_name": args.name,
               "algorithm": _ALGORITHMS[args.algorithm], "params": params, "engine_config": {"device": args.device},
               "agreement": args.agreement}
    job["skip_bad"] = args.skip_bad
    if "maximal_drop" in job["params"] and job["algorithm"] != "AccuracyAwareQuantization":
        raise SpeechqError("maximal_drop (--max-drop) needs the AccuracyAwareQuantization algorithm (-a accuracy-aware)")
    result = quantize_and_compare(
        spec, output_dir=args.output, overwrite=args.overwrite, decoder=args.decoder, lm_path=args.lm,
        print_progress=not args.no_progress, **job,
    )
    _print(result, quantize_markdown(result), args)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from speechq.data import speaker_labels
    from speechq.model import load_model
    from speechq.report import evaluations_markdown
    from speechq.workflows import (agreement_loader, by_speaker, error_rates, evaluate_model, make_decoder, make_engine,
                                   make_loader, speaker_groups)

    spec, default_model, data = _spec_paths(args)
    paths = args.models or [default_model]
    models = [load_model(path) for path in paths]
    for path, model in zip(paths, models):
        spec.check_model(model.model, str(path))
    loader = make_loader(spec, data, args.label_dir, labelled=not args.agreement, skip_bad=args.skip_bad)
    labels: dict[str, str] = {}
    if args.by_speaker:  # before any inference
        speaker_groups([loader[index][1].utterance_id for index in range(len(loader))])
        labels = speaker_labels(data)
    engine = make_engine(spec, loader, make_decoder(spec, spec.vocabulary_for(paths[0]), args.decoder, args.lm,
                                                      model_path=paths[0]),
                         error_rates(spec.unit), {"device": args.device})
    if args.agreement:
        agreement_loader(engine, models[0], loader, spec.unit)
    results = [evaluate_model(engine, model, str(path)) for path, model in zip(paths, models)]
    if args.by_speaker:
        results = [by_speaker(result, labels) for result in results]
    _print(results, evaluations_markdown(results), args)
    return 0


def _transcribe(args: argparse.Namespace) -> int:
    from speechq.model import load_model
    from speechq.workflows import ChainLoader, has_transcripts, make_decoder, make_engine, make_loader, transcribe

    spec, model_path, data = _spec_paths(args)
    model = load_model(model_path)
    spec.check_model(model.model, str(model_path))
    loader: DataLoader
    if args.audio:
        if args.data is not None:
            raise SpeechqError("give audio files or -d/--data, not both")
        loader = ChainLoader([make_loader(spec, path, labelled=False, skip_bad=args.skip_bad) for path in args.audio])
    else:
        loader = make_loader(spec, data, args.label_dir, labelled=has_transcripts(data, args.label_dir),
                             skip_bad=args.skip_bad)
    engine = make_engine(spec, loader, make_decoder(spec, spec.vocabulary_for(model_path), args.decoder, args.lm,
                                                  model_path=model_path), None, {"device": args.device})
    texts = transcribe(engine, model, loader)
    if args.json:
        import json

        print(json.dumps([{"utterance_id": u, "text": t} for u, t in texts], indent=2))
    else:
        for utterance_id, text in texts:
            print(f"{utterance_id}\t{text}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from speechq.report import benchmark_markdown
    from speechq.workflows import benchmark_models

    spec = _recipe(args, args.fp32)
    data = args.data or spec.default_data
    if data is None:
        raise SpeechqError(f"the {spec.name} recipe ships no default data: give --data")
    result = benchmark_models(spec, args.fp32, args.int8, data, label_dir=args.label_dir, skip_bad=args.skip_bad,
                              utterances=args.utterances,
                              streams=args.streams, threads=args.threads, latency_repeats=args.repeats,
                              throughput_runs=args.runs, device=args.device)
    _print(result, benchmark_markdown(result), args)
    return 0


def _info(args: argparse.Namespace) -> int:
    from speechq.info import model_info
    from speechq.report import to_json

    info = model_info(args.model, _recipe(args, args.model) if args.recipe == "ctc" else None)
    print(to_json(info) if args.json else info.markdown())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``speechq`` console command; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    handlers = {"quantize": _quantize, "eval": _eval, "transcribe": _transcribe, "benchmark": _benchmark, "info": _info}
    handler = handlers[args.command]
    previous = signal.getsignal(signal.SIGTERM)
    installed = _interrupt_on_sigterm()
    try:
        _check_report(args)
        return handler(args)
    except SpeechqError as error:
        print(f"speechq {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"speechq {args.command}: interrupted; no partial model was written", file=sys.stderr)
        return 130
    finally:
        if installed and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _interrupt_on_sigterm() -> bool:
    """Make SIGTERM interrupt like Ctrl-C (exit 130, temporary files removed); False outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return True


if __name__ == "__main__":
    sys.exit(main())
