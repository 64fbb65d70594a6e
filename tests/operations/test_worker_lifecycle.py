"""Conversion workers: die with their parent, time a job from its start, refuse when full.

No test here sleeps and hopes, or asserts how long something took: a worker is held at a Gate
until the test opens it, a job marks when it is under way, the pool's clock is moved by hand,
and "at once" means "while the only worker was still held". So they hold on a loaded machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
# How long a condition may take to come true before a test fails: a hang, never slowness.
PATIENCE = 120.0


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


def _until(predicate: Callable[[], Any], what: str, seconds: float = PATIENCE) -> Any:
    """Return predicate()'s first true value, polled every 10 ms; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(0.01)
    return value


def _marked(mark: Path) -> set[int]:
    """Return the pids of the workers whose job marked `mark` as under way."""
    return {int(p.suffix[1:]) for p in mark.parent.glob(f"{mark.name}.*")}


class Gate:
    """A FIFO at which `lifecycle_jobs.held` jobs wait until the test opens it.

    The test holds the only write end; closing it gives every waiting job end-of-file at once.
    `opened` is set before that, so "it answered while the gate was closed" proves an answer
    did not wait for a held worker. A safety timer opens the gate after PATIENCE seconds, so a
    pool that wrongly waits makes its test fail instead of hanging the suite.
    """

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = str(path)
        self.opened = threading.Event()
        self._fd = os.open(path, os.O_RDWR)
        self._lock = threading.Lock()
        self._safety = threading.Timer(PATIENCE, self.open)
        self._safety.daemon = True
        self._safety.start()

    def open(self) -> None:
        with self._lock:
            if not self.opened.is_set():
                self.opened.set()
                os.close(self._fd)
        self._safety.cancel()


@pytest.fixture
def gate(tmp_path):
    gate = Gate(tmp_path / "gate")
    yield gate
    gate.open()


class FakeClock:
    """time.monotonic plus an offset the test moves by hand: time that passes without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def _start(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[threading.Thread, list]:
    """Call fn in a thread, as a request would; the list receives its result or its error."""
    outcome: list = []

    def call() -> None:
        try:
            outcome.append(fn(*args, **kwargs))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread, outcome


def _result(thread: threading.Thread, outcome: list) -> Any:
    thread.join(PATIENCE)
    assert not thread.is_alive(), "the call did not return"
    return outcome[0]


def occupy(pool: WorkerPool, gate: Gate) -> tuple[threading.Thread, list]:
    """Hold one of the pool's ordinary workers at `gate`; return once the job has its slot."""
    before = pool.running()
    held = _start(pool.run, lifecycle_jobs.held, gate.path, timeout=PATIENCE * 2)
    _until(lambda: pool.running() > before, "the blocking job took a worker")
    return held


@pytest.fixture
def pool():
    pool = WorkerPool(2)
    yield pool
    pool.close()


PARENT = textwrap.dedent(
    """
    import sys, threading
    sys.path[:0] = [{here!r}, {root!r}]
    import lifecycle_jobs
    from vectorizer.workers import WorkerPool

    pool = WorkerPool(2)
    # Each job from its own short-lived thread, as gunicorn request threads would.
    pids = pool.map(lifecycle_jobs.worker_pid, [(), ()], timeout=30)
    print(*pids, flush=True)
    for job in (lifecycle_jobs.{job}, lifecycle_jobs.{job}):
        threading.Thread(
            target=pool.run, args=(job, 600, {mark!r}), kwargs={{"timeout": 900}}
        ).start()
    threading.Event().wait()  # until the test kills this parent
    """
)


@pytest.mark.parametrize("job", ["sleep", "spin"])
def test_workers_die_when_parent_is_killed_mid_job(job, tmp_path):
    mark = tmp_path / "running"
    code = PARENT.format(here=str(HERE), root=str(ROOT), job=job, mark=str(mark))
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pids = {int(p) for p in parent.stdout.readline().split()}
        # Both jobs are under way, each in a live worker.
        running = _until(lambda: len(_marked(mark)) == 2 and _marked(mark), "both jobs ran")
        assert all(_alive(pid) for pid in running)
    finally:
        parent.kill()
        parent.wait()

    gone = pids | running
    _until(lambda: not any(_alive(pid) for pid in gone), f"workers {gone} died with the parent")


def test_worker_outlives_the_request_thread_that_started_it(pool):
    threads: list[int] = []
    pids: list[int] = []

    def request() -> None:
        threads.append(threading.get_native_id())
        pids.append(pool.run(lifecycle_jobs.worker_pid, timeout=30))

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    # Linux sends PR_SET_PDEATHSIG as the starting thread exits; once the kernel has removed
    # that thread, a worker it had started would already be stopped.
    task = Path(f"/proc/self/task/{threads[0]}")
    _until(lambda: not task.exists(), "the request thread exited")

    assert _alive(pids[0])
    assert pool.run(lifecycle_jobs.worker_pid, timeout=30) == pids[0]


def test_job_timeout_counts_from_start_not_from_queueing(gate):
    clock = FakeClock()
    pool = WorkerPool(1, clock=clock)
    try:
        pool.warm_up()
        blocker = occupy(pool, gate)
        queued = _start(pool.run, lifecycle_jobs.add, 1, 2, timeout=30)
        _until(lambda: pool.queue_length() == 1, "the second job queued")
        # The job has now waited twice its timeout for a worker: none of that may count.
        clock.advance(60)
        gate.open()

        assert _result(*queued) == 3
        assert _result(*blocker) == "released"
        assert pool.restarts == 0
    finally:
        gate.open()
        pool.close()


