"""GET /api/conversions/: the stored history, its filters, one record and its SVG."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from conversions.models import Conversion


def ids(response) -> set[str]:
    return {row["conversion_id"] for row in response.json()["results"]}


@pytest.fixture
def staff_client(api_client, admin_user):
    # A list shows the caller's own records; staff see every one (tests/operations: owners).
    api_client.force_authenticate(admin_user)
    return api_client


@pytest.mark.django_db
def test_conversion_list_is_paginated_newest_first(staff_client, make_conversion, monkeypatch):
    # DRF reads PAGE_SIZE into a class attribute at import: a settings override comes too late.
    monkeypatch.setattr("rest_framework.pagination.PageNumberPagination.page_size", 2)
    made = [make_conversion() for _ in range(3)]

    first = staff_client.get("/api/conversions/").json()
    second = staff_client.get(first["next"]).json()

    assert first["count"] == 3
    assert [row["conversion_id"] for row in first["results"] + second["results"]] == [
        str(c.id) for c in reversed(made)
    ]
    assert "svg" not in first["results"][0]  # the list stays light; the detail has the markup


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=ai", {"ai"}),
        ("tier=2", {"ai"}),
        ("status=failed", {"failed"}),
        ("kind=legacy", {"ok", "failed"}),
    ],
)
def test_conversion_list_filters(staff_client, make_conversion, query, expected):
    made = {
        "ok": make_conversion(),
        "failed": make_conversion(status=Conversion.Status.FAILED, error="boom", svg=""),
        "ai": make_conversion(kind=Conversion.Kind.AI, tier=2, requested_tier="auto"),
    }

    response = staff_client.get(f"/api/conversions/?{query}")

    assert response.status_code == 200
    assert ids(response) == {str(made[name].id) for name in expected}


@pytest.mark.django_db
def test_conversion_list_filters_by_date(staff_client, make_conversion):
    old, new = make_conversion(), make_conversion()
    Conversion.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    today = timezone.now().date().isoformat()

    response = staff_client.get(f"/api/conversions/?date={today}")

    assert ids(response) == {str(new.id)}


@pytest.mark.django_db
def test_conversion_list_refuses_bad_filter_value(api_client):
    response = api_client.get("/api/conversions/?status=maybe")

    assert response.status_code == 400
    assert response.json()["error"].startswith("status: ")


@pytest.mark.django_db
def test_conversion_detail_has_svg_and_measurements(api_client, make_conversion):
    conversion = make_conversion(ssim=0.97, path_count=5)

    response = api_client.get(f"/api/conversions/{conversion.id}/")

    assert response.status_code == 200
    body = response.json()
    assert body["svg"] == conversion.svg
    assert (body["ssim"], body["path_count"], body["status"]) == (0.97, 5, "succeeded")
    assert body["svg_url"] == f"/api/conversions/{conversion.id}/svg"
    assert {"decode_ms", "trace_ms", "measure_ms", "total_ms", "parameters"} <= set(body)


@pytest.mark.django_db
def test_conversion_detail_of_unknown_id_is_json_404(api_client):
    response = api_client.get("/api/conversions/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
    assert response.json()["success"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("suffix", ["svg", "svg/"])
def test_conversion_svg_downloads_as_named_attachment(api_client, make_conversion, suffix):
    conversion = make_conversion()
    conversion.upload.original_name = "My Logo (final).png"
    conversion.upload.save()

    response = api_client.get(f"/api/conversions/{conversion.id}/{suffix}")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == 'attachment; filename="My_Logo__final_.svg"'
    assert response.content.decode() == conversion.svg


@pytest.mark.django_db
def test_conversion_svg_of_failed_conversion_is_404(api_client, make_conversion):
    conversion = make_conversion(status=Conversion.Status.FAILED, error="vtracer failed", svg="")

    response = api_client.get(f"/api/conversions/{conversion.id}/svg")

    assert response.status_code == 404
    assert "vtracer failed" in response.json()["error"]


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(api_client):
    response = api_client.get("/api/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "No such endpoint: /api/no-such-thing. See /api/docs/.",
    }


@pytest.mark.django_db
def test_schema_is_openapi_3(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/upload", "/api/convert", "/api/conversions/"} <= set(schema["paths"])


@pytest.mark.django_db
def test_docs_page_uses_local_static_assets(api_client):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode().lower()
    assert "/static/drf_spectacular_sidecar/" in page
    # Only the page's links count: the CSRF token is random text that may spell "cdn".
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page)
    assert links
    for cdn in ("cdn", "unpkg", "jsdelivr"):
        assert not [link for link in links if cdn in link]
