"""Real Celery worker processes for the end-to-end and fault tests.

The worker class is the benchmark's (benchmarks.batches): `celery -A svgai_site
worker` in its own session (a SIGKILL takes its pool children and conversion processes with
it), against the test database and media folder.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from benchmarks.batches import CeleryWorker

# Short enough that a killed worker's items come back within seconds in a test.
FAST_RECOVERY = {
    "SVGAI_BATCH_HEARTBEAT_S": "1",
    "SVGAI_BATCH_STALE_S": "6",
    "SVGAI_BROKER_VISIBILITY_TIMEOUT": "12",
}


# The worker's own sweeper looks every 2 s and calls a batch stalled after 8 s without progress.
FAST_HEALING = {"SVGAI_BATCH_STALL_S": "8", "SVGAI_SWEEP_INTERVAL": "2"}


def start_worker(log_dir: Path, *, concurrency: int = 2, **env: str) -> CeleryWorker:
    """Return a started worker with `concurrency` processes and fast recovery settings."""
    worker = CeleryWorker(log_dir, concurrency=concurrency, **{**FAST_RECOVERY, **env})
    try:
        worker.wait_ready()
    except RuntimeError:
        worker.kill()  # it may be alive but deaf: leave no process behind holding the database
        raise
    return worker


class OwnRedis:
    """A redis-server of the test's own on a free port: restarting it disturbs no one else.

    Like a default Redis it keeps nothing on disk, so a restart loses every queued message.
    """

    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and return once it answers."""
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--daemonize", "yes", "--dir", str(self.folder),
                   "--logfile", str(self.folder / f"redis-{self.port}.log")]  # fmt: skip
        subprocess.run(command, check=True)
        if not wait_until(self.answers, timeout=60, poll=0.1):
            raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """Stop the server (nothing saved) and return once it is gone."""
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True
        )
        if not wait_until(lambda: not self.answers(), timeout=60, poll=0.1):
            raise RuntimeError(f"redis-server on port {self.port} did not stop")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False


def flush_broker() -> None:
    """Empty the broker's Redis database: no message of an earlier run may reach these tests."""
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def wait_until(predicate: Any, *, timeout: float, poll: float = 0.5) -> bool:
    """Return True once predicate() is true, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False
