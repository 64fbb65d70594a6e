"""The potrace layer tracer: geometry on the upscaled grid, stacking, blur, errors."""

from __future__ import annotations

import re
import shutil
import time

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from vectorizer import layers
from vectorizer.images import composite_on_white, decode_image
from vectorizer.layers import LayerParams, trace_layers
from vectorizer.preparation import estimate_palette
from vectorizer.quality import fidelity, ssim_rgb
from vectorizer.render import render_svg
from vectorizer.svgclean import clean_svg
from vectorizer.tracing import ParamError, VectorizeError, trace_bytes

needs_potrace = pytest.mark.skipif(shutil.which("potrace") is None, reason="potrace not installed")

RED = (220, 30, 40)
BLUE = (20, 60, 200)
SHARP = LayerParams(sigma=0.0, alphamax=0.0, opttolerance=0.1, turdsize=0)  # polygons only


def canvas(height: int = 40, width: int = 60) -> np.ndarray:
    return np.zeros((height, width, 4), dtype=np.uint8)


def paint(rgba: np.ndarray, rows: slice, cols: slice, colour: tuple[int, int, int]) -> None:
    rgba[rows, cols, :3] = colour
    rgba[rows, cols, 3] = 255


def path_points(d: str) -> np.ndarray:
    """Return every coordinate pair of absolute path data as an (n, 2) array."""
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return np.array(numbers).reshape(-1, 2)


def paths(svg: str) -> list[tuple[str, str]]:
    return re.findall(r'<path fill="(#[0-9a-f]{6})" d="([^"]*)"', svg)


@needs_potrace
@pytest.mark.parametrize("scale", [1, 3])
def test_trace_layers_places_shapes_on_the_upscaled_grid_without_flipping(scale):
    rgba = canvas()
    paint(rgba, slice(2, 9), slice(3, 15), RED)  # near the top left

    svg = trace_layers(rgba, np.array([RED]), SHARP, scale=scale)

    assert f'viewBox="0 0 {60 * scale} {40 * scale}" width="60" height="40"' in svg
    [(fill, d)] = paths(svg)
    assert fill == "#dc1e28"
    points = path_points(d)
    # potrace places polygon vertices within a traced pixel of the mask's corners.
    assert points.min(axis=0) == pytest.approx([3 * scale, 2 * scale], abs=1)
    assert points.max(axis=0) == pytest.approx([15 * scale, 9 * scale], abs=1)


@needs_potrace
def test_trace_layers_draws_largest_colour_first_and_stacks_the_rest_on_it():
    rgba = canvas()
    paint(rgba, slice(0, 40), slice(0, 60), BLUE)
    paint(rgba, slice(10, 30), slice(20, 40), RED)

    svg = trace_layers(rgba, np.array([RED, BLUE]), SHARP, scale=2)

    [(bottom, bottom_d), (top, _)] = paths(svg)
    assert (bottom, top) == ("#143cc8", "#dc1e28")
    # The blue layer is the whole picture (blue plus the red above it): no seam, no hole.
    assert path_points(bottom_d).min(axis=0).tolist() == [0, 0]
    assert path_points(bottom_d).max(axis=0).tolist() == [120, 80]
    assert bottom_d.count("M") == 1
    rendered = render_svg(svg, 60, 40)
    assert ssim_rgb(rendered, composite_on_white(rgba)) > 0.98


@needs_potrace
def test_trace_layers_gives_every_colour_its_own_layer_in_area_order():
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, size=(8, 3)).astype(np.uint8)
    rgba = canvas(40, 80)
    for i, colour in enumerate(colours):  # stripe i is 2 + i px wide: areas all differ
        left = sum(range(2, 2 + i)) + 2 * i
        paint(rgba, slice(0, 40), slice(left, left + 2 + i), tuple(colour))

    svg = trace_layers(rgba, colours, SHARP, scale=2)

    expected = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours[::-1]]  # widest first
    assert [fill for fill, _ in paths(svg)] == expected


@needs_potrace
def test_trace_layers_keeps_transparent_holes_open():
    rgba = canvas()
    paint(rgba, slice(5, 35), slice(10, 50), BLUE)
    rgba[15:25, 25:35] = 0  # a transparent window through the square

    svg = trace_layers(rgba, np.array([BLUE]), SHARP, scale=2)

    rendered = render_svg(svg, 60, 40)
    assert (rendered[20, 30] == 255).all()  # white page shows through the window
    assert tuple(rendered[8, 12]) == BLUE
    assert ssim_rgb(rendered, composite_on_white(rgba)) > 0.98


@needs_potrace
def test_trace_layers_blur_closes_thin_slits_that_sigma_zero_keeps():
    rgba = canvas()
    paint(rgba, slice(5, 35), slice(10, 29), BLUE)
    paint(rgba, slice(5, 35), slice(30, 50), BLUE)  # a 1 px transparent slit at x = 29

    sharp = trace_layers(rgba, np.array([BLUE]), LayerParams(sigma=0.0), scale=4)
    blurred = trace_layers(rgba, np.array([BLUE]), LayerParams(sigma=1.5), scale=4)

    assert (render_svg(sharp, 240, 160)[80, 118] == 255).all()
    assert tuple(render_svg(blurred, 240, 160)[80, 118]) == BLUE


