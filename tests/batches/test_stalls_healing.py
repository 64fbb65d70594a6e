"""Stalled batch work shows in health and is handed out again by the sweepers, exactly once.

The clock is injected: `later` is a moment past SVGAI_BATCH_STALL_S, no test waits for it.
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from conversions import recovery, tasks
from conversions.batches.lifecycle import create_batch
from conversions.batches.options import BatchOptions
from conversions.batches.runner import Outcome, _claim, _finish, _record_for, local_runner, run_item
from conversions.batches.stalls import find_stalls, heal_stalls, requeue
from conversions.models import Batch, BatchItem, Conversion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_stalls(settings, monkeypatch):
    settings.SVGAI_BATCH_STALL_S = 90
    settings.SVGAI_BATCH_STALE_S = 60
    monkeypatch.setattr(tasks, "_status_cache", None)


@pytest.fixture
def broker(settings, monkeypatch):
    """A Celery broker that records what is sent and holds no message (they were lost)."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # never reached: see the fakes
    sent: list[str] = []
    monkeypatch.setattr(tasks, "enqueue", lambda ids: sent.extend(str(i) for i in ids))
    monkeypatch.setattr(tasks, "queue_length", lambda: 0)
    monkeypatch.setattr(
        tasks,
        "broker_status",
        lambda **kw: {"configured": True, "status": "healthy", "workers": 1, "queue_length": 0},
    )
    return sent


def make_batch(logos, runner: str) -> Batch:
    files = [(name, io.BytesIO(data)) for name, data in logos.items()]
    options = BatchOptions(kind="legacy")
    return create_batch(files=files, options=options, runner=runner).batch


def later(settings) -> datetime:
    return timezone.now() + timedelta(seconds=settings.SVGAI_BATCH_STALL_S + 1)


def ids(batch: Batch) -> set[str]:
    return {str(pk) for pk in batch.items.values_list("id", flat=True)}


def test_a_batch_nothing_moved_in_is_stalled(inline_batches, logos, settings):
    batch = make_batch(logos, "local")

    assert find_stalls().batches == []  # young: not stalled yet
    stalls = find_stalls(later(settings))

    assert stalls.batches == [batch.pk]
    assert stalls.stalled
    assert "1 batch(es) made no progress for 90 s" in stalls.describe()


def test_a_batch_waiting_behind_one_that_moves_is_not_stalled(inline_batches, logos, settings):
    waiting = make_batch(logos, "local")
    moving = make_batch(logos, "local")
    now = later(settings)
    moving.items.filter(position=0).update(status=BatchItem.Status.RUNNING, heartbeat_at=now)

    stalls = find_stalls(now)

    assert stalls.batches == []
    assert waiting.items.filter(status=BatchItem.Status.QUEUED).count() == 3


def test_lost_queued_items_are_handed_out_again_once(inline_batches, logos, settings, broker):
    batch = make_batch(logos, "celery")
    now = later(settings)

    assert heal_stalls(now) == 3
    assert heal_stalls(now) == 0  # a second sweeper at the same moment takes none

    assert sorted(broker) == sorted(ids(batch))
    assert set(batch.items.values_list("heartbeat_at", flat=True)) == {now}


def test_queued_items_the_broker_still_holds_are_not_sent_again(
    inline_batches, logos, settings, broker, monkeypatch
):
    make_batch(logos, "celery")
    monkeypatch.setattr(tasks, "queue_length", lambda: 3)  # no worker runs them: health says so

    assert heal_stalls(later(settings)) == 0
    assert broker == []


def test_items_are_handed_out_again_after_another_stall_only(
    inline_batches, logos, settings, broker
):
    batch = make_batch(logos, "celery")
    first = later(settings)
    heal_stalls(first)

    assert heal_stalls(first + timedelta(seconds=30)) == 0
    assert heal_stalls(later(settings) + timedelta(seconds=91)) == 3
    assert len(broker) == 6
    assert batch.items.filter(status=BatchItem.Status.QUEUED).count() == 3


def test_an_item_whose_runner_died_is_requeued_and_runs_once(
    inline_batches, logos, settings, broker
):
    batch = make_batch(logos, "celery")
    item = batch.items.order_by("position").first()
    dead_token = uuid.uuid4()
    claimed = _claim(item.pk, dead_token)
    _record_for(claimed, dead_token)  # then its worker's machine dies
    now = timezone.now() + timedelta(seconds=settings.SVGAI_BATCH_STALE_S + 1)

    assert heal_stalls(now) == 1

    assert broker == [str(item.pk)]
    item.refresh_from_db()
    assert item.status == BatchItem.Status.QUEUED
    assert item.claim is None
    assert run_item(item.pk, heartbeat=False) == Outcome.DONE
    # The first runner, were it alive after all, finds its claim gone and records nothing.
    late = _finish(claimed, dead_token, None, "late", succeeded=False)
    assert late == Outcome.SKIPPED
    item.refresh_from_db()
    assert item.status == BatchItem.Status.DONE
    assert item.attempts == 2
    assert Conversion.objects.filter(upload=item.upload).count() == 1
    assert item.conversion.status == Conversion.Status.SUCCEEDED


