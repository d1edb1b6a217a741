"""The peer benchmark's results as JSON, a Markdown table and a PNG plot.

``summarise`` turns the raw measurements into rows (ratios to the FP32 baselines computed here, from medians of the
same run); ``write_report`` writes ``OUT.json``, ``OUT.md`` and ``OUT.png``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from _peers.architectures import ARCHITECTURES
from _peers.common import write_json
from _peers.contenders import BY_KEY
from _peers.runners import summarise_speed


def _architecture(meta: dict[str, Any]) -> str:
    return str(meta.get("architecture", "deepspeech"))  # JSON of runs before Wav2Vec2 was added: DeepSpeech


def _unit(meta: dict[str, Any]) -> str:
    """What one latency figure covers: "16-step chunk", or "utterance (5 s of audio)"."""
    unit = meta.get("latency_unit", "16-step chunk")
    return f"{unit} ({meta['speed_seconds']:g} s of audio)" if meta.get("speed_seconds") else unit


def _inferences(meta: dict[str, Any]) -> str:
    """What the model's inferences on calibration data are called: chunks (DeepSpeech) or inferences."""
    return "chunks" if _architecture(meta) == "deepspeech" else "inferences"


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """The JSON written to disk: meta, contenders (status, reason, options), accuracy, speed, quantization."""
    artifacts = results["artifacts"]
    by_key = BY_KEY[_architecture(results["meta"])]
    accuracy = []
    baseline_wer = results["accuracy_raw"].get("openvino_fp32", {}).get("wer")
    for key, rates in results["accuracy_raw"].items():
        row = {"key": key, "label": by_key[key].label if key in by_key else key, **rates,
               "size_bytes": artifacts["trained"].get(key, {}).get("bytes")}
        row["wer_vs_fp32_points"] = None if baseline_wer is None else 100 * (rates["wer"] - baseline_wer)
        accuracy.append(row)
    speed = {model_key: speed_rows(raw, _architecture(results["meta"]), derived=model_key != "trained")
             for model_key, raw in results["speed_raw"].items()}
    meta = dict(results["meta"])
    for model_key in speed:  # JSON of earlier runs: DeepSpeech titles
        hidden = meta["models"][model_key]["hidden"]
        meta["models"][model_key].setdefault("title", (
            "shipped small model (256 units, trained)" if model_key == "trained"
            else f"DeepSpeech 0.8.2 sizes ({hidden} units, random weights)"))
    return {"meta": meta, "contenders": results["contenders"], "accuracy": accuracy, "speed": speed,
            "quantization": results["quantization"]}


def speed_rows(raw: dict[str, list[dict[str, Any]]], architecture: str = "deepspeech",
               derived: bool = False) -> list[dict[str, Any]]:
    """One row per contender and thread count; ``speedup_vs_openvino_f32`` and ``speedup_vs_own_fp32`` are ratios
    of median latencies per inference (above 1: faster than the baseline). ``derived``: accuracy-aware contenders
    carry the trained model's choice of FP32 layers (labelled so)."""
    by_key = BY_KEY[architecture]
    rows = []
    for key, rounds in raw.items():
        carried = derived and by_key[key].trained_only
        for threads in rounds[0]:
            summary = summarise_speed([r[threads] for r in rounds])
            label = by_key[key].label + (" (trained model's choice)" if carried else "")
            rows.append({"key": key, "label": label, "threads": int(threads),
                         "float_precision": rounds[0][threads].get("float_precision"), **summary})
    medians = {(r["key"], r["threads"]): r["latency_ms"]["median"] for r in rows}
    for row in rows:
        own = medians.get((by_key[row["key"]].baseline, row["threads"]))
        ov = medians.get(("openvino_fp32", row["threads"]))
        latency = row["latency_ms"]["median"]
        row["speedup_vs_openvino_f32"] = ov / latency if ov else None
        row["speedup_vs_own_fp32"] = own / latency if own else None
    return rows


# ---------------------------------------------------------------------------------------------------- markdown
def _mb(size: Any) -> str:
    return "n/a" if size is None else f"{size / 1e6:.2f} MB"


