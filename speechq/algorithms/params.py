"""POT's algorithm parameter dicts, parsed once into typed, validated parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from speechq.constants import (
    DEFAULT_FRONT_END_WAVEFORM_CONVOLUTIONS,
    DEFAULT_MAXIMAL_DROP,
    DEFAULT_RANKING_SUBSET_SIZE,
    DEFAULT_SEED,
    DEFAULT_STAT_BATCH_SIZE,
    DEFAULT_STAT_SUBSET_SIZE,
)
from speechq.engines._options import check_keys, positive_int
from speechq.errors import ConfigError

__all__ = [
    "AccuracyAwareParams",
    "IgnoredOperation",
    "QuantizationParams",
    "RangeSpec",
    "StatSpec",
]

TARGET_DEVICES = ("ANY", "CPU", "GPU", "NPU", "CPU_SPR")
PRESETS = ("performance", "mixed", "accuracy")
STAT_TYPES = ("min", "max", "abs_max", "quantile", "abs_quantile", "mean")
AGGREGATORS = ("mean", "max", "min", "median", "mean_no_outliers", "median_no_outliers")
POT_ONLY_AGGREGATORS = ("hl_estimator", "batch_mean")
SATURATION_FIXES = ("auto", "all", "first_layer", "no")
MATMUL_LAYOUTS = ("auto", "always", "never")


def _bool(section: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{section}: {key!r} must be true or false, got {value!r} ({type(value).__name__})")
    return value


def _choice(section: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{section}: {key!r} must be one of {list(choices)}, got {value!r}")
    return value


def _default_preset(model_type: Any) -> str:
    """POT's ``performance`` (symmetric activations), but ``mixed`` (asymmetric activations) for transformers, as
    NNCF chooses: their GELU and attention outputs are far from symmetric. Measured on the shipped Wav2Vec2-architecture
    model (58 shipped utterances, FP32 WER 48.0%): INT8 WER 65.1% with ``performance``, 50.6% with ``mixed``."""
    return "mixed" if model_type == "transformer" else "performance"


def _count(section: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{section}: {key!r} must be an integer >= 0, got {value!r}")
    return value


SMOOTH_QUANT_LAYERS = ("convolution", "matmul")


def _smooth_quant_alphas(section: str, value: Any) -> tuple[tuple[str, float], ...]:
    """``{"convolution": a, "matmul": b}`` -> sorted pairs; each alpha in [0, 1], or -1 (SmoothQuant off)."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{section}: must be a dict like {{'convolution': 0.95}}, got {value!r}")
    unknown = sorted(set(value) - set(SMOOTH_QUANT_LAYERS))
    if unknown:
        raise ConfigError(f"{section}: unknown layer type(s) {unknown}; valid: {list(SMOOTH_QUANT_LAYERS)}")
    alphas = []
    for key in sorted(value):
        alpha = _number(section, key, value[key], -1.0, 1.0)
        if -1.0 < alpha < 0.0:
            raise ConfigError(f"{section}: {key!r} must be in [0, 1] or -1 (off), got {value[key]!r}")
        alphas.append((key, alpha))
    return tuple(alphas)


