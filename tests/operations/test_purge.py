"""manage.py purge: old uploads, records and files go; recent and running ones stay."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from conversions.models import Conversion, Upload
from tests.conftest import draw_logo


def age(model, pk, days: int) -> None:
    model.objects.filter(pk=pk).update(created_at=timezone.now() - dt.timedelta(days=days))


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("purge", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def history(make_upload, make_conversion):
    old_upload = make_upload(draw_logo(64))
    old = make_conversion(upload=old_upload)
    running = make_conversion(upload=make_upload(draw_logo(48)), status=Conversion.Status.RUNNING)
    shared_old = make_upload(draw_logo(96))
    shared_new = make_upload(draw_logo(96))  # same bytes: one stored file
    recent = make_conversion(upload=make_upload(draw_logo(80)))
    for model, pk in [
        (Upload, old_upload.pk),
        (Conversion, old.pk),
        (Upload, running.upload_id),
        (Conversion, running.pk),
        (Upload, shared_old.pk),
    ]:
        age(model, pk, 40)
    return {
        "old_upload": old_upload,
        "old": old,
        "running": running,
        "shared_old": shared_old,
        "shared_new": shared_new,
        "recent": recent,
    }


@pytest.mark.django_db
def test_purge_dry_run_counts_and_deletes_nothing(history):
    out = run("--dry-run")

    assert "Would delete records older than 30 days" in out
    assert "1 conversions, 2 uploads, 0 batches, 1 files" in out
    assert Conversion.objects.count() == 3
    assert Upload.objects.count() == 5
    assert history["old_upload"].file.storage.exists(history["old_upload"].file.name)


@pytest.mark.django_db
def test_purge_deletes_old_records_and_unshared_files(history):
    out = run()

    assert "Deleted records older than 30 days" in out
    assert "1 conversions, 2 uploads, 0 batches, 1 files" in out
    assert set(Conversion.objects.values_list("pk", flat=True)) == {
        history["running"].pk,
        history["recent"].pk,
    }
    assert not Upload.objects.filter(pk=history["old_upload"].pk).exists()
    storage = history["old_upload"].file.storage
    assert not storage.exists(history["old_upload"].file.name)
    # The old twin's row went, but its file stays: a recent upload shares it.
    assert not Upload.objects.filter(pk=history["shared_old"].pk).exists()
    assert storage.exists(history["shared_new"].file.name)
    assert Upload.objects.filter(pk=history["running"].upload_id).exists()


@pytest.mark.django_db
def test_purge_honours_retention_setting_and_days(history, settings):
    settings.SVGAI_RETENTION_DAYS = 60
    assert "0 conversions, 0 uploads" in run()

    assert "1 conversions" in run("--days", "35")
    with pytest.raises(CommandError, match="at least 1"):
        run("--days", "0")
