"""The loaded model, shared by every session, and the engine the pages talk to.

Streamlit 1.67's `st.cache_resource` has an `on_release` hook, but a cached function may not
draw into a container made outside it (its elements are recorded for replay), and loading must
show live progress in the sidebar. So the cache holds ONE `ModelSlot` (released with
`on_release` when the cache is cleared); the slot loads outside the cached call, keyed by
`LoadSpec`, and frees the previous model (`release_model`) before loading a different one, so
switching checkpoints never keeps two models in memory.

Load failures are remembered per session (`state.LOAD_ERROR`) instead of retried on every
rerun: a hub that cannot be reached would otherwise cost seconds on each click.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import state
from model_backend.engines.base import Engine
from model_backend.settings import LoadSpec, ServerSpec

Progress = Callable[[str, "float | None"], None]


@dataclass(frozen=True)
class LoadFailure:
    """Why the current LoadSpec did not load; `unavailable` means the hub could not be reached."""

    spec: LoadSpec
    message: str
    unavailable: bool


class ModelSlot:
    """Holds at most one loaded model and its LocalEngine; thread-safe across sessions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spec: LoadSpec | None = None
        self.loaded: Any = None
        self.engine: Engine | None = None

    def get(self, spec: LoadSpec, progress: Progress | None = None) -> Engine:
        from model_backend.engines.local import LocalEngine
        from model_backend.loading import load_model

        with self._lock:
            if self.spec == spec and self.engine is not None:
                return self.engine
            self._release_locked()  # free the old model before the new one needs the memory
            loaded = load_model(spec, progress)
            self.spec, self.loaded, self.engine = spec, loaded, LocalEngine(loaded)
            return self.engine

    def peek(self, spec: LoadSpec) -> Engine | None:
        """The engine if `spec` is the loaded one, without loading."""
        return self.engine if self.spec == spec else None

    def release(self) -> None:
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        loaded = self.loaded
        # The engine holds the model too: drop it before release_model collects and empties the
        # CUDA cache, or the old weights stay on the GPU while the next checkpoint loads.
        self.spec, self.loaded, self.engine = None, None, None
        if loaded is not None:
            from model_backend.loading import release_model

            release_model(loaded)


@st.cache_resource(show_spinner=False, on_release=ModelSlot.release)
def model_slot() -> ModelSlot:
    return ModelSlot()


@st.cache_resource(show_spinner=False, max_entries=4)
def _server_engine(spec: ServerSpec) -> Engine:
    from model_backend.engines.openai_compat import OpenAICompatEngine

    return OpenAICompatEngine(spec)


def load_failure() -> LoadFailure | None:
    failure = st.session_state.get(state.LOAD_ERROR)
    return failure if failure is not None and failure.spec == state.load_spec() else None


def ensure_engine(progress: Progress | None = None) -> Engine | None:
    """Load (or reuse) the engine the settings ask for; on failure remember why and return None."""
    override = st.session_state.get(state.ENGINE_OVERRIDE)
    if override is not None:
        return override
    if state.backend() == "server":
        server = state.server_spec()
        return _server_engine(server) if server is not None else None
    spec = state.load_spec()
    if load_failure() is not None:
        return None
    try:
        return model_slot().get(spec, progress)
    except Exception as error:  # any load failure is shown to the user, never swallowed
        st.session_state[state.LOAD_ERROR] = _failure(spec, error)
        return None


def current_engine() -> Engine | None:
    """The engine for the pages; the sidebar has already loaded it on this run."""
    return ensure_engine()


def loaded_model() -> Any:
    """The `LoadedModel` behind the local engine, if one is loaded for the current spec."""
    engine = model_slot().peek(state.load_spec())
    return getattr(engine, "loaded", None)


def retry() -> None:
    st.session_state.pop(state.LOAD_ERROR, None)


def _failure(spec: LoadSpec, error: Exception) -> LoadFailure:
    from model_backend.loading import CheckpointUnavailable, LoadError

    message = str(error) or type(error).__name__
    if not isinstance(error, LoadError):
        message = f"Loading {spec.checkpoint} failed unexpectedly ({type(error).__name__}): {message}"
    return LoadFailure(spec, message, isinstance(error, CheckpointUnavailable))
