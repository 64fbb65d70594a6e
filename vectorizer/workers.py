"""A pool of conversion worker processes with a hard timeout per job.

vtracer holds the GIL, can panic, and can spin for a long time on a hostile image, so each job
runs in a separate process: a timeout or a crash kills and replaces that one worker and fails
that one job with a clear error, while the web process and the other workers carry on.

The pool is Django-free (the same code serves a view, a Celery task or a benchmark command).
Workers are fresh interpreters started with subprocess, talking over two pipes: unlike fork they
inherit no threads, locks or sockets of a web process, and unlike multiprocessing's "spawn" they
never re-import the caller's __main__ script (which breaks under pytest, gunicorn or `-c`).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import resource
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

logger = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """A job failed inside a worker; `kind` is the exception class name raised there."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class WorkerTimeout(WorkerError):
    """The job ran past its time limit; its worker was killed."""


class WorkerCrashed(WorkerError):
    """The worker process died during the job (out of memory, abort, segfault)."""


_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _serve(inbox: Connection, outbox: Connection, memory_mb: int) -> None:
    """Run jobs from `inbox`, answering on `outbox`, until it closes (a worker's body)."""
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            fn, args, kwargs = inbox.recv()
        except (EOFError, OSError):
            return
        try:
            result = ("ok", fn(*args, **kwargs))
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
    """Entry point of a worker interpreter: fds of its two pipes come as arguments."""
    inbox_fd, outbox_fd, memory_mb = (int(a) for a in sys.argv[1:4])
    _serve(Connection(inbox_fd, writable=False), Connection(outbox_fd, readable=False), memory_mb)


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([_PACKAGE_ROOT, *sys.path])}
        code = "from vectorizer.workers import _main; _main()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(child_in), str(child_out), str(memory_mb)],
            pass_fds=(child_in, child_out),
            env=env,
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        os.close(child_in)
        os.close(child_out)
        self.outbox = Connection(parent_out, readable=False)
        self.inbox = Connection(parent_in, writable=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def exitcode(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        self.outbox.close()
        self.inbox.close()
        if self.alive():
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            logger.error("worker %s did not exit", self.process.pid)


class WorkerPool:
    """Run picklable functions in up to `size` worker processes, each job with a timeout."""

    def __init__(self, size: int = 2, *, memory_mb: int = 0) -> None:
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._slots = threading.Semaphore(self.size)
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._closed = False
        self.restarts = 0

    def run(self, fn: Callable[..., Any], *args: Any, timeout: float, **kwargs: Any) -> Any:
        """Return fn(*args, **kwargs) computed in a worker, or raise a WorkerError."""
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise WorkerTimeout("Timeout", f"no conversion worker was free within {timeout:.0f} s")
        try:
            worker = self._checkout()
            try:
                message = ForkingPickler.dumps((fn, args, kwargs))
            except Exception as exc:
                self._idle.put(worker)  # nothing was sent: the worker is still good
                raise WorkerError(type(exc).__name__, f"the job cannot be sent: {exc}") from exc
            try:
                worker.outbox.send_bytes(message)
                remaining = max(0.0, deadline - time.monotonic())
                if not worker.inbox.poll(remaining):
                    self._discard(worker)
                    raise WorkerTimeout(
                        "Timeout", f"the conversion took longer than {timeout:g} s and was stopped"
                    )
                reply = worker.inbox.recv()
            except (EOFError, OSError) as exc:
                try:  # the pipe closes as the process exits: its exit code is moments away
                    code = worker.process.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    code = None
                self._discard(worker)
                raise WorkerCrashed(
                    "Crashed",
                    f"the conversion worker died (exit code {code}); the image may be "
                    "too large or malformed",
                ) from exc
            self._idle.put(worker)
        finally:
            self._slots.release()
        if reply[0] == "ok":
            return reply[1]
        raise WorkerError(reply[1], reply[2])

    def map(
        self, fn: Callable[..., Any], items: Iterable[tuple[Any, ...]], *, timeout: float
    ) -> list[Any]:
        """Return [fn(*item)] computed in parallel; a failed item holds its WorkerError."""
        items = list(items)
        if not items:
            return []

        def one(item: tuple[Any, ...]) -> Any:
            try:
                return self.run(fn, *item, timeout=timeout)
            except WorkerError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=min(self.size, len(items))) as threads:
            return list(threads.map(one, items))

    def warm_up(self) -> None:
        """Start every worker now rather than on the first job."""
        workers = [self._checkout() for _ in range(self.size - self._idle.qsize())]
        for worker in workers:
            self._idle.put(worker)

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
            self._discard(worker)
        with self._lock:
            if self._closed:
                raise WorkerError("Closed", "the conversion pool is shut down")
            worker = _Worker(self.memory_mb)
            self._workers.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
            self.restarts += 1
        worker.stop()


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool(size: int, memory_mb: int) -> WorkerPool:
    """Return this process's pool, created on first use (one per web or Celery process)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WorkerPool(size, memory_mb=memory_mb)
            atexit.register(_shared.close)
        return _shared
