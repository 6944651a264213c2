"""KV caches of earlier answers, so a follow-up prefills only what is new in its prompt.

After the vision encoder (cached by `VisionCache`), the rest of a follow-up's wait is the
prefill of the whole conversation, which `model.chat` computes again every turn. This store
keeps, per engine (so per loaded model), the language model's KV cache at the end of recent
answers, each labelled with the positions it holds (`marks`: the token ids, with every image
position replaced by a mark of the image's cache key, because all image positions share one
token id). A new prompt takes the entry with the longest common prefix of marks and prefills
only the rest. A change that alters the prompt (system prompt, tile budget, an edited turn,
another image) changes the marks, so it shares a shorter prefix or none: the cache cannot
serve a wrong one.

One generation at a time per entry: an entry whose positions are all a prefix of the new
prompt is taken out of the store (the generation extends it and puts it back); an entry that
shares only a part (a regenerate, an edit, another conversation with the same system prompt)
gives a copy of that part and stays. Memory is bounded by bytes and entries, in LRU order.

Recomputing from a kept prefix changes the shapes of the matrix products, so in float32 the
logits differ from a full prefill in the last bits (1e-6 measured on the demo families); the
parity suite checks that greedy answers still equal `model.chat`'s (DESIGN.md, issue #9).

>>> import torch
>>> from transformers import DynamicCache
>>> store = PrefixCache(capacity_mb=1)
>>> cache = DynamicCache(); _ = cache.update(torch.zeros(1, 1, 4, 2), torch.zeros(1, 1, 4, 2), 0)
>>> store.put(torch.tensor([5, 6, 7, 8]), cache)
>>> taken = store.take(torch.tensor([5, 6, 9, 9, 9]))
>>> taken.reused, len(store)   # 2 positions shared: a copy of them, the entry stays
(2, 1)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from transformers import DynamicCache

from model_backend.engines.vision_cache import BoundedCache, megabytes_from_env, tensor_bytes

PREFIX_CACHE_ENV = "INTERNVL_PREFIX_CACHE_MB"
DEFAULT_PREFIX_CACHE_MB = 512.0
DEFAULT_MAX_ENTRIES = 16


def default_capacity_mb() -> float:
    """`INTERNVL_PREFIX_CACHE_MB` when set (0 turns KV prefix reuse off), else 512 MB."""
    return megabytes_from_env(PREFIX_CACHE_ENV, DEFAULT_PREFIX_CACHE_MB)


def media_mark(key: tuple) -> int:
    """A negative number standing for one image (its cache key), unlike any token id."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=7).digest()
    return -1 - int.from_bytes(digest, "big")


@dataclass
class TakenPrefix:
    """A cache to generate on (`reused` positions already computed; an empty cache on a miss)."""

    cache: DynamicCache
    reused: int


@dataclass(eq=False)  # entries are found by identity: comparing tensors is not a bool
class _Entry:
    marks: torch.Tensor  # 1-D int64 on the CPU, one per cached position
    cache: DynamicCache
    size: int


class PrefixCache(BoundedCache):
    """Thread-safe LRU of KV caches labelled by their positions' marks, bounded by bytes and count."""

    def __init__(self, capacity_mb: float = DEFAULT_PREFIX_CACHE_MB, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        super().__init__(capacity_mb)
        self.max_entries = max_entries
        self._entries: list[_Entry] = []  # least recently used first

    def take(self, marks: torch.Tensor) -> TakenPrefix:
        """The best kept prefix of `marks` for one generation; at least the last position is left
        to compute, since generating starts from its logits."""
        with self._lock:
            best, shared = None, 0
            for entry in self._entries:
                common = common_prefix(entry.marks, marks)
                if common >= shared and common > 0:  # later entries are more recent: ties go to them
                    best, shared = entry, common
            if best is None:
                return TakenPrefix(DynamicCache(), 0)
            reused = min(shared, len(marks) - 1)
            if reused == len(best.marks):
                self._entries.remove(best)
                self._bytes -= best.size
                return TakenPrefix(best.cache, reused)
            return TakenPrefix(_copy_prefix(best.cache, reused), reused)

    def put(self, marks: torch.Tensor, cache: DynamicCache) -> None:
        """Keep `cache`, whose positions are labelled `marks`, evicting the least recently used."""
        if cache.get_seq_length() != len(marks):
            return  # a cache whose positions are not all known cannot be matched safely
        size = sum(tensor_bytes(t) for t in (*cache.key_cache, *cache.value_cache))
        if size > self.capacity_bytes:
            return
        with self._lock:
            self._entries.append(_Entry(marks.cpu(), cache, size))
            self._bytes += size
            while self._bytes > self.capacity_bytes or len(self._entries) > self.max_entries:
                self._bytes -= self._entries.pop(0).size


def common_prefix(a: torch.Tensor, b: torch.Tensor) -> int:
    length = min(len(a), len(b))
    differs = (a[:length] != b[:length]).nonzero()
    return int(differs[0]) if len(differs) else length


def _copy_prefix(cache: DynamicCache, length: int) -> DynamicCache:
    """A new cache with copies of the first `length` positions (the kept one is never changed)."""
    copy = DynamicCache()
    for layer, (key, value) in enumerate(zip(cache.key_cache, cache.value_cache, strict=True)):
        copy.update(key[..., :length, :].clone(), value[..., :length, :].clone(), layer)
    return copy
