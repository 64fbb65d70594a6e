"""Batch work that stopped: it shows in /health/, and the sweepers hand it out again.

`find_stalls` says what stopped, `heal_stalls` (every process's sweeper) and `requeue` (the
admin's action) give the items to their runner again, `resume_if_stalled` picks up the local
items a restarted process dropped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from conversions.batches.lifecycle import configured_runner, runner_for
from conversions.batches.runner import BrokerUnreachable, TransientError, local_runner
from conversions.models import Batch, BatchItem

logger = logging.getLogger(__name__)

# -- stalls: work that stopped shows, and is handed out again ---------------------------------
#
# A running item's `heartbeat_at` is its runner's last beat; a queued item's is when it was last
# handed to a runner (None: when its batch was created). Two things stop work without anyone
# noticing: a runner that dies (its item keeps a heartbeat that no longer moves) and a message
# the broker loses (a Redis restart without persistence: its item stays queued, and nothing
# will ever run it). Handing an item out again is always safe: claims are atomic, so a
# duplicate message finds the item running, finished or claimable, never runs it twice.

OPEN_BATCH = (Batch.Status.QUEUED, Batch.Status.RUNNING)


@dataclass(frozen=True)
class Stalls:
    """Batch work that stopped: what /health/ reports and `heal_stalls` hands out again."""

    batches: list[uuid.UUID]  # open, and no item of any batch moved for SVGAI_BATCH_STALL_S
    stale_items: int  # running, and their runner stopped beating SVGAI_BATCH_STALE_S ago
    last_progress: datetime | None  # the last beat or finish of any batch item

    @property
    def stalled(self) -> bool:
        return bool(self.batches or self.stale_items)

    def describe(self) -> str:
        """Return what stopped, for /health/ and /api/ai-health."""
        parts = []
        if self.batches:
            parts.append(
                f"{len(self.batches)} batch(es) made no progress for "
                f"{settings.SVGAI_BATCH_STALL_S:g} s"
            )
        if self.stale_items:
            parts.append(
                f"{self.stale_items} running item(s) lost their runner (no heartbeat for "
                f"{settings.SVGAI_BATCH_STALE_S:g} s)"
            )
        return "; ".join(parts)


def _stale_running(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.SVGAI_BATCH_STALE_S)
    return Q(status=BatchItem.Status.RUNNING, heartbeat_at__lt=stale)


def last_progress() -> datetime | None:
    """Return when any batch item last moved: a runner's beat, an item or a batch finishing."""
    items = BatchItem.objects.filter(batch__status__in=OPEN_BATCH).aggregate(
        beat=Max("heartbeat_at", filter=Q(status=BatchItem.Status.RUNNING)),
        finished=Max("finished_at"),
    )
    finished_batch = Batch.objects.aggregate(at=Max("finished_at"))["at"]
    moments = [m for m in (items["beat"], items["finished"], finished_batch) if m is not None]
    return max(moments, default=None)


