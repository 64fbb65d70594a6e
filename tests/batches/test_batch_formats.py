"""A batch's formats and output size: validated, stored, one file per item per format in its ZIP."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import ezdxf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from conversions.batches import BatchOptions, create_batch
from conversions.batches.export import write_folder
from conversions.batches.runner import run_item
from conversions.models import Batch, Conversion
from tests.batches.conftest import make_zip
from vectorizer.exports import OutputSize

pytestmark = pytest.mark.django_db


def post_batch(api_client, files, **options):
    return api_client.post("/api/batches", {"files": files, **options}, format="multipart")


def download(api_client, body) -> zipfile.ZipFile:
    response = api_client.get(body["download_url"])
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def report(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read("report.csv").decode())))


def test_batch_zip_holds_one_file_per_item_per_format(api_client, inline_batches, logos):
    data = make_zip({"icons/a.png": logos["logo-48.png"], "b.png": logos["logo-64.png"]})
    files = [SimpleUploadedFile("logos.zip", data)]

    body = post_batch(api_client, files, converter="vtracer", formats="svg,pdf,png,eps,dxf").json()

    archive = download(api_client, body)
    assert sorted(archive.namelist()) == sorted(
        [
            f"{stem}.{fmt}"
            for stem in ("icons/a", "b")
            for fmt in ("svg", "pdf", "png", "eps", "dxf")
        ]
        + ["report.csv"]
    )
    assert archive.read("b.svg").startswith(b"<svg")
    assert archive.read("b.pdf").startswith(b"%PDF")
    assert archive.read("b.eps").startswith(b"%!PS-Adobe")
    assert Image.open(io.BytesIO(archive.read("b.png"))).size == (64, 64)
    doc = ezdxf.read(io.StringIO(archive.read("icons/a.dxf").decode()))
    assert len(doc.modelspace()) > 0
    rows = report(archive)
    assert rows[0]["files"] == "icons/a.svg icons/a.pdf icons/a.png icons/a.eps icons/a.dxf"
    assert rows[0]["svg"] == "icons/a.svg"
    status = api_client.get(body["status_url"]).json()
    assert status["options"]["formats"] == ["svg", "pdf", "png", "eps", "dxf"]


def test_batch_without_svg_in_its_formats_leaves_it_out(api_client, inline_batches, logos):
    files = [SimpleUploadedFile("a.png", logos["logo-48.png"])]

    body = post_batch(api_client, files, converter="vtracer", formats=["png", "pdf"]).json()

    archive = download(api_client, body)
    assert sorted(archive.namelist()) == ["a.pdf", "a.png", "report.csv"]
    rows = report(archive)
    assert rows[0]["svg"] == ""
    assert rows[0]["files"] == "a.png a.pdf"


def test_batch_output_size_sizes_every_svg_pdf_and_png(api_client, inline_batches, logos):
    files = [SimpleUploadedFile(name, data) for name, data in logos.items()]
    size = {"width": 2, "unit": "in", "dpi": 150}

    body = post_batch(
        api_client, files, tier=1, formats="svg,pdf,png", output_size=json.dumps(size)
    ).json()

    archive = download(api_client, body)
    for stem in ("logo-48", "logo-64", "logo-96"):
        svg = archive.read(f"{stem}.svg").decode()
        assert re.search(r'<svg[^>]* width="2in" height="2in"', svg)
        assert Image.open(io.BytesIO(archive.read(f"{stem}.png"))).size == (300, 300)
        box = re.search(
            rb"/MediaBox \[ ?[\d.]+ [\d.]+ ([\d.]+) ([\d.]+)", archive.read(f"{stem}.pdf")
        )
        assert box is not None
        assert float(box.group(1)) == pytest.approx(144, abs=0.5)
    batch = Batch.objects.get(pk=body["batch_id"])
    assert batch.options["output_size"] == {
        "width": 2.0,
        "height": None,
        "unit": "in",
        "dpi": 150.0,
    }
    record = Conversion.objects.get(batch_item__batch=batch, upload__original_name="logo-48.png")
    assert record.output_size == batch.options["output_size"]
    assert record.output_format == "svg"


def test_a_format_that_cannot_be_made_is_named_in_the_report(api_client, inline_batches, logos):
    files = [SimpleUploadedFile("a.png", logos["logo-48.png"])]
    size = json.dumps({"width": 100, "unit": "in", "dpi": 100})  # a 10,000 px PNG

    body = post_batch(api_client, files, converter="vtracer", formats="svg,png", output_size=size)

    archive = download(api_client, body.json())
    assert archive.namelist() == ["a.svg", "report.csv"]
    row = report(archive)[0]
    assert row["status"] == "done"
    assert row["error"].startswith("png: a PNG of 10000×10000 px is too large")


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"formats": "svg,tiff"}, "formats", "must be one of svg, pdf, eps, dxf, png; got tiff"),
        ({"formats": ","}, "formats", "is empty"),
        ({"output_size": '{"width": 10, "unit": "m"}'}, "output_size", "must be one of px, pt"),
        ({"output_size": '{"width": 501, "unit": "cm"}'}, "output_size", "the most is 5 m"),
        ({"output_size": '{"unit": "cm"}'}, "output_size", "give a width or a height"),
        ({"output_size": "10cm"}, "output_size", "must be an object"),
    ],
)
def test_batch_refuses_bad_formats_and_sizes_with_400(
    api_client, inline_batches, logos, options, field, message
):
    files = [SimpleUploadedFile("a.png", logos["logo-48.png"])]

    response = post_batch(api_client, files, tier=1, **options)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False
    assert message in json.dumps(body["errors"][field])
    assert not Batch.objects.exists()


def test_batch_formats_are_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    components = schema["components"]["schemas"]
    request = components["BatchRequestRequest"]["properties"]
    assert request["formats"]["items"]["$ref"] == "#/components/schemas/OutputFormatEnum"
    assert components["OutputFormatEnum"]["enum"] == ["svg", "pdf", "eps", "dxf", "png"]
    assert request["formats"]["default"] == ["svg"]
    assert "output_size" in request


def test_a_batch_from_before_formats_downloads_its_svgs(inline_batches, logos, tmp_path):
    files = [("a.png", io.BytesIO(logos["logo-48.png"]))]
    batch = create_batch(files=files, options=BatchOptions(kind="legacy")).batch
    Batch.objects.filter(pk=batch.pk).update(options={"params": batch.options["params"]})
    batch.refresh_from_db()

    run_item(batch.items.get().pk, heartbeat=False)

    assert BatchOptions.from_batch(batch).formats == ("svg",)
    written = write_folder(batch, tmp_path)
    assert sorted(p.name for p in written) == ["a.svg", "report.csv"]


def test_batch_options_keep_formats_and_size_through_the_database():
    size = OutputSize(width=3, unit="cm", dpi=300)
    options = BatchOptions(tier=2, formats=("dxf", "svg"), output_size=size)

    assert BatchOptions.from_batch(Batch(kind="ai", options=options.as_dict())) == options
