"""PNG plots of workflow results: error rates and speed of FP32 against INT8, per-layer sensitivity.

matplotlib with its non-interactive Agg back end (no display needed); each function writes one PNG file and returns
its path. Figures are drawn from result values only; nothing is measured here.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_error_rates", "plot_latencies", "plot_sensitivity", "plot_throughputs"]

_COLOURS = ("#4C72B0", "#8172B2", "#DD8452", "#55A868")


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})  # no version stamp: same result, same bytes
    _pyplot().close(figure)
    return path


def plot_error_rates(rates: Mapping[str, Mapping[str, float]], path: str | Path, title: str = "") -> Path:
    """Grouped bars: for each model label (``{"FP32": {"wer": 0.1, "cer": 0.04}, ...}``) its error rates in %."""
    plt = _pyplot()
    labels = list(rates)
    metrics = sorted({name for values in rates.values() for name in values})
    figure, axes = plt.subplots(figsize=(5.5, 3.5))
    width = 0.8 / max(1, len(labels))
    for i, label in enumerate(labels):
        xs = [m + (i - (len(labels) - 1) / 2) * width for m in range(len(metrics))]
        values = [100 * rates[label].get(name, float("nan")) for name in metrics]
        bars = axes.bar(xs, values, width, label=label, color=_COLOURS[i % len(_COLOURS)])
        axes.bar_label(bars, fmt="%.2f", fontsize=8)
    axes.set_xticks(range(len(metrics)), [name.upper() for name in metrics])
    axes.set_ylabel("error rate (%)")
    axes.set_title(title or "error rates (corpus level)")
    axes.legend()
    return _save(figure, Path(path))


def plot_latencies(labels: Sequence[str], medians_ms: Sequence[float], p10_ms: Sequence[float],
                   p90_ms: Sequence[float], unit: str, path: str | Path, title: str = "") -> Path:
    """Horizontal bars of median latency per ``unit`` (ms) with p10-p90 whiskers."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 0.6 * len(labels) + 1.4))
    ys = list(range(len(labels)))[::-1]
    errors = [[m - lo for m, lo in zip(medians_ms, p10_ms)], [hi - m for m, hi in zip(medians_ms, p90_ms)]]
    bars = axes.barh(ys, medians_ms, xerr=errors, color=[_COLOURS[i % len(_COLOURS)] for i in range(len(labels))],
                     capsize=3)
    axes.bar_label(bars, fmt="%.3f", padding=4, fontsize=8)
    axes.set_yticks(ys, labels)
    axes.set_xlabel(f"latency per {unit} (ms): median, p10-p90")
    axes.set_title(title or f"latency per {unit}")
    axes.margins(x=0.2)
    return _save(figure, Path(path))


def plot_throughputs(labels: Sequence[str], streams: Sequence[int], audio_per_second: Sequence[float],
                     path: str | Path, title: str = "") -> Path:
    """Bars of seconds of audio per second, one group per stream count."""
    plt = _pyplot()
    names = list(dict.fromkeys(labels))
    counts = sorted(set(streams))
    figure, axes = plt.subplots(figsize=(6.5, 3.5))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = {n: v for label, n, v in zip(labels, streams, audio_per_second) if label == name}
        xs = [c + (i - (len(names) - 1) / 2) * width for c in range(len(counts))]
        bars = axes.bar(xs, [values.get(n, float("nan")) for n in counts], width, label=name,
                        color=_COLOURS[i % len(_COLOURS)])
        axes.bar_label(bars, fmt="%.0f", fontsize=8)
    axes.set_xticks(range(len(counts)), [f"{n} stream(s)" for n in counts])
    axes.set_ylabel("seconds of audio per second")
    axes.set_title(title or "end-to-end throughput")
    axes.legend(fontsize=8)
    return _save(figure, Path(path))


def plot_sensitivity(sensitivity: Mapping[str, float], baseline: float, quantized: float, metric: str,
                     reverted: Sequence[str], path: str | Path, top: int = 20,
                     title: str = "per-layer sensitivity", int8_alone: Mapping[str, float] | None = None) -> Path:
    """Per-layer metric with only that layer back in FP32 (the ``top`` that move it most), reverted layers
    highlighted; ``baseline`` (FP32) and ``quantized`` (every layer INT8) as lines, measured on the same items.
    With ``int8_alone`` (layer -> metric with only that layer INT8), a second, hatched bar per layer shows it."""
    plt = _pyplot()
    ranked = sorted(sensitivity.items(), key=lambda item: abs(item[1] - quantized), reverse=True)[:top]
    pair = bool(int8_alone)
    figure, axes = plt.subplots(figsize=(7.5, (0.5 if pair else 0.35) * len(ranked) + 1.6))
    ys = list(range(len(ranked)))[::-1]
    height = 0.4 if pair else 0.8
    colours = [_COLOURS[2] if name in reverted else _COLOURS[0] for name, _ in ranked]
    axes.barh([y + (height / 2 if pair else 0) for y in ys], [value for _, value in ranked], height=height,
              color=colours)
    if int8_alone:
        axes.barh([y - height / 2 for y in ys], [int8_alone.get(name, float("nan")) for name, _ in ranked],
                  height=height, color="white", edgecolor=_COLOURS[0], hatch="///")
    axes.set_yticks(ys, [name if len(name) <= 48 else "..." + name[-45:] for name, _ in ranked], fontsize=7)
    axes.axvline(baseline, color="black", linestyle="--", linewidth=1, label=f"FP32 {baseline:.4f}")
    axes.axvline(quantized, color="grey", linestyle=":", linewidth=1, label=f"all INT8 {quantized:.4f}")
    axes.set_xlabel(f"{metric} with the layer alone in FP32{' or alone in INT8' if pair else ''} (orange: reverted)")
    axes.set_title(title)
    handles, _ = axes.get_legend_handles_labels()
    if pair:
        from matplotlib.patches import Patch

        handles += [Patch(color=_COLOURS[0], label="layer alone in FP32"),
                    Patch(facecolor="white", edgecolor=_COLOURS[0], hatch="///", label="layer alone in INT8")]
    axes.legend(handles=handles, fontsize=8)
    return _save(figure, Path(path))
