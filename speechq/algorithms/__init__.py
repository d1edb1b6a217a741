"""Algorithms that transform models: POT's DefaultQuantization and AccuracyAwareQuantization on NNCF."""

from __future__ import annotations

from typing import Any, Mapping

from speechq.algorithms.accuracy_aware import AccuracyAwareQuantization, AccuracyAwareResult
from speechq.algorithms.base import Algorithm
from speechq.algorithms.default import DefaultQuantization
from speechq.algorithms.params import AccuracyAwareParams, QuantizationParams
from speechq.api.engine import Engine
from speechq.engines._options import check_keys
from speechq.errors import ConfigError

__all__ = [
    "ALGORITHMS",
    "AccuracyAwareParams",
    "AccuracyAwareQuantization",
    "AccuracyAwareResult",
    "Algorithm",
    "DefaultQuantization",
    "QuantizationParams",
    "create_algorithm",
]

ALGORITHMS: Mapping[str, type[Algorithm]] = {
    DefaultQuantization.name: DefaultQuantization,
    AccuracyAwareQuantization.name: AccuracyAwareQuantization,
}


def create_algorithm(spec: Mapping[str, Any], engine: Engine) -> Algorithm:
    """Build an algorithm from POT's ``{"name": ..., "params": {...}}``.

    Raises:
        ConfigError: unknown name (valid names listed), unknown key, or invalid parameters.
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(f"an algorithm must be a dict {{'name': ..., 'params': {{...}}}}, got {spec!r}")
    check_keys("algorithm", spec, {"name", "params"})
    name = spec.get("name")
    if not isinstance(name, str) or name not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {name!r}; valid algorithms are {sorted(ALGORITHMS)}")
    return ALGORITHMS[name](spec.get("params", {}), engine)
