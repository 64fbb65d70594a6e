"""AI unavailable (a server with no models), keyboard use and an axe-core accessibility check."""

from __future__ import annotations

import pytest

from tests.browser.conftest import AXE, screenshot
from tests.browser.pages import (
    GRADIENT,
    SIMPLE,
    choose,
    run_axe,
    wait_for_result,
    zoom_percent,
)


def test_ai_unavailable_says_so_and_converts_with_vtracer(no_ai_url, open_page, console):
    console.allow("503")  # /api/ai-health answers 503 when AI cannot convert
    page = open_page(no_ai_url)

    assert page.locator("#ai-status-text").inner_text() == "AI unavailable"
    page.locator("#ai-status").hover()
    reason = page.locator("#ai-status-reason")
    assert reason.is_visible()
    assert "quality predictor" in reason.inner_text()
    assert "not loaded" in reason.inner_text()
    toggle = page.locator("#ai-toggle")
    assert not toggle.is_checked()
    assert toggle.is_disabled()
    notice = page.locator("#notice")
    assert notice.is_visible()
    assert "AI is unavailable" in notice.inner_text()
    assert page.locator("#vtracer-options").is_visible()

    with page.expect_response(lambda r: r.url.endswith("/api/convert")) as answer:
        choose(page, SIMPLE)
    assert answer.value.ok
    wait_for_result(page)
    assert not page.locator("#insights").is_visible()
    assert page.locator("#metric-ssim").inner_text() != "–"
    page.mouse.move(0, 0)  # the status tooltip closed
    screenshot(page, "ai-unavailable")


def test_ai_failing_mid_session_falls_back_without_a_reload(live_url, open_page, console):
    """Health said yes, then /api/convert-ai answers 503 (models gone): the page converts anyway."""
    console.allow("503")
    page = open_page(live_url)
    assert page.locator("#ai-toggle").is_checked()
    body = {
        "success": False,
        "error": "AI conversion is unavailable: the quality predictor is not loaded. "
        "Use the legacy converter.",
        "fallback_suggestion": '/api/convert {"file_id": "...", "converter": "vtracer"}',
    }
    page.route("**/api/convert-ai", lambda route: route.fulfill(status=503, json=body))
    with page.expect_response(lambda r: r.url.endswith("/api/convert")) as answer:
        choose(page, SIMPLE)
    assert answer.value.ok
    wait_for_result(page)
    assert page.locator("#ai-status-text").inner_text() == "AI unavailable"
    assert "the quality predictor is not loaded" in page.locator("#notice").inner_text()
    assert not page.locator("#ai-toggle").is_checked()
    assert not page.locator("#insights").is_visible()
    assert page.locator("#vtracer-options").is_visible()


def test_keyboard_reaches_every_control_and_zooms(live_url, open_page):
    page = open_page(live_url)
    page.select_option("#tier", "1")
    choose(page, SIMPLE)
    wait_for_result(page)

    reached = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.name"))
    for control in ("file", "ai-toggle", "tier", "target_quality", "convert-button", "viewer"):
        assert control in reached, f"Tab never reaches #{control}"
    for control in ("zoom-in", "download-svg", "download-format", "size-width", "size-unit",
                    "size-dpi", "copy-svg", "history-refresh"):  # fmt: skip
        assert control in reached, f"Tab never reaches #{control}"

    page.focus("#viewer")
    fitted = zoom_percent(page)
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert zoom_percent(page) > fitted
    page.keyboard.press("0")
    assert zoom_percent(page) == fitted


@pytest.mark.parametrize("mode", ["ai", "manual"])
def test_axe_finds_no_accessibility_violations(live_url, open_page, mode):
    page = open_page(live_url)
    axe = AXE.read_text(encoding="utf-8")
    assert run_axe(page, axe) == []  # the empty page

    if mode == "manual":
        page.locator("label.switch").click()
    else:
        page.select_option("#tier", "1")
    choose(page, GRADIENT)
    wait_for_result(page)
    page.locator("#ai-status").focus()  # the tooltip open, once its fade-in has ended
    # (axe measures contrast with the opacity of the moment: mid-fade it is too faint)
    page.wait_for_function(
        "getComputedStyle(document.getElementById('ai-status-reason')).opacity === '1'"
    )
    violations = run_axe(page, axe)
    assert violations == [], violations
