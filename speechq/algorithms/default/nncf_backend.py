"""How DefaultQuantization's parameters become one ``nncf.quantize`` call on an OpenVINO model."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

import nncf
import openvino as ov
from nncf.common.quantization.structs import QuantizationPreset, QuantizationScheme
from nncf.quantization.advanced_parameters import (
    OverflowFix,
    AdvancedQuantizationParameters,
    AdvancedSmoothQuantParameters,
    QuantizationParameters,
)
from nncf.quantization.range_estimator import (
    AggregatorType,
    RangeEstimatorParameters,
    StatisticsCollectorParameters,
    StatisticsType,
)

from speechq.algorithms.params import IgnoredOperation, QuantizationParams, RangeSpec, StatSpec
from speechq.errors import ConfigError

__all__ = ["quantize_with_nncf", "resolve_ignored_names"]

logger = logging.getLogger(__name__)

# POT's default activation range estimators (symmetric: min of min / mean of abs-max;
# asymmetric: mean of min / mean of max).
_POT_SYMMETRIC = (StatSpec("min", "min"), StatSpec("abs_max", "mean"))
_POT_ASYMMETRIC = (StatSpec("min", "mean"), StatSpec("max", "mean"))
_QUANTILE = (StatSpec("quantile", "mean", 1e-4), StatSpec("quantile", "mean", 1e-4))


def _collector(spec: StatSpec) -> StatisticsCollectorParameters:
    return StatisticsCollectorParameters(
        statistics_type=None if spec.type is None else StatisticsType(spec.type),
        aggregator_type=None if spec.aggregator is None else AggregatorType(spec.aggregator),
        clipping_value=spec.clipping_value,
        quantile_outlier_prob=spec.outlier_prob,
    )


def _range_estimator(spec: RangeSpec, defaults: tuple[StatSpec, StatSpec] | None) -> RangeEstimatorParameters:
    if spec.preset == "quantile":
        defaults = _QUANTILE
    low = spec.min or (defaults[0] if defaults else None)
    high = spec.max or (defaults[1] if defaults else None)
    return RangeEstimatorParameters(
        min=_collector(low) if low else StatisticsCollectorParameters(),
        max=_collector(high) if high else StatisticsCollectorParameters(),
    )


def _quantization_parameters(spec: RangeSpec) -> QuantizationParameters | None:
    if spec.mode is None and spec.per_channel is None:
        return None
    mode = None if spec.mode is None else QuantizationScheme(spec.mode)
    return QuantizationParameters(num_bits=8, mode=mode, per_channel=spec.per_channel)


def effective_preset(params: QuantizationParams) -> str:
    """POT's preset after its device mapping: ``accuracy`` is ``mixed`` on CPU, GPU and ANY."""
    if params.preset == "accuracy":
        logger.info("preset 'accuracy' is treated as 'mixed' on %s, as POT did", params.target_device)
        return "mixed"
    return params.preset


def _matches(node: ov.Node, operation: IgnoredOperation) -> bool:
    if node.get_type_name() != operation.type:
        return False
    attributes = node.get_attributes()
    return all(str(attributes.get(k)) == str(v) for k, v in operation.attributes.items())


def resolve_ignored_names(model: ov.Model, params: QuantizationParams) -> list[str]:
    """Names of the nodes that ``ignored`` keeps out of quantization.

    Raises:
        ConfigError: a ``scope`` name is not a node of the model.
    """
    names = {op.get_friendly_name(): op for op in model.get_ordered_ops()}
    missing = [n for n in params.ignored_scope if n not in names]
    if missing:
        raise ConfigError(f"ignored.scope: no node named {missing} in model {model.get_friendly_name()!r}")
    result = list(params.ignored_scope)
    for operation in params.ignored_operations:
        matched = [name for name, op in names.items() if _matches(op, operation)]
        if not matched:
            logger.warning("ignored.operations: no %s node matches attributes %s", operation.type, dict(operation.attributes))
        result.extend(m for m in matched if m not in result)
    return result


# oneDNN's ISA caps (ONEDNN_MAX_CPU_ISA, which OpenVINO's CPU plugin honours) below any u8 x i8 dot product
_ONEDNN_ISAS_WITHOUT_DOT_PRODUCT = {"SSE41", "AVX", "AVX2", "AVX512_CORE"}


