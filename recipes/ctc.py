"""Quantize any CTC speech model to INT8 and compare its error rate with FP32.

The model is an OpenVINO IR or an ONNX file (fp32 or fp16 weights) that reads a raw waveform (optionally with a
lengths input, which speechq fills) or log-mel features, and outputs logits, log-probabilities or probabilities over
a vocabulary (optionally with output lengths, which bound decoding). The vocabulary is a file: a JSON list, a
Hugging Face vocab.json, or one token per line. An in-graph spectrogram front end, the first convolution on a raw
waveform and depthwise convolutions stay FP32 (INT8 wrecks them); the rest runs INT8, quantized as the wav2vec2
recipe does (NNCF's transformer model type: the inputs of residual Adds, gates and norms stay float).

    python recipes/ctc.py -m model.onnx --vocab tokens.txt --blank 0 -d LibriSpeech/dev-clean
    python recipes/ctc.py -m conformer.xml --vocab phonemes.json --unit token -d audio/ --agreement
    python recipes/ctc.py -m model.onnx --vocab vocab.json -d dev-clean -a accuracy-aware --max-drop 0.01

With --agreement, -d is any folder of audio and INT8 is scored against FP32's own transcripts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import speechq as sq
from speechq.model import check_output
from speechq.workflows import agreement_loader, error_rates, make_decoder, make_engine, make_loader
from speechq.zoo import ctc_recipe


def quantize(args: argparse.Namespace) -> dict[str, Any]:
    # Reads the model's inputs and outputs and the vocabulary; refuses what does not fit before any inference.
    spec = ctc_recipe(args.model, args.vocab, blank=args.blank, unit=args.unit, normalize_waveform=args.normalize_waveform)
    model = sq.load_model(args.model)
    check_output(args.output, [args.model.stem], args.overwrite)  # refuse now, not after minutes of work
    # features as the model wants them
    loader = make_loader(spec, args.data, labelled=not args.agreement, skip_bad=args.skip_bad)
    decoder = make_decoder(spec, spec.vocabulary(None))  # greedy; bounded by the model's output lengths if any
    engine = make_engine(spec, loader, decoder, error_rates(spec.unit))  # fills a lengths input if the model has one
    if args.agreement:
        agreement_loader(engine, model, loader, spec.unit)  # references: FP32's own transcripts
    params: dict[str, object] = {**spec.quantization_defaults, "stat_subset_size": min(args.subset_size, len(loader))}
    if args.algorithm == "accuracy-aware":
        params.update(maximal_drop=args.max_drop)
    name = {"default": "DefaultQuantization", "accuracy-aware": "AccuracyAwareQuantization"}[args.algorithm]
    pipeline = sq.create_pipeline([{"name": name, "params": params}], engine)

    metric = "wer" if spec.unit == "word" else "ter"
    [rate] = [m for m in engine.metric.metrics if m.name == metric]  # its per-utterance edits: for the bootstrap
    fp32 = pipeline.evaluate(model)[metric]
    fp32_counts = rate.result
    int8_model = pipeline.run(model)
    sq.compress_model_weights(int8_model)
    int8 = pipeline.evaluate(int8_model)[metric]
    change = sq.rate_change(fp32_counts, rate.result)  # INT8 - FP32, 95% interval over the utterances
    sq.save_model(int8_model, args.output, model_name=args.model.stem, overwrite=args.overwrite)

    print(f"FP32 {metric.upper()} {100 * fp32:.2f}%  INT8 {metric.upper()} {100 * int8:.2f}%  "
          f"(INT8 - FP32: {change.describe()})")
    for part in getattr(pipeline.algorithms[0], "front_end", []):
        print(f"kept in FP32 by default: {part.describe()}")
    result = getattr(pipeline.algorithms[0], "result", None)
    if result is not None:
        print(f"layers put back in FP32: {', '.join(result.reverted_layers) or 'none'}")
    print(f"INT8 model: {Path(args.output) / args.model.stem}.xml")
    return {"fp32": fp32, "int8": int8, "change": change}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--model", type=Path, required=True, help="CTC model: .xml or .onnx")
    parser.add_argument("--vocab", type=Path, help="vocabulary file (default: vocab.json beside the model)")
    parser.add_argument("--blank", type=lambda v: int(v) if v.lstrip("-").isdigit() else v,
                        help="the blank's index or token (default: <pad>/<blank>, else one past the last token)")
    parser.add_argument("--unit", choices=("word", "token"), help="error rates over words or tokens (phonemes)")
    parser.add_argument("--normalize-waveform", action="store_true", help="zero mean, unit variance (Wav2Vec2-style)")
    parser.add_argument("-d", "--data", type=Path, required=True,
                        help="LibriSpeech split, manifest (.tsv/.jsonl), or with --agreement any folder of audio")
    parser.add_argument("--skip-bad", action="store_true", help="leave out bad utterances, with a warning each")
    parser.add_argument("--agreement", action="store_true", help="score against FP32's transcripts (no labels needed)")
    parser.add_argument("-a", "--algorithm", choices=("default", "accuracy-aware"), default="default")
    parser.add_argument("--max-drop", type=float, default=0.01, help="accuracy-aware: largest error-rate increase")
    parser.add_argument("--subset-size", type=int, default=300, help="calibration utterances")
    parser.add_argument("-o", "--output", type=Path, default=Path("speechq-out"))
    parser.add_argument("--overwrite", action="store_true", help="replace an INT8 model already in --output")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        quantize(args)
    except sq.SpeechqError as error:
        print(f"ctc recipe: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
