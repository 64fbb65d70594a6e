"""The plain page at /: the form with the real parameter ranges, and its static assets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from conversions.design import MAX_AREA_PX
from vectorizer import designer, exports
from vectorizer.tracing import CHOICES, DEFAULT_PARAMS, RANGES

PAGE_RANGES = ["filter_speckle", "color_precision", "corner_threshold", "path_precision"]


def _input_tag(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert match, f"no input named {name}"
    return match.group(0)


@pytest.mark.django_db
def test_home_renders_form_with_ranges(client):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<form id="convert-form"' in html
    assert 'type="file"' in html
    for name in PAGE_RANGES:
        low, high = RANGES[name]
        tag = _input_tag(html, name)
        assert f'min="{low}"' in tag
        assert f'max="{high}"' in tag
        assert f'value="{getattr(DEFAULT_PARAMS, name)}"' in tag
        assert f'<label for="{name}">' in html


@pytest.mark.django_db
def test_home_offers_choices_and_ai_tiers(client):
    html = client.get("/").content.decode()

    for name in ("colormode", "mode"):
        assert f'<select id="{name}" name="{name}">' in html
        for value in CHOICES[name]:
            assert f'<option value="{value}"' in html
    assert f'<option value="{DEFAULT_PARAMS.colormode}" selected>' in html
    for tier in ("auto", "1", "2", "3"):
        assert f'<option value="{tier}"' in html
    assert 'role="alert"' in html


@pytest.mark.django_db
def test_home_references_static_assets_that_exist(client):
    html = client.get("/").content.decode()

    for asset in ("conversions/app.css", "conversions/app.js"):
        assert f"/static/{asset}" in html
        assert finders.find(asset), f"{asset} is not in any static folder"
    assert "cdn" not in html.lower()


def test_app_js_calls_the_api_and_never_injects_svg_markup():
    script = Path(finders.find("conversions/app.js")).read_text(encoding="utf-8")

    for endpoint in ("/api/upload", "/api/convert", "/api/convert-ai", "/api/conversions/"):
        assert endpoint in script
    assert "data:image/svg+xml" in script
    assert "innerHTML" not in script
    assert "outerHTML" not in script


@pytest.mark.django_db
def test_home_footer_names_both_tracers_and_tier_labels_claim_no_timings(client):
    html = client.get("/").content.decode()

    footer = html[html.index('<footer class="site-footer">') :]
    assert "vtracer" in footer
    assert "potrace per colour layer" in footer
    tiers = re.search(r'<select id="tier".*?</select>', html, re.S)
    assert tiers
    assert " s</option>" not in tiers.group(0)  # no "~4 s" beside a hint that says otherwise
    # auto is selected: its empty budget is no limit, not tier 3's search time.
    assert 'placeholder="none"' in _input_tag(html, "time_budget")


@pytest.mark.django_db
def test_home_offers_colour_and_shape_controls_with_the_apis_ranges(client):
    html = client.get("/").content.decode()

    colours = _input_tag(html, "max_colors")
    assert 'min="1"' in colours
    assert f'max="{designer.MAX_COLORS}"' in colours
    assert 'value=""' in colours  # no cap unless asked
    assert f'max="{MAX_AREA_PX}"' in _input_tag(html, "min_area_px")
    for name, values in (("shape_stacking", designer.STACKINGS), ("group_by", designer.GROUPINGS)):
        menu = re.search(rf'<select id="{name}".*?</select>', html, re.S)
        assert menu
        assert re.findall(r'<option value="([^"]+)"', menu.group(0)) == list(values)
    assert 'id="palette-add"' in html
    assert '<option value="vinyl">' in html


@pytest.mark.django_db
def test_home_download_menu_and_size_offer_what_the_download_api_accepts(client):
    html = client.get("/").content.decode()

    for menu_id, values in (("download-format", exports.FORMATS), ("size-unit", exports.UNITS)):
        menu = re.search(rf'<select id="{menu_id}".*?</select>', html, re.S)
        assert menu
        assert re.findall(r'<option value="([^"]+)"', menu.group(0)) == list(values)
        assert f'<option value="{values[0]}" selected>' in menu.group(0)
    dpi = re.search(r'<input[^>]*id="size-dpi"[^>]*>', html)
    assert dpi
    assert f'value="{exports.DEFAULT_DPI:g}"' in dpi.group(0)
    assert f'min="{exports.MIN_DPI:g}" max="{exports.MAX_DPI:g}"' in dpi.group(0)
    assert 'id="export-png"' not in html  # the menu's PNG, at a width in px, is the one PNG
