"""GET /api/model-status: which models are loaded, memory and the analysis cache."""

from __future__ import annotations

import pytest

from aimodels import registry


@pytest.mark.django_db
def test_model_status_answers_200_with_every_model_loaded(api_client, ai_models):
    response = api_client.get("/api/model-status")

    assert response.status_code == 200
    body = response.json()
    assert body["models_available"] is True
    assert set(body["models"]) == set(registry.MODELS)
    for name, entry in body["models"].items():
        assert entry["loaded"] is True
        assert entry["version"] == registry.versions()[name]
        assert entry["error"] is None
    assert body["models"]["quality_predictor"]["kind"] == "predictor"
    assert body["memory_report"]["current_memory_mb"] > 10
    assert body["memory_report"]["worker_processes"] >= 1


@pytest.mark.django_db
def test_model_status_answers_503_when_a_model_is_missing(api_client, ai_models):
    ai_models.remove("quality_predictor")

    response = api_client.get("/api/model-status")

    assert response.status_code == 503
    body = response.json()
    assert body["models_available"] is False
    assert body["models"]["quality_predictor"]["loaded"] is False
    assert body["models"]["quality_predictor"]["version"] is None
    assert "removed for this test" in body["models"]["quality_predictor"]["error"]
    assert body["models"]["logo_type"]["loaded"] is True


@pytest.mark.django_db
def test_model_status_reports_cache_stats(api_client, upload_file_id, ai_models):
    before = api_client.get("/api/model-status").json()["cache_stats"]
    for _ in range(2):
        api_client.post("/api/convert-ai", {"file_id": upload_file_id, "tier": 1}, format="json")

    stats = api_client.get("/api/model-status").json()["cache_stats"]

    assert set(stats) == {"hits", "misses", "size", "maxsize"}
    assert stats["misses"] == before["misses"] + 1
    assert stats["hits"] == before["hits"] + 1
    assert 1 <= stats["size"] <= stats["maxsize"]


@pytest.mark.django_db
def test_model_status_reports_model_memory_of_real_nets(api_client, ai_models, tmp_path):
    from tests.aimodels.test_registry import tiny_predictor

    ai_models.install("quality_predictor", tiny_predictor(0))

    body = api_client.get("/api/model-status").json()

    assert body["memory_report"]["models_memory_mb"] > 0
