"""Jobs for the operations tests: importable by name in a fresh worker interpreter.

A job given `mark` creates the file `<mark>.<its pid>` once it runs, so a test can wait until
the job is under way instead of sleeping for a while and hoping it is.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _started(mark: str | None) -> None:
    if mark:
        Path(f"{mark}.{os.getpid()}").touch()


def add(a: int, b: int) -> int:
    return a + b


def worker_pid() -> int:
    return os.getpid()


def sleep(seconds: float, mark: str | None = None) -> float:
    _started(mark)
    time.sleep(seconds)
    return seconds


def spin(seconds: float, mark: str | None = None) -> int:
    """Burn CPU in pure Python for `seconds` (a trace that never yields)."""
    _started(mark)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def held(gate: str, mark: str | None = None) -> str:
    """Hold this worker until the test opens `gate`, a FIFO (see Gate in the tests)."""
    _started(mark)
    wait_at(gate)
    return "released"


def wait_at(gate: str) -> None:
    """Block until `gate`, a FIFO whose only writer is the test, is closed by that writer."""
    # Non-blocking open: a gate already opened (no writer left) must not block the opening.
    fd = os.open(gate, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.set_blocking(fd, True)
        os.read(fd, 1)  # b"" once the writer closes its end
    finally:
        os.close(fd)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def size(data: bytes) -> int:
    return len(data)
