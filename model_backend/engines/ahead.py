"""Work done ahead of a question (encode while the user types), and how it gives way to answers.

When an image or a video is attached, the engine can tile it, run the vision encoder on it and
prefill the prompt up to where the question will go, before the question exists
(`LocalEngine.encode_ahead`). Such a job must never slow an answer that is being written, and
an answer that needs the job's result must not redo it:

- a job waits, before each of its stages, until no answer is being generated on its model
  (`wait_idle`), unless an answer is waiting for it;
- an answer whose prompt starts with a job's media (the question was sent while its image was
  still being encoded) waits for that job (`wait_for_jobs`) and then finds its results in the
  caches, instead of encoding the same image a second time on the same cores.

>>> work = BackgroundWork()
>>> job = work.register(marks=torch.tensor([1, 2, -5, -5, 3]))
>>> job.first_media, work.wait_idle(job, threading.Event())
(2, True)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from model_backend.engines.prefix_cache import common_prefix

_POLL_S = 0.1


@dataclass(eq=False)
class AheadJob:
    """One job in flight: the prompt it prepares (marks, as `PrefixCache` labels positions)."""

    marks: torch.Tensor
    first_media: int
    done: threading.Event = field(default_factory=threading.Event)
    #: An answer waits for this job: it stops giving way to other answers.
    wanted: bool = False


class BackgroundWork:
    """Counts the answers being generated on one engine and the jobs done ahead for it (thread-safe)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._generating = 0
        self._jobs: list[AheadJob] = []

    @contextmanager
    def generating(self) -> Iterator[None]:
        """Around the model work of one answer."""
        with self._changed:
            self._generating += 1
        try:
            yield
        finally:
            with self._changed:
                self._generating -= 1
                self._changed.notify_all()

    def register(self, marks: torch.Tensor) -> AheadJob:
        media = (marks < 0).nonzero()
        job = AheadJob(marks, int(media[0]) if len(media) else len(marks))
        with self._changed:
            self._jobs.append(job)
        return job

    def finish(self, job: AheadJob) -> None:
        with self._changed:
            self._jobs.remove(job)
            job.done.set()
            self._changed.notify_all()

    def wait_idle(self, job: AheadJob, cancel: threading.Event) -> bool:
        """Wait until no answer is being generated (or one waits for `job`); False when cancelled."""
        with self._changed:
            while self._generating and not job.wanted and not cancel.is_set():
                self._changed.wait(_POLL_S)
        return not cancel.is_set()

    def wait_for_jobs(self, marks: torch.Tensor, *stops: threading.Event) -> None:
        """Wait for the jobs in flight that prepare this prompt's media (until any of `stops` is set)."""
        with self._changed:
            needed = [job for job in self._jobs if common_prefix(job.marks, marks) > job.first_media]
            for job in needed:
                job.wanted = True
            self._changed.notify_all()
        for job in needed:
            while not job.done.wait(_POLL_S):
                if any(stop.is_set() for stop in stops):
                    return
