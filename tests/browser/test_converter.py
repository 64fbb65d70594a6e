"""The converter page in Chromium: choosing files, AI and manual conversions, what the user sees."""

from __future__ import annotations

from tests.browser.conftest import MOBILE, for_readme, screenshot, screenshot_path
from tests.browser.pages import (
    GRADIENT,
    SIMPLE,
    TEXT,
    choose,
    drop,
    drop_generated,
    image_rendered,
    paste,
    pick,
    use_manual,
    wait_for_result,
    zoom_at,
    zoom_percent,
)
from vectorizer.tracing import DEFAULT_PARAMS


def test_page_ai_on_by_default_converts_with_insights(live_url, open_page):
    page = open_page(live_url)

    assert page.locator("#ai-toggle").is_checked()
    assert page.locator("#ai-status-text").inner_text() == "AI available"
    checked_ms = page.locator("#ai-status").get_attribute("data-checked-ms")
    print(f"AI status answered in {checked_ms} ms")
    page.locator("#ai-status").hover()
    assert "Models loaded" in page.locator("#ai-status-reason").inner_text()
    assert page.locator("#ai-options").is_visible()
    assert not page.locator("#vtracer-options").is_visible()

    page.select_option("#tier", "1")
    with page.expect_response(lambda r: r.url.endswith("/api/convert-ai")) as answer:
        choose(page, GRADIENT)
    # The input preview appears before the conversion ends.
    page.wait_for_selector("#input-card:not([hidden])")
    assert page.locator("#input-dims").inner_text() == "512 × 512 px"
    assert page.locator("#input-alpha").inner_text().startswith("yes")
    assert image_rendered(page, "#input-thumb")

    wait_for_result(page)
    assert image_rendered(page, "#input-preview")
    insights = page.locator("#insights")
    assert insights.is_visible()
    assert page.locator("#ai-tier").inner_text() == "Tier 1"
    assert page.locator("#ai-logo-type").inner_text().startswith("gradient")
    assert "→" in page.locator("#ai-ssim").inner_text()
    # The settings that made the SVG: a potrace trace lists no vtracer settings, and an SVG
    # holding a gradient is never said to have turned it into bands.
    settings = page.locator("#ai-parameters").text_content()
    assert "tracer" in settings
    assert "manual mode" in settings
    if "potrace" in settings:
        assert "layer difference" not in settings
        assert "color precision" not in settings
    if "gradient fill" in settings:
        assert "bands" not in page.locator("#ai-suggestions").text_content()
    legend = page.locator("#ai-timeline-legend").inner_text()
    for stage in ("Decode", "Features", "Prediction", "Trace", "Measure"):
        assert stage in legend
    ssim = float(page.locator("#metric-ssim").inner_text())
    assert 0.9 < ssim <= 1.0
    assert "→" in page.locator("#metric-size").inner_text()  # input size → SVG size
    # The page says gradients became flat bands only when the SVG has no gradient fill.
    fitted = "Gradient" in answer.value.json()["svg"]
    banded = "bands of flat colour" in page.locator("#ai-suggestions-box").inner_text()
    assert banded is not fitted
    page.mouse.move(0, 0)  # the status tooltip closed
    for_readme(screenshot(page, "ai-result", full_page=True), "converter-ai")

    # The edge at 800 %: the input's pixels against the SVG's curve, split in the middle.
    pick(page, "view", "overlay")
    zoom_at(page, 0.133, 0.133, 800)  # the rounded top-left corner
    assert image_rendered(page, "#svg-preview")
    top = page.locator(".workspace-head").bounding_box()
    bottom = page.locator(".viewer-foot").bounding_box()
    clip = {
        "x": top["x"] - 12,
        "y": top["y"] - 12,
        "width": top["width"] + 24,
        "height": bottom["y"] + bottom["height"] - top["y"] + 24,
    }
    page.screenshot(path=str(screenshot_path("ai-overlay-800")), clip=clip)
    for_readme(screenshot_path("ai-overlay-800"), "compare-overlay-800")


def test_manual_mode_hides_ai_panel_and_reconverts_when_a_slider_moves(live_url, open_page):
    page = open_page(live_url)
    page.select_option("#tier", "1")
    choose(page, SIMPLE)
    wait_for_result(page)
    assert page.locator("#insights").is_visible()

    with page.expect_response(lambda r: r.url.endswith("/api/convert")) as first:
        # In the page: the click's handlers and the next frame, without Playwright's round trips.
        flip_ms = page.evaluate(
            """async () => {
              const started = performance.now();
              document.getElementById('ai-toggle').click();
              await new Promise((done) => requestAnimationFrame(() => done()));
              return performance.now() - started;
            }"""
        )
        print(f"AI toggle flipped and painted in {flip_ms:.0f} ms")
        assert page.locator("#vtracer-options").is_visible()
        # The AI panel of the earlier run must not survive into manual mode.
        assert not page.locator("#insights").is_visible()
        assert not page.locator("#ai-options").is_visible()
    assert first.value.ok
    wait_for_result(page)
    assert not page.locator("#insights").is_visible()

    # Every vtracer parameter the API takes (all 11) is on the page.
    assert len(DEFAULT_PARAMS.as_dict()) == 11
    for name in DEFAULT_PARAMS.as_dict():
        assert page.locator(f"#{name}").count() == 1, name

    # Moving a slider twice quickly sends one conversion with the final value.
    requests = []
    page.on(
        "request",
        lambda r: requests.append(r.post_data_json) if r.url.endswith("/api/convert") else None,
    )
    with page.expect_response(lambda r: r.url.endswith("/api/convert")) as answer:
        page.locator("#path_precision").focus()
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        assert page.locator("#path_precision-value").inner_text() == "0"
        assert page.locator("#preset").input_value() == ""  # now custom
    assert answer.value.ok
    assert [r["path_precision"] for r in requests] == [0]
    wait_for_result(page)

    # A preset sets every control and converts.
    with page.expect_response(lambda r: r.url.endswith("/api/convert")) as answer:
        page.select_option("#preset", "bw")
    assert answer.value.request.post_data_json["colormode"] == "binary"
    wait_for_result(page)
    page.wait_for_function("document.querySelector('#metric-ssim').textContent !== '–'")
    screenshot(page, "manual-bw")


