"""History (reopen a conversion after a reload) and batches of several files."""

from __future__ import annotations

import io
import struct
import zipfile

from PIL import Image

from tests.browser.conftest import screenshot
from tests.browser.pages import (
    LOGOS,
    SIMPLE,
    TEXT,
    choose,
    image_rendered,
    use_manual,
    wait_for_result,
)


def test_history_lists_this_browsers_conversions_and_reopens_one(live_url, open_page):
    page = open_page(live_url)
    use_manual(page)
    choose(page, TEXT)
    wait_for_result(page)
    choose(page, SIMPLE)
    wait_for_result(page)

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    items = page.locator("#history-list .history-item")
    items.first.wait_for()
    names = items.locator(".name").all_inner_texts()
    assert names[:2] == [SIMPLE.name, TEXT.name]
    page.wait_for_function(
        "[...document.querySelectorAll('#history-list img')].slice(0, 2)"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#output").is_hidden()

    items.nth(1).click()
    wait_for_result(page)
    # The input comes back from this browser's store, beside the stored SVG.
    assert page.locator("#input-name").inner_text() == TEXT.name
    page.wait_for_function(
        "(() => { const i = document.querySelector('#input-preview');"
        " return !i.hidden && i.complete && i.naturalWidth > 0; })()"
    )
    assert page.locator("#vtracer-options").is_visible()  # its settings are back in the controls
    assert page.locator("#metric-ssim").inner_text() != "–"


def _jpeg_copy(tmp_path):
    path = tmp_path / "mdx-on-white.jpg"
    image = Image.open(SIMPLE).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    buffer = io.BytesIO()
    Image.alpha_composite(white, image).convert("RGB").save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def test_batch_of_five_files_converts_each_and_offers_a_zip(live_url, open_page, console, tmp_path):
    console.allow("404")  # the page asks for /api/batches and converts in the page without it
    page = open_page(live_url)
    use_manual(page)
    files = [*LOGOS, _jpeg_copy(tmp_path)]
    choose(page, *files)

    batch = page.locator("#batch")
    batch.wait_for()
    page.wait_for_function(
        "document.querySelector('#batch-summary').textContent.includes('finished')",
        timeout=120_000,
    )
    assert page.locator("#batch-summary").inner_text().startswith("5 of 5 converted")
    rows = page.locator("#batch-list .batch-item")
    assert rows.count() == 5
    for i in range(5):
        assert rows.nth(i).get_attribute("data-status") == "done"
        assert rows.nth(i).locator(".status").inner_text().startswith("Done · SSIM")
        assert rows.nth(i).locator("[role=progressbar]").get_attribute("aria-valuenow") == "100"
    assert page.locator("#batch-bar").get_attribute("aria-valuenow") == "100"
    screenshot(page, "batch")

    with page.expect_download() as download:
        page.click("#batch-zip")
    archive = zipfile.ZipFile(download.value.path())
    svgs = sorted(n for n in archive.namelist() if n.endswith(".svg"))
    assert svgs == sorted(f.stem + ".svg" for f in files)
    for name in svgs:
        assert archive.read(name).startswith(b"<svg")

    # A finished item opens in the compare view.
    rows.nth(1).get_by_role("button", name=f"Open {files[1].name} in the compare view").click()
    wait_for_result(page)
    assert page.locator("#input-name").inner_text() == files[1].name
    assert image_rendered(page, "#svg-preview")


def test_a_server_batch_zip_holds_the_format_and_size_chosen_beside_download(
    live_url, open_page, tmp_path
):
    page = open_page(live_url)
    use_manual(page)
    choose(page, LOGOS[0])
    wait_for_result(page)
    page.select_option("#download-format", "png")
    page.fill("#size-width", "64")

    choose(page, *LOGOS[:2])
    page.locator("#batch").wait_for()
    page.wait_for_function(
        "document.querySelector('#batch-summary').textContent.includes('finished')",
        timeout=120_000,
    )
    with page.expect_download() as download:
        page.click("#batch-zip")

    archive = zipfile.ZipFile(download.value.path())
    names = sorted(n for n in archive.namelist() if n != "report.csv")
    assert names == sorted(f"{f.stem}.{ext}" for f in LOGOS[:2] for ext in ("svg", "png"))
    png = archive.read(f"{LOGOS[0].stem}.png")
    assert struct.unpack(">II", png[16:24])[0] == 64
    assert 'width="64"' in archive.read(f"{LOGOS[0].stem}.svg").decode()
