"""What Swagger UI's "Try it out" sends: the batch form as prefilled, path ids, error examples.

Swagger fills every form field from the schema, so a batch arrives with converter ai, the AI
options and every vtracer parameter at its default. tests/browser/test_swagger.py drives the
real Swagger UI; these check the same contract without a browser.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conversions.models import Batch
from vectorizer.tracing import DEFAULT_PARAMS

pytestmark = pytest.mark.django_db

AI_FORM = {"converter": "ai", "tier": "auto", "target_quality": 0.9}


def _files(logos):
    return [SimpleUploadedFile(name, data) for name, data in logos.items()]


def test_batch_takes_swaggers_form_with_every_vtracer_parameter_at_its_default(
    api_client, inline_batches, logos
):
    schema = api_client.get("/api/schema/?format=json").json()
    form = schema["components"]["schemas"]["BatchRequestRequest"]["properties"]
    prefilled = {**AI_FORM, **DEFAULT_PARAMS.as_dict()}
    prefilled.update({name: form[name]["example"] for name in ("time_budget", "max_bytes")})

    response = api_client.post(
        "/api/batches", {"files": _files(logos), **prefilled}, format="multipart"
    )

    assert response.status_code == 202, response.content
    assert Batch.objects.get().kind == "ai"


def test_vtracer_batch_takes_ai_options_at_their_defaults(api_client, inline_batches, logos):
    form = {"converter": "vtracer", "tier": "auto", "target_quality": 0.9, "color_precision": 4}

    response = api_client.post("/api/batches", {"files": _files(logos), **form}, format="multipart")

    assert response.status_code == 202, response.content
    assert Batch.objects.get().options["params"]["color_precision"] == 4


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({**AI_FORM, "color_precision": 7}, "color_precision"),
        ({"converter": "vtracer", "target_quality": 0.5}, "target_quality"),
    ],
)
def test_batch_still_refuses_an_option_the_converter_would_ignore(
    api_client, inline_batches, logos, form, field
):
    response = api_client.post("/api/batches", {"files": _files(logos), **form}, format="multipart")

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_schema_prefills_ordinary_values_not_extremes(api_client):
    schema = api_client.get("/api/schema/?format=json").json()

    components = schema["components"]["schemas"]
    for name in ("AIConvertRequestRequest", "BatchRequestRequest"):
        props = components[name]["properties"]
        assert props["time_budget"]["example"] <= 10  # the anonymous cap
        assert props["max_bytes"]["example"] < props["max_bytes"]["maximum"]
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["example"], (path, parameter)


def test_error_bodies_document_success_as_always_false(api_client):
    schema = api_client.get("/api/schema/?format=json").json()

    components = schema["components"]["schemas"]
    for name in ("Error", "UnavailableError", "ConversionFailed"):
        assert components[name]["properties"]["success"] == {
            "type": "boolean",
            "enum": [False],
            "example": False,
            "description": "Always false.",
        }
    assert "SuccessEnum" not in components
