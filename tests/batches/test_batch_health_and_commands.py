"""The broker in /health/ and /api/ai-health, a broker that is away, and convert_folder."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from conversions import tasks
from conversions.models import Batch, BatchItem, Conversion
from tests.conftest import draw_logo

pytestmark = pytest.mark.django_db

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(autouse=True)
def _fresh_broker_status(monkeypatch):
    monkeypatch.setattr(tasks, "_status_cache", None)


def test_health_reports_the_local_pool_without_a_broker(api_client, settings):
    settings.CELERY_BROKER_URL = ""

    health = api_client.get("/health/?format=json", HTTP_ACCEPT="application/json").json()
    ai = api_client.get("/api/ai-health").json()

    assert health["BrokerCheck(runner='local')"] == "OK"
    assert ai["components"]["batches"]["status"] == "local"
    assert ai["components"]["batches"]["configured"] is False


def test_health_fails_when_the_broker_is_unreachable(api_client, settings):
    settings.CELERY_BROKER_URL = UNREACHABLE

    response = api_client.get("/health/?format=json", HTTP_ACCEPT="application/json")
    ai = api_client.get("/api/ai-health").json()

    assert response.status_code == 503
    assert "batch broker unreachable" in response.json()["BrokerCheck(runner='celery')"]
    assert ai["components"]["batches"]["status"] == "unreachable"
    assert ai["overall_status"] != "healthy"
    assert any("broker is unreachable" in r for r in ai["recommendations"])


def test_a_batch_the_broker_cannot_take_answers_503_and_is_marked_failed(api_client, settings):
    settings.CELERY_BROKER_URL = UNREACHABLE
    files = [SimpleUploadedFile("a.png", draw_logo())]

    response = api_client.post("/api/batches", {"files": files, "tier": 1}, format="multipart")

    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert "could not be queued" in body["error"]
    batch = Batch.objects.get(pk=body["batch_id"])
    assert batch.status == Batch.Status.FAILED
    assert "broker could not take the items" in batch.error
    assert batch.items.get().status == BatchItem.Status.CANCELLED


def test_convert_folder_writes_svgs_and_the_report(tmp_path, inline_batches):
    folder = tmp_path / "logos"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(draw_logo(64))
    (folder / "sub" / "b.png").write_bytes(draw_logo(48))
    (folder / "notes.txt").write_text("not an image, not even looked at")
    out = io.StringIO()

    call_command("convert_folder", str(folder), "-r", "--set", "filter_speckle=8", stdout=out)

    assert "2 converted, 0 failed, 0 refused" in out.getvalue()
    assert (folder / "svg" / "a.svg").read_text().startswith("<svg")
    assert (folder / "svg" / "sub" / "b.svg").read_text().startswith("<svg")
    rows = list(csv.DictReader((folder / "svg" / "report.csv").open()))
    assert [(r["name"], r["status"]) for r in rows] == [("a.png", "done"), ("sub/b.png", "done")]
    conversion = Conversion.objects.get(pk=rows[0]["conversion_id"])
    assert conversion.parameters["filter_speckle"] == 8


def test_convert_folder_applies_the_design_options(tmp_path, inline_batches):
    folder = tmp_path / "logos"
    folder.mkdir()
    (folder / "a.png").write_bytes(draw_logo(64))

    call_command(
        "convert_folder", str(folder), "--set", "filter_speckle=8", "--palette", "#102030",
        "--shape-stacking", "cutouts", stdout=io.StringIO(),
    )  # fmt: skip

    conversion = Conversion.objects.get()
    assert (conversion.palette, conversion.shape_stacking) == (["#102030"], "cutouts")
    svg = (folder / "svg" / "a.svg").read_text()
    assert set(re.findall(r'fill="(#[0-9a-f]{6})"', svg)) == {"#102030"}


def test_convert_folder_refuses_a_folder_without_images(tmp_path, inline_batches):
    with pytest.raises(CommandError, match="holds no PNG"):
        call_command("convert_folder", str(tmp_path))
