"""A/B batch runs: one dataset through two checkpoints, with the same rows and generation settings.

Each side answers with `run_batch`, so a side's prediction is what a one-side batch (and `ask`)
gives. Whether the two run row by row or one after the other is the model pool's call, as on the
Compare page: A is leased, then B next to it; when the pool refuses B next to A (`PoolFullError`),
A answers every row first and is let go, then B answers them. Row by row (A, then B, per row) puts
whole joint rows on screen early; one after the other never loads a model twice.

The joint table has one row per question: the question, its reference, both predictions, scores
and errors, and `agree` (both predictions the same once normalised as the relaxed score
normalises, `scoring.same_answer`). `agree` is None while a side is missing, and when both
sides failed; a row where one side failed and the other answered does not agree.

>>> rows = joint_rows(side_results)                       # doctest: +SKIP
>>> [r["id"] for r in rows if r["agree"] is False]        # the rows where the models disagree  # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext, suppress
from typing import Any, Literal

from model_backend.batch.datasets import Row
from model_backend.batch.export import csv_table
from model_backend.batch.run import BatchOptions, job_key, result_key, run_batch
from model_backend.batch.scoring import SCORE_NAMES, same_answer
from model_backend.batch.summary import summarize_records
from model_backend.serving.pool import PoolFullError
from model_backend.settings import GenerationSettings

Side = Literal["a", "b"]
SIDES: tuple[Side, Side] = ("a", "b")
#: How the two sides ran: both resident (row by row), or A over every row and then B.
Mode = Literal["together", "one_after_other"]
TOGETHER: Mode = "together"
ONE_AFTER_OTHER: Mode = "one_after_other"
#: A side's own fields in a result; the joint row has them as `prediction_a`, `prediction_b`, ...
SIDE_FIELDS = (
    "checkpoint", "prediction", "score", "error", "latency_s", "tiles", "prompt_tokens", "new_tokens",
    "time_to_first_token_s", "tokens_per_s",
)  # fmt: skip
_NOT_SHARED = {*SIDE_FIELDS, "side", "seq"}

Planned = list[tuple[Row, int]]


def side_key(side: str, key: str) -> str:
    """A side's result key in a store that keeps both sides of a run (`a\\x00row\\x00turn`)."""
    return f"{side}\x00{key}"


def run_ab(
    lease: Callable[[Side], AbstractContextManager[Any]],
    planned: dict[Side, Planned],
    settings: GenerationSettings,
    options: BatchOptions,
    checkpoints: dict[Side, str],
    on_result: Callable[[Side, dict], None],
    *,
    stop: threading.Event | None = None,
    gate: Callable[[Side], AbstractContextManager[object]] | None = None,
    on_mode: Callable[[Mode], None] | None = None,
) -> bool:
    """Answer each side's planned questions (after a resume the two lists may differ).

    `lease(side)` gives that side's engine for a `with` block (the engine factory's lease);
    `on_result(side, result)` gets every result as `run_batch` makes it; `gate(side)` is entered
    around each generate call of that side; `on_mode` hears how the two run. Returns False when
    `stop` ended the run early.
    """
    cancel = stop or threading.Event()

    def answer(side: Side, engine: Any, jobs: Planned) -> bool:
        if not jobs:
            return True
        return run_batch(
            engine,
            jobs,
            None,
            settings,
            options,
            checkpoints[side],
            stop=cancel,
            on_result=lambda result: on_result(side, result),
            gate=(lambda: gate(side)) if gate is not None else nullcontext,
        )

    with ExitStack() as held:
        engines = {"a": held.enter_context(lease("a"))}
        if cancel.is_set():
            return False
        with suppress(PoolFullError):  # B does not fit next to A: A answers everything first
            engines["b"] = held.enter_context(lease("b"))
        if "b" in engines:
            if on_mode:
                on_mode(TOGETHER)
            wanted = {side: {_key(job) for job in planned[side]} for side in SIDES}
            every = sorted({_key(job): job for side in SIDES for job in planned[side]}.items(), key=_order)
            step = max(1, options.batch_size)
            for start in range(0, len(every), step):
                chunk = every[start : start + step]
                for side in SIDES:
                    if not answer(side, engines[side], [job for key, job in chunk if key in wanted[side]]):
                        return False
            return True
        if on_mode:
            on_mode(ONE_AFTER_OTHER)
        if not answer("a", engines["a"], planned["a"]):
            return False
    del engines  # A is let go before B loads (in the CLI, the last reference to its model)
    if cancel.is_set():
        return False
    with lease("b") as engine:
        return answer("b", engine, planned["b"])


