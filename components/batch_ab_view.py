"""The Batch page's A/B runs: two models over one dataset, one joint table (`model_backend.batch.ab`).

The new-run form draws the Compare page's two model pickers (`compare_picker.model_picker`) when A/B
is on; the dataset, the settings, the job, cancel and resume are the Batch page's own. A run's
panel shows both sides' progress, how the two run (side by side, or A then B when they do not fit
in memory together), a per-model score table, the joint table with a "disagree only" filter,
either side of a row opened as a conversation (the Batch page's own way, with that side's
checkpoint), and the downloads of the joint table.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components import compare_picker, identity, language
from components.batch_results import download_buttons
from components.language import t
from model_backend.batch.ab import ONE_AFTER_OTHER, SIDES, TOGETHER, joint_rows, summarize_ab, to_csv, to_jsonl
from model_backend.batch.registry import BatchRegistry
from model_backend.batch.run_records import BatchRun
from model_backend.serving.factory import Target

#: Rows drawn in the joint table (the downloads have all of them).
TABLE_ROWS = 1000


def pickers() -> tuple[Target | None, Target | None]:
    """Model A and model B, picked as on the Compare page; None for a side with a problem (said there)."""
    targets: list[Target | None] = []
    for side, column in zip(SIDES, st.columns(2), strict=True):
        with column:
            st.markdown(f"**{t('batch_ab.model_a') if side == 'a' else t('batch_ab.model_b')}**")
            choice = compare_picker.model_picker(side, "batch_ab")
            if choice.problem is not None:
                st.warning(language.render(choice.problem))
            targets.append(choice.target if choice.problem is None else None)
    return targets[0], targets[1]


def panel(
    run: BatchRun,
    registry: BatchRegistry,
    status: str,
    controls: Callable[[BatchRun], None],
    open_result: Callable[[BatchRun, int | None], None],
) -> None:
    """An A/B run: progress per side, its controls, scores, the joint table, opening a row's side.

    `controls` and `open_result` (a result's `seq` as a conversation) are the Batch page's own."""
    who = identity.owner()
    results = registry.results(run.id, who)
    rows = joint_rows(results)
    questions = run.total // 2
    answered = {side: sum(1 for row in rows if row[f"done_{side}"]) for side in SIDES}
    errors = t("batch.errors_none") if not run.errors else t("batch.errors_some", count=f"{run.errors:,}")
    line = t("batch_ab.progress", a=f"{answered['a']:,}", b=f"{answered['b']:,}", total=f"{questions:,}", errors=errors)
    st.progress(min(1.0, run.done / run.total if run.total else 0.0), text=f"{status} · {line}")
    if run.status == "loading" and run.loading is not None:
        st.caption(t("batch.loading_model", message=run.loading[0]))
    if run.mode == TOGETHER:
        st.caption(t("batch_ab.mode_together"))
    elif run.mode == ONE_AFTER_OTHER:
        st.info(t("batch_ab.mode_one_after_other"))
    controls(run)
    if not rows:
        st.caption(t("batch.no_results"))
        return
    _scores(run, rows)
    shown = _table(run, rows)
    if shown:
        _open_row(run, shown, results, open_result)
    _downloads(run, registry)


def _scores(run: BatchRun, rows: list[dict]) -> None:
    import pandas as pd

    summary = summarize_ab(rows)
    table = []
    for side, checkpoint in (("a", run.checkpoint), ("b", run.checkpoint_b)):
        part = summary[side]
        mean = part["mean_score"] or {}
        table.append(
            {
                "model": f"{side.upper()} · {checkpoint}",
                "answered": part["rows"],
                "relaxed": mean.get("relaxed"),
                "anls": mean.get("anls"),
                "errors": part["errors"],
                "p50": part["latency_p50_s"],
                "p90": part["latency_p90_s"],
            }
        )
    st.dataframe(
        pd.DataFrame(table),
        hide_index=True,
        width="stretch",
        key=f"batch_ab_scores_{run.id}",
        column_config={
            "model": st.column_config.TextColumn(t("batch_ab.col.model"), width="medium"),
            "answered": st.column_config.NumberColumn(t("batch_ab.col.answered")),
            "relaxed": st.column_config.NumberColumn(
                t("batch.metric.relaxed"), format="percent", help=t("batch.relaxed_help")
            ),
            "anls": st.column_config.NumberColumn(t("batch.metric.anls"), format="%.3f", help=t("batch.anls_help")),
            "errors": st.column_config.NumberColumn(t("batch.metric.errors")),
            "p50": st.column_config.NumberColumn(t("batch_ab.col.p50"), format="%.2f"),
            "p90": st.column_config.NumberColumn(t("batch_ab.col.p90"), format="%.2f"),
        },
    )
    st.caption(t("batch_ab.disagree_count", count=f"{summary['disagree']:,}", compared=f"{summary['compared']:,}"))


def _table(run: BatchRun, rows: list[dict]) -> list[dict]:
    """The joint table (all rows, or those where the two disagree); the rows it shows."""
    import pandas as pd

    only = st.toggle(t("batch_ab.disagree_only"), key=f"batch_ab_disagree_{run.id}", help=t("batch_ab.disagree_help"))
    shown = [row for row in rows if row["agree"] is False] if only else rows
    if not shown:
        st.caption(t("batch_ab.no_disagreement"))
        return []
    st.dataframe(
        pd.DataFrame([_table_row(row) for row in shown[:TABLE_ROWS]]),
        hide_index=True,
        width="stretch",
        key=f"batch_ab_table_{run.id}",
        column_config={
            "row": st.column_config.TextColumn(t("batch.col.row"), width="small"),
            "question": st.column_config.TextColumn(t("batch.col.question"), width="medium"),
            "reference": st.column_config.TextColumn(t("batch.col.reference")),
            "prediction_a": st.column_config.TextColumn(t("batch_ab.col.prediction_a"), width="medium"),
            "prediction_b": st.column_config.TextColumn(t("batch_ab.col.prediction_b"), width="medium"),
            "score_a": st.column_config.NumberColumn(t("batch_ab.col.score_a"), format="%.0f"),
            "score_b": st.column_config.NumberColumn(t("batch_ab.col.score_b"), format="%.0f"),
            "agree": st.column_config.CheckboxColumn(t("batch_ab.col.agree"), help=t("batch_ab.agree_help")),
            "error_a": st.column_config.TextColumn(t("batch_ab.col.error_a")),
            "error_b": st.column_config.TextColumn(t("batch_ab.col.error_b")),
        },
    )
    if len(shown) > TABLE_ROWS:
        st.caption(t("batch.table_cut", shown=f"{TABLE_ROWS:,}", total=f"{len(shown):,}"))
    else:
        st.caption(t("batch_ab.table_count", shown=f"{len(shown):,}", total=f"{len(rows):,}"))
    return shown[:TABLE_ROWS]


def _open_row(
    run: BatchRun, shown: list[dict], results: list[dict], open_result: Callable[[BatchRun, int | None], None]
) -> None:
    """Pick a row of the table and a side, and open that side's answer as a conversation."""
    seqs = {(r.get("side"), r.get("line"), int(r.get("turn") or 0)): r["seq"] for r in results}
    labels = {}
    for row in shown:
        labels[(row.get("line"), int(row.get("turn") or 0))] = (
            f"{_table_row(row)['row']} · {(row.get('question') or '')[:60]}"
        )
    names = {"a": t("batch_ab.model_a"), "b": t("batch_ab.model_b")}
    pick, which, button = st.columns([5, 2, 3], vertical_alignment="bottom")
    key = pick.selectbox(
        t("batch.open_label"), list(labels), format_func=labels.__getitem__, key=f"batch_ab_open_row_{run.id}"
    )
    side = which.selectbox(
        t("batch_ab.open_side"), list(SIDES), format_func=names.__getitem__, key=f"batch_ab_open_side_{run.id}"
    )
    if button.button(
        t("batch.open"), icon=":material/chat:", key=f"batch_ab_open_{run.id}", help=t("batch_ab.open_help")
    ):
        seq = seqs.get((side, *key)) if key is not None else None
        if seq is None:
            st.error(t("batch_ab.open_unanswered", model=names[side or "a"]))
            return
        open_result(run, seq)


def _table_row(row: dict) -> dict:
    reference = row.get("reference")
    key = str(row["id"]) if row.get("id") is not None else t("batch.line", line=row.get("line"))
    turn = int(row.get("turn") or 0)
    return {
        "row": key if not turn else f"{key} · {t('batch.turn', turn=turn + 1)}",
        "question": row.get("question") or "",
        "reference": " | ".join(reference) if isinstance(reference, list) else reference or "",
        "prediction_a": row.get("prediction_a") or "",
        "prediction_b": row.get("prediction_b") or "",
        "score_a": (row.get("score_a") or {}).get("relaxed"),
        "score_b": (row.get("score_b") or {}).get("relaxed"),
        "agree": row["agree"],
        "error_a": row.get("error_a") or "",
        "error_b": row.get("error_b") or "",
    }


def _downloads(run: BatchRun, registry: BatchRegistry) -> None:
    who = identity.owner()
    jsonl, csv = (lambda: jsonl_download(registry, run.id, who)), (lambda: csv_download(registry, run.id, who))
    download_buttons(run, jsonl, csv, "ab", "batch_ab")


def jsonl_download(registry: BatchRegistry, run_id: str, owner: str) -> bytes:
    """The joint table as `batch --model-b` writes it: one JSON object per question."""
    return to_jsonl(registry.joint(run_id, owner)).encode("utf-8")


def csv_download(registry: BatchRegistry, run_id: str, owner: str) -> bytes:
    """The joint table as CSV (with a byte-order mark, so spreadsheet programs read it as UTF-8)."""
    return ("\ufeff" + to_csv(registry.joint(run_id, owner))).encode("utf-8")
