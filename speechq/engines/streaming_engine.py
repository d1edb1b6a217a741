"""StreamingEngine: runs a recurrent model chunk by chunk over each utterance, carrying its state."""

from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
from numpy.typing import NDArray
import openvino as ov
from openvino._offline_transformations import apply_make_stateful_transformation
from tqdm import tqdm

from speechq.api.data_loader import DataLoader
from speechq.api.metric import Metric
from speechq.api.sampler import Sampler
from speechq.api.types import Sample
from speechq.engines._chunks import ChunkGeometry, UtteranceStream, split_chunks
from speechq.engines._state_pairs import StreamingLayout, find_streaming_layout
from speechq.engines.ie_engine import IEEngine, Postprocess, _RunState
from speechq.errors import ConfigError, DataError, ModelError
from speechq.model import CompressedModel

__all__ = ["StreamingEngine", "make_stateful"]

logger = logging.getLogger(__name__)


def make_stateful(model: ov.Model, state_map: Mapping[str, str] | None = None) -> ov.Model:
    """A copy of ``model`` whose state inputs/outputs become OpenVINO state (ReadValue/Assign).

    The state then stays inside the plugin between chunks instead of being copied out and back in.

    Args:
        model: an explicit-state model (state outputs feeding state inputs).
        state_map: state output -> state input; found automatically when omitted.
    """
    layout = find_streaming_layout(model, state_map)
    if not layout.state_map:
        raise ModelError(f"model {model.get_friendly_name()!r} has no state inputs to make stateful")
    copy = model.clone()
    apply_make_stateful_transformation(copy, {inp: out for out, inp in layout.state_map.items()})
    return copy


def _time_axis_of(shape: ov.PartialShape, steps: int, name: str, given: int | None) -> int:
    if given is not None:
        return given
    axes = [i for i, d in enumerate(shape) if d.is_static and d.get_length() == steps]
    if len(axes) != 1:
        raise ModelError(
            f"output {name!r} {shape}: cannot tell its time axis (no single axis of {steps} frames); give output_time_axis"
        )
    return axes[0]


