"""The worker pool: a failing, hanging, crashing or panicking job fails alone; the pool recovers."""

from __future__ import annotations

import pytest
import worker_jobs

from vectorizer.workers import WorkerCrashed, WorkerError, WorkerTimeout


def test_worker_pool_returns_job_result(worker_pool):
    assert worker_pool.run(worker_jobs.add, 2, 3, timeout=30) == 5


def test_worker_pool_reports_raised_exception_kind(worker_pool):
    with pytest.raises(WorkerError) as caught:
        worker_pool.run(worker_jobs.raise_value_error, timeout=30)

    assert type(caught.value) is WorkerError
    assert caught.value.kind == "ValueError"
    assert str(caught.value) == "the job could not cope"
    assert worker_pool.run(worker_jobs.add, 1, 1, timeout=30) == 2


def test_worker_pool_kills_hanging_job_at_timeout(worker_pool):
    worker_pool.run(worker_jobs.add, 0, 0, timeout=30)  # a warm worker: the clock is the job's
    restarts = worker_pool.restarts
    timeouts, deadlines = worker_pool.stops["timeout"], worker_pool.stops["deadline"]

    # Left alone the job would return after 10 minutes: only the timeout raises here.
    with pytest.raises(WorkerTimeout, match=r"longer than 0\.5 s") as caught:
        worker_pool.run(worker_jobs.hang, 600, timeout=0.5)

    assert caught.value.kind == "Timeout"
    assert worker_pool.restarts == restarts + 1
    assert worker_pool.stops["timeout"] == timeouts + 1
    assert worker_pool.stops["deadline"] == deadlines  # no deadline was given
    assert worker_pool.run(worker_jobs.add, 2, 2, timeout=30) == 4


def test_worker_pool_recovers_from_crashed_worker(worker_pool):
    crashes = worker_pool.stops["crash"]

    with pytest.raises(WorkerCrashed, match="exit code 3") as caught:
        worker_pool.run(worker_jobs.exit_hard, timeout=30)

    assert caught.value.kind == "Crashed"
    assert worker_pool.stops["crash"] == crashes + 1
    assert worker_pool.run(worker_jobs.add, 3, 4, timeout=30) == 7


def test_worker_pool_survives_vtracer_panic(worker_pool):
    pid = worker_pool.run(worker_jobs.worker_pid, timeout=30)
    restarts = worker_pool.restarts

    with pytest.raises(WorkerError) as caught:
        worker_pool.run(worker_jobs.vtracer_panic, timeout=30)

    assert caught.value.kind == "PanicException"
    assert worker_pool.restarts == restarts
    # The idle pool hands back the most recently used worker: the one that panicked.
    assert worker_pool.run(worker_jobs.worker_pid, timeout=30) == pid


def test_worker_pool_map_keeps_order_and_failures(worker_pool):
    results = worker_pool.map(worker_jobs.add, [(1, 2), (3, "x"), (5, 6)], timeout=30)

    assert results[0] == 3
    assert isinstance(results[1], WorkerError)
    assert results[1].kind == "TypeError"
    assert results[2] == 11


def test_worker_pool_refuses_unpicklable_job_without_losing_a_worker(worker_pool):
    worker_pool.run(worker_jobs.add, 0, 0, timeout=30)
    live = len(worker_pool._workers)

    with pytest.raises(WorkerError, match="the job cannot be sent"):
        worker_pool.run(lambda: 1, timeout=30)

    assert len(worker_pool._workers) == live
    assert worker_pool.run(worker_jobs.add, 1, 2, timeout=30) == 3