def test_drop_and_paste_choose_the_image(live_url, open_page, console):
    console.allow("404")  # a server without /api/batches: the page converts them one by one
    page = open_page(live_url)
    use_manual(page)

    drop(page, TEXT)
    wait_for_result(page)
    assert page.locator("#input-name").inner_text() == TEXT.name

    with page.expect_response(lambda r: r.url.endswith("/api/convert")):
        paste(page, SIMPLE)
    wait_for_result(page)
    name = page.locator("#input-name").inner_text()
    assert name.startswith("pasted-")
    assert name.endswith(".png")
    assert image_rendered(page, "#input-preview")

    # Several files dropped at once make a batch: every one is converted, none silently left out.
    drop(page, TEXT, GRADIENT)
    page.wait_for_function(
        "document.querySelector('#batch-summary').textContent.includes('finished')",
        timeout=60_000,
    )
    assert page.locator("#batch-summary").inner_text().startswith("2 of 2 converted")
    assert page.locator("#batch-list .name").all_inner_texts() == [TEXT.name, GRADIENT.name]


def test_files_the_server_would_refuse_are_refused_before_uploading(live_url, open_page):
    page = open_page(live_url)
    uploads = []
    page.on("request", lambda r: uploads.append(r) if r.url.endswith("/api/upload") else None)

    drop_generated(page, "huge.png", 75 * 1024 * 1024, "image/png")
    error = page.locator("#error")
    error.wait_for()
    assert "huge.png is 75.0 MB; the limit is 10.0 MB" in error.inner_text()

    drop_generated(page, "notes.txt", 120, "text/plain")
    assert "notes.txt is text/plain, not an image" in error.inner_text()
    assert uploads == []


def test_server_refusals_read_without_the_field_prefix(live_url, open_page, console, tmp_path):
    console.allow("400")  # the upload's answer
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(SIMPLE.read_bytes()[:3000])  # Chromium still shows the top rows
    page = open_page(live_url)
    use_manual(page)
    with page.expect_response(lambda r: r.url.endswith("/api/upload")) as answer:
        choose(page, truncated)
    assert answer.value.status == 400
    assert answer.value.json()["error"].startswith("file: ")
    error = page.locator("#error")
    error.wait_for()
    assert error.inner_text().startswith("The PNG file is damaged or truncated")


# Resolves when the page has not scrolled for 100 ms.
SCROLL_AT_REST = """() => new Promise(resolve => {
  let last = null;
  const tick = () => {
    const y = window.scrollY;
    if (y === last) { resolve(); } else { last = y; setTimeout(tick, 100); }
  };
  tick();
})"""


def test_mobile_width_scrolls_to_the_result(live_url, open_page):
    page = open_page(live_url, viewport=MOBILE, is_mobile=True, has_touch=True)
    use_manual(page)
    choose(page, SIMPLE)
    wait_for_result(page)
    # The page scrolls (smoothly) until the result's top is in view.
    in_view = f"""() => {{
      const top = document.getElementById('workspace').getBoundingClientRect().top;
      return top >= -5 && top < {MOBILE["height"] / 2};
    }}"""
    page.wait_for_function(in_view, timeout=5000)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= MOBILE["width"], f"the page is {width}px wide at 375px"
    assert image_rendered(page, "#svg-preview")
    assert image_rendered(page, "#input-preview")

    # Two fingers spreading apart zoom in (touch events, as a phone sends them), once the
    # smooth scroll has come to rest: fingers placed on a moving pane miss it.
    page.evaluate(SCROLL_AT_REST)
    for_readme(screenshot(page, "mobile-result"), "mobile-375")
    box = page.locator("#pane-svg").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, spread: float) -> None:
        points = [{"x": cx - spread, "y": cy, "id": 1}, {"x": cx + spread, "y": cy, "id": 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    before = zoom_percent(page)
    touch("touchStart", 20)
    for spread in range(25, 90, 5):
        touch("touchMove", spread)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert zoom_percent(page) > 2 * before


def test_progress_counts_time_and_cancel_stops_waiting(live_url, open_page):
    page = open_page(live_url)
    page.select_option("#tier", "3")
    page.fill("#time_budget", "1")
    choose(page, GRADIENT)
    page.wait_for_selector("#progress:not([hidden])")
    page.wait_for_function(
        "document.querySelector('#progress-stage').textContent.includes('tier 3')"
    )
    assert "1.5 s expected" in page.locator("#progress-time").inner_text()
    page.click("#cancel-button")
    assert page.locator("#progress").is_hidden()
    assert page.locator("#error").inner_text() == "Conversion cancelled."
    assert page.locator("#output").is_hidden()
