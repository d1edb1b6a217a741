"""Turning workflow results into text: a console/Markdown table and a JSON document."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from speechq.algorithms.sensitivity import Sensitivity
from speechq.benchmark import FP32_DEFAULT
from speechq.metrics import RateChange
from speechq.workflows import BenchmarkResult, Evaluation, QuantizeResult, rate_changes, summarise_latency

__all__ = ["benchmark_markdown", "evaluations_markdown", "quantize_markdown", "sensitivity_markdown", "to_json",
           "write_report"]


def _percent(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.2f}%"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.2f} MB"


_RATES = ("wer", "cer", "ter")  # column order of error rates


def _rate_names(evaluations: list[Evaluation]) -> list[str]:
    """The error rates the evaluations hold (WER and CER, or token error rate), in table order."""
    present = {name for e in evaluations for name in e.metrics}
    return [name for name in _RATES if name in present] or ["wer", "cer"]


def evaluations_markdown(evaluations: list[Evaluation]) -> str:
    """A table of error rates (WER and CER, or TER) and real-time factor, one row per model; with several models
    scored on the same utterances, each one's change against the first, with a paired-bootstrap interval."""
    lines = _evaluation_table(evaluations)
    first, names = (evaluations[0] if evaluations else None), _rate_names(evaluations)
    others = [e for e in evaluations[1:] if first is not None and _same_utterances(first, e)]
    if first is not None and first.error_counts and others:
        lines += ["", f"Against {first.label}, on the same utterances:"]
        for e in others:
            lines += _change_lines(e.label, rate_changes(first, e), names)
    if any(e.speakers for e in evaluations):
        lines += ["", *_speaker_table([e for e in evaluations if e.speakers], names)]
    return "\n".join(lines)


def _same_utterances(a: Evaluation, b: Evaluation) -> bool:
    """Whether two evaluations scored the same utterances (by id where both name them, else by count)."""
    if a.utterance_ids and b.utterance_ids:
        return a.utterance_ids == b.utterance_ids
    return a.utterances == b.utterances


def _speaker_table(evaluations: list[Evaluation], names: list[str]) -> list[str]:
    """Per speaker: who (when the corpus says), utterances, then each model's error rates (columns headed by the
    model's label)."""
    several = len(evaluations) > 1
    heads = [f"{n.upper()} {e.label}" if several else n.upper() for e in evaluations for n in names]
    labels = {s.speaker: s.label for e in evaluations for s in e.speakers if s.label}
    who = ["speaker", "who"] if labels else ["speaker"]
    rows = ["By speaker:", "", f"| {' | '.join(who)} | utterances | {' | '.join(heads)} |",
            "|" + "---|" * (len(who) + 1 + len(heads))]
    speakers = list(dict.fromkeys(s.speaker for e in evaluations for s in e.speakers))
    tables = [{s.speaker: s for s in e.speakers} for e in evaluations]
    for speaker in speakers:
        counts = {t[speaker].utterances for t in tables if speaker in t}
        rates = [_percent(t[speaker].metrics.get(n)) if speaker in t else "" for t in tables for n in names]
        named = [speaker, labels.get(speaker, "")] if labels else [speaker]
        rows.append(f"| {' | '.join(named)} | {'/'.join(map(str, sorted(counts)))} | {' | '.join(rates)} |")
    return rows


def _evaluation_table(evaluations: list[Evaluation]) -> list[str]:
    names = _rate_names(evaluations)
    rows = [f"| model | {' | '.join(n.upper() for n in names)} | utterances | audio (s) | real-time factor |",
            "|---|" + "---|" * len(names) + "---|---|---|"]
    for e in evaluations:
        rates = " | ".join(_percent(e.metrics.get(n)) for n in names)
        rows.append(f"| {e.label} | {rates} | {e.utterances} | {e.audio_seconds:.1f} | {e.real_time_factor:.4f} |")
    decodings = list(dict.fromkeys(e.decoding for e in evaluations if e.decoding))
    if decodings:
        rows += ["", f"Decoding: {'; '.join(decodings)}"]
    return rows


def _change_lines(label: str, changes: Mapping[str, RateChange], names: list[str]) -> list[str]:
    return [f"- {label}: {name.upper()} {changes[name].describe()}" for name in names if name in changes]