class StreamingEngine(IEEngine):
    """IEEngine for recurrent models that take an utterance one chunk at a time with their state.

    For every utterance the states start at zero, the chunk input's sequence (time along ``input_time_axis``
    of the chunk input, with or without the batch axis) is cut into chunks of the input's static length, the
    last chunk is zero-padded, each state output is fed back into its state input, and the other outputs are
    joined over chunks (padding frames dropped) before ``postprocess_output`` and the metric.
    Native stateful models (ReadValue/Assign, see :func:`make_stateful`) are reset at each utterance.

    Args:
        config: IEEngine options; ``eval_requests_number`` > 1 streams that many utterances at once.
        state_map: state output name -> state input name, where automatic pairing is ambiguous.
        chunk_input: the input that takes the chunks, if more than one input is not a state input.
        input_time_axis: time axis of the chunk input (default 1, batch-major).
        output_time_axis: time axis of the joined outputs (default: the axis of ``chunk_steps`` frames).
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        data_loader: DataLoader | None = None,
        metric: Metric | None = None,
        postprocess: Postprocess | None = None,
        *,
        state_map: Mapping[str, str] | None = None,
        chunk_input: str | None = None,
        input_time_axis: int = 1,
        output_time_axis: int | None = None,
    ) -> None:
        super().__init__(config, data_loader, metric, postprocess)
        self._state_map_given = dict(state_map) if state_map is not None else None
        self._chunk_input_given = chunk_input
        self._input_time_axis = input_time_axis
        self._output_time_axis = output_time_axis
        self.layout: StreamingLayout | None = None
        self.geometry: ChunkGeometry | None = None

    @property
    def result_outputs(self) -> list[str]:
        """The model's outputs other than the state outputs fed back into the next chunk."""
        if self.layout is None:
            raise ConfigError("no model set: call engine.set_model(model) first")
        return list(self.layout.outputs)

    def set_model(self, model: CompressedModel | ov.Model) -> None:
        super().set_model(model)
        self.layout = find_streaming_layout(self.model, self._state_map_given, self._chunk_input_given)
        port = next(p for p in self.model.inputs if p.get_any_name() == self.layout.chunk_input)
        shape = port.get_partial_shape()
        if shape.rank.is_dynamic or not shape[self._input_time_axis].is_static:
            raise ModelError(
                f"chunk input {self.layout.chunk_input!r} {shape}: its time axis {self._input_time_axis} must be static "
                "(the chunk length); reshape the model to a fixed chunk length"
            )
        steps = shape[self._input_time_axis].get_length()
        outputs = {p.get_any_name(): p.get_partial_shape() for p in self.model.outputs}
        axes = {n: _time_axis_of(outputs[n], steps, n, self._output_time_axis) for n in self.layout.outputs}
        self.geometry = ChunkGeometry(
            input_axis=self._input_time_axis,
            chunk_steps=steps,
            output_axes=axes,
            output_steps={n: outputs[n][a].get_length() for n, a in axes.items()},
        )
        logger.info("streaming %s: chunks of %d steps into %r, state %s", self.model.get_friendly_name(), steps,
                    self.layout.chunk_input, dict(self.layout.state_map))

    # ---------------------------------------------------------------- one utterance
    def _start_stream(self, sample: Sample) -> UtteranceStream:
        assert self.layout is not None and self.geometry is not None
        data = sample.data
        if isinstance(data, Mapping):
            if self.layout.chunk_input not in data:
                raise DataError(f"item {sample.index}: no value for chunk input {self.layout.chunk_input!r}; got {sorted(data)}")
            data = data[self.layout.chunk_input]
        sequence = np.asarray(data)
        port = next(p for p in self.model.inputs if p.get_any_name() == self.layout.chunk_input)
        rank = port.get_partial_shape().rank.get_length()
        if sequence.ndim == rank - 1:
            sequence = sequence[np.newaxis]
        if sequence.ndim != rank:
            raise DataError(
                f"item {sample.index}: chunk input {self.layout.chunk_input!r} expects rank {rank} "
                f"({port.get_partial_shape()}, time on axis {self.geometry.input_axis}), got shape {np.asarray(data).shape}"
            )
        chunks, valid_last = split_chunks(sequence.astype(np.float32, copy=False), self.geometry.input_axis, self.geometry.chunk_steps)
        expected = port.get_partial_shape()
        if not expected.compatible(ov.PartialShape(list(chunks[0].shape))):
            raise DataError(f"item {sample.index}: chunks of shape {list(chunks[0].shape)} do not fit input {self.layout.chunk_input!r} {expected}")
        states = {}
        for state_input in self.layout.state_map.values():
            state_port = next(p for p in self.model.inputs if p.get_any_name() == state_input)
            states[state_input] = np.zeros(state_port.get_shape(), dtype=state_port.get_element_type().to_dtype())
        return UtteranceStream(chunks, valid_last, states, self.geometry, self.layout.state_map)

    def _stream_step(self, stream: UtteranceStream, outputs: list[NDArray[Any]], state: _RunState) -> None:
        state.stats.add(outputs)
        stream.accept(self._named_outputs(outputs))

    def _check_batch(self, batch: list[Sample]) -> Sample:
        if len(batch) != 1:
            raise DataError(f"StreamingEngine streams one utterance per batch; got a batch of {len(batch)} (use batch_size=1)")
        return batch[0]

    # ---------------------------------------------------------------- loops
    def _process_dataset(self, compiled: ov.CompiledModel, sampler: Sampler, state: _RunState, progress: tqdm) -> None:
        assert self.layout is not None
        request = compiled.create_infer_request()
        for batch in sampler:
            stream = self._start_stream(self._check_batch(batch))
            while not stream.done:
                inputs = stream.next_inputs(self.layout.chunk_input)
                self._stream_step(stream, self._infer(request, inputs, sample_start=stream.position == 0), state)
            self._finish_batch(batch, stream.joined(), state)
            progress.update(1)

    def _process_dataset_async(
        self, compiled: ov.CompiledModel, sampler: Sampler, state: _RunState, num_requests: int, progress: tqdm
    ) -> None:
        """``num_requests`` utterances in flight, each on its own infer request with its own state."""
        assert self.layout is not None
        requests = [compiled.create_infer_request() for _ in range(num_requests)]
        slots: list[tuple[int, list[Sample], UtteranceStream] | None] = [None] * num_requests
        samples = iter(enumerate(sampler))
        finished: dict[int, tuple[list[Sample], dict[str, NDArray[Any]]]] = {}
        next_position = 0
        exhausted = False
        stateful = bool(self.model.get_sinks())
        n_outputs = len(compiled.outputs)
        while True:
            for i in range(num_requests):
                if slots[i] is None and not exhausted:
                    nxt = next(samples, None)
                    if nxt is None:
                        exhausted = True
                    else:
                        slots[i] = (nxt[0], nxt[1], self._start_stream(self._check_batch(nxt[1])))
            active = [i for i in range(num_requests) if slots[i] is not None]
            if not active:
                break
            for i in active:
                _, _, stream = slots[i]  # type: ignore[misc]
                if stateful and stream.position == 0:
                    requests[i].reset_state()
                requests[i].start_async(stream.next_inputs(self.layout.chunk_input))
            for i in active:
                position, batch, stream = slots[i]  # type: ignore[misc]
                requests[i].wait()
                outputs = [requests[i].get_output_tensor(k).data.copy() for k in range(n_outputs)]
                self._stream_step(stream, outputs, state)
                if stream.done:
                    finished[position] = (batch, stream.joined())
                    slots[i] = None
            while next_position in finished:
                batch, joined = finished.pop(next_position)
                self._finish_batch(batch, joined, state)
                next_position += 1
                progress.update(1)