def _number(section: str, key: str, value: Any, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{section}: {key!r} must be a number, got {value!r} ({type(value).__name__})")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"{section}: {key!r} must be {bounds}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class StatSpec:
    """One side (min or max) of a range estimator: statistic, aggregator, outlier probability."""

    type: str | None = None
    aggregator: str | None = None
    outlier_prob: float = 1e-4
    clipping_value: float | None = None

    @classmethod
    def parse(cls, section: str, raw: Any) -> StatSpec:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{section} must be a dict, got {raw!r}")
        check_keys(section, raw, {"type", "aggregator", "outlier_prob", "clipping_value"})
        aggregator = raw.get("aggregator")
        if aggregator in POT_ONLY_AGGREGATORS:
            raise ConfigError(
                f"{section}: aggregator {aggregator!r} existed in POT but has no NNCF equivalent; "
                f"use one of {list(AGGREGATORS)}"
            )
        clipping = raw.get("clipping_value")
        return cls(
            type=None if raw.get("type") is None else _choice(section, "type", raw["type"], STAT_TYPES),
            aggregator=None if aggregator is None else _choice(section, "aggregator", aggregator, AGGREGATORS),
            outlier_prob=_number(section, "outlier_prob", raw.get("outlier_prob", 1e-4), 0.0, 0.5),
            clipping_value=None if clipping is None else _number(section, "clipping_value", clipping, 0.0),
        )


@dataclass(frozen=True)
class RangeSpec:
    """POT's ``activations`` / ``weights`` section: bits, mode, granularity and range estimator."""

    mode: str | None = None
    per_channel: bool | None = None
    preset: str | None = None
    min: StatSpec | None = None
    max: StatSpec | None = None

    @classmethod
    def parse(cls, section: str, raw: Any) -> RangeSpec:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{section} must be a dict, got {raw!r}")
        check_keys(section, raw, {"bits", "mode", "granularity", "range_estimator"})
        if raw.get("bits", 8) != 8:
            raise ConfigError(f"{section}: 'bits' must be 8 (INT8), got {raw['bits']!r}")
        granularity = raw.get("granularity")
        if granularity is not None:
            _choice(section, "granularity", granularity, ("perchannel", "pertensor"))
        estimator = raw.get("range_estimator", {})
        est_section = f"{section}.range_estimator"
        if not isinstance(estimator, Mapping):
            raise ConfigError(f"{est_section} must be a dict, got {estimator!r}")
        check_keys(est_section, estimator, {"preset", "min", "max"})
        preset = estimator.get("preset")
        if preset is not None:
            _choice(est_section, "preset", preset, ("default", "quantile"))
        return cls(
            mode=None if raw.get("mode") is None else _choice(section, "mode", raw["mode"], ("symmetric", "asymmetric")),
            per_channel=None if granularity is None else granularity == "perchannel",
            preset=preset,
            min=StatSpec.parse(f"{est_section}.min", estimator["min"]) if "min" in estimator else None,
            max=StatSpec.parse(f"{est_section}.max", estimator["max"]) if "max" in estimator else None,
        )


@dataclass(frozen=True)
class IgnoredOperation:
    """Ignore every node of ``type`` whose attributes include ``attributes``."""

    type: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


def _parse_ignored(section: str, raw: Any) -> tuple[tuple[str, ...], tuple[IgnoredOperation, ...]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{section} must be a dict with 'scope' and/or 'operations', got {raw!r}")
    check_keys(section, raw, {"scope", "operations"})
    scope = raw.get("scope", [])
    if not isinstance(scope, (list, tuple)) or not all(isinstance(s, str) for s in scope):
        raise ConfigError(f"{section}: 'scope' must be a list of node names, got {scope!r}")
    operations = []
    for index, op in enumerate(raw.get("operations", [])):
        op_section = f"{section}.operations[{index}]"
        if not isinstance(op, Mapping) or not isinstance(op.get("type"), str):
            raise ConfigError(f"{op_section} must be a dict with a 'type' string, got {op!r}")
        check_keys(op_section, op, {"type", "attributes"})
        attributes = op.get("attributes", {})
        if not isinstance(attributes, Mapping):
            raise ConfigError(f"{op_section}: 'attributes' must be a dict, got {attributes!r}")
        operations.append(IgnoredOperation(op["type"], dict(attributes)))
    return tuple(scope), tuple(operations)


QUANTIZATION_KEYS = frozenset(
    {"target_device", "preset", "stat_subset_size", "stat_batch_size", "shuffle_data", "seed", "ignored",
     "activations", "weights", "model_type", "use_fast_bias", "keep_front_end_fp32", "keep_depthwise_fp32", "front_end_waveform_convolutions",
     "smooth_quant_alphas", "sensitivity_subset_size", "sensitivity_int8_alone", "saturation_fix",
     "matmul_as_convolution"}
)


@dataclass(frozen=True)
class QuantizationParams:
    """DefaultQuantization's parameters (POT names and defaults; ``preset`` defaults to ``mixed`` instead of
    ``performance`` when ``model_type`` is ``transformer``, as in NNCF), plus speechq's own:

    ``keep_front_end_fp32`` (default true): keep the subgraphs INT8 is known to break in FP32 (an in-graph
    spectrogram / log-mel front end, the first convolutions on a raw waveform; see
    :mod:`speechq.algorithms.front_end`); ``front_end_waveform_convolutions`` (default 1): how many convolutions on a
    raw waveform that keeps. ``keep_depthwise_fp32`` (default true): keep depthwise convolutions (one input
    channel per group) in FP32. Names in ``ignored.scope`` stay FP32 in any case. ``sensitivity_subset_size`` (default
    0: off): measure each quantized layer's sensitivity on that many items with the engine's metric
    (:mod:`speechq.algorithms.sensitivity`; one evaluation per layer). ``sensitivity_int8_alone`` (default false):
    also measure each layer alone in INT8 with every other layer FP32 (a second evaluation per layer); with it,
    AccuracyAwareQuantization keeps that table as its ``sensitivity`` instead of its first ranking (which stays in
    ``result.sensitivity``).

    ``smooth_quant_alphas`` (``{"convolution": a, "matmul": b}``, each in [0, 1] or -1 for off; NNCF's defaults -1
    and 0.95 where not given): SmoothQuant's migration strength per layer type, applied with ``model_type:
    transformer``. Convolutions whose input channels differ widely in range (Wav2Vec2's feature encoder after
    its group norm) keep their accuracy in INT8 with ``convolution`` 0.95 instead of staying FP32.

    ``saturation_fix`` (POT's name and values, plus ``auto``, the default): ``all`` gives every layer 7-bit weight
    ranges, ``first_layer`` only the first one, ``no`` none. CPUs without a u8 x i8 dot product (no VNNI or AMX)
    add pairs of products into 16 bits, which saturates with full 8-bit weights; ``auto`` is ``all`` on such a CPU
    (read from /proc/cpuinfo) and ``first_layer`` elsewhere. Name ``all`` when the INT8 model will run on other
    CPUs than the one that quantizes it and any of them may lack VNNI.

    ``matmul_as_convolution`` (``auto``, the default; ``always``, ``never``): run the quantized MatMuls as 1x1
    convolutions with the same quantizers (:mod:`speechq.algorithms.matmul_layout`). The CPU plugin's int8 matrix
    product is no faster than f32's on CPUs without VNNI or AMX, its int8 1x1 convolution twice as fast; ``auto``
    rewrites on such a CPU (the same test as ``saturation_fix``) and not elsewhere.
    """

    target_device: str = "ANY"
    preset: str = "performance"
    stat_subset_size: int = DEFAULT_STAT_SUBSET_SIZE
    stat_batch_size: int = DEFAULT_STAT_BATCH_SIZE
    shuffle_data: bool = False
    seed: int = DEFAULT_SEED
    ignored_scope: tuple[str, ...] = ()
    ignored_operations: tuple[IgnoredOperation, ...] = ()
    activations: RangeSpec = field(default_factory=RangeSpec)
    weights: RangeSpec = field(default_factory=RangeSpec)
    model_type: str | None = None
    use_fast_bias: bool = True
    keep_front_end_fp32: bool = True
    keep_depthwise_fp32: bool = True
    front_end_waveform_convolutions: int = DEFAULT_FRONT_END_WAVEFORM_CONVOLUTIONS
    sensitivity_subset_size: int = 0
    sensitivity_int8_alone: bool = False
    smooth_quant_alphas: tuple[tuple[str, float], ...] = ()
    saturation_fix: str = "auto"
    matmul_as_convolution: str = "auto"

    @classmethod
    def _fields_from(cls, section: str, params: Mapping[str, Any]) -> dict[str, Any]:
        seed = params.get("seed", DEFAULT_SEED)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"{section}: 'seed' must be an integer, got {seed!r}")
        model_type = params.get("model_type")
        scope, operations = _parse_ignored(f"{section}.ignored", params.get("ignored", {}))
        if params.get("sensitivity_int8_alone") and not params.get("sensitivity_subset_size"):
            raise ConfigError(f"{section}: 'sensitivity_int8_alone' needs 'sensitivity_subset_size' (how many items "
                              f"to measure on) above 0")
        target = params.get("target_device", "ANY")
        if target in ("VPU", "GNA"):
            raise ConfigError(f"{section}: target_device {target!r} is gone from current OpenVINO; use one of {list(TARGET_DEVICES)}")
        return dict(
            target_device=_choice(section, "target_device", target, TARGET_DEVICES),
            preset=_choice(section, "preset", params.get("preset", _default_preset(model_type)), PRESETS),
            stat_subset_size=positive_int(section, "stat_subset_size", params.get("stat_subset_size", DEFAULT_STAT_SUBSET_SIZE)),
            stat_batch_size=positive_int(section, "stat_batch_size", params.get("stat_batch_size", DEFAULT_STAT_BATCH_SIZE)),
            shuffle_data=_bool(section, "shuffle_data", params.get("shuffle_data", False)),
            seed=seed,
            ignored_scope=scope,
            ignored_operations=operations,
            activations=RangeSpec.parse(f"{section}.activations", params.get("activations", {})),
            weights=RangeSpec.parse(f"{section}.weights", params.get("weights", {})),
            model_type=None if model_type is None else _choice(section, "model_type", model_type, ("transformer",)),
            use_fast_bias=_bool(section, "use_fast_bias", params.get("use_fast_bias", True)),
            keep_front_end_fp32=_bool(section, "keep_front_end_fp32", params.get("keep_front_end_fp32", True)),
            keep_depthwise_fp32=_bool(section, "keep_depthwise_fp32", params.get("keep_depthwise_fp32", True)),
            front_end_waveform_convolutions=_count(section, "front_end_waveform_convolutions", params.get(
                "front_end_waveform_convolutions", DEFAULT_FRONT_END_WAVEFORM_CONVOLUTIONS)),
            smooth_quant_alphas=_smooth_quant_alphas(f"{section}.smooth_quant_alphas",
                                                     params.get("smooth_quant_alphas", {})),
            sensitivity_subset_size=_count(section, "sensitivity_subset_size", params.get("sensitivity_subset_size", 0)),
            sensitivity_int8_alone=_bool(section, "sensitivity_int8_alone", params.get("sensitivity_int8_alone", False)),
            saturation_fix=_choice(section, "saturation_fix", params.get("saturation_fix", "auto"), SATURATION_FIXES),
            matmul_as_convolution=_choice(section, "matmul_as_convolution", params.get("matmul_as_convolution", "auto"),
                                          MATMUL_LAYOUTS),
        )

    @classmethod
    def from_dict(cls, params: Mapping[str, Any] | None, section: str = "DefaultQuantization") -> QuantizationParams:
        """Parse POT's ``params`` dict.

        Raises:
            ConfigError: unknown key (the valid ones are listed), wrong type, or value out of range.
        """
        params = dict(params or {})
        check_keys(section, params, QUANTIZATION_KEYS)
        return cls(**cls._fields_from(section, params))


@dataclass(frozen=True)
class AccuracyAwareParams(QuantizationParams):
    """AccuracyAwareQuantization's parameters: DefaultQuantization's plus the accuracy target."""

    maximal_drop: float = DEFAULT_MAXIMAL_DROP
    drop_type: str = "absolute"
    ranking_subset_size: int = DEFAULT_RANKING_SUBSET_SIZE
    max_iter_num: int | None = None
    use_prev_if_drop_increase: bool = True
    metric: str | None = None

    @classmethod
    def from_dict(cls, params: Mapping[str, Any] | None, section: str = "AccuracyAwareQuantization") -> AccuracyAwareParams:
        params = dict(params or {})
        own = {"maximal_drop", "drop_type", "ranking_subset_size", "max_iter_num", "use_prev_if_drop_increase", "metric"}
        check_keys(section, params, QUANTIZATION_KEYS | own)
        base = cls._fields_from(section, {k: v for k, v in params.items() if k not in own})
        max_iter = params.get("max_iter_num")
        metric = params.get("metric")
        if metric is not None and not isinstance(metric, str):
            raise ConfigError(f"{section}: 'metric' must be a metric name, got {metric!r}")
        return cls(
            **base,
            maximal_drop=_number(section, "maximal_drop", params.get("maximal_drop", DEFAULT_MAXIMAL_DROP), 0.0),
            drop_type=_choice(section, "drop_type", params.get("drop_type", "absolute"), ("absolute", "relative")),
            ranking_subset_size=positive_int(section, "ranking_subset_size", params.get("ranking_subset_size", DEFAULT_RANKING_SUBSET_SIZE)),
            max_iter_num=None if max_iter is None else positive_int(section, "max_iter_num", max_iter),
            use_prev_if_drop_increase=_bool(section, "use_prev_if_drop_increase", params.get("use_prev_if_drop_increase", True)),
            metric=metric,
        )