def quantize_markdown(result: QuantizeResult) -> str:
    """FP32 vs INT8: error rates, weight size, latency (median and p10-p90 spread) and speed-ups."""
    lines = [f"## {result.recipe}: {result.algorithm}", ""]
    if result.reference != "transcripts":
        lines += [f"Error rates against the {result.reference} (agreement: FP32 scores 0).", ""]
    lines += _evaluation_table([result.fp32, result.int8])
    names = _rate_names([result.fp32, result.int8])
    if result.changes:
        lines += ["", "INT8 - FP32, on the same utterances:", *_change_lines("INT8", result.changes, names), ""]
    else:
        delta = result.int8.metrics.get(names[0], math.nan) - result.fp32.metrics.get(names[0], math.nan)
        lines += ["", f"{names[0].upper()} change INT8 - FP32: {100 * delta:+.2f} percentage points", ""]
    lines += [
        "| weights | size |", "|---|---|",
        f"| FP32 | {_megabytes(result.fp32_weight_bytes)} |",
        f"| INT8 | {_megabytes(result.int8_weight_bytes)} ({result.fp32_weight_bytes / max(1, result.int8_weight_bytes):.1f}x smaller) |",
        "",
    ]
    lines += _latency_table(result.latencies, result.latency_unit)
    if result.front_end:
        lines += ["", "Kept in FP32 by default (INT8 breaks these; the parameter named after each, false, quantizes it):"]
        lines += [f"- {part.describe()} (`{part.switch}`)" for part in result.front_end]
    if result.accuracy_aware is not None:
        aaq = result.accuracy_aware
        status = "reached" if aaq.reached else "NOT reached"
        lines += ["", f"maximal_drop {aaq.maximal_drop} ({aaq.drop_type}) {status}: drop {aaq.drop:.5f}; "
                  f"layers kept in FP32: {', '.join(aaq.reverted_layers) or 'none'}"]
        if aaq.undone_layers:
            lines.append(f"reverts undone because they made the drop worse: {', '.join(aaq.undone_layers)}")
    if result.sensitivity is not None:
        reverted = result.accuracy_aware.reverted_layers if result.accuracy_aware is not None else ()
        lines += ["", *sensitivity_markdown(result.sensitivity, reverted)]
    if result.drift:
        lines += ["", f"INT8 against FP32 on {result.drift[0].items} inferences of calibration items:"]
    for d in result.drift:
        agreement = "" if d.agreement is None else f", most likely symbol unchanged at {100 * d.agreement:.1f}% of positions"
        flag = " **DRIFTED FAR: check accuracy**" if d.drifted else ""
        lines.append(f"- `{d.output}`: relative error {d.relative_error:.3f}{agreement}{flag}")
    lines += ["", "saved: " + ", ".join(s["model"] for s in result.saved)]
    return "\n".join(lines)


def sensitivity_markdown(sensitivity: Sensitivity, reverted: tuple[str, ...] = ()) -> list[str]:
    """Per-layer sensitivity as a table, the layers whose return to FP32 helps most first (with the metric of each
    layer alone in INT8 when it was measured)."""
    name = sensitivity.metric.upper()
    alone = any(entry.int8_alone is not None for entry in sensitivity.layers)
    extra_head, extra_rule = (f" {name} alone in INT8 | cost (points) |", "---|---|") if alone else ("", "")
    lines = [f"Per-layer sensitivity on {sensitivity.items} items: {name} with the layer alone in FP32"
             f"{' and with it alone in INT8' if alone else ''} (FP32 {_percent(sensitivity.fp32)}, every layer INT8 "
             f"{_percent(sensitivity.int8)}):", "",
             f"| layer | type | {name} alone in FP32 | gain (points) |{extra_head} reverted |",
             f"|---|---|---|---|{extra_rule}---|"]
    for entry in sensitivity.ranked():
        cost = sensitivity.cost(entry)
        extra = f" {_percent(entry.int8_alone)} | {100 * cost:+.2f} |" if alone and cost is not None else (
            " - | - |" if alone else "")
        lines.append(f"| {entry.layer} | {entry.type} | {_percent(entry.value)} | {100 * sensitivity.gain(entry):+.2f} "
                     f"|{extra} {'yes' if entry.layer in reverted else ''} |")
    return lines


def _latency_table(latencies: Any, unit: str) -> list[str]:
    lines = [f"| latency per {unit} | float layers in | median (ms) | p10-p90 (ms) | runs |", "|---|---|---|---|---|"]
    lines += [f"| {lat.label} | {lat.precision} | {lat.median_ms:.3f} | {lat.p10_ms:.3f}-{lat.p90_ms:.3f} | {lat.runs} |"
              for lat in latencies]
    lines.append("")
    if FP32_DEFAULT not in {lat.label for lat in latencies}:  # the plugin could not run it (compare_latencies)
        lines.append(f"- {FP32_DEFAULT}: not measured: the plugin could not run the model in the precision it picks "
                     "by default (its reason is in the warning above)")
    lines += [f"- {name}: {ratio:.2f}x" for name, ratio in summarise_latency(latencies).items()]
    return lines


