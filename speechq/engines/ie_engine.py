"""IEEngine: POT's simplified engine on the current OpenVINO runtime."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
import openvino as ov
from tqdm import tqdm

from speechq.api.data_loader import DataLoader
from speechq.api.engine import Engine, StatsLayout
from speechq.api.metric import Metric
from speechq.api.sampler import BatchSampler, Sampler
from speechq.api.types import Sample
from speechq.engines._inputs import fill_inputs
from speechq.engines._options import EngineOptions
from speechq.engines._stats import StatsAccumulator, add_stat_outputs
from speechq.errors import ConfigError, DataError, ModelError
from speechq.model import CompressedModel, get_core

__all__ = ["IEEngine", "output_names"]

logger = logging.getLogger(__name__)

Postprocess = Callable[[dict[str, NDArray[Any]], list[dict[str, Any]]], Any]
"""``(outputs by name, per-sample metadata) -> what the metric receives``, e.g. a CTC decoder giving texts."""

InputRecorder = Callable[[dict[str, NDArray[Any]], bool], None]
"""Called with each inference's inputs and whether a new sample (utterance) starts there."""


def output_names(model: ov.Model | ov.CompiledModel) -> list[str]:
    """A name for each model output: its first tensor name, else ``output_<i>``."""
    return [port.get_any_name() if port.get_names() else f"output_{i}" for i, port in enumerate(model.outputs)]


@dataclass
class _RunState:
    """What one ``predict`` call accumulates."""

    stats: StatsAccumulator
    per_sample: bool
    per_sample_results: list[dict[str, Any]] = field(default_factory=list)


