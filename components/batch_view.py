"""The Batch page: start a run over a dataset, watch it, read and filter its results, download them.

A run is a server-side job (`model_backend.batch_jobs`): this module only starts it and looks at
it. The selected run's panel polls on its own (`st.fragment(run_every=...)`) while the run goes,
and the whole page redraws once it ends; leaving the page, refreshing or closing the tab changes
nothing for the run. The selected run travels in the URL (`?run=`), so a refresh shows it again.
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import replace
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from components import access, batch_ab_view, identity, language, model_cache, state
from components.language import t
from components.media import IMAGE_TYPES
from components.video_input import VIDEO_TYPES
from i18n import ExplainedError, Text
from model_backend.batch import BatchOptions
from model_backend.batch_cli import summarize_records
from model_backend.batch_jobs import (
    DATASET_SUFFIXES,
    ROOTS_ENV,
    BatchError,
    BatchRegistry,
    BatchRun,
    checkpoint_label,
    dataset_roots,
    server_dataset,
    server_datasets,
    to_csv,
    to_jsonl,
)
from model_backend.engines.factory import Target
from model_backend.settings import MAX_TILES_LIMIT, GenerationSettings, LoadSpec, ServerSpec
from model_backend.store import StoreError

QUERY = "run"
#: How often the panel of a run that is going redraws, in seconds.
POLL_S = 1.0
#: Rows drawn in the results table (the downloads have all of them).
TABLE_ROWS = 1000
THUMBNAIL_PX = 96
#: The largest batch size the run form offers (rows without history per generate call).
MAX_BATCH_SIZE = 16
LISTED_RUNS = 20
MEDIA_TYPES = [*IMAGE_TYPES, *VIDEO_TYPES, "zip"]
CHAT_PAGES = {"image": "app_pages/image_chat.py", "multi": "app_pages/multi_image.py", "video": "app_pages/video_qa.py"}
#: Session key of a counter in the uploaders' keys: a new value empties them after a start.
_ROUND = "batch_form_round"


@st.cache_resource(show_spinner=False, on_release=BatchRegistry.close)
def registry() -> BatchRegistry:
    """The server's batch runs, answering through the app's shared model pool and fair queue."""
    services = model_cache.services()
    return BatchRegistry(services.factory, queue=services.workspace.runs.queue)


def render() -> None:
    st.title(t("app.page.batch"))
    who = identity.owner()
    runs = registry().list(who)
    _start_form(who, expanded=not runs)
    if not runs:
        st.caption(t("batch.no_runs"))
        return
    selected = _selected(runs)
    _runs_list(runs, selected)
    _show(selected)


# -- starting a run --------------------------------------------------------------------------


def _start_form(who: str, expanded: bool) -> None:
    """The new-run form; folded once the visitor has runs, so the selected run's results come first."""
    form_round = st.session_state.setdefault(_ROUND, 0)
    with st.expander(t("batch.new_run"), expanded=expanded, icon=":material/add:"):
        source = "upload"
        roots = dataset_roots()
        if access.is_admin() and roots:
            source = (
                st.segmented_control(
                    t("batch.source"),
                    ["upload", "server"],
                    default="upload",
                    format_func={"upload": t("batch.source_upload"), "server": t("batch.source_server")}.__getitem__,
                    key="batch_source",
                )
                or "upload"
            )
        elif access.is_admin():
            st.caption(t("batch.roots_hint", env=ROOTS_ENV))
        dataset = media = picked = None
        if source == "upload":
            dataset = st.file_uploader(
                t("batch.dataset_label"),
                type=[suffix.lstrip(".") for suffix in DATASET_SUFFIXES],
                key=f"batch_dataset_{form_round}",
                help=t("batch.dataset_help"),
            )
            media = st.file_uploader(
                t("batch.media_label"),
                type=MEDIA_TYPES,
                accept_multiple_files=True,
                key=f"batch_media_{form_round}",
                help=t("batch.media_help", limit_mb=f"{registry().limit_bytes / 1e6:,.0f}"),
            )
        else:
            found = server_datasets(roots)
            picked = st.selectbox(
                t("batch.server_file"),
                found,
                index=None,
                format_func=lambda path: _on_server(path, roots),
                key="batch_server_file",
                placeholder=t("batch.server_file_placeholder") if found else t("batch.server_none", env=ROOTS_ENV),
            )
        ab = st.toggle(t("batch_ab.toggle"), key="batch_ab", help=t("batch_ab.toggle_help"))
        target, target_b = batch_ab_view.pickers() if ab else (_model_picker(), None)
        settings = state.generation_settings()
        tokens, tiles, size = st.columns(3)
        max_new_tokens = tokens.number_input(
            t("batch.max_new_tokens"), 1, 16384, settings.max_new_tokens, key="batch_max_new_tokens"
        )
        max_tiles = tiles.number_input(t("batch.max_tiles"), 1, MAX_TILES_LIMIT, settings.max_tiles, key="batch_tiles")
        batch_size = size.number_input(
            t("batch.batch_size"), 1, MAX_BATCH_SIZE, 1, key="batch_batch_size", help=t("batch.batch_size_help")
        )
        decoding = (
            t("batch.sampling", temperature=f"{settings.temperature:g}", top_p=f"{settings.top_p:g}")
            if settings.do_sample
            else t("batch.greedy")
        )
        st.caption(t("batch.settings_note", decoding=decoding))
        if st.button(t("batch.start"), type="primary", icon=":material/play_arrow:", key="batch_start"):
            chosen = replace(settings, max_new_tokens=int(max_new_tokens), max_tiles=int(max_tiles))
            if ab and (target is None or target_b is None):
                st.error(t("batch_ab.need_models"))  # each picker says what it lacks
                return
            options = BatchOptions(batch_size=int(batch_size))
            _start(who, source, dataset, media or [], picked, roots, target, chosen, options, target_b)


