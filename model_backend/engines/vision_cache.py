"""Vision features kept between turns, so a follow-up about the same image runs no vision encoder.

The vision encoder is most of the wait before the first token (DESIGN.md §6: 66-76 % on CPU),
and every turn re-sends the conversation's images. This LRU keeps the encoder's output (the
`extract_feature` embeddings, one row of `num_image_token` vectors per tile) on the model's own
device, keyed by the media bytes' digest plus everything that decides the tiles (the tile plan
parameters; see `ImageConfig.cache_key`). One cache belongs to one engine, so to one loaded
model: the model is part of every key by ownership.

It is bounded by memory, not entries: InternVL2-1B's features take 0.46 MB a tile in bf16,
InternVL2-76B's 4 MB. `capacity_mb=0` turns it off. Entries larger than the whole bound are
not kept.

>>> import torch
>>> cache = VisionCache(capacity_mb=1)
>>> cache.put(("a",), torch.zeros(1, 256, 256), tiles=(1,))   # 0.25 MB, one tile
>>> features, tiles = cache.get(("a",))
>>> features.shape, tiles, cache.get(("b",))
(torch.Size([1, 256, 256]), (1,), None)
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable

import torch

VISION_CACHE_ENV = "INTERNVL_VISION_CACHE_MB"
DEFAULT_VISION_CACHE_MB = 512.0
#: What the cache keeps per key: the features (tiles, tokens per tile, hidden) and tiles per image.
Kept = tuple[torch.Tensor, tuple[int, ...]]


def default_capacity_mb() -> float:
    """`INTERNVL_VISION_CACHE_MB` when set (0 turns the cache off), else 512 MB."""
    return megabytes_from_env(VISION_CACHE_ENV, DEFAULT_VISION_CACHE_MB)


def megabytes_from_env(name: str, default: float) -> float:
    """A cache's memory bound from the environment variable `name` (0: off), else `default`."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        capacity = float(value)
    except ValueError as error:
        raise ValueError(f"{name} must be a number of megabytes, got {value!r}") from error
    if capacity < 0:
        raise ValueError(f"{name} must be 0 (off) or more, got {value!r}")
    return capacity


def tensor_bytes(value: torch.Tensor) -> int:
    return value.element_size() * value.nelement()


class BoundedCache:
    """What the engine's caches share: a bound in bytes (0: off), the bytes held, a lock, `_entries`."""

    _entries: OrderedDict | list

    def __init__(self, capacity_mb: float) -> None:
        self.capacity_bytes = int(capacity_mb * 1024 * 1024)
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity_bytes > 0

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


class VisionCache(BoundedCache):
    """Thread-safe LRU of feature tensors, bounded by their total size in bytes."""

    def __init__(self, capacity_mb: float = DEFAULT_VISION_CACHE_MB) -> None:
        super().__init__(capacity_mb)
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, Kept] = OrderedDict()

    def get(self, key: Hashable) -> Kept | None:
        """(features, tiles per image) stored under `key` (now the most recently used), or None."""
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, features: torch.Tensor, tiles: tuple[int, ...]) -> None:
        """Keep `features` (detached; `tiles`: tiles per image, e.g. per video frame), evicting least
        recently used entries until the bound holds. Pass a tensor that owns its memory (not a view
        of a larger batch), or the batch stays alive uncounted."""
        size = tensor_bytes(features)
        if size > self.capacity_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= tensor_bytes(old[0])
            self._entries[key] = (features.detach(), tuple(tiles))
            self._bytes += size
            while self._bytes > self.capacity_bytes:
                _, (evicted, _) = self._entries.popitem(last=False)
                self._bytes -= tensor_bytes(evicted)