def test_an_item_a_live_runner_holds_is_left_alone(inline_batches, logos, settings, broker):
    batch = make_batch(logos, "celery")
    item = batch.items.order_by("position").first()
    _claim(item.pk, uuid.uuid4())
    now = timezone.now() + timedelta(seconds=settings.SVGAI_BATCH_STALE_S - 5)

    assert heal_stalls(now) == 0

    item.refresh_from_db()
    assert item.status == BatchItem.Status.RUNNING
    assert run_item(item.pk, heartbeat=False) == Outcome.HELD


def test_items_the_broker_refused_are_tried_again_next_sweep(
    inline_batches, logos, settings, broker, monkeypatch
):
    batch = make_batch(logos, "celery")

    def away(ids):
        raise ConnectionRefusedError("Redis is restarting")

    monkeypatch.setattr(tasks, "enqueue", away)
    now = later(settings)

    assert heal_stalls(now) == 0

    assert set(batch.items.values_list("heartbeat_at", flat=True)) == {None}
    monkeypatch.setattr(tasks, "enqueue", lambda ids: broker.extend(str(i) for i in ids))
    assert heal_stalls(now + timedelta(seconds=5)) == 3
    assert sorted(broker) == sorted(ids(batch))


def test_without_a_broker_lost_items_go_to_the_local_pool(logos, settings, monkeypatch):
    settings.CELERY_BROKER_URL = ""
    settings.SVGAI_BATCH_LOCAL_CONCURRENCY = 2
    batch = make_batch(logos, "local")  # its process restarted before running it
    submitted: list[str] = []
    monkeypatch.setattr(local_runner, "submit", lambda ids: submitted.extend(map(str, ids)))

    assert heal_stalls(later(settings)) == 3

    assert sorted(submitted) == sorted(ids(batch))


def test_the_sweeper_leaves_batch_records_to_the_batch_runner(inline_batches, logos, settings):
    settings.SVGAI_STALE_AFTER = 120
    batch = make_batch(logos, "local")
    item = batch.items.order_by("position").first()
    token = uuid.uuid4()
    made = _record_for(_claim(item.pk, token), token)
    Conversion.objects.filter(pk=made.pk).update(
        created_at=timezone.now() - timedelta(seconds=300)
    )  # its runner is still alive, converting a slow image, or its item waits to be handed out

    assert recovery.fail_abandoned() == 0

    made.refresh_from_db()
    assert made.status == Conversion.Status.RUNNING  # never failed, so never failed → succeeded


def test_the_admin_requeue_shares_the_healing(inline_batches, logos, settings, broker):
    batch = make_batch(logos, "celery")

    assert requeue(batch) == 3

    assert sorted(broker) == sorted(ids(batch))
    assert batch.items.filter(heartbeat_at__isnull=False).count() == 3


def broker_check(api_client) -> str:
    """Return what /health/ says of the batch runner (the AI check fails here: no weights)."""
    body = api_client.get("/health/?format=json", HTTP_ACCEPT="application/json").json()
    (verdict,) = (v for k, v in body.items() if k.startswith("BrokerCheck"))
    return verdict


@pytest.mark.django_db(transaction=True)  # the health checks read from their own threads
def test_health_is_degraded_while_a_batch_is_stalled(
    api_client, inline_batches, logos, settings, broker
):
    batch = make_batch(logos, "celery")
    Batch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(seconds=120))

    verdict = broker_check(api_client)
    ai = api_client.get("/api/ai-health").json()

    assert "batch work stalled: 1 batch(es) made no progress for 90 s" in verdict
    assert ai["components"]["batches"]["status"] == "stalled"
    assert ai["components"]["batches"]["stalled_batches"] == 1
    assert str(batch.pk) not in str(ai)  # an id is a capability to read the batch
    assert ai["overall_status"] != "healthy"
    assert any("handed out again automatically" in r for r in ai["recommendations"])

    batch.items.filter(position=0).update(
        status=BatchItem.Status.RUNNING, heartbeat_at=timezone.now()
    )  # a runner took an item: the batch moves again

    assert broker_check(api_client) == "OK"