def _key(job: tuple[Row, int]) -> str:
    return job_key(job[0].key, job[1])


def _order(item: tuple[str, tuple[Row, int]]) -> tuple[int, int]:
    row, turn = item[1]
    return row.line, turn


# -- the joint table -------------------------------------------------------------------------


def joint_rows(results: Sequence[dict]) -> list[dict]:
    """Both sides' results (each with `side`) as one row per question, in dataset order."""
    by_key: dict[str, dict[str, dict]] = {}
    for result in results:
        by_key.setdefault(result_key(result), {})[str(result.get("side"))] = result
    rows = [joint_row(sides.get("a"), sides.get("b")) for sides in by_key.values()]
    return sorted(rows, key=lambda row: (int(row.get("line") or 0), int(row.get("turn") or 0)))


def joint_row(a: dict | None, b: dict | None) -> dict:
    """One question's row: the shared fields (id, question, reference, the row's own fields), each
    side's fields with its suffix, and `agree`."""
    first = a if a is not None else b
    assert first is not None, "a joint row needs at least one side"
    row = {key: value for key, value in first.items() if key not in _NOT_SHARED}
    for side, result in (("a", a), ("b", b)):
        for name in SIDE_FIELDS:
            row[f"{name}_{side}"] = result.get(name) if result is not None else None
        row[f"done_{side}"] = result is not None
    row["agree"] = agreement(a, b)
    return row


def agreement(a: dict | None, b: dict | None) -> bool | None:
    """Whether both sides said the same; None while one is missing or when both failed."""
    if a is None or b is None:
        return None
    failed_a, failed_b = a.get("error") is not None, b.get("error") is not None
    if failed_a and failed_b:
        return None
    if failed_a or failed_b:
        return False
    return same_answer(a.get("prediction") or "", b.get("prediction") or "")


def side_records(rows: Sequence[dict], side: str) -> list[dict]:
    """One side's results back out of joint rows (only questions that side answered)."""
    return [{name: row.get(f"{name}_{side}") for name in SIDE_FIELDS} for row in rows if row.get(f"done_{side}")]


def summarize_ab(rows: Sequence[dict]) -> dict:
    """Per side: rows, errors, mean scores, latency p50/p90; and how many questions disagree."""
    summary: dict = {side: summarize_records(side_records(rows, side)) for side in SIDES}
    summary["rows"] = len(rows)
    summary["compared"] = sum(1 for row in rows if row["agree"] is not None)
    summary["disagree"] = sum(1 for row in rows if row["agree"] is False)
    return summary


# -- downloads -------------------------------------------------------------------------------

#: The joint CSV's columns, in order.
CSV_COLUMNS = (
    "id", "line", "turn", "image", "images", "video", "question", "reference", "checkpoint_a", "checkpoint_b",
    "prediction_a", "prediction_b", "agree", *(f"{name}_{side}" for name in SCORE_NAMES for side in SIDES),
    "error_a", "error_b", "latency_s_a", "latency_s_b", "new_tokens_a", "new_tokens_b",
)  # fmt: skip


def to_jsonl(rows: Sequence[dict]) -> str:
    """The joint rows, one JSON object a line (as `batch --model-b` writes OUT)."""
    return "".join(json.dumps(_published(row), ensure_ascii=False) + "\n" for row in rows)


def to_csv(rows: Sequence[dict]) -> str:
    """The joint rows as a table: scores flattened (`relaxed_a`, ...), lists joined with `;`."""
    table = []
    for row in rows:
        cells = dict(row)
        for side in SIDES:
            scores = row.get(f"score_{side}") or {}
            cells.update({f"{name}_{side}": scores.get(name) for name in SCORE_NAMES})
        table.append(cells)
    return csv_table(CSV_COLUMNS, table)


def _published(row: dict) -> dict:
    return {key: value for key, value in row.items() if not key.startswith("done_")}
