"""What a user does on the converter page, as functions the browser tests share."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

DATA = Path(__file__).resolve().parents[1] / "data"
SIMPLE = DATA / "si-mdx.png"
TEXT = DATA / "dev-netlify-original-wordmark.png"
GRADIENT = DATA / "lh-fastgpt-color.png"
COMPLEX = DATA / "tw-1f6f3.png"
LOGOS = [SIMPLE, TEXT, GRADIENT, COMPLEX]

SVG_RENDERED = """() => {
  const img = document.querySelector('#svg-preview');
  return !img.hidden && img.complete && img.naturalWidth > 0;
}"""


def use_manual(page: Page) -> None:
    """Switch the AI toggle off (vtracer settings)."""
    if page.locator("#ai-toggle").is_checked():
        page.locator("label.switch").click()
    assert not page.locator("#ai-toggle").is_checked()


def pick(page: Page, name: str, value: str) -> None:
    """Click the label of a radio button (layout, background), as a user does."""
    page.locator(f'label:has(input[name="{name}"][value="{value}"])').click()


def choose(page: Page, *paths: Path) -> None:
    """Choose files with the file picker."""
    page.set_input_files("#file", [str(p) for p in paths])


def wait_for_result(page: Page, timeout: float = 60_000) -> None:
    """Wait until the output bar shows and the SVG image has rendered."""
    page.wait_for_selector("#output:not([hidden])", timeout=timeout)
    page.wait_for_function(SVG_RENDERED, timeout=timeout)


def image_rendered(page: Page, selector: str) -> bool:
    return page.evaluate(
        "(s) => { const i = document.querySelector(s); return i.complete && i.naturalWidth > 0; }",
        selector,
    )


def _file_js(path: Path, name: str | None = None, mime: str = "image/png") -> dict:
    return {
        "b64": base64.b64encode(path.read_bytes()).decode(),
        "name": name or path.name,
        "type": mime,
    }


MAKE_FILES = """(files) => {
  const dt = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], f.name, { type: f.type }));
  }
  return dt;
}"""


def drop(page: Page, *paths: Path) -> None:
    """Drop files on the drop zone, as a drag from the desktop does."""
    files = [_file_js(p) for p in paths]
    page.evaluate(
        f"""(files) => {{
          const dt = ({MAKE_FILES})(files);
          const zone = document.getElementById('drop-zone');
          zone.dispatchEvent(new DragEvent('dragenter', {{ dataTransfer: dt, bubbles: true }}));
          const init = {{ dataTransfer: dt, bubbles: true, cancelable: true }};
          zone.dispatchEvent(new DragEvent('drop', init));
        }}""",
        files,
    )


def paste(page: Page, path: Path, name: str = "image.png") -> None:
    """Paste an image, as Ctrl+V after copying one from another program does."""
    files = [_file_js(path, name)]
    page.evaluate(
        f"""(files) => {{
          const dt = ({MAKE_FILES})(files);
          const init = {{ clipboardData: dt, bubbles: true }};
          document.dispatchEvent(new ClipboardEvent('paste', init));
        }}""",
        files,
    )


def drop_generated(page: Page, name: str, size: int, mime: str) -> None:
    """Drop a file of `size` zero bytes made in the page (no 75 MB transfer from Python)."""
    page.evaluate(
        """([name, size, type]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array(size)], name, { type }));
          const zone = document.getElementById('drop-zone');
          const init = { dataTransfer: dt, bubbles: true, cancelable: true };
          zone.dispatchEvent(new DragEvent('drop', init));
        }""",
        [name, size, mime],
    )


def zoom_percent(page: Page) -> int:
    return int(page.locator("#zoom-level").inner_text().replace("%", "").strip())


def stage_boxes(page: Page) -> list[dict]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#viewer .stage')].map((s) => {
          const r = s.getBoundingClientRect(), p = s.parentElement.getBoundingClientRect();
          return { x: r.left - p.left, y: r.top - p.top, w: r.width, h: r.height };
        })"""
    )


def zoom_at(page: Page, fx: float, fy: float, percent: int) -> None:
    """Wheel-zoom to at least `percent` around the image point at fractions (fx, fy)."""
    for _ in range(40):
        if zoom_percent(page) >= percent:
            break
        stage = page.locator("#pane-svg .stage").bounding_box()
        pane = page.locator("#pane-svg").bounding_box()
        x = min(max(stage["x"] + stage["width"] * fx, pane["x"] + 1), pane["x"] + pane["width"] - 1)
        y = min(
            max(stage["y"] + stage["height"] * fy, pane["y"] + 1), pane["y"] + pane["height"] - 1
        )
        page.mouse.move(x, y)
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(30)
    if zoom_percent(page) < percent:
        raise AssertionError(f"could not zoom to {percent} %")
    # Drag the point to the middle of the view (where the overlay's split is).
    stage = page.locator("#pane-svg .stage").bounding_box()
    pane = page.locator("#pane-svg").bounding_box()
    page.mouse.move(stage["x"] + stage["width"] * fx, stage["y"] + stage["height"] * fy)
    page.mouse.down()
    page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 2, steps=5)
    page.mouse.up()


def run_axe(page: Page, axe_source: str) -> list[dict]:
    """Run axe-core (WCAG 2 A/AA and best practices) and return its violations."""
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {
            runOnly: {
              type: 'tag',
              values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
            },
          });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
        }"""
    )
    return json.loads(json.dumps(result))
