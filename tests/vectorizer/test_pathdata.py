"""optimize_path: any path data in, the shortest path data drawing the same outline out."""

from __future__ import annotations

import contextlib
import io
import random

import numpy as np
import pytest
from PIL import Image
from scipy.spatial import cKDTree

from vectorizer.pathdata import DEFAULT_TOLERANCE, PathDataError, optimize_path, parse_path
from vectorizer.preparation import Preparation, prepare
from vectorizer.quality import ssim_rgb
from vectorizer.render import render_svg
from vectorizer.svgclean import clean_svg
from vectorizer.tracing import TraceParams, trace_rgba


def test_parse_path_spells_out_every_command_in_absolute_form():
    segments = parse_path("M1 2h3v4l1 1 2 2c1 0 2 0 3 1s2 2 3 3q1 1 2 0t2 0a1 2 30 0 1 3 3z")

    assert segments == [
        ("M", 1, 2),
        ("L", 4, 2),
        ("L", 4, 6),
        ("L", 5, 7),
        ("L", 7, 9),
        ("C", 8, 9, 9, 9, 10, 10),
        ("C", 11, 11, 12, 12, 13, 13),  # s mirrors the previous second control point
        ("Q", 14, 14, 15, 13),
        ("Q", 16, 12, 17, 13),  # t mirrors the previous control point
        ("A", 1, 2, 30, 0, 1, 20, 16),
        ("Z",),
    ]


def test_parse_path_reads_compact_numbers():
    assert parse_path("M.5.5-1e-1,2E1l-.5-.5") == [
        ("M", 0.5, 0.5),
        ("L", -0.1, 20),
        ("L", -0.6, 19.5),
    ]


def test_parse_path_splits_arc_flags_glued_to_numbers():
    assert parse_path("M0 0a5 5 0 011.5 2") == [("M", 0, 0), ("A", 5, 5, 0, 0, 1, 1.5, 2)]


def test_parse_path_starts_a_subpath_where_z_ended():
    assert parse_path("M1 1 L5 1 L5 5 Z l2 0") == [
        ("M", 1, 1),
        ("L", 5, 1),
        ("L", 5, 5),
        ("Z",),
        ("M", 1, 1),
        ("L", 3, 1),
    ]


@pytest.mark.parametrize(
    "d",
    [
        "L1 2",  # no move-to first
        "M1",  # too few numbers
        "M1 2 L3",
        "M1 2 X3 4",  # no such command
        "M1 2 L--3 4",
        "M1 2 L3 4 Z 5",  # Z takes no numbers
        "M0 0 A1 1 0 2 0 1 1",  # a flag is 0 or 1
        "M0 0 A1 1 0 0 1 1",
        "M1e999 0 L1 1",  # infinite
        "M1 2 L3 4 #",
    ],
)
def test_optimize_path_refuses_bad_path_data(d):
    with pytest.raises(PathDataError):
        optimize_path(d)


def test_path_data_error_is_a_value_error():
    assert issubclass(PathDataError, ValueError)


def test_optimize_path_never_fails_otherwise_on_random_garbage():
    rng = random.Random(7)
    alphabet = "MmLlHhVvCcSsQqTtAaZz0123456789.-+eE ,XQ"
    for _ in range(2000):
        d = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        with contextlib.suppress(PathDataError):
            assert isinstance(optimize_path(d, precision=rng.randrange(3)), str)


def test_optimize_path_of_nothing_is_nothing():
    assert optimize_path("") == ""
    assert optimize_path("  ") == ""


def test_optimize_path_rounds_points_not_deltas():
    # Steps of 0.4 rounded one by one would all be 0; rounded points step 0 1 1 2.
    assert optimize_path("M0 0 l.4 5 .4-5 .4 5 .4-5") == "m0 0v5l1-5v5l1-5"


def test_optimize_path_turns_straight_curves_into_lines():
    assert optimize_path("M0 0 C1 0 2 0 30 0 C30 10 30 20 30 40 Q30 45 30 50") == "m0 0h30v50"


def test_optimize_path_keeps_curves_that_bend():
    assert optimize_path("M0 0 C0 10 10 10 10 0") == "m0 0c0 10 10 10 10 0"


def test_optimize_path_keeps_a_straight_curve_that_overshoots_its_end():
    # Control points on the chord's line but past its end: the curve runs out and back.
    assert optimize_path("M0 0 C20 0 20 0 10 0") == "m0 0c20 0 20 0 10 0"


def test_optimize_path_drops_zero_length_segments_and_empty_subpaths():
    assert optimize_path("M5 5 L5 5 C5 5 5 5 5 5 M1 1 Z M0 0 L3 4") == "m0 0 3 4"


def test_optimize_path_merges_lines_going_on_in_the_same_direction():
    assert optimize_path("M0 0 L1 1 L2 2 L3 3 L10 0 L20 0") == "m0 0 3 3 7-3h10"


