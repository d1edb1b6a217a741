"""Does INT8 keep a CTC model the user brings? Token and word changes against the FP32 model on held-out speech,
for a conformer that computes its own log-mel spectrogram, quantized by plain NNCF and by speechq.

The model is ``data_scripts/train_small_models.py --model conformer`` (raw waveform in, ``torch.stft`` log-mel, 4x
subsampling, conformer blocks, CTC over facebook/wav2vec2-base-960h's symbols; trained on the synthetic corpus,
not shipped). Every quantization calibrates on the same unlabelled utterances (the first ``--calibration`` of the
corpus's dev split); every model is then scored on the held-out test split (voices half unseen in training):
character and word error against the FP32 model's own transcripts (what INT8 changed), and against the
transcripts.

Rows: FP32 with OpenVINO's default precision (bf16 on this CPU); ``nncf.quantize`` as a user would call it on the
converted model, with and without ``model_type=TRANSFORMER``, on the calibration waveforms as they are (NNCF 3.4
then fails on their different lengths) and cut to the shortest of them (what a user does next); speechq DefaultQuantization with the ``ctc`` recipe's
defaults (front end and depthwise convolutions kept FP32, NNCF's transformer model type); speechq AccuracyAwareQuantization scored by agreement with FP32 (no labels) with
``maximal_drop`` 0.02.

Usage::

    python data_scripts/train_small_models.py --model conformer --corpus /work/corpus --work-dir /work/train-conformer
    python bench/bench_any_ctc.py --calibration 300 --out bench/results/any_ctc     # writes any_ctc.md and .json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _peers
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # speechq from this checkout

from _peers import provenance  # noqa: E402
from _peers.common import link_first_audio  # noqa: E402
from speechq.data import read_audio  # noqa: E402
from speechq.features import wav2vec2_input  # noqa: E402
from speechq.model import load_model  # noqa: E402
from speechq.workflows import (agreement_loader, error_rates, evaluate_model, make_decoder, make_engine,  # noqa: E402
                               make_loader, quantize_and_compare)
from speechq.zoo import ctc_recipe  # noqa: E402

BENCH = Path(__file__).resolve().parent
MODEL = Path("/work/conformer_small/model.xml")
CORPUS = Path("/work/corpus")
MAX_DROP = 0.02


def _plain_nncf(model_path: Path, calibration: Path, out: Path, transformer: bool, crop: bool) -> Path:
    """``nncf.quantize`` as OpenVINO's notebooks call it: the converted model, a data set of model inputs."""
    import nncf
    import openvino as ov

    model = ov.Core().read_model(model_path)
    inputs = [wav2vec2_input(read_audio(path)) for path in sorted(calibration.iterdir())]
    if crop:  # NNCF 3.4 fails to aggregate statistics over inputs of different lengths ("cannot reshape")
        shortest = min(x.shape[1] for x in inputs)
        inputs = [x[:, :shortest] for x in inputs]
    options: dict[str, Any] = {"model_type": nncf.ModelType.TRANSFORMER} if transformer else {}
    quantized = nncf.quantize(model, nncf.Dataset(inputs), subset_size=len(inputs), **options)
    out.mkdir(parents=True, exist_ok=True)
    ov.save_model(quantized, out / "model.xml")
    shutil.copyfile(model_path.parent / "vocab.json", out / "vocab.json")
    return out / "model.xml"


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = args.work_dir
    spec = ctc_recipe(args.model, normalize_waveform=True)
    calibration = link_first_audio(args.corpus / "dev", args.calibration, work / "calibration")
    quantized: dict[str, tuple[Path, dict[str, Any]]] = {}
    failures: list[dict[str, str]] = []
    for label, transformer, crop in (
        ("nncf.quantize, defaults", False, False),
        ("nncf.quantize, model_type=TRANSFORMER", True, False),
        ("nncf.quantize, defaults, inputs cut to the shortest", False, True),
        ("nncf.quantize, model_type=TRANSFORMER, inputs cut to the shortest", True, True),
    ):
        start = time.perf_counter()
        try:
            path = _plain_nncf(args.model, calibration, work / f"nncf{'_transformer' * transformer}{'_cut' * crop}",
                               transformer, crop)
        except Exception as error:  # noqa: BLE001 - what a user of plain NNCF would meet is a result too
            failures.append({"label": label, "error": f"{type(error).__name__}: {error}"})
            continue
        quantized[label] = (path, {"seconds": time.perf_counter() - start})
    for label, algorithm, params in (
        ("speechq DefaultQuantization (ctc recipe defaults)", "DefaultQuantization", {}),
        (f"speechq AccuracyAwareQuantization, agreement, maximal_drop {MAX_DROP}", "AccuracyAwareQuantization",
         {"maximal_drop": MAX_DROP, "ranking_subset_size": 50}),
    ):
        start = time.perf_counter()
        result = quantize_and_compare(spec, args.model, calibration, work / algorithm, algorithm=algorithm,
                                      params={**params, "stat_subset_size": args.calibration}, overwrite=True,
                                      agreement=True, latency_repeats=3)
        aaq = result.accuracy_aware
        quantized[label] = (Path(result.saved[0]["model"]), {
            "seconds": time.perf_counter() - start, "fp32_layers_kept": list(result.fp32_layers_kept),
            "reverted_layers": None if aaq is None else list(aaq.reverted_layers),
            "reached": None if aaq is None else aaq.reached,
            "calibration_agreement": dict(result.int8.metrics)})

    test = args.corpus / "test"
    fp32 = load_model(args.model)
    models = {"FP32 (f32)": (fp32, "f32"), "FP32, OpenVINO default precision": (fp32, "default")}
    models.update({label: (load_model(path), "f32") for label, (path, _) in quantized.items()})
    decoder = make_decoder(spec, spec.vocabulary_for(args.model))
    rows = []
    labelled = make_loader(spec, test)
    fp32_texts = agreement_loader(make_engine(spec, None, decoder), fp32, make_loader(spec, test, labelled=False),
                                  spec.unit)  # the held-out audio with the FP32 model's transcripts as references
    for label, (model, precision) in models.items():
        config = {"inference_precision": precision}
        truth = evaluate_model(make_engine(spec, labelled, decoder, error_rates(spec.unit), config), model, label)
        versus = evaluate_model(make_engine(spec, fp32_texts, decoder, error_rates(spec.unit), config), model, label)
        rows.append({"label": label, "precision": precision, "wer": truth.metrics["wer"], "cer": truth.metrics["cer"],
                     "wer_vs_fp32": versus.metrics["wer"], "cer_vs_fp32": versus.metrics["cer"],
                     **quantized.get(label, (None, {}))[1]})
        print(f"{label}: CER vs FP32 {versus.metrics['cer']:.2%}, CER {truth.metrics['cer']:.2%}", file=sys.stderr)
    figures = json.loads((args.model.parent / "figures.json").read_text()) \
        if (args.model.parent / "figures.json").is_file() else {}
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "model": str(args.model),
            "model_figures": figures, "calibration": args.calibration, "test_utterances": len(labelled),
            "machine": provenance.cpu_name(), "source": provenance.source_state(), "versions": provenance.versions(),
            "rows": rows, "failures": failures}


