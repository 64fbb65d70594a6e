"""The batch API: submit images or a zip, follow the batch, cancel it, download SVGs and CSV."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from aimodels import registry
from conversions.models import Batch, BatchItem, Conversion
from tests.batches.conftest import make_zip
from tests.conftest import draw_logo

pytestmark = pytest.mark.django_db


def as_files(members: dict[str, bytes]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, data) for name, data in members.items()]


def post_batch(api_client, files, **options):
    return api_client.post("/api/batches", {"files": files, **options}, format="multipart")


def test_post_files_answers_202_and_the_batch_converts_them(api_client, inline_batches, logos):
    response = post_batch(api_client, as_files(logos), tier=1)

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["success"] is True
    assert body["items"] == 3
    assert body["status_url"] == f"/api/batches/{body['batch_id']}"
    assert body["refused"] == []
    status = api_client.get(body["status_url"]).json()
    assert status["status"] == "done"
    assert status["counts"] == {"queued": 0, "running": 0, "done": 3, "failed": 0, "cancelled": 0}
    assert status["progress"] == 100.0
    assert status["options"]["tier"] == 1
    assert status["throughput"]["items_per_minute"] > 0
    assert [item["name"] for item in status["items"]] == list(logos)
    for item in status["items"]:
        assert item["status"] == "done"
        assert item["tier"] == 1
        assert 0.5 < item["ssim"] <= 1.0
        assert item["bytes"] > 0
        assert item["time"] > 0
        assert item["error"] is None
        conversion = Conversion.objects.get(pk=item["conversion_id"])
        assert str(conversion.batch_item.pk) == item["item_id"]


def test_items_say_when_their_result_is_degraded(api_client, inline_batches, logos):
    # 256 B (the least max_bytes takes) is smaller than any trace of these logos.
    body = post_batch(api_client, as_files(logos), tier=1, max_bytes=256).json()

    items = api_client.get(body["status_url"]).json()["items"]

    for item in items:
        assert item["status"] == "done"
        assert item["bytes"] > 256
        assert [p for p in item["problems"] if p.startswith("max_bytes not met: 256 B asked")]
    plain = post_batch(api_client, as_files(logos), tier=1).json()
    assert all(i["problems"] == [] for i in api_client.get(plain["status_url"]).json()["items"])


def test_items_are_ordinary_conversion_records(api_client, inline_batches, logos):
    body = post_batch(api_client, as_files(logos), converter="vtracer", filter_speckle=8).json()

    listed = api_client.get("/api/conversions/").json()

    ids = {str(item.conversion_id) for item in BatchItem.objects.filter(batch_id=body["batch_id"])}
    assert ids <= {row["conversion_id"] for row in listed["results"]}
    conversion = Conversion.objects.get(pk=next(iter(ids)))
    assert conversion.kind == Conversion.Kind.LEGACY
    assert conversion.parameters["filter_speckle"] == 8


def test_post_zip_refuses_bad_members_one_by_one(api_client, inline_batches, logos):
    data = make_zip({**logos, "notes.txt": b"not an image", "../up.png": logos["logo-48.png"]})

    response = post_batch(api_client, [SimpleUploadedFile("logos.zip", data)], tier=1)

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["items"] == 3
    refused = {r["name"]: r["reason"] for r in body["refused"]}
    assert set(refused) == {"notes.txt", "../up.png"}
    status = api_client.get(body["status_url"]).json()
    assert status["refused"] == body["refused"]
    assert status["counts"]["done"] == 3


def test_download_holds_every_svg_under_its_name_and_a_csv_report(
    api_client, inline_batches, logos
):
    data = make_zip({"icons/a.png": logos["logo-48.png"], "b.png": logos["logo-64.png"],
                     "b.jpg": logos["logo-96.png"], "bad.png": b"nope"})  # fmt: skip
    body = post_batch(api_client, [SimpleUploadedFile("logos.zip", data)], tier=1).json()

    response = api_client.get(body["download_url"])

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["b-2.svg", "b.svg", "icons/a.svg", "report.csv"]
    for name in ("b-2.svg", "b.svg", "icons/a.svg"):
        assert archive.read(name).startswith(b"<svg")
    rows = list(csv.DictReader(io.StringIO(archive.read("report.csv").decode())))
    assert [r["name"] for r in rows] == ["icons/a.png", "b.png", "b.jpg", "bad.png"]
    assert rows[0]["status"] == "done"
    assert rows[0]["tier"] == "1"
    assert 0.5 < float(rows[0]["measured_ssim"]) <= 1
    record = Conversion.objects.get(pk=rows[0]["conversion_id"])
    assert rows[0]["predicted_ssim"] == (
        f"{record.predicted_ssim:.4f}" if record.predicted_ssim is not None else ""
    )
    assert int(rows[0]["bytes"]) > 0
    assert float(rows[0]["time_s"]) > 0
    assert rows[0]["svg"] == "icons/a.svg"
    assert rows[3]["status"] == "refused"
    assert "not an image" in rows[3]["error"]
    assert set(rows[0]) >= {"name", "status", "tier", "measured_ssim", "predicted_ssim",
                            "bytes", "time_s", "error"}  # fmt: skip


def test_cancel_stops_queued_items(api_client, inline_batches, monkeypatch, logos):
    from conversions.batches import lifecycle
    from conversions.batches.runner import Outcome, run_item

    monkeypatch.setattr(lifecycle, "dispatch", lambda batch: None)  # never run: every item waits
    body = post_batch(api_client, as_files(logos), tier=1).json()
    batch = Batch.objects.get(pk=body["batch_id"])

    response = api_client.post(f"/api/batches/{batch.pk}/cancel")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["counts"]["cancelled"] == 3
    assert body["finished_at"] is not None
    assert run_item(batch.items.first().pk) == Outcome.SKIPPED
    again = api_client.post(f"/api/batches/{batch.pk}/cancel")
    assert again.status_code == 200


def test_cancel_of_a_finished_batch_is_refused(api_client, inline_batches, logos):
    body = post_batch(api_client, as_files(logos), tier=1).json()

    response = api_client.post(f"/api/batches/{body['batch_id']}/cancel")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert "done already" in response.json()["error"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "files", "is required"),
        ({"tier": 1, "filter_speckle": 8}, "filter_speckle", "vtracer parameter"),
        ({"converter": "vtracer", "tier": 2}, "tier", "AI option"),
        ({"tier": 7}, "tier", 'must be "auto"'),
        ({"colour": "red"}, "colour", "is not an option"),
    ],
)
def test_post_refuses_bad_requests_in_the_api_shape(
    api_client, inline_batches, logos, data, field, message
):
    files = {"files": as_files(logos)} if field != "files" else {}

    response = api_client.post("/api/batches", {**files, **data}, format="multipart")

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert message in body["error"]
    assert field in body["errors"]
    assert Batch.objects.count() == 0


def test_an_ai_batch_without_the_quality_predictor_answers_503_and_stores_nothing(api_client):
    with registry.override():
        registry.remove("quality_predictor", "quality_predictor removed for this test")
        response = post_batch(api_client, [SimpleUploadedFile("a.png", draw_logo())])

    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "error": "AI conversion is unavailable: the quality predictor is not loaded. Send "
        "converter 'vtracer' for a legacy batch.",
    }
    assert Batch.objects.count() == 0


def test_post_with_nothing_convertible_is_refused_with_each_reason(api_client, inline_batches):
    files = [SimpleUploadedFile("a.txt", b"hello"), SimpleUploadedFile("b.png", b"\x89PNG junk")]

    response = post_batch(api_client, files)

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert "No image in the request can be converted" in body["error"]
    assert len(body["errors"]["files"]) == 2
    assert body["errors"]["files"][0].startswith("a.txt: ")


def test_post_refuses_more_bytes_than_a_batch_takes(api_client, inline_batches, settings, logos):
    settings.SVGAI_BATCH_MAX_BYTES = 100

    response = post_batch(api_client, as_files(logos))

    assert response.status_code == 400
    assert "a batch takes at most 100" in response.json()["error"]


def test_unknown_batch_is_a_json_404(api_client):
    for path in (
        "/api/batches/00000000-0000-0000-0000-000000000000",
        "/api/batches/------------------------------------",
        "/api/batches/00000000-0000-0000-0000-000000000000/download",
    ):
        response = api_client.get(path)
        assert response.status_code == 404, path
        assert "POST /api/batches" in response.json()["error"]


def test_list_shows_the_callers_batches_without_items(api_client, inline_batches, logos):
    body = post_batch(api_client, as_files(logos), tier=1).json()

    listed = api_client.get("/api/batches").json()

    assert [b["batch_id"] for b in listed["results"]] == [body["batch_id"]]
    assert "items" not in listed["results"][0]


def test_images_over_the_tiers_pixel_budget_are_refused_one_by_one(
    api_client, inline_batches, settings, logos
):
    settings.SVGAI_PIXEL_BUDGETS = {**settings.SVGAI_PIXEL_BUDGETS, "1": 60 * 60}

    body = post_batch(api_client, as_files(logos), tier=1).json()

    assert body["items"] == 1
    refused = {r["name"]: r["reason"] for r in body["refused"]}
    assert set(refused) == {"logo-64.png", "logo-96.png"}
    assert "downscaled" in refused["logo-96.png"]


def test_batch_uploads_count_against_the_callers_upload_quota(
    api_client, inline_batches, settings, logos
):
    body = post_batch(api_client, as_files(logos), tier=1).json()
    item = BatchItem.objects.filter(batch_id=body["batch_id"]).select_related("upload").first()
    assert item.upload.quota_key
    settings.SVGAI_UPLOAD_QUOTA_BYTES = item.upload.size_bytes

    response = post_batch(api_client, as_files(logos), tier=1)

    assert response.status_code == 429
    assert "Upload quota reached" in response.json()["error"]


def test_an_anonymous_batch_keeps_to_the_anonymous_time_budget(
    api_client, inline_batches, logos, settings, django_user_model
):
    # A budget holds a worker for every item of a batch: the anonymous cap of /api/convert-ai
    # holds here too, and a user with a token keeps the schema's range.
    settings.SVGAI_ANON_MAX_TIME_BUDGET = 10.0

    anonymous = post_batch(api_client, as_files(logos), tier=1, time_budget=30)

    assert anonymous.status_code == 400, anonymous.content
    assert "at most 10 seconds without a token" in anonymous.json()["error"]
    assert Batch.objects.count() == 0
    user = django_user_model.objects.create_user("batcher", password="a long unusual phrase")
    api_client.force_authenticate(user)
    assert post_batch(api_client, as_files(logos), tier=1, time_budget=30).status_code == 202


def test_batch_design_options_reach_every_item(api_client, inline_batches, logos):
    response = post_batch(
        api_client, as_files(logos), converter="vtracer", max_colors=1, group_by="color"
    )

    assert response.status_code == 202, response.content
    status = api_client.get(response.json()["status_url"]).json()
    assert status["options"]["design"]["max_colors"] == 1
    for item in status["items"]:
        conversion = Conversion.objects.get(pk=item["conversion_id"])
        assert (conversion.max_colors, conversion.group_by) == (1, "color")
        assert conversion.svg.count('<g id="color-') == 1


def test_batch_refuses_a_design_option_out_of_range(api_client, inline_batches, logos):
    response = post_batch(api_client, as_files(logos), shape_stacking="overlap")

    assert response.status_code == 400
    assert "shape_stacking" in response.json()["errors"]