def test_optimize_path_keeps_a_line_that_turns_back():
    assert optimize_path("M0 0 H10 H5") == "m0 0h10-5"


def test_optimize_path_merges_within_tolerance_only():
    # A run of lines drops a point only within 0.58 of the tolerance (straight edges show).
    d = "M0 0 L10 .4 L20 0"

    assert optimize_path(d, precision=1) == "M0 0 10 .4 20 0"
    assert optimize_path(d, precision=1, tolerance=0.5) == "M0 0 10 .4 20 0"
    assert optimize_path(d, precision=1, tolerance=0.7) == "m0 0h20"


def test_optimize_path_judges_a_straight_curve_by_how_far_the_curve_bends():
    # Control points .6 off the chord bend the curve at most 3/4 of that: .45.
    d = "M0 0 C10 .6 20 .6 30 0"

    assert optimize_path(d, precision=1, tolerance=0.5) == "m0 0h30"
    assert optimize_path(d, precision=1, tolerance=0.4) == "m0 0q15 .9 30 0"  # a quadratic


def test_optimize_path_mirrors_a_cubic_whose_curve_moves_within_tolerance():
    # The mirror of (10, 10) about (10, 0) is (10, -10): the first control point is 1 off,
    # which moves the curve at most 4/9 of that.
    d = "M0 0 C0 10 10 10 10 0 C11 -10 20 -10 20 0"

    assert optimize_path(d, tolerance=0.5) == "m0 0c0 10 10 10 10 0s10-10 10 0"
    assert optimize_path(d, tolerance=0.4) == "m0 0c0 10 10 10 10 0 1-10 10-10 10 0"


def test_optimize_path_drops_the_line_that_z_draws():
    assert optimize_path("M0 0 L10 0 L10 10 L0 10 L0 0 Z") == "M0 0H10V10H0z"


def test_optimize_path_drops_a_last_line_on_the_way_back_to_the_start():
    assert optimize_path("M0 0 L10 0 L10 10 L5 5 Z") == "m0 0h10v10z"


def test_optimize_path_writes_smooth_cubics():
    # After a line, s starts tangent to it: its first control point is the current point.
    d = "M0 0 C0 10 10 10 10 0 C10 -10 20 -10 20 0 L30 0 C30 0 35 5 40 0"

    assert optimize_path(d) == "m0 0c0 10 10 10 10 0s10-10 10 0h10s5 5 10 0"


def test_optimize_path_writes_quadratics_and_smooth_quadratics():
    # Both cubics are exactly raised quadratics (controls 15 30 and 45 -30).
    d = "M0 0 C10 20 20 20 30 0 C40 -20 50 -20 60 0"

    assert optimize_path(d) == "m0 0q15 30 30 0t30 0"


def test_optimize_path_chooses_absolute_or_relative_per_segment():
    assert optimize_path("M1000 1000 L1001 1001 L0 0") == "m1000 1000 1 1L0 0"


def test_optimize_path_leaves_out_separators_and_leading_zeros():
    d = optimize_path("M10.5 10.5 L11 11.5 L10.5 11 L11 10.5", precision=1)

    assert d == "m10.5 10.5.5 1-.5-.5.5-.5"


def test_optimize_path_bakes_an_offset():
    assert optimize_path("M0 0 L10 0 L10 10Z", offset=(3.2, 4.0)) == "m3 4h10v10z"


def test_optimize_path_keeps_arcs():
    d = optimize_path("M10 10 A5 5 0 0 1 20 20 a5 5 30 1 0 -5 -5 A0 5 0 0 1 0 0")

    assert d == "m10 10a5 5 0 0 1 10 10 5 5 30 1 0-5-5L0 0"


@pytest.mark.parametrize("precision", [0, 1, 2])
def test_optimize_path_stays_within_rounding_and_tolerance(precision):
    rng = random.Random(precision)
    unit = 10**-precision
    for _ in range(20):
        d = _random_path(rng, size=200 * unit)
        out = optimize_path(d, precision=precision)

        # Each point moves at most half a grid step per axis, then simplification adds at most
        # `tolerance` (DEFAULT_TOLERANCE steps): the outlines are within that of each other.
        bound = (0.5 * 2**0.5 + DEFAULT_TOLERANCE) * unit
        assert _outline_distance(out, d) <= bound
        assert _outline_distance(d, out) <= bound
        assert len(out) <= len(d)


def test_optimize_path_renders_like_the_original():
    rng = random.Random(11)
    d = " ".join(_random_path(rng, arcs=True) for _ in range(6))
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-50 -50 300 300"><path d="{}"/></svg>'

    original = render_svg(svg.format(d), 300, 300)
    optimized = render_svg(svg.format(optimize_path(d, precision=2)), 300, 300)

    assert ssim_rgb(original, optimized) >= 0.999


