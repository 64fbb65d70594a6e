"""A pool of conversion worker processes with a hard timeout per job.

vtracer holds the GIL, can panic, and can spin for a long time on a hostile image, so each job
runs in a separate process: a timeout or a crash kills and replaces that one worker and fails
that one job with a clear error, while the web process and the other workers carry on.

The pool is Django-free (the same code serves a view, a Celery task or a benchmark command).
Workers are fresh interpreters started with subprocess, talking over two pipes: unlike fork they
inherit no threads, locks or sockets of a web process, and unlike multiprocessing's "spawn" they
never re-import the caller's __main__ script (which breaks under pytest, gunicorn or `-c`).

Workers die with their parent. Linux delivers SIGKILL to a worker when the thread that started
it ends (PR_SET_PDEATHSIG), so every worker is started by one long-lived spawner thread, never
by a request thread that may finish first; and a watchdog thread in the worker exits when a
third pipe, whose only writer is the parent, reports end-of-file (any other POSIX system, or a
worker between jobs).

Jobs wait for a free worker in a bounded queue: when `max_queue` jobs already wait, or none got
a worker within `queue_wait` seconds, `run` raises `WorkerBusy` with a retry hint instead of
holding the caller. The length of the queue alone does not bound the wait (a web server with
16 threads never queues 32 jobs, yet 14 jobs of a second each on 2 workers wait 7 s), so a job
whose expected wait (jobs ahead ÷ workers × a job's average time) exceeds `expected_wait` is
refused at once too. A job's timeout counts from when a worker starts it.

A job may also carry a `deadline` (a client's time budget): it then waits for a worker and runs
only until that moment, and is stopped there like a timed-out job (`WorkerDeadline`). `express`
workers beyond `size` serve only such jobs, so a request with a budget of half a second is not
stuck behind a batch that holds every ordinary worker.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import logging
import math
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any, TypeVar, TypeVarTuple

logger = logging.getLogger(__name__)

R = TypeVar("R")
Args = TypeVarTuple("Args")
_Process = subprocess.Popen[bytes]

_PR_SET_PDEATHSIG = 1
# Why a worker is replaced (`WorkerPool.stops`): only timeouts and crashes are trouble.
STOP_CAUSES = ("deadline", "timeout", "crash")
# Signals an operator, a supervisor or the kernel's OOM killer sends: not the job's doing.
_OUTSIDE_SIGNALS = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT}


class WorkerError(RuntimeError):
    """A job failed inside a worker; `kind` is the exception class name raised there."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class WorkerTimeout(WorkerError):
    """The job ran past its time limit; its worker was killed."""


class WorkerDeadline(WorkerTimeout):
    """The job's deadline came before a worker was free or before it finished."""


class WorkerCrashed(WorkerError):
    """The worker process died during the job (out of memory, abort, segfault)."""


class WorkerKilled(WorkerCrashed):
    """The worker process was stopped by a signal from outside (an operator, the OOM killer)."""


class WorkerBusy(WorkerError):
    """Every worker is busy and the queue is full: retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__("Busy", message)
        self.retry_after = retry_after


_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _die_with_parent(parent_pid: int, alive_fd: int) -> None:
    """Make this worker exit when its parent does, even in the middle of a job."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watchdog below still works
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        # The parent holds the only write end and never writes: b"" means it is gone.
        while True:
            try:
                if os.read(alive_fd, 1) == b"":
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _serve(inbox: Connection, outbox: Connection, memory_mb: int) -> None:
    """Run jobs from `inbox`, answering on `outbox`, until it closes (a worker's body)."""
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            fn, args = inbox.recv()
        except (EOFError, OSError):
            return
        result: tuple[str, object] | tuple[str, str, str]
        try:
            result = ("ok", fn(*args))
        except BaseException as exc:  # a Rust panic arrives as PanicException, a BaseException
            if isinstance(exc, KeyboardInterrupt):
                return
            logger.debug("job failed: %s", traceback.format_exc())
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if isinstance(exc, MemoryError):
                message = "the worker ran out of memory"
            result = ("error", type(exc).__name__, message or type(exc).__name__)
        try:
            outbox.send(result)
        except (OSError, ValueError):
            return


