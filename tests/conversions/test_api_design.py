"""The design options (max_colors, palette, shape_stacking, group_by, min_area_px) on the API."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conversions.models import Conversion
from tests.conftest import DATA, REAL_LOGOS, drawn_colours


@pytest.mark.django_db
def test_convert_max_colors_caps_the_colours_and_is_recorded(api_client, upload_real_logo):
    complex_file_id = upload_real_logo("complex")
    plain = api_client.post("/api/convert", {"file_id": complex_file_id}, format="json").json()
    assert len(drawn_colours(plain["svg"])) > 3

    payload = {"file_id": complex_file_id, "max_colors": 3, "group_by": "color"}
    response = api_client.post("/api/convert", payload, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert len(drawn_colours(body["svg"])) <= 3
    groups = re.findall(r'<g id="color-([0-9a-f]{6})" fill="#([0-9a-f]{6})">', body["svg"])
    assert groups
    assert all(a == b for a, b in groups)
    assert len(groups) == len({a for a, _ in groups})  # one group per colour
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert (conversion.max_colors, conversion.group_by) == (3, "color")
    assert conversion.design["colors_after"] <= 3
    assert conversion.design["ssim_before"] == pytest.approx(plain["ssim"], abs=1e-6)
    assert conversion.ssim == pytest.approx(body["ssim"])
    assert body["design"]["colors_before"] == len(drawn_colours(plain["svg"]))


@pytest.mark.django_db
def test_convert_palette_uses_only_the_given_colours(api_client, upload_real_logo):
    file_id, palette = upload_real_logo("complex"), ["#000000", "#FFFFFF", "#d03030"]
    payload = {"file_id": file_id, "palette": palette, "shape_stacking": "cutouts"}

    response = api_client.post("/api/convert", payload, format="json")

    assert response.status_code == 200, response.content
    assert drawn_colours(response.json()["svg"]) <= {"#000000", "#ffffff", "#d03030"}
    conversion = Conversion.objects.get(pk=response.json()["conversion_id"])
    assert conversion.palette == ["#000000", "#ffffff", "#d03030"]
    assert conversion.shape_stacking == "cutouts"


@pytest.mark.django_db
def test_convert_form_post_takes_a_palette_as_text(api_client, upload_file_id):
    payload = {"file_id": upload_file_id, "palette": "#000000, #ffffff", "min_area_px": "4"}

    response = api_client.post("/api/convert", payload, format="multipart")

    assert response.status_code == 200, response.content
    conversion = Conversion.objects.get(pk=response.json()["conversion_id"])
    assert conversion.palette == ["#000000", "#ffffff"]
    assert conversion.min_area_px == 4.0


@pytest.mark.django_db
def test_convert_form_post_with_empty_design_fields_keeps_the_defaults(api_client, upload_file_id):
    payload = {"file_id": upload_file_id, "palette": "", "max_colors": ""}

    response = api_client.post("/api/convert", payload, format="multipart")

    assert response.status_code == 200, response.content
    conversion = Conversion.objects.get(pk=response.json()["conversion_id"])
    assert (conversion.palette, conversion.max_colors, conversion.design) == ([], None, {})


@pytest.mark.django_db
def test_convert_without_design_options_records_the_defaults(api_client, upload_file_id):
    response = api_client.post("/api/convert", {"file_id": upload_file_id}, format="json")

    conversion = Conversion.objects.get(pk=response.json()["conversion_id"])
    assert (conversion.max_colors, conversion.palette, conversion.min_area_px) == (None, [], 0)
    assert (conversion.shape_stacking, conversion.group_by) == ("stacked", "none")
    assert conversion.design == {}
    assert "design" not in conversion.timings


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"max_colors": 0}, "max_colors", "from 1 to 256"),
        ({"max_colors": 257}, "max_colors", "from 1 to 256"),
        ({"max_colors": True}, "max_colors", "valid integer"),
        ({"palette": ["#12345"]}, "palette", "#rrggbb"),
        ({"palette": [""]}, "palette", "#rrggbb"),
        ({"palette": ["#000000"] * 257}, "palette", "256"),
        ({"palette": "red"}, "palette", "#rrggbb"),
        (
            {"palette": ["#000000", "#ffffff", "#ff0000"], "max_colors": 2},
            "palette",
            "max_colors 2",
        ),
        ({"shape_stacking": "cutout"}, "shape_stacking", "stacked or cutouts"),
        ({"group_by": "layer"}, "group_by", "none or color"),
        ({"min_area_px": -1}, "min_area_px", "from 0 to"),
    ],
)
@pytest.mark.parametrize("endpoint", ["/api/convert", "/api/convert-ai"])
def test_design_options_out_of_range_answer_400(
    api_client, upload_file_id, endpoint, extra, field, message
):
    response = api_client.post(endpoint, {"file_id": upload_file_id, **extra}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False
    assert field in body["errors"]
    assert message in body["error"]


@pytest.mark.django_db
def test_design_options_are_in_the_openapi_schema_with_ranges(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    components = schema["components"]["schemas"]
    for request in ("ConvertRequestRequest", "AIConvertRequestRequest", "BatchRequestRequest"):
        properties = components[request]["properties"]
        assert properties["max_colors"]["minimum"] == 1
        assert properties["max_colors"]["maximum"] == 256
        assert properties["palette"]["maxItems"] == 256
        assert properties["palette"]["items"]["pattern"] == "^#[0-9a-fA-F]{6}$"
        assert properties["min_area_px"]["minimum"] == 0
        stacking = components[properties["shape_stacking"]["allOf"][0]["$ref"].split("/")[-1]]
        assert stacking["enum"] == ["stacked", "cutouts"]
        grouping = components[properties["group_by"]["allOf"][0]["$ref"].split("/")[-1]]
        assert grouping["enum"] == ["none", "color"]


@pytest.mark.django_db
def test_convert_command_applies_design_options(tmp_path, capsys):
    source = tmp_path / "logo.png"
    source.write_bytes((DATA / f"{REAL_LOGOS['complex']}.png").read_bytes())

    call_command("convert", str(source), "--set", "color_precision=6", "--max-colors", "2")

    conversion = Conversion.objects.get()
    assert conversion.max_colors == 2
    assert len(drawn_colours((tmp_path / "logo.svg").read_text())) <= 2


@pytest.mark.django_db
def test_convert_command_refuses_a_design_option_out_of_range(tmp_path):
    source = tmp_path / "logo.png"
    source.write_bytes((DATA / f"{REAL_LOGOS['complex']}.png").read_bytes())

    with pytest.raises(CommandError, match="--max-colors: must be a whole number from 1 to 256"):
        call_command("convert", str(source), "--max-colors", "0")


@pytest.mark.django_db
def test_a_palette_within_max_colors_is_taken_as_the_palette(api_client, upload_file_id):
    # Swagger's form fills in both fields; a palette that keeps to the cap is what was asked.
    body = {"file_id": upload_file_id, "palette": ["#000000", "#ffffff"], "max_colors": 2}

    response = api_client.post("/api/convert", body, format="json")

    assert response.status_code == 200, response.content
    fills = set(re.findall(r'fill="(#[0-9a-fA-F]{6})"', response.json()["svg"]))
    assert fills <= {"#000000", "#ffffff"}


@pytest.mark.django_db
def test_a_form_palette_that_is_broken_json_is_refused_not_dropped(api_client, upload_file_id):
    payload = {"file_id": upload_file_id, "palette": '["#000000", "#ffffff"'}

    response = api_client.post("/api/convert", payload, format="multipart")

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert "palette" in body["error"]
    assert "JSON list" in body["error"]
    assert not Conversion.objects.exists()
