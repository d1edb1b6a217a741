"""AccuracyAwareQuantization: INT8 where it costs nothing, FP32 where it costs accuracy.

What it does (POT's flow): measure the FP32 model, quantize everything with DefaultQuantization, then while the
metric drop exceeds ``maximal_drop``: pick the ``ranking_subset_size`` samples that degraded most, rank the quantized
layers by how much reverting each alone to FP32 improves the metric on those samples, and revert them in ranking
order, re-evaluating on the whole data set after each. A revert that makes the drop worse is undone (with
``use_prev_if_drop_increase``) and the remaining layers are ranked again. The metric's direction
(``get_attributes()``) decides what a drop is: for WER (higher-worse) a drop is a rise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from speechq.algorithms.accuracy_aware.fake_quantize import quantized_layers, revert_layers
from speechq.algorithms.accuracy_aware.search import search_reverts
from speechq.algorithms.base import Algorithm
from speechq.algorithms.default.algorithm import DefaultQuantization
from speechq.algorithms.front_end import FrontEndPart
from speechq.algorithms.sensitivity import LayerSensitivity, Sensitivity
from speechq.algorithms.params import AccuracyAwareParams
from speechq.api.metric import metric_directions
from speechq.api.sampler import IndexSampler
from speechq.errors import ConfigError
from speechq.model import CompressedModel

__all__ = ["AccuracyAwareQuantization", "AccuracyAwareResult", "metric_drop"]

logger = logging.getLogger(__name__)


def metric_drop(baseline: float, value: float, higher_better: bool, drop_type: str) -> float:
    """How much worse ``value`` is than ``baseline`` (positive = worse).

    Absolute: ``baseline - value`` for higher-better metrics, ``value - baseline`` for higher-worse ones.
    Relative: the absolute drop divided by ``|baseline|`` (POT's ``|1 - value / baseline|`` when worse); a zero
    baseline makes any worsening an infinite relative drop.
    """
    drop = (baseline - value) if higher_better else (value - baseline)
    if drop_type == "absolute":
        return drop
    if baseline == 0:
        return 0.0 if drop <= 0 else float("inf")
    return drop / abs(baseline)


@dataclass(frozen=True)
class AccuracyAwareResult:
    """What accuracy-aware quantization did, for logs and reports.

    Attributes:
        metric: the metric name judged; ``higher_better`` its direction.
        baseline: FP32 value; ``default_quantized``: value with every layer quantized; ``final``: value returned.
        drop: final drop (``drop_type``), ``maximal_drop`` the target, ``reached`` whether it was met.
        reverted_layers: layers put back in FP32, in order.
        sensitivity: metric on the ranking subset with each layer alone reverted (the first ranking, from the model
            with every layer INT8; ``AccuracyAwareQuantization.sensitivity`` has it with reference values).
        iterations: full evaluations after reverts.
        undone_layers: layers whose revert made the drop worse and was undone, in order (they may be reverted
            later, from a different model).
    """

    metric: str
    higher_better: bool
    baseline: float
    default_quantized: float
    final: float
    drop: float
    maximal_drop: float
    drop_type: str
    reached: bool
    reverted_layers: tuple[str, ...]
    sensitivity: dict[str, float] = field(default_factory=dict)
    iterations: int = 0
    undone_layers: tuple[str, ...] = ()


@dataclass
class _Evaluation:
    value: float
    per_sample: NDArray[np.float64]  # one value per data set item, in index order


class AccuracyAwareQuantization(Algorithm):
    """POT's AccuracyAwareQuantization on NNCF (see :class:`~speechq.algorithms.params.AccuracyAwareParams`)."""

    name = "AccuracyAwareQuantization"
    params_type = AccuracyAwareParams
    params: AccuracyAwareParams

    def __init__(self, config: Any, engine: Any) -> None:
        super().__init__(config, engine)
        self.result: AccuracyAwareResult | None = None
        self.sensitivity: Sensitivity | None = None  # the first ranking (every layer, all others INT8)
        self.front_end: list[FrontEndPart] = []  # kept FP32 by default before any ranking (see DefaultQuantization)
        self.as_convolution: list[str] = []  # quantized MatMuls run as 1x1 convolutions (see DefaultQuantization)
        self._ranked = False
        self._sensitivity: dict[str, float] = {}

    def _metric_name(self) -> tuple[str, bool]:
        if self._engine.metric is None:
            raise ConfigError(f"{self.name} needs an engine with a metric (it judges accuracy by it)")
        directions = metric_directions(self._engine.metric)
        if not directions:
            raise ConfigError(f"{self.name}: the metric's get_attributes() names no metric")
        name = self.params.metric or next(iter(directions))
        if name not in directions:
            raise ConfigError(f"{self.name}: 'metric' {name!r} is not one of the metric's names {sorted(directions)}")
        return name, directions[name]

    def _evaluate(self, model: CompressedModel, indices: list[int] | None = None) -> _Evaluation:
        self._engine.set_model(model)
        sampler = IndexSampler(self._engine.data_loader, indices) if indices is not None else None  # type: ignore[arg-type]
        (per_sample, avg), _ = self._engine.predict(sampler=sampler, metric_per_sample=True)
        name = self._metric
        values = np.array([r["result"] for r in per_sample if r["metric_name"] == name], dtype=np.float64)
        return _Evaluation(float(avg[name]), values)

    def _drop(self, value: float) -> float:
        return metric_drop(self._baseline.value, value, self._higher_better, self.params.drop_type)

    def _ranking_subset(self, current: _Evaluation) -> list[int]:
        degradation = self._baseline.per_sample - current.per_sample
        if not self._higher_better:
            degradation = -degradation
        size = min(self.params.ranking_subset_size, len(degradation))
        order = np.argsort(-degradation, kind="stable")[:size]
        return sorted(int(i) for i in order)

    def _rank(self, model: CompressedModel, current: _Evaluation, candidates: list[str]) -> list[str]:
        subset = self._ranking_subset(current)
        scores = {}
        for layer in candidates:
            trial = CompressedModel.from_ov(revert_layers(model.model, [layer]), model.name)
            scores[layer] = self._evaluate(trial, subset).value
            logger.info("%s: ranking %s -> %s %.5f on %d samples", self.name, layer, self._metric, scores[layer], len(subset))
        if not self._ranked:  # the first ranking: every layer, from the all-INT8 model
            self._ranked = True
            self._sensitivity = scores
            if not self.params.sensitivity_int8_alone:  # else keep DefaultQuantization's table: it has both measures
                self.sensitivity = self._as_sensitivity(model, subset, scores)
        return sorted(candidates, key=lambda n: -scores[n] if self._higher_better else scores[n])

    def _as_sensitivity(self, model: CompressedModel, subset: list[int], scores: dict[str, float]) -> Sensitivity:
        """The first ranking as a per-layer sensitivity, with FP32 and all-INT8 measured on the same items."""
        types = {layer.name: layer.type for layer in quantized_layers(model.model)}
        layers = tuple(LayerSensitivity(name, types.get(name, ""), value) for name, value in scores.items())
        return Sensitivity(self._metric, self._higher_better, len(subset), self._evaluate(self._fp32, subset).value,
                           self._evaluate(model, subset).value, layers)

    def run(self, model: CompressedModel) -> CompressedModel:
        self._metric, self._higher_better = self._metric_name()
        self._sensitivity = {}
        self.sensitivity, self._ranked = None, False
        self._fp32 = model
        self._baseline = self._evaluate(model)
        logger.info("%s: FP32 %s = %.5f", self.name, self._metric, self._baseline.value)
        default = DefaultQuantization(self.params, self._engine)
        default.print_progress = self.print_progress
        current = default.quantize(model, compress_weights=False)
        self.front_end, self.sensitivity = default.front_end, default.sensitivity  # a ranking replaces the latter
        evaluation = self._evaluate(current)
        default_value, drop = evaluation.value, self._drop(evaluation.value)
        logger.info("%s: all layers INT8: %s = %.5f, drop %.5f (maximal_drop %.5f)", self.name, self._metric,
                    evaluation.value, drop, self.params.maximal_drop)
        int8 = current

        def model_with(reverted: tuple[str, ...]) -> CompressedModel:
            return CompressedModel.from_ov(revert_layers(int8.model, list(reverted)), model.name) if reverted else int8

        def evaluate(reverted: tuple[str, ...]) -> tuple[float, _Evaluation]:
            trial = self._evaluate(model_with(reverted))
            return self._drop(trial.value), trial

        def rank(reverted: tuple[str, ...], current: _Evaluation, candidates: list[str]) -> list[str]:
            return self._rank(model_with(reverted), current, candidates)

        layers = [layer.name for layer in quantized_layers(int8.model)]
        found = search_reverts(layers, evaluate, rank, (drop, evaluation), self.params.maximal_drop,
                               self.params.max_iter_num, self.params.use_prev_if_drop_increase, self.name)
        current, evaluation, drop = model_with(found.reverted), found.evaluation, found.drop
        if not found.reached:
            logger.warning("%s: maximal_drop %.5f NOT reached: best drop %.5f with %d layers in FP32; returning that model",
                           self.name, self.params.maximal_drop, drop, len(found.reverted))
        default.finish(current)
        self.as_convolution = default.as_convolution
        self.result = AccuracyAwareResult(
            metric=self._metric, higher_better=self._higher_better, baseline=self._baseline.value,
            default_quantized=default_value, final=evaluation.value, drop=drop, maximal_drop=self.params.maximal_drop,
            drop_type=self.params.drop_type, reached=found.reached, reverted_layers=found.reverted,
            sensitivity=dict(self._sensitivity), iterations=found.iterations, undone_layers=found.undone,
        )
        return current
