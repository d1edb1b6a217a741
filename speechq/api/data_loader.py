"""POT's DataLoader interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Iterator, Mapping

from speechq.api.types import Sample
from speechq.errors import DataError

__all__ = ["DataLoader", "unpack_item"]


class DataLoader(ABC):
    """A data set of model inputs with their annotations, indexed from 0.

    Subclasses implement ``__len__`` and ``__getitem__``; ``__getitem__(i)`` returns ``(data, annotation)`` or
    ``(data, annotation, metadata)`` where ``data`` is a numpy array or a dict input name -> array, and raises
    ``IndexError`` past the end (as POT's loaders did).
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config or {})

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __getitem__(self, index: int) -> Any: ...

    def __iter__(self) -> Iterator[Any]:
        for index in range(len(self)):
            yield self[index]


def unpack_item(item: Any, index: int) -> Sample:
    """Turn a loader item into a :class:`Sample`, checking its shape.

    Raises:
        DataError: the item is not ``(data, annotation)`` or ``(data, annotation, metadata)``.
    """
    if not isinstance(item, tuple) or len(item) not in (2, 3):
        raise DataError(
            f"data loader item {index}: expected (data, annotation) or (data, annotation, metadata), "
            f"got {type(item).__name__}" + (f" of length {len(item)}" if isinstance(item, tuple) else "")
        )
    metadata = item[2] if len(item) == 3 else {}
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise DataError(f"data loader item {index}: metadata must be a dict, got {type(metadata).__name__}")
    return Sample(index=index, data=item[0], annotation=item[1], metadata=metadata)