def _on_server(path: Path, roots: list[Path]) -> str:
    root = next((r for r in roots if path.is_relative_to(r)), None)
    return f"{root.name}/{path.relative_to(root)}" if root is not None else str(path)


def _model_picker() -> Target | None:
    """The model to run with: the session's own (the default), or another one already loaded."""
    choices: dict[str, Target] = {}
    current = model_cache.target()
    if current is not None and not (isinstance(current, ServerSpec) and not access.is_admin()):
        choices[_choice_name(current)] = current
    for resident in model_cache.services().pool.residents():
        choices.setdefault(_choice_name(resident.spec), resident.spec)
    if not choices:
        st.warning(t("batch.no_model"))
        return None
    names = list(choices)
    # Labels worded now: a format function may be called outside this run (AppTest does), in no language.
    labels = {n: t("batch.model_current", name=n) if n == names[0] and current is not None else n for n in names}
    name = st.selectbox(
        t("batch.model"),
        names,
        format_func=labels.__getitem__,
        key="batch_model",
        help=t("batch.model_help"),
    )
    return choices.get(name or names[0])


def _choice_name(target: Target) -> str:
    if isinstance(target, LoadSpec):
        return f"{target.checkpoint} · {target.describe()} · {target.device}"
    return checkpoint_label(target)


def _refusal(target: Target) -> ExplainedError | None:
    """Why this visitor may not run `target` (the sidebar's rules for loading a checkpoint)."""
    if isinstance(target, ServerSpec):
        return None if access.is_admin() else BatchError("batch.server_refused")
    if not isinstance(target, LoadSpec) or target.checkpoint == state.startup_checkpoint():
        return None
    resident = frozenset(r.spec for r in model_cache.services().pool.residents())
    refusal = access.policy().refusal(target, access.role(), resident)
    return BatchError(refusal) if refusal is not None else None


def _start(
    who: str,
    source: str,
    dataset: UploadedFile | None,
    media: list[UploadedFile],
    picked: Path | None,
    roots: list[Path],
    target: Target | None,
    settings: GenerationSettings,
    options: BatchOptions,
    target_b: Target | None = None,
) -> None:
    if target is None:
        st.error(t("batch.no_model"))
        return
    for chosen in (target, target_b):
        refusal = _refusal(chosen) if chosen is not None else None
        if refusal is not None:
            language.error(refusal)
            return
    try:
        if source == "upload":
            if dataset is None and not any(f.name.lower().endswith(".zip") for f in media):
                st.error(t("batch.need_dataset"))
                return
            run_id = registry().start_upload(
                who,
                (dataset.name, dataset) if dataset is not None else None,
                [(f.name, f) for f in media],
                target,
                settings,
                options,
                target_b=target_b,
            )
        else:
            if picked is None:
                st.error(t("batch.need_server_file"))
                return
            dataset_file = server_dataset(picked, roots)
            run_id = registry().start_dataset(who, dataset_file, target, settings, options, target_b=target_b)
    except BatchError as error:
        language.error(error)
        return
    st.session_state[_ROUND] += 1
    _select(run_id)
    st.rerun()


