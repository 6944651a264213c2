"""The Batch page's results of a run: the table with its "wrong only" filter, opening a row as a conversation
on the chat page for its media, and the JSONL/CSV downloads."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from components import identity, language, model_cache
from components.batch_runs import registry
from components.language import t
from i18n import ExplainedError
from model_backend.batch.export import to_csv, to_jsonl
from model_backend.batch.run_records import BatchRun
from model_backend.batch.uploads import BatchError
from model_backend.storage.store import StoreError

#: Rows drawn in the results table (the downloads have all of them).
TABLE_ROWS = 1000
THUMBNAIL_PX = 96
CHAT_PAGES = {"image": "app_pages/image_chat.py", "multi": "app_pages/multi_image.py", "video": "app_pages/video_qa.py"}


def render(run: BatchRun) -> None:
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
        open_conversation(run, seq)


def open_conversation(run: BatchRun, seq: int | None) -> None:
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
    who = identity.owner()
    download_buttons(
        run, lambda: jsonl_download(run.id, who), lambda: csv_download(run.id, who), "predictions", "batch"
    )


def download_buttons(
    run: BatchRun, jsonl: Callable[[], bytes], csv: Callable[[], bytes], suffix: str, key: str
) -> None:
    """ "Download JSONL" and "Download CSV" side by side: `RUN.suffix.jsonl|csv`, made when clicked."""
    stem = Path(run.name).stem
    buttons = st.container(horizontal=True)
    for label, data, extension, mime in (
        (t("batch.download_jsonl"), jsonl, "jsonl", "application/jsonl"),
        (t("batch.download_csv"), csv, "csv", "text/csv"),
    ):
        buttons.download_button(
            label,
            data=data,
            file_name=f"{stem}.{suffix}.{extension}",
            mime=mime,
            icon=":material/download:",
            key=f"{key}_{extension}_{run.id}",
            on_click="ignore",
        )


def jsonl_download(run_id: str, owner: str) -> bytes:
    """What "Download JSONL" gives: every result of the run, as the CLI writes them."""
    return to_jsonl(registry().results(run_id, owner)).encode("utf-8")


def csv_download(run_id: str, owner: str) -> bytes:
    """What "Download CSV" gives (with a byte-order mark, so spreadsheet programs read it as UTF-8)."""
    return ("\ufeff" + to_csv(registry().results(run_id, owner))).encode("utf-8")
