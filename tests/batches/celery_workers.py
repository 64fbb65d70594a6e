"""Real Celery worker processes for the end-to-end and fault tests.

The worker class is the benchmark's (conversions.batch_benchmark): `celery -A svgai_site
worker` in its own session (a SIGKILL takes its pool children and conversion processes with
it), against the test database and media folder.
"""

from __future__ import annotations

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


def start_worker(log_dir: Path, *, concurrency: int = 2) -> CeleryWorker:
    """Return a started worker with `concurrency` processes and fast recovery settings."""
    worker = CeleryWorker(log_dir, concurrency=concurrency, **FAST_RECOVERY)
    worker.wait_ready()
    return worker


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
