"""POT's Engine interface: runs a model over a data set, returning metrics and activation statistics."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Mapping

from speechq.api.data_loader import DataLoader
from speechq.api.metric import Metric
from speechq.api.sampler import Sampler
from speechq.errors import ConfigError

__all__ = ["Engine", "StatsLayout"]

StatsLayout = Mapping[str, Mapping[str, Callable[[Any], Any]]]
"""``{node_name: {stat_name: fn(activation) -> value}}``: POT's request for activation statistics."""


class Engine(ABC):
    """Runs a model on a DataLoader, feeding a Metric.

    Args:
        config: engine options (see the concrete engine).
        data_loader: the data set; may be set later with :meth:`set_data_loader`.
        metric: optional metric; without one ``predict`` returns ``None`` as metrics.
    """

    def __init__(
        self, config: Mapping[str, Any] | None, data_loader: DataLoader | None = None, metric: Metric | None = None
    ) -> None:
        self.config = dict(config or {})
        self.data_loader = data_loader
        self._metric = metric

    @property
    def metric(self) -> Metric | None:
        return self._metric

    def set_data_loader(self, data_loader: DataLoader) -> None:
        self.data_loader = data_loader

    def set_metric(self, metric: Metric | None) -> None:
        self._metric = metric

    def get_metric_attributes(self) -> dict[str, dict[str, str]]:
        """The metric's ``get_attributes()``, or ``{}`` without a metric."""
        return self._metric.get_attributes() if self._metric is not None else {}

    def collect_model_inputs(self, sampler: Sampler, print_progress: bool = False) -> list[dict[str, Any]]:
        """Every input dict the engine feeds the model over ``sampler``, in order: the calibration set.

        Quantization algorithms calibrate on exactly these. Engines that run models through OpenVINO
        (``IEEngine`` and its subclasses) implement it.

        Raises:
            ConfigError: this engine cannot report its model inputs.
        """
        raise ConfigError(
            f"{type(self).__name__} cannot report the inputs it feeds the model, which quantization needs; "
            "derive the engine from speechq.IEEngine or implement collect_model_inputs()"
        )

    def release(self) -> None:
        """Free what running the current model holds (compiled models); the next inference rebuilds it. Engines
        without such caches need not override this."""

    @abstractmethod
    def set_model(self, model: Any) -> None:
        """Use ``model`` (a :class:`~speechq.model.CompressedModel`) for the next ``predict`` calls."""

    @abstractmethod
    def predict(
        self,
        stats_layout: StatsLayout | None = None,
        sampler: Sampler | None = None,
        stat_aliases: Mapping[str, str] | None = None,
        metric_per_sample: bool = False,
        print_progress: bool = False,
    ) -> tuple[Any, dict[str, dict[str, list[Any]]]]:
        """Run the model over the sampler's items (all items without one).

        Returns:
            ``(metrics, stats)``. ``metrics`` is ``{name: value}``, or with ``metric_per_sample`` a pair
            ``(per_sample, avg)`` where ``per_sample`` is a list of ``{"sample_id", "metric_name", "result"}``
            sorted by sample id; ``None`` without a metric. ``stats`` is ``{node_name (or alias):
            {stat_name: [value per inference, ...]}}``.
        """
