"""What a client sees of a batch: its status, counts, progress, throughput and items."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NotRequired, TypedDict
from uuid import UUID

from django.db.models import Count
from django.utils import timezone

from conversions.batches.refusals import Refusals, RefusalsAnswer
from conversions.models import Batch, BatchItem
from conversions.outcomes import problems_of


class ItemResult(TypedDict):
    """One batch item's status and result, as the API answers it."""

    item_id: UUID
    name: str
    status: str
    conversion_id: UUID | None
    tier: int | None
    ssim: float | None
    predicted_ssim: float | None
    problems: list[str]
    bytes: int | None
    time: float | None
    error: str | None
    attempts: int
    svg_url: str | None


class BatchStatus(RefusalsAnswer):
    """`batch_status()`: a batch as the API answers it (`items` when asked for)."""

    success: bool
    batch_id: UUID
    status: str
    kind: str
    options: dict[str, object]
    runner: str
    items_total: int
    counts: dict[str, int]
    progress: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    throughput: dict[str, float | None]
    error: str | None
    status_url: str
    download_url: str
    items: NotRequired[list[ItemResult]]


def item_result(item: BatchItem) -> ItemResult:
    """Return one item's status and result for the API."""
    conversion = item.conversion
    return {
        "item_id": item.pk,
        "name": item.name,
        "status": item.status,
        "conversion_id": conversion.pk if conversion else None,
        "tier": conversion.tier if conversion else None,
        "ssim": conversion.ssim if conversion else None,
        "predicted_ssim": conversion.predicted_ssim if conversion else None,
        # As a single conversion's answer: a failed model step or a degraded result says so.
        "problems": problems_of(conversion) if conversion and conversion.succeeded else [],
        "bytes": conversion.svg_bytes if conversion else None,
        "time": as_seconds(conversion.total_ms) if conversion else None,
        "error": item.error or None,
        "attempts": item.attempts,
        "svg_url": f"/api/conversions/{conversion.pk}/svg"
        if conversion and conversion.succeeded
        else None,
    }


def as_seconds(ms: float | None) -> float | None:
    """Return milliseconds as seconds to the millisecond (None stays None)."""
    return None if ms is None else round(ms / 1000, 3)


def items_with_results(batch: Batch) -> Any:
    """Return the batch's items with their records' numbers (not their SVGs)."""
    return (
        batch.items.select_related("conversion")
        .only(
            *(f.name for f in BatchItem._meta.concrete_fields),
            "conversion__id",
            "conversion__status",
            "conversion__tier",
            "conversion__ssim",
            "conversion__predicted_ssim",
            "conversion__routing",
            "conversion__svg_bytes",
            "conversion__total_ms",
        )
        .order_by("position")
    )


def counts(batch: Batch) -> dict[str, int]:
    """Return how many items are in each status (every status present, zeros included)."""
    found = dict(
        batch.items.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {status: found.get(status, 0) for status in BatchItem.Status.values}


def batch_status(batch: Batch, *, include_items: bool = True) -> BatchStatus:
    """Return the batch's status, counts, progress, times, throughput and per-item results."""
    by_status = counts(batch)
    total = batch.item_count or sum(by_status.values())
    finished = sum(by_status[s] for s in BatchItem.FINISHED)
    refused = Refusals.from_stored(batch.refused).answer()
    body: BatchStatus = {
        "success": True,
        "batch_id": batch.pk,
        "status": batch.status,
        "kind": batch.kind,
        "options": batch.options,
        "runner": batch.runner,
        "items_total": total,
        "counts": by_status,
        "progress": round(100.0 * finished / total, 1) if total else 100.0,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        "throughput": throughput(batch, by_status),
        "refused": refused["refused"],
        "refused_total": refused["refused_total"],
        "refused_by_reason": refused["refused_by_reason"],
        "error": batch.error or None,
        "status_url": f"/api/batches/{batch.pk}",
        "download_url": f"/api/batches/{batch.pk}/download",
    }
    if include_items:
        body["items"] = [item_result(item) for item in items_with_results(batch)]
    return body


def throughput(batch: Batch, by_status: dict[str, int]) -> dict[str, float | None]:
    """Return elapsed seconds since the first item started and items finished per minute."""
    if batch.started_at is None:
        return {"elapsed_s": None, "items_per_minute": None}
    end: datetime = batch.finished_at or timezone.now()
    elapsed = max((end - batch.started_at).total_seconds(), 1e-3)
    converted = by_status[BatchItem.Status.DONE] + by_status[BatchItem.Status.FAILED]
    return {
        "elapsed_s": round(elapsed, 2),
        "items_per_minute": round(converted * 60 / elapsed, 2),
    }


def wait_for(
    batch: Batch,
    *,
    on_progress: Callable[[dict[str, int]], None] | None = None,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> Batch:
    """Poll until the batch finished (or `timeout_s` passed); report counts on each change."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last: dict[str, int] | None = None
    while True:
        batch.refresh_from_db()
        by_status = counts(batch)
        if by_status != last and on_progress is not None:
            on_progress(by_status)
        last = by_status
        if batch.finished or (deadline is not None and time.monotonic() > deadline):
            return batch
        time.sleep(poll_s)
