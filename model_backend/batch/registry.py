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

The job itself is `model_backend.batch.job`; what a run is, as stored and as shown, is
`model_backend.batch.run_records`. Where the datasets come from (uploads, checked and confined;
files under the dataset roots) is `model_backend.batch.uploads`; the downloads are
`model_backend.batch.export`.

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
from dataclasses import asdict
from pathlib import Path
from typing import Any

from i18n import Text
from model_backend.batch.ab import joint_rows, side_key
from model_backend.batch.datasets import DatasetError
from model_backend.batch.job import BatchJob, target_from_record, target_record
from model_backend.batch.run import BatchOptions, plan_jobs, result_key
from model_backend.batch.run_records import (
    RUN_COLUMNS,
    BatchRun,
    Page,
    conversation_from_result,
    first_image_path,
    open_database,
    run_from_row,
    stored_dataset,
)
from model_backend.batch.uploads import BatchError, Dataset, Upload, load_rows, save_upload, upload_limit_bytes
from model_backend.conversation import Conversation, message_record
from model_backend.serving.factory import EngineFactory, Target
from model_backend.serving.runs import FairQueue
from model_backend.settings import GenerationSettings, LoadSpec
from model_backend.storage.store import default_data_dir, new_id

log = logging.getLogger(__name__)

DB_NAME = "batches.sqlite3"
UPLOADS_DIR = "batches"
#: The key suffix of an A/B run's second target in `BatchRegistry._targets`.
_B = "\x00b"


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
        self._db = open_database(self.root / DB_NAME)
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
        checkpoint = target.label
        checkpoint_b = target_b.label if target_b is not None else None
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
        prepared = stored_dataset(dataset, media_root, confine, folder)
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
            chosen.label,
            chosen_b,
            chosen_b.label if chosen_b is not None else None,
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
        """One result as a chat, with its page and saved settings (`run_records.conversation_from_result`)."""
        row = self._row(run_id, owner, "dataset, media_root, confine, folder, settings, options, target, target_b")
        if row is None:
            return None
        dataset, media_root, confine, folder, settings, options, stored, stored_b = row
        with self._lock:
            found = self._db.execute("SELECT body FROM results WHERE run_id = ? AND seq = ?", (run_id, seq)).fetchone()
        if found is None:
            return None
        source_dataset = stored_dataset(dataset, media_root, confine, folder)
        options_used = BatchOptions(**json.loads(options))
        return conversation_from_result(source_dataset, options_used, json.loads(found[0]), settings, stored, stored_b)

    def first_image(self, run_id: str, owner: str, result: dict) -> Path | None:
        """The first image of a result's row (for a thumbnail), if it is a file inside the run's folders."""
        row = self._row(run_id, owner, "media_root, confine")
        if row is None:
            return None
        return first_image_path(Path(row[0]), tuple(Path(p) for p in json.loads(row[1])), result)

    # -- internals ---------------------------------------------------------------------------

    def _runs(self, where: str, args: tuple) -> list[BatchRun]:
        sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE {where}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
            jobs = dict(self._jobs)
        return [run_from_row(row, jobs.get(row[0])) for row in rows]

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
