"""Celery tasks: one per batch item. The work is `run_item`, which the local pool runs too.

A message is acknowledged after the item ran (`acks_late`) and put back when the process
running it dies (`reject_on_worker_lost`); Redis also hands out again a message whose worker
vanished, after the visibility timeout. Running an item twice is harmless: `run_item` claims
the item atomically, skips a finished one, and waits while a live runner holds it. Messages
the broker lost (a Redis restart) are sent again by the sweeper each worker runs.
`CeleryRunner` is how a batch's items reach these tasks (`batches.lifecycle.runner_for`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from celery import shared_task
from django.conf import settings
from kombu.exceptions import ChannelError

from conversions.batches.runner import (
    RETRIES,
    BrokerStatus,
    BrokerUnreachable,
    Outcome,
    TransientError,
    backoff,
    run_item,
)

logger = logging.getLogger(__name__)


# celery-types declares the limits int; Celery takes float seconds (task_time_limit is a float).
@shared_task(  # type: ignore[call-overload]
    bind=True,
    name="conversions.convert_item",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.SVGAI_BATCH_SOFT_TIME_LIMIT,
    time_limit=settings.SVGAI_BATCH_TIME_LIMIT,
    max_retries=RETRIES,
)
def convert_item_task(self: Any, item_id: str) -> str:
    """Convert one batch item; retry with backoff when the database or the storage failed."""
    try:
        outcome = run_item(item_id)
    except TransientError as exc:
        logger.warning("batch item %s: %s; retrying", item_id, exc)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    if outcome is Outcome.HELD:
        # Another live runner holds it (Redis handed the message out again): look once its
        # heartbeat could have stopped; if it still beats then, the item is skipped or done.
        convert_item_task.apply_async((item_id,), countdown=settings.SVGAI_BATCH_STALE_S)
    return str(outcome)


app = convert_item_task.app


def enqueue(ids: Iterable[uuid.UUID | str]) -> None:
    """Publish one task per item over one broker connection; fail fast if Redis is away."""
    policy = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
    # The broker named in settings now, not the one the app read when it first loaded.
    with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
        for item_id in ids:
            convert_item_task.apply_async(
                (str(item_id),), connection=connection, retry=True, retry_policy=policy
            )


class CeleryRunner:
    """Batch items as Celery tasks, one message each, through the broker named in settings."""

    def submit(self, ids: Iterable[uuid.UUID | str]) -> None:
        """Publish the items' tasks; raise BrokerUnreachable when the broker cannot take them."""
        try:
            enqueue(ids)
        except Exception as exc:  # kombu raises its own errors when Redis is unreachable
            raise BrokerUnreachable(exc) from exc

    def lost_messages(self, queued: int) -> bool:
        """Return True when the broker's queue holds fewer messages than `queued` items."""
        try:
            return queue_length() < queued
        except Exception:  # kombu and redis raise many kinds; the broker is away: try next sweep
            logger.warning("cannot read the broker's queue; stalled items wait", exc_info=True)
            return False


celery_runner = CeleryRunner()


_status_cache: tuple[float, BrokerStatus] | None = None
STATUS_TTL_S = 5.0


def broker_status(*, timeout: float = 1.0, cached: bool = True) -> BrokerStatus:
    """Return the broker's state, the workers answering a ping and the queue's length."""
    global _status_cache
    if not settings.CELERY_BROKER_URL:
        return {
            "configured": False,
            "status": "local",
            "detail": "no broker: batches run on a local pool in the web process",
            "local_threads": settings.SVGAI_BATCH_LOCAL_CONCURRENCY,
        }
    now = time.monotonic()
    if cached and _status_cache is not None and now - _status_cache[0] < STATUS_TTL_S:
        return _status_cache[1]
    body: BrokerStatus = {"configured": True}
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
            body["broker"] = connection.as_uri()  # the password, if any, is masked
            body["queue_length"] = _queue_length(connection)
    except Exception as exc:  # kombu and redis raise many kinds; all mean "unreachable"
        body["status"], body["error"] = "unreachable", f"{type(exc).__name__}: {exc}"[:300]
        _status_cache = (now, body)
        return body
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            replies = app.control.ping(timeout=timeout, connection=connection) or []
    except Exception as exc:
        replies = []
        body["error"] = f"ping failed: {exc}"[:300]
    names = sorted(name for reply in replies for name in reply)
    body["status"] = "healthy" if names else "no_workers"
    body["workers"], body["worker_names"] = len(names), names
    _status_cache = (now, body)
    return body


def queue_length() -> int:
    """Return how many messages wait in the broker's queue (raises when the broker is away)."""
    with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=1.0)
        return _queue_length(connection)


def _queue_length(connection: Any) -> int:
    """Return how many messages wait in the default queue (Redis drops an empty queue's key)."""
    try:
        declared = connection.default_channel.queue_declare(
            queue=app.conf.task_default_queue, passive=True
        )
    except ChannelError:  # no such queue: nothing was ever queued, or it is empty
        return 0
    return int(declared.message_count)