# -- the runs --------------------------------------------------------------------------------


def _selected(runs: list[BatchRun]) -> BatchRun:
    wanted = st.query_params.get(QUERY)
    chosen = next((run for run in runs if run.id == wanted), runs[0])
    if wanted != chosen.id:
        st.query_params[QUERY] = chosen.id
    return chosen


def _select(run_id: str) -> None:
    st.query_params[QUERY] = run_id


def _runs_list(runs: list[BatchRun], selected: BatchRun) -> None:
    with st.expander(t("batch.your_runs", count=len(runs)), icon=":material/history:", expanded=len(runs) > 1):
        for run in runs[:LISTED_RUNS]:
            mark = "▸ " if run.id == selected.id else ""
            counts = "" if run.active else f" · {run.done:,}/{run.total:,}"
            kind = " · A/B" if run.ab else ""
            st.button(
                f"{mark}{run.name}{kind} · {_status(run)}{counts}",
                key=f"batch_pick_{run.id}",
                help=t("batch.run_help", checkpoint=run.checkpoint, when=_when(run.created)),
                on_click=_select,
                args=(run.id,),
                disabled=run.id == selected.id,
                width="stretch",
            )


def _show(run: BatchRun) -> None:
    st.subheader(run.name)
    if run.ab:
        st.caption(t("batch_ab.run_caption", a=run.checkpoint, b=run.checkpoint_b, when=_when(run.created)))
    else:
        st.caption(t("batch.run_caption", checkpoint=run.checkpoint, when=_when(run.created)))
    if run.active:
        _live(run.id)
    else:
        _panel(run)


@st.fragment(run_every=POLL_S)
def _live(run_id: str) -> None:
    """The panel of a run that is going, redrawn every POLL_S seconds until it ends."""
    run = registry().get(run_id, identity.owner())
    if run is None:
        return
    if not run.active:
        st.rerun()  # the whole page: it draws the finished panel, which polls no more
    _panel(run)


def _panel(run: BatchRun) -> None:
    if run.ab:
        batch_ab_view.panel(run, registry(), _status(run), _controls, _open_conversation)
        return
    _progress(run)
    _controls(run)
    _summary(run)
    _results(run)


def _progress(run: BatchRun) -> None:
    fraction = run.done / run.total if run.total else 0.0
    errors = t("batch.errors_none") if not run.errors else t("batch.errors_some", count=f"{run.errors:,}")
    line = t("batch.progress", done=f"{run.done:,}", total=f"{run.total:,}", errors=errors)
    st.progress(min(1.0, fraction), text=f"{_status(run)} · {line}")
    if run.status == "loading" and run.loading is not None:
        st.caption(t("batch.loading_model", message=run.loading[0]))


def _status(run: BatchRun) -> str:
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


def _controls(run: BatchRun) -> None:
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
    if spec is not None and access.is_admin() and checkpoint_label(spec) == run.checkpoint:
        return spec
    return None


def _summary(run: BatchRun) -> None:
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


# -- the results -----------------------------------------------------------------------------


def _results(run: BatchRun) -> None:
    who = identity.owner()
    wrong_only = st.toggle(t("batch.wrong_only"), key=f"batch_wrong_{run.id}", help=t("batch.wrong_help"))
    results = registry().results(run.id, who, wrong_only, limit=TABLE_ROWS)
    if not results:
        st.caption(t("batch.no_wrong") if wrong_only and run.done else t("batch.no_results"))
        return
    import pandas as pd

    rows = [_table_row(run, result) for result in results]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        row_height=60,
        column_config={
            "thumbnail": st.column_config.ImageColumn(t("batch.col.image"), width="small"),
            "row": st.column_config.TextColumn(t("batch.col.row"), width="small"),
            "question": st.column_config.TextColumn(t("batch.col.question"), width="medium"),
            "reference": st.column_config.TextColumn(t("batch.col.reference")),
            "prediction": st.column_config.TextColumn(t("batch.col.prediction"), width="medium"),
            "score": st.column_config.NumberColumn(t("batch.col.score"), format="%.0f", help=t("batch.relaxed_help")),
            "anls": st.column_config.NumberColumn(t("batch.col.anls"), format="%.2f", help=t("batch.anls_help")),
            "latency": st.column_config.NumberColumn(t("batch.col.latency"), format="%.2f"),
            "error": st.column_config.TextColumn(t("batch.col.error")),
        },
    )
    shown = registry().count(run.id, who, wrong_only)
    if shown > len(results):
        st.caption(t("batch.table_cut", shown=f"{len(results):,}", total=f"{shown:,}"))
    else:
        st.caption(t("batch.table_count", shown=f"{shown:,}", total=f"{run.done:,}"))
    _open_row(run, results)
    _downloads(run)


