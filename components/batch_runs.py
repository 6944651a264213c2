"""The Batch page's runs: the server's registry of them, the visitor's list, and a run's progress and controls.

`registry()` is the one `BatchRegistry` of the server (the app's shared model pool and fair queue).
The selected run travels in the URL (`?run=`), so a refresh shows it again. For a run this module
draws its status, its progress bar, its cancel/resume/delete buttons (with why it failed, was
cancelled or interrupted) and its summary metrics.
"""

from __future__ import annotations

import time

import streamlit as st

from components import access, identity, language, model_cache, state
from components.language import t
from components.safe_markdown import plain_label
from i18n import ExplainedError, Text
from model_backend.batch.registry import BatchRegistry
from model_backend.batch.run_records import BatchRun
from model_backend.batch.summary import summarize_records
from model_backend.batch.uploads import BatchError
from model_backend.settings import ServerSpec

QUERY = "run"
LISTED_RUNS = 20


@st.cache_resource(show_spinner=False, on_release=BatchRegistry.close)
def registry() -> BatchRegistry:
    """The server's batch runs, answering through the app's shared model pool and fair queue."""
    services = model_cache.services()
    return BatchRegistry(services.factory, queue=services.workspace.runs.queue)


def selected(runs: list[BatchRun]) -> BatchRun:
    wanted = st.query_params.get(QUERY)
    chosen = next((run for run in runs if run.id == wanted), runs[0])
    if wanted != chosen.id:
        st.query_params[QUERY] = chosen.id
    return chosen


def select(run_id: str) -> None:
    st.query_params[QUERY] = run_id


def runs_list(runs: list[BatchRun], selected: BatchRun) -> None:
    with st.expander(t("batch.your_runs", count=len(runs)), icon=":material/history:", expanded=len(runs) > 1):
        for run in runs[:LISTED_RUNS]:
            mark = "▸ " if run.id == selected.id else ""
            counts = "" if run.active else f" · {run.done:,}/{run.total:,}"
            kind = " · A/B" if run.ab else ""
            st.button(
                f"{mark}{plain_label(run.name)}{kind} · {status(run)}{counts}",
                key=f"batch_pick_{run.id}",
                help=t("batch.run_help", checkpoint=run.checkpoint, when=when(run.created)),
                on_click=select,
                args=(run.id,),
                disabled=run.id == selected.id,
                width="stretch",
            )


def progress(run: BatchRun) -> None:
    fraction = run.done / run.total if run.total else 0.0
    errors = t("batch.errors_none") if not run.errors else t("batch.errors_some", count=f"{run.errors:,}")
    line = t("batch.progress", done=f"{run.done:,}", total=f"{run.total:,}", errors=errors)
    st.progress(min(1.0, fraction), text=f"{status(run)} · {line}")
    if run.status == "loading" and run.loading is not None:
        st.caption(t("batch.loading_model", message=run.loading[0]))


def status(run: BatchRun) -> str:
    if run.stopping and run.active:
        return t("batch.status.stopping")
    if run.status == "loading":
        return t("batch.status.loading")
    if run.status == "running":
        return t("batch.status.running")
    if run.status == "done":
        return t("batch.status.done")
    if run.status == "cancelled":
        return t("batch.status.cancelled")
    if run.status == "interrupted":
        return t("batch.status.interrupted")
    return t("batch.status.failed")


def controls(run: BatchRun) -> None:
    who = identity.owner()
    if run.active:
        st.button(
            t("batch.cancel"),
            icon=":material/stop:",
            key=f"batch_cancel_{run.id}",
            help=t("batch.cancel_help"),
            on_click=registry().cancel,
            args=(run.id, who),
            disabled=run.stopping,
        )
        return
    if run.status == "failed":
        language.error(_problem(run))
    elif run.status == "interrupted":
        st.warning(t("batch.interrupted_note"))
    elif run.status == "cancelled":
        st.info(t("batch.cancelled_note"))
    buttons = st.container(horizontal=True)
    if run.resumable and buttons.button(t("batch.resume"), icon=":material/play_arrow:", key=f"batch_resume_{run.id}"):
        try:
            registry().resume(run.id, who, _server_with_key(run))
        except BatchError as error:
            language.error(error)
        else:
            st.rerun()
    if buttons.button(t("batch.delete"), icon=":material/delete:", key=f"batch_delete_{run.id}"):
        registry().delete(run.id, who)
        st.query_params.pop(QUERY, None)
        st.rerun()


def _problem(run: BatchRun) -> ExplainedError:
    """Why the run failed, as the run kept it (a table key in the visitor's language), with its detail."""
    if isinstance(run.problem, Text):
        return ExplainedError(run.problem.key, detail=run.detail, **run.problem.params)
    if run.problem:
        return BatchError(run.problem, detail=run.detail)
    return ExplainedError("batch.run_failed", detail=run.detail)


def _server_with_key(run: BatchRun) -> ServerSpec | None:
    """The session's server spec when it is the run's server: it has the API key, which runs do not store."""
    spec = state.server_spec()
    if spec is not None and access.is_admin() and spec.label == run.checkpoint:
        return spec
    return None


def summary(run: BatchRun) -> None:
    if not run.done:
        return
    summary = summarize_records(registry().results(run.id, identity.owner()))
    columns = st.columns(4)
    mean = summary["mean_score"]
    columns[0].metric(
        t("batch.metric.relaxed"), f"{mean['relaxed']:.1%}" if mean else "–", help=t("batch.relaxed_help")
    )
    columns[1].metric(t("batch.metric.anls"), f"{mean['anls']:.3f}" if mean else "–", help=t("batch.anls_help"))
    columns[2].metric(t("batch.metric.errors"), f"{summary['errors']:,}")
    p50 = summary["latency_p50_s"]
    columns[3].metric(
        t("batch.metric.latency"),
        t("batch.seconds", value=f"{p50:.2f}") if p50 is not None else "–",
        help=t("batch.latency_help", p90=f"{summary['latency_p90_s']:.2f}" if p50 is not None else "–"),
    )


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
