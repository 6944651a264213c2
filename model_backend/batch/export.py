"""A batch run's results as downloads: JSONL (as the CLI writes OUT) and a flat CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

#: The CSV's columns, in order; scores and lists are flattened.
CSV_COLUMNS = (
    "id", "line", "turn", "image", "images", "video", "question", "reference", "prediction", "error", "checkpoint",
    "exact", "relaxed", "anls", "latency_s", "tiles", "prompt_tokens", "new_tokens", "time_to_first_token_s",
    "tokens_per_s",
)  # fmt: skip


def to_jsonl(results: Sequence[dict]) -> str:
    """The results as the CLI writes them: one JSON object a line."""
    return "".join(json.dumps(_without_seq(r), ensure_ascii=False) + "\n" for r in results)


def to_csv(results: Sequence[dict]) -> str:
    """The results as a table; several images or references are joined with `;`."""
    rows = []
    for result in results:
        score = result.get("score") or {}
        rows.append({**result, **{name: score.get(name) for name in ("exact", "relaxed", "anls")}})
    return csv_table(CSV_COLUMNS, rows)


def csv_table(columns: Sequence[str], rows: Sequence[dict]) -> str:
    """`rows` as CSV with a header of `columns`; None empty, lists joined with `;`, yes/no for booleans."""
    sink = io.StringIO()
    writer = csv.writer(sink)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return sink.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _without_seq(result: dict) -> dict:
    return {key: value for key, value in result.items() if key != "seq"}
