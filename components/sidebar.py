"""The sidebar every page shares: which model answers, how it is loaded, and its load state.

Loading happens here, once per run, inside an `st.status` fed by `load_model`'s progress
callback, so the user sees the download/load advance. When the hub cannot be reached the
sidebar says so in plain words and offers the offline demo checkpoint in one click.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from components import access, cookies, identity, language, model_cache, shortcuts, state, uploader_text
from components.language import t
from model_backend.engines.base import Engine
from model_backend.settings import LoadSpec

DEMO_ID = "demo"


def render() -> Engine | None:
    """Draw the model panel and return the engine the pages should use (None when none is usable)."""
    identity.owner()
    # One container per part, so each run draws the same number of sidebar elements: a part that
    # grows or shrinks would shift the conversation list below it, and Streamlit would show a stale
    # copy of it until the run ends (the whole answer, while one streams).
    with st.sidebar:
        language.switch()
        with st.container():
            engine = _panel()
        with st.container():
            _residents()
        cookies.write()
        shortcuts.install()
        uploader_text.install()
    failure = model_cache.load_failure()
    if failure is not None:
        _failure_banner(failure)
    return engine


def _failure_banner(failure: model_cache.LoadFailure) -> None:
    """On top of every page: the load problem in plain words, and the way out in one click."""
    headline = t("sidebar.hub_unreachable" if failure.unavailable else "sidebar.load_failed")
    language.error(failure.problem, prefix=f"**{headline}**", suffix=t("common.kept"))
    if getattr(failure.spec, "checkpoint", None) != DEMO_ID:  # a refused server has no checkpoint
        st.button(t("sidebar.use_demo"), key="use_demo_main", on_click=_use_demo, icon=":material/bolt:")


def _panel() -> Engine | None:
    st.subheader(t("sidebar.model"))
    if state.backend() == "server":
        return _server_panel()
    return _local_panel()


def _server_panel() -> Engine | None:
    server = state.server_spec()
    if server is None:
        st.warning(t("sidebar.no_server"))
        return None
    st.markdown(t("sidebar.server", url=server.base_url, model=server.model))
    st.caption(t("sidebar.server_caption"))
    return model_cache.ensure_engine()


def _local_panel() -> Engine | None:
    spec = state.load_spec()
    st.markdown(t("sidebar.checkpoint", checkpoint=spec.checkpoint))
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
    with holder.status(t("sidebar.loading", checkpoint=spec.checkpoint), expanded=True):
        bar = st.progress(0.0, text=t("sidebar.starting"))
        done = [0.0]  # a stage without a fraction keeps the bar where it was

        def progress(message: str, fraction: float | None) -> None:
            if get_script_run_ctx(suppress_warning=True) is None:
                return  # called from a download worker thread: it cannot draw
            if fraction is not None:
                done[0] = min(max(fraction, 0.0), 1.0)
            bar.progress(done[0], text=language.render(message))

        engine = model_cache.ensure_engine(progress)
    holder.empty()  # the panel below says "Loaded", or explains the failure
    return engine


def _failure_panel(failure: model_cache.LoadFailure) -> None:
    """The sidebar's short form of the banner above the page (which carries the message itself)."""
    if failure.unavailable:
        st.error(t("sidebar.download_failed", checkpoint=failure.spec.checkpoint))
    else:
        st.error(t("sidebar.load_failed"))
    st.caption(t("common.kept"))
    if failure.spec.checkpoint != DEMO_ID:
        st.button(t("sidebar.use_demo"), type="primary", key="use_demo", on_click=_use_demo)
    st.button(t("sidebar.try_again"), key="retry_load", on_click=model_cache.retry)


def _use_demo() -> None:
    state.use_local(LoadSpec(checkpoint=DEMO_ID))


def _loaded_panel(spec: LoadSpec) -> None:
    loaded = model_cache.loaded_model()
    if loaded is None:
        return
    dtype = str(getattr(loaded, "dtype", spec.dtype)).replace("torch.", "")
    if spec.quantization == "none":
        precision = dtype
    else:
        precision = t("sidebar.precision_quantized", quantization=spec.describe(), dtype=dtype)
    memory = getattr(loaded, "memory_gb", None)
    rows = [
        t("sidebar.precision", precision=precision),
        t("sidebar.device", device=getattr(loaded, "device", spec.device)),
    ]
    if memory is not None:
        rows.append(t("sidebar.memory", memory=_gb(memory)))
    context = getattr(loaded, "context_tokens", None)
    if context:
        rows.append(t("sidebar.context", tokens=f"{context:,}"))
    st.markdown("  \n".join(rows))
    st.success(t("sidebar.loaded"), icon=":material/check_circle:")
    if getattr(loaded, "is_demo", False):
        st.warning(t("sidebar.demo_badge"), icon=":material/casino:")
    for notice in getattr(loaded, "notices", []) or []:
        st.info(language.render(notice))


def _residents() -> None:
    """Every checkpoint loaded in this server, shared by all its users, and what it holds."""
    pool = model_cache.services().pool
    residents = pool.residents()
    if not residents:
        return
    with st.expander(t("sidebar.residents", count=len(residents)), icon=":material/memory:"):
        st.caption(t("sidebar.budget", budget=f"{pool.budget_gb:.1f}", used=f"{pool.used_gb():.1f}"))
        for number, resident in enumerate(residents):
            busy = t("sidebar.answering", count=resident.busy) if resident.busy else ""
            st.markdown(f"`{resident.spec.checkpoint}` {resident.spec.describe()}  \n{_gb(resident.memory_gb)}{busy}")
            st.button(
                t("sidebar.unload"),
                key=f"unload_{number}",
                disabled=bool(resident.busy) or not access.is_admin(),
                on_click=pool.evict,
                args=(resident.spec,),
                help=t("sidebar.unload_help"),
            )


def _gb(value: float) -> str:
    return t("sidebar.gb", value=f"{value:.2f}") if value >= 0.01 else t("sidebar.under_gb")
