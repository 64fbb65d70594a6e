"""Removing what a benchmark stored: measure, don't keep (unless asked to)."""

from __future__ import annotations

from collections.abc import Iterable

from conversions.models import Conversion, Upload


def delete_unreferenced(names: Iterable[str]) -> None:
    """Delete stored upload files that no surviving Upload row points at (rolled back)."""
    storage = Upload._meta.get_field("file").storage
    for name in set(names):
        if not Upload.objects.filter(file=name).exists():
            storage.delete(name)


def forget(created: Iterable[tuple[str, str]]) -> None:
    """Delete what an in-process API benchmark recorded: its uploads and their conversions."""
    file_ids = {file_id for file_id, _ in created}
    names = list(Upload.objects.filter(pk__in=file_ids).values_list("file", flat=True))
    Conversion.objects.filter(upload_id__in=file_ids).delete()
    Upload.objects.filter(pk__in=file_ids).delete()
    delete_unreferenced(names)
