"""POST /api/convert: the legacy contract, parameter validation, and every outcome stored."""

from __future__ import annotations

import uuid

import pytest

from conversions.models import Conversion, Upload

CONVERT_FIELDS = {"success", "svg", "ssim", "processing_time", "file_size", "path_count",
                  "conversion_id", "download_url", "design"}  # fmt: skip


def post_convert(api_client, payload: dict):
    return api_client.post("/api/convert", payload, format="json")


@pytest.mark.django_db
def test_convert_answers_exactly_the_contract(api_client, upload_file_id):
    response = post_convert(api_client, {"file_id": upload_file_id})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == CONVERT_FIELDS  # no ai_metadata, no tier_used
    assert body["success"] is True
    assert body["svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128"')
    assert body["ssim"] > 0.9
    assert body["file_size"] == len(body["svg"].encode())
    assert body["path_count"] == body["svg"].count("<path")
    assert body["processing_time"] > 0


@pytest.mark.django_db
def test_convert_stores_succeeded_conversion_with_timings(api_client, upload_file_id):
    body = post_convert(
        api_client, {"file_id": upload_file_id, "mode": "polygon", "filter_speckle": 8}
    ).json()

    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert conversion.status == Conversion.Status.SUCCEEDED
    assert conversion.kind == Conversion.Kind.LEGACY
    assert str(conversion.upload_id) == upload_file_id
    assert conversion.parameters["mode"] == "polygon"
    assert conversion.parameters["filter_speckle"] == 8
    assert conversion.parameters["path_precision"] == 2
    assert conversion.svg == body["svg"]
    assert (conversion.svg_bytes, conversion.path_count) == (body["file_size"], body["path_count"])
    assert conversion.ssim == pytest.approx(body["ssim"])
    for timing in ("decode_ms", "trace_ms", "measure_ms", "total_ms"):
        assert getattr(conversion, timing) > 0, timing
    assert conversion.total_ms >= conversion.trace_ms


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"color_precision": 9}, "color_precision: must be a number from 1 to 8."),
        ({"mode": "splines"}, "mode: must be one of spline, polygon, none; got splines."),
        ({"filter_speckle": -1}, "filter_speckle: must be a number from 0 to 128."),
        ({"length_threshold": "long"}, "length_threshold: must be a number from 0.0 to 64.0."),
        ({"colour_precision": 6}, "colour_precision: is not an option here"),
        ({"converter": "potrace"}, "converter: must be 'vtracer'"),
    ],
)
def test_convert_refuses_invalid_params_naming_field_and_range(
    api_client, upload_file_id, params, message
):
    response = post_convert(api_client, {"file_id": upload_file_id, **params})

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"].startswith(message)
    assert Conversion.objects.count() == 0


@pytest.mark.django_db
def test_convert_answers_404_for_file_id_that_is_not_a_uuid(api_client):
    # Any string naming no upload is "no such file", as the clients' own tests expect.
    response = post_convert(api_client, {"file_id": "logo.png"})

    assert response.status_code == 404
    assert response.json()["error"].startswith("No such file: no upload has file_id logo.png")


@pytest.mark.django_db
def test_convert_without_file_id_says_how_to_get_one(api_client):
    response = post_convert(api_client, {})

    assert response.status_code == 400
    assert "POST /api/upload" in response.json()["error"]


@pytest.mark.django_db
def test_convert_answers_404_for_unknown_file_id(api_client):
    file_id = uuid.uuid4()

    response = post_convert(api_client, {"file_id": str(file_id)})

    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert str(file_id) in body["error"]


@pytest.mark.django_db
def test_convert_answers_400_json_to_malformed_json(api_client):
    response = api_client.post("/api/convert", data='{"file_id": ', content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert "JSON parse error" in body["error"]


@pytest.mark.django_db
def test_convert_stores_failure_of_corrupted_stored_file(api_client, upload_file_id):
    upload = Upload.objects.get(pk=upload_file_id)
    with open(upload.file.path, "r+b") as handle:
        handle.truncate(60)  # the stored PNG loses its pixel data after the upload

    response = post_convert(api_client, {"file_id": upload_file_id})

    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert "damaged or truncated" in body["error"]
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert conversion.status == Conversion.Status.FAILED
    assert conversion.error == body["error"]
    assert conversion.parameters["color_precision"] == 6
    assert conversion.total_ms > 0
    assert conversion.svg == ""


@pytest.mark.django_db
def test_convert_stores_failure_when_tracing_times_out(api_client, upload_file_id, settings):
    settings.SVGAI_CONVERT_TIMEOUT = 0.001

    response = post_convert(api_client, {"file_id": upload_file_id})

    assert response.status_code == 422
    body = response.json()
    assert "longer than 0.001 s" in body["error"]
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert conversion.status == Conversion.Status.FAILED
    assert conversion.total_ms is not None