def _table_row(run: BatchRun, result: dict) -> dict:
    score = result.get("score") or {}
    reference = result.get("reference")
    return {
        "thumbnail": _thumbnail_of(run, result),
        "row": _row_label(result),
        "question": result.get("question") or "",
        "reference": " | ".join(reference) if isinstance(reference, list) else reference or "",
        "prediction": result.get("prediction") or "",
        "score": score.get("relaxed"),
        "anls": score.get("anls"),
        "latency": result.get("latency_s"),
        "error": result.get("error") or "",
    }


def _row_label(result: dict) -> str:
    """The row's id (or line), with the question's number when a conversation has several."""
    key = str(result["id"]) if result.get("id") is not None else t("batch.line", line=result.get("line"))
    turn = int(result.get("turn") or 0)
    return key if not turn else f"{key} · {t('batch.turn', turn=turn + 1)}"


def _thumbnail_of(run: BatchRun, result: dict) -> str | None:
    path = registry().first_image(run.id, identity.owner(), result)
    if path is None:
        return None
    try:
        return _thumbnail(str(path), path.stat().st_mtime)
    except OSError:
        return None


@st.cache_data(show_spinner=False, max_entries=4096)
def _thumbnail(path: str, modified: float) -> str | None:
    """A small JPEG of the image as a data URL (the table's image column takes URLs)."""
    from model_backend.preprocess.images import open_image

    try:
        image = open_image(Path(path).read_bytes())
    except (ValueError, OSError):  # a broken image: its row says why
        return None
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _open_row(run: BatchRun, results: list[dict]) -> None:
    """Pick a row and open it as a conversation on the chat page for its media."""
    labels = {r["seq"]: f"{_row_label(r)} · {(r.get('question') or '')[:60]}" for r in results}
    pick, button = st.columns([3, 1], vertical_alignment="bottom")
    seq = pick.selectbox(
        t("batch.open_label"), list(labels), format_func=labels.__getitem__, key=f"batch_open_row_{run.id}"
    )
    if button.button(t("batch.open"), icon=":material/chat:", key=f"batch_open_{run.id}", help=t("batch.open_help")):
        _open_conversation(run, seq)


def _open_conversation(run: BatchRun, seq: int | None) -> None:
    who = identity.owner()
    if seq is None:
        return
    try:
        opened = registry().conversation(run.id, who, seq)
        if opened is None:
            raise BatchError("batch.row_gone")
        page, conversation, settings = opened
        workspace = model_cache.services().workspace
        live = workspace.draft(who, page)
        live.conversation, live.settings = conversation, settings
        workspace.save(live)
    except (BatchError, StoreError, ValueError, OSError) as error:
        language.error(error if isinstance(error, ExplainedError) else BatchError("batch.row_gone", detail=str(error)))
        return
    st.switch_page(CHAT_PAGES[page], query_params={"c": live.id})


def _downloads(run: BatchRun) -> None:
    who, stem = identity.owner(), Path(run.name).stem
    buttons = st.container(horizontal=True)
    buttons.download_button(
        t("batch.download_jsonl"),
        data=lambda: jsonl_download(run.id, who),
        file_name=f"{stem}.predictions.jsonl",
        mime="application/jsonl",
        icon=":material/download:",
        key=f"batch_jsonl_{run.id}",
        on_click="ignore",
    )
    buttons.download_button(
        t("batch.download_csv"),
        data=lambda: csv_download(run.id, who),
        file_name=f"{stem}.predictions.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"batch_csv_{run.id}",
        on_click="ignore",
    )


def jsonl_download(run_id: str, owner: str) -> bytes:
    """What "Download JSONL" gives: every result of the run, as the CLI writes them."""
    return to_jsonl(registry().results(run_id, owner)).encode("utf-8")


def csv_download(run_id: str, owner: str) -> bytes:
    """What "Download CSV" gives (with a byte-order mark, so spreadsheet programs read it as UTF-8)."""
    return ("\ufeff" + to_csv(registry().results(run_id, owner))).encode("utf-8")


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
