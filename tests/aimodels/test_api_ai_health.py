"""GET /api/ai-health and /health/: the AI layer's health, as operators and probes see it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from conversions import health, services, tasks
from conversions.models import Conversion

HEALTH_FIELDS = {"overall_status", "components", "performance_metrics", "recommendations",
                 "timestamp"}  # fmt: skip


@pytest.fixture
def staff_client(db) -> APIClient:
    """Return a client logged in as staff, who sees hosts, errors and every caller's figures."""
    client = APIClient()
    client.force_authenticate(User.objects.create_user("ops", is_staff=True))
    return client


def get_health(api_client):
    response = api_client.get("/api/ai-health")
    body = response.json()
    assert set(body) >= HEALTH_FIELDS, body
    assert body["overall_status"] in {"healthy", "degraded", "unhealthy", "error"}
    return response, body


@pytest.mark.django_db
def test_ai_health_is_healthy_with_every_model_loaded(
    api_client, staff_client, ai_models, monkeypatch
):
    for cause in services.worker_pool().stops:  # workers other tests in this process stopped
        monkeypatch.setitem(services.worker_pool().stops, cause, 0)

    response, body = get_health(staff_client)

    assert response.status_code == 200
    assert body["overall_status"] == "healthy"
    assert body["components"]["quality_predictor"]["status"] == "healthy"
    assert body["components"]["logo_type"]["status"] == "healthy"
    assert body["components"]["workers"]["size"] >= 1
    assert body["recommendations"] == []
    assert body["timestamp"]


@pytest.mark.django_db
def test_ai_health_is_unhealthy_and_503_without_the_predictor(api_client, staff_client, ai_models):
    ai_models.remove("quality_predictor")

    response, body = get_health(staff_client)

    assert response.status_code == 503
    assert body["overall_status"] == "unhealthy"
    assert body["components"]["quality_predictor"]["status"] == "unavailable"
    assert "removed for this test" in body["components"]["quality_predictor"]["error"]
    assert any("train_models" in r for r in body["recommendations"])


@pytest.mark.django_db
def test_ai_health_is_degraded_without_the_classifier(api_client, ai_models):
    ai_models.remove("logo_type")

    response, body = get_health(api_client)

    assert response.status_code == 200
    assert body["overall_status"] == "degraded"
    assert any("classifier" in r for r in body["recommendations"])


@pytest.mark.django_db
def test_ai_health_counts_the_ai_conversions_made(
    api_client, staff_client, upload_file_id, ai_models, make_conversion
):
    for tier in (1, 1, 2):
        response = api_client.post(
            "/api/convert-ai", {"file_id": upload_file_id, "tier": tier}, format="json"
        )
        assert response.status_code == 200, response.content
    make_conversion(kind=Conversion.Kind.AI, tier=2, status=Conversion.Status.FAILED, ssim=None)
    make_conversion()  # legacy: not counted

    _, body = get_health(staff_client)

    tiers = body["performance_metrics"]["tiers"]
    assert tiers["1"]["count"] == 2
    assert tiers["1"]["failed"] == 0
    assert tiers["1"]["mean_time_ms"] > 0
    assert tiers["1"]["max_time_ms"] >= tiers["1"]["mean_time_ms"]
    assert tiers["2"]["count"] == 1
    assert tiers["2"]["failed"] == 1
    assert "3" not in tiers
    assert any("Tier 2 had 1 failed" in r for r in body["recommendations"])


@pytest.mark.django_db
def test_ai_health_answers_error_when_a_part_breaks(
    api_client, staff_client, ai_models, monkeypatch
):
    from conversions import health as views

    def broken() -> dict:
        raise RuntimeError("status store offline")

    monkeypatch.setattr(views, "model_status", broken)

    response, body = get_health(staff_client)

    assert response.status_code == 503
    assert body["overall_status"] == "error"
    assert "status store offline" in body["recommendations"][0]


BROKER_DETAILS = {
    "configured": True,
    "broker": "redis://cache-7.internal:6379/0",
    "queue_length": 3,
    "status": "healthy",
    "workers": 1,
    "worker_names": ["celery@gpu-box-12"],
}


