"""What misled a first-time user: empty results shown as successes, a tier 3 hint for every tier,
a history card per slider move, SSIM rounded up to 1, and a batch panel that disagreed with itself.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from tests.browser.pages import (
    LOGOS,
    SIMPLE,
    TEXT,
    choose,
    drop_generated,
    use_manual,
    wait_for_result,
)

# At every change of the batch panel: the summary's count, the rows that say Done, and the ZIP link.
WATCH_BATCH = """() => {
  window.batchSnapshots = [];
  const root = document.querySelector('#batch');
  const take = () => {
    const zip = document.querySelector('#batch-zip');
    window.batchSnapshots.push({
      summary: document.querySelector('#batch-summary').textContent,
      doneRows: [...root.querySelectorAll('.batch-item .status')]
        .filter((s) => s.textContent.startsWith('Done')).length,
      href: zip.getAttribute('href'),
      disabled: zip.getAttribute('aria-disabled'),
      text: zip.textContent,
    });
  };
  new MutationObserver(take).observe(root, { subtree: true, childList: true, attributes: true,
    characterData: true });
}"""


def _light_logo(tmp_path):
    """A pale logo on white: nothing in it is dark enough for black and white."""
    path = tmp_path / "pale-logo.png"
    image = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((32, 32, 224, 224), fill=(190, 220, 250))
    draw.rectangle((96, 96, 160, 160), fill=(250, 235, 180))
    image.save(path)
    return path


def test_black_and_white_on_a_light_logo_says_the_result_is_empty(live_url, open_page, tmp_path):
    page = open_page(live_url)
    use_manual(page)
    page.select_option("#preset", "bw")
    choose(page, _light_logo(tmp_path))
    page.wait_for_selector("#output:not([hidden])", timeout=60_000)

    problem = page.locator("#result-problem")
    problem.wait_for(state="visible")
    text = problem.inner_text()
    assert "empty" in text
    assert "Logo preset" in text  # what to try instead
    size = page.locator("#metric-size").inner_text()
    assert "(empty)" in size
    assert "%" not in size  # no "−99 %" as if it were a gain

    page.select_option("#preset", "logo")  # the advice works: a usable result, no warning
    page.wait_for_function("document.querySelector('#result-problem').hidden", timeout=60_000)
    assert int(page.locator("#metric-paths").inner_text()) > 0


def test_time_budget_hint_follows_the_selected_tier(live_url, open_page):
    page = open_page(live_url)
    budget = page.locator("#time_budget")
    hint = page.locator("#time_budget-hint")

    for tier in ("1", "2"):
        page.select_option("#tier", tier)
        assert budget.get_attribute("placeholder") == "none"
        assert f"tier {tier}" in hint.inner_text()
        assert "searches" not in hint.inner_text()
    page.select_option("#tier", "3")
    assert budget.get_attribute("placeholder") == "4.0"
    assert hint.inner_text() == "Empty: tier 3 searches 4.0 s."
    # One hint per tier and no timing in the menu's labels.
    assert [o.strip() for o in page.locator("#tier option").all_inner_texts()] == [
        "auto · chosen per image",
        "1 · fast",
        "2 · balanced",
        "3 · best",
    ]
    assert "~" not in page.locator("#tier-hint").inner_text()


def test_history_keeps_one_card_per_file_while_its_settings_change(live_url, open_page):
    page = open_page(live_url)
    use_manual(page)
    choose(page, TEXT)
    wait_for_result(page)
    choose(page, SIMPLE)
    wait_for_result(page)
    for preset in ("icon", "illustration"):
        with page.expect_response(lambda r: r.url.endswith("/api/convert")):
            page.select_option("#preset", preset)
        wait_for_result(page)

    page.wait_for_function(
        "document.querySelector('#history-list .history-item .meta')?.textContent"
        ".includes('3 tries')"
    )
    names = page.locator("#history-list .history-item .name").all_inner_texts()
    assert names[:2] == [SIMPLE.name, TEXT.name]
    assert names.count(SIMPLE.name) == 1


def test_ssim_is_never_rounded_up_to_a_perfect_match(live_url, open_page):
    page = open_page(live_url)

    shown = page.evaluate(
        """async () => {
          const { formatSsim } = await import('/static/conversions/files.js');
          return [0.9996, 0.99996, 1, 0.8912].map(formatSsim);
        }"""
    )

    assert shown == ["0.9996", "0.9999", "1.0000", "0.8912"]


def test_batch_panel_agrees_with_itself_and_clears_the_last_error(live_url, open_page, console):
    console.allow("404")
    page = open_page(live_url)
    use_manual(page)
    drop_generated(page, "huge.png", 80 * 1024 * 1024, "image/png")
    page.wait_for_selector("#error:not([hidden])")

    page.evaluate(WATCH_BATCH)
    choose(page, *LOGOS)
    page.locator("#batch").wait_for()
    assert page.locator("#error").is_hidden()  # the single file's error is not this batch's
    page.wait_for_function(
        "document.querySelector('#batch-summary').textContent.includes('finished')",
        timeout=120_000,
    )

    snapshots = page.evaluate("window.batchSnapshots")
    assert snapshots
    for snap in snapshots:
        converted = int(snap["summary"].split(" of ")[0])
        assert converted == snap["doneRows"], snap
        # Disabled means no link at all; a link is enabled and says what it downloads.
        assert (snap["disabled"] == "true") == (snap["href"] is None), snap
        if snap["href"] is not None and "finished" not in snap["summary"]:
            assert snap["text"] == f"Download finished ({converted} of {len(LOGOS)})", snap
    zip_link = page.locator("#batch-zip")
    assert zip_link.get_attribute("aria-disabled") == "false"
    assert zip_link.inner_text() == "Download ZIP"
