"""POT's pipeline: a list of algorithms applied in order with one engine."""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence, cast

from speechq.algorithms import Algorithm, create_algorithm
from speechq.api.engine import Engine
from speechq.errors import ConfigError
from speechq.model import CompressedModel

__all__ = ["Pipeline", "create_pipeline"]

logger = logging.getLogger(__name__)


class Pipeline:
    """Algorithms run one after another on a model (``run``), and evaluation with the engine (``evaluate``)."""

    def __init__(self, algorithms: Sequence[Algorithm], engine: Engine) -> None:
        self.algorithms = list(algorithms)
        self.engine = engine

    def run(self, model: CompressedModel) -> CompressedModel:
        """Apply every algorithm in order; the input model is not modified."""
        for algorithm in self.algorithms:
            logger.info("running %s", algorithm.name)
            model = algorithm.run(model)
        return model

    def evaluate(self, model: CompressedModel, print_progress: bool = False) -> dict[str, float] | None:
        """The engine's metric over its whole data set for ``model`` (``None`` without a metric)."""
        self.engine.set_model(model)
        metrics, _ = self.engine.predict(print_progress=print_progress)
        return cast("dict[str, float] | None", metrics)


def create_pipeline(algo_config: Sequence[Mapping[str, Any]] | Mapping[str, Any], engine: Engine) -> Pipeline:
    """Build a pipeline from POT's algorithm list ``[{"name": ..., "params": {...}}, ...]``.

    Raises:
        ConfigError: an algorithm or parameter is unknown or invalid (validated before anything runs).
    """
    if isinstance(algo_config, Mapping):
        algo_config = [algo_config]
    if not algo_config:
        raise ConfigError("create_pipeline needs at least one algorithm")
    return Pipeline([create_algorithm(spec, engine) for spec in algo_config], engine)
