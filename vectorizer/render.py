"""Render SVG markup to pixels with resvg (the same renderer for every measurement)."""

from __future__ import annotations

import io
import re

import numpy as np
import resvg_py
from PIL import Image

_ROOT = re.compile(r"<svg\b[^>]*>")
_PHYSICAL_SIZE = re.compile(r'\s(?:width|height)="[^"]*(?:pt|pc|in|cm|mm)\s*"')


class RenderError(RuntimeError):
    """resvg could not render the markup."""


def render_svg(svg: str, width: int, height: int) -> np.ndarray:
    """Return the SVG rendered over white at width×height as (H, W, 3) uint8."""
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=_without_physical_size(svg),
            width=int(width),
            height=int(height),
            background="#ffffff",
            # Our SVGs hold no text; loading the system fonts costs time on every call.
            skip_system_fonts=True,
        )
    except (ValueError, BaseException) as exc:  # a Rust panic is a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise RenderError(f"resvg could not render the SVG: {exc}") from exc
    image = Image.open(io.BytesIO(bytes(png))).convert("RGB")
    if image.size != (width, height):
        # resvg keeps the aspect ratio of the viewBox; pad or squash to the asked size.
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def fit_long_side(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Return (width, height) scaled so the longer side is `long_side`, at least 1 px each."""
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _without_physical_size(svg: str) -> str:
    """Return the SVG without a root width/height in physical units (10cm), which resvg refuses.

    A render is sized in pixels by its caller; the viewBox keeps the aspect.
    """
    root = _ROOT.search(svg)
    if root is None or not _PHYSICAL_SIZE.search(root.group(0)):
        return svg
    return svg.replace(root.group(0), _PHYSICAL_SIZE.sub("", root.group(0)), 1)