def test_clean_svg_at_precision_0_renders_like_a_4x_trace(real_logo_png):
    rgba = np.asarray(Image.open(io.BytesIO(real_logo_png)).convert("RGBA").resize((256, 256)))
    traced = prepare(rgba, Preparation(scale=4, palette_size=-1))
    raw = trace_rgba(traced, TraceParams(path_precision=3, color_precision=8))
    size = {"view_box": (0, 0, 1024, 1024), "width": 256, "height": 256}

    clean = clean_svg(raw, precision=0, **size)
    reference = clean_svg(raw, precision=3, **size)

    # A grid step is a quarter of a displayed pixel.
    assert ssim_rgb(render_svg(reference, 256, 256), render_svg(clean, 256, 256)) >= 0.998
    assert len(clean) < 0.3 * len(reference)


def _random_path(rng: random.Random, *, size: float = 200, arcs: bool = False) -> str:
    """Return a random path of every command kind (arcs optional) in a `size` square."""

    def n() -> str:
        return f"{rng.uniform(0, size):.5f}"

    def small() -> str:
        return f"{rng.uniform(-size / 10, size / 10):.5f}"

    parts = [f"M{n()} {n()}"]
    kinds = ["L", "l", "H", "h", "V", "v", "C", "c", "S", "s", "Q", "q", "T", "t", "straight"]
    for _ in range(rng.randrange(3, 25)):
        kind = rng.choice([*kinds, "A", "a"] if arcs else kinds)
        if kind in "LT":
            parts.append(f"{kind}{n()} {n()}")
        elif kind in "lt":
            parts.append(f"{kind}{small()} {small()}")
        elif kind in "HV":
            parts.append(f"{kind}{n()}")
        elif kind in "hv":
            parts.append(f"{kind}{small()}")
        elif kind == "C":
            parts.append(f"C{n()} {n()} {n()} {n()} {n()} {n()}")
        elif kind in "cS":
            count = 6 if kind == "c" else 4
            parts.append(kind + " ".join(small() if kind == "c" else n() for _ in range(count)))
        elif kind in "sq":
            parts.append(kind + " ".join(small() for _ in range(4)))
        elif kind == "Q":
            parts.append(f"Q{n()} {n()} {n()} {n()}")
        elif kind == "straight":  # a curve along its chord, as vtracer writes lines
            dx, dy = rng.uniform(-size / 10, size / 10), rng.uniform(-size / 10, size / 10)
            parts.append(f"c{dx / 3:.3f} {dy / 3:.3f} {2 * dx / 3:.3f} {2 * dy / 3:.3f} {dx} {dy}")
        else:
            flags = f"{rng.randrange(2)} {rng.randrange(2)}"
            end = f"{small()} {small()}" if kind == "a" else f"{n()} {n()}"
            parts.append(
                f"{kind}{rng.uniform(5, 50):.3f} {rng.uniform(5, 50):.3f} 20 {flags} {end}"
            )
        if rng.random() < 0.1:
            parts.append("z")
    return " ".join(parts)


def _pieces(d: str, steps: int = 33) -> np.ndarray:
    """Return points along each drawn segment of the path (closing lines included)."""
    t = np.linspace(0, 1, steps)[:, None]
    pieces = []
    x = y = start_x = start_y = 0.0
    for seg in parse_path(d):
        verb = seg[0]
        if verb == "M":
            x, y = start_x, start_y = seg[1], seg[2]
            continue
        p0 = np.array([x, y])
        if verb == "Z":
            curve = p0 + t * (np.array([start_x, start_y]) - p0)
        elif verb == "L":
            curve = p0 + t * (np.array(seg[1:]) - p0)
        elif verb == "Q":
            p1, p2 = np.array(seg[1:3]), np.array(seg[3:5])
            curve = (1 - t) ** 2 * p0 + 2 * t * (1 - t) * p1 + t**2 * p2
        else:
            p1, p2, p3 = np.array(seg[1:3]), np.array(seg[3:5]), np.array(seg[5:7])
            curve = (
                (1 - t) ** 3 * p0 + 3 * t * (1 - t) ** 2 * p1 + 3 * t**2 * (1 - t) * p2 + t**3 * p3
            )
        pieces.append(curve)
        x, y = curve[-1]
    return np.stack(pieces)


def _outline_distance(d: str, other: str) -> float:
    """Return the largest distance from a point of path `d` to the outline of `other`."""
    points = _pieces(d).reshape(-1, 2)
    dense = _pieces(other, steps=1001)  # a polyline this fine strays from the curves by ~0
    a, b = dense[:, :-1].reshape(-1, 2), dense[:, 1:].reshape(-1, 2)
    _, near = cKDTree((a + b) / 2).query(points, k=16)  # the nearest chords, measured exactly
    a, ab = a[near], (b - a)[near]
    ap = points[:, None, :] - a
    u = np.clip((ap * ab).sum(axis=2) / np.maximum((ab**2).sum(axis=2), 1e-18), 0, 1)
    return float(np.sqrt(((ap - u[..., None] * ab) ** 2).sum(axis=2)).min(axis=1).max())
