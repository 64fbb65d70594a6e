"""GET /api/conversions/<id>/download and output_format / output_size on the convert endpoints."""

from __future__ import annotations

import io
import re

import ezdxf
import pytest
from django.contrib.auth.models import AnonymousUser
from PIL import Image
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from conversions import limits
from conversions.models import Conversion
from tests.conftest import DATA, REAL_LOGOS
from vectorizer.svgclean import clean_svg

LOGO_SVG = clean_svg((DATA / f"{REAL_LOGOS['simple']}.svg").read_text())  # 24×24, one colour


def url(conversion: Conversion, query: str = "") -> str:
    return f"/api/conversions/{conversion.pk}/download{query}"


@pytest.fixture
def logo(make_conversion) -> Conversion:
    conversion = make_conversion(svg=LOGO_SVG, svg_bytes=len(LOGO_SVG))
    conversion.upload.original_name = "Acme logo (v2).png"
    conversion.upload.save()
    return conversion


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("svg", "image/svg+xml", b"<svg"),
        ("pdf", "application/pdf", b"%PDF-"),
        ("eps", "application/postscript", b"%!PS-Adobe-3.0 EPSF-3.0"),
        ("dxf", "image/vnd.dxf", b"  0\nSECTION"),
        ("png", "image/png", b"\x89PNG"),
    ],
)
def test_download_serves_each_format_as_a_named_attachment(
    api_client, logo, fmt, content_type, magic
):
    response = api_client.get(url(logo, f"?format={fmt}"))

    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="Acme_logo__v2_.{fmt}"'
    assert response.content.startswith(magic)


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["application/pdf", "text/html", "*/*"])
def test_download_answers_whatever_the_accept_header(api_client, logo, accept):
    response = api_client.get(url(logo, "?format=pdf"), HTTP_ACCEPT=accept)
    refused = api_client.get(url(logo, "?format=tiff"), HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_download_defaults_to_svg(api_client, logo):
    response = api_client.get(url(logo))

    assert response.status_code == 200
    assert response.content.decode() == LOGO_SVG


@pytest.mark.django_db
def test_download_png_has_the_requested_width(api_client, logo):
    response = api_client.get(url(logo, "?format=png&width=200"))

    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (200, 200)


@pytest.mark.django_db
def test_download_pdf_page_in_centimetres(api_client, logo):
    response = api_client.get(url(logo, "?format=pdf&width=10&unit=cm"))

    assert response.status_code == 200
    box = re.search(rb"/MediaBox \[ ?[\d.]+ [\d.]+ ([\d.]+) ([\d.]+)", response.content)
    assert box is not None
    assert float(box.group(1)) == pytest.approx(10 / 2.54 * 72, abs=0.5)


@pytest.mark.django_db
def test_download_svg_with_a_size_has_units_and_keeps_the_view_box(api_client, logo):
    response = api_client.get(url(logo, "?format=svg&width=10&unit=cm"))

    svg = response.content.decode()
    assert 'width="10cm" height="10cm"' in svg
    assert 'viewBox="0 0 24 24"' in svg


@pytest.mark.django_db
def test_download_dxf_reads_back(api_client, logo):
    response = api_client.get(url(logo, "?format=dxf"))

    doc = ezdxf.read(io.StringIO(response.content.decode()))
    assert {e.dxf.layer for e in doc.modelspace()} == {"color-1b1f24"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("?format=tiff", "format", "must be one of svg, pdf, eps, dxf, png"),
        ("?format=png&width=9000", "format", "the most is 8192 px a side"),
        ("?format=pdf&width=6&unit=m", "unit", "must be one of px, pt, in, cm, mm"),
        ("?format=pdf&width=501&unit=cm", "non_field_errors", "the most is 5 m a side"),
        ("?format=pdf&width=0&unit=cm", "width", "must be a positive number"),
        ("?format=pdf&width=-3", "width", "must be a positive number"),
        ("?format=pdf&width=ten", "width", "must be a positive number"),
        ("?format=png&width=10&dpi=5", "dpi", "must be from 10 to 2400"),
    ],
)
def test_download_refuses_bad_format_or_size_with_400(api_client, logo, query, field, message):
    response = api_client.get(url(logo, query))

    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["success"] is False
    assert message in body["error"]
    assert field in body["errors"]


@pytest.mark.django_db
def test_download_of_failed_conversion_is_404_json(api_client, make_conversion):
    conversion = make_conversion(status=Conversion.Status.FAILED, error="vtracer failed", svg="")

    response = api_client.get(url(conversion, "?format=pdf"))

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert "vtracer failed" in response.json()["error"]


@pytest.mark.django_db
def test_download_of_running_conversion_is_409_json(api_client, make_conversion):
    conversion = make_conversion(status=Conversion.Status.RUNNING, svg="")

    response = api_client.get(url(conversion, "?format=pdf"))

    assert response.status_code == 409
    assert "still running" in response.json()["error"]


@pytest.mark.django_db
def test_download_of_another_users_conversion_is_404(api_client, logo, django_user_model):
    owner = django_user_model.objects.create_user("owner", password="x" * 12)
    logo.owner = owner
    logo.save()

    response = api_client.get(url(logo, "?format=pdf"))

    assert response.status_code == 404
    # The same conversion through /svg: the two endpoints see the same records.
    assert api_client.get(f"/api/conversions/{logo.pk}/svg").status_code == 404
    api_client.force_authenticate(owner)
    assert api_client.get(url(logo, "?format=pdf")).status_code == 200


