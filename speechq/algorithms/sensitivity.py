"""Per-layer sensitivity: the metric with one quantized layer alone put back in FP32, on a fixed set of items, and
on request the metric with that layer alone in INT8 (every other layer FP32).

Which layers cost accuracy (the metric recovers most when they alone go back to FP32) and which cost nothing (the
metric does not move): what accuracy-aware quantization ranks layers by, measured here for a report. Alone in INT8
answers the other question, which layers are safe to quantize by themselves (the speed they buy costs nothing).
The reference figures (FP32, every layer INT8) are measured on the same items, so that the bars and the lines of a
plot compare.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

from speechq.algorithms.accuracy_aware.fake_quantize import quantized_layers, revert_layers
from speechq.api.engine import Engine
from speechq.api.sampler import IndexSampler
from speechq.errors import ConfigError
from speechq.model import CompressedModel

__all__ = ["LayerSensitivity", "Sensitivity", "evaluate_items", "measure_sensitivity"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerSensitivity:
    """One quantized layer: its name, operation type, the metric with it alone in FP32 (``value``) and, when
    measured, with it alone in INT8 and every other layer FP32 (``int8_alone``)."""

    layer: str
    type: str
    value: float
    int8_alone: float | None = None


@dataclass(frozen=True)
class Sensitivity:
    """Per-layer sensitivity on ``items`` data items.

    Attributes:
        metric / higher_better: the metric and its direction; fp32 / int8: its value for the FP32 model and with
        every layer INT8, on the same items; layers: one entry per quantized layer, in graph order.
    """

    metric: str
    higher_better: bool
    items: int
    fp32: float
    int8: float
    layers: tuple[LayerSensitivity, ...]

    def gain(self, entry: LayerSensitivity) -> float:
        """How much better the metric is with ``entry`` alone in FP32 than with every layer INT8 (positive: better)."""
        return entry.value - self.int8 if self.higher_better else self.int8 - entry.value

    def cost(self, entry: LayerSensitivity) -> float | None:
        """How much worse than FP32 the metric is with ``entry`` alone in INT8 (None: not measured)."""
        if entry.int8_alone is None:
            return None
        return self.fp32 - entry.int8_alone if self.higher_better else entry.int8_alone - self.fp32

    def ranked(self) -> list[LayerSensitivity]:
        """The layers, those whose return to FP32 helps most first."""
        return sorted(self.layers, key=self.gain, reverse=True)


def evaluate_items(engine: Engine, model: CompressedModel, metric: str, indices: Sequence[int] | None) -> float:
    """The engine's ``metric`` for ``model`` over the items ``indices`` (None: all)."""
    engine.set_model(model)
    sampler = None if indices is None else IndexSampler(engine.data_loader, list(indices))  # type: ignore[arg-type]
    values, _ = engine.predict(sampler=sampler)
    if not isinstance(values, dict) or metric not in values:
        raise ConfigError(f"sensitivity: the engine's metric gives {values!r}, not {metric!r}")
    return float(values[metric])


def measure_sensitivity(engine: Engine, fp32: CompressedModel, int8: CompressedModel, metric: str, higher_better: bool,
                        indices: Sequence[int] | None = None, int8_alone: bool = False) -> Sensitivity:
    """The metric on ``indices`` for ``fp32``, for ``int8`` (with weight FakeQuantize nodes, not yet compressed) and
    for ``int8`` with each quantized layer alone reverted to FP32 (one evaluation per layer); with ``int8_alone``,
    also with each layer alone left INT8 and all the others reverted (a second evaluation per layer)."""
    layers = quantized_layers(int8.model)
    names = [layer.name for layer in layers]
    entries = []
    for layer in layers:
        trial = CompressedModel.from_ov(revert_layers(int8.model, [layer.name]), int8.name)
        value = evaluate_items(engine, trial, metric, indices)
        logger.info("sensitivity: %s alone in FP32 -> %s %.5f", layer.name, metric, value)
        alone = None
        if int8_alone:
            others = [name for name in names if name != layer.name]
            trial = CompressedModel.from_ov(revert_layers(int8.model, others), int8.name)
            alone = evaluate_items(engine, trial, metric, indices)
            logger.info("sensitivity: %s alone in INT8 -> %s %.5f", layer.name, metric, alone)
        entries.append(LayerSensitivity(layer.name, layer.type, value, alone))
    count = len(indices) if indices is not None else len(engine.data_loader)  # type: ignore[arg-type]
    return Sensitivity(metric, higher_better, count, evaluate_items(engine, fp32, metric, indices),
                       evaluate_items(engine, int8, metric, indices), tuple(entries))
