"""run_item converts each batch item exactly once, whatever happens to the runners."""

from __future__ import annotations

import io
import time
import uuid
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from conversions import services
from conversions.batches import runner
from conversions.batches.lifecycle import create_batch, dispatch
from conversions.batches.options import BatchOptions
from conversions.batches.runner import (
    Outcome,
    TransientError,
    _claim,
    _record_for,
    local_runner,
    run_item,
    run_with_retries,
    runner_name,
)
from conversions.batches.status import batch_status
from conversions.models import Batch, BatchItem, Conversion

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(inline_batches, logos) -> Batch:
    """Return a queued legacy batch of three drawn logos, not dispatched."""
    files = [(name, io.BytesIO(data)) for name, data in logos.items()]
    return create_batch(files=files, options=BatchOptions(kind="legacy")).batch


def first_item(batch: Batch) -> BatchItem:
    return batch.items.order_by("position").first()


def test_run_item_converts_and_finishes_the_batch_with_its_last_item(batch):
    outcomes = [run_item(item.pk) for item in batch.items.all()]

    assert outcomes == [Outcome.DONE] * 3
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert batch.started_at is not None
    assert batch.finished_at >= batch.started_at
    for item in batch.items.select_related("conversion"):
        assert item.status == BatchItem.Status.DONE
        assert item.attempts == 1
        assert item.claim is not None
        assert item.conversion.succeeded
        assert item.conversion.upload_id == item.upload_id


def test_a_redelivered_finished_item_is_skipped_without_a_second_record(batch):
    item = first_item(batch)
    assert run_item(item.pk) == Outcome.DONE

    assert run_item(item.pk) == Outcome.SKIPPED

    assert Conversion.objects.filter(upload=item.upload).count() == 1
    item.refresh_from_db()
    assert item.attempts == 1


def test_an_item_a_live_runner_holds_is_left_to_it(batch, monkeypatch):
    item = first_item(batch)
    BatchItem.objects.filter(pk=item.pk).update(
        status=BatchItem.Status.RUNNING, heartbeat_at=timezone.now(), attempts=1
    )
    monkeypatch.setattr(services, "convert_image", pytest.fail)

    assert run_item(item.pk) == Outcome.HELD

    item.refresh_from_db()
    assert item.status == BatchItem.Status.RUNNING
    assert item.attempts == 1


def test_an_item_whose_runner_died_is_taken_over(batch, settings):
    item = first_item(batch)
    dead = timezone.now() - timedelta(seconds=settings.SVGAI_BATCH_STALE_S + 1)
    BatchItem.objects.filter(pk=item.pk).update(
        status=BatchItem.Status.RUNNING, heartbeat_at=dead, attempts=1, runner="gone:1"
    )

    assert run_item(item.pk) == Outcome.DONE

    item.refresh_from_db()
    assert item.status == BatchItem.Status.DONE
    assert item.attempts == 2
    assert item.runner == runner_name()
    assert Conversion.objects.filter(upload=item.upload).count() == 1


def test_an_item_that_killed_every_runner_is_given_up(batch, settings):
    item = first_item(batch)
    dead = timezone.now() - timedelta(seconds=settings.SVGAI_BATCH_STALE_S + 1)
    BatchItem.objects.filter(pk=item.pk).update(
        status=BatchItem.Status.RUNNING,
        heartbeat_at=dead,
        attempts=settings.SVGAI_BATCH_MAX_ATTEMPTS,
    )

    assert run_item(item.pk) == Outcome.FAILED

    item.refresh_from_db()
    assert item.status == BatchItem.Status.FAILED
    assert "gave up after 3 attempts" in item.error
    assert item.conversion is None  # no attempt got as far as making its record


def test_a_transient_failure_releases_the_item_for_a_retry(batch, monkeypatch):
    item = first_item(batch)

    def database_down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "convert_image", database_down)

    with pytest.raises(TransientError, match="server closed"):
        run_item(item.pk)

    item.refresh_from_db()
    assert item.status == BatchItem.Status.QUEUED
    assert item.claim is None
    assert item.attempts == 1
    monkeypatch.undo()
    assert run_item(item.pk) == Outcome.DONE


