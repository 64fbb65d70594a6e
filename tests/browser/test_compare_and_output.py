"""Inspecting and saving a result: overlay, zoom and pan, backgrounds, differences, downloads."""

from __future__ import annotations

import struct

import pytest

from tests.browser.conftest import MOBILE, screenshot
from tests.browser.pages import (
    COMPLEX,
    SIMPLE,
    choose,
    image_rendered,
    pick,
    stage_boxes,
    use_manual,
    wait_for_result,
    zoom_at,
    zoom_percent,
)


def test_overlay_zoom_pan_background_and_differences(live_url, open_page):
    page = open_page(live_url)
    use_manual(page)
    choose(page, COMPLEX)
    wait_for_result(page)

    pick(page, "view", "overlay")
    assert page.locator("#viewer").get_attribute("data-view") == "overlay"
    page.locator("#split").fill("30")
    clip = page.evaluate("getComputedStyle(document.getElementById('pane-svg')).clipPath")
    assert "30%" in clip

    # Buttons zoom in steps up to at least 800 %.
    fitted = zoom_percent(page)
    while zoom_percent(page) < 800:
        page.click("#zoom-in")
    assert zoom_percent(page) >= 800 > fitted

    # The wheel zooms too, and dragging pans both layers together.
    box = page.locator("#pane-svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    before = zoom_percent(page)
    page.mouse.wheel(0, 200)
    page.wait_for_function(
        f"parseInt(document.querySelector('#zoom-level').textContent) < {before}"
    )
    start = stage_boxes(page)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 40, steps=4)
    page.mouse.up()
    moved = stage_boxes(page)
    assert moved[0] == moved[1], "input and SVG must stay in register"
    assert moved[0]["x"] == pytest.approx(start[0]["x"] + 120, abs=2)
    assert moved[0]["y"] == pytest.approx(start[0]["y"] + 40, abs=2)

    # Keyboard: + zooms, 0 fits.
    page.focus("#viewer")
    page.keyboard.press("0")
    assert zoom_percent(page) == fitted
    page.keyboard.press("+")
    assert zoom_percent(page) > fitted

    # Backgrounds show through the transparent parts.
    pick(page, "bg", "black")
    colour = page.evaluate(
        "getComputedStyle(document.getElementById('pane-input')).backgroundColor"
    )
    assert colour == "rgb(0, 0, 0)"
    page.locator("#bg-color").fill("#336699")
    assert page.locator('input[name="bg"][value="custom"]').is_checked()
    colour = page.evaluate("getComputedStyle(document.getElementById('pane-svg')).backgroundColor")
    assert colour == "rgb(51, 102, 153)"

    page.keyboard.press("0")
    pick(page, "view", "side")
    page.check("#show-diff")
    page.wait_for_function("!document.getElementById('diff-layer').hidden")
    summary = page.locator("#diff-summary").inner_text()
    assert "% of pixels" in summary
    share = float(summary.split(": ")[1].split(" %")[0])
    assert 0 < share < 50, summary
    screenshot(page, "compare-differences")

    page.uncheck("#show-diff")
    pick(page, "view", "overlay")
    pick(page, "bg", "checker")
    page.locator("#split").fill("50")
    zoom_at(page, 0.25, 0.25, 800)  # the first edge on the diagonal
    assert image_rendered(page, "#svg-preview")
    screenshot(page, "compare-overlay-800")


def test_download_copy_and_a_png_of_a_width_in_pixels(live_url, open_page, tmp_path):
    page = open_page(live_url, permissions=["clipboard-read", "clipboard-write"])
    use_manual(page)
    choose(page, SIMPLE)
    wait_for_result(page)

    with page.expect_download() as download:
        page.click("#download-svg")
    assert download.value.suggested_filename == "si-mdx.svg"
    saved = tmp_path / "si-mdx.svg"
    download.value.save_as(saved)
    svg = saved.read_text()
    assert svg.startswith("<svg")
    assert "<path" in svg
    # Size before and after: the input's bytes, then the SVG's.
    size_text = page.locator("#metric-size").inner_text()
    assert size_text.startswith(f"{SIMPLE.stat().st_size / 1024:.1f} KB → "), size_text

    page.click("#copy-svg")
    page.wait_for_function(
        "document.querySelector('#output-status').textContent.startsWith('Copied')"
    )
    assert page.evaluate("navigator.clipboard.readText()") == svg

    # A PNG so many pixels wide is the menu's PNG at a width in px (the unit it starts with).
    assert page.locator("#export-png").count() == 0  # no second PNG button beside the menu
    page.select_option("#download-format", "png")
    page.fill("#size-width", "300")
    with page.expect_download() as png_download:
        page.click("#download-svg")
    assert png_download.value.suggested_filename == "si-mdx.png"
    png = tmp_path / "out.png"
    png_download.value.save_as(png)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert (width, height) == (300, 300)
    assert "Downloaded si-mdx.png" in page.locator("#output-status").inner_text()


def test_favicon_is_served(live_url, open_page):
    page = open_page(live_url)
    response = page.request.get(live_url + "/favicon.ico")
    assert response.ok
    assert response.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert response.body()[:4] == b"\x00\x00\x01\x00"


def test_format_menu_downloads_a_pdf_and_a_png_of_a_set_width(
    live_url, open_page, tmp_path, console
):
    page = open_page(live_url)
    use_manual(page)
    choose(page, SIMPLE)
    wait_for_result(page)

    # Keyboard only: from the Download link, Tab reaches the menu; arrows choose PDF.
    page.focus("#download-svg")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "download-format"
    page.select_option("#download-format", "pdf")
    assert page.locator("#download-svg").inner_text() == "Download PDF"
    with page.expect_download() as pdf_download:
        page.focus("#download-svg")
        page.keyboard.press("Enter")
    assert pdf_download.value.suggested_filename == "si-mdx.pdf"
    pdf = tmp_path / "si-mdx.pdf"
    pdf_download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    page.select_option("#download-format", "png")
    page.fill("#size-width", "2")
    page.select_option("#size-unit", "in")
    page.fill("#size-dpi", "150")
    with page.expect_download() as png_download:
        page.click("#download-svg")
    png = tmp_path / "out.png"
    png_download.value.save_as(png)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (300, 300)
    assert "Downloaded si-mdx.png" in page.locator("#output-status").inner_text()
    page.locator("#output").scroll_into_view_if_needed()
    screenshot(page, "format-menu")

    # A size the server refuses is said beside the button, and nothing downloads.
    console.allow("status of 400")
    page.select_option("#size-unit", "px")
    page.fill("#size-width", "9000")
    page.fill("#size-dpi", "96")
    page.click("#download-svg")
    page.wait_for_function(
        "document.querySelector('#output-status').textContent.includes('8192 px a side')"
    )

    # SVG with no size is the page's own SVG again.
    page.fill("#size-width", "")
    page.select_option("#download-format", "svg")
    with page.expect_download() as svg_download:
        page.click("#download-svg")
    assert svg_download.value.suggested_filename == "si-mdx.svg"


def test_format_menu_and_size_fit_a_375px_screen(live_url, open_page):
    page = open_page(live_url, viewport=MOBILE, is_mobile=True, has_touch=True)
    use_manual(page)
    choose(page, SIMPLE)
    wait_for_result(page)

    for selector in ("#download-format", "#size-width", "#size-dpi", "#size-unit"):
        box = page.locator(selector).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= MOBILE["width"], selector
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= MOBILE["width"], f"the page is {width}px wide at 375px"
    page.locator("#output-size").scroll_into_view_if_needed()
    screenshot(page, "format-menu-375")
