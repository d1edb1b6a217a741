"""Turning a batch of data set items into the model's named inputs."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
import openvino as ov

from speechq.errors import DataError

__all__ = ["fill_inputs", "input_names"]


def input_names(model: ov.Model | ov.CompiledModel) -> list[str]:
    """The first tensor name of each model input, in input order."""
    return [port.get_any_name() for port in model.inputs]


def _as_named(data: Any, names: Sequence[str], index: int, filled: Sequence[str] = ()) -> Mapping[str, Any]:
    """``data`` as ``{input name: array}``; one array names the only input not in ``filled``."""
    if isinstance(data, Mapping):
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise DataError(f"item {index}: inputs {unknown} are not model inputs; the model has {list(names)}")
        return data
    needed = [n for n in names if n not in filled]
    if len(needed) != 1:
        raise DataError(
            f"item {index}: data is one array but the model has {len(needed)} inputs {list(needed)} to feed; "
            "return a dict input name -> array"
        )
    return {needed[0]: data}


def _batch_one_input(name: str, port: Any, arrays: Sequence[NDArray[Any]], indices: Sequence[int]) -> NDArray[Any]:
    rank = port.get_partial_shape().rank
    ranks = {a.ndim for a in arrays}
    if len(ranks) != 1:
        raise DataError(f"input {name!r}: items {list(indices)} have arrays of different ranks {sorted(ranks)}")
    item_rank = ranks.pop()
    if rank.is_static and item_rank == rank.get_length() - 1:
        arrays = [a[np.newaxis] for a in arrays]
    elif rank.is_static and item_rank != rank.get_length():
        raise DataError(
            f"input {name!r} expects rank {rank.get_length()} (shape {port.get_partial_shape()}), "
            f"item {indices[0]} has shape {arrays[0].shape}"
        )
    if len(arrays) == 1:
        batched = arrays[0]
    else:
        shapes = {a.shape[1:] for a in arrays}
        if len(shapes) != 1:
            raise DataError(
                f"input {name!r}: items {list(indices)} have different shapes {sorted(shapes)} and cannot be "
                "batched; use a batch size of 1"
            )
        batched = np.concatenate(arrays, axis=0)
    if not port.get_partial_shape().compatible(ov.PartialShape(list(batched.shape))):
        raise DataError(
            f"input {name!r} expects shape {port.get_partial_shape()}, items {list(indices)[:5]} give {list(batched.shape)}"
        )
    return batched


def _lengths_value(port: Any, source: NDArray[Any], axis: int, name: str) -> NDArray[Any]:
    """``[batch]`` (or the port's rank) of ``source.shape[axis]``, in the lengths input's integer type."""
    if not -source.ndim <= axis < source.ndim:
        raise DataError(f"lengths input {name!r}: axis {axis} is outside the source input's shape {list(source.shape)}")
    dtype = np.int32 if port.get_element_type() == ov.Type.i32 else np.int64
    value = np.full(source.shape[0], source.shape[axis], dtype=dtype)
    rank = port.get_partial_shape().rank
    if rank.is_static and rank.get_length() == 2:
        value = value[:, np.newaxis]
    elif rank.is_static and rank.get_length() == 0:
        value = value.reshape(())
    return value


def fill_inputs(model: ov.Model | ov.CompiledModel, data_batch: Sequence[Any], indices: Sequence[int],
                lengths: Mapping[str, tuple[str, int]] | None = None) -> dict[str, Any]:
    """Name and batch the inputs of ``data_batch`` (one entry per item) for ``model``.

    Items are an array (single-input models) or a dict input name -> array. Each array either already has the
    model input's rank (items are concatenated along axis 0) or one less (a batch axis is added).

    ``lengths`` maps a model input that the items need not give (an integer lengths input) to ``(source input,
    axis)``: it is filled with the batched source's size along ``axis`` (samples of a waveform ``[batch, N]``:
    axis 1), one value per batch item.

    Raises:
        DataError: names do not match the model's inputs, an input is missing, or shapes cannot be batched.
    """
    lengths = dict(lengths or {})
    names = input_names(model)
    named = [_as_named(data, names, index, list(lengths)) for data, index in zip(data_batch, indices)]
    result = {}
    for name, port in zip(names, model.inputs):
        if name in lengths and not all(name in item for item in named):
            continue
        missing = [index for item, index in zip(named, indices) if name not in item]
        if missing:
            raise DataError(f"items {missing[:5]} give no value for model input {name!r}; the model has {names}")
        arrays = [np.asarray(item[name]) for item in named]
        result[name] = _batch_one_input(name, port, arrays, indices)
    for name, port in zip(names, model.inputs):
        if name not in result:
            source, axis = lengths[name]
            result[name] = _lengths_value(port, result[source], axis, name)
    return result
