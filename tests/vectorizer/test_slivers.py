"""Slivers of a third colour along a two-colour boundary are merged; real colours stay."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from vectorizer import layers
from vectorizer.layers import LayerParams, trace_layers
from vectorizer.slivers import remove_slivers

NAVY = (41, 65, 114)
WHITE = (255, 255, 255)
LIGHT = (60, 110, 180)  # nearer to the navy/white half-way blend than navy or white are
PALETTE = np.array([NAVY, WHITE, LIGHT], dtype=np.uint8)
HALF_WAY = tuple((a + b) // 2 for a, b in zip(NAVY, WHITE, strict=True))


def boundary(middle: tuple[int, int, int], width: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Return (labels, source): navy left, white right, a `width`-px column of light between.

    The column's source colour is `middle`: a blend of navy and white for an anti-aliased
    ramp, or light blue itself for a real thin stroke.
    """
    labels = np.zeros((40, 40), dtype=np.int16)
    labels[:, 20:] = 1
    labels[:, 19 : 19 + width] = 2
    source = np.zeros((40, 40, 4), dtype=np.uint8)
    source[..., 3] = 255
    source[:, :20, :3] = NAVY
    source[:, 20:, :3] = WHITE
    source[:, 19 : 19 + width, :3] = middle
    return labels, source


def test_remove_slivers_merges_an_anti_aliasing_ramp_into_its_two_neighbours():
    labels, source = boundary(HALF_WAY)

    out = remove_slivers(labels, source, PALETTE, scale=2)

    assert not (out == 2).any()
    assert (out[:, :19] == 0).all()
    assert (out[:, 21:] == 1).all()
    assert set(np.unique(out[:, 19:21])) <= {0, 1}


def test_remove_slivers_keeps_a_thin_stroke_of_a_real_colour():
    labels, source = boundary(LIGHT)

    out = remove_slivers(labels, source, PALETTE, scale=2)

    np.testing.assert_array_equal(out, labels)


def test_remove_slivers_keeps_a_wide_band_even_of_blended_colour():
    labels, source = boundary(HALF_WAY, width=10)  # 5 input px across at scale 2

    out = remove_slivers(labels, source, PALETTE, scale=2)

    assert (out == 2).sum() >= 0.9 * (labels == 2).sum()


def test_remove_slivers_keeps_a_thin_line_on_a_single_background():
    labels, source = boundary(HALF_WAY)
    labels[:, 20:] = 0  # navy on both sides: the line borders one colour, not two
    source[:, 21:, :3] = NAVY

    out = remove_slivers(labels, source, PALETTE, scale=2)

    np.testing.assert_array_equal(out, labels)


def test_tucked_mask_stops_inside_an_upper_layer_where_it_borders_a_lower_colour():
    rank = np.zeros((30, 60), dtype=np.int16)  # position 0 (navy) everywhere
    rank[5:25, 5:30] = 1  # white
    rank[5:25, 30:55] = 2  # light blue on top, beside the white

    mask = layers._Tuck(rank, scale=2).mask(1)

    assert mask[5:25, 5:30].all()  # white's own pixels
    assert mask[10:20, 30:32].all()  # under light blue next to white: no seam
    # Under light blue next to navy it stops ½ input px (1 traced px) inside.
    assert not mask[10:20, 54].any()
    assert mask[10:20, 53].all()
    assert not mask[5, 40]  # light blue's top edge
    assert not mask[24, 40]  # and its bottom edge
    np.testing.assert_array_equal(layers._Tuck(rank, scale=2).mask(0), rank >= 0)


@pytest.mark.skipif(shutil.which("potrace") is None, reason="potrace not installed")
@pytest.mark.parametrize(("slivers", "expected"), [(True, 0), (False, 1)])
def test_trace_layers_draws_no_sliver_along_an_anti_aliased_boundary(slivers, expected):
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[:, :20, :3] = NAVY
    rgba[:, 20:, :3] = WHITE
    rgba[:, 20, :3] = HALF_WAY  # one anti-aliased column between them
    rgba[28:36, 4:12, :3] = LIGHT  # a real light blue square elsewhere
    params = LayerParams(sigma=0.0, turdsize=0)

    svg = trace_layers(rgba, PALETTE, params, scale=4, slivers=slivers, tuck=slivers)

    [light] = re.findall(r'<path fill="#3c6eb4" d="([^"]*)"', svg)
    assert light.count("M") == 1 + expected  # the square, and the sliver only when asked
