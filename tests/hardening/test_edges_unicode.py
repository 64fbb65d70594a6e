"""Lone UTF-16 surrogates ("\\ud800" in JSON) are refused with a 400, on every endpoint and field.

JSON's escapes can spell half a surrogate pair; echoed in an error message it used to fail the
UTF-8 encoding of the answer with a 500.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from conversions.serializers.requests import AIConvertRequestSerializer, ConvertRequestSerializer

LONE = "\\ud800"  # as the JSON text spells it: a JSON escape, not a Python character
SOME_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"  # names no upload
FIELDS = {
    "/api/convert": sorted(ConvertRequestSerializer().fields),
    "/api/convert-ai": sorted(AIConvertRequestSerializer().fields),
}
CASES = [(path, field) for path, fields in FIELDS.items() for field in fields]
# Every route that accepts a POST body, with any placeholder filled.
POST_PATHS = [
    "/api/upload",
    "/api/convert",
    "/api/convert-ai",
    "/api/batches",
    f"/api/batches/{SOME_ID}/cancel",
]


@pytest.fixture
def client() -> APIClient:
    """Return a client that answers server errors with their 500 instead of raising them."""
    return APIClient(raise_request_exception=False)


def post_text(client: APIClient, path: str, text: str):
    return client.generic("POST", path, text, content_type="application/json")


def assert_refused(response) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = json.loads(response.content)  # valid UTF-8 JSON, whatever was sent
    assert body["success"] is False
    return body


def test_the_sweep_covers_the_reported_fields():
    assert {"file_id", "converter", "colormode", "hierarchical", "mode"} <= set(
        FIELDS["/api/convert"]
    )
    assert "file_id" in FIELDS["/api/convert-ai"]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "field"), CASES)
def test_lone_surrogate_in_any_field_answers_400(client, path, field):
    text = f'{{"file_id": "{SOME_ID}", "{field}": "{LONE}"}}'

    body = assert_refused(post_text(client, path, text))

    assert "surrogate" in body["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize(
    "text",
    [
        f'{{"{LONE}": 1}}',
        f'{{"file_id": "{SOME_ID}", "x": ["a", {{"b": "{LONE}"}}]}}',
        f'{{"file_id": "ok\\udfff{LONE}"}}',  # a low half before the high one: still unpaired
    ],
    ids=["key", "nested", "reversed-pair"],
)
def test_lone_surrogate_anywhere_in_a_body_answers_4xx_json(client, path, text):
    response = post_text(client, path, text)

    # Endpoints that take no JSON refuse it with 415 first, those that read no body answer as
    # usual (a 404 for an unknown batch); none answers 5xx.
    assert response.status_code in (400, 404, 415), (response.status_code, response.content[:300])
    assert json.loads(response.content)["success"] is False


@pytest.mark.django_db
def test_a_complete_surrogate_pair_is_ordinary_text(client):
    # "\ud83d\ude00" is one emoji: valid text, refused only as an unknown upload.
    response = post_text(client, "/api/convert", '{"file_id": "\\ud83d\\ude00"}')

    assert response.status_code == 404, response.content[:300]
    assert "\U0001f600" in response.json()["error"]