def _main() -> None:
    """Entry point of a worker interpreter: its pipes' fds and its parent come as arguments.

    A sixth argument names modules to import before the first job (comma-separated), so a
    fresh worker does not spend its first job's time, maybe a client's budget, on imports.
    """
    inbox_fd, outbox_fd, memory_mb, parent_pid, alive_fd = (int(a) for a in sys.argv[1:6])
    _die_with_parent(parent_pid, alive_fd)
    for name in filter(None, (sys.argv[6] if len(sys.argv) > 6 else "").split(",")):
        try:
            importlib.import_module(name)
        except Exception:  # the job that needs it will report the error
            logger.exception("worker could not preload %s", name)
    _serve(Connection(inbox_fd, writable=False), Connection(outbox_fd, readable=False), memory_mb)


class _Spawner:
    """One long-lived thread that starts every worker (PR_SET_PDEATHSIG follows that thread)."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[], _Process], Future[_Process]]] = (
            queue.SimpleQueue()
        )
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name="worker-spawner", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            fn, future = self._requests.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)

    def call(self, fn: Callable[[], _Process]) -> _Process:
        """Return fn() run on the spawner thread."""
        future: Future[_Process] = Future()
        self._requests.put((fn, future))
        return future.result()


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _spawn(fn: Callable[[], _Process]) -> _Process:
    global _spawner
    with _spawner_lock:
        if _spawner is None or _spawner._pid != os.getpid():  # a forked child needs its own
            _spawner = _Spawner()
        spawner = _spawner
    return spawner.call(fn)


class _Worker:
    def __init__(self, memory_mb: int, preload: tuple[str, ...] = ()) -> None:
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        alive_read, alive_write = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([_PACKAGE_ROOT, *sys.path])}
        code = "from vectorizer.workers import _main; _main()"
        args = [child_in, child_out, memory_mb, os.getpid(), alive_read, ",".join(preload)]
        try:
            self.process = _spawn(
                lambda: subprocess.Popen(
                    [sys.executable, "-c", code, *map(str, args)],
                    pass_fds=(child_in, child_out, alive_read),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    close_fds=True,
                )
            )
        except BaseException:
            for fd in (parent_out, parent_in, alive_write):
                os.close(fd)
            raise
        finally:
            for fd in (child_in, child_out, alive_read):
                os.close(fd)
        self.outbox = Connection(parent_out, readable=False)
        self.inbox = Connection(parent_in, writable=False)
        self._alive_write = alive_write

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def exitcode(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        self.outbox.close()
        self.inbox.close()
        if self._alive_write >= 0:
            os.close(self._alive_write)
            self._alive_write = -1
        if self.alive():
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            logger.error("worker %s did not exit", self.process.pid)


# A pipe holds this much without a reader; a bigger job (an image) waits for the worker to read.
_PIPE_BUFFER = 64 * 1024


def _send(worker: _Worker, message: bytes | memoryview, limit: float) -> bool:
    """Send a job; return False if the worker did not take it within `limit` seconds.

    A worker reads its next job only after its imports (a fresh one) or its current job, and a
    megabyte image does not fit in the pipe: a plain send would block past any deadline. So a
    big job is sent from a thread and waited for; on False the caller discards the worker,
    which closes the pipe and ends that thread.
    """
    if len(message) < _PIPE_BUFFER:
        worker.outbox.send_bytes(message)
        return True
    failure: list[OSError] = []

    def send() -> None:
        try:
            worker.outbox.send_bytes(message)
        except OSError as exc:
            failure.append(exc)
        except (TypeError, ValueError):  # the caller gave up and closed the pipe under us
            pass

    thread = threading.Thread(target=send, name="svgai-send", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        return False
    if failure:
        raise failure[0]
    return True


def _ping() -> bool:
    return True


def _ready(worker: _Worker, timeout: float = 60.0) -> bool:
    """Return True once a new worker has answered a trivial job (its imports are done)."""
    try:
        worker.outbox.send_bytes(ForkingPickler.dumps((_ping, ())))
        return worker.inbox.poll(timeout) and worker.inbox.recv() == ("ok", True)
    except (EOFError, OSError):
        return False


def _warn_late(late: float, waited: float, checkout: float, ran: float) -> None:
    """Log a job that finished past its deadline, with where its time went (in seconds)."""
    logger.warning(
        "job past its deadline by %.0f ms: waited %.0f ms for a worker, "
        "%.0f ms to check one out, ran %.0f ms",
        late * 1000,
        waited * 1000,
        checkout * 1000,
        ran * 1000,
    )


def _death_error(code: int | None) -> WorkerCrashed:
    """Return the error for a worker that died with exit status `code` (negative: a signal)."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code in _OUTSIDE_SIGNALS:
            return WorkerKilled(
                "Killed",
                f"the conversion worker was stopped from outside ({name}: an operator, a "
                "supervisor or the system's out-of-memory killer); retry the conversion",
            )
        return WorkerCrashed(
            "Crashed",
            f"the conversion worker crashed ({name}); the image may be too large or malformed",
        )
    return WorkerCrashed(
        "Crashed",
        f"the conversion worker died (exit code {code}); the image may be too large or malformed",
    )


