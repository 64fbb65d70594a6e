"""Conversion workers: die with their parent, time a job from its start, refuse when full."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import lifecycle_jobs
import pytest

from vectorizer.workers import (
    WorkerBusy,
    WorkerCrashed,
    WorkerDeadline,
    WorkerKilled,
    WorkerPool,
)

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pids: list[int], seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [pid for pid in pids if _alive(pid)]
        if not left:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


@pytest.fixture
def pool():
    pool = WorkerPool(2)
    yield pool
    pool.close()


PARENT = textwrap.dedent(
    """
    import sys, threading, time
    sys.path[:0] = [{here!r}, {root!r}]
    import lifecycle_jobs
    from vectorizer.workers import WorkerPool

    pool = WorkerPool(2)
    # Each job from its own short-lived thread, as gunicorn request threads would.
    pids = pool.map(lifecycle_jobs.worker_pid, [(), ()], timeout=30)
    print(*pids, flush=True)
    for job in (lifecycle_jobs.{job}, lifecycle_jobs.{job}):
        threading.Thread(target=pool.run, args=(job, 120), kwargs={{"timeout": 300}}).start()
    print("busy", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.parametrize("job", ["sleep", "spin"])
def test_workers_die_when_parent_is_killed_mid_job(job):
    code = PARENT.format(here=str(HERE), root=str(ROOT), job=job)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert parent.stdout.readline().strip() == "busy"
        time.sleep(0.5)  # the jobs are running
        assert all(_alive(pid) for pid in pids)
    finally:
        parent.kill()
        parent.wait()

    assert _wait_gone(pids) == []


def test_worker_outlives_the_request_thread_that_started_it(pool):
    pids: list[int] = []
    thread = threading.Thread(
        target=lambda: pids.append(pool.run(lifecycle_jobs.worker_pid, timeout=30))
    )
    thread.start()
    thread.join()
    time.sleep(0.3)

    assert _alive(pids[0])
    assert pool.run(lifecycle_jobs.worker_pid, timeout=30) == pids[0]


def occupy(pool: WorkerPool, seconds: float) -> threading.Thread:
    """Start a job that holds one of the pool's workers for `seconds`; join it when done."""
    blocker = threading.Thread(
        target=pool.run, args=(lifecycle_jobs.sleep, seconds), kwargs={"timeout": 30}
    )
    blocker.start()
    return blocker


def test_job_timeout_counts_from_start_not_from_queueing():
    pool = WorkerPool(1)
    try:
        pool.warm_up()
        blocker = occupy(pool, 1.5)
        time.sleep(0.2)
        # Queued behind 1.3 s of work, yet a 1 s limit is enough for a 0.5 s job.
        assert pool.run(lifecycle_jobs.sleep, 0.5, timeout=1.0) == 0.5
        blocker.join()
        assert pool.restarts == 0
    finally:
        pool.close()


def test_full_queue_refuses_at_once_with_retry_hint():
    pool = WorkerPool(1, max_queue=1, queue_wait=30)
    try:
        pool.warm_up()
        threads = [
            threading.Thread(
                target=pool.run, args=(lifecycle_jobs.sleep, 1.0), kwargs={"timeout": 30}
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.2)
        assert pool.queue_length() == 1
        started = time.monotonic()

        with pytest.raises(WorkerBusy) as caught:
            pool.run(lifecycle_jobs.add, 1, 2, timeout=30)

        assert time.monotonic() - started < 0.5
        assert caught.value.kind == "Busy"
        assert 1 <= caught.value.retry_after <= 60
        assert pool.rejected == 1
        for thread in threads:
            thread.join()
        assert pool.run(lifecycle_jobs.add, 1, 2, timeout=30) == 3
    finally:
        pool.close()


def test_queue_wait_is_bounded():
    pool = WorkerPool(1, queue_wait=0.3)
    try:
        pool.warm_up()
        blocker = occupy(pool, 1.5)
        time.sleep(0.2)
        started = time.monotonic()

        with pytest.raises(WorkerBusy, match=r"within 0\.3 s"):
            pool.run(lifecycle_jobs.add, 1, 2, timeout=30)

        assert time.monotonic() - started < 1.0
        blocker.join()
    finally:
        pool.close()


def test_a_deadline_stops_a_running_job_and_the_pool_carries_on():
    pool = WorkerPool(1)
    try:
        pool.warm_up()
        started = time.monotonic()

        with pytest.raises(WorkerDeadline, match="deadline"):
            pool.run(lifecycle_jobs.spin, 10, timeout=30, deadline=started + 0.5)

        assert time.monotonic() - started < 2.0
        assert pool.run(lifecycle_jobs.add, 1, 2, timeout=30) == 3
    finally:
        pool.close()


def test_a_deadline_bounds_the_wait_for_a_worker():
    pool = WorkerPool(1)
    try:
        pool.warm_up()
        blocker = occupy(pool, 2)
        time.sleep(0.3)
        started = time.monotonic()

        with pytest.raises(WorkerDeadline, match="before the deadline"):
            pool.run(lifecycle_jobs.add, 1, 2, timeout=30, deadline=started + 0.4)

        assert time.monotonic() - started < 1.5
        blocker.join()
    finally:
        pool.close()


def test_a_deadline_holds_while_a_fresh_worker_is_still_importing():
    # A 2 MB job does not fit in the pipe: it waits for the worker to read it, which a worker
    # does only after its imports (3 s here). The deadline must still hold.
    pool = WorkerPool(1, preload=("slow_import",))
    try:
        started = time.monotonic()

        with pytest.raises(WorkerDeadline):
            pool.run(lifecycle_jobs.size, b"x" * 2_000_000, timeout=30, deadline=started + 0.5)

        assert time.monotonic() - started < 1.5
    finally:
        pool.close()


def test_express_workers_serve_only_jobs_with_a_deadline():
    pool = WorkerPool(1, express=1, queue_wait=0.3)
    try:
        pool.warm_up()
        assert len(pool.pids()) == 2
        blocker = occupy(pool, 2)
        time.sleep(0.3)

        # The ordinary worker is busy: a job without a deadline waits and is refused...
        with pytest.raises(WorkerBusy):
            pool.run(lifecycle_jobs.add, 1, 2, timeout=30)
        # ...while a job with one takes the express worker at once.
        started = time.monotonic()
        assert pool.run(lifecycle_jobs.add, 2, 3, timeout=30, deadline=started + 1.0) == 5
        assert time.monotonic() - started < 0.5
        blocker.join()
    finally:
        pool.close()


def test_worker_killed_from_outside_is_reported_as_such(pool):
    pid = pool.run(lifecycle_jobs.worker_pid, timeout=30)
    killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
    killer.start()

    with pytest.raises(WorkerKilled, match="stopped from outside \\(SIGKILL") as caught:
        pool.run(lifecycle_jobs.sleep, 10, timeout=30)

    assert caught.value.kind == "Killed"
    assert "too large" not in str(caught.value)
    assert pool.run(lifecycle_jobs.add, 2, 2, timeout=30) == 4


def test_worker_segfault_is_a_crash_not_a_kill(pool):
    with pytest.raises(WorkerCrashed, match="SIGSEGV") as caught:
        pool.run(lifecycle_jobs.segfault, timeout=30)

    assert not isinstance(caught.value, WorkerKilled)


def test_closed_pool_leaves_no_process():
    pool = WorkerPool(2)
    pool.warm_up()
    pids = pool.pids()
    assert len(pids) == 2

    pool.close()

    assert _wait_gone(pids, 5) == []
