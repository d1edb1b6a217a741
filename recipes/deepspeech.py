"""Quantize a DeepSpeech model to INT8 and compare its word error rate with FP32: POT's DeepSpeech example in speechq.

With POT this took a hand-written engine (state fed from chunk to chunk), an MFCC loader, a CTC decoder and a WER
metric. In speechq each is one line. Runs out of the box on the shipped small model and utterances:

    python recipes/deepspeech.py
    python recipes/deepspeech.py -m mozilla-deepspeech-0.8.2.xml -d LibriSpeech/dev-clean -o out
    python recipes/deepspeech.py -d dev-clean/wav --label-dir dev-clean/annotation -a accuracy-aware --max-drop 0.005

Open Model Zoo's mozilla-deepspeech-0.8.2 IR has the same inputs (``input_node`` [1, 16, 19, 26],
``previous_state_c`` / ``previous_state_h``), outputs and alphabet, so it runs unchanged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import speechq as sq
from speechq.model import check_companion_files, check_output, save_companion_files
from speechq.zoo import get_recipe

SHIPPED = get_recipe("deepspeech")


def quantize(args: argparse.Namespace) -> dict[str, Any]:
    model = sq.load_model(args.model)
    check_output(args.output, [Path(args.model).stem], args.overwrite)  # refuse now, not after minutes of work
    language_model = sq.find_language_model(args.model)  # the language_model/ folder beside the model, if any
    companions = [(p, "language_model") for p in (language_model.files if language_model else ())]
    check_companion_files(companions, args.output, args.overwrite)
    loader = sq.LibriSpeechDataLoader(args.data, features=sq.DeepSpeechFeatures(), label_dir=args.label_dir,
                                      skip_bad=args.skip_bad)
    vocabulary = sq.Vocabulary.deepspeech()
    # logits are [time, batch, symbols]; beam search with --lm or the model's own language model, else greedy
    decoder = sq.decoder_for(vocabulary, "TBV", "greedy" if args.greedy else "auto", lm_path=args.lm,
                             model_path=args.model)
    # Chunks of 16 steps, LSTM state carried from chunk to chunk (state pairs found in the graph), zero per utterance.
    wer = sq.WordErrorRate()
    engine = sq.StreamingEngine({"device": "CPU"}, loader, wer, postprocess=decoder)
    params: dict[str, object] = {"preset": args.preset, "stat_subset_size": args.subset_size}
    if args.algorithm == "accuracy-aware":
        params.update(maximal_drop=args.max_drop, drop_type="absolute")
    name = {"default": "DefaultQuantization", "accuracy-aware": "AccuracyAwareQuantization"}[args.algorithm]
    pipeline = sq.create_pipeline([{"name": name, "params": params}], engine)

    fp32_wer = pipeline.evaluate(model)["wer"]
    fp32_counts = wer.result  # every utterance's edits, for the paired bootstrap below
    int8 = pipeline.run(model)
    sq.compress_model_weights(int8)
    int8_wer = pipeline.evaluate(int8)["wer"]
    change = sq.rate_change(fp32_counts, wer.result)  # INT8 - FP32, 95% interval over the utterances
    sq.save_model(int8, args.output, model_name=Path(args.model).stem, overwrite=args.overwrite)
    save_companion_files(companions, args.output)  # speechq decodes the INT8 model with it too

    print(f"FP32 WER {100 * fp32_wer:.2f}%  INT8 WER {100 * int8_wer:.2f}%  (INT8 - FP32: {change.describe()})")
    print(f"decoding: {decoder.description}")
    result = getattr(pipeline.algorithms[0], "result", None)
    if result is not None:
        print(f"layers kept in FP32: {', '.join(result.reverted_layers) or 'none'}")
    print(f"INT8 model: {Path(args.output) / Path(args.model).stem}.xml")
    return {"fp32_wer": fp32_wer, "int8_wer": int8_wer, "change": change}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--model", type=Path, default=SHIPPED.default_model, help="DeepSpeech IR (.xml) or ONNX")
    parser.add_argument("-d", "--data", type=Path, default=SHIPPED.default_data,
                        help="LibriSpeech split, flat audio folder (with --label-dir) or manifest (.tsv/.jsonl)")
    parser.add_argument("--label-dir", type=Path, help="transcripts (.txt) beside a flat audio folder")
    parser.add_argument("--skip-bad", action="store_true", help="leave out bad utterances, with a warning each")
    parser.add_argument("-a", "--algorithm", choices=("default", "accuracy-aware"), default="default")
    parser.add_argument("--max-drop", type=float, default=0.01, help="accuracy-aware: largest WER increase (absolute)")
    parser.add_argument("--preset", choices=("performance", "mixed", "accuracy"), default="performance")
    parser.add_argument("--subset-size", type=int, default=300, help="calibration utterances")
    parser.add_argument("--lm", type=Path, help="KenLM model (ARPA or binary) for beam search (default: the "
                        "model's language_model/ folder if it has one, else greedy decoding)")
    parser.add_argument("--greedy", action="store_true",
                        help="greedy decoding even when the model has a language model")
    parser.add_argument("-o", "--output", type=Path, default=Path("speechq-out"))
    parser.add_argument("--overwrite", action="store_true", help="replace an INT8 model already in --output")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        quantize(args)
    except sq.SpeechqError as error:
        print(f"deepspeech recipe: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