@pytest.mark.django_db
def test_download_is_in_the_openapi_schema_with_ranges(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/conversions/{id}/download/"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["format"]["schema"]["enum"] == ["svg", "pdf", "eps", "dxf", "png"]
    assert params["unit"]["schema"]["enum"] == ["px", "pt", "in", "cm", "mm"]
    assert params["dpi"]["schema"]["minimum"] == 10
    assert params["dpi"]["schema"]["maximum"] == 2400
    assert params["width"]["schema"]["minimum"] == 0.001
    assert set(operation["responses"]["200"]["content"]) == {
        "image/svg+xml", "application/pdf", "application/postscript", "image/vnd.dxf",
        "image/png",
    }  # fmt: skip
    components = schema["components"]["schemas"]
    size = components["OutputSizeRequest"]["properties"]
    assert set(size) == {"width", "height", "unit", "dpi"}
    assert size["dpi"]["maximum"] == 2400
    for request in ("ConvertRequestRequest", "AIConvertRequestRequest"):
        assert {"output_format", "output_size"} <= set(components[request]["properties"])


# -- output_format and output_size on /api/convert ------------------------------------------


@pytest.mark.django_db
def test_convert_with_output_options_records_them_and_sizes_the_svg(api_client, upload_file_id):
    payload = {
        "file_id": upload_file_id,
        "output_format": "pdf",
        "output_size": {"width": 10, "unit": "cm", "dpi": 300},
    }

    response = api_client.post("/api/convert", payload, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert body["download_url"] == f"/api/conversions/{conversion.pk}/download?format=pdf"
    assert conversion.output_format == "pdf"
    assert conversion.output_size == {"width": 10, "height": None, "unit": "cm", "dpi": 300}
    # The size is in the SVG the answer holds and the record keeps; the viewBox is the input's.
    assert body["svg"].startswith(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128" width="10cm" height="10cm"'
    )
    assert conversion.svg == body["svg"]
    assert conversion.svg_bytes == len(body["svg"].encode())

    pdf = api_client.get(body["download_url"])
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
    # The recorded dpi sets a PNG's pixels: 10 cm at 300 dpi.
    png = api_client.get(f"/api/conversions/{conversion.pk}/download?format=png")
    assert Image.open(io.BytesIO(png.content)).size == (1181, 1181)


@pytest.mark.django_db
def test_convert_defaults_to_svg_download(api_client, upload_file_id):
    response = api_client.post("/api/convert", {"file_id": upload_file_id}, format="json")

    body = response.json()
    assert body["download_url"].endswith("/download?format=svg")
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert conversion.output_format == "svg"
    assert conversion.output_size == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"output_format": "gif"}, "output_format: must be one of svg, pdf, eps, dxf, png"),
        ({"output_size": {"width": 10, "unit": "ft"}}, "must be one of px, pt, in, cm, mm"),
        ({"output_size": {"unit": "cm"}}, "give a width or a height"),
        ({"output_size": {"width": 600, "unit": "cm"}}, "the most is 5 m a side"),
        ({"output_size": {"width": 10, "colour": "red"}}, "is not an option here"),
        ({"output_size": "wide"}, "must be an object"),
    ],
)
def test_convert_refuses_bad_output_options(api_client, upload_file_id, options, message):
    response = api_client.post(
        "/api/convert", {"file_id": upload_file_id, **options}, format="json"
    )

    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not Conversion.objects.exists()  # refused before converting


@pytest.mark.django_db
def test_convert_form_post_takes_output_size_as_json(api_client, upload_file_id):
    payload = {"file_id": upload_file_id, "output_size": '{"height": 2, "unit": "in"}'}

    response = api_client.post("/api/convert", payload, format="multipart")

    assert response.status_code == 200, response.content
    assert 'width="2in" height="2in"' in response.json()["svg"]


@pytest.mark.django_db
def test_download_holds_one_of_an_anonymous_addresss_slots(settings, api_client, logo):
    settings.SVGAI_ANON_MAX_CONCURRENT = 1
    held = Request(APIRequestFactory().get("/"))  # the same address as the test client's
    held.user = AnonymousUser()

    with limits.conversion_slot(held):
        refused = api_client.get(url(logo, "?format=png"))
    after = api_client.get(url(logo, "?format=png"))

    assert refused.status_code == 429
    assert "1 at a time" in refused.json()["error"]
    assert after.status_code == 200


@pytest.mark.django_db
def test_admin_shows_the_output_options_and_a_link_per_format(admin_client, logo):
    logo.output_format = "dxf"
    logo.output_size = {"width": 10, "height": None, "unit": "cm", "dpi": 300}
    logo.save()

    html = admin_client.get(f"/admin/conversions/conversion/{logo.pk}/change/").content.decode()

    assert "Output format" in html
    assert "dxf" in html
    assert "&quot;unit&quot;: &quot;cm&quot;" in html
    for fmt in ("pdf", "eps", "dxf", "png"):
        assert f'href="/api/conversions/{logo.pk}/download?format={fmt}"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["format", "unit", "width", "height", "dpi"])
def test_download_refuses_an_empty_query_value(api_client, logo, name):
    # Schemathesis found `?unit=` answered 200: DRF takes an empty value for "not given".
    response = api_client.get(f"/api/conversions/{logo.pk}/download?{name}=")

    assert response.status_code == 400, response.content
    assert name in response.json()["errors"]


@pytest.mark.django_db
def test_download_refuses_a_misspelled_option(api_client, logo):
    response = api_client.get(f"/api/conversions/{logo.pk}/download?format=png&widht=64")

    assert response.status_code == 400, response.content
    assert "widht" in response.json()["errors"]
