"""Running one item, exactly once, whoever runs it: a Celery worker or a local thread.

The move from queued to running is an atomic claim, a live runner keeps a heartbeat, a
redelivered item whose runner is alive waits and one whose runner died is taken over, and the
item owns at most one Conversion record. `Runner` is what hands items to `run_item`: the local
thread pool here (no broker) or `conversions.tasks.CeleryRunner`; `lifecycle.runner_for`
chooses between them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from enum import StrEnum
from typing import Protocol, TypedDict

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversions import exports, services
from conversions.batches.heartbeats import heartbeats
from conversions.batches.options import BatchOptions
from conversions.models import Batch, BatchItem, Conversion
from vectorizer.exports import resolve_box
from vectorizer.tracing import TraceParams
from vectorizer.workers import WorkerBusy

logger = logging.getLogger(__name__)


class BrokerStatus(TypedDict, total=False):
    """The batch runner's state: the broker (or the local pool), then how far batch work
    stalled; `tasks.broker_status()` and `health.batch_health()` return it."""

    configured: bool
    status: str
    detail: str
    local_threads: int
    broker: str
    queue_length: int
    error: str
    workers: int
    worker_names: list[str]
    # Set by conversions.health.batch_health: how far batch work stalled.
    stall: str
    stalled_batches: int
    stale_items: int
    last_progress_at: str | None


class TransientError(RuntimeError):
    """The database, the storage or the worker pool failed for now: retry the item later."""


class BrokerUnreachable(TransientError):
    """The runner could not take the items (its broker is away): none of them was handed over."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"the broker is unreachable: {cause}")
        self.cause = str(cause)


# What a transient failure looks like from here; bad input is never among them.
TRANSIENT = (DatabaseError, OSError, WorkerBusy)


class Outcome(StrEnum):
    DONE = "done"  # converted; the record succeeded
    FAILED = "failed"  # converted; the record failed (or the item gave up)
    SKIPPED = "skipped"  # finished or cancelled already: nothing to do
    HELD = "held"  # another live runner holds it: look again once its heartbeat could stop


class Runner(Protocol):
    """What hands batch items to `run_item`: this process's thread pool, or Celery's workers."""

    def submit(self, ids: Iterable[uuid.UUID | str]) -> None:
        """Hand the items over; raise BrokerUnreachable when none could be."""

    def lost_messages(self, queued: int) -> bool:
        """Return True when fewer than `queued` of this runner's items still wait to be run."""


def runner_name() -> str:
    """Return who runs items here: host and process id (shown on running items)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def run_item(item_id: uuid.UUID | str, *, heartbeat: bool = True) -> Outcome:
    """Convert one batch item unless it finished or a live runner holds it; say what happened.

    Raises TransientError when the database, the storage or the pool failed: the item is
    released and the caller retries later. Bad input is never retried: it fails the item.
    """
    token = uuid.uuid4()
    item = _claim(item_id, token)
    if item is None:
        return _unclaimed(item_id)
    record = None
    try:
        with heartbeats.holding(item.pk, token, enabled=heartbeat):
            record = _record_for(item, token)
            if record is None:
                return Outcome.SKIPPED  # taken over between our claim and now
            conversion = _convert(item, record)
    except TRANSIENT as exc:
        _release(item.pk, token)
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        # Anything else is this item's problem (its image, the time limit): record it.
        logger.exception("batch item %s failed", item.pk)
        error = _describe_error(exc)
        if record is not None:
            Conversion.objects.filter(pk=record.pk).update(
                status=Conversion.Status.FAILED, error=error
            )
        return _finish(item, token, record, error, succeeded=False)
    return _finish(item, token, conversion, conversion.error, succeeded=conversion.succeeded)


def _describe_error(exc: Exception) -> str:
    if type(exc).__name__ == "SoftTimeLimitExceeded":
        limit = settings.SVGAI_BATCH_SOFT_TIME_LIMIT
        return f"the item ran past the batch time limit ({limit:g} s) and was stopped"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _record_for(item: BatchItem, token: uuid.UUID) -> Conversion | None:
    """Return the item's record, made (status running) and linked before any work.

    A retried item finds the record its earlier attempt made and fills it again, so an item
    never has two. None: another runner claimed the item meanwhile.
    """
    if item.conversion is not None:
        return item.conversion
    batch = item.batch
    with transaction.atomic():
        record = Conversion.objects.create(
            upload=item.upload,
            kind=batch.kind,
            status=Conversion.Status.RUNNING,
            requested_tier=str(batch.options.get("tier", "")),
            owner_id=batch.owner_id,
            client=batch.client,
        )
        linked = BatchItem.objects.filter(pk=item.pk, claim=token, conversion=None).update(
            conversion=record
        )
        if not linked:
            transaction.set_rollback(True)
            return None
    item.conversion = record
    return record


def _claim(item_id: uuid.UUID | str, token: uuid.UUID) -> BatchItem | None:
    """Move the item to running for this attempt, atomically; None when it is not claimable."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SVGAI_BATCH_STALE_S)
    claimable = Q(status=BatchItem.Status.QUEUED) | Q(
        status=BatchItem.Status.RUNNING, heartbeat_at__lt=stale
    )
    claimed = BatchItem.objects.filter(
        claimable, pk=item_id, attempts__lt=settings.SVGAI_BATCH_MAX_ATTEMPTS
    ).update(
        status=BatchItem.Status.RUNNING,
        claim=token,
        attempts=F("attempts") + 1,
        runner=runner_name(),
        heartbeat_at=now,
        started_at=Coalesce("started_at", now),
    )
    if not claimed:
        return None
    item = BatchItem.objects.select_related("batch", "upload", "conversion").get(pk=item_id)
    Batch.objects.filter(pk=item.batch_id, status=Batch.Status.QUEUED).update(
        status=Batch.Status.RUNNING, started_at=now
    )
    return item


