"""How an input's pixels were made: drawn at their size, or drawn larger and scaled down."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vectorizer.drawing import Drawing, likeliest_drawing
from vectorizer.optimise import _error
from vectorizer.render import render_svg


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


SIZE = 64
# A ring and a slanted bar: edges at every angle, and a thin stroke where Lanczos rings.
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
    '<path fill="#1f4fb0" d="M32 8a24 24 0 1 0 0.01 0ZM32 14a18 18 0 1 1-0.01 0Z"/>'
    '<path fill="#d03020" d="M10 50L50 12L53 15L13 53Z"/></svg>'
)


def scaled_down(svg: str) -> np.ndarray:
    """The SVG drawn at twice the size and saved at SIZE px with Lanczos, as the 256 px uploads."""
    large = Image.fromarray(render_svg(svg, SIZE * 2, SIZE * 2))
    return np.asarray(large.resize((SIZE, SIZE), Image.Resampling.LANCZOS)).astype(np.float32)


def test_an_input_drawn_at_its_size_is_drawn_at_its_size():
    pixels = render_svg(SVG, SIZE, SIZE).astype(np.float32)

    drawing, error, seconds = likeliest_drawing(SVG, pixels, _error)

    assert drawing.oversample == 1
    assert error < 1e-6
    assert seconds > 0


def test_an_input_scaled_down_is_drawn_larger_and_scaled_down():
    pixels = scaled_down(SVG)

    drawing, error, _ = likeliest_drawing(SVG, pixels, _error)

    assert drawing.oversample == 2
    # Drawn so, the SVG that made the input matches it to its rounding; drawn at 64 px it does not.
    assert error < 0.01 * _error(Drawing(pixels, 1).draw(SVG), pixels)
