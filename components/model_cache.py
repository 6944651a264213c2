"""The app's shared services (model pool, engine factory, conversation store, answer runs) and
the engine each session asks for.

Streamlit owns their lifetime: one `Services` per server process in `st.cache_resource`, closed
(models unloaded) when that cache is cleared. Loading runs in the session that asks, so its
sidebar shows live progress; other sessions asking for the same checkpoint wait for that load.

Load failures are remembered per session (`state.LOAD_ERROR`) instead of retried on every
rerun: a hub that cannot be reached would otherwise cost seconds on each click. Each is kept as
the error itself (an `ExplainedError`: shown in the visitor's language, details folded away).

Only admins point the app at an OpenAI-compatible server (`model_backend.serving.access`): a session of
another role that somehow holds a server target gets no engine, and its failure says why.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import access, state
from i18n import ExplainedError, Text
from model_backend.engines.base import Engine
from model_backend.serving.encode_ahead import AheadRegistry
from model_backend.serving.factory import EngineFactory, Target
from model_backend.serving.pool import ModelPool
from model_backend.serving.runs import DEFAULT_MAX_CONCURRENT, RunRegistry
from model_backend.serving.workspace import Workspace
from model_backend.settings import LoadSpec, ServerSpec
from model_backend.storage.store import ConversationStore

Progress = Callable[["Text | str", "float | None"], None]
MAX_CONCURRENT_ENV = "INTERNVL_MAX_CONCURRENT"


@dataclass(frozen=True)
class LoadFailure:
    """Why the current LoadSpec did not load; `unavailable` means the hub could not be reached.

    `problem` is the error itself (shown by `language.error`, in the visitor's language when it
    is an `ExplainedError`) or the words of a refusal.
    """

    spec: LoadSpec | ServerSpec
    problem: BaseException | Text | str
    unavailable: bool

    @property
    def message(self) -> str:
        """The problem in English (logs and tests)."""
        return str(self.problem)


@dataclass(frozen=True)
class Services:
    factory: EngineFactory
    workspace: Workspace
    ahead: AheadRegistry

    @property
    def pool(self) -> ModelPool:
        return self.factory.pool

    def close(self) -> None:
        self.pool.close()
        self.workspace.store.close()


@st.cache_resource(show_spinner=False, on_release=Services.close)
def services() -> Services:
    factory = EngineFactory(ModelPool())
    cap = int(os.environ.get(MAX_CONCURRENT_ENV, "") or DEFAULT_MAX_CONCURRENT)
    workspace = Workspace(ConversationStore(), RunRegistry(factory, max_concurrent=cap))
    return Services(factory, workspace, AheadRegistry(factory))


def target() -> Target | None:
    """What this session answers with: a server or a checkpoint (None: no server set)."""
    if state.backend() == "server":
        return state.server_spec()
    return state.load_spec()


def load_failure() -> LoadFailure | None:
    """Why this session's target (checkpoint or server) gave no engine, if it did not."""
    failure = st.session_state.get(state.LOAD_ERROR)
    if failure is None:
        return None
    current = target() if isinstance(failure.spec, ServerSpec) else state.load_spec()
    return failure if failure.spec == current else None


def ensure_engine(progress: Progress | None = None) -> Engine | None:
    """Load (or reuse) the engine the settings ask for; on failure remember why and return None."""
    chosen = target()
    if chosen is None:
        return None
    if isinstance(chosen, ServerSpec) and not access.is_admin():
        # The Settings page offers the server backend to admins only; this holds whatever set the target.
        st.session_state[state.LOAD_ERROR] = LoadFailure(chosen, Text("load.server_refused"), unavailable=False)
        return None
    if not isinstance(chosen, LoadSpec):
        return services().factory.get(chosen)
    if load_failure() is not None:
        return None
    refusal = _refusal(chosen)
    if refusal is not None:
        st.session_state[state.LOAD_ERROR] = LoadFailure(chosen, refusal, unavailable=False)
        return None
    try:
        return services().factory.get(chosen, progress)
    except Exception as error:  # any load failure is shown to the user, never swallowed
        st.session_state[state.LOAD_ERROR] = _failure(chosen, error)
        return None


def current_engine() -> Engine | None:
    """The engine for the pages; the sidebar has already loaded it on this run."""
    return ensure_engine()


def resident_engine(spec: LoadSpec) -> Engine | None:
    """The engine for `spec` if it needs no loading: registered under its name, or resident in the pool."""
    return services().factory.registered(spec) or services().pool.peek(spec)


def loaded_model() -> Any:
    """The `LoadedModel` behind the local engine, if one is loaded for the current spec."""
    return services().pool.loaded(state.load_spec())


def _refusal(spec: LoadSpec) -> Text | str | None:
    """Why this session's role may not load `spec`; the start-up checkpoint is the admin's choice, so allowed."""
    if spec.checkpoint == state.startup_checkpoint():
        return None
    resident = frozenset(r.spec for r in services().pool.residents())
    return access.policy().refusal(spec, access.role(), resident)


def retry() -> None:
    st.session_state.pop(state.LOAD_ERROR, None)


def _failure(spec: LoadSpec, error: Exception) -> LoadFailure:
    """The failure to keep: the backend's errors explain themselves (LoadError, PoolFullError, ...);
    anything else is a bug, said in general words with the exception as its detail."""
    from model_backend.checkpoints.loading import CheckpointUnavailable

    problem: BaseException = error
    if not isinstance(error, ExplainedError):
        problem = ExplainedError(
            "load.unexpected", detail=f"{type(error).__name__}: {error}", checkpoint=spec.checkpoint
        )
    return LoadFailure(spec, problem, isinstance(error, CheckpointUnavailable))
