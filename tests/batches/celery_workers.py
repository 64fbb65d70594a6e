"""Real Celery worker processes for the end-to-end and fault tests (and nothing else).

A worker runs `celery -A svgai_site worker` in its own session (so a SIGKILL takes its pool
children and conversion processes with it), against the test database and media folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# Short enough that a killed worker's items come back within seconds in a test.
FAST_RECOVERY = {
    "SVGAI_BATCH_HEARTBEAT_S": "1",
    "SVGAI_BATCH_STALE_S": "6",
    "SVGAI_BROKER_VISIBILITY_TIMEOUT": "12",
}


def database_url() -> str:
    """Return a URL for the database this test process uses (the test database)."""
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class CeleryWorker:
    """One `celery worker` process tree, logging to a file."""

    def __init__(self, log_dir: Path, *, concurrency: int = 2, **env: str) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        self.log = log_dir / f"{self.name.split('@')[0]}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "SVGAI_WORKERS": "1",  # one conversion process per worker process
            **FAST_RECOVERY,
            **env,
        }
        command = [sys.executable, "-m", "celery", "-A", "svgai_site", "worker",
                   "--concurrency", str(concurrency), "--pool", "prefork", "-n", self.name,
                   "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Return once the worker answers a ping; fail with its log if it never does."""
        from conversions import tasks

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited ({self.process.returncode}):\n{self.tail()}")
            with tasks.app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
                replies = tasks.app.control.ping(
                    destination=[self.name], timeout=1.0, connection=conn
                )
            if replies:
                return
        raise RuntimeError(f"worker {self.name} did not answer in {timeout:g} s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL the whole worker: main process, pool children, conversion processes."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the worker (warm shutdown), killing it if it lingers."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        """Return the end of the worker's log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


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
