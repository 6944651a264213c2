"""Several loaded checkpoints at once, within a memory budget, shared by every user of one process.

The pool is keyed by `LoadSpec`. `lease(spec)` loads the checkpoint if needed and marks it busy
while the caller generates; a busy model is never evicted. When a new checkpoint needs room,
the least recently used idle ones go first. A spec is resolved and checked (`prepare_load`)
before anything is evicted, so a typo or a folder that is not a checkpoint leaves every loaded
model as it was. Two callers asking for the same spec share one load: the second waits and
sees the first one's progress.

>>> pool = ModelPool(budget_gb=8.0)                                   # doctest: +SKIP
>>> with pool.lease(LoadSpec("demo", dtype="float32")) as engine:    # doctest: +SKIP
...     engine.stream(conversation, GenerationSettings(), threading.Event()).text()
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from i18n import Text
from model_backend.engines.base import Engine
from model_backend.errors import BackendError
from model_backend.settings import LoadSpec

#: `progress(message, fraction or None)`: the message is a `Text` (the pages word it in the visitor's language).
Progress = Callable[["Text | str", "float | None"], None]
BUDGET_ENV = "INTERNVL_MEMORY_BUDGET_GB"
#: Left free for activations, the KV cache and the rest of the process.
MARGIN_GB = 1.0
#: Share of the available RAM the pool may fill on a machine without a GPU.
CPU_SHARE = 0.6
_WAIT_POLL_S = 0.2


class PoolFullError(BackendError, RuntimeError):
    """The checkpoint does not fit next to the models that are answering right now."""


@dataclass(frozen=True)
class Resident:
    """What the sidebar shows about one loaded checkpoint."""

    spec: LoadSpec
    memory_gb: float
    busy: int
    label: str


@dataclass
class _Entry:
    spec: LoadSpec
    loaded: Any
    engine: Engine
    memory_gb: float
    #: What counts against the budget: the estimate (weights + working memory) when it is larger,
    #: plus the bounds of the engine's vision-feature and KV caches.
    charged_gb: float
    last_used: float = field(default_factory=time.monotonic)
    busy: int = 0


@dataclass
class _Loading:
    """A load in progress; later callers for the same spec wait on `done` and read `message`."""

    reserved_gb: float = 0.0
    message: Text | str = ""
    fraction: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


def default_budget_gb() -> float:
    """$INTERNVL_MEMORY_BUDGET_GB, else the free GPU memory (or a share of free RAM) minus a margin."""
    configured = os.environ.get(BUDGET_ENV, "").strip()
    if configured:
        return float(configured)
    import torch

    if torch.cuda.is_available():
        free = sum(torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count())) / 1e9
        return max(free - MARGIN_GB, 0.0)
    return max(_available_ram_gb() * CPU_SHARE - MARGIN_GB, 0.0)


def _available_ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


class ModelPool:
    """Loaded checkpoints keyed by LoadSpec, within `budget_gb`; thread-safe across sessions."""

    def __init__(self, budget_gb: float | None = None) -> None:
        self.budget_gb = default_budget_gb() if budget_gb is None else budget_gb
        self._lock = threading.Lock()
        self._entries: dict[LoadSpec, _Entry] = {}
        self._loading: dict[LoadSpec, _Loading] = {}

    # -- asking for a model ------------------------------------------------------------------

    @contextmanager
    def lease(self, spec: LoadSpec, progress: Progress | None = None) -> Iterator[Engine]:
        """The engine for `spec`, loaded if needed and kept from eviction until the block ends."""
        entry = self._acquire(spec, progress)
        try:
            yield entry.engine
        finally:
            with self._lock:
                entry.busy -= 1
                entry.last_used = time.monotonic()

    def get(self, spec: LoadSpec, progress: Progress | None = None) -> Engine:
        """The engine for `spec`, loaded if needed (not marked busy: for showing, not generating)."""
        with self.lease(spec, progress) as engine:
            return engine

    def peek(self, spec: LoadSpec) -> Engine | None:
        """The engine if `spec` is resident, without loading."""
        with self._lock:
            entry = self._entries.get(spec)
            return entry.engine if entry is not None else None

    def loaded(self, spec: LoadSpec) -> Any:
        """The `LoadedModel` behind a resident spec, else None."""
        with self._lock:
            entry = self._entries.get(spec)
            return entry.loaded if entry is not None else None

    def loading_message(self, spec: LoadSpec) -> Text | str | None:
        with self._lock:
            loading = self._loading.get(spec)
            return loading.message if loading is not None else None

    def residents(self) -> list[Resident]:
        """Loaded checkpoints, most recently used first."""
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: e.last_used, reverse=True)
            return [Resident(e.spec, e.memory_gb, e.busy, e.engine.label) for e in entries]

    def used_gb(self) -> float:
        with self._lock:
            return self._used_locked()

    # -- giving memory back ------------------------------------------------------------------

    def evict(self, spec: LoadSpec) -> bool:
        """Unload `spec` unless it is answering; True when it was unloaded."""
        with self._lock:
            entry = self._entries.get(spec)
            if entry is None or entry.busy:
                return False
            del self._entries[spec]
        _release(entry)
        return True

    def close(self) -> None:
        """Unload every model (used when the app's resource cache is cleared)."""
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            _release(entry)

    # -- internals ---------------------------------------------------------------------------

    def _acquire(self, spec: LoadSpec, progress: Progress | None) -> _Entry:
        report = progress or (lambda message, fraction: None)
        while True:
            with self._lock:
                entry = self._entries.get(spec)
                if entry is not None:
                    entry.busy += 1
                    entry.last_used = time.monotonic()
                    return entry
                loading = self._loading.get(spec)
                mine = loading is None
                if mine:
                    loading = self._loading[spec] = _Loading()
            if mine:
                self._load(spec, loading, report)
            else:
                self._wait_for(spec, loading, report)
            # loop: take the lease on the entry the load made (or raise its error)

    def _wait_for(self, spec: LoadSpec, loading: _Loading, report: Progress) -> None:
        shown: tuple[Text | str, float | None] | None = None
        while not loading.done.wait(_WAIT_POLL_S):
            if (loading.message, loading.fraction) != shown:
                shown = (loading.message, loading.fraction)
                # The load's own stage is in the loading session's words; this one hears whose load it waits for.
                report(Text("load.progress.elsewhere", {"checkpoint": spec.checkpoint}), loading.fraction)
        if loading.error is not None:
            raise loading.error

    def _load(self, spec: LoadSpec, loading: _Loading, report: Progress) -> None:
        from model_backend.checkpoints.loading import load_prepared, prepare_load
        from model_backend.engines.local import LocalEngine

        def progress(message: Text | str, fraction: float | None) -> None:
            loading.message, loading.fraction = message, fraction
            report(message, fraction)

        evicted: list[_Entry] = []
        try:
            prepared = prepare_load(spec, progress)
            estimate = prepared.estimated_memory_gb() or 0.0
            with self._lock:
                evicted = self._make_room_locked(spec, estimate)
                loading.reserved_gb = estimate
            for entry in evicted:
                _release(entry)
            loaded = load_prepared(prepared, progress)
            engine = LocalEngine(loaded)
            memory = loaded.memory_gb if loaded.memory_gb is not None else estimate
            # The engine's caches fill up to their bounds as people talk: charged from the start.
            charged = max(memory, estimate) + engine.cache_capacity_gb
            with self._lock:
                self._entries[spec] = _Entry(spec, loaded, engine, memory, charged)
        except BaseException as error:
            loading.error = error
            raise
        finally:
            with self._lock:
                self._loading.pop(spec, None)
            loading.done.set()

    def _make_room_locked(self, spec: LoadSpec, needed_gb: float) -> list[_Entry]:
        """Idle entries to evict (least recently used first) so `needed_gb` fits; raises if busy ones block it."""
        used = self._used_locked()
        if used + needed_gb <= self.budget_gb:
            return []
        idle = sorted((e for e in self._entries.values() if not e.busy), key=lambda e: e.last_used)
        chosen: list[_Entry] = []
        for entry in idle:
            if used + needed_gb <= self.budget_gb:
                break
            chosen.append(entry)
            used -= entry.charged_gb
        blocked = used + needed_gb > self.budget_gb and any(e.busy for e in self._entries.values())
        if blocked:
            answering = ", ".join(e.spec.checkpoint for e in self._entries.values() if e.busy)
            raise PoolFullError(
                "load.pool_full",
                checkpoint=spec.checkpoint,
                needed=f"{needed_gb:.1f}",
                budget=f"{self.budget_gb:.1f}",
                answering=answering,
            )
        # Alone in an empty pool a model may exceed the budget: the budget is a guard, the load decides.
        for entry in chosen:
            del self._entries[entry.spec]
        return chosen

    def _used_locked(self) -> float:
        reserved = sum(loading.reserved_gb for loading in self._loading.values())
        return sum(e.charged_gb for e in self._entries.values()) + reserved


def _release(entry: _Entry) -> None:
    from model_backend.checkpoints.loading import release_model

    loaded = entry.loaded
    # The engine holds the model too: drop it before release_model collects and empties the CUDA
    # cache, or the old weights stay on the GPU while the next checkpoint loads.
    entry.engine = entry.loaded = None  # type: ignore[assignment]
    release_model(loaded)
