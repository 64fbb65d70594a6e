"""End to end on a real Redis, real Celery workers and PostgreSQL (CI runs this file).

Skipped unless CELERY_BROKER_URL is set and the database is PostgreSQL: `.ci/run` sets
CELERY_BROKER_URL=redis://127.0.0.1:6379/15 and DATABASE_URL for this file. The worker
processes use the test database and media folder, so the tests commit (transaction=True).
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from xml.etree import ElementTree

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image, ImageOps

from benchmarks.batches import CeleryWorker
from conversions.models import Batch, BatchItem, Conversion
from tests.batches.celery_workers import flush_broker, start_worker, wait_until
from tests.batches.conftest import make_zip, real_logos

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs CELERY_BROKER_URL (a real Redis): see .ci/run",
    ),
]


@pytest.fixture
def broker(settings):
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need a database server: set DATABASE_URL to PostgreSQL")
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    settings.SVGAI_BATCH_STALE_S = 6
    flush_broker()
    return settings.CELERY_BROKER_URL


@pytest.fixture
def workers(broker, tmp_path):
    """Start workers with start(); every one is stopped after the test."""
    started: list[CeleryWorker] = []

    def start() -> CeleryWorker:
        worker = start_worker(tmp_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def variants(count: int) -> dict[str, bytes]:
    """Return `count` distinct real logos: the four of tests/data, flipped, turned, scaled."""
    changes = [
        lambda im: im,
        ImageOps.mirror,
        ImageOps.flip,
        lambda im: im.rotate(90, expand=True),
        lambda im: im.resize((384, 384), Image.Resampling.LANCZOS),
    ]
    logos = []
    for change_index, change in enumerate(changes):
        for name, data in real_logos().items():
            image = change(Image.open(io.BytesIO(data)).convert("RGBA"))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            logos.append((f"v{change_index}-{name}", buffer.getvalue()))
    assert count <= len(logos)
    return dict(logos[:count])


def submit_zip(api_client, members: dict[str, bytes], **options) -> dict:
    upload = SimpleUploadedFile("logos.zip", make_zip(members), content_type="application/zip")
    response = api_client.post("/api/batches", {"files": [upload], **options}, format="multipart")
    assert response.status_code == 202, response.content
    return response.json()


def test_a_zip_of_real_logos_converts_end_to_end_on_celery(api_client, workers):
    workers()
    logos = variants(8)
    body = submit_zip(api_client, {**logos, "readme.txt": b"not a logo"}, tier=1)
    assert body["items"] == 8
    assert [r["name"] for r in body["refused"]] == ["readme.txt"]
    batch = Batch.objects.get(pk=body["batch_id"])
    assert batch.runner == "celery"

    finished = wait_until(
        lambda: api_client.get(body["status_url"]).json()["status"] == "done", timeout=300
    )

    status = api_client.get(body["status_url"]).json()
    assert finished, status
    assert status["counts"]["done"] == 8
    assert status["progress"] == 100.0
    assert status["throughput"]["items_per_minute"] > 0
    response = api_client.get(body["download_url"])
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    expected = {name.replace(".png", ".svg") for name in logos}
    assert set(archive.namelist()) == expected | {"report.csv"}
    for name in expected:
        root = ElementTree.fromstring(archive.read(name))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("viewBox")
        assert len(root) > 0
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(archive.read("report.csv").decode()))}
    assert set(rows) == set(logos) | {"readme.txt"}
    assert rows["readme.txt"]["status"] == "refused"
    for name in logos:
        row = rows[name]
        assert row["status"] == "done"
        assert row["tier"] == "1"
        assert float(row["measured_ssim"]) > 0.8
        assert int(row["bytes"]) == len(archive.read(row["svg"]).decode().encode())
        assert float(row["time_s"]) > 0
    conversions = Conversion.objects.filter(batch_item__batch=batch)
    assert conversions.count() == 8
    assert set(conversions.values_list("status", flat=True)) == {Conversion.Status.SUCCEEDED}


def test_killing_a_worker_mid_batch_loses_nothing_and_repeats_nothing(api_client, workers):
    first = workers()
    body = submit_zip(api_client, variants(16), tier=1)
    batch = Batch.objects.get(pk=body["batch_id"])
    items = BatchItem.objects.filter(batch=batch)

    mid_batch = wait_until(
        lambda: (
            items.filter(status=BatchItem.Status.DONE).count() >= 2
            and items.filter(status=BatchItem.Status.RUNNING).exists()
        ),
        timeout=300,
        poll=0.1,
    )
    assert mid_batch, first.tail()
    first.kill()
    interrupted = set(items.filter(status=BatchItem.Status.RUNNING).values_list("id", flat=True))
    assert interrupted, "the kill should leave items running"
    second = workers()

    finished = wait_until(lambda: Batch.objects.get(pk=batch.pk).finished, timeout=300)

    assert finished, second.tail()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert items.count() == 16
    assert items.filter(status=BatchItem.Status.DONE).count() == 16  # none lost, none stuck
    records = Conversion.objects.filter(upload__batch_items__batch=batch)
    assert records.count() == 16  # one record per item: no duplicates, no orphans
    assert not records.exclude(status=Conversion.Status.SUCCEEDED).exists()
    assert sorted(items.values_list("conversion_id", flat=True)) == sorted(
        records.values_list("id", flat=True)
    )
    retried = items.filter(id__in=interrupted)
    assert all(item.attempts >= 2 for item in retried)  # finished by the second worker
