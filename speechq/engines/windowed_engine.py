"""WindowedEngine: whole-utterance models (Wav2Vec2-style) on long audio, in overlapping windows.

Each window of ``window_samples`` is run on its own; ``context_samples`` at each inner edge give the frames
there enough left/right context and are then dropped; the kept centre frames are joined. Memory and time per
inference stay bounded whatever the utterance length (steps: ``window_starts`` -> infer -> ``trim_context``
-> concatenate, as Hugging Face's ASR pipeline chunks with strides).
"""

from __future__ import annotations

import logging
import math
from typing import Any, Iterator, Mapping

import numpy as np
from numpy.typing import NDArray
import openvino as ov
from tqdm import tqdm

from speechq.api.data_loader import DataLoader
from speechq.api.metric import Metric
from speechq.api.sampler import Sampler
from speechq.api.types import Sample
from speechq.engines._options import positive_int
from speechq.engines.ie_engine import IEEngine, Postprocess, _RunState
from speechq.errors import ConfigError, DataError, ModelError

__all__ = ["WindowedEngine", "window_starts"]

logger = logging.getLogger(__name__)


def window_starts(num_samples: int, window_samples: int, step_samples: int) -> list[int]:
    """Start sample of each window so that windows of ``window_samples`` every ``step_samples`` cover the audio."""
    if num_samples <= window_samples:
        return [0]
    count = math.ceil((num_samples - window_samples) / step_samples) + 1
    return [k * step_samples for k in range(count)]


