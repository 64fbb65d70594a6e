"""Traced circles, ellipses and (rounded) rectangles come back exact; other shapes are left."""

from __future__ import annotations

import itertools
import re
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vectorizer.candidates import Candidate
from vectorizer.pathdata import parse_path
from vectorizer.pipeline import convert_candidate
from vectorizer.primitives import KAPPA, fit_path, fit_primitives, sample

needs_potrace = pytest.mark.skipif(shutil.which("potrace") is None, reason="potrace not installed")
BLUE = (30, 90, 200, 255)


def drawn(shape: str) -> np.ndarray:
    """Return a 128 px anti-aliased drawing of one shape (drawn at 512 px, scaled down)."""
    big = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    pen = ImageDraw.Draw(big)
    if shape == "circle":
        pen.ellipse((60, 80, 420, 440), fill=BLUE)
    elif shape == "ellipse":
        pen.ellipse((60, 140, 460, 380), fill=BLUE)
    elif shape == "rounded":
        pen.rounded_rectangle((60, 100, 460, 400), radius=60, fill=BLUE)
    elif shape == "square":
        pen.rectangle((64, 96, 452, 400), fill=BLUE)
    else:  # a five-pointed star: corners and straight runs, but no primitive
        pen.polygon(
            [(256, 40), (310, 200), (480, 200), (340, 300), (400, 470),
             (256, 370), (112, 470), (172, 300), (32, 200), (202, 200)],
            fill=BLUE,
        )  # fmt: skip
    return np.asarray(big.resize((128, 128), Image.Resampling.LANCZOS))


def only_path(svg: str) -> str:
    [d] = re.findall(r'<path fill="#[0-9a-f]{6}" d="([^"]*)"', svg)
    return d


def outline(d: str) -> np.ndarray:
    points = sample(parse_path(d))
    assert points is not None
    return points


@needs_potrace
def test_a_traced_circle_comes_back_as_a_circle():
    result = convert_candidate(drawn("circle"), Candidate(tracer="layers"), proxy=False)

    points = outline(only_path(result.svg))
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    radius = np.hypot(points[:, 0] - centre[0], points[:, 1] - centre[1])
    # A round outline (κ arcs, on whole traced units): 1 unit is 1/8 input px here.
    assert radius.max() - radius.min() < 1.5
    # The drawn circle: centre (240, 260), radius 180 of 512 px; 1024 traced units wide.
    assert centre == pytest.approx([480, 520], abs=4)
    assert radius.mean() == pytest.approx(360, abs=4)
    assert only_path(result.svg).lower().count("c") + only_path(result.svg).count("s") <= 4


@needs_potrace
@pytest.mark.parametrize(
    ("shape", "corner"),
    [("rounded", 120.0), ("square", 0.0)],  # radius 60 of 512 px = 120 traced units
)
def test_a_traced_rectangle_comes_back_with_straight_sides_and_its_corners(shape, corner):
    result = convert_candidate(drawn(shape), Candidate(tracer="layers"), proxy=False)

    segments = parse_path(only_path(result.svg))
    lines = [s for s in segments if s[0] == "L"]
    curves = [s for s in segments if s[0] == "C"]
    assert len(lines) == 4 or (corner == 0 and len(lines) == 3)  # the last side may be Z
    assert len(curves) == (4 if corner else 0)
    for _, *xy in lines:
        assert xy[0] % 1 == 0
        assert xy[1] % 1 == 0
    for before, (verb, *c) in itertools.pairwise(segments):
        if verb == "C":  # a corner: as far across as along, by the drawn radius
            x, y = before[-2:]
            assert abs(c[4] - x) == pytest.approx(corner, abs=10)
            assert abs(c[5] - y) == pytest.approx(corner, abs=10)


@needs_potrace
def test_a_shape_that_is_no_primitive_is_left_as_traced():
    svg = convert_candidate(drawn("star"), Candidate(tracer="layers"), proxy=False).svg

    assert fit_primitives(svg, precision=0) == svg
    assert fit_path(only_path(svg), tol=2.4, unit=8.0) is None


def test_fit_path_keeps_each_subpath_direction_so_holes_stay_holes():
    ring = (
        "M0 50C0 22 22 0 50 0S100 22 100 50 78 100 50 100 0 78 0 50Z"  # outer, one way
        "M30 50C30 61 39 70 50 70S70 61 70 50 61 30 50 30 30 39 30 50Z"  # hole, the other
    )

    fitted = fit_path(ring, tol=2.0)

    assert fitted is not None
    outer, hole = fitted.split("Z")[:2]

    def signed_area(d: str) -> float:
        x, y = outline(d + "Z").T
        return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))

    original_outer, original_hole = ring.split("Z")[:2]
    assert np.sign(signed_area(outer)) == np.sign(signed_area(original_outer))
    assert np.sign(signed_area(hole)) == np.sign(signed_area(original_hole))
    assert np.sign(signed_area(outer)) != np.sign(signed_area(hole))


def test_kappa_puts_the_cubic_quarter_arc_within_three_ten_thousandths_of_the_circle():
    t = np.linspace(0, 1, 101)[:, None]
    p0, p1, p2, p3 = np.array([[1, 0], [1, KAPPA], [KAPPA, 1], [0, 1]], dtype=float)
    s = 1 - t
    curve = s**3 * p0 + 3 * s * s * t * p1 + 3 * s * t * t * p2 + t**3 * p3

    assert np.abs(np.hypot(curve[:, 0], curve[:, 1]) - 1).max() < 3e-4
