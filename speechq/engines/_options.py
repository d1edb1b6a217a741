"""Engine configuration, parsed once from POT-style dicts into typed options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from speechq.constants import DEFAULT_DEVICE, F32_BASELINE_PRECISION
from speechq.errors import ConfigError

__all__ = ["EngineOptions", "check_keys", "positive_int"]

_PRECISIONS = ("f32", "bf16", "f16", "default")


def check_keys(section: str, given: Mapping[str, Any], valid: set[str] | frozenset[str]) -> None:
    """Raise ConfigError naming every unknown key of ``given`` and listing the valid ones."""
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ConfigError(f"{section}: unknown parameter(s) {unknown}; valid parameters are {sorted(valid)}")


def positive_int(section: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{section}: {key!r} must be a positive integer, got {value!r} ({type(value).__name__})")
    return value


def _lengths_inputs(raw: Any) -> dict[str, tuple[str, int]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"engine config: 'lengths_inputs' must be a dict {{input: [source input, axis]}}, got {raw!r}")
    parsed = {}
    for name, value in raw.items():
        if (not isinstance(value, (list, tuple)) or len(value) != 2 or not isinstance(value[0], str)
                or isinstance(value[1], bool) or not isinstance(value[1], int)):
            raise ConfigError(f"engine config: lengths_inputs[{name!r}] must be [source input name, axis], got {value!r}")
        parsed[str(name)] = (value[0], int(value[1]))
    return parsed


@dataclass(frozen=True)
class EngineOptions:
    """Typed engine options.

    Attributes:
        device: OpenVINO device name.
        inference_precision: ``"f32"`` (default: FP32 really runs in f32, also on CPUs that would pick bf16),
            ``"bf16"``, ``"f16"`` or ``"default"`` (the plugin's own choice).
        stat_requests_number: infer requests in flight while collecting statistics (1 = synchronous).
        eval_requests_number: infer requests in flight while evaluating (1 = synchronous).
        num_threads: CPU threads for inference, None for the plugin's default.
        plugin_config: extra OpenVINO properties passed to ``compile_model``.
        lengths_inputs: ``{lengths input: (source input, axis)}``: integer inputs the engine fills with the size of
            another input along ``axis`` when the data does not give them (``{"length": ["audio", 1]}``).
    """

    device: str = DEFAULT_DEVICE
    inference_precision: str = F32_BASELINE_PRECISION
    stat_requests_number: int = 1
    eval_requests_number: int = 1
    num_threads: int | None = None
    plugin_config: Mapping[str, Any] = field(default_factory=dict)
    lengths_inputs: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    VALID_KEYS = frozenset(
        {"device", "type", "inference_precision", "stat_requests_number", "eval_requests_number", "num_threads",
         "plugin_config", "lengths_inputs"}
    )

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> EngineOptions:
        """Parse POT's engine config (``{"device": "CPU", ...}``).

        Raises:
            ConfigError: unknown key, wrong type, or an engine type other than POT's ``simplified``.
        """
        config = dict(config or {})
        check_keys("engine config", config, cls.VALID_KEYS)
        engine_type = config.pop("type", "simplified")
        if engine_type not in ("simplified", "ie"):
            raise ConfigError(
                f"engine config: 'type' {engine_type!r} is not supported; speechq engines are 'simplified' "
                "(POT's accuracy_checker engine is replaced by speechq's loaders and metrics)"
            )
        precision = str(config.get("inference_precision", F32_BASELINE_PRECISION)).lower()
        if precision not in _PRECISIONS:
            raise ConfigError(f"engine config: 'inference_precision' must be one of {_PRECISIONS}, got {precision!r}")
        threads = config.get("num_threads")
        plugin_config = config.get("plugin_config", {})
        if not isinstance(plugin_config, Mapping):
            raise ConfigError(f"engine config: 'plugin_config' must be a dict, got {type(plugin_config).__name__}")
        return cls(
            device=str(config.get("device", DEFAULT_DEVICE)),
            inference_precision=precision,
            stat_requests_number=positive_int("engine config", "stat_requests_number", config.get("stat_requests_number", 1)),
            eval_requests_number=positive_int("engine config", "eval_requests_number", config.get("eval_requests_number", 1)),
            num_threads=None if threads is None else positive_int("engine config", "num_threads", threads),
            plugin_config=dict(plugin_config),
            lengths_inputs=_lengths_inputs(config.get("lengths_inputs", {})),
        )

    def compile_properties(self, num_requests: int) -> dict[str, Any]:
        """OpenVINO properties for ``compile_model``."""
        properties: dict[str, Any] = {}
        if self.inference_precision != "default":
            properties["INFERENCE_PRECISION_HINT"] = self.inference_precision
        if self.num_threads is not None:
            properties["INFERENCE_NUM_THREADS"] = self.num_threads
        if num_requests > 1 and self.device == "CPU":
            properties["NUM_STREAMS"] = num_requests
        properties.update(self.plugin_config)
        return properties