def benchmark_markdown(result: BenchmarkResult) -> str:
    """Latency and throughput of FP32 (f32 and OpenVINO's default precision) against INT8, with ratios."""
    threads = "all cores" if result.threads is None else f"{result.threads} thread(s)"
    lines = [f"## {result.recipe}: {result.fp32_model} vs {result.int8_model}", "",
             f"{result.utterances} utterance(s), inference on {threads}; medians over repeated runs, ratios within "
             "this run.", ""]
    lines += _latency_table(result.latencies, result.latency_unit)
    lines += ["", "| end to end (decoding included) | streams | audio s per s (median) | pass p10-p90 (s) | runs |",
              "|---|---|---|---|---|"]
    for t in result.throughputs:
        lines.append(f"| {t.label} | {t.streams} | {t.audio_per_second:.1f} | {t.p10_s:.3f}-{t.p90_s:.3f} | {t.runs} |")
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(value: Any) -> str:
    """A result dataclass (or list of them) as indented JSON."""
    return json.dumps(_plain(value), indent=2, sort_keys=True)


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary name, then rename: a reader never sees half a file."""
    staging = path.with_name(f".{path.name}.partial")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


def _plots(value: Any, folder: Path) -> list[Path]:
    from speechq import plots

    written: list[Path] = []
    if isinstance(value, QuantizeResult):
        rates = {"FP32": value.fp32.metrics, "INT8": value.int8.metrics}
        written.append(plots.plot_error_rates(rates, folder / "error_rates.png", f"{value.recipe}: FP32 vs INT8"))
        lats = value.latencies
        written.append(plots.plot_latencies([lat.label for lat in lats], [lat.median_ms for lat in lats],
                                            [lat.p10_ms for lat in lats], [lat.p90_ms for lat in lats],
                                            value.latency_unit, folder / "latency.png"))
        sensitivity, aaq = value.sensitivity, value.accuracy_aware
        if sensitivity is not None and sensitivity.layers:
            written.append(plots.plot_sensitivity(
                {entry.layer: entry.value for entry in sensitivity.layers}, sensitivity.fp32, sensitivity.int8,
                sensitivity.metric, aaq.reverted_layers if aaq is not None else (), folder / "sensitivity.png",
                title=f"per-layer sensitivity on {sensitivity.items} items",
                int8_alone={entry.layer: entry.int8_alone for entry in sensitivity.layers if entry.int8_alone is not None}))
    elif isinstance(value, BenchmarkResult):
        lats = value.latencies
        written.append(plots.plot_latencies([lat.label for lat in lats], [lat.median_ms for lat in lats],
                                            [lat.p10_ms for lat in lats], [lat.p90_ms for lat in lats],
                                            value.latency_unit, folder / "latency.png"))
        t = value.throughputs
        written.append(plots.plot_throughputs([x.label for x in t], [x.streams for x in t],
                                              [x.audio_per_second for x in t], folder / "throughput.png"))
    elif isinstance(value, list) and all(isinstance(e, Evaluation) for e in value):
        written.append(plots.plot_error_rates({e.label: e.metrics for e in value}, folder / "error_rates.png"))
    return written


def write_report(value: QuantizeResult | BenchmarkResult | list[Evaluation], folder: str | Path) -> list[Path]:
    """Write ``report.json``, ``report.md`` and PNG plots of a result into ``folder`` (created if needed).

    Plots: error rates of each model, latency (median, p10-p90) and throughput, and for accuracy-aware
    quantization the per-layer sensitivity. Returns the files written.

    Raises:
        OutputError: the folder cannot be created or written.
    """
    from speechq.errors import OutputError

    target = Path(folder)
    if isinstance(value, QuantizeResult):
        markdown = quantize_markdown(value)
    elif isinstance(value, BenchmarkResult):
        markdown = benchmark_markdown(value)
    else:
        markdown = evaluations_markdown(list(value))
    try:
        target.mkdir(parents=True, exist_ok=True)
        _write_text(target / "report.json", to_json(value) + "\n")
        _write_text(target / "report.md", markdown + "\n")
        return [target / "report.json", target / "report.md", *_plots(value, target)]
    except OSError as error:
        raise OutputError(f"report folder {target}: cannot write the report ({error.strerror or error})") from error
