"""Band jobs: each runs once, errors reach the caller, and a busy shared worker never blocks a caller."""

from __future__ import annotations

import threading

import pytest

from model_backend.preprocess.band_jobs import BandJobs


def test_every_job_runs_exactly_once_and_keeps_its_value() -> None:
    runs: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            runs.append(n)
        return n * n

    jobs = BandJobs()
    submitted = [jobs.submit(lambda n=n: work(n)) for n in range(200)]
    jobs.finish()
    assert sorted(runs) == list(range(200))
    assert [job.value for job in submitted] == [n * n for n in range(200)]


def test_the_first_error_reaches_the_caller() -> None:
    jobs = BandJobs()
    jobs.submit(lambda: 1)
    jobs.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        jobs.finish()


def test_a_caller_finishes_while_the_shared_worker_is_busy_elsewhere() -> None:
    release = threading.Event()
    started = threading.Event()
    other = BandJobs()  # another browser session's image, stuck on the worker

    def blocking() -> None:
        started.set()
        release.wait(10)

    other.submit(blocking)
    assert started.wait(5)
    mine = BandJobs()
    results = [mine.submit(lambda n=n: n + 1) for n in range(5)]
    done = threading.Event()
    thread = threading.Thread(target=lambda: (mine.finish(), done.set()))
    thread.start()
    try:
        assert done.wait(5), "finish() waited for another batch's job"
        assert [job.value for job in results] == [1, 2, 3, 4, 5]
    finally:
        release.set()
        other.finish()
        thread.join(5)
