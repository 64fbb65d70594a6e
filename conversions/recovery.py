"""Recovery after a crash: conversions left `running` by a process that died are marked failed.

Every conversion is recorded as running before its work starts, so a web process killed in the
middle of a request leaves its row behind. Past the longest a live conversion can take, the row
is marked failed with the reason; web processes and Celery workers do this at start-up and then
periodically, and hand out again the batch items that stalled (`batches.heal_stalls`).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from conversions import batches, metrics
from conversions.models import Conversion

logger = logging.getLogger(__name__)


def stale_after() -> float:
    """Return seconds after which a running conversion cannot be alive any more."""
    if settings.SVGAI_STALE_AFTER:
        return settings.SVGAI_STALE_AFTER
    # Queued, then each trace up to the timeout; tiers trace at most a few rounds in a budget.
    return settings.SVGAI_QUEUE_WAIT + 3 * settings.SVGAI_CONVERT_TIMEOUT


def fail_abandoned() -> int:
    """Mark conversions still running past stale_after() failed; return how many."""
    limit = stale_after()
    cutoff = timezone.now() - timedelta(seconds=limit)
    # A batch item's record is the batch runner's: its item is handed out again and fills the
    # same record, so failing it here would let a later success flip it from failed.
    stale = Conversion.objects.filter(
        status=Conversion.Status.RUNNING, created_at__lt=cutoff, batch_item__isnull=True
    )
    count = stale.update(
        status=Conversion.Status.FAILED,
        error=(
            "Conversion failed: the server process running it stopped before it finished (the "
            f"record was still running {limit:.0f} s after it started); retry the conversion."
        ),
    )
    if count:
        metrics.ABANDONED.inc(count)
        logger.warning("marked %d abandoned conversions failed", count)
    return count


def sweep() -> None:
    """Fail abandoned conversions and hand out stalled batch items; a failure is only logged."""
    for step in (fail_abandoned, batches.heal_stalls):
        try:
            step()
        except Exception:  # a database hiccup must not end the sweeper
            logger.exception("sweeping (%s) failed", step.__name__)
        finally:
            close_old_connections()


def start_sweeper(interval: float | None = None) -> threading.Thread:
    """Run sweep() now and then every `interval` seconds, in a daemon thread."""
    every = interval or settings.SVGAI_SWEEP_INTERVAL

    def loop() -> None:
        stop = threading.Event()
        while True:
            sweep()
            stop.wait(every)

    thread = threading.Thread(target=loop, name="svgai-sweeper", daemon=True)
    thread.start()
    return thread