def _unclaimed(item_id: uuid.UUID | str) -> Outcome:
    item = BatchItem.objects.filter(pk=item_id).first()
    if item is None or item.status in BatchItem.FINISHED:
        return Outcome.SKIPPED
    if item.attempts >= settings.SVGAI_BATCH_MAX_ATTEMPTS:
        # Every attempt's runner died mid-item (crash, out of memory, hard time limit):
        # the image itself is the likely cause, so stop handing it out.
        stale = timezone.now() - timedelta(seconds=settings.SVGAI_BATCH_STALE_S)
        gave_up = BatchItem.objects.filter(
            Q(status=BatchItem.Status.QUEUED)
            | Q(status=BatchItem.Status.RUNNING, heartbeat_at__lt=stale),
            pk=item_id,
        ).update(
            status=BatchItem.Status.FAILED,
            error=f"gave up after {item.attempts} attempts: the process converting it died "
            "each time (a crash, out of memory or the hard time limit)",
            finished_at=timezone.now(),
            claim=None,
        )
        if gave_up:
            if item.conversion_id is not None:
                Conversion.objects.filter(
                    pk=item.conversion_id, status=Conversion.Status.RUNNING
                ).update(status=Conversion.Status.FAILED, error="the process converting it died")
            finish_batch_if_done(item.batch_id)
            return Outcome.FAILED
    return Outcome.HELD


def _convert(item: BatchItem, record: Conversion) -> Conversion:
    options = BatchOptions.from_batch(item.batch)
    if options.output_size is not None:
        # A size whose derived side is out of range fails the item before any tracing.
        resolve_box(item.upload.width, item.upload.height, options.output_size)
    conversion = _trace(item, record, options)
    # The first format is the one recorded as asked; the download holds every one of them.
    return exports.record_output(conversion, options.formats[0], options.output_size)


def _trace(item: BatchItem, record: Conversion, options: BatchOptions) -> Conversion:
    if options.kind == Conversion.Kind.LEGACY:
        return services.convert_image(
            upload=item.upload,
            params=TraceParams.from_dict(options.params),
            design=options.design,
            existing=record,
        )
    try:
        return services.convert_with_ai(
            upload=item.upload,
            tier=options.tier,
            target_quality=options.target_quality,
            time_budget=options.time_budget,
            max_bytes=options.max_bytes,
            design=options.design,
            existing=record,
        )
    except services.ModelsUnavailable as exc:
        raise _ItemFailed(f"AI conversion is unavailable: {exc}") from exc


class _ItemFailed(Exception):
    pass


def _release(item_id: uuid.UUID, token: uuid.UUID) -> None:
    """Give the item back to the queue after a transient failure (best effort)."""
    try:
        # heartbeat_at of a queued item: when it was last handed out (here: to the retry).
        BatchItem.objects.filter(pk=item_id, claim=token).update(
            status=BatchItem.Status.QUEUED, claim=None, heartbeat_at=timezone.now()
        )
    except DatabaseError:  # the database is what failed: the heartbeat runs out instead
        logger.warning("could not release batch item %s", item_id)