def test_run_with_retries_backs_off_then_succeeds(batch, monkeypatch):
    item = first_item(batch)
    real = services.convert_image
    failures = iter([OSError("storage unreachable"), OSError("storage unreachable")])

    def flaky(**kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return real(**kwargs)

    monkeypatch.setattr(services, "convert_image", flaky)
    waits: list[float] = []

    outcome = run_with_retries(str(item.pk), heartbeat=False, sleep=waits.append)

    assert outcome == Outcome.DONE
    assert waits == [2.0, 4.0]


def test_bad_input_fails_the_item_and_is_not_retried(batch, monkeypatch):
    item = first_item(batch)

    def untraceable(*, upload, params, design, existing):
        existing.status = Conversion.Status.FAILED
        existing.error = "Conversion failed: vtracer panicked"
        existing.save()
        return existing

    monkeypatch.setattr(services, "convert_image", untraceable)

    assert run_item(item.pk) == Outcome.FAILED

    item.refresh_from_db()
    assert item.status == BatchItem.Status.FAILED
    assert "vtracer panicked" in item.error
    assert item.conversion.status == Conversion.Status.FAILED


def test_an_attempt_that_lost_its_claim_does_not_overwrite_the_new_runner(batch, monkeypatch):
    item = first_item(batch)
    real = services.convert_image

    def slow_then_taken_over(**kwargs):
        # While this attempt converts, another runner takes the item over.
        BatchItem.objects.filter(pk=item.pk).update(claim=None)
        return real(**kwargs)

    monkeypatch.setattr(services, "convert_image", slow_then_taken_over)

    assert run_item(item.pk) == Outcome.SKIPPED

    item.refresh_from_db()
    assert item.status == BatchItem.Status.RUNNING  # the other runner finishes it
    assert Conversion.objects.filter(upload=item.upload).count() == 1


def test_a_retried_item_fills_the_record_its_dead_attempt_made(batch, settings):
    item = first_item(batch)
    token = uuid.uuid4()
    claimed = _claim(item.pk, token)
    made = _record_for(claimed, token)  # then the runner dies before converting
    assert made.status == Conversion.Status.RUNNING
    dead = timezone.now() - timedelta(seconds=settings.SVGAI_BATCH_STALE_S + 1)
    BatchItem.objects.filter(pk=item.pk).update(heartbeat_at=dead)

    assert run_item(item.pk) == Outcome.DONE

    item.refresh_from_db()
    assert item.conversion_id == made.pk
    assert item.attempts == 2
    assert Conversion.objects.filter(upload=item.upload).count() == 1
    made.refresh_from_db()
    assert made.status == Conversion.Status.SUCCEEDED
    assert made.created_at == Conversion.objects.get(pk=made.pk).created_at
    assert made.svg.startswith("<svg")


def test_a_batch_whose_items_all_failed_is_failed(batch, monkeypatch):
    monkeypatch.setattr(
        runner, "_convert", lambda item, record: (_ for _ in ()).throw(ValueError("broken"))
    )

    for item in batch.items.all():
        assert run_item(item.pk) == Outcome.FAILED

    batch.refresh_from_db()
    assert batch.status == Batch.Status.FAILED
    status = batch_status(batch)
    assert status["counts"]["failed"] == 3
    assert all("broken" in item["error"] for item in status["items"])


@pytest.mark.django_db(transaction=True)
def test_local_pool_runs_a_batch_on_threads(settings, logos):
    if connection.vendor == "sqlite":
        # The test database is SQLite's shared in-memory cache, whose table locks fail at once
        # instead of waiting; a real SQLite file waits (the CI runs this on PostgreSQL).
        pytest.skip("threads need a database file or server, not shared-cache memory")
    settings.CELERY_BROKER_URL = ""
    settings.SVGAI_BATCH_LOCAL_CONCURRENCY = 2
    files = [(name, io.BytesIO(data)) for name, data in logos.items()]
    batch = create_batch(files=files, options=BatchOptions(kind="legacy")).batch
    assert batch.runner == "local"

    dispatch(batch)

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.finished:
            break
        time.sleep(0.2)
    assert batch.status == Batch.Status.DONE
    assert batch.items.filter(status=BatchItem.Status.DONE).count() == 3
    assert local_runner.pending() == set()
