"""Quantize a Wav2Vec2 CTC model to INT8 and compare its word error rate with FP32.

The model is an OpenVINO IR with Hugging Face's ``vocab.json`` beside it, or a local Hugging Face model folder
(``config.json``, weights, ``vocab.json``) that ``openvino.convert_model`` converts (this needs torch and
transformers: ``pip install 'speechq[torch]'``). Long utterances run in overlapping windows. Runs out of the box on
the shipped small model and utterances:

    python recipes/wav2vec2.py
    python recipes/wav2vec2.py -m wav2vec2-base-960h/ -d LibriSpeech/test-clean -o out
    python recipes/wav2vec2.py -a accuracy-aware --max-drop 0.005
    python recipes/wav2vec2.py --keep-encoder-fp32   # the first 3 convolutions stay FP32 (slower, the safest)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import openvino as ov

import speechq as sq
from speechq.model import check_companion_files, check_output, save_companion_files
from speechq.zoo import get_recipe

SHIPPED = get_recipe("wav2vec2")
ENCODER_CONVOLUTIONS_KEPT = 3  # --keep-encoder-fp32: the convolutions that see the most samples per second


def convert_hf_folder(folder: Path) -> ov.Model:
    """A Hugging Face Wav2Vec2ForCTC folder as an OpenVINO model: ``input_values`` [1, ?] -> ``logits`` [1, ?, V]."""
    try:
        import torch
        from transformers import Wav2Vec2ForCTC
    except ImportError as error:
        raise sq.ConfigError(f"{folder} is a Hugging Face model folder: converting it needs torch and transformers "
                             f"(pip install 'speechq[torch]'), or give an OpenVINO IR ({error})") from None
    hf_model = Wav2Vec2ForCTC.from_pretrained(folder).eval()
    with torch.no_grad():
        model = ov.convert_model(hf_model, example_input={"input_values": torch.zeros(1, 16000)},
                                 input=[("input_values", ov.PartialShape([1, -1]), ov.Type.f32)])
    model.inputs[0].get_tensor().set_names({"input_values"})  # the only names speechq's engine and spec look for
    model.outputs[0].get_tensor().set_names({"logits"})  # Wav2Vec2ForCTC's first output (no labels given)
    return model


def quantize(args: argparse.Namespace) -> dict[str, Any]:
    folder = args.model if args.model.is_dir() else args.model.parent
    vocabulary = sq.Vocabulary.from_file(folder / "vocab.json")  # ConfigError naming the file when it is missing
    if args.model.is_dir():
        model = sq.CompressedModel.from_ov(convert_hf_folder(args.model), args.model.name)
    else:
        model = sq.load_model(args.model)
    name = args.model.name if args.model.is_dir() else args.model.stem
    SHIPPED.check_model(model.model, str(args.model))  # inputs and vocabulary size, before any inference
    check_output(args.output, [name], args.overwrite)  # refuse now, not after minutes of work
    language_model = sq.find_language_model(args.model)  # the language_model/ folder beside the model, if any
    companions = [(folder / "vocab.json", "")]
    companions += [(p, "language_model") for p in (language_model.files if language_model else ())]
    check_companion_files(companions, args.output, args.overwrite)  # and a different vocab.json or LM there
    loader = sq.LibriSpeechDataLoader(args.data, features=sq.Wav2Vec2Features(), label_dir=args.label_dir,
                                      skip_bad=args.skip_bad)
    # logits are [batch, time, symbols]; beam search with --lm or the model's own language model, else greedy
    decoder = sq.decoder_for(vocabulary, "BTV", "greedy" if args.greedy else "auto", lm_path=args.lm,
                             model_path=args.model)
    # Whole utterances; longer than 20 s: windows with 2 s of context each side, whose centre frames are joined.
    wer = sq.WordErrorRate()
    engine = sq.WindowedEngine({"device": "CPU"}, loader, wer, postprocess=decoder)
    # The recipe's defaults: transformer model type, asymmetric activations (mixed), SmoothQuant on the feature
    # encoder's convolutions; the first convolution (on the raw waveform) stays FP32.
    params: dict[str, object] = {**SHIPPED.quantization_defaults, "stat_subset_size": args.subset_size}
    if args.preset is not None:
        params["preset"] = args.preset
    if args.keep_encoder_fp32:
        params["front_end_waveform_convolutions"] = ENCODER_CONVOLUTIONS_KEPT
    if args.algorithm == "accuracy-aware":
        params.update(maximal_drop=args.max_drop, drop_type="absolute")
    algorithm = {"default": "DefaultQuantization", "accuracy-aware": "AccuracyAwareQuantization"}[args.algorithm]
    pipeline = sq.create_pipeline([{"name": algorithm, "params": params}], engine)

    fp32_wer = pipeline.evaluate(model)["wer"]
    fp32_counts = wer.result  # every utterance's edits, for the paired bootstrap below
    int8 = pipeline.run(model)
    sq.compress_model_weights(int8)
    int8_wer = pipeline.evaluate(int8)["wer"]
    change = sq.rate_change(fp32_counts, wer.result)  # INT8 - FP32, 95% interval over the utterances
    sq.save_model(int8, args.output, model_name=name, overwrite=args.overwrite)
    save_companion_files(companions, args.output)  # speechq finds them beside the INT8 model

    print(f"FP32 WER {100 * fp32_wer:.2f}%  INT8 WER {100 * int8_wer:.2f}%  (INT8 - FP32: {change.describe()})")
    print(f"decoding: {decoder.description}")
    result = getattr(pipeline.algorithms[0], "result", None)  # accuracy-aware: what it reverted
    reverted = list(result.reverted_layers) if result is not None else []
    if result is not None:
        print(f"layers kept in FP32: {', '.join(reverted) or 'none'}")
    print(f"INT8 model: {args.output / name}.xml")
    return {"fp32_wer": fp32_wer, "int8_wer": int8_wer, "change": change, "reverted_layers": reverted}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--model", type=Path, default=SHIPPED.default_model,
                        help="Wav2Vec2 IR (.xml, vocab.json beside it) or Hugging Face model folder")
    parser.add_argument("-d", "--data", type=Path, default=SHIPPED.default_data,
                        help="LibriSpeech split, flat audio folder (with --label-dir) or manifest (.tsv/.jsonl)")
    parser.add_argument("--label-dir", type=Path, help="transcripts (.txt) beside a flat audio folder")
    parser.add_argument("--skip-bad", action="store_true", help="leave out bad utterances, with a warning each")
    parser.add_argument("-a", "--algorithm", choices=("default", "accuracy-aware"), default="default")
    parser.add_argument("--max-drop", type=float, default=0.01, help="accuracy-aware: largest WER increase (absolute)")
    parser.add_argument("--preset", choices=("performance", "mixed", "accuracy"),
                        help=f"default: {SHIPPED.quantization_defaults['preset']}")
    parser.add_argument("--subset-size", type=int, default=300, help="calibration utterances")
    parser.add_argument("--keep-encoder-fp32", action="store_true",
                        help=f"leave the first {ENCODER_CONVOLUTIONS_KEPT} feature-encoder convolutions in FP32")
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
        print(f"wav2vec2 recipe: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