def _finish(
    item: BatchItem,
    token: uuid.UUID,
    conversion: Conversion | None,
    error: str,
    *,
    succeeded: bool,
) -> Outcome:
    status = BatchItem.Status.DONE if succeeded else BatchItem.Status.FAILED
    changed = BatchItem.objects.filter(
        pk=item.pk, claim=token, status=BatchItem.Status.RUNNING
    ).update(
        status=status,
        error="" if succeeded else error[:2000],
        conversion=conversion,
        finished_at=timezone.now(),
        heartbeat_at=None,
    )
    if not changed:
        # Our heartbeat went stale and another runner took the item over: it records it.
        logger.warning("batch item %s was taken over; dropping this attempt", item.pk)
        return Outcome.SKIPPED
    finish_batch_if_done(item.batch_id)
    return Outcome.DONE if succeeded else Outcome.FAILED


def finish_batch_if_done(batch_id: uuid.UUID) -> None:
    """Mark the batch done (or failed, when no item succeeded) once no item is left to run."""
    open_items = BatchItem.objects.filter(
        batch_id=batch_id, status__in=[BatchItem.Status.QUEUED, BatchItem.Status.RUNNING]
    )
    if open_items.exists():
        return
    done = BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.DONE).exists()
    Batch.objects.filter(
        pk=batch_id, status__in=[Batch.Status.QUEUED, Batch.Status.RUNNING]
    ).update(status=Batch.Status.DONE if done else Batch.Status.FAILED, finished_at=timezone.now())


# -- the local pool (no broker) --------------------------------------------------------------


class LocalRunner:
    """Run items on threads of this process when no broker is configured.

    Each thread calls `run_item`, which converts in the shared worker processes, so the
    threads only wait; SVGAI_BATCH_LOCAL_CONCURRENCY of them (default: the pool's size) keep
    the workers busy. 0 runs items inline, in the caller (tests, debugging).
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._pending: set[str] = set()

    def submit(self, ids: Iterable[uuid.UUID | str]) -> None:
        """Queue the items in this process (an item queued here already is not added twice)."""
        concurrency = settings.SVGAI_BATCH_LOCAL_CONCURRENCY
        for item_id in ids:
            key = str(item_id)
            if concurrency <= 0:
                run_with_retries(key, heartbeat=False)
                continue
            with self._lock:
                if key in self._pending and self._pid == os.getpid():
                    continue
                executor = self._executor_for(concurrency)
                self._pending.add(key)
            executor.submit(self._run, key)

    def lost_messages(self, queued: int) -> bool:
        """Return True: a stalled batch's items may have left this pool (a restart empties it).

        Handing them out again is safe: `submit` skips the ones still pending here.
        """
        return True

    def pending(self) -> set[str]:
        """Return the ids of the items waiting or running in this process."""
        with self._lock:
            return set(self._pending) if self._pid == os.getpid() else set()

    def _executor_for(self, concurrency: int) -> ThreadPoolExecutor:
        if self._executor is None or self._pid != os.getpid():
            self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="batch")
            self._pid = os.getpid()
            self._pending = set()
        return self._executor

    def _run(self, item_id: str) -> None:
        try:
            close_old_connections()  # a thread kept from an earlier item: a fresh connection
            run_with_retries(item_id, heartbeat=True)
        except Exception:
            logger.exception("batch item %s could not run", item_id)
        finally:
            with self._lock:
                self._pending.discard(item_id)
            connections.close_all()  # this thread's connections only


def run_with_retries(
    item_id: str, *, heartbeat: bool, sleep: Callable[[float], None] = time.sleep
) -> Outcome:
    """Run an item, retrying transient failures with backoff (the local pool's Celery retry)."""
    for attempt in range(RETRIES + 1):
        try:
            return run_item(item_id, heartbeat=heartbeat)
        except TransientError:
            if attempt == RETRIES:
                raise
            logger.warning("batch item %s: transient failure, retrying", item_id, exc_info=True)
            sleep(backoff(attempt))
    raise AssertionError("unreachable")


RETRIES = 5


def backoff(attempt: int) -> float:
    """Return seconds to wait before retry `attempt` (0-based): 2, 4, 8 ... up to 60."""
    return float(min(60, 2 ** (attempt + 1)))


local_runner = LocalRunner()
