"""Nothing lost when things die: a record before the work, abandoned records swept."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conversions import recovery, services
from conversions.models import Conversion
from vectorizer.workers import WorkerKilled, _death_error


class _DyingPool:
    """A pool whose job checks the record exists, then dies as if killed from outside."""

    size = 2
    seen: list[str] = []

    def run(self, *args, **kwargs):
        self.seen.extend(Conversion.objects.values_list("status", flat=True))
        raise _death_error(-9)

    def map(self, fn, items, *, timeout, deadline=None):
        self.seen.extend(Conversion.objects.values_list("status", flat=True))
        return [_death_error(-9) for _ in items]


@pytest.fixture
def dying_pool(monkeypatch):
    pool = _DyingPool()
    pool.seen = []
    monkeypatch.setattr(services, "worker_pool", lambda: pool)
    return pool


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "extra"), [("/api/convert", {}), ("/api/convert-ai", {"tier": 1})]
)
def test_conversion_is_recorded_running_before_work_and_killed_worker_reported(
    upload_file_id, dying_pool, endpoint, extra
):
    response = APIClient().post(endpoint, {"file_id": upload_file_id, **extra}, format="json")

    assert dying_pool.seen == ["running"]
    assert response.status_code == 422
    stored = Conversion.objects.get()
    assert stored.status == Conversion.Status.FAILED
    assert "stopped from outside (SIGKILL" in stored.error
    assert "too large" not in stored.error
    assert response.json()["conversion_id"] == str(stored.id)


def test_death_error_tells_outside_kill_from_crash():
    assert isinstance(_death_error(-9), WorkerKilled)
    assert isinstance(_death_error(-15), WorkerKilled)
    assert not isinstance(_death_error(-11), WorkerKilled)
    assert "exit code 3" in str(_death_error(3))


@pytest.mark.django_db
def test_abandoned_running_rows_are_marked_failed(make_conversion, settings):
    settings.SVGAI_STALE_AFTER = 120
    old = make_conversion(status=Conversion.Status.RUNNING, svg="", svg_bytes=None)
    young = make_conversion(status=Conversion.Status.RUNNING, svg="", svg_bytes=None)
    done = make_conversion()
    Conversion.objects.filter(pk__in=[old.pk, done.pk]).update(
        created_at=timezone.now() - dt.timedelta(seconds=300)
    )

    assert recovery.fail_abandoned() == 1

    old.refresh_from_db()
    assert old.status == Conversion.Status.FAILED
    assert "stopped before it finished" in old.error
    assert Conversion.objects.get(pk=young.pk).status == Conversion.Status.RUNNING
    assert Conversion.objects.get(pk=done.pk).status == Conversion.Status.SUCCEEDED
    assert recovery.fail_abandoned() == 0


def test_stale_after_defaults_past_the_longest_live_conversion(settings):
    settings.SVGAI_STALE_AFTER = 0
    settings.SVGAI_CONVERT_TIMEOUT = 60
    settings.SVGAI_QUEUE_WAIT = 20

    assert recovery.stale_after() == 200


@pytest.mark.django_db
def test_running_rows_stay_out_of_reports(make_conversion, admin_client):
    make_conversion(kind=Conversion.Kind.AI, tier=1, status=Conversion.Status.SUCCEEDED)
    make_conversion(kind=Conversion.Kind.AI, tier=1, status=Conversion.Status.RUNNING, svg="")

    body = admin_client.get("/api/ai-health").json()  # staff: every caller's figures

    assert body["performance_metrics"]["tiers"]["1"]["count"] == 1