def test_full_queue_refuses_at_once_with_retry_hint(gate):
    pool = WorkerPool(1, max_queue=1)  # no queue_wait: a queued job waits as long as it takes
    try:
        pool.warm_up()
        blocker = occupy(pool, gate)
        queued = _start(pool.run, lifecycle_jobs.add, 1, 2, timeout=30)
        _until(lambda: pool.queue_length() == 1, "the second job queued")

        with pytest.raises(WorkerBusy) as caught:
            pool.run(lifecycle_jobs.add, 1, 2, timeout=30)

        assert not gate.opened.is_set()  # refused while the only worker was still held
        assert caught.value.kind == "Busy"
        assert 1 <= caught.value.retry_after <= 60
        assert pool.rejected == 1
        gate.open()
        assert _result(*queued) == 3
        assert _result(*blocker) == "released"
        assert pool.run(lifecycle_jobs.add, 1, 2, timeout=30) == 3
    finally:
        gate.open()
        pool.close()


def test_queue_wait_is_bounded(gate):
    pool = WorkerPool(1, queue_wait=0.3)
    try:
        pool.warm_up()
        blocker = occupy(pool, gate)

        with pytest.raises(WorkerBusy, match=r"within 0\.3 s"):
            pool.run(lifecycle_jobs.add, 1, 2, timeout=30)

        assert not gate.opened.is_set()  # it gave up waiting; the worker never came free
        gate.open()
        assert _result(*blocker) == "released"
    finally:
        gate.open()
        pool.close()


def test_a_deadline_stops_a_running_job_and_the_pool_carries_on(tmp_path):
    pool = WorkerPool(1)
    mark = tmp_path / "running"
    try:
        pool.warm_up()

        # Left alone the job would spin for 10 minutes and return its count.
        with pytest.raises(WorkerDeadline, match="deadline"):
            pool.run(
                lifecycle_jobs.spin, 600, str(mark), timeout=900, deadline=time.monotonic() + 2
            )

        assert _marked(mark)  # it was stopped while running, not refused before it began
        assert pool.run(lifecycle_jobs.add, 1, 2, timeout=30) == 3
        # Its worker was replaced, and counted as a deadline stop, not a timeout or a crash.
        assert pool.stops == {"deadline": 1, "timeout": 0, "crash": 0}
        assert pool.restarts == 1
    finally:
        pool.close()


def test_a_deadline_bounds_the_wait_for_a_worker(gate):
    pool = WorkerPool(1)  # no queue_wait: only the deadline bounds the wait
    try:
        pool.warm_up()
        blocker = occupy(pool, gate)

        with pytest.raises(WorkerDeadline, match="before the deadline"):
            pool.run(lifecycle_jobs.add, 1, 2, timeout=30, deadline=time.monotonic() + 0.4)

        assert not gate.opened.is_set()
        gate.open()
        assert _result(*blocker) == "released"
    finally:
        gate.open()
        pool.close()


def test_a_deadline_holds_while_a_fresh_worker_is_still_importing(gate, monkeypatch):
    # A 2 MB job does not fit in the pipe: it waits for the worker to read it, which a worker
    # does only after its imports (here: until the gate opens). The deadline must still hold.
    monkeypatch.setenv("SVGAI_TEST_IMPORT_GATE", gate.path)
    pool = WorkerPool(1, preload=("slow_import",))
    try:
        with pytest.raises(WorkerDeadline):
            pool.run(
                lifecycle_jobs.size, b"x" * 2_000_000, timeout=30, deadline=time.monotonic() + 0.5
            )

        assert not gate.opened.is_set()  # stopped while the worker was still importing
    finally:
        gate.open()
        pool.close()


def test_express_workers_serve_only_jobs_with_a_deadline(gate):
    pool = WorkerPool(1, express=1, queue_wait=0.3)
    try:
        pool.warm_up()
        assert len(pool.pids()) == 2
        blocker = occupy(pool, gate)

        # The ordinary worker is busy: a job without a deadline waits and is refused...
        with pytest.raises(WorkerBusy):
            pool.run(lifecycle_jobs.add, 1, 2, timeout=30)
        # ...while a job with one takes the express worker (waiting would be refused too).
        assert pool.run(lifecycle_jobs.add, 2, 3, timeout=30, deadline=time.monotonic() + 60) == 5
        assert not gate.opened.is_set()
        gate.open()
        assert _result(*blocker) == "released"
    finally:
        gate.open()
        pool.close()


def test_worker_killed_from_outside_is_reported_as_such(pool, tmp_path):
    mark = tmp_path / "running"
    job = _start(pool.run, lifecycle_jobs.sleep, 600, str(mark), timeout=900)
    (pid,) = _until(lambda: _marked(mark), "the job ran")

    os.kill(pid, signal.SIGKILL)
    caught = _result(*job)

    assert isinstance(caught, WorkerKilled), caught
    assert "stopped from outside (SIGKILL" in str(caught)
    assert caught.kind == "Killed"
    assert "too large" not in str(caught)
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

    _until(lambda: not any(_alive(pid) for pid in pids), f"workers {pids} stopped")
