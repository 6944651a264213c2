"""Batch runs as server-side jobs, for the app's Batch page: a thread per run, results in SQLite.

A `BatchJob` answers a dataset with `run_batch` on its own thread, so the page only watches it:
leaving the page, refreshing or closing the tab changes nothing. Each result row is committed
in its own transaction as soon as it exists (a killed server loses at most the row being
answered). Cancel stops the answer being generated within a token or two; that row is not kept.

After a restart, runs that were going are shown as interrupted; `resume` continues one where it
stopped (the dataset is read again and the questions already answered are skipped, the way the
CLI's `--resume` skips what OUT holds).

An A/B run (`target_b`) is one run whose two models answer the same questions
(`model_backend.batch.ab`): its results are kept per side, `joint` gives them as one table.

The job itself is `model_backend.batch.job`. Where the datasets come from (uploads, checked and
confined; files under the dataset roots) is `model_backend.batch.uploads`; the downloads are
`model_backend.batch.export`. Their public names
are importable from here too.

>>> registry = BatchRegistry(factory)                                                # doctest: +SKIP
>>> run_id = registry.start_upload("browser:x", ("data.jsonl", data), [("a.jpg", jpg)],
...                                LoadSpec("demo"), GenerationSettings())            # doctest: +SKIP
>>> registry.wait(run_id, 60); registry.results(run_id, "browser:x")[0]["prediction"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from i18n import Text
from model_backend.batch.ab import Mode, joint_rows, side_key
from model_backend.batch.datasets import DatasetError
from model_backend.batch.export import CSV_COLUMNS, to_csv, to_jsonl
from model_backend.batch.job import BatchJob, checkpoint_label, target_from_record, target_record
from model_backend.batch.run import BatchOptions, attachments, plan_jobs, result_key
from model_backend.batch.uploads import (
    DATASET_SUFFIXES,
    DEFAULT_UPLOAD_MB,
    MAX_ZIP_ENTRIES,
    ROOTS_ENV,
    UPLOAD_ENV,
    BatchError,
    Dataset,
    Upload,
    dataset_roots,
    load_rows,
    save_upload,
    server_dataset,
    server_datasets,
    upload_limit_bytes,
)
from model_backend.conversation import (
    AnswerStats,
    Conversation,
    message_from_record,
    message_record,
)
from model_backend.serving.factory import EngineFactory, Target
from model_backend.serving.runs import FairQueue
from model_backend.settings import GenerationSettings, LoadSpec
from model_backend.storage.store import default_data_dir, new_id

__all__ = [
    "CSV_COLUMNS",
    "DATASET_SUFFIXES",
    "DB_NAME",
    "DEFAULT_UPLOAD_MB",
    "MAX_ZIP_ENTRIES",
    "ROOTS_ENV",
    "UPLOAD_ENV",
    "BatchError",
    "BatchJob",
    "BatchRegistry",
    "BatchRun",
    "Dataset",
    "Upload",
    "checkpoint_label",
    "dataset_roots",
    "load_rows",
    "save_upload",
    "server_dataset",
    "server_datasets",
    "to_csv",
    "to_jsonl",
    "upload_limit_bytes",
]

log = logging.getLogger(__name__)

DB_NAME = "batches.sqlite3"
UPLOADS_DIR = "batches"
#: The key suffix of an A/B run's second target in `BatchRegistry._targets`.
_B = "\x00b"

Status = Literal["loading", "running", "done", "cancelled", "interrupted", "failed"]
ACTIVE: tuple[Status, ...] = ("loading", "running")
#: Runs that can go on from where they stopped.
RESUMABLE: tuple[Status, ...] = ("cancelled", "interrupted", "failed")
#: Which chat page a result row opens on, by its media.
Page = Literal["image", "multi", "video"]

_SCHEMA = """
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
_ADDED_COLUMNS = (("target_b", "TEXT"), ("checkpoint_b", "TEXT"), ("mode", "TEXT"))


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


# -- the registry ----------------------------------------------------------------------------


