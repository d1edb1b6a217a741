"""One utterance streamed through a recurrent model: chunking, carried state, joining the outputs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from numpy.typing import NDArray

__all__ = ["ChunkGeometry", "UtteranceStream", "split_chunks"]


def split_chunks(sequence: NDArray[Any], axis: int, size: int) -> tuple[list[NDArray[Any]], int]:
    """Cut ``sequence`` along ``axis`` into chunks of ``size`` steps, zero-padding the last one.

    Returns:
        ``(chunks, valid_steps_of_last_chunk)``; an empty sequence gives one all-zero chunk with 0 valid steps.
    """
    steps = sequence.shape[axis]
    count = max(1, math.ceil(steps / size))
    padded_shape = list(sequence.shape)
    padded_shape[axis] = count * size
    padded = np.zeros(padded_shape, dtype=sequence.dtype)
    index = [slice(None)] * sequence.ndim
    index[axis] = slice(0, steps)
    padded[tuple(index)] = sequence
    chunks = np.split(padded, count, axis=axis)
    return chunks, steps - (count - 1) * size


@dataclass(frozen=True)
class ChunkGeometry:
    """Where time runs in the chunk input and in each joined output, and how many steps a chunk holds.

    Attributes:
        input_axis: time axis of the chunk input (batch axis included).
        chunk_steps: input steps per chunk.
        output_axes: output name -> its time axis.
        output_steps: output name -> output frames per chunk.
    """

    input_axis: int
    chunk_steps: int
    output_axes: Mapping[str, int]
    output_steps: Mapping[str, int]

    def valid_output_frames(self, name: str, valid_input_steps: int) -> int:
        return math.ceil(valid_input_steps * self.output_steps[name] / self.chunk_steps)


@dataclass
class UtteranceStream:
    """The chunks of one utterance, the state carried between them and the outputs gathered so far."""

    chunks: list[NDArray[Any]]
    valid_last: int
    states: dict[str, NDArray[Any]]
    geometry: ChunkGeometry
    state_map: Mapping[str, str]
    position: int = 0
    gathered: dict[str, list[NDArray[Any]]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.position >= len(self.chunks)

    def next_inputs(self, chunk_input: str) -> dict[str, NDArray[Any]]:
        return {chunk_input: self.chunks[self.position], **self.states}

    def accept(self, outputs: Mapping[str, NDArray[Any]]) -> None:
        """Take one chunk's outputs: carry state outputs into the next inputs, keep the others."""
        for out_name, in_name in self.state_map.items():
            self.states[in_name] = outputs[out_name]
        last = self.position == len(self.chunks) - 1
        for name, axis in self.geometry.output_axes.items():
            value = outputs[name]
            if last:
                keep = self.geometry.valid_output_frames(name, self.valid_last)
                value = np.take(value, np.arange(keep), axis=axis)
            self.gathered.setdefault(name, []).append(value)
        self.position += 1

    def joined(self) -> dict[str, NDArray[Any]]:
        """Each output joined over all chunks along its time axis (padding frames removed)."""
        return {name: np.concatenate(parts, axis=self.geometry.output_axes[name]) for name, parts in self.gathered.items()}
