"""What schemathesis (--checks all, 200 examples) found: requests the schema forbids were accepted,
and ones it allows were refused. Each case answers as the published schema says."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def client() -> APIClient:
    return APIClient(raise_request_exception=False)


@pytest.mark.django_db
def test_quality_report_refuses_an_empty_since(client):
    response = client.get("/api/reports/quality?since=")

    assert response.status_code == 400
    assert "since" in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["status=", "created_after=", "kind=", "tier=", "date=", "tier=0.5"]
)
def test_conversion_list_refuses_empty_typed_filters(client, query):
    response = client.get(f"/api/conversions/?{query}")

    assert response.status_code == 400, response.content
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_conversion_list_still_takes_an_empty_text_filter(client):
    assert client.get("/api/conversions/?logo_type=").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1, "yes", "1", None])
def test_convert_ai_refuses_a_non_boolean_include_analysis(client, value):
    body = {"file_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "include_analysis": value}

    response = client.post("/api/convert-ai", body, format="json")

    assert response.status_code == 400, response.content
    assert "include_analysis" in response.json()["errors"]


@pytest.mark.django_db
def test_schema_documents_what_the_api_accepts(client):
    schema = client.get("/api/schema/?format=json").json()

    page = next(
        p for p in schema["paths"]["/api/conversions/"]["get"]["parameters"] if p["name"] == "page"
    )
    assert page["schema"]["minimum"] == 1
    assert page["schema"]["maximum"] == 999_999_999  # longer numbers answer 400
    upload = schema["paths"]["/api/upload"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data"}
