"""Input checks shared by the greedy and beam decoders (logits rank, valid lengths)."""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np
from numpy.typing import NDArray

from speechq.errors import DataError

Lengths = Union[Sequence[Union[int, None]], NDArray[np.integer[Any]], None]
"""Per-item valid frame counts of a batch (``None`` entries: all frames), or ``None``."""


def checked_rank(logits: Any, rank: int, layout: str) -> NDArray[Any]:
    """``logits`` as an array of ``rank`` axes (``layout`` names them in the message) with a non-empty last axis."""
    array = np.asarray(logits)
    if array.ndim != rank:
        raise DataError(f"CTC logits must be {layout} ({rank}-D), got shape {array.shape}")
    if array.shape[-1] == 0:
        raise DataError(f"CTC logits {layout} have no symbols (shape {array.shape})")
    return array


def checked_length(valid_length: object, frames: int) -> int:
    """``valid_length`` (an integer, a numpy integer or a one-element integer array) checked against ``frames``."""
    if valid_length is None:
        return frames
    value = np.asarray(valid_length)
    if value.size != 1 or not np.issubdtype(value.dtype, np.integer):
        raise DataError(f"valid_length must be an integer number of output frames, got {valid_length!r}")
    length = int(value.reshape(()))
    if not 0 <= length <= frames:
        raise DataError(f"valid_length {length} is outside [0, {frames}] (the logits have {frames} frames)")
    return length


def checked_lengths(valid_lengths: Lengths, batch: int, frames: int) -> NDArray[np.int64]:
    """``[batch]`` int64 frame counts (``None`` entries and ``None`` itself mean all ``frames``)."""
    if valid_lengths is None:
        return np.full(batch, frames, dtype=np.int64)
    values = list(valid_lengths)
    if len(values) != batch:
        raise DataError(f"valid_lengths has {len(values)} entries for a batch of {batch}")
    return np.array([checked_length(v, frames) for v in values], dtype=np.int64)
