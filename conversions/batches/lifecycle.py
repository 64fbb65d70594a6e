"""A batch's life: stored with its items, handed to its runner, cancelled.

The runner is chosen here, in `runner_for`, and nowhere else: Celery's workers when the batch
names "celery", else the thread pool of this process. Celery loads only where it is used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversions import services
from conversions.batches.intake import BatchRefused, Intake, Limits, read_inputs
from conversions.batches.options import BatchOptions
from conversions.batches.refusals import Refusal, Refusals
from conversions.batches.runner import BrokerUnreachable, Runner, local_runner
from conversions.limits import OverPixelBudget, UploadQuota, check_pixel_budget
from conversions.models import Batch, BatchItem, Conversion, Upload
from conversions.owners import Owner
from vectorizer.images import ImageError

logger = logging.getLogger(__name__)


def configured_runner() -> str:
    """Return the runner new batches get: "celery" when a broker is configured, else "local"."""
    return "celery" if settings.CELERY_BROKER_URL else "local"


def runner_for(name: str) -> Runner:
    """Return the runner a batch names: Celery's workers, or the thread pool of this process."""
    if name == "celery":
        from conversions import tasks  # Celery loads only where a broker is used

        return tasks.celery_runner
    return local_runner


@dataclass(frozen=True)
class Created:
    batch: Batch
    refused: Refusals


def create_batch(
    *,
    files: Iterable[tuple[str, IO[bytes]]],
    options: BatchOptions,
    source: str = "files",
    owner: Owner | None = None,
    quota: UploadQuota | None = None,
    limits: Limits | None = None,
    runner: str | None = None,
) -> Created:
    """Store every acceptable image and a queued batch of them; raise BatchRefused if none.

    Members are read, checked and stored one at a time, so a request holds one image in
    memory. `owner` is the owner given to the batch, its uploads
    and its conversions; `quota` is the caller's upload quota: the bytes stored count against
    it, and once the next image would pass it the rest is refused (nothing stored at all:
    QuotaExceeded). An image over the pixel budget of the batch's tier is refused like a bad
    member. `runner`: "celery" or "local"; by default Celery when a broker is set.
    """
    limits = limits or Limits.from_settings()
    owner = owner or Owner()
    budget_tier = "legacy" if options.kind == Conversion.Kind.LEGACY else options.tier
    stored, refused, quota_passed = _store_members(files, limits, owner, quota, budget_tier)
    if not stored:
        if quota is not None and quota_passed and set(refused.by_reason) == {"quota"}:
            raise quota.exceeded(quota_passed)
        detail = "; ".join(refused.lines()[:5]) or "no files were sent"
        raise BatchRefused(f"No image in the request can be converted ({detail}).", refused)
    batch = _save_batch(stored, refused, options, owner=owner, source=source, runner=runner)
    return Created(batch, refused)


def _store_members(
    files: Iterable[tuple[str, IO[bytes]]],
    limits: Limits,
    owner: Owner,
    quota: UploadQuota | None,
    budget_tier: int | str,
) -> tuple[list[tuple[str, Upload]], Refusals, str]:
    """Return the (name, upload) of each member stored, the refusals, and the quota passed."""
    intake = Intake(limits)
    refused = Refusals()
    stored: list[tuple[str, Upload]] = []
    stored_bytes = files_stored = 0
    quota_passed = ""
    for entry in read_inputs(files, limits, intake):
        if isinstance(entry, Refusal):
            refused.add(entry)
            continue
        name, size = entry.name, len(entry.data)
        passed = quota.refusal(stored_bytes + size, files_stored + 1) if quota else None
        if quota is not None and passed is not None:
            quota_passed = passed
            intake.closed = (
                f"your upload quota would be passed ({passed} per client in 24 h); "
                f"retry in {quota.retry_after} s",
                "quota",
            )
            refused.add(Refusal(name, *intake.closed))
            continue
        try:
            upload = services.store_batch_upload(data=entry.data, filename=name)
        except ImageError as exc:
            refused.add(Refusal(name, str(exc), "bad_image"))
            continue
        finally:
            del entry  # stored or refused: free it before the next member is inflated
        # Stored is stored: the caller owns and is charged for it even if its tier refuses it.
        if owner.known or quota:
            Upload.objects.filter(pk=upload.pk).update(
                owner=owner.user, client=owner.client, quota_key=quota.key if quota else ""
            )
        stored_bytes += size
        files_stored += 1
        try:
            check_pixel_budget(upload, budget_tier)
        except OverPixelBudget as exc:
            refused.add(Refusal(name, str(exc.detail), "pixel_budget"))
            continue
        stored.append((name, upload))
    return stored, refused, quota_passed


def _save_batch(
    stored: list[tuple[str, Upload]],
    refused: Refusals,
    options: BatchOptions,
    *,
    owner: Owner,
    source: str,
    runner: str | None,
) -> Batch:
    """Return a new queued batch of the stored uploads, its items in order."""
    with transaction.atomic():
        batch = Batch.objects.create(
            owner=owner.user,
            client=owner.client,
            kind=options.kind,
            options=options.as_dict(),
            item_count=len(stored),
            refused=refused.as_dict(),
            source=source[:255],
            runner=runner or configured_runner(),
        )
        BatchItem.objects.bulk_create(
            BatchItem(batch=batch, position=i, name=name, upload=upload)
            for i, (name, upload) in enumerate(stored)
        )
    return batch


def dispatch(batch: Batch) -> None:
    """Start the batch's queued items: Celery tasks with a broker, else the local pool."""
    ids = list(batch.items.filter(status=BatchItem.Status.QUEUED).values_list("id", flat=True))
    try:
        runner_for(batch.runner).submit(ids)
    except BrokerUnreachable as exc:
        logger.exception("could not queue batch %s", batch.pk)
        Batch.objects.filter(pk=batch.pk).update(
            status=Batch.Status.FAILED,
            error=f"The broker could not take the items ({exc.cause}); retry later.",
            finished_at=timezone.now(),
        )
        BatchItem.objects.filter(batch=batch, status=BatchItem.Status.QUEUED).update(
            status=BatchItem.Status.CANCELLED, error="not queued: the broker was unreachable"
        )
        raise


def cancel_batch(batch: Batch) -> bool:
    """Cancel the batch's queued items (running ones finish); False if it had finished."""
    now = timezone.now()
    with transaction.atomic():
        changed = Batch.objects.filter(
            pk=batch.pk, status__in=[Batch.Status.QUEUED, Batch.Status.RUNNING]
        ).update(status=Batch.Status.CANCELLED, finished_at=now)
        if changed:
            BatchItem.objects.filter(batch=batch, status=BatchItem.Status.QUEUED).update(
                status=BatchItem.Status.CANCELLED, error="cancelled", finished_at=now
            )
    batch.refresh_from_db()
    return bool(changed)
