"""End to end on a real Redis, real Celery workers and PostgreSQL (CI runs this file).

Skipped unless CELERY_BROKER_URL is set and the database is PostgreSQL: `.ci/run` sets
CELERY_BROKER_URL=redis://127.0.0.1:6379/15 and DATABASE_URL for this file. The worker
processes use the test database and media folder, so the tests commit (transaction=True).
"""

from __future__ import annotations

import csv
import io
import os
import time
import zipfile
from typing import Any
from xml.etree import ElementTree

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image, ImageOps

from benchmarks.batches import CeleryWorker
from conversions import tasks
from conversions.models import Batch, BatchItem, Conversion
from tests.batches.celery_workers import (
    FAST_HEALING,
    OwnRedis,
    flush_broker,
    start_worker,
    wait_until,
)
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
    settings.SVGAI_BATCH_STALL_S = float(FAST_HEALING["SVGAI_BATCH_STALL_S"])
    flush_broker()
    return settings.CELERY_BROKER_URL


@pytest.fixture
def own_redis(broker, settings, tmp_path, monkeypatch):
    """A Redis of this test's own, which it may restart; workers started after use it."""
    server = OwnRedis(tmp_path)
    server.start()
    settings.CELERY_BROKER_URL = server.url
    # This process's Celery app publishes control messages (a worker's ping) through its own
    # pools, made for the broker it was configured with: point them at this one.
    monkeypatch.setattr(tasks.app.conf, "broker_write_url", server.url)
    monkeypatch.setattr(tasks.app, "_pool", None)
    monkeypatch.setattr(tasks.app.amqp, "_producer_pool", None)
    monkeypatch.setattr(tasks, "STATUS_TTL_S", 0.0)  # each health look asks the broker again
    yield server
    server.stop()


def broker_check(api_client) -> str:
    """Return what /health/ says of the batch runner ("OK", or why it fails)."""
    body = api_client.get("/health/?format=json", HTTP_ACCEPT="application/json").json()
    (verdict,) = (v for k, v in body.items() if k.startswith("BrokerCheck"))
    return verdict


@pytest.fixture
def workers(broker, tmp_path):
    """Start workers with start(); every one is stopped after the test."""
    started: list[CeleryWorker] = []

    def start(**options: Any) -> CeleryWorker:
        worker = start_worker(tmp_path, **options)
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


def test_a_redis_restart_that_loses_the_queue_heals_without_anyone_acting(
    api_client, own_redis, workers
):
    worker = workers(concurrency=1, **FAST_HEALING)
    body = submit_zip(api_client, variants(10), tier=1)
    batch = Batch.objects.get(pk=body["batch_id"])
    items = BatchItem.objects.filter(batch=batch)
    assert wait_until(
        lambda: items.filter(status=BatchItem.Status.DONE).count() >= 2, timeout=300, poll=0.1
    ), worker.tail()

    own_redis.stop()  # its queue is gone with it: nothing was saved

    # Meanwhile /health/ says so: the broker is away and, once the running item finished,
    # the batch made no progress (the worker's sweeper cannot send anything without Redis).
    assert wait_until(lambda: "made no progress" in broker_check(api_client), timeout=300)
    lost = set(items.filter(status=BatchItem.Status.QUEUED).values_list("id", flat=True))
    assert lost
    own_redis.start()
    back = time.monotonic()

    finished = wait_until(lambda: Batch.objects.get(pk=batch.pk).finished, timeout=600)

    print(f"redis restart: {len(lost)} lost items finished {time.monotonic() - back:.1f} s "
          "after the broker came back")  # fmt: skip
    assert finished, worker.tail()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert items.filter(status=BatchItem.Status.DONE).count() == 10
    assert set(items.values_list("attempts", flat=True)) == {1}  # none ran twice
    records = Conversion.objects.filter(upload__batch_items__batch=batch)
    assert records.count() == 10
    assert set(records.values_list("status", flat=True)) == {Conversion.Status.SUCCEEDED}
    assert wait_until(lambda: broker_check(api_client) == "OK", timeout=60)


def test_a_dead_worker_machine_items_come_back_without_the_visibility_timeout(
    api_client, broker, workers
):
    # Redis would hand the dead machine's messages out again only after 10 minutes.
    slow_redelivery = {**FAST_HEALING, "SVGAI_BROKER_VISIBILITY_TIMEOUT": "600"}
    first = workers(**slow_redelivery)
    body = submit_zip(api_client, variants(12), tier=1)
    batch = Batch.objects.get(pk=body["batch_id"])
    items = BatchItem.objects.filter(batch=batch)
    assert wait_until(
        lambda: (
            items.filter(status=BatchItem.Status.DONE).count() >= 2
            and items.filter(status=BatchItem.Status.RUNNING).exists()
        ),
        timeout=300,
        poll=0.1,
    ), first.tail()

    first.kill()  # the whole machine: worker, pool children, conversion processes, sweeper

    interrupted = set(items.filter(status=BatchItem.Status.RUNNING).values_list("id", flat=True))
    assert interrupted
    assert wait_until(lambda: "lost their runner" in broker_check(api_client), timeout=120)
    second = workers(**slow_redelivery)
    back = time.monotonic()

    finished = wait_until(lambda: Batch.objects.get(pk=batch.pk).finished, timeout=500)

    print(f"dead worker: batch finished {time.monotonic() - back:.1f} s after a worker started")
    assert finished, second.tail()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert items.filter(status=BatchItem.Status.DONE).count() == 12
    records = Conversion.objects.filter(upload__batch_items__batch=batch)
    assert records.count() == 12  # one record per item
    assert set(records.values_list("status", flat=True)) == {Conversion.Status.SUCCEEDED}
    assert all(item.attempts == 2 for item in items.filter(id__in=interrupted))
    assert wait_until(lambda: broker_check(api_client) == "OK", timeout=60)
