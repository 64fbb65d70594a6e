"""Operable: Prometheus metrics, one JSON log line per conversion, prediction health."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from conversions import services
from conversions.models import Conversion


def scrape(client: APIClient | None = None, **extra) -> dict[tuple[str, tuple], float]:
    response = (client or APIClient()).get("/metrics", **extra)
    assert response.status_code == 200, response.content
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_metrics_count_conversions_by_kind_tier_status(upload_file_id):
    before = scrape()

    legacy_response = APIClient().post("/api/convert", {"file_id": upload_file_id}, format="json")
    assert legacy_response.status_code == 200
    APIClient().post("/api/convert-ai", {"file_id": upload_file_id, "tier": 1}, format="json")

    after = scrape()
    legacy = {"kind": "legacy", "tier": "legacy"}
    ai = {"kind": "ai", "tier": "1"}
    name = "svgai_conversions_total"
    assert (
        value(after, name, **legacy, status="succeeded")
        == value(before, name, **legacy, status="succeeded") + 1
    )
    assert (
        value(after, name, **ai, status="succeeded")
        == value(before, name, **ai, status="succeeded") + 1
    )
    count = "svgai_conversion_seconds_count"
    assert value(after, count, **ai) == value(before, count, **ai) + 1
    assert ("svgai_worker_queue_length", ()) in after
    assert value(after, "svgai_model_loaded", model="quality_predictor", version=_version()) == 1


def _version() -> str:
    from aimodels import registry

    return registry.status()["quality_predictor"].version


@pytest.mark.django_db
def test_metrics_count_rejected_requests(settings, upload_file_id):
    settings.SVGAI_PIXEL_BUDGETS = {"legacy": 10, "1": 10, "2": 10, "3": 10}
    before = value(scrape(), "svgai_requests_rejected_total", reason="pixel_budget")

    APIClient().post("/api/convert", {"file_id": upload_file_id}, format="json")

    after = value(scrape(), "svgai_requests_rejected_total", reason="pixel_budget")
    assert after == before + 1


@pytest.mark.django_db
def test_metrics_count_worker_stops_by_cause(monkeypatch):
    pool = services.worker_pool()
    for cause, count in {"deadline": 5, "timeout": 2, "crash": 1}.items():
        monkeypatch.setitem(pool.stops, cause, count)

    samples = scrape()

    for cause, count in {"deadline": 5, "timeout": 2, "crash": 1}.items():
        assert value(samples, "svgai_worker_stops_total", cause=cause) == count


@pytest.mark.django_db
def test_metrics_are_private(settings):
    assert APIClient().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    settings.SVGAI_METRICS_TOKEN = "s3cret-token"
    assert APIClient().get("/metrics").status_code == 403  # the token replaces the network rule
    ok = APIClient().get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-token"
    )
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_one_json_log_line_per_conversion(upload_file_id, caplog):
    caplog.set_level(logging.INFO, logger="svgai.conversions")

    response = APIClient().post(
        "/api/convert-ai", {"file_id": upload_file_id, "tier": 1}, format="json"
    )

    lines = [r.getMessage() for r in caplog.records if r.name == "svgai.conversions"]
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["event"] == "conversion"
    assert entry["id"] == response.json()["conversion_id"]
    assert (entry["kind"], entry["tier"], entry["outcome"]) == ("ai", 1, "succeeded")
    assert entry["total_ms"] > 0
    assert {"decode", "search"} <= set(entry["timings_ms"])


@pytest.mark.django_db
def test_ai_health_degrades_when_predictions_fail(make_conversion, admin_client):
    make_conversion(kind=Conversion.Kind.AI, tier=1)
    assert admin_client.get("/api/ai-health").json()["overall_status"] == "healthy"

    make_conversion(
        kind=Conversion.Kind.AI,
        tier=1,
        fallback_used=True,
        routing={"problems": ["prediction failed: overflow in exp"]},
    )

    response = admin_client.get("/api/ai-health")
    body = response.json()
    assert response.status_code == 200
    assert body["overall_status"] == "degraded"
    assert body["components"]["predictions"]["status"] == "failing"
    assert "overflow in exp" in " ".join(body["recommendations"])
