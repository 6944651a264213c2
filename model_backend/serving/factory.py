"""The one place that turns settings into an engine, for the CLI and the app alike.

A `LoadSpec` gets a `LocalEngine` from the shared `ModelPool`; a `ServerSpec` gets an
`OpenAICompatEngine` (kept per spec, since it holds an HTTP client). `lease` marks a local model
busy while a caller generates, so the pool never evicts it mid-answer. An engine made elsewhere
can be registered under a checkpoint name (`register`) and is then offered like that checkpoint.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from model_backend.engines.base import Engine
from model_backend.serving.pool import ModelPool, Progress
from model_backend.settings import LoadSpec, ServerSpec

#: What to answer with: a checkpoint, a server, or a ready engine object (used as it is).
Target = LoadSpec | ServerSpec | Engine
_SERVER_ENGINES = 4


class EngineFactory:
    """Engines for local checkpoints (through `pool`) and for OpenAI-compatible servers."""

    def __init__(self, pool: ModelPool | None = None) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._servers: OrderedDict[ServerSpec, Engine] = OrderedDict()
        self._registered: dict[str, Engine] = {}

    @property
    def pool(self) -> ModelPool:
        with self._lock:
            if self._pool is None:  # made on first local use: the remote-only CLI never imports torch
                self._pool = ModelPool()
            return self._pool

    def register(self, checkpoint: str, engine: Engine) -> None:
        """Answer every `LoadSpec` of `checkpoint` with `engine`, outside the pool.

        For an engine made elsewhere that the app should offer like a checkpoint: an embedding
        app's own engine, or a test's scripted one (tests/app/conftest.py registers its fakes so).
        """
        with self._lock:
            self._registered[checkpoint] = engine

    def unregister(self, checkpoint: str) -> None:
        with self._lock:
            self._registered.pop(checkpoint, None)

    def registered(self, target: Target) -> Engine | None:
        if not isinstance(target, LoadSpec):
            return None
        with self._lock:
            return self._registered.get(target.checkpoint)

    @contextmanager
    def lease(self, target: Target, progress: Progress | None = None) -> Iterator[Engine]:
        """The engine for `target`; a local model stays loaded (never evicted) until the block ends."""
        own = self.registered(target)
        if own is not None:
            yield own
        elif isinstance(target, LoadSpec):
            with self.pool.lease(target, progress) as engine:
                yield engine
        elif isinstance(target, ServerSpec):
            yield self._server(target)
        else:
            yield target

    def get(self, target: Target, progress: Progress | None = None) -> Engine:
        with self.lease(target, progress) as engine:
            return engine

    def _server(self, spec: ServerSpec) -> Engine:
        from model_backend.engines.openai_compat import OpenAICompatEngine

        with self._lock:
            engine = self._servers.pop(spec, None) or OpenAICompatEngine(spec)
            self._servers[spec] = engine
            while len(self._servers) > _SERVER_ENGINES:
                self._servers.popitem(last=False)
            return engine
