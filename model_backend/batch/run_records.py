"""What a batch run is, as its database stores it and as the page shows it: the tables
(`SCHEMA`, `ADDED_COLUMNS`), a run's status and its `BatchRun` view, and a stored result read back
as what it came from (its dataset, its first image, the conversation it was).

The registry (`model_backend.batch.registry`) owns the database and the jobs; the functions here
only turn its rows into values.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from i18n import Text
from model_backend.batch.ab import Mode
from model_backend.batch.run import BatchOptions, attachments
from model_backend.batch.uploads import BatchError, Dataset, load_rows
from model_backend.conversation import AnswerStats, Conversation, message_from_record

Status = Literal["loading", "running", "done", "cancelled", "interrupted", "failed"]
ACTIVE: tuple[Status, ...] = ("loading", "running")
#: Runs that can go on from where they stopped.
RESUMABLE: tuple[Status, ...] = ("cancelled", "interrupted", "failed")
#: Which chat page a result row opens on, by its media.
Page = Literal["image", "multi", "video"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    name TEXT NOT NULL,
    dataset TEXT NOT NULL,
    media_root TEXT NOT NULL,
    confine TEXT NOT NULL,
    folder TEXT,
    target TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    settings TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    problem TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner, created);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    job TEXT NOT NULL,
    line INTEGER NOT NULL,
    turn INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    wrong INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS results_in_order ON results (run_id, line, turn);
"""
#: Columns added since the first version (an older batches.sqlite3 gets them on open): an A/B run's
#: second model, and how its two sides run (`batch_ab.Mode`). NULL for a one-model run.
ADDED_COLUMNS = (("target_b", "TEXT"), ("checkpoint_b", "TEXT"), ("mode", "TEXT"))


@dataclass(frozen=True)
class BatchRun:
    """What the page shows about one run at one moment."""

    id: str
    owner: str
    name: str
    checkpoint: str
    status: Status
    total: int
    done: int
    errors: int
    created: float
    updated: float
    settings: dict
    #: Why the run failed (shown in the visitor's language) and its technical detail.
    problem: Text | str | None = None
    detail: str | None = None
    #: Cancel was asked and the run has not ended yet.
    stopping: bool = False
    #: While loading the model: the loader's last words and fraction.
    loading: tuple[str, float | None] | None = None
    #: An A/B run's second model (results then come per side), and how the two sides run.
    checkpoint_b: str | None = None
    mode: Mode | None = None

    @property
    def ab(self) -> bool:
        return self.checkpoint_b is not None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE and self.done < self.total


def open_database(path: Path) -> sqlite3.Connection:
    """The runs' database at `path`, made or brought up to date (older files get `ADDED_COLUMNS`).

    WAL, and autocommit outside the registry's explicit transactions: a killed process keeps every commit.
    """
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # with WAL: a killed process keeps every commit
    db.executescript(SCHEMA)
    present = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    for name, kind in ADDED_COLUMNS:
        if name not in present:
            db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    return db


#: The `runs` columns `run_from_row` reads, in its order.
RUN_COLUMNS = (
    "id, owner, name, checkpoint, status, total, done, errors, created, updated, settings, problem, checkpoint_b, mode"
)


def run_from_row(row: tuple, job: Any) -> BatchRun:
    """A `runs` row (`RUN_COLUMNS`) as the page sees it; `job` is its live job, if any."""
    run_id, owner, name, checkpoint, status, total, done, errors, created, updated, settings, problem = row[:12]
    checkpoint_b, mode = row[12:]
    message, detail = None, None
    if problem:
        stored = json.loads(problem)
        message, detail = message_from_record(stored.get("message")), stored.get("detail")
    return BatchRun(
        run_id,
        owner,
        name,
        checkpoint,
        status,
        total,
        done,
        errors,
        created,
        updated,
        json.loads(settings),
        message,
        detail,
        stopping=job is not None and job.stop.is_set(),
        loading=job.loading if job is not None else None,
        checkpoint_b=checkpoint_b,
        mode=mode,
    )


def stored_dataset(dataset: str, media_root: str, confine: str, folder: str | None) -> Dataset:
    """The run's dataset from its stored columns."""
    return Dataset(
        Path(dataset), Path(media_root), tuple(Path(p) for p in json.loads(confine)), Path(folder) if folder else None
    )


def conversation_from_result(
    dataset: Dataset, options: BatchOptions, result: dict, settings: str, stored: str, stored_b: str | None
) -> tuple[Page, Conversation, dict]:
    """One result as a chat: the row's media and questions (earlier turns with their references as
    answers, as the run asked them), the prediction as the last answer; its page and saved settings
    (with the checkpoint of the result's side, for either side of an A/B run)."""
    source = next((r for r in load_rows(dataset) if r.line == result.get("line")), None)
    if source is None or source.error is not None or not source.questions:
        raise BatchError("batch.row_gone")
    images, video = attachments(source, options)
    turn = int(result.get("turn", 0))
    conversation = Conversation()
    for number, question in enumerate(source.questions[: turn + 1]):
        conversation.ask(question.text, **({"images": images, "video": video} if number == 0 else {}))
        asked = conversation.turns[-1]
        if number < turn:
            reference = question.reference
            asked.answer = reference[0] if isinstance(reference, list) else reference or ""
    last = conversation.turns[-1]
    if result.get("error") is None:
        last.answer = result.get("prediction") or ""
        last.stats = AnswerStats(
            time_to_first_token_s=result.get("time_to_first_token_s"),
            tokens_per_s=result.get("tokens_per_s"),
            prompt_tokens=result.get("prompt_tokens"),
            new_tokens=int(result.get("new_tokens") or 0),
            tiles=list(result.get("tiles") or []),
        )
    else:
        last.error = str(result["error"])
    page: Page = "video" if video is not None else "multi" if len(images) > 1 else "image"
    saved: dict = {"generation": json.loads(settings)}
    target = json.loads(stored_b if result.get("side") == "b" and stored_b else stored)
    if target.get("kind") == "local":
        saved["load_spec"] = target["spec"]
    return page, conversation, saved


def first_image_path(root: Path, confine: tuple[Path, ...], result: dict) -> Path | None:
    """The first image of a result's row, if it is a file inside the run's folders."""
    names = [n for key in ("image", "images") for n in _as_list(result.get(key)) if isinstance(n, str)]
    if not names:
        return None
    path = Path(names[0])
    path = path if path.is_absolute() else root / path
    resolved = path.resolve()
    if not any(resolved.is_relative_to(r) for r in confine) or not resolved.is_file():
        return None
    return resolved


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []
