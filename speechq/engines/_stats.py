"""Activation statistics: expose requested nodes as extra outputs and reduce their values per inference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from numpy.typing import NDArray
import openvino as ov

from speechq.api.engine import StatsLayout
from speechq.errors import ConfigError

__all__ = ["StatProbe", "add_stat_outputs", "StatsAccumulator"]


@dataclass(frozen=True)
class StatProbe:
    """One requested node output, exposed as compiled output number ``output_index``."""

    key: str
    output_index: int
    functions: Mapping[str, Callable[[NDArray[Any]], Any]]


def _find_output(model: ov.Model, node_key: str) -> ov.Output:
    name, _, port = node_key.partition(":")
    for op in model.get_ordered_ops():
        if op.get_friendly_name() == name:
            index = int(port) if port else 0
            if index >= op.get_output_size():
                raise ConfigError(f"stats_layout: node {name!r} has {op.get_output_size()} outputs, asked for {index}")
            return op.output(index)
    raise ConfigError(f"stats_layout: no node named {name!r} in model {model.get_friendly_name()!r}")


def add_stat_outputs(model: ov.Model, stats_layout: StatsLayout | None) -> tuple[ov.Model, list[StatProbe]]:
    """A copy of ``model`` whose extra outputs are the nodes named in ``stats_layout``.

    Node keys are friendly names, optionally ``name:port`` for a port other than 0.

    Raises:
        ConfigError: a node does not exist.
    """
    if not stats_layout:
        return model, []
    copy = model.clone()
    probes = []
    for key, functions in stats_layout.items():
        target = _find_output(copy, key)
        copy.add_outputs([target])  # a node that already is a model output keeps its one Result
        probes.append(StatProbe(key=key, output_index=_result_index(copy, target), functions=functions))
    return copy, probes


def _result_index(model: ov.Model, target: ov.Output) -> int:
    wanted = (target.get_node().get_friendly_name(), target.get_index())
    for index, result in enumerate(model.get_results()):
        source = result.input_value(0)
        if (source.get_node().get_friendly_name(), source.get_index()) == wanted:
            return index
    raise AssertionError(f"output {wanted} was added but has no Result")


class StatsAccumulator:
    """Collects ``fn(activation)`` for each probe and stat function, one value per inference."""

    def __init__(self, probes: list[StatProbe], aliases: Mapping[str, str] | None) -> None:
        self._probes = probes
        self._aliases = dict(aliases or {})
        self.stats: dict[str, dict[str, list[Any]]] = {
            self._aliases.get(p.key, p.key): {name: [] for name in p.functions} for p in probes
        }

    def add(self, outputs: list[NDArray[Any]]) -> None:
        for probe in self._probes:
            value = outputs[probe.output_index]
            target = self.stats[self._aliases.get(probe.key, probe.key)]
            for name, function in probe.functions.items():
                target[name].append(function(value))
