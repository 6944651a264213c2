"""The sidebar every page shares: which model answers, how it is loaded, and its load state.

Loading happens here, once per run, inside an `st.status` fed by `load_model`'s progress
callback, so the user sees the download/load advance. When the hub cannot be reached the
sidebar says so in plain words and offers the offline demo checkpoint in one click.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from components import access, identity, model_cache, state
from model_backend.engines.base import Engine
from model_backend.settings import LoadSpec

DEMO_ID = "demo"
DEMO_BADGE = "Demo checkpoint: random weights, so its answers are random text."


def render() -> Engine | None:
    """Draw the model panel and return the engine the pages should use (None when none is usable)."""
    identity.owner()
    # One container per part, so each run draws the same number of sidebar elements: a part that
    # grows or shrinks would shift the conversation list below it, and Streamlit would show a stale
    # copy of it until the run ends (the whole answer, while one streams).
    with st.sidebar:
        with st.container():
            engine = _panel()
        with st.container():
            _residents()
        identity.write_cookie()
    failure = model_cache.load_failure() if state.backend() == "local" else None
    if failure is not None and st.session_state.get(state.ENGINE_OVERRIDE) is None:
        _failure_banner(failure)
    return engine


def _failure_banner(failure: model_cache.LoadFailure) -> None:
    """On top of every page: the load problem in plain words, and the way out in one click."""
    headline = "The model hub cannot be reached" if failure.unavailable else "The model could not be loaded"
    st.error(f"**{headline}.** {failure.message} Your conversations are kept.")
    if failure.spec.checkpoint != DEMO_ID:
        st.button("Use the offline demo checkpoint", key="use_demo_main", on_click=_use_demo, icon=":material/bolt:")


def _panel() -> Engine | None:
    st.subheader("Model")
    if st.session_state.get(state.ENGINE_OVERRIDE) is not None:
        engine = model_cache.ensure_engine()
        st.caption(f"Test engine: {getattr(engine, 'label', 'fake')}")
        return engine
    if state.backend() == "server":
        return _server_panel()
    return _local_panel()


def _server_panel() -> Engine | None:
    server = state.server_spec()
    if server is None:
        st.warning("No server set: choose one on the Settings page.")
        return None
    st.markdown(f"**Server** `{server.base_url}`  \n**Model** `{server.model}`")
    st.caption("Answers come from an OpenAI-compatible server.")
    return model_cache.ensure_engine()


def _local_panel() -> Engine | None:
    spec = state.load_spec()
    st.markdown(f"**Checkpoint** `{spec.checkpoint}`")
    holder = st.empty()  # the load status; drawn on every run so the elements below keep their places
    engine = model_cache.resident_engine(spec)
    if engine is None and model_cache.load_failure() is None:
        engine = _load_with_progress(spec, holder)
    failure = model_cache.load_failure()
    if failure is not None:
        _failure_panel(failure)
        return None
    _loaded_panel(spec)
    return engine


def _load_with_progress(spec: LoadSpec, holder: st.delta_generator.DeltaGenerator) -> Engine | None:
    with holder.status(f"Loading {spec.checkpoint}…", expanded=True):
        bar = st.progress(0.0, text="Starting")
        done = [0.0]  # a stage without a fraction keeps the bar where it was

        def progress(message: str, fraction: float | None) -> None:
            if get_script_run_ctx(suppress_warning=True) is None:
                return  # called from a download worker thread: it cannot draw
            if fraction is not None:
                done[0] = min(max(fraction, 0.0), 1.0)
            bar.progress(done[0], text=message)

        engine = model_cache.ensure_engine(progress)
    holder.empty()  # the panel below says "Loaded", or explains the failure
    return engine


def _failure_panel(failure: model_cache.LoadFailure) -> None:
    if failure.unavailable:
        st.error(f"Could not download **{failure.spec.checkpoint}**.\n\n{failure.message}")
    else:
        st.error(failure.message)
    st.caption("Your conversations are kept.")
    if failure.spec.checkpoint != DEMO_ID:
        st.button("Use the offline demo checkpoint", type="primary", key="use_demo", on_click=_use_demo)
    st.button("Try again", key="retry_load", on_click=model_cache.retry)


def _use_demo() -> None:
    state.use_local(LoadSpec(checkpoint=DEMO_ID))


def _loaded_panel(spec: LoadSpec) -> None:
    loaded = model_cache.loaded_model()
    if loaded is None:
        return
    dtype = str(getattr(loaded, "dtype", spec.dtype)).replace("torch.", "")
    precision = dtype if spec.quantization == "none" else f"{spec.describe()}, compute {dtype}"
    memory = getattr(loaded, "memory_gb", None)
    rows = [f"**Precision** {precision}", f"**Device** {getattr(loaded, 'device', spec.device)}"]
    if memory is not None:
        rows.append(f"**Memory** {memory:.2f} GB" if memory >= 0.01 else "**Memory** under 0.01 GB")
    context = getattr(loaded, "context_tokens", None)
    if context:
        rows.append(f"**Context** {context:,} tokens")
    st.markdown("  \n".join(rows))
    st.success("Loaded", icon=":material/check_circle:")
    if getattr(loaded, "is_demo", False):
        st.warning(DEMO_BADGE, icon=":material/casino:")
    for notice in getattr(loaded, "notices", []) or []:
        st.info(notice)


def _residents() -> None:
    """Every checkpoint loaded in this server, shared by all its users, and what it holds."""
    pool = model_cache.services().pool
    residents = pool.residents()
    if not residents:
        return
    with st.expander(f"Loaded on this server ({len(residents)})", icon=":material/memory:"):
        st.caption(f"Memory budget {pool.budget_gb:.1f} GB, {pool.used_gb():.1f} GB counted.")
        for number, resident in enumerate(residents):
            busy = f" · answering ({resident.busy})" if resident.busy else ""
            st.markdown(f"`{resident.spec.checkpoint}` {resident.spec.describe()}  \n{_gb(resident.memory_gb)}{busy}")
            st.button(
                "Unload",
                key=f"unload_{number}",
                disabled=bool(resident.busy) or not access.is_admin(),
                on_click=pool.evict,
                args=(resident.spec,),
                help="Free its memory for everyone (admins only); it loads again when someone asks for it",
            )


def _gb(value: float) -> str:
    return f"{value:.2f} GB" if value >= 0.01 else "under 0.01 GB"
