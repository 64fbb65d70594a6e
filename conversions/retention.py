"""Retention: uploads and records older than SVGAI_RETENTION_DAYS are deleted, files too.

Finished batches go first (their items with them), then conversions, then uploads nothing
refers to any more; a stored file goes when no remaining upload shares it (identical bytes
share one file). Running work is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from conversions.models import Batch, Conversion, Upload


@dataclass(frozen=True)
class Purged:
    """What a purge deleted (or, in a dry run, would delete)."""

    batches: int
    conversions: int
    uploads: int
    files: int
    file_bytes: int


def purge(*, before: datetime, dry_run: bool = False) -> Purged:
    """Delete finished batches, conversions and unreferenced uploads created before `before`."""
    with transaction.atomic():
        batches = Batch.objects.filter(created_at__lt=before, status__in=Batch.FINISHED)
        batch_count = batches.count()
        batches.delete()
        conversions = Conversion.objects.filter(created_at__lt=before).exclude(
            status=Conversion.Status.RUNNING
        )
        # A conversion that belongs to a kept batch stays with it.
        conversions = conversions.filter(Q(batch_item__isnull=True))
        conversion_count = conversions.count()
        conversions.delete()
        uploads = Upload.objects.filter(
            created_at__lt=before, conversions__isnull=True, batch_items__isnull=True
        )
        names = set(uploads.values_list("file", flat=True))
        upload_count = uploads.count()
        uploads.delete()
        still_used = set(
            Upload.objects.filter(file__in=names).values_list("file", flat=True).distinct()
        )
        orphans = sorted(n for n in names - still_used if n)
        if dry_run:
            transaction.set_rollback(True)
    storage = Upload._meta.get_field("file").storage
    file_bytes = 0
    files = 0
    for name in orphans:
        if not storage.exists(name):
            continue
        files += 1
        file_bytes += storage.size(name)
        if not dry_run:
            storage.delete(name)
    return Purged(batch_count, conversion_count, upload_count, files, file_bytes)