@needs_potrace
def test_trace_layers_output_survives_clean_svg():
    rgba = canvas()
    paint(rgba, slice(4, 36), slice(6, 54), BLUE)
    paint(rgba, slice(12, 28), slice(20, 40), RED)
    svg = trace_layers(rgba, np.array([BLUE, RED]), LayerParams(), scale=4)

    cleaned = clean_svg(svg, width=60, height=40, precision=0)

    assert 'viewBox="0 0 240 160"' in cleaned
    assert cleaned.count("<path") == 2
    assert len(cleaned) < len(svg)
    before, after = render_svg(svg, 60, 40), render_svg(cleaned, 60, 40)
    assert ssim_rgb(before, after) > 0.99


@needs_potrace
def test_trace_layers_beats_vtracer_defaults_on_a_real_logo(real_logo):
    png, true_svg = real_logo
    rgba = decode_image(png).rgba
    height, width = rgba.shape[:2]
    palette = estimate_palette(rgba, 16, min_share=0.002)

    ours = trace_layers(rgba, palette, LayerParams(), scale=2)
    theirs = trace_bytes(png, {})

    assert fidelity(ours, true_svg, width, height) > fidelity(theirs, true_svg, width, height)


@needs_potrace
def test_trace_layers_with_no_colours_draws_nothing():
    rgba = canvas()
    paint(rgba, slice(5, 10), slice(5, 10), RED)

    assert "<path" not in trace_layers(rgba, np.zeros((0, 3), np.uint8), scale=2)
    assert "<path" not in trace_layers(canvas(), np.array([RED]), scale=2)


@needs_potrace
def test_trace_layers_drops_specks_up_to_turdsize():
    rgba = canvas()
    paint(rgba, slice(5, 35), slice(5, 30), BLUE)
    paint(rgba, slice(10, 12), slice(45, 47), BLUE)  # 2×2 input px

    for scale in (2, 4):  # turdsize is in input px², whatever the grid potrace traces
        kept = trace_layers(rgba, np.array([BLUE]), LayerParams(sigma=0, turdsize=3), scale=scale)
        dropped = trace_layers(
            rgba, np.array([BLUE]), LayerParams(sigma=0, turdsize=4), scale=scale
        )

        assert paths(kept)[0][1].count("M") == 2
        assert paths(dropped)[0][1].count("M") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sigma", -0.1),
        ("sigma", "0.5"),
        ("alphamax", 1.5),
        ("opttolerance", -1),
        ("turdsize", -1),
        ("turdsize", True),
        ("opttolerance", None),
    ],
)
def test_layer_params_rejects_bad_value_naming_the_field(field, value):
    with pytest.raises(ParamError) as caught:
        LayerParams(**{field: value})
    assert caught.value.field == field


def test_trace_layers_says_how_to_install_a_missing_potrace(monkeypatch):
    monkeypatch.setattr(layers, "POTRACE", "/nonexistent/potrace")
    rgba = canvas()
    paint(rgba, slice(5, 10), slice(5, 10), RED)

    with pytest.raises(VectorizeError, match="potrace is not installed"):
        trace_layers(rgba, np.array([RED]), scale=1)


def test_trace_layers_reports_a_failing_potrace(monkeypatch):
    monkeypatch.setattr(layers, "POTRACE", shutil.which("false") or "/bin/false")
    rgba = canvas()
    paint(rgba, slice(5, 10), slice(5, 10), RED)

    with pytest.raises(VectorizeError, match="potrace failed"):
        trace_layers(rgba, np.array([RED]), scale=1)


@needs_potrace
def test_trace_layers_honours_its_timeout():
    rgba = canvas()
    paint(rgba, slice(5, 10), slice(5, 10), RED)

    with pytest.raises(VectorizeError, match="out of time"):
        trace_layers(rgba, np.array([RED]), scale=1, timeout=0)


def tucked_by_definition(rank: np.ndarray, p: int, scale: int) -> np.ndarray:
    """The tucked mask of position p spelled out: colour by colour, square by square."""
    if p == 0:
        return rank >= p
    tuck, near = max(1, round(0.5 * scale)), max(2, round(1.0 * scale))
    below = binary_dilation(rank < p, np.ones((2 * tuck + 1,) * 2, dtype=bool))
    own = binary_dilation(rank == p, np.ones((2 * near + 1,) * 2, dtype=bool))
    return (rank >= p) & ~((rank > p) & below & ~own)


@pytest.mark.parametrize(("positions", "scale"), [(3, 2), (9, 4), (70, 3)])
def test_tucked_masks_match_their_definition_for_every_position(positions, scale):
    # Blobs of random positions (holes among them), many more than one bit word when 70.
    rng = np.random.default_rng(positions)
    coarse = rng.integers(-1, positions, size=(12, 16)).astype(np.int16)
    rank = np.kron(coarse, np.ones((5, 5), dtype=np.int16))

    tucked = layers._Tuck(rank, scale)

    for p in range(positions):
        np.testing.assert_array_equal(tucked.mask(p), tucked_by_definition(rank, p, scale))


@needs_potrace
def test_trace_masks_returns_each_outline_in_the_order_of_its_mask():
    masks = []
    for i in range(7):  # more masks than are ever traced at once
        mask = np.zeros((20, 80), dtype=bool)
        mask[5:15, 10 * i : 10 * i + 8] = True
        masks.append(mask)

    outlines = layers._trace_masks(iter(masks), SHARP, scale=1, deadline=time.monotonic() + 60)

    lefts = [path_points(d)[:, 0].min() for d in outlines]
    assert lefts == [10.0 * i for i in range(7)]
