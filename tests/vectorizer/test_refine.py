"""Outline refinement (tier 3): moving traced outlines to where the input's anti-aliasing says."""

from __future__ import annotations

import re

import numpy as np
import pytest

from vectorizer.pathdata import parse_path
from vectorizer.quality import ssim_rgb
from vectorizer.refine import refine_svg
from vectorizer.render import render_svg


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


SIZE = 64


def square_svg(left: float, top: float, side: float, *, grid: int = 2) -> str:
    """A black square on a grid of `grid` units per px, as the layers tracer writes it."""
    x0, y0, x1, y1 = (v * grid for v in (left, top, left + side, top + side))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE * grid} {SIZE * grid}" '
        f'width="{SIZE}" height="{SIZE}"><path fill="#000000" '
        f'd="M{x0:g} {y0:g}L{x1:g} {y0:g}L{x1:g} {y1:g}L{x0:g} {y1:g}Z"/></svg>'
    )


def as_input(svg: str) -> np.ndarray:
    """The SVG rasterised with anti-aliasing, as an opaque RGBA upload."""
    rgb = render_svg(svg, SIZE, SIZE)
    return np.dstack([rgb, np.full((SIZE, SIZE), 255, np.uint8)])


def x_coordinates(svg: str) -> list[float]:
    """Every absolute x of the refined square's path, in input px."""
    view_box = re.search(r'viewBox="0 0 (\d+)', svg)
    assert view_box
    grid = int(view_box.group(1)) / SIZE
    d = re.search(r' d="([^"]+)"', svg)
    assert d
    return [seg[1] / grid for seg in parse_path(d.group(1)) if seg[0] in "ML"]


def test_an_outline_moves_to_where_the_anti_aliasing_puts_it():
    # The input's square starts 0.3 px further right than the trace says.
    rgba = as_input(square_svg(12.3, 12.0, 30.0))

    refined, before, after = refine_svg(square_svg(12.0, 12.0, 30.0), rgba)

    assert after < before / 4
    xs = x_coordinates(refined)
    assert min(xs) == pytest.approx(12.3, abs=0.13)  # a quarter-px grid: within its half step
    assert max(xs) == pytest.approx(42.3, abs=0.13)
    # Its sides moved by their ends only: still straight lines, not curves.
    d = re.search(r' d="([^"]+)"', refined)
    assert d
    assert not re.search(r"[CcSsQqTt]", d.group(1))


def test_a_right_outline_stays_where_it_is():
    svg = square_svg(12.0, 12.0, 30.0)

    refined, before, after = refine_svg(svg, as_input(svg))

    assert refined == svg  # nothing to gain: the traced SVG comes back as it was
    assert after == before


def test_gradient_coordinates_follow_the_finer_grid():
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE * 2} {SIZE * 2}" '
        f'width="{SIZE}" height="{SIZE}"><defs><linearGradient id="g0" '
        'gradientUnits="userSpaceOnUse" x1="20" y1="0" x2="100" y2="0">'
        '<stop offset="0" stop-color="#ff0000"/><stop offset="1" stop-color="#0000ff"/>'
        '</linearGradient></defs><path fill="url(#g0)" d="M20 20H100V100H20Z"/></svg>'
    )
    shifted = svg.replace("M20 20H100V100H20Z", "M21 20H101V100H21Z")

    refined, before, after = refine_svg(shifted, as_input(svg))

    assert after < before
    assert 'x2="' in refined
    assert ssim_rgb(render_svg(refined, SIZE, SIZE), render_svg(svg, SIZE, SIZE)) > 0.99


def test_an_svg_it_cannot_read_comes_back_unchanged():
    arc = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
        '<path fill="#000000" d="M10 32A22 22 0 1 0 54 32A22 22 0 1 0 10 32Z"/></svg>'
    )

    refined, before, after = refine_svg(arc, as_input(square_svg(12, 12, 30)))

    assert refined == arc
    assert after == before
