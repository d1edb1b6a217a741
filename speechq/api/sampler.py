"""POT's samplers: which data set items an engine visits, and in which batches."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator, Sequence

from speechq.api.data_loader import DataLoader, unpack_item
from speechq.api.types import Sample
from speechq.errors import ConfigError

__all__ = ["Sampler", "BatchSampler", "IndexSampler"]


class Sampler(ABC):
    """Iterates over a DataLoader's items (all, or ``subset_indices`` in the given order).

    Each step yields one batch: a list of :class:`~speechq.api.types.Sample`.
    """

    def __init__(
        self, data_loader: DataLoader, batch_size: int = 1, subset_indices: Sequence[int] | None = None
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        self._data_loader = data_loader
        self.batch_size = batch_size
        size = len(data_loader)
        if subset_indices is None:
            subset_indices = range(size)
        indices = [int(i) for i in subset_indices]
        bad = [i for i in indices if not 0 <= i < size]
        if bad:
            raise ConfigError(f"subset_indices {bad[:5]} out of range for a data set of {size} items")
        self._subset_indices = indices

    @property
    def indices(self) -> list[int]:
        """The data set indices visited, in order."""
        return list(self._subset_indices)

    def num_samples(self) -> int:
        return len(self._subset_indices)

    @abstractmethod
    def __len__(self) -> int:
        """Number of batches."""

    @abstractmethod
    def __iter__(self) -> Iterator[list[Sample]]: ...

    def _sample(self, index: int) -> Sample:
        return unpack_item(self._data_loader[index], index)


class BatchSampler(Sampler):
    """Yields consecutive batches of ``batch_size`` samples; the last batch may be shorter."""

    def __len__(self) -> int:
        return -(-len(self._subset_indices) // self.batch_size)

    def __iter__(self) -> Iterator[list[Sample]]:
        batch: list[Sample] = []
        for index in self._subset_indices:
            batch.append(self._sample(index))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


class IndexSampler(Sampler):
    """Yields one sample per step (batch of one), in ``subset_indices`` order."""

    def __init__(self, data_loader: DataLoader, subset_indices: Sequence[int] | None = None) -> None:
        super().__init__(data_loader, batch_size=1, subset_indices=subset_indices)

    def __len__(self) -> int:
        return len(self._subset_indices)

    def __iter__(self) -> Iterator[list[Sample]]:
        for index in self._subset_indices:
            yield [self._sample(index)]
