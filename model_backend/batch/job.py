"""One batch run answering on its own thread (`BatchJob`), and how a run's model is stored.

The registry (`model_backend.batch.registry.BatchRegistry`) makes a job per run it starts or
resumes and keeps what the job reports (each result, the run's status) in its database; the job
knows it only as a `JobHost`. A job
with `target_b` is an A/B run: `model_backend.batch.ab.run_ab` answers both sides.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from i18n import Text
from model_backend.batch.ab import SIDES, Side, run_ab
from model_backend.batch.datasets import DatasetError, Row
from model_backend.batch.run import BatchOptions, plan_jobs, run_batch
from model_backend.batch.uploads import Dataset, load_rows
from model_backend.serving.factory import EngineFactory, Target
from model_backend.serving.runs import FairQueue, explain
from model_backend.settings import GenerationSettings, LoadSpec, ServerSpec

# -- targets, stored -------------------------------------------------------------------------


def target_record(target: Target) -> dict:
    """The target as JSON: a checkpoint's LoadSpec, a server without its API key, or an engine's label."""
    if isinstance(target, LoadSpec):
        return {"kind": "local", "spec": asdict(target)}
    if isinstance(target, ServerSpec):
        return {"kind": "server", "base_url": target.base_url, "model": target.model, "timeout_s": target.timeout_s}
    return {"kind": "engine", "label": str(getattr(target, "label", type(target).__name__))}


def target_from_record(record: dict) -> Target | None:
    if record.get("kind") == "local":
        return LoadSpec(**record["spec"])
    if record.get("kind") == "server":
        return ServerSpec(record["base_url"], record["model"], None, record.get("timeout_s", 60.0))
    return None  # an engine object lives in memory only


# -- the job ---------------------------------------------------------------------------------


class JobHost(Protocol):
    """What a job needs from the registry that runs it (`BatchRegistry`): the models and the chat
    answers' fair queue, and a place for its reports. A protocol, so the job never imports its registry."""

    factory: EngineFactory
    queue: FairQueue | None
    closing: bool  # the server is going down: an unfinished run is interrupted, not failed

    def answered_keys(self, run_id: str) -> set[str]: ...

    def record_status(self, run_id: str, **fields: Any) -> None: ...

    def record_result(self, run_id: str, result: dict) -> None: ...

    def record_end(self, job: BatchJob, status: str, problem: tuple[Text | str, str | None] | None) -> None: ...


@dataclass(eq=False)
class BatchJob:
    """One run answering on its own thread."""

    run_id: str
    registry: JobHost
    target: Target
    dataset: Dataset
    settings: GenerationSettings
    options: BatchOptions
    checkpoint: str
    #: An A/B run's second model, answering the same questions (`model_backend.batch.ab`).
    target_b: Target | None = None
    checkpoint_b: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    loading: tuple[str, float | None] | None = None
    _thread: threading.Thread | None = None

    def start(self) -> BatchJob:
        self._thread = threading.Thread(target=self._work, name=f"batch-{self.run_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.stop.set()

    def join(self, timeout_s: float | None) -> bool:
        """True once the thread has ended (within `timeout_s`)."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self._thread is None or not self._thread.is_alive()

    def _work(self) -> None:
        registry, status, problem = self.registry, "failed", None
        try:
            rows = load_rows(self.dataset)
            skip = registry.answered_keys(self.run_id)
            if self.target_b is not None:
                complete = self._work_ab(rows, skip)
            else:
                planned = plan_jobs(rows, skip)
                registry.record_status(self.run_id, status="loading", total=len(skip) + len(planned))
                with registry.factory.lease(self.target, self._loading) as engine:
                    self.loading = None
                    registry.record_status(self.run_id, status="running")
                    complete = run_batch(
                        engine,
                        planned,
                        None,
                        self.settings,
                        self.options,
                        self.checkpoint,
                        stop=self.stop,
                        on_result=self._keep,
                        gate=lambda: self._gate(self.target),
                    )
            status = "done" if complete else "cancelled"
        except DatasetError as error:  # the file changed or went away since the run started
            problem = (Text("batch.dataset_unreadable"), str(error))
        except Exception as error:  # a model that does not load, a full pool, a store error
            problem = explain(error)
        finally:
            if registry.closing and status != "done":
                status, problem = "interrupted", None  # the server is going down: resumable after the restart
            elif self.stop.is_set() and status == "failed":
                status, problem = "cancelled", None
            registry.record_end(self, status, problem)

    def _work_ab(self, rows: list[Row], skip: set[str]) -> bool:
        """Both sides over the same questions; each side skips what it has already answered."""
        registry = self.registry
        planned = {side: plan_jobs(rows, {k[2:] for k in skip if k.startswith(side + "\x00")}) for side in SIDES}
        questions = len(plan_jobs(rows, set()))
        registry.record_status(self.run_id, status="loading", total=2 * questions)
        targets: dict[Side, Target] = {"a": self.target, "b": self.target_b}  # type: ignore[dict-item]
        checkpoints: dict[Side, str] = {"a": self.checkpoint, "b": self.checkpoint_b or ""}

        @contextmanager
        def lease(side: Side) -> Iterator[Any]:
            registry.record_status(self.run_id, status="loading")
            with registry.factory.lease(targets[side], self._loading) as engine:
                self.loading = None
                registry.record_status(self.run_id, status="running")
                yield engine

        return run_ab(
            lease,
            planned,
            self.settings,
            self.options,
            checkpoints,
            lambda side, result: self._keep({**result, "side": side}),
            stop=self.stop,
            gate=lambda side: self._gate(targets[side]),
            on_mode=lambda mode: registry.record_status(self.run_id, mode=mode),
        )

    def _loading(self, message: str, fraction: float | None) -> None:
        self.loading = (message, fraction)

    def _keep(self, result: dict) -> None:
        self.registry.record_result(self.run_id, result)

    @contextmanager
    def _gate(self, target: Target) -> Iterator[None]:
        """One turn on the model in the chat answers' fair queue (so a long run never starves a chat)."""
        queue, ticket = self.registry.queue, object()
        if queue is None or not queue.enter(target, ticket, self.stop):
            yield  # no queue, or stopped while waiting: run_batch sees the stop and ends
            return
        try:
            yield
        finally:
            queue.leave(target)