class IEEngine(Engine):
    """Runs an OpenVINO model over a DataLoader, one batch per inference, as POT's ``IEEngine``.

    Config keys (see :class:`~speechq.engines._options.EngineOptions`): ``device`` (default ``"CPU"``),
    ``inference_precision`` (default ``"f32"``: FP32 baselines really run in f32), ``stat_requests_number`` and
    ``eval_requests_number`` (infer requests in flight; 1 runs synchronously), ``num_threads``,
    ``plugin_config``, ``lengths_inputs`` (integer inputs filled with another input's length).

    Overridable hooks, as in POT: :meth:`postprocess_output`, :meth:`_fill_input`, :meth:`_update_metrics`,
    :meth:`_process_dataset` (and :meth:`_process_dataset_async`). Instead of subclassing for post-processing,
    a ``postprocess(outputs, metadata)`` callable (such as a CTC decoder) can be given.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        data_loader: DataLoader | None = None,
        metric: Metric | None = None,
        postprocess: Postprocess | None = None,
    ) -> None:
        super().__init__(config, data_loader, metric)
        self.options = EngineOptions.from_config(config)
        self._postprocess = postprocess
        self._model: ov.Model | None = None
        self._compiled: dict[tuple[Any, ...], ov.CompiledModel] = {}
        self._input_recorder: InputRecorder | None = None

    @property
    def postprocess(self) -> Postprocess | None:
        """The ``postprocess`` callable given at construction (e.g. a CTC decoder), or None."""
        return self._postprocess

    # ---------------------------------------------------------------- model
    def set_model(self, model: CompressedModel | ov.Model) -> None:
        """Use ``model`` for the following ``predict`` calls (cascades are not supported by this engine)."""
        if isinstance(model, CompressedModel):
            model = model.model
        if not isinstance(model, ov.Model):
            raise ModelError(f"set_model expects a CompressedModel or openvino.Model, got {type(model).__name__}")
        inputs = [port.get_any_name() for port in model.inputs]
        for name, (source, _) in self.options.lengths_inputs.items():
            if name not in inputs or source not in inputs:
                raise ModelError(f"engine config lengths_inputs: {name!r} <- {source!r} names an input the model "
                                 f"{model.get_friendly_name()!r} lacks; its inputs are {inputs}")
        self._model = model
        self._compiled.clear()

    def release(self) -> None:
        """Forget the compiled models, freeing their memory (the next inference compiles the model again)."""
        self._compiled.clear()

    @property
    def model(self) -> ov.Model:
        if self._model is None:
            raise ConfigError("no model set: call engine.set_model(model) first")
        return self._model

    @property
    def result_outputs(self) -> list[str]:
        """Names of the model outputs that carry results (all of them here; a streaming engine leaves out the
        state outputs it feeds back)."""
        return output_names(self.model)

    def compile(self, num_requests: int = 1, stats_layout: StatsLayout | None = None) -> tuple[ov.CompiledModel, list[Any]]:
        """The current model compiled with this engine's options (cached), plus statistics probes."""
        model, probes = add_stat_outputs(self.model, stats_layout)
        key = (num_requests, tuple(stats_layout or ()))
        if key not in self._compiled:
            properties = self.options.compile_properties(num_requests)
            try:
                self._compiled[key] = get_core().compile_model(model, self.options.device, properties)
            except RuntimeError as error:
                raise ModelError(
                    f"model {self.model.get_friendly_name()!r} cannot be compiled for {self.options.device} "
                    f"with {properties}: {str(error).strip().splitlines()[0]}"
                ) from error
        return self._compiled[key], probes

    # ---------------------------------------------------------------- predict
    def predict(
        self,
        stats_layout: StatsLayout | None = None,
        sampler: Sampler | None = None,
        stat_aliases: Mapping[str, str] | None = None,
        metric_per_sample: bool = False,
        print_progress: bool = False,
    ) -> tuple[Any, dict[str, dict[str, list[Any]]]]:
        if sampler is None:
            if self.data_loader is None:
                raise ConfigError("predict needs a sampler or an engine data_loader")
            sampler = BatchSampler(self.data_loader)
        num_requests = self.options.stat_requests_number if stats_layout else self.options.eval_requests_number
        if self._input_recorder is not None:
            num_requests = 1  # calibration inputs are recorded in inference order, one sample after another
        compiled, probes = self.compile(num_requests, stats_layout)
        state = _RunState(stats=StatsAccumulator(probes, stat_aliases), per_sample=metric_per_sample)
        if self._metric is not None:
            self._metric.reset()
        progress = tqdm(total=len(sampler), desc="inference", unit="batch", disable=not print_progress)
        try:
            if num_requests > 1:
                self._process_dataset_async(compiled, sampler, state, num_requests, progress)
            else:
                self._process_dataset(compiled, sampler, state, progress)
        finally:
            progress.close()
        return self._metrics_result(state), state.stats.stats

    def _metrics_result(self, state: _RunState) -> Any:
        if self._metric is None:
            return None
        avg = dict(self._metric.avg_value)
        if not state.per_sample:
            return avg
        return sorted(state.per_sample_results, key=lambda r: r["sample_id"]), avg

    def collect_model_inputs(self, sampler: Sampler, print_progress: bool = False) -> list[dict[str, NDArray[Any]]]:
        """Every input dict this engine feeds the model over ``sampler``, in order (the calibration set).

        A custom engine that transforms data (chunks, carried state, ...) is thus calibrated on exactly what the
        model sees at inference. Metrics are not computed. Each recorded dict carries the reserved key
        ``"nncf_reset_state"`` (True where a new sample starts) only when the model is stateful.

        Engines whose inputs do not depend on the model's outputs (see :meth:`_inputs_without_inference`) build
        them without running the model; the others run it and record what each inference is fed.
        """
        recorded: list[dict[str, NDArray[Any]]] = []
        stateful = bool(self.model.get_sinks())

        def record(inputs: dict[str, NDArray[Any]], sample_start: bool) -> None:
            item = {name: np.array(value, copy=True) for name, value in inputs.items()}
            if stateful:
                item["nncf_reset_state"] = sample_start  # type: ignore[assignment]
            recorded.append(item)

        built = self._inputs_without_inference(sampler)
        if built is not None:
            with tqdm(total=len(sampler), desc="model inputs", unit="batch", disable=not print_progress) as progress:
                for inferences in built:
                    for position, inputs in enumerate(inferences):
                        record(inputs, position == 0)
                    progress.update(1)
            return recorded
        metric, self._metric, self._input_recorder = self._metric, None, record
        try:
            self.predict(sampler=sampler, print_progress=print_progress)
        finally:
            self._metric, self._input_recorder = metric, None
        return recorded

    def _inputs_without_inference(self, sampler: Sampler) -> Iterator[list[dict[str, NDArray[Any]]]] | None:
        """For each batch of ``sampler``, the inputs of its inferences in order (the first starts the sample), built
        from the data alone; None when this engine's inputs may depend on the model's outputs. Here: one inference
        per batch through :meth:`_fill_input`, unless a subclass replaced :meth:`_process_dataset` (it may feed
        outputs back)."""
        if type(self)._process_dataset is not IEEngine._process_dataset:
            return None
        model = self.model
        return ([self._fill_input(model, [s.data for s in batch], [s.index for s in batch])] for batch in sampler)

    # ---------------------------------------------------------------- hooks
    def _process_dataset(
        self, compiled: ov.CompiledModel, sampler: Sampler, state: _RunState, progress: tqdm
    ) -> None:
        """Synchronous loop: one infer request, batches in sampler order."""
        request = compiled.create_infer_request()
        for batch in sampler:
            inputs = self._fill_input(compiled, [s.data for s in batch], [s.index for s in batch])
            outputs = self._infer(request, inputs, sample_start=True)
            state.stats.add(outputs)
            self._finish_batch(batch, self._named_outputs(outputs), state)
            progress.update(1)

    def _process_dataset_async(
        self, compiled: ov.CompiledModel, sampler: Sampler, state: _RunState, num_requests: int, progress: tqdm
    ) -> None:
        """Several infer requests in flight; results are post-processed in sampler order."""
        queue = ov.AsyncInferQueue(compiled, num_requests)
        done: dict[int, list[NDArray[Any]]] = {}
        batches: dict[int, list[Sample]] = {}

        def on_done(request: ov.InferRequest, position: int) -> None:
            done[position] = [request.get_output_tensor(i).data.copy() for i in range(len(compiled.outputs))]

        queue.set_callback(on_done)
        next_position = 0

        def drain() -> None:
            nonlocal next_position
            while next_position in done:
                outputs = done.pop(next_position)
                state.stats.add(outputs)
                self._finish_batch(batches.pop(next_position), self._named_outputs(outputs), state)
                next_position += 1
                progress.update(1)

        for position, batch in enumerate(sampler):
            batches[position] = batch
            inputs = self._fill_input(compiled, [s.data for s in batch], [s.index for s in batch])
            if self._input_recorder is not None:
                self._input_recorder(inputs, True)
            queue.start_async(inputs, position)
            drain()
        queue.wait_all()
        drain()

    def _infer(
        self, request: ov.InferRequest, inputs: dict[str, NDArray[Any]], sample_start: bool
    ) -> list[NDArray[Any]]:
        """One synchronous inference; every output copied out of the request."""
        if self._input_recorder is not None:
            self._input_recorder(inputs, sample_start)
        if sample_start and self.model.get_sinks():
            request.reset_state()
        request.infer(inputs)
        return [request.get_output_tensor(i).data.copy() for i in range(len(request.model_outputs))]

    def _named_outputs(self, outputs: list[NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """The model's own outputs by name (statistics outputs dropped)."""
        names = output_names(self.model)
        return dict(zip(names, outputs[: len(names)]))

    def _finish_batch(self, batch: list[Sample], model_outputs: dict[str, NDArray[Any]], state: _RunState) -> None:
        """Post-process one batch's outputs and feed the metric."""
        metadata = [dict(s.metadata) for s in batch]
        postprocess = self._postprocess if self._postprocess is not None else self.postprocess_output
        processed = postprocess(model_outputs, metadata)
        if self._metric is not None:
            self._update_metrics(processed, [s.annotation for s in batch], [s.index for s in batch], state)

    def _fill_input(self, model: ov.CompiledModel | ov.Model, image_batch: Sequence[Any], indices: Sequence[int] | None = None) -> dict[str, NDArray[Any]]:
        """POT hook: the model's named inputs for one batch of item data."""
        return fill_inputs(model, image_batch, indices if indices is not None else range(len(image_batch)),
                           self.options.lengths_inputs)

    @staticmethod
    def postprocess_output(outputs: dict[str, NDArray[Any]], metadata: list[dict[str, Any]]) -> Any:
        """POT hook: turn the model outputs of one batch into what the metric receives. Default: unchanged."""
        del metadata
        return outputs

    def _update_metrics(self, output: Any, annotations: list[Any], sample_ids: list[int], state: _RunState) -> None:
        """POT hook: feed one batch to the metric (a dict output becomes the list of its values)."""
        assert self._metric is not None
        if isinstance(output, Mapping):
            output = list(output.values())
        self._metric.update(output, annotations)
        if state.per_sample:
            self._collect_per_sample(sample_ids, state)

    def _collect_per_sample(self, sample_ids: list[int], state: _RunState) -> None:
        assert self._metric is not None
        for name, values in self._metric.value.items():
            values = list(np.ravel(values)) if isinstance(values, np.ndarray) else list(values)
            if len(values) != len(sample_ids):
                raise DataError(
                    f"metric {name!r}: value holds {len(values)} entries after a batch of {len(sample_ids)} "
                    "samples; per-sample metrics need one value per sample"
                )
            state.per_sample_results.extend(
                {"sample_id": sid, "metric_name": name, "result": float(v)} for sid, v in zip(sample_ids, values)
            )
