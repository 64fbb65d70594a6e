"""Every route answers a method it does not serve with a JSON 405 and an Allow header.

/health/ and /metrics answered PUT, POST and DELETE with Django's HTML CSRF page, and TRACE
/metrics with the metrics themselves. The sweep walks every route of the URL map (the admin, a
Django application with its own pages and login, aside) and every method.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

SOME_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def _routes(patterns, prefix: str = "") -> list[str]:
    """Return one concrete path for every route, placeholders filled with an id."""
    paths: list[str] = []
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                continue
            paths += _routes(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            paths.append("/" + _concrete(prefix + route))
    return sorted(set(paths))


def _concrete(route: str) -> str:
    """Return a route with its converters and regex groups replaced by an id."""
    route = route.replace("<uuid:pk>", SOME_ID).replace("(?P<pk>[0-9a-fA-F-]{36})", SOME_ID)
    route = route.replace("(?P<pk>[0-9a-f-]{36})", SOME_ID)
    return route.replace("^", "").replace("$", "").replace("/?", "/").replace("\\", "")


ROUTES = _routes(get_resolver().url_patterns)


def test_the_sweep_finds_every_route_family():
    expected = {"/", "/favicon.ico", "/health/", "/metrics", "/api/convert", "/api/schema/"}
    expected |= {f"/api/batches/{SOME_ID}/cancel/", f"/api/conversions/{SOME_ID}/svg/"}

    assert expected <= set(ROUTES), ROUTES


def call(client: Client, method: str, path: str):
    return client.generic(method, path, b"", content_type="application/json")


def assert_json_405(response, method: str, path: str) -> set[str]:
    """Assert a JSON 405 in the API's shape with an Allow header; return the allowed methods."""
    where = f"{method} {path}"
    assert response.status_code == 405, (where, response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json"), (where, response.content[:200])
    if method != "HEAD":
        body = json.loads(response.content)
        assert body["success"] is False, where
        assert body["error"], where
    allowed = {m.strip() for m in response["Allow"].split(",") if m.strip()}
    assert allowed, where
    assert method not in allowed, where
    return allowed


@pytest.mark.django_db
@pytest.mark.parametrize("path", ROUTES)
def test_every_route_answers_unserved_methods_with_a_json_405(path):
    # A browser-like client: CSRF checks on, as Django applies them to a real request.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)

    allowed = assert_json_405(call(client, "TRACE", path), "TRACE", path)

    for method in METHODS:
        response = call(client, method, path)
        # 503 is a documented answer (health without models); no route may answer 500.
        assert response.status_code != 500, (method, path, response.content[:200])
        if method in allowed:
            assert response.status_code != 405, (method, path)
        else:
            assert_json_405(response, method, path)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH", "TRACE"])
@pytest.mark.parametrize("path", ["/health/", "/metrics"])
def test_health_and_metrics_refuse_writes_with_json_not_a_csrf_page(path, method):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)

    response = call(client, method, path)

    assert_json_405(response, method, path)
    assert b"svgai_" not in response.content  # no metrics on TRACE
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}


@pytest.mark.django_db
def test_health_and_metrics_still_answer_get():
    client = Client(raise_request_exception=False)

    assert client.get("/metrics").status_code == 200  # the test client calls from 127.0.0.1
    assert client.get("/health/?format=json").status_code in (200, 503)