def _seconds(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _x(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}x"


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def markdown(summary: dict[str, Any]) -> str:
    meta = summary["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    name = ARCHITECTURES[_architecture(meta)].name
    lines = [f"# speechq against the tools a user would pick instead ({name}, INT8 on CPU)", "",
             f"{meta['cpu']}, {meta['cores']} cores; {meta['date']}; speechq at {meta['source']}; {versions}.", "",
             f"Reproduce: `{meta['command'] or 'python bench/bench_peers.py --out bench/results/peers --with-pot'}` "
             f"({meta['wall_seconds'] / 60:.0f} minutes here).", ""]
    if meta.get("tiny"):
        lines += ["**Tiny setting (a smoke test): the figures mean nothing.**", ""]
    lines += summary_table(summary) + accuracy_table(summary) + speed_tables(summary) + quantization_tables(summary) + contender_tables(summary)
    return "\n".join(lines) + "\n"


def summary_table(summary: dict[str, Any]) -> list[str]:
    """One line per contender: WER on the trained model, 1-thread speed on the largest model measured, cost, size."""
    speed_key = next((k for k in summary["speed"] if k != "trained" and summary["speed"][k]), "trained")
    speed = {r["key"]: r for r in summary["speed"].get(speed_key, []) if r["threads"] == 1}
    default = speed.get("openvino_fp32_default", {}).get("latency_ms", {}).get("median")
    cost = {r["key"]: r for r in summary["quantization"]
            if r["model"] == "trained" and r["ok"] and r["calibration_utterances"] == summary["meta"]["calibration_utterances"]}
    unit = _unit(summary["meta"])
    lines = ["## Summary", "",
             f"WER: shipped small model on the test utterances. Speed: {summary['meta']['models'][speed_key]['title']}, "
             f"1 thread, median latency per {unit}. Cost: quantizing the shipped model.", "",
             f"| contender | WER | vs FP32 (points) | ms per {unit.split(' (')[0]} | vs OpenVINO f32 | vs OpenVINO default "
             "| quantize s | peak RSS MB | on disk |", "|---|---|---|---|---|---|---|---|---|"]
    for row in summary["accuracy"]:
        fast, spent = speed.get(row["key"]), cost.get(row["key"])
        delta = row["wer_vs_fp32_points"]
        latency = fast["latency_ms"]["median"] if fast else None
        cells = [row["label"], _pct(row["wer"]), "n/a" if delta is None else f"{delta:+.2f}",
                 "n/a" if latency is None else f"{latency:.3f}",
                 _x(fast["speedup_vs_openvino_f32"]) if fast else "n/a",
                 _x(default / latency) if default and latency else "n/a",
                 f"{spent['quantize_seconds']:.1f}" if spent else "-", f"{spent['peak_rss_mb']:.0f}" if spent else "-",
                 _mb(row["size_bytes"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def accuracy_table(summary: dict[str, Any]) -> list[str]:
    meta = summary["meta"]
    lines = [f"## Accuracy: shipped small model, {meta['test_utterances']} test utterances "
             f"({meta['test_audio_seconds'] / 60:.1f} min, `{meta['test_data']}`), greedy decoding", "",
             f"Calibration (and accuracy-aware validation): the first {meta['calibration_utterances']} utterances of "
             f"`{meta['calibration_data']}`.", "",
             "| contender | WER | CER | WER vs OpenVINO FP32 (points) | model on disk |", "|---|---|---|---|---|"]
    for row in summary["accuracy"]:
        delta = row["wer_vs_fp32_points"]
        lines.append(f"| {row['label']} | {_pct(row['wer'])} | {_pct(row['cer'])} | "
                     f"{'n/a' if delta is None else f'{delta:+.2f}'} | {_mb(row['size_bytes'])} |")
    rows = {row["key"]: row for row in summary["accuracy"]}
    f32, default = rows.get("openvino_fp32"), rows.get("openvino_fp32_default")
    if f32 and default and default["cer"] > 2 * f32["cer"] + 0.02:
        lines += ["", f"{DEFAULT_PRECISION_BREAKS}: CER {_pct(default['cer'])} against {_pct(f32['cer'])} with f32, the "
                  "same IR and utterances. Its speed is that of a wrong computation; speechq runs FP32 in f32."]
    return lines + [""]


DEFAULT_PRECISION_BREAKS = "OpenVINO's default precision does not compute this model right on this CPU"


def speed_tables(summary: dict[str, Any]) -> list[str]:
    meta = summary["meta"]
    lines = []
    for model_key in sorted(summary["speed"], key=lambda k: k == "trained"):
        rows = summary["speed"][model_key]
        if not rows:
            continue
        first = rows[0]
        inputs = (f"{meta['speed_utterances']} test utterances ({first['audio_seconds']:.1f} s of audio, "
                  f"{first['chunks_per_pass']} chunks of 16 steps)" if _architecture(meta) == "deepspeech" else
                  f"{meta['speed_utterances']} clips of {meta['speed_seconds']:g} s cut from the test utterances "
                  f"({first['audio_seconds']:.1f} s of audio, one inference each)")
        lines += [f"## Speed: {meta['models'][model_key]['title']}", "",
                  f"Single stream, {inputs} per pass; warm-up pass, then {meta['passes']} timed "
                  f"passes x {first['rounds']} round(s) (contenders interleaved, each in its own process). Median "
                  "(p10-p90). Speed-ups are ratios of median latencies in this run.", "",
                  "*cores used*: CPU seconds of the measuring process per wall second, per round (about the thread "
                  "count on an idle machine; less means something else took the CPU).", "",
                  f"| contender | threads | float layers | latency per {_unit(meta).split(' (')[0]}, ms | "
                  "throughput, audio s/s | "
                  "vs OpenVINO FP32 f32 | vs same runtime's FP32 | cores used |", "|---|---|---|---|---|---|---|---|"]
        for row in sorted(rows, key=lambda r: (r["threads"], r["latency_ms"]["median"])):
            lat, thr = row["latency_ms"], row["throughput"]
            lines.append(f"| {row['label']} | {row['threads']} | {row['float_precision']} | {lat['median']:.3f} "
                         f"({lat['p10']:.3f}-{lat['p90']:.3f}) | {thr['median']:.0f} ({thr['p10']:.0f}-{thr['p90']:.0f}) | "
                         f"{_x(row['speedup_vs_openvino_f32'])} | {_x(row['speedup_vs_own_fp32'])} | "
                         f"{', '.join(f'{c:.2f}' for c in row['cores_used'] if c is not None)} |")
        lines.append("")
    return lines


def quantization_tables(summary: dict[str, Any]) -> list[str]:
    meta = summary["meta"]
    rows = summary["quantization"]
    main_sizes = {"trained": meta["calibration_utterances"]}
    lines = ["## Quantization cost", "",
             "Each quantization in its own process. *quantize s*: the tool's own work (build its data set from features "
             "in memory, quantize, save); *process s*: the whole process (interpreter, imports, model and features "
             "loaded), wall time and CPU time (user + system, all threads); *peak RSS*: the process's maximum resident memory (VmHWM, read by the process itself), with "
             "the peak before quantizing (imports, model, features) in brackets.", "",
             f"| contender | model | calibration utterances ({_inferences(meta)}) "
             "| quantize s | process s (CPU s) | "
             "peak RSS MB (before) | INT8 on disk |", "|---|---|---|---|---|---|---|"]
    growth: dict[str, dict[int, dict[str, Any]]] = {}
    for row in rows:
        if row["model"] == "trained" and row["calibration_utterances"] != main_sizes["trained"]:
            growth.setdefault(row["label"], {})[row["calibration_utterances"]] = row
            continue
        if row["model"] == "trained":
            growth.setdefault(row["label"], {})[row["calibration_utterances"]] = row
        lines.append(_cost_row(row))
    lines.append("")
    sizes = sorted({size for by_size in growth.values() for size in by_size})
    if len(sizes) > 1:
        lines += ["### Growth with the calibration subset (shipped model): quantize s / peak RSS MB", "",
                  "| contender | " + " | ".join(f"{s} utterances" for s in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for label, by_size in growth.items():
            if len(by_size) < 2:
                continue
            cells = [(f"{by_size[s]['quantize_seconds']:.1f} / {by_size[s]['peak_rss_mb']:.0f}" if by_size.get(s, {}).get("ok")
                      else "failed" if s in by_size else "") for s in sizes]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _cost_row(row: dict[str, Any]) -> str:
    model = row["model"]
    if not row["ok"]:
        return f"| {row['label']} | {model} | {row['calibration_utterances']} | failed: {row.get('error', '')[:200]} | | | |"
    label = row["label"] + (" (trained model's choice)" if row.get("derived") else "")
    return (f"| {label} | {model} | {row['calibration_utterances']} ({row['calibration_chunks']}) | "
            f"{row['quantize_seconds']:.1f} | {row['process_seconds']:.1f} ({_seconds(row.get('process_cpu_seconds'))}) | "
            f"{row['peak_rss_mb']:.0f} "
            f"({row['rss_before_mb']:.0f}) | {_mb(row.get('size_bytes'))} |")


def contender_tables(summary: dict[str, Any]) -> list[str]:
    lines = ["## Contenders", "", "| contender | status | what it does |", "|---|---|---|"]
    for record in summary["contenders"]:
        status = record["status"] + (f": {record['reason']}" if record["reason"] else "")
        lines.append(f"| {record['label']} | {status} | {record['options']} |")
    notes = []
    for row in summary["quantization"]:
        if row["model"] != "trained" or not row["ok"] or \
                row["calibration_utterances"] != summary["meta"]["calibration_utterances"]:
            continue
        if "fp32_layers" in row:
            wer = row.get("calibration_wer")
            figures = "" if wer is None else (f" (WER on the calibration utterances: FP32 {_pct(wer['fp32'])}, all "
                                              f"INT8 {_pct(wer['all_int8'])}, final {_pct(wer['final'])})")
            notes.append(f"- {row['label']} kept in FP32: {', '.join(row['fp32_layers']) or 'nothing'}{figures}. On "
                         "the full-size model its row applies this choice (its tool's default quantization with "
                         "these layers left FP32): random weights give no WER to choose by.")
        if "runtime_ops" in row:
            ops = ", ".join(f"{op} x{count}" for op, count in row["runtime_ops"].items())
            notes.append(f"- {row['label']}: operators ONNX Runtime executes after its graph optimisations: {ops}.")
    return lines + ([""] + notes if notes else []) + [""]


# -------------------------------------------------------------------------------------------------------- plot
def _wrap(label: str) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(label, 30))


def plot(summary: dict[str, Any], path: Path) -> Path:
    """WER per contender, latency per chunk (1 thread, full-size model where measured), and quantization time and
    peak memory against the calibration subset size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(15, 12))
    accuracy = summary["accuracy"]
    ax = axes[0][0]
    wers = [100 * r["wer"] for r in accuracy]
    ax.barh([_wrap(r["label"]) for r in accuracy], wers, color="tab:blue")
    for y, value in enumerate(wers):
        ax.text(value, y, f" {value:.1f}", va="center", fontsize=8)
    ax.set_xlabel("WER, % (shipped small model, test utterances; lower is better)")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=8)
    speed_key = next((k for k in summary["speed"] if k != "trained" and summary["speed"][k]), "trained")
    rows = sorted((r for r in summary["speed"].get(speed_key, []) if r["threads"] == 1),
                  key=lambda r: r["latency_ms"]["median"])
    ax = axes[0][1]
    if rows:
        medians = [r["latency_ms"]["median"] for r in rows]
        errors = [[m - r["latency_ms"]["p10"] for m, r in zip(medians, rows)],
                  [r["latency_ms"]["p90"] - m for m, r in zip(medians, rows)]]
        ax.barh([_wrap(r["label"]) for r in rows], medians, xerr=errors, color="tab:orange")
        for y, value in enumerate(medians):
            ax.text(value, y, f" {value:.2f}", va="bottom", fontsize=8)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel(f"latency per {_unit(summary['meta'])}, ms, 1 thread, median and p10-p90\n"
                  f"({summary['meta']['models'][speed_key]['title']})")
    for ax, field_name, unit in ((axes[1][0], "quantize_seconds", "quantization wall time, s"),
                                 (axes[1][1], "peak_rss_mb", "peak resident memory of the process, MB")):
        by_label: dict[str, list[tuple[int, float]]] = {}
        for row in summary["quantization"]:
            if row["model"] == "trained" and row["ok"]:
                by_label.setdefault(row["label"], []).append((row["calibration_utterances"], row[field_name]))
        for label, points in by_label.items():
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        ax.set_xlabel("calibration utterances (shipped small model)")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    figure.suptitle(f"speechq and the tools a user would pick instead, "
                    f"{ARCHITECTURES[_architecture(summary['meta'])].name}: {summary['meta']['cpu']}, "
                    f"{summary['meta']['date']}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def write_report(results: dict[str, Any], out: Path) -> list[Path]:
    """``out.json``, ``out.md``, ``out.png`` (``out`` without suffix)."""
    return write_summary(summarise(results), out)


def write_summary(summary: dict[str, Any], out: Path) -> list[Path]:
    """The three files from a summary (``summarise``'s result, or a JSON written before: ``--render``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (out.with_name(out.name + suffix) for suffix in (".json", ".md", ".png"))
    write_json(json_path, summary)
    md_path.write_text(markdown(summary), encoding="utf-8")
    plot(summary, png_path)
    return [md_path, json_path, png_path]
