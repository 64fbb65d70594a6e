"""Quality metrics: our fast SSIM matches skimage's, and traced logos score sensibly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from vectorizer.images import decode_image
from vectorizer.pipeline import convert_rgba
from vectorizer.quality import (
    SCALED_DOWN_LONG_SIDE,
    choosing_quality,
    count_paths,
    fidelity,
    score,
    ssim_luma,
    ssim_rgb,
)
from vectorizer.render import render_svg
from vectorizer.tracing import DEFAULT_PARAMS

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(("height", "width", "noise"), [(64, 64, 30), (50, 73, 120), (7, 9, 60)])
def test_ssim_rgb_equals_skimage_on_random_images(height, width, noise):
    rng = np.random.default_rng(height * width)
    a = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    b = np.clip(a + rng.integers(-noise, noise + 1, a.shape), 0, 255).astype(np.uint8)

    expected = structural_similarity(a, b, channel_axis=2, data_range=255)

    assert ssim_rgb(a, b) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("box", "size"),
    [((40, 60, 50, 90), (128, 160)), ((0, 0, 5, 5), (64, 64)), ((120, 150, 128, 160), (128, 160))],
)
def test_ssim_rgb_equals_skimage_when_images_differ_only_in_a_box(box, size):
    # ssim_rgb filters only around the differences; the edges of the image are the hard case.
    rng = np.random.default_rng(1)
    a = np.full((*size, 3), 255, dtype=np.uint8)
    top, left, bottom, right = box
    a[top:bottom, left:right] = rng.integers(0, 256, (bottom - top, right - left, 3))
    b = a.copy()
    noise = rng.integers(-40, 40, (bottom - top, right - left, 3))
    b[top:bottom, left:right] = np.clip(a[top:bottom, left:right] + noise, 0, 255)

    expected = structural_similarity(a, b, channel_axis=2, data_range=255)

    assert ssim_rgb(a, b) == pytest.approx(expected, abs=1e-6)
    assert ssim_luma(a, b) < 1.0


def test_ssim_rgb_is_one_for_identical_images():
    a = np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)

    assert ssim_rgb(a, a) == pytest.approx(1.0)


def test_ssim_rgb_refuses_different_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        ssim_rgb(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8))


def test_score_of_traced_transparent_logo_is_high(logo_png):
    rgba = decode_image(logo_png).rgba
    assert (rgba[..., 3] == 0).any()

    result = convert_rgba(rgba, DEFAULT_PARAMS)

    assert result.ssim > 0.9  # compared over white, not against black transparent pixels


def test_score_reports_bytes_and_path_count():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="16" height="16">'
        '<path d="M0 0h8v8H0z" fill="#f00"/><path d="M8 8h8v8H8z" fill="#00f"/></svg>'
    )
    rgba = np.full((16, 16, 4), 255, dtype=np.uint8)

    result = score(rgba, svg)

    assert result.svg_bytes == len(svg.encode())
    assert result.path_count == 2 == count_paths(svg)
    assert 0 < result.ssim < 1


def test_fidelity_of_true_svg_against_itself_is_one():
    true_svg = (DATA / "tw-1f6f3.svg").read_text()

    assert fidelity(true_svg, true_svg, 512, 512) == pytest.approx(1.0)


def test_fidelity_of_traced_real_logo_is_high(real_logo):
    png, true_svg = real_logo
    image = decode_image(png)

    svg = convert_rgba(image.rgba, DEFAULT_PARAMS).svg

    assert fidelity(svg, true_svg, image.width, image.height) > 0.95


_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
SQUARE = _HEAD + '<rect x="16" y="16" width="32" height="32" fill="#1f4fb0"/></svg>'
# The square with the rims Lanczos rings beside its edges painted in: a pale one outside, a
# darker one inside, as an outline fitted to a scaled-down input at its own size comes out.
RINGING = (
    _HEAD + '<rect x="15" y="15" width="34" height="34" fill="#f3f6fb"/>'
    '<rect x="16" y="16" width="32" height="32" fill="#1c4caf"/>'
    '<rect x="17" y="17" width="30" height="30" fill="#1f4fb0"/></svg>'
)


def test_a_scaled_down_inputs_true_svg_ranks_above_one_imitating_the_ringing():
    # Drawn at 128 px and saved at 64 px with Lanczos, as the dataset's 256 px uploads.
    large = Image.fromarray(render_svg(SQUARE, 128, 128))
    pixels = np.asarray(large.resize((64, 64), Image.Resampling.LANCZOS))
    rgba = np.dstack([pixels, np.full((64, 64), 255, np.uint8)])
    truth, rival = score(rgba, SQUARE).ssim, score(rgba, RINGING).ssim

    # At the input's size the rims look closer to the input than the true square...
    assert rival > truth
    # ...judged as the input was made, the true square ranks higher.
    assert choosing_quality(rgba, SQUARE, truth) > choosing_quality(rgba, RINGING, rival)


def test_a_larger_input_is_chosen_by_its_ssim_at_its_size():
    side = SCALED_DOWN_LONG_SIDE + 1
    rgba = np.full((side // 2, side, 4), 255, dtype=np.uint8)

    assert choosing_quality(rgba, SQUARE, 0.5) == 0.5