def _cpu_has_int8_dot_product() -> bool:
    """Whether the int8 kernels that will run multiply u8 by i8 into 32-bit sums in one step (AVX-512 VNNI, AVX-VNNI
    or AMX): read from /proc/cpuinfo, and False where ``ONEDNN_MAX_CPU_ISA`` holds oneDNN below them (``AVX2``:
    the kernels of a CPU without VNNI); True where neither tells (NNCF's own default then applies)."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper() in _ONEDNN_ISAS_WITHOUT_DOT_PRODUCT:
        return False
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return True
    if "flags" not in flags:  # not an x86 Linux cpuinfo: nothing to go by
        return True
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})


_SATURATION_FIXES = {"all": OverflowFix.ENABLE, "first_layer": OverflowFix.FIRST_LAYER, "no": OverflowFix.DISABLE}


def overflow_fix(saturation_fix: str = "auto") -> OverflowFix:
    """NNCF's overflow fix for POT's ``saturation_fix``. ``auto``: 7-bit weight ranges on every layer (``ENABLE``)
    on CPUs without a u8 x i8 dot-product instruction (or with oneDNN held below it, ``ONEDNN_MAX_CPU_ISA=AVX2``),
    where the plugin adds pairs of u8 x i8 products into 16 bits
    (AVX2 ``vpmaddubsw``), which saturates with full 8-bit weights (on the shipped DeepSpeech model this cost 1.7
    WER points against FP32, within 1 with the fix); NNCF's default, the first layer only, elsewhere."""
    if saturation_fix == "auto":
        if _cpu_has_int8_dot_product():
            return OverflowFix.FIRST_LAYER
        logger.info("this CPU has no VNNI or AMX (u8 x i8 pair sums saturate at 16 bits): 7-bit weight ranges on "
                    "every layer (saturation_fix 'all'; set saturation_fix to override)")
        return OverflowFix.ENABLE
    return _SATURATION_FIXES[saturation_fix]


def quantize_with_nncf(
    model: ov.Model,
    calibration: Sequence[Any],
    params: QuantizationParams,
    ignored: Sequence[str] = (),
    compress_weights: bool = True,
    print_progress: bool = False,
) -> ov.Model:
    """Insert FakeQuantize nodes with ranges from ``calibration`` (the exact model inputs), as NNCF does.

    Args:
        model: the FP32 model (not modified).
        calibration: input dicts, one per inference, in the order the engine fed them.
        params: DefaultQuantization parameters (``ignored`` is resolved by the caller, see
            :func:`resolve_ignored_names`).
        ignored: node names kept in FP32.
        compress_weights: fold weight FakeQuantize nodes into int8 constants (False keeps them, so that single
            layers can later be reverted to FP32).
        print_progress: show NNCF's progress bars (on stderr); silent otherwise.
    """
    preset = effective_preset(params)
    activation_defaults = _POT_SYMMETRIC if preset == "performance" else _POT_ASYMMETRIC
    advanced = AdvancedQuantizationParameters(
        activations_range_estimator_params=_range_estimator(params.activations, activation_defaults),
        weights_range_estimator_params=_range_estimator(params.weights, None),
        activations_quantization_params=_quantization_parameters(params.activations),
        weights_quantization_params=_quantization_parameters(params.weights),
        backend_params={"compress_weights": compress_weights},
        overflow_fix=overflow_fix(params.saturation_fix),
        **({"smooth_quant_alphas": AdvancedSmoothQuantParameters(**dict(params.smooth_quant_alphas))}
           if params.smooth_quant_alphas else {}),
    )
    sink = sys.stderr if print_progress else io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), _nncf_info_silenced():  # NNCF draws its progress bars on stdout
            return _quantize(model, calibration, params, preset, ignored, advanced)
    except nncf.ValidationError as error:
        raise ConfigError(f"ignored scope: {error}") from error
    except RuntimeError as error:
        refused = _SEQUENCE_REFUSED.search(str(error))
        if params.use_fast_bias or refused is None:
            raise
        raise ConfigError(
            f"use_fast_bias: false runs NNCF's BiasCorrection, which compiles parts of the model on the CPU plugin, "
            f"and the plugin refuses {refused.group(1)} {refused.group(2)!r} in them ({refused.group(0)}); use "
            f"use_fast_bias: true (the default) for this model") from error


# The CPU plugin's refusal of a recurrent sequence op whose weights BiasCorrection's subgraphs feed as non-constants.
_SEQUENCE_REFUSED = re.compile(r"(\w+Sequence) node with name '([^']+)' expects Constant for port \d+")


@contextlib.contextmanager
def _nncf_info_silenced() -> Iterator[None]:
    """NNCF's logger writes INFO lines (ignored scope, quantizers not added) to the stdout it saw at import, which
    ``redirect_stdout`` does not reach (and ``--json`` output would hold them): warnings only while it runs."""
    nncf_logger = logging.getLogger("nncf")
    level = nncf_logger.level
    nncf_logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        nncf_logger.setLevel(level)


def _quantize(model: ov.Model, calibration: Sequence[Any], params: QuantizationParams, preset: str,
              ignored: Sequence[str], advanced: AdvancedQuantizationParameters) -> ov.Model:
    return nncf.quantize(
        model,
        nncf.Dataset(list(calibration)),
        preset=QuantizationPreset(preset),
        target_device=nncf.TargetDevice(params.target_device),
        subset_size=max(1, len(calibration)),
        fast_bias_correction=params.use_fast_bias,
        model_type=None if params.model_type is None else nncf.ModelType(params.model_type),
        ignored_scope=nncf.IgnoredScope(names=sorted(set(ignored))) if ignored else None,
        advanced_parameters=advanced,
    )