class BatchRegistry:
    """Every batch run of this server: the live jobs in memory, runs and results in `root/batches.sqlite3`."""

    def __init__(
        self,
        factory: EngineFactory,
        root: Path | None = None,
        queue: FairQueue | None = None,
        limit_bytes: int | None = None,
    ) -> None:
        self.factory, self.queue = factory, queue
        self.root = root or default_data_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.uploads = self.root / UPLOADS_DIR
        self.limit_bytes = upload_limit_bytes() if limit_bytes is None else limit_bytes
        self.closing = False
        self._lock = threading.Lock()
        self._jobs: dict[str, BatchJob] = {}
        #: Targets that cannot be stored (an engine object, a server's API key), by run id.
        self._targets: dict[str, Target] = {}
        self._db = sqlite3.connect(self.root / DB_NAME, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: a killed process keeps every commit
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
        for name, kind in _ADDED_COLUMNS:
            if name not in present:
                self._db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        with self._transaction() as db:  # no thread of this process runs them: the server restarted
            db.execute(
                "UPDATE runs SET status = 'interrupted', updated = ? WHERE status IN ('loading', 'running')",
                (time.time(),),
            )

    # -- starting ----------------------------------------------------------------------------

    def start_upload(
        self,
        owner: str,
        dataset: Upload | None,
        media: Sequence[Upload],
        target: Target,
        settings: GenerationSettings,
        options: BatchOptions | None = None,
        target_b: Target | None = None,
    ) -> str:
        """Save the uploads in a folder of their own and start answering them; the run's id.

        With `target_b` it is an A/B run: both models answer every question (`joint`)."""
        run_id = new_id()
        prepared = save_upload(self.uploads / run_id, dataset, media, self.limit_bytes)
        try:
            return self._start(run_id, owner, prepared, target, settings, options or BatchOptions(), target_b)
        except BaseException:
            shutil.rmtree(prepared.folder or self.uploads / run_id, ignore_errors=True)
            raise

    def start_dataset(
        self,
        owner: str,
        dataset: Dataset,
        target: Target,
        settings: GenerationSettings,
        options: BatchOptions | None = None,
        target_b: Target | None = None,
    ) -> str:
        """Start answering a dataset already on the server (see `server_dataset`); `target_b` as above."""
        return self._start(new_id(), owner, dataset, target, settings, options or BatchOptions(), target_b)

    def _start(
        self,
        run_id: str,
        owner: str,
        dataset: Dataset,
        target: Target,
        settings: GenerationSettings,
        options: BatchOptions,
        target_b: Target | None = None,
    ) -> str:
        try:
            rows = load_rows(dataset)
        except DatasetError as error:
            raise BatchError("batch.dataset_unreadable", detail=str(error)) from error
        total = len(plan_jobs(rows, set()))
        if not total:
            raise BatchError("batch.dataset_empty", name=dataset.path.name)
        now = time.time()
        checkpoint = checkpoint_label(target)
        checkpoint_b = checkpoint_label(target_b) if target_b is not None else None
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (id, owner, created, updated, name, dataset, media_root, confine, folder, target,"
                " checkpoint, settings, options, status, total, target_b, checkpoint_b)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    owner,
                    now,
                    now,
                    dataset.path.name,
                    str(dataset.path),
                    str(dataset.media_root),
                    json.dumps([str(p) for p in dataset.confine]),
                    str(dataset.folder) if dataset.folder else None,
                    json.dumps(target_record(target)),
                    checkpoint,
                    json.dumps(settings.to_dict()),
                    json.dumps(asdict(options)),
                    "loading",
                    total * (2 if target_b is not None else 1),
                    json.dumps(target_record(target_b)) if target_b is not None else None,
                    checkpoint_b,
                ),
            )
        if not isinstance(target, LoadSpec):
            self._targets[run_id] = target
        if target_b is not None and not isinstance(target_b, LoadSpec):
            self._targets[run_id + _B] = target_b
        self._launch(BatchJob(run_id, self, target, dataset, settings, options, checkpoint, target_b, checkpoint_b))
        return run_id

    def _launch(self, job: BatchJob) -> None:
        with self._lock:
            self._jobs[job.run_id] = job
        job.start()

    def resume(self, run_id: str, owner: str, target: Target | None = None) -> None:
        """Go on with a cancelled, interrupted or failed run: the questions not answered yet.

        `target` replaces the run's own (a server's API key is not stored, so a session that has it
        passes its server spec).
        """
        columns = "status, dataset, media_root, confine, folder, target, settings, options, target_b"
        row = self._row(run_id, owner, columns)
        if row is None:
            return
        status, dataset, media_root, confine, folder, stored, settings, options, stored_b = row
        with self._lock:
            if run_id in self._jobs or status == "done":
                return  # already going, or nothing left
        chosen = target or self._targets.get(run_id) or target_from_record(json.loads(stored))
        chosen_b = None
        if stored_b is not None:
            chosen_b = self._targets.get(run_id + _B) or target_from_record(json.loads(stored_b))
        if chosen is None or (stored_b is not None and chosen_b is None):
            raise BatchError("batch.resume_no_model")
        prepared = Dataset(
            Path(dataset),
            Path(media_root),
            tuple(Path(p) for p in json.loads(confine)),
            Path(folder) if folder else None,
        )
        if not prepared.path.is_file():
            raise BatchError("batch.dataset_gone", name=prepared.path.name)
        self.record_status(run_id, status="loading", problem=None)
        generation = GenerationSettings(**json.loads(settings))
        job = BatchJob(
            run_id,
            self,
            chosen,
            prepared,
            generation,
            BatchOptions(**json.loads(options)),
            checkpoint_label(chosen),
            chosen_b,
            checkpoint_label(chosen_b) if chosen_b is not None else None,
        )
        self._launch(job)

    # -- looking -----------------------------------------------------------------------------

    def get(self, run_id: str, owner: str) -> BatchRun | None:
        rows = self._runs("id = ? AND owner = ?", (run_id, owner))
        return rows[0] if rows else None

    def list(self, owner: str) -> list[BatchRun]:
        """The owner's runs, newest first."""
        return self._runs("owner = ? ORDER BY created DESC", (owner,))

    def results(self, run_id: str, owner: str, wrong_only: bool = False, limit: int | None = None) -> list[dict]:
        """The run's results in dataset order (each as the CLI writes it, plus `seq`)."""
        if self._row(run_id, owner, "id") is None:
            return []
        sql = "SELECT seq, body FROM results WHERE run_id = ?" + (" AND wrong = 1" if wrong_only else "")
        sql += " ORDER BY line, turn" + (f" LIMIT {int(limit)}" if limit is not None else "")
        with self._lock:
            rows = self._db.execute(sql, (run_id,)).fetchall()
        return [{**json.loads(body), "seq": seq} for seq, body in rows]

    def joint(self, run_id: str, owner: str) -> list[dict]:
        """An A/B run's results as one row per question (`batch_ab.joint_rows`), in dataset order."""
        return joint_rows(self.results(run_id, owner))

    def count(self, run_id: str, owner: str, wrong_only: bool = False) -> int:
        if self._row(run_id, owner, "id") is None:
            return 0
        sql = "SELECT count(*) FROM results WHERE run_id = ?" + (" AND wrong = 1" if wrong_only else "")
        with self._lock:
            return int(self._db.execute(sql, (run_id,)).fetchone()[0])

    def wait(self, run_id: str, timeout_s: float) -> bool:
        """Wait until the run's thread has ended; True if it has (tests, shutdown)."""
        with self._lock:
            job = self._jobs.get(run_id)
        return job is None or job.join(timeout_s)

    # -- changing ----------------------------------------------------------------------------

    def cancel(self, run_id: str, owner: str) -> None:
        """Stop the run after (or within) the row it is answering; what is answered stays."""
        if self._row(run_id, owner, "id") is None:
            return
        with self._lock:
            job = self._jobs.get(run_id)
        if job is not None:
            job.cancel()

    def delete(self, run_id: str, owner: str) -> None:
        """Forget the run: its results, and its uploads (never a dataset on the server)."""
        row = self._row(run_id, owner, "folder")
        if row is None:
            return
        self.cancel(run_id, owner)
        self.wait(run_id, 10.0)
        with self._transaction() as db:
            db.execute("DELETE FROM results WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        self._targets.pop(run_id, None)
        self._targets.pop(run_id + _B, None)
        if row[0]:
            shutil.rmtree(row[0], ignore_errors=True)

    def close(self, wait_s: float = 10.0) -> None:
        """Stop every job (they stay resumable, as after a restart) and close the database."""
        self.closing = True
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        deadline = time.monotonic() + wait_s
        for job in jobs:
            job.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._db.close()

    # -- a row as a conversation -------------------------------------------------------------

    def conversation(self, run_id: str, owner: str, seq: int) -> tuple[Page, Conversation, dict] | None:
        """One result as a chat: the row's media and questions (earlier turns with their references
        as answers, as the run asked them), the prediction as the last answer; its page and settings
        (with the checkpoint of the result's side, for either side of an A/B run)."""
        row = self._row(run_id, owner, "dataset, media_root, confine, folder, settings, options, target, target_b")
        if row is None:
            return None
        dataset, media_root, confine, folder, settings, options, stored, stored_b = row
        with self._lock:
            found = self._db.execute("SELECT body FROM results WHERE run_id = ? AND seq = ?", (run_id, seq)).fetchone()
        if found is None:
            return None
        result = json.loads(found[0])
        prepared = Dataset(
            Path(dataset),
            Path(media_root),
            tuple(Path(p) for p in json.loads(confine)),
            Path(folder) if folder else None,
        )
        source = next((r for r in load_rows(prepared) if r.line == result.get("line")), None)
        if source is None or source.error is not None or not source.questions:
            raise BatchError("batch.row_gone")
        images, video = attachments(source, BatchOptions(**json.loads(options)))
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

    def first_image(self, run_id: str, owner: str, result: dict) -> Path | None:
        """The first image of a result's row (for a thumbnail), if it is a file inside the run's folders."""
        row = self._row(run_id, owner, "media_root, confine")
        if row is None:
            return None
        root, confine = Path(row[0]), tuple(Path(p) for p in json.loads(row[1]))
        names = [n for key in ("image", "images") for n in _as_list(result.get(key)) if isinstance(n, str)]
        if not names:
            return None
        path = Path(names[0])
        path = path if path.is_absolute() else root / path
        resolved = path.resolve()
        if not any(resolved.is_relative_to(r) for r in confine) or not resolved.is_file():
            return None
        return resolved

    # -- internals ---------------------------------------------------------------------------

    def _runs(self, where: str, args: tuple) -> list[BatchRun]:
        sql = (
            "SELECT id, owner, name, checkpoint, status, total, done, errors, created, updated, settings, problem,"
            f" checkpoint_b, mode FROM runs WHERE {where}"
        )
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
            jobs = dict(self._jobs)
        runs = []
        for row in rows:
            run_id, owner, name, checkpoint, status, total, done, errors, created, updated, settings, problem = row[:12]
            checkpoint_b, mode = row[12:]
            job = jobs.get(run_id)
            message, detail = None, None
            if problem:
                stored = json.loads(problem)
                message, detail = message_from_record(stored.get("message")), stored.get("detail")
            runs.append(
                BatchRun(
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
            )
        return runs

    def _row(self, run_id: str, owner: str, columns: str) -> tuple | None:
        with self._lock:
            return self._db.execute(
                f"SELECT {columns} FROM runs WHERE id = ? AND owner = ?", (run_id, owner)
            ).fetchone()

    def answered_keys(self, run_id: str) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT job FROM results WHERE run_id = ?", (run_id,))}

    def record_result(self, run_id: str, result: dict) -> None:
        """One result and the run's counts, in one transaction: what is on screen is on disk."""
        failed = result.get("error") is not None
        scored = result.get("score")
        wrong = failed or (isinstance(scored, dict) and scored.get("relaxed", 1.0) < 1.0)
        with self._transaction() as db:
            seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM results WHERE run_id = ?", (run_id,)).fetchone()[0]
            db.execute(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    seq,
                    side_key(result["side"], result_key(result)) if result.get("side") else result_key(result),
                    int(result.get("line") or 0),
                    int(result.get("turn") or 0),
                    int(failed),
                    int(wrong),
                    json.dumps(result, ensure_ascii=False),
                ),
            )
            db.execute(
                "UPDATE runs SET done = done + 1, errors = errors + ?, updated = ? WHERE id = ?",
                (int(failed), time.time(), run_id),
            )

    def record_status(self, run_id: str, **fields: Any) -> None:
        fields["updated"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._transaction() as db:
            db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*fields.values(), run_id))

    def record_end(self, job: BatchJob, status: str, problem: tuple[Text | str, str | None] | None) -> None:
        stored = None
        if problem is not None:
            stored = json.dumps({"message": message_record(problem[0]), "detail": problem[1]})
        try:
            self.record_status(job.run_id, status=status, problem=stored)
        except sqlite3.ProgrammingError:  # closed under us at shutdown: the restart marks it interrupted
            pass
        except Exception:
            log.exception("could not record the end of batch run %s", job.run_id)
        with self._lock:
            if self._jobs.get(job.run_id) is job:
                del self._jobs[job.run_id]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []
