"""Gradient fills: smooth regions found and fitted, traced as one shape, drawn as one gradient."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vectorizer.candidates import Candidate
from vectorizer.gradients import (
    GradientFill,
    apply_gradients,
    extract_gradients,
    prepare_with_gradients,
)
from vectorizer.images import composite_on_white
from vectorizer.pipeline import trace_clean
from vectorizer.preparation import estimate_palette, prepare, snap_rgba
from vectorizer.quality import fidelity, ssim_rgb
from vectorizer.render import render_svg
from vectorizer.svgclean import clean_svg

DATA = Path(__file__).resolve().parents[1] / "data"
LEFT, RIGHT = (230, 40, 40), (40, 40, 230)
GREEN = (20, 160, 60)


def draw(size: int, paint, *, background=(0, 0, 0, 0), supersample: int = 4) -> np.ndarray:
    """Return an anti-aliased RGBA image: paint(x, y) gives (rgb, coverage) at pixel coords."""
    n = size * supersample
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / supersample
    rgb, inside = paint(x, y)
    back = np.array(background, dtype=np.float64)
    colour = np.where(inside[..., None], rgb, back[:3])
    alpha = np.where(inside, 255.0, back[3])
    premultiplied = np.dstack([colour * alpha[..., None] / 255.0, alpha])
    pooled = premultiplied.reshape(size, supersample, size, supersample, 4).mean(axis=(1, 3))
    out = np.zeros_like(pooled)
    out[..., 3] = pooled[..., 3]
    opaque = pooled[..., 3] > 0
    out[opaque, :3] = pooled[opaque, :3] * 255.0 / pooled[opaque, 3:4]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def linear_logo(size: int = 96, **options) -> np.ndarray:
    """A disc shaded left to right from red to blue, beside a flat green square."""

    def paint(x, y):
        t = np.clip((x - 0.1 * size) / (0.6 * size), 0, 1)[..., None]
        ramp = (1 - t) * np.array(LEFT) + t * np.array(RIGHT)
        disc = (x - 0.4 * size) ** 2 + (y - 0.45 * size) ** 2 < (0.32 * size) ** 2
        square = (x > 0.78 * size) & (x < 0.95 * size) & (y > 0.7 * size) & (y < 0.9 * size)
        rgb = np.where(square[..., None], np.array(GREEN, dtype=np.float64), ramp)
        return rgb, disc | square

    return draw(size, paint, **options)


def radial_logo(size: int = 96) -> np.ndarray:
    """A disc shaded from a light centre at (40, 44) to a dark rim."""

    def paint(x, y):
        r = np.hypot(x - 40, y - 44)
        t = np.clip(r / 40, 0, 1)[..., None]
        rgb = (1 - t) * np.array([250.0, 220, 120]) + t * np.array([150.0, 40, 20])
        return rgb, np.hypot(x - 48, y - 48) < 42

    return draw(size, paint)


def flat_logo(size: int = 96) -> np.ndarray:
    """A red disc and a blue bar: flat fills only."""

    def paint(x, y):
        disc = (x - 35) ** 2 + (y - 35) ** 2 < 25**2
        bar = (x > 45) & (x < 90) & (y > 62) & (y < 82)
        rgb = np.where(disc[..., None], np.array(LEFT, dtype=np.float64), np.array(RIGHT))
        return rgb, disc | bar

    return draw(size, paint)


def as_jpeg(rgba: np.ndarray, quality: int = 85) -> np.ndarray:
    """Return the image composited over white, saved as JPEG and decoded again (RGBA)."""
    buffer = io.BytesIO()
    Image.fromarray(composite_on_white(rgba)).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA"))


def test_extract_gradients_fits_a_linear_gradient_and_paints_its_placeholder():
    image = linear_logo()

    painted, fills = extract_gradients(image)

    assert len(fills) == 1
    fill = fills[0]
    assert fill.kind == "linear"
    x1, y1, x2, y2 = fill.geometry
    assert abs(x2 - x1) > 10 * abs(y2 - y1)  # left to right
    start, end = (
        (fill.stops[0][1], fill.stops[-1][1]) if x1 < x2 else (fill.stops[-1][1], fill.stops[0][1])
    )
    assert np.abs(np.subtract(start, LEFT)).max() < 16
    assert np.abs(np.subtract(end, RIGHT)).max() < 16
    # Inside the disc one flat colour, unlike any colour of the input; the green square stays.
    assert tuple(painted[45, 38, :3]) == fill.placeholder == tuple(painted[30, 45, :3])
    assert min(np.linalg.norm(np.subtract(fill.placeholder, c)) for c in (GREEN, LEFT, RIGHT)) > 40
    assert tuple(painted[77, 83, :3]) == GREEN
    assert (painted[..., 3] == image[..., 3]).all()


def test_extract_gradients_fits_a_radial_gradient_with_its_centre():
    _, fills = extract_gradients(radial_logo())

    assert [f.kind for f in fills] == ["radial"]
    cx, cy, _ = fills[0].geometry
    assert abs(cx - 40) < 3
    assert abs(cy - 44) < 3
    assert fills[0].rms < 4


def test_extract_gradients_gives_shapes_under_one_gradient_one_fill():
    def paint(x, y):
        t = np.clip(x / 96, 0, 1)[..., None]
        ramp = (1 - t) * np.array(LEFT, dtype=np.float64) + t * np.array(RIGHT)
        discs = (np.hypot(x - 25, y - 48) < 20) | (np.hypot(x - 72, y - 48) < 20)
        return ramp, discs

    painted, fills = extract_gradients(draw(96, paint))

    assert len(fills) == 1
    assert tuple(painted[48, 25, :3]) == tuple(painted[48, 72, :3]) == fills[0].placeholder


def test_extract_gradients_finds_the_gradient_through_jpeg_noise():
    _, fills = extract_gradients(as_jpeg(linear_logo(128)))

    assert [f.kind for f in fills] == ["linear"]


@pytest.mark.parametrize("make", [flat_logo, lambda: as_jpeg(flat_logo())])
def test_extract_gradients_leaves_flat_fills_alone(make):
    image = make()

    painted, fills = extract_gradients(image)

    assert fills == []
    assert painted is image or (painted == image).all()


def test_extract_gradients_leaves_two_fills_with_a_soft_edge_alone():
    # Two close tones whose edge is blurred over a few pixels, as JPEG does: smooth enough to
    # be one region, but a step, not a ramp.
    x = np.arange(96, dtype=np.float64)
    t = np.clip((x - 30) / 4, 0, 1)[:, None]
    row = (1 - t) * np.array([206.0, 197, 214]) + t * np.array([190.0, 160, 205])
    image = np.full((96, 96, 4), 255, dtype=np.uint8)
    image[..., :3] = np.rint(row)[None]

    _, fills = extract_gradients(image)

    assert fills == []


def test_extract_gradients_leaves_texture_alone():
    rng = np.random.default_rng(0)
    image = np.full((96, 96, 4), 255, dtype=np.uint8)
    # A smooth but unordered field: colour changes slowly, no linear or radial order.
    field = rng.normal(size=(12, 12, 3))
    big = np.asarray(
        Image.fromarray(np.uint8(np.clip(128 + 60 * field, 0, 255))).resize(
            (96, 96), Image.Resampling.BICUBIC
        )
    )
    image[..., :3] = big

    _, fills = extract_gradients(image)

    assert fills == []


@pytest.mark.parametrize("palette", [None, [[255, 255, 255], [230, 40, 40], [40, 40, 230]]])
def test_placeholders_chosen_with_the_palette_take_no_other_pixel(palette):
    image = linear_logo(128, background=(255, 255, 255, 255))
    snap_to = np.array(palette if palette is not None else estimate_palette(image, 16))

    painted, fills = extract_gradients(image, palette=snap_to)
    snapped = snap_rgba(painted, np.vstack([snap_to, [f.placeholder for f in fills]]))

    assert len(fills) == 1
    became_placeholder = (snapped[..., :3] == fills[0].placeholder).all(axis=2)
    repainted = (painted != image).any(axis=2)
    assert became_placeholder[~repainted].sum() == 0


def test_extract_gradients_drops_a_gradient_no_placeholder_can_stand_for_safely():
    # Snapping to white alone, every placeholder is nearer the green square (or its
    # anti-aliased rim) than white is: the gradient stays bands rather than take them.
    image = linear_logo(128, background=(255, 255, 255, 255))

    painted, fills = extract_gradients(image, palette=np.array([[255, 255, 255]]))

    assert fills == []
    assert (painted == image).all()


PLACEHOLDER_FILL = GradientFill(
    placeholder=(255, 0, 3),
    kind="linear",
    geometry=(10.0, 20.0, 60.25, 20.0),
    stops=((0.0, (230, 40, 40)), (0.5, (136, 136, 136)), (1.0, (40, 40, 230))),
)
TRACED = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" width="100" height="100">'
    '<path d="M0 0h200v200h-200z" fill="#FFFFFF"/>'
    '<path d="M10 10h100v100h-100z" fill="#FC0206"/>'
    '<path d="M50 50h10v10h-10z" fill="#14A03C"/></svg>\n'
)


def test_apply_gradients_swaps_the_placeholder_fill_for_a_scaled_gradient():
    svg = apply_gradients(TRACED, [PLACEHOLDER_FILL], scale=2)

    assert 'fill="url(#g0)"' in svg  # a fill a few units off the placeholder still matches
    assert 'fill="#FFFFFF"' in svg
    assert 'fill="#14A03C"' in svg
    gradient = re.search(r"<defs><linearGradient [^>]*>", svg).group(0)
    assert 'gradientUnits="userSpaceOnUse"' in gradient
    assert 'x1="20" y1="40" x2="120.5" y2="40"' in gradient
    assert '<stop offset=".5" stop-color="#888"/>' in svg


def test_apply_gradients_output_survives_clean_svg():
    svg = apply_gradients(TRACED, [PLACEHOLDER_FILL], scale=2)

    cleaned = clean_svg(svg)

    assert "<linearGradient" in cleaned
    assert 'fill="url(#g0)"' in cleaned
    assert (
        render_svg(cleaned, 100, 100)[40, 20].tolist() == render_svg(svg, 100, 100)[40, 20].tolist()
    )


def test_apply_gradients_without_its_placeholder_changes_nothing():
    other = GradientFill(
        (0, 255, 255), "radial", (5.0, 5.0, 3.0), ((0.0, (0, 0, 0)), (1.0, (9, 9, 9)))
    )

    assert apply_gradients(TRACED, [other], scale=2) == TRACED
    assert apply_gradients(TRACED, [], scale=2) == TRACED


def test_apply_gradients_picks_ids_the_svg_does_not_use():
    svg = TRACED.replace('fill="#FFFFFF"', 'id="g0" fill="#FFFFFF"')

    assert 'fill="url(#gg0)"' in apply_gradients(svg, [PLACEHOLDER_FILL])


def _trace(rgba: np.ndarray, *, gradients: bool, long_side: int = 512) -> str:
    height, width = rgba.shape[:2]
    prep, params = Candidate(long_side=long_side).materialize(height, width)
    if not gradients:
        return trace_clean(prepare(rgba, prep), params, out_size=(width, height))
    prepared, fills = prepare_with_gradients(rgba, prep)
    svg = trace_clean(prepared, params, out_size=(width, height))
    return apply_gradients(svg, fills, scale=prep.factor(height, width))


def test_gradient_fill_traces_closer_and_smaller_than_posterised_bands():
    image = linear_logo(128)
    reference = composite_on_white(image)

    banded = _trace(image, gradients=False)
    smooth = _trace(image, gradients=True)

    assert smooth.count("<linearGradient") == 1
    assert ssim_rgb(render_svg(smooth, 128, 128), reference) > ssim_rgb(
        render_svg(banded, 128, 128), reference
    )
    assert len(smooth) < len(banded)


def test_gradient_fill_improves_a_real_gradient_logo():
    rgba = np.asarray(Image.open(DATA / "lh-fastgpt-color.png").convert("RGBA"))
    truth = (DATA / "lh-fastgpt-color.svg").read_text()
    height, width = rgba.shape[:2]

    banded = _trace(rgba, gradients=False, long_side=1024)
    smooth = _trace(rgba, gradients=True, long_side=1024)

    assert "Gradient" in smooth
    assert fidelity(smooth, truth, width, height) > fidelity(banded, truth, width, height)
    assert len(smooth) < len(banded)
