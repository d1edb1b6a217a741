"""POT's Metric interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from speechq.errors import ConfigError

__all__ = ["Metric", "MetricGroup", "metric_directions"]


class Metric(ABC):
    """An accuracy measure accumulated over a data set.

    ``update(output, target)`` receives one batch: ``output`` is the engine's post-processed output (by default
    the list of model outputs in output order, each batched along axis 0) and ``target`` the list of the batch's
    annotations. After an update, ``value`` holds the per-sample values of that batch (``{name: [v, ...]}``,
    one entry per sample, in batch order); ``avg_value`` holds the value over everything since ``reset()``.
    """

    def __init__(self) -> None:
        self.reset()

    @property
    def higher_better(self) -> bool:
        """POT's legacy flag; ``get_attributes()`` is authoritative per metric name."""
        return True

    @property
    @abstractmethod
    def value(self) -> dict[str, list[float]]:
        """Per-sample values of the last ``update`` call."""

    @property
    @abstractmethod
    def avg_value(self) -> dict[str, float]:
        """Value over every sample since the last ``reset``."""

    @abstractmethod
    def update(self, output: Any, target: Any) -> None:
        """Accumulate one batch."""

    @abstractmethod
    def reset(self) -> None:
        """Forget everything accumulated."""

    @abstractmethod
    def get_attributes(self) -> dict[str, dict[str, str]]:
        """``{name: {"direction": "higher-better" | "higher-worse", "type": str}}`` for each metric name."""


def metric_directions(metric: Metric) -> dict[str, bool]:
    """``{name: higher_is_better}`` read from ``get_attributes()``.

    Raises:
        ConfigError: a direction is neither ``higher-better`` nor ``higher-worse``.
    """
    result = {}
    for name, attributes in metric.get_attributes().items():
        direction = attributes.get("direction", "higher-better")
        if direction not in ("higher-better", "higher-worse"):
            raise ConfigError(f"metric {name!r}: direction must be 'higher-better' or 'higher-worse', got {direction!r}")
        result[name] = direction == "higher-better"
    return result


class MetricGroup(Metric):
    """Several metrics fed the same batches, seen as one (names must not clash).

    Example: ``MetricGroup(WordErrorRate(), CharErrorRate())`` gives ``{"wer": ..., "cer": ...}``.
    """

    def __init__(self, *metrics: Metric) -> None:
        if not metrics:
            raise ConfigError("MetricGroup needs at least one metric")
        self.metrics = metrics
        names = [n for m in metrics for n in m.get_attributes()]
        if len(set(names)) != len(names):
            raise ConfigError(f"MetricGroup: metric names clash: {names}")
        super().__init__()

    @property
    def value(self) -> dict[str, list[float]]:
        return {k: v for m in self.metrics for k, v in m.value.items()}

    @property
    def avg_value(self) -> dict[str, float]:
        return {k: v for m in self.metrics for k, v in m.avg_value.items()}

    def update(self, output: Any, target: Any) -> None:
        for metric in self.metrics:
            metric.update(output, target)

    def reset(self) -> None:
        for metric in self.metrics:
            metric.reset()

    def get_attributes(self) -> dict[str, dict[str, str]]:
        return {k: v for m in self.metrics for k, v in m.get_attributes().items()}
