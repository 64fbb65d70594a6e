"""Live servers the tests start: a free port, and a gunicorn they can stop however it is."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """Return a port nothing listens on now (others may hold the usual ones)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn started in a process group of its own, and where it logs."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        # gunicorn leads its own process group: its worker and their conversion processes.
        # SIGQUIT is its quick shutdown (SIGTERM waits for requests a test left running).
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGQUIT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
