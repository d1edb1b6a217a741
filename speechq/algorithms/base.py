"""What every algorithm is: typed parameters, an engine, ``run(model) -> model``."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping

import numpy as np

from speechq.algorithms.params import QuantizationParams
from speechq.api.engine import Engine
from speechq.errors import ConfigError
from speechq.model import CompressedModel

__all__ = ["Algorithm", "calibration_indices"]

logger = logging.getLogger(__name__)


def calibration_indices(data_size: int, params: QuantizationParams) -> list[int]:
    """The data set items used for statistics: the first ``stat_subset_size``, or a seeded random subset.

    ``stat_subset_size`` larger than the data set is capped to it, as POT did, with a warning.

    Raises:
        ConfigError: the data set is empty.
    """
    if data_size < 1:
        raise ConfigError("the data set is empty: quantization needs at least one calibration item")
    size = params.stat_subset_size
    if size > data_size:
        logger.warning("stat_subset_size %d is larger than the data set (%d items): using all %d", size, data_size, data_size)
        size = data_size
    if not params.shuffle_data:
        return list(range(size))
    rng = np.random.default_rng(params.seed)
    return sorted(int(i) for i in rng.choice(data_size, size=size, replace=False))


class Algorithm(ABC):
    """A model transformation configured by POT's ``params`` dict and run with an engine.

    Args:
        config: POT's ``params`` dict for this algorithm (parsed and validated here), or parameters already
            parsed.
        engine: the engine whose data loader gives calibration data and whose metric judges accuracy.
    """

    name: ClassVar[str]
    params_type: ClassVar[type[QuantizationParams]] = QuantizationParams

    def __init__(self, config: Mapping[str, Any] | QuantizationParams | None, engine: Engine) -> None:
        if isinstance(config, QuantizationParams):
            self.params = config
        else:
            self.params = self.params_type.from_dict(config, section=self.name)
        self._engine = engine
        self.print_progress = False  # progress bars on stderr while collecting statistics and quantizing

    @property
    def engine(self) -> Engine:
        return self._engine

    def _data_size(self) -> int:
        if self._engine.data_loader is None:
            raise ConfigError(f"{self.name} needs an engine with a data_loader")
        return len(self._engine.data_loader)

    @abstractmethod
    def run(self, model: CompressedModel) -> CompressedModel:
        """Return the transformed model (the input model is not modified)."""