def find_stalls(now: datetime | None = None) -> Stalls:
    """Return the open batches that stopped and the running items whose runner died.

    A batch waiting behind another batch's items is not stalled: only when nothing moved
    anywhere for SVGAI_BATCH_STALL_S are the open batches older than that stalled.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SVGAI_BATCH_STALL_S)
    stale_items = (
        BatchItem.objects.filter(batch__status__in=OPEN_BATCH).filter(_stale_running(now)).count()
    )
    last = last_progress()
    stalled: list[uuid.UUID] = []
    if last is None or last < cutoff:
        stalled = list(
            Batch.objects.filter(status__in=OPEN_BATCH, created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("id", flat=True)
        )
    return Stalls(batches=stalled, stale_items=stale_items, last_progress=last)


def heal_stalls(now: datetime | None = None) -> int:
    """Hand out again the items stalled work left behind; return how many this process gave.

    Items whose runner died go back to the queue at once. Queued items of stalled batches go
    again when they were handed out before the stall began and, on Celery, when the broker's
    queue holds fewer messages than there are queued items (the messages were lost; if they
    are all there the workers are missing, which /health/ reports, and more copies would not
    help). Every process's sweeper may call this: each item is taken by one of them. A
    process hands out the items of the runner it has: the broker, or (with none) its pool.
    """
    runner = configured_runner()
    if runner == "local" and settings.SVGAI_BATCH_LOCAL_CONCURRENCY <= 0:
        return 0  # items run inline, in their caller: nothing here could run them
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SVGAI_BATCH_STALL_S)
    fields = ("id", "status", "claim", "heartbeat_at")
    dead = BatchItem.objects.filter(
        _stale_running(now), batch__status__in=OPEN_BATCH, batch__runner=runner
    )
    ids = _take_for_requeue(dead.values_list(*fields), now)
    stalls = find_stalls(now)
    if stalls.batches and _messages_lost(runner):
        lost = BatchItem.objects.filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True),
            batch_id__in=stalls.batches,
            batch__runner=runner,
            status=BatchItem.Status.QUEUED,
        )
        ids += _take_for_requeue(lost.values_list(*fields), now)
    if not ids:
        return 0
    logger.warning("stalled batch work: handing %d item(s) to %s again", len(ids), runner)
    try:
        _hand_out(runner, ids, now)
    except TransientError:
        logger.warning("could not hand out stalled items; the next sweep tries again")
        return 0
    return len(ids)


def _messages_lost(runner: str) -> bool:
    """Return True when the runner no longer holds every item its open batches have queued."""
    queued = BatchItem.objects.filter(
        batch__status__in=OPEN_BATCH, batch__runner=runner, status=BatchItem.Status.QUEUED
    ).count()
    return bool(queued) and runner_for(runner).lost_messages(queued)


def _take_for_requeue(
    found: Iterable[tuple[uuid.UUID, str, uuid.UUID | None, datetime | None]], now: datetime
) -> list[uuid.UUID]:
    """Mark each item handed out again at `now`; return those this process took.

    Each update is conditional on what was read, so of several sweepers only one takes an
    item. A running item goes back to the queue: its dead runner's claim is dropped, and
    that runner, should it be alive after all, finds its claim gone and records nothing.
    """
    taken = []
    for item_id, status, claim, beat in found:
        items = BatchItem.objects.filter(pk=item_id, status=status)
        if status == BatchItem.Status.RUNNING:
            changed = items.filter(_stale_running(now), claim=claim).update(
                status=BatchItem.Status.QUEUED, claim=None, heartbeat_at=now
            )
        else:
            same = Q(heartbeat_at__isnull=True) if beat is None else Q(heartbeat_at=beat)
            changed = items.filter(same).update(heartbeat_at=now)
        if changed:
            taken.append(item_id)
    return taken


def _hand_out(runner: str, ids: list[uuid.UUID], now: datetime) -> None:
    """Give the items to their runner; if the broker is away, the next sweep tries again."""
    if not ids:
        return
    try:
        runner_for(runner).submit(ids)
    except BrokerUnreachable:
        # Not handed out after all: the next sweep finds them again.
        BatchItem.objects.filter(
            pk__in=ids, status=BatchItem.Status.QUEUED, heartbeat_at=now
        ).update(heartbeat_at=None)
        raise


def requeue(batch: Batch) -> int:
    """Hand the batch's unfinished items to a runner again (safe: a finished item is skipped).

    The admin's action: every queued item, and every running one whose runner stopped beating.
    The sweeper does the same by itself for batches that stalled (`heal_stalls`).
    """
    now = timezone.now()
    found = batch.items.filter(Q(status=BatchItem.Status.QUEUED) | _stale_running(now))
    taken = _take_for_requeue(found.values_list("id", "status", "claim", "heartbeat_at"), now)
    _hand_out(batch.runner, taken, now)
    return len(taken)


def resume_if_stalled(batch: Batch) -> int:
    """Requeue a local batch's items no thread of this process runs (after a restart)."""
    if batch.finished or batch.runner != "local" or settings.SVGAI_BATCH_LOCAL_CONCURRENCY <= 0:
        return 0
    stale = timezone.now() - timedelta(seconds=settings.SVGAI_BATCH_STALE_S)
    pending = local_runner.pending()
    orphans = [
        str(i)
        for i in batch.items.filter(
            Q(status=BatchItem.Status.QUEUED)
            | Q(status=BatchItem.Status.RUNNING, heartbeat_at__lt=stale)
        ).values_list("id", flat=True)
        if str(i) not in pending
    ]
    local_runner.submit(orphans)
    return len(orphans)
