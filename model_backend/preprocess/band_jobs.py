"""Run small CPU jobs on the calling thread and one shared background worker at once.

Pillow and torch release the GIL while they crunch pixels, so two threads use two cores.
Jobs go to the worker in order as they become ready; when the caller has nothing else to do
it calls `finish`, which takes the not-yet-started jobs back from the end of the queue and
runs them itself. The caller therefore never waits on a job queued behind someone else's
work (the worker is shared by every browser session), and no job runs twice.

>>> jobs = BandJobs()
>>> squares = [jobs.submit(lambda n=n: n * n) for n in range(4)]
>>> jobs.finish()
>>> [job.value for job in squares]
[0, 1, 4, 9]
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

# One worker for the whole process: together with the calling thread that is two busy
# threads per image, which is what the 2-core machines this app targets can run at once.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-bands")


@dataclass
class Job:
    """One unit of work and, once finished, its return value."""

    fn: Callable[[], object]
    value: object = None
    future: Future | None = field(default=None, repr=False)

    def run(self) -> None:
        self.value = self.fn()


class BandJobs:
    """A batch of jobs shared between the caller and the background worker."""

    def __init__(self) -> None:
        self._jobs: list[Job] = []

    def submit(self, fn: Callable[[], object]) -> Job:
        """Queue `fn` for the worker; its result lands in the returned job's `value`."""
        job = Job(fn)
        job.future = _WORKER.submit(job.run)
        self._jobs.append(job)
        return job

    def finish(self) -> None:
        """Run every job the worker has not started here, wait for the rest, re-raise the first error."""
        jobs, self._jobs = self._jobs, []
        try:
            for job in reversed(jobs):  # the worker takes the oldest jobs, so the caller starts at the back
                if job.future is not None and job.future.cancel():
                    job.future = None
                    job.run()
            for job in jobs:
                if job.future is not None:
                    job.future.result()
        finally:
            self._cancel(jobs)

    def cancel(self) -> None:
        """Drop the jobs not started yet (after an error: their results would not be used)."""
        jobs, self._jobs = self._jobs, []
        self._cancel(jobs)

    @staticmethod
    def _cancel(jobs: list[Job]) -> None:
        for job in jobs:
            if job.future is not None:
                job.future.cancel()
