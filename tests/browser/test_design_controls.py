"""The "Colours and shapes" group: sent with a conversion, set by presets, refused by the server."""

from __future__ import annotations

import json
import re

from tests.browser.conftest import AXE, MOBILE, screenshot
from tests.browser.pages import (
    COMPLEX,
    SIMPLE,
    choose,
    drop,
    run_axe,
    use_manual,
    wait_for_result,
)

FILL = re.compile(r'(?:fill|stop-color)="(#[0-9a-fA-F]{3,6})"')


def _shown_svg(page) -> str:
    return page.evaluate(
        "() => decodeURIComponent(document.querySelector('#svg-preview').src.split(',')[1])"
    )


def test_max_colors_two_gives_at_most_two_fill_colours(live_url, open_page):
    page = open_page(live_url)
    use_manual(page)
    page.fill("#max_colors", "2")
    choose(page, COMPLEX)
    wait_for_result(page)

    colours = {c.lower() for c in FILL.findall(_shown_svg(page))}
    assert 1 <= len(colours) <= 2, colours
    assert "→ 2 colours" in page.locator("#design-cost").inner_text()


def test_what_two_colours_cost_shows_in_the_ai_insights(live_url, open_page):
    page = open_page(live_url)
    page.select_option("#tier", "1")
    page.select_option("#design-preset", "two")
    assert page.locator("#max_colors").input_value() == "2"
    choose(page, COMPLEX)
    wait_for_result(page)

    suggestions = page.locator("#ai-suggestions").inner_text()
    assert "max_colors 2 cost SSIM" in suggestions
    assert "max_colors 2 cost SSIM" in page.locator("#design-cost").inner_text()

    # Reopened from the history, the record's problems are in the insights again.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#history-list button.history-item").first.click()
    page.wait_for_selector("#insights:not([hidden])")
    assert "max_colors 2 cost SSIM" in page.locator("#ai-suggestions").inner_text()
    assert page.locator("#design-preset").input_value() == "two"


def test_cut_vinyl_preset_records_cutouts_grouped_by_colour(live_url, open_page):
    page = open_page(live_url)
    responses = []
    page.on("request", lambda request: "/api/convert" in request.url and responses.append(request))
    page.select_option("#design-preset", "vinyl")
    assert page.locator("#shape_stacking").input_value() == "cutouts"
    assert page.locator("#group_by").input_value() == "color"
    choose(page, SIMPLE)
    wait_for_result(page)

    sent = json.loads(responses[-1].post_data)
    conversion = page.evaluate(
        "() => fetch('/api/conversions/').then((r) => r.json()).then((b) => b.results[0])"
    )
    assert sent["shape_stacking"] == "cutouts"
    assert conversion["shape_stacking"] == "cutouts"
    assert conversion["group_by"] == "color"
    assert 'id="color-' in _shown_svg(page)

    # Reopened on a fresh page, the record brings its options and the preset back.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#shape_stacking").input_value() == "stacked"
    page.locator("#history-list button.history-item").first.click()
    page.wait_for_function("document.querySelector('#shape_stacking').value === 'cutouts'")
    assert page.locator("#design-preset").input_value() == "vinyl"


def test_bad_palette_entry_shows_the_servers_message(live_url, open_page, console):
    console.allow("status of 400 (Bad Request)")  # the browser logs the refused request
    page = open_page(live_url, viewport=MOBILE)
    use_manual(page)
    page.click("#palette-add")
    entry = page.locator("#palette-list input[type=text]").first
    assert entry.evaluate("(e) => e === document.activeElement")
    entry.fill("#12345")
    choose(page, SIMPLE)

    page.wait_for_selector("#error:not([hidden])")
    assert "must be a colour written #rrggbb" in page.locator("#error").inner_text()
    # The group fits a 375 px screen and passes axe with a swatch in the palette.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= MOBILE["width"]
    page.locator("#design-options").scroll_into_view_if_needed()
    screenshot(page, "design-controls-375")
    assert run_axe(page, AXE.read_text(encoding="utf-8")) == []

    # Removing the entry by keyboard converts without a palette.
    page.focus("#design-preset")
    reached = []
    for _ in range(7):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.type"))
    assert reached == [
        "max_colors", "min_area_px", "color", "text", "button", "palette-add", "shape_stacking"
    ]  # fmt: skip
    page.locator("#palette-list button").first.focus()
    page.keyboard.press("Enter")
    assert page.locator("#palette-list li").count() == 0
    wait_for_result(page)


def test_a_batch_dropped_on_the_page_carries_the_options(live_url, open_page):
    page = open_page(live_url)
    use_manual(page)
    page.fill("#max_colors", "2")
    page.select_option("#group_by", "color")
    assert page.locator("#design-preset").input_value() == ""  # custom now

    drop(page, SIMPLE, COMPLEX)
    page.locator("#batch").wait_for()
    page.wait_for_function(
        "document.querySelector('#batch-summary').textContent.includes('finished')",
        timeout=120_000,
    )

    records = page.evaluate("() => fetch('/api/conversions/').then((r) => r.json())")["results"]
    batched = [r for r in records if r["filename"] in (SIMPLE.name, COMPLEX.name)]
    assert len(batched) == 2
    for record in batched:
        assert record["max_colors"] == 2
        assert record["group_by"] == "color"
        assert record["design"]["colors_after"] <= 2
