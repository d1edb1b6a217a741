"""How far a model's outputs moved: a quantized model's from the FP32 model's on inputs it was calibrated on, or one
model's in the plugin's default precision from its own in f32.

A quantization that wrecks a model is silent unless someone looks: after every quantization speechq runs both
models on a few calibration inputs and warns, with the figures, when the outputs drifted far. So is a plugin
precision that computes a model wrong (``speechq.benchmark`` checks its default-precision row). For outputs over a
vocabulary (CTC logits or probabilities) the telling figure is how often the most likely symbol stays the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
import openvino as ov

from speechq.constants import F32_BASELINE_PRECISION
from speechq.model import get_core

__all__ = ["OutputDrift", "check_drift", "measure_drift", "measure_precision_drift"]

logger = logging.getLogger(__name__)

RESET_KEY = "nncf_reset_state"
MIN_AGREEMENT = 0.9  # below this share of unchanged most-likely symbols, warn
MAX_RELATIVE_ERROR = 0.25  # above this mean |INT8 - FP32| / mean |FP32|, warn


@dataclass(frozen=True)
class OutputDrift:
    """One output's drift over ``items`` inferences (INT8 against FP32, or a precision against f32).

    Attributes:
        output: output name; relative_error: mean |moved - reference| / mean |reference|; agreement: share of
        positions whose arg-max over the last axis is unchanged (None for outputs with a last axis of 1); items:
        inferences compared.
    """

    output: str
    relative_error: float
    agreement: float | None
    items: int

    @property
    def drifted(self) -> bool:
        return self.relative_error > MAX_RELATIVE_ERROR or (self.agreement is not None and self.agreement < MIN_AGREEMENT)


def _run(model: ov.Model, inputs: Sequence[Mapping[str, Any]], precision: str = F32_BASELINE_PRECISION,
         device: str = "CPU") -> list[list[NDArray[Any]]]:
    """Every output of ``model`` on each input, compiled with ``precision`` (``"default"``: the plugin's choice)."""
    properties = {} if precision == "default" else {"INFERENCE_PRECISION_HINT": precision}
    compiled = get_core().compile_model(model, device, properties)
    request = compiled.create_infer_request()
    stateful = bool(model.get_sinks())
    outputs = []
    for item in inputs:
        if stateful and item.get(RESET_KEY, False):
            request.reset_state()
        request.infer({k: v for k, v in item.items() if k != RESET_KEY})
        outputs.append([request.get_output_tensor(i).data.copy() for i in range(len(compiled.outputs))])
    return outputs


def measure_drift(fp32: ov.Model, int8: ov.Model, inputs: Sequence[Mapping[str, Any]], max_items: int = 32,
                  outputs: Sequence[str] | None = None) -> list[OutputDrift]:
    """Compare the ``outputs`` (default: all) of ``int8`` with ``fp32`` on the first ``max_items`` of ``inputs``
    (input dicts as the engine fed them; a stateful model is reset where ``nncf_reset_state`` says), both in f32
    inference precision."""
    items = list(inputs[:max_items])
    if not items:
        return []
    return _compare(fp32, _run(fp32, items), _run(int8, items), outputs)


def measure_precision_drift(model: ov.Model, inputs: Sequence[Mapping[str, Any]], precision: str = "default",
                            max_items: int = 4, device: str = "CPU") -> list[OutputDrift]:
    """How far ``model``'s outputs move when the plugin runs it in ``precision`` (``"default"``: its own choice,
    bf16 on CPUs with AVX-512 BF16 or AMX) instead of f32, on the first ``max_items`` of ``inputs``."""
    items = list(inputs[:max_items])
    if not items:
        return []
    return _compare(model, _run(model, items, device=device), _run(model, items, precision, device), None)


def _compare(model: ov.Model, reference: list[list[NDArray[Any]]], moved: list[list[NDArray[Any]]],
             outputs: Sequence[str] | None) -> list[OutputDrift]:
    """Per output of ``model`` (or of ``outputs`` only): ``moved`` (the INT8 model's, or another precision's results)
    against ``reference`` (f32), item by item."""
    names = [output.get_any_name() for output in model.outputs]
    drifts = []
    for k, name in enumerate(names):
        if outputs is not None and name not in outputs:
            continue
        ref = np.concatenate([np.asarray(r[k], np.float64).ravel() for r in reference])
        got = np.concatenate([np.asarray(m[k], np.float64).ravel() for m in moved])
        scale = float(np.mean(np.abs(ref))) or 1.0
        relative = float(np.mean(np.abs(got - ref))) / scale
        agreement = None
        if reference[0][k].ndim >= 1 and reference[0][k].shape[-1] > 1:
            same = [np.argmax(r[k], axis=-1) == np.argmax(m[k], axis=-1) for r, m in zip(reference, moved)]
            agreement = float(np.mean(np.concatenate([s.ravel() for s in same])))
        drifts.append(OutputDrift(name, relative, agreement, len(reference)))
    return drifts


def check_drift(fp32: ov.Model, int8: ov.Model, inputs: Sequence[Mapping[str, Any]], max_items: int = 32,
                outputs: Sequence[str] | None = None) -> list[OutputDrift]:
    """:func:`measure_drift`, with a warning naming each output that drifted far."""
    drifts = measure_drift(fp32, int8, inputs, max_items, outputs)
    for d in drifts:
        agreement = "" if d.agreement is None else f", most likely symbol unchanged at {100 * d.agreement:.1f}% of positions"
        if d.drifted:
            logger.warning("INT8 output %r drifted far from FP32 on %d calibration inferences: relative error %.3f%s. "
                           "Check its accuracy; AccuracyAwareQuantization puts the most harmful layers back in FP32",
                           d.output, d.items, d.relative_error, agreement)
        else:
            logger.info("INT8 output %r vs FP32: relative error %.3f%s", d.output, d.relative_error, agreement)
    return drifts
