"""A small LRU of preprocessed media, so a follow-up turn does not re-tile the same images.

Every turn re-sends the whole conversation's media to the model (the prompt is rebuilt from
the history each time), so without a cache a five-turn chat about one photo would decode and
tile it five times. Keys are the sha256 of the bytes (hex, computed once by the engine, which
also keys its vision features by it) plus every preprocessing parameter;
values stay on the CPU in float32 and are cast per request, so one entry serves any device.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class MediaCache:
    """Thread-safe LRU: several browser sessions may share one engine.

    >>> cache = MediaCache(capacity=1)
    >>> import hashlib
    >>> digest = hashlib.sha256(b"x").hexdigest()
    >>> cache.get(digest, ("tiles", 6), lambda: 1), cache.get(digest, ("tiles", 6), lambda: 2)
    (1, 1)
    """

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str, params: tuple[Hashable, ...], make: Callable[[], T]) -> T:
        """The value for (`digest` of the bytes, `params`), made by `make()` on a miss."""
        key = (digest, *params)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]  # type: ignore[return-value]
        # Preprocess outside the lock: decoding a video takes seconds and must not block others.
        value = make()
        with self._lock:
            self.misses += 1
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return value