class WindowedEngine(IEEngine):
    """IEEngine that runs each utterance in overlapping windows and joins the centre frames.

    Args:
        window_samples: samples per window (e.g. 20 s = 320000 at 16 kHz).
        context_samples: samples of overlap kept as context at each inner window edge (dropped from the output).
        hop_samples: input samples per output frame (Wav2Vec2: 320); measured on the model when omitted.
        input_name: the audio input (default: the model's only input).
        output_time_axis: time axis of the outputs (default 1, ``[batch, frames, vocabulary]``).
        Utterances no longer than a window run in one inference, exactly as with IEEngine.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        data_loader: DataLoader | None = None,
        metric: Metric | None = None,
        postprocess: Postprocess | None = None,
        *,
        window_samples: int = 320_000,
        context_samples: int = 32_000,
        hop_samples: int | None = None,
        input_name: str | None = None,
        output_time_axis: int = 1,
    ) -> None:
        super().__init__(config, data_loader, metric, postprocess)
        self.window_samples = positive_int("WindowedEngine", "window_samples", window_samples)
        if isinstance(context_samples, bool) or not isinstance(context_samples, int) or context_samples < 0:
            raise ConfigError(f"WindowedEngine: 'context_samples' must be an integer >= 0, got {context_samples!r}")
        if 2 * context_samples >= window_samples:
            raise ConfigError(
                f"WindowedEngine: 2 * context_samples ({2 * context_samples}) must be smaller than window_samples ({window_samples})"
            )
        self.context_samples = context_samples
        self._hop_given = None if hop_samples is None else positive_int("WindowedEngine", "hop_samples", hop_samples)
        self.hop_samples: int | None = self._hop_given
        self._input_name = input_name
        self.output_time_axis = output_time_axis

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        names = [p.get_any_name() for p in self.model.inputs]
        if self._input_name is None and len(names) != 1:
            raise ModelError(f"WindowedEngine: the model has inputs {names}; give input_name (the audio input)")
        if self._input_name is not None and self._input_name not in names:
            raise ModelError(f"WindowedEngine: input_name {self._input_name!r} is not a model input {names}")
        shape = next(p for p in self.model.inputs if p.get_any_name() == self.audio_input).get_partial_shape()
        if shape.rank.is_dynamic or shape.rank.get_length() != 2 or shape[1].is_static:
            raise ModelError(
                f"WindowedEngine: audio input {self.audio_input!r} must be [batch, samples] with a dynamic number of "
                f"samples, got {shape}; reshape it with model.reshape({{{self.audio_input!r}: [1, -1]}})"
            )
        self.hop_samples = self._hop_given

    @property
    def audio_input(self) -> str:
        return self._input_name or self.model.inputs[0].get_any_name()

    def _frames(self, request: ov.InferRequest, num_samples: int) -> int:
        request.infer({self.audio_input: np.zeros((1, num_samples), np.float32)})
        return int(request.get_output_tensor(0).data.shape[self.output_time_axis])

    def _measure_hop(self, request: ov.InferRequest) -> int:
        """Samples per output frame: the slope of frames over input length (a convolutional front end loses a
        frame or so at the edges, so one length alone over-estimates it)."""
        long, short = self.window_samples, self.window_samples // 2
        frames_long, frames_short = self._frames(request, long), self._frames(request, short)
        if frames_long <= frames_short:
            raise ModelError(f"WindowedEngine: {long} and {short} samples give {frames_long} and {frames_short} frames; give hop_samples")
        hop = max(1, round((long - short) / (frames_long - frames_short)))
        logger.info("WindowedEngine: %d samples per output frame", hop)
        return hop

    def _audio(self, sample: Sample) -> NDArray[np.float32]:
        data = sample.data
        if isinstance(data, Mapping):
            if self.audio_input not in data:
                raise DataError(f"item {sample.index}: no value for audio input {self.audio_input!r}; got {sorted(data)}")
            data = data[self.audio_input]
        audio = np.asarray(data, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[np.newaxis]
        if audio.ndim != 2 or audio.shape[0] != 1:
            raise DataError(f"item {sample.index}: audio for {self.audio_input!r} must be [N] or [1, N], got {list(np.shape(data))}")
        return audio

    def _utterance(self, batch: list[Sample]) -> NDArray[np.float32]:
        """The audio of a batch's one utterance, ``[1, N]``."""
        if len(batch) != 1:
            raise DataError(f"WindowedEngine runs one utterance per batch; got a batch of {len(batch)} (use batch_size=1)")
        return self._audio(batch[0])

    def _windows(self, audio: NDArray[np.float32], hop: int) -> tuple[list[NDArray[np.float32]], int, int]:
        """The windows of one utterance, the context to drop at inner edges and the step, both in output frames."""
        context_frames = self.context_samples // hop
        step_frames = (self.window_samples - 2 * context_frames * hop) // hop  # windows start on whole frames
        starts = window_starts(audio.shape[1], self.window_samples, step_frames * hop)
        return [audio[:, s : s + self.window_samples] for s in starts], context_frames, step_frames

    def _trim_context(
        self, outputs: list[NDArray[Any]], index: int, count: int, context_frames: int, step_frames: int
    ) -> list[NDArray[Any]]:
        """Window ``index`` keeps global frames [index * step + context, (index + 1) * step + context), the first
        from frame 0 and the last to its end, so that the kept frames tile the utterance without gap or overlap.

        A convolutional front end without padding yields a frame or so fewer than ``window / hop``; those missing
        frames lie in the right context (dropped anyway) unless ``context_samples`` is 0, where each inner window
        boundary then loses them."""
        trimmed = []
        start = 0 if index == 0 else context_frames
        for value in outputs:
            frames = value.shape[self.output_time_axis]
            stop = frames if index == count - 1 else min(frames, context_frames + step_frames)
            trimmed.append(np.take(value, np.arange(start, stop), axis=self.output_time_axis))
        return trimmed

    def _inputs_without_inference(self, sampler: Sampler) -> Iterator[list[dict[str, NDArray[Any]]]] | None:
        """Each utterance's windows (the model runs only to measure ``hop_samples`` when an utterance needs more
        than one window and the hop was not given)."""
        if type(self)._process_dataset is not WindowedEngine._process_dataset:
            return None
        return (self._batch_windows(batch) for batch in sampler)

    def _batch_windows(self, batch: list[Sample]) -> list[dict[str, NDArray[Any]]]:
        audio = self._utterance(batch)
        if audio.shape[1] <= self.window_samples:
            return [{self.audio_input: audio}]
        if self.hop_samples is None:
            compiled, _ = self.compile()
            self.hop_samples = self._measure_hop(compiled.create_infer_request())
        return [{self.audio_input: window} for window in self._windows(audio, self.hop_samples)[0]]

    def _process_dataset(self, compiled: ov.CompiledModel, sampler: Sampler, state: _RunState, progress: tqdm) -> None:
        request = compiled.create_infer_request()
        n_model_outputs = len(self.model.outputs)
        for batch in sampler:
            audio = self._utterance(batch)
            if self.hop_samples is None:
                self.hop_samples = self._measure_hop(request)
            windows, context_frames, step_frames = self._windows(audio, self.hop_samples)
            kept: list[list[NDArray[Any]]] = []
            for index, window in enumerate(windows):
                outputs = self._infer(request, {self.audio_input: window}, sample_start=index == 0)
                state.stats.add(outputs)
                kept.append(self._trim_context(outputs[:n_model_outputs], index, len(windows), context_frames, step_frames))
            joined = [np.concatenate(parts, axis=self.output_time_axis) for parts in zip(*kept)]
            self._finish_batch(batch, self._named_outputs(joined), state)
            progress.update(1)

    def _process_dataset_async(
        self, compiled: ov.CompiledModel, sampler: Sampler, state: _RunState, num_requests: int, progress: tqdm
    ) -> None:
        """Windows run one after another on one request (the plugin's threads share each window's work)."""
        logger.info("WindowedEngine: %d requests asked; windows run one after another", num_requests)
        self._process_dataset(compiled, sampler, state, progress)
