"""An in-memory LRU cache of feature arrays, bounded in bytes."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

import numpy as np

from speechq.errors import ConfigError

__all__ = ["DEFAULT_CACHE_BYTES", "FeatureCache"]

DEFAULT_CACHE_BYTES = 512 * 2**20
"""Default bound of a loader's feature cache: 512 MiB (about 1,000 utterances of 10 s as DeepSpeech windows)."""

V = TypeVar("V")


class FeatureCache(Generic[V]):
    """Least-recently-used cache whose entries' sizes (bytes) sum to at most ``max_bytes``.

    An entry larger than ``max_bytes`` is not kept; ``max_bytes=0`` keeps nothing.

    Args:
        max_bytes: the bound in bytes (>= 0).

    Raises:
        ConfigError: ``max_bytes`` is not an integer >= 0.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 0:
            raise ConfigError(f"cache_bytes must be an integer >= 0, got {max_bytes!r}")
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> V | None:
        """The value under ``key`` (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[0]

    def put(self, key: Hashable, value: V, nbytes: int) -> bool:
        """Keep ``value`` (``nbytes`` large), evicting the least recently used; False when it cannot fit."""
        self.discard(key)
        if nbytes > self.max_bytes:
            return False
        while self._bytes + nbytes > self.max_bytes:
            _, (_, size) = self._entries.popitem(last=False)
            self._bytes -= size
        self._entries[key] = (value, nbytes)
        self._bytes += nbytes
        return True

    def discard(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1]

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
