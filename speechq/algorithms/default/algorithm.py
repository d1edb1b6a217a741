"""DefaultQuantization: fast INT8 post-training quantization that needs no labels.

What it does: run the engine over the first ``stat_subset_size`` items and record every input it feeds the model
(for a streaming engine, every chunk with the state carried into it), prepare the graph (constant folding,
recurrent loops into sequence operations: see ``speechq.algorithms.graph``), find the subgraphs INT8 is known to
break (an in-graph spectrogram front end, the first convolutions on a raw waveform: ``speechq.algorithms.front_end``)
and keep them FP32 unless ``keep_front_end_fp32`` / ``keep_depthwise_fp32`` is false, then let NNCF place FakeQuantize nodes, set their ranges
from those inputs, and correct biases. The calibration set is therefore exactly what the model sees
at inference. Recurrent layers then get the shared input/state and weight scales the CPU plugin's int8 RNN
assumes (``speechq.algorithms.recurrent``). Right after NNCF, every quantized grouped convolution is also run
alone on the device against the same quantized values in f32; one the device's int8 kernel computes wrong is kept
FP32 and the model quantized again (``speechq.algorithms.kernel_check``; figures in ``miscomputed``). Last, INT8 and
FP32 outputs are compared on calibration inputs, with a warning when they drifted far (``speechq.drift``; figures
in ``drift``). On CPUs without VNNI the quantized MatMuls then become 1x1 convolutions with the same quantizers
(``speechq.algorithms.matmul_layout``; ``matmul_as_convolution``), before the weights are stored as int8.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import openvino as ov

from speechq.algorithms.base import Algorithm, calibration_indices
from speechq.drift import OutputDrift, check_drift
from speechq.algorithms.front_end import FrontEndPart, find_fp32_front_end, front_end_names
from speechq.algorithms.graph import prepare_for_quantization, store_exact_fp16_weights
from speechq.algorithms.kernel_check import miscomputed_int8_layers
from speechq.algorithms.matmul_layout import matmuls_as_convolutions, wants_matmul_as_convolution
from speechq.algorithms.recurrent import RecurrentAlignment, align_recurrent_quantizers
from speechq.algorithms.sensitivity import Sensitivity, measure_sensitivity
from speechq.api.metric import metric_directions
from speechq.api.sampler import BatchSampler
from speechq.errors import ConfigError
from speechq.model import CompressedModel, compress_model_weights

__all__ = ["DefaultQuantization"]

logger = logging.getLogger(__name__)


class DefaultQuantization(Algorithm):
    """POT's DefaultQuantization on NNCF (see :class:`~speechq.algorithms.params.QuantizationParams`)."""

    name = "DefaultQuantization"
    recurrent_alignments: list[RecurrentAlignment] = []  # noqa: RUF012  (replaced, never mutated)
    drift: list[OutputDrift] = []  # noqa: RUF012
    front_end: list[FrontEndPart] = []  # noqa: RUF012  (what the last quantization kept FP32 by default)
    miscomputed: dict[str, float] = {}  # noqa: RUF012  (layers the device's int8 kernels got wrong, kept FP32)
    as_convolution: list[str] = []  # noqa: RUF012  (quantized MatMuls run as 1x1 convolutions)
    sensitivity: Sensitivity | None = None  # per-layer, with sensitivity_subset_size > 0

    def calibration_inputs(self, model: CompressedModel, print_progress: bool = False) -> list[dict[str, Any]]:
        """The input dicts the engine feeds ``model`` over the calibration subset."""
        assert self._engine.data_loader is not None
        indices = calibration_indices(self._data_size(), self.params)
        sampler = BatchSampler(self._engine.data_loader, batch_size=self.params.stat_batch_size, subset_indices=indices)
        self._engine.set_model(model)
        inputs = self._engine.collect_model_inputs(sampler, print_progress=print_progress)
        logger.info("%s: %d calibration items gave %d model inferences", self.name, len(indices), len(inputs))
        return inputs

    def quantize(
        self, model: CompressedModel, extra_ignored: Sequence[str] = (), compress_weights: bool = True
    ) -> CompressedModel:
        """Quantize ``model``; ``extra_ignored`` node names stay FP32 on top of the configured ``ignored``."""
        if model.is_cascade:
            raise ConfigError(f"{self.name}: cascaded models are not supported (model {model.name!r})")
        # NNCF takes seconds to import: only a quantization pays for it (not `import speechq`, not `speechq eval`)
        from speechq.algorithms.default.nncf_backend import quantize_with_nncf, resolve_ignored_names

        ignored = resolve_ignored_names(model.model, self.params) + [n for n in extra_ignored]
        calibration = self.calibration_inputs(model, self.print_progress)
        self._engine.release()  # NNCF compiles the model itself: a large model's compiled copy would only cost memory
        prepared = prepare_for_quantization(model.model)
        self.front_end = self.find_front_end(prepared)
        ignored += front_end_names(self.front_end)
        quantized = quantize_with_nncf(prepared, calibration, self.params, ignored, False, self.print_progress)
        device = str(getattr(getattr(self._engine, "options", None), "device", "CPU"))
        self.miscomputed = miscomputed_int8_layers(quantized, device)
        if self.miscomputed:
            for layer, error in self.miscomputed.items():
                logger.warning("%s: the device's int8 kernel computes %r wrong (mean relative error %.2f against the "
                               "same quantized values in f32; OpenVINO %s): kept in FP32", self.name, layer, error,
                               ov.get_version())
            ignored += list(self.miscomputed)
            quantized = quantize_with_nncf(prepared, calibration, self.params, ignored, False, self.print_progress)
        self.recurrent_alignments = align_recurrent_quantizers(quantized)
        self.drift = check_drift(prepared, quantized, calibration, outputs=getattr(self._engine, "result_outputs", None))
        store_exact_fp16_weights(quantized)
        result = CompressedModel.from_ov(quantized, name=model.models[0].name)
        self.sensitivity = self.measure_sensitivity(model, result)
        if compress_weights:
            self.finish(result)
        return result

    def finish(self, model: CompressedModel) -> None:
        """The last steps, in place, once no layer changes precision any more: quantized MatMuls as 1x1
        convolutions where ``matmul_as_convolution`` asks (names in ``as_convolution``), weights stored as int8."""
        self.as_convolution = []
        if wants_matmul_as_convolution(self.params.matmul_as_convolution):
            for part in model.models:
                self.as_convolution += matmuls_as_convolutions(part.model)
        compress_model_weights(model)

    def find_front_end(self, prepared: ov.Model) -> list[FrontEndPart]:
        """The parts of ``prepared`` kept FP32 by default (``keep_front_end_fp32`` and ``keep_depthwise_fp32``
        false quantize them), logged."""
        parts = find_fp32_front_end(prepared, self.params.front_end_waveform_convolutions,
                                    front_end=self.params.keep_front_end_fp32, depthwise=self.params.keep_depthwise_fp32)
        for part in parts:
            logger.info("%s: kept in FP32 by default (%s=false quantizes it): %s", self.name, part.switch,
                        part.describe())
        return parts

    def measure_sensitivity(self, fp32: CompressedModel, int8: CompressedModel) -> Sensitivity | None:
        """Per-layer sensitivity on the first ``sensitivity_subset_size`` items (None when 0)."""
        size = min(self.params.sensitivity_subset_size, self._data_size())
        if size == 0:
            return None
        if self._engine.metric is None:
            raise ConfigError(f"{self.name}: sensitivity_subset_size needs an engine with a metric")
        directions = metric_directions(self._engine.metric)
        name = next(iter(directions))
        return measure_sensitivity(self._engine, fp32, int8, name, directions[name], list(range(size)),
                                   int8_alone=self.params.sensitivity_int8_alone)

    def run(self, model: CompressedModel) -> CompressedModel:
        return self.quantize(model)