class WorkerPool:
    """Run picklable functions in up to `size` worker processes, each job with a timeout.

    At most `max_queue` jobs wait for a worker (None: no bound), each at most `queue_wait`
    seconds (None: until one is free), and none joins a queue it would expect to wait in for
    longer than `expected_wait` seconds (None: no bound); beyond any, `run` raises WorkerBusy.
    `express` more workers take only jobs with a deadline, when every ordinary worker is busy.
    Each worker imports the `preload` modules as it starts, and a worker stopped by a timeout or
    a deadline is replaced at once in the background, so the next job finds a warm one.
    Deadlines and job times are read on `clock` (time.monotonic): a test passes a clock it moves
    by hand, so it can prove what a timeout counts from without waiting that long on a loaded
    machine.
    """

    def __init__(
        self,
        size: int = 2,
        *,
        memory_mb: int = 0,
        max_queue: int | None = None,
        queue_wait: float | None = None,
        expected_wait: float | None = None,
        express: int = 0,
        preload: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = max(1, size)
        self.expected_wait = expected_wait
        self.clock = clock
        self.express = max(0, express)
        self.preload = tuple(preload)
        self.memory_mb = memory_mb
        self.max_queue = max_queue
        self.queue_wait = queue_wait
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._slots = threading.Semaphore(self.size)
        self._express_slots = threading.Semaphore(self.express)
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._closed = False
        self._waiting = 0
        self._running = 0
        self._job_seconds = 1.0  # moving average of a job's time, for retry hints
        self.restarts = 0
        # Why workers were replaced: a job stopped at its deadline (a client's time budget ran
        # out: normal under tight budgets), a job past its timeout, a worker that died.
        self.stops = {cause: 0 for cause in STOP_CAUSES}
        self.rejected = 0

    def queue_length(self) -> int:
        """Return how many jobs wait for a free worker now."""
        return self._waiting

    def running(self) -> int:
        """Return how many jobs workers are running now."""
        return self._running

    def pids(self) -> list[int]:
        """Return the process ids of the live workers."""
        with self._lock:
            return [w.pid for w in self._workers if w.alive()]

    def expected_wait_s(self) -> float:
        """Return how long a job that joins the queue now can expect to wait for a worker."""
        return self._job_seconds * (self._waiting + 1) / self.size

    def retry_after(self) -> int:
        """Return seconds after which a refused job has a fair chance of a worker."""
        waves = (self._waiting + self._running) / self.size + 1
        return int(min(60, max(1, math.ceil(self._job_seconds * waves))))

    def _acquire_slot(self, deadline: float | None = None) -> threading.Semaphore:
        """Return the semaphore of the slot taken: an ordinary one, else (deadline) express."""
        if self._slots.acquire(blocking=False):
            return self._slots
        if deadline is not None and self._express_slots.acquire(blocking=False):
            return self._express_slots
        with self._lock:
            if self.max_queue is not None and self._waiting >= self.max_queue:
                self.rejected += 1
                raise WorkerBusy(
                    f"all {self.size} conversion workers are busy and {self._waiting} jobs are "
                    "waiting; retry shortly",
                    retry_after=self.retry_after(),
                )
            expected = self.expected_wait_s()
            if self.expected_wait is not None and expected > self.expected_wait:
                self.rejected += 1
                raise WorkerBusy(
                    f"all {self.size} conversion workers are busy and the {self._waiting} jobs "
                    f"waiting would hold this one about {expected:.0f} s; retry shortly",
                    retry_after=self.retry_after(),
                )
            self._waiting += 1
        wait = self.queue_wait
        if deadline is not None:
            wait = max(0.0, deadline - self.clock())
            wait = wait if self.queue_wait is None else min(wait, self.queue_wait)
        try:
            got = self._slots.acquire(timeout=wait)
        finally:
            with self._lock:
                self._waiting -= 1
        if got:
            return self._slots
        if deadline is not None and self.clock() >= deadline:
            raise WorkerDeadline("Deadline", "no conversion worker was free before the deadline")
        with self._lock:
            self.rejected += 1
        raise WorkerBusy(
            f"no conversion worker was free within {self.queue_wait:g} s; retry shortly",
            retry_after=self.retry_after(),
        )

    def run(
        self,
        fn: Callable[[*Args], R],
        *args: *Args,
        timeout: float,
        deadline: float | None = None,
    ) -> R:
        """Return fn(*args) computed in a worker, or raise a WorkerError.

        `fn` and `args` cross the process boundary pickled, and the answer comes back so:
        the signature makes mypy check both at the call site. `timeout` counts from when a
        worker starts the job; `deadline` (on `clock`) bounds the wait for a worker and the
        job together.
        """
        asked = self.clock()
        slot = self._acquire_slot(deadline)
        if deadline is not None and self.clock() >= deadline:
            slot.release()  # no time left to run it: keep the worker warm for the next job
            raise WorkerDeadline("Deadline", "the deadline passed before the conversion started")
        with self._lock:
            self._running += 1
        try:
            got = self.clock()
            worker = self._checkout()
            checked_out = self.clock()
            try:
                message = ForkingPickler.dumps((fn, args))
            except Exception as exc:
                self._idle.put(worker)  # nothing was sent: the worker is still good
                raise WorkerError(type(exc).__name__, f"the job cannot be sent: {exc}") from exc
            started = self.clock()  # the job's clock starts now, not when it was queued
            limit = timeout if deadline is None else max(0.0, min(timeout, deadline - started))
            reply = self._exchange(worker, message, started=started, limit=limit, timeout=timeout)
            self._idle.put(worker)
            finished = self.clock()
            with self._lock:
                self._job_seconds = 0.8 * self._job_seconds + 0.2 * (finished - started)
            if deadline is not None and finished > deadline + 0.02:
                _warn_late(finished - deadline, got - asked, checked_out - got, finished - started)
        finally:
            with self._lock:
                self._running -= 1
            slot.release()
        if reply[0] == "ok":
            answer: R = reply[1]  # what fn returned, unpickled: fn's signature says its type
            return answer
        raise WorkerError(reply[1], reply[2])

    def _exchange(
        self,
        worker: _Worker,
        message: bytes | memoryview,
        *,
        started: float,
        limit: float,
        timeout: float,
    ) -> tuple[Any, ...]:
        """Return the worker's reply to a job sent at `started`, or discard the worker and raise.

        `limit` is what the job may take (its timeout, or less when a deadline is nearer).
        """
        try:
            sent = _send(worker, message, limit)
            left = max(0.0, limit - (self.clock() - started))
            if not (sent and worker.inbox.poll(left)):
                self._discard(worker, "deadline" if limit < timeout else "timeout")
                if limit < timeout:
                    raise WorkerDeadline("Deadline", "the conversion was stopped at its deadline")
                raise WorkerTimeout(
                    "Timeout", f"the conversion took longer than {timeout:g} s and was stopped"
                )
            reply: tuple[Any, ...] = worker.inbox.recv()
            return reply
        except (EOFError, OSError) as exc:
            try:  # the pipe closes as the process exits: its exit code is moments away
                code = worker.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                code = None
            self._discard(worker, "crash")
            raise _death_error(code) from exc

    def map(
        self,
        fn: Callable[[*Args], R],
        items: Iterable[tuple[*Args]],
        *,
        timeout: float,
        deadline: float | None = None,
    ) -> list[R | WorkerError]:
        """Return [fn(*item)] computed in parallel; a failed item holds its WorkerError."""
        items = list(items)
        if not items:
            return []

        def one(item: tuple[*Args]) -> R | WorkerError:
            try:
                return self.run(fn, *item, timeout=timeout, deadline=deadline)
            except WorkerError as exc:
                return exc

        width = self.size + (self.express if deadline is not None else 0)
        with ThreadPoolExecutor(max_workers=min(width, len(items))) as threads:
            return list(threads.map(one, items))

    def warm_up(self) -> None:
        """Start every worker now rather than on the first job, and wait until each is ready."""
        total = self.size + self.express
        workers = [self._checkout() for _ in range(total - self._idle.qsize())]
        for worker in workers:  # they import in parallel; each answers once it is done
            if _ready(worker):
                self._idle.put(worker)
            else:
                self._discard(worker, "crash")

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers, self._workers = list(self._workers), set()
        for worker in workers:
            worker.stop()

    def _checkout(self) -> _Worker:
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            worker = None
        if worker is not None and worker.alive():
            return worker
        if worker is not None:
            self._discard(worker, "crash")
        with self._lock:
            if self._closed:
                raise WorkerError("Closed", "the conversion pool is shut down")
        worker = _Worker(self.memory_mb, self.preload)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _discard(self, worker: _Worker, cause: str) -> None:
        with self._lock:
            self._workers.discard(worker)
            self.restarts += 1
            self.stops[cause] += 1
            replace = not self._closed
        with contextlib.suppress(OSError):
            worker.stop()
        if replace:
            threading.Thread(target=self._replenish, daemon=True).start()

    def _replenish(self) -> None:
        """Start an idle worker in place of a discarded one, unless the pool is full or closed."""
        with self._lock:
            if self._closed or len(self._workers) >= self.size + self.express:
                return
        try:
            worker = _Worker(self.memory_mb, self.preload)
        except Exception:
            logger.exception("could not start a replacement worker")
            return
        if not _ready(worker):  # it joins the idle workers only once its imports are done
            with contextlib.suppress(OSError):
                worker.stop()
            return
        with self._lock:
            closed = self._is_closed()  # close() may have run while the worker started
            if not closed:
                self._workers.add(worker)
        if closed:
            worker.stop()
        else:
            self._idle.put(worker)

    def _is_closed(self) -> bool:
        return self._closed


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool(
    size: int,
    memory_mb: int,
    *,
    max_queue: int | None = None,
    queue_wait: float | None = None,
    expected_wait: float | None = None,
    express: int = 0,
    preload: tuple[str, ...] = (),
) -> WorkerPool:
    """Return this process's pool, created on first use (one per web or Celery process)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WorkerPool(
                size,
                memory_mb=memory_mb,
                max_queue=max_queue,
                queue_wait=queue_wait,
                expected_wait=expected_wait,
                express=express,
                preload=preload,
            )
            atexit.register(_shared.close)
        return _shared