@pytest.mark.django_db
def test_ai_health_shows_anonymous_callers_states_but_no_hosts_or_errors(
    api_client, ai_models, monkeypatch
):
    monkeypatch.setattr(tasks, "broker_status", lambda **_: dict(BROKER_DETAILS))
    ai_models.remove("quality_predictor")

    response, body = get_health(api_client)

    text = response.content.decode()
    assert "cache-7.internal" not in text
    assert "gpu-box-12" not in text
    assert "removed for this test" not in text  # a model's load error names files
    assert body["overall_status"] == "unhealthy"
    assert body["components"]["batches"] == {
        "status": "healthy",
        "configured": True,
        "stalled_batches": 0,  # how far batch work stalled shows in counts, never in ids
        "stale_items": 0,
        "last_progress_at": None,
    }
    assert body["components"]["quality_predictor"]["status"] == "unavailable"
    assert "version" in body["components"]["quality_predictor"]  # the page tells models by it
    assert any("train_models" in r for r in body["recommendations"])


@pytest.mark.django_db
def test_ai_health_shows_staff_the_broker_and_workers(staff_client, ai_models, monkeypatch):
    monkeypatch.setattr(tasks, "broker_status", lambda **_: dict(BROKER_DETAILS))

    _, body = get_health(staff_client)

    assert body["components"]["batches"]["broker"] == "redis://cache-7.internal:6379/0"
    assert body["components"]["batches"]["worker_names"] == ["celery@gpu-box-12"]


@pytest.mark.django_db
def test_ai_health_counts_only_the_callers_own_conversions(api_client, ai_models, make_conversion):
    make_conversion(kind=Conversion.Kind.AI, tier=1)  # another anonymous caller's (no cookie)
    make_conversion(
        kind=Conversion.Kind.AI,
        tier=2,
        owner=User.objects.create_user("bob"),
        ssim=None,
        status=Conversion.Status.FAILED,
    )

    _, body = get_health(api_client)

    assert body["performance_metrics"]["tiers"] == {}
    assert not any("failed" in r for r in body["recommendations"])


@pytest.mark.django_db
def test_ai_health_hides_the_failure_text_from_anonymous_callers(api_client, monkeypatch):
    def broken() -> dict:
        raise RuntimeError("postgres at db-3.internal refused")

    monkeypatch.setattr(health, "model_status", broken)

    response, body = get_health(api_client)

    assert response.status_code == 503
    assert body["overall_status"] == "error"
    assert "db-3.internal" not in response.content.decode()


def _ai_check(body: dict) -> str:
    statuses = [status for name, status in body.items() if name.startswith("AIModels")]
    assert len(statuses) == 1, body
    return statuses[0]


@pytest.mark.django_db
def test_health_includes_the_ai_check(client, ai_models):
    response = client.get("/health/?format=json")

    assert _ai_check(response.json()) == "OK"


@pytest.mark.django_db
def test_health_reports_missing_models(client, ai_models):
    ai_models.remove("logo_type")

    response = client.get("/health/?format=json")

    assert "logo_type" in _ai_check(response.json())
    assert response.status_code in (500, 503)


@pytest.mark.django_db
def test_ai_health_counts_deadline_stops_apart_from_timeouts_and_crashes(
    staff_client, ai_models, monkeypatch
):
    pool = services.worker_pool()
    # 21 traces stopped at their client's time budget: what those clients asked for.
    for cause, count in {"deadline": 21, "timeout": 0, "crash": 0}.items():
        monkeypatch.setitem(pool.stops, cause, count)

    _, body = get_health(staff_client)

    workers = body["components"]["workers"]
    assert (workers["deadline_stops"], workers["timeouts"], workers["crashes"]) == (21, 0, 0)
    assert body["overall_status"] == "healthy"
    assert not [r for r in body["recommendations"] if "worker" in r]  # no fault to report

    monkeypatch.setitem(pool.stops, "timeout", 1)
    _, body = get_health(staff_client)

    said = [r for r in body["recommendations"] if "worker" in r]
    assert said[0].startswith("1 conversion worker was restarted: 1 after a timeout; 21 more")

    monkeypatch.setitem(pool.stops, "timeout", 2)
    monkeypatch.setitem(pool.stops, "crash", 1)
    _, body = get_health(staff_client)

    said = [r for r in body["recommendations"] if "worker" in r]
    assert said == [
        "3 conversion workers were restarted: 2 after a timeout and 1 after a crash; 21 more "
        "traces were stopped at their client's time budget, as asked. See the logs for the "
        "images that caused them."
    ]
