"""Latency of a model on fixed inputs: warm-up, repeated timed runs, median and spread.

Used by the CLI's ``benchmark`` and ``quantize`` summaries and by ``bench/``. Figures are for one inference
(for streaming models one chunk); compare models only within one run on one machine.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from numpy.typing import NDArray
import openvino as ov

from speechq.drift import MAX_RELATIVE_ERROR, measure_precision_drift
from speechq.errors import ConfigError
from speechq.model import get_core

__all__ = ["FP32_DEFAULT", "FP32_F32", "INT8", "LATENCY_ROWS", "Latency", "compare_latencies", "measure_latency",
           "spread"]

logger = logging.getLogger(__name__)

FP32_F32, FP32_DEFAULT, INT8 = "FP32 (f32)", "FP32 (OpenVINO default precision)", "INT8"
# the rows speechq reports, in order: label, which model ("FP32" or "INT8"), the precision asked of the plugin
LATENCY_ROWS = ((FP32_F32, "FP32", "f32"), (FP32_DEFAULT, "FP32", "default"), (INT8, "INT8", "f32"))


@dataclass(frozen=True)
class Latency:
    """Milliseconds per inference over ``runs`` timed runs.

    Attributes:
        label: what was measured (e.g. ``"INT8"``); median_ms, p10_ms, p90_ms: distribution of run times;
        runs: timed runs (after warm-up); precision: the inference precision the plugin ran with (what it chose
        when asked for its default: ``bf16`` on CPUs with AVX-512 BF16 or AMX).
    """

    label: str
    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    precision: str

    @property
    def spread_ms(self) -> float:
        """p90 - p10."""
        return self.p90_ms - self.p10_ms


def spread(times: Sequence[float]) -> tuple[float, float, float]:
    """(median, 10th percentile, 90th percentile) of ``times``. The percentiles lie within the measured values
    (``statistics.quantiles``' inclusive method; its default extrapolates past them, below zero with few runs)."""
    if len(times) == 1:
        return times[0], times[0], times[0]
    deciles = statistics.quantiles(times, n=10, method="inclusive")
    return statistics.median(times), deciles[0], deciles[-1]


def measure_latency(
    model: ov.Model,
    inputs: Sequence[Mapping[str, NDArray[Any]]],
    label: str,
    precision: str = "f32",
    num_threads: int | None = None,
    warmup: int = 3,
    repeats: int = 30,
    device: str = "CPU",
) -> Latency:
    """Time synchronous inferences of ``model`` cycling over ``inputs``.

    Args:
        precision: ``INFERENCE_PRECISION_HINT`` (``"f32"``, ``"bf16"``...) or ``"default"`` for the plugin's choice.
        num_threads: CPU threads (None: the plugin's default, all cores).
        warmup: untimed runs first; repeats: timed runs.

    Raises:
        ConfigError: no inputs or non-positive repeats.
    """
    if not inputs:
        raise ConfigError("measure_latency needs at least one input")
    if repeats < 1 or warmup < 0:
        raise ConfigError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    properties: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if precision != "default":
        properties["INFERENCE_PRECISION_HINT"] = precision
    if num_threads is not None:
        properties["INFERENCE_NUM_THREADS"] = num_threads
    compiled = get_core().compile_model(model, device, properties)
    request = compiled.create_infer_request()
    clean = [{k: v for k, v in item.items() if k != "nncf_reset_state"} for item in inputs]
    for i in range(warmup):
        request.infer(clean[i % len(clean)])
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        request.infer(clean[i % len(clean)])
        times.append((time.perf_counter() - start) * 1000.0)
    median, p10, p90 = spread(times)
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")
    chosen = hint.get_type_name() if isinstance(hint, ov.Type) else str(hint)
    return Latency(label, median, p10, p90, repeats, chosen)


def compare_latencies(fp32: ov.Model, int8: ov.Model, inputs: Sequence[Mapping[str, NDArray[Any]]],
                      **options: Any) -> tuple[Latency, ...]:
    """The rows of :data:`LATENCY_ROWS`, measured in one run: FP32 in f32, FP32 in the plugin's default precision,
    INT8 (in f32, for the layers it keeps in float); ``options`` go to :func:`measure_latency`.

    The default-precision row is left out, with a warning that gives the plugin's reason, when the plugin cannot
    compile or run the model in the precision it picks itself: oneDNN held below the CPU's instruction set
    (``ONEDNN_MAX_CPU_ISA=AVX2`` on a CPU with AVX-512 BF16) has no bf16 LSTM, yet the plugin still picks bf16.
    The f32 and INT8 rows are what the comparison is about: their errors propagate.
    """
    models = {"FP32": fp32, "INT8": int8}
    rows = []
    for label, which, precision in LATENCY_ROWS:
        try:
            rows.append(measure_latency(models[which], inputs, label, precision=precision, **options))
            if precision == "default" and rows[-1].precision != "f32":
                _warn_if_default_precision_breaks(models[which], inputs, rows[-1], options.get("device", "CPU"))
        except RuntimeError as error:
            if precision != "default":
                raise
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            logger.warning("latency of %s not measured: the %s plugin could not run the FP32 model in the precision "
                           "it picks by default (%s)", label, options.get("device", "CPU"), reason)
    return tuple(rows)


def _warn_if_default_precision_breaks(model: ov.Model, inputs: Sequence[Mapping[str, NDArray[Any]]], row: Latency,
                                      device: str) -> None:
    """Warn when the plugin's default precision computes something else than f32 (an OpenVINO bug for some layer
    shapes, or a model that needs f32): that row's latency is then the speed of a wrong computation. Judged by the
    relative error alone: bf16's rounding flips the arg-max of near-ties (an LSTM state's largest unit, say) without
    being wrong."""
    for drift in measure_precision_drift(model, inputs, device=device):
        if drift.relative_error > MAX_RELATIVE_ERROR:
            agreement = "" if drift.agreement is None else \
                f", most likely symbol unchanged at {100 * drift.agreement:.1f}% of positions"
            logger.warning("%s: the %s plugin's default precision (%s) changes output %r against f32 (relative error "
                           "%.3f%s, on %d input(s)): its latency is that of a wrong computation; run this model in f32",
                           row.label, device, row.precision, drift.output, drift.relative_error, agreement, drift.items)