def markdown(summary: dict[str, Any]) -> str:
    figures = summary["model_figures"]
    shape = (f"{figures['config']['layers']} conformer blocks of {figures['config']['d_model']}, "
             f"{figures['parameters']:,} parameters, the checkpoint of epoch {figures['best_epoch']} (best dev CER; "
             f"{figures['config']['epochs']} planned)") if figures else "see its card"
    lines = [
        "# INT8 on a CTC model users bring: a conformer with an in-graph log-mel front end", "",
        f"{summary['machine']}; {summary['date']}; speechq at {summary['source']}; "
        + ", ".join(f"{k} {v}" for k, v in summary["versions"].items()) + ".", "",
        f"Model: `{summary['model']}` ({shape}; `data_scripts/train_small_models.py --model conformer`). Calibration: "
        f"the first {summary['calibration']} utterances of the corpus's dev split, without transcripts. Scored on the "
        f"{summary['test_utterances']} held-out test utterances, greedy decoding.", "",
        "| model | CER vs FP32 | WER vs FP32 | CER | WER | layers kept FP32 | quantize s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        kept = row.get("fp32_layers_kept")
        reverted = row.get("reverted_layers")
        kept_text = "-" if kept is None else f"{len(kept)} by default (front end, depthwise)" + (
            "" if reverted is None else f" + {len(reverted)} reverted ({'reached' if row['reached'] else 'NOT reached'})")
        seconds = f"{row['seconds']:.0f}" if "seconds" in row else "-"
        lines.append(f"| {row['label']} | {row['cer_vs_fp32']:.2%} | {row['wer_vs_fp32']:.2%} | {row['cer']:.2%} | "
                     f"{row['wer']:.2%} | {kept_text} | {seconds} |")
    lines += [f"| {f['label']} | failed: {f['error'][:300]} | | | | | |" for f in summary["failures"]]
    lines += [""] + [f"- {row['label']}: on its calibration utterances it ended at WER {row['calibration_agreement']['wer']:.2%}"
                     f" and CER {row['calibration_agreement']['cer']:.2%} against FP32 (the drop it judges)."
                     for row in summary["rows"] if row.get("reverted_layers") is not None]
    lines += ["", "Reproduce: the two commands in `bench/bench_any_ctc.py`'s docstring, the second with "
              f"`--calibration {summary['calibration']}`.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--calibration", type=int, default=100, help="dev utterances to calibrate on (default 100)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/speechq-bench-any-ctc"))
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "any_ctc")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        raise SystemExit(f"{args.model}: no model; train it first (see this script's docstring)")
    summary = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
