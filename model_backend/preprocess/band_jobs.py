"""Run small CPU jobs on the calling thread and the shared background workers at once.

Pillow and torch release the GIL while they crunch pixels, so threads use several cores.
Jobs go to the workers in order as they become ready; when the caller has nothing else to do
it calls `finish`, which takes the not-yet-started jobs back from the end of the queue and
runs them itself. The caller therefore never waits on a job queued behind someone else's
work (the workers are shared by every browser session), and no job runs twice. A job may
submit more jobs to its batch; `finish` returns once those are done too.

>>> jobs = BandJobs()
>>> squares = [jobs.submit(lambda n=n: n * n) for n in range(4)]
>>> jobs.finish()
>>> [job.value for job in squares]
[0, 1, 4, 9]
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Shared by the whole process; with the calling thread, one busy thread per core (at most 8:
# an image has only so many bands). On the 2-core machines this app targets: one worker.
_WORKERS = ThreadPoolExecutor(max_workers=max(1, min(_cores(), 8) - 1), thread_name_prefix="image-bands")


@dataclass
class Job:
    """One unit of work and, once finished, its return value."""

    fn: Callable[[], object]
    value: object = None
    future: Future | None = field(default=None, repr=False)

    def run(self) -> None:
        self.value = self.fn()


class BandJobs:
    """A batch of jobs shared between the caller and the background workers."""

    def __init__(self) -> None:
        self._jobs: list[Job] = []
        self._lock = threading.Lock()  # jobs running on either thread may submit more

    def submit(self, fn: Callable[[], object]) -> Job:
        """Queue `fn` for the workers; its result lands in the returned job's `value`."""
        job = Job(fn)
        with self._lock:
            job.future = _WORKERS.submit(job.run)
            self._jobs.append(job)
        return job

    def finish(self) -> None:
        """Run every job no worker has started here, wait for the rest, re-raise the first error."""
        while jobs := self._take():
            try:
                for job in reversed(jobs):  # workers take the oldest jobs, so the caller starts at the back
                    if job.future is not None and job.future.cancel():
                        job.future = None
                        job.run()
                for job in jobs:
                    if job.future is not None:
                        job.future.result()
            except BaseException:
                self.cancel()
                raise
            finally:
                self._cancel(jobs)

    def cancel(self) -> None:
        """Drop the jobs not started yet (after an error: their results would not be used)."""
        self._cancel(self._take())

    def _take(self) -> list[Job]:
        with self._lock:
            jobs, self._jobs = self._jobs, []
        return jobs

    @staticmethod
    def _cancel(jobs: list[Job]) -> None:
        for job in jobs:
            if job.future is not None:
                job.future.cancel()
