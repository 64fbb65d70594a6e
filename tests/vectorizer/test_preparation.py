"""Preparing an image for tracing: flat regions and the palette found in them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import maximum_filter, minimum_filter

from vectorizer.preparation import estimate_palette, flat_mask


@pytest.mark.parametrize("shape", [(40, 60, 3), (1, 7, 3), (5, 1, 3)])
def test_flat_mask_is_the_3x3_spread_of_every_channel_within_tolerance(shape):
    rgb = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8)
    spread = maximum_filter(rgb, size=(3, 3, 1), mode="nearest").astype(np.int16)
    spread -= minimum_filter(rgb, size=(3, 3, 1), mode="nearest")

    for tolerance in (0, 100, 200):
        expected = spread.max(axis=2) <= tolerance
        np.testing.assert_array_equal(flat_mask(rgb, tolerance), expected)


def test_estimate_palette_returns_each_flat_fill_refined_to_its_pixels_mean():
    rgba = np.zeros((40, 60, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[:, :30, :3] = (200, 30, 40)
    rgba[:, 30:, :3] = (20, 60, 200)
    rgba[5:15, 35:45, :3] = (22, 62, 198)  # within the merge distance: joins the blue

    palette = estimate_palette(rgba, 8)

    assert sorted(map(tuple, palette.tolist())) == [(20, 60, 200), (200, 30, 40)]
