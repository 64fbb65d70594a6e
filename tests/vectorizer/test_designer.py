"""Designer controls on a finished SVG: palette cap and snap, cut-outs, groups, specks."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import resvg_py
from PIL import Image
from scipy import ndimage

from tests.conftest import drawn_colours
from vectorizer.designer import DesignOptions, design, reduce_palette, snap

SIZE = 64
# A square, a gradient disc over it, a small square over both, a speck; drawn in a 128 box.
GRADIENT = (
    '<defs><linearGradient id="g0" gradientUnits="userSpaceOnUse" x1="30" y1="0" x2="100" y2="0">'
    '<stop offset="0" stop-color="#1f6feb"/><stop offset=".5" stop-color="#2a80f0"/>'
    '<stop offset="1" stop-color="#f0a020"/></linearGradient></defs>'
)
STACKED = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128" width="64" height="64">'
    + GRADIENT
    + '<path d="M8 8H120V120H8Z" fill="#d02020"/>'
    '<path d="M64 24A40 40 0 1 1 63.9 24Z" fill="url(#g0)"/>'
    '<path d="M20 20H50V50H20Z" fill="#20a040"/>'
    '<path d="M90 90H110V110H90Z" fill="#d82828"/>'
    '<path d="M14 110h4v4h-4Z" fill="#101010"/>'
    '<path d="M52 96H76V116H52Z" fill="#e0e000"/>'
    "</svg>"
)


def rgba_of(svg: str, scale: int = 1) -> np.ndarray:
    png = resvg_py.svg_to_bytes(
        svg_string=svg, width=SIZE * scale, height=SIZE * scale, skip_system_fonts=True
    )
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"))


def shapes_alone(svg: str) -> list[str]:
    """Return one SVG per path of `svg`, each drawing that path alone (defs kept)."""
    root = re.match(r"<svg[^>]*>", svg).group(0)
    defs = re.search(r"<defs>.*?</defs>", svg)
    paths = re.findall(r"<path [^>]*/>", svg)
    return [f"{root}{defs.group(0) if defs else ''}{p}</svg>" for p in paths]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_design_max_colors_caps_fills_and_gradient_stops(count):
    result = design(rgba_of(STACKED), STACKED, DesignOptions(max_colors=count))

    assert len(drawn_colours(result.svg)) <= count
    assert result.report["colors_before"] == 8
    assert result.report["colors_after"] <= count


def test_design_max_colors_keeps_a_palette_already_small_enough():
    result = design(rgba_of(STACKED), STACKED, DesignOptions(max_colors=8))

    assert drawn_colours(result.svg) == drawn_colours(STACKED)
    assert result.problems == ()


def test_reduce_palette_merges_the_nearest_colours_first():
    weights = {"#d02020": 100.0, "#d82828": 5.0, "#20a040": 50.0}

    mapping = reduce_palette(weights, 2)

    assert mapping["#d02020"] == mapping["#d82828"] != mapping["#20a040"]
    assert mapping["#20a040"] == "#20a040"


def test_design_palette_snaps_every_fill_to_the_nearest_given_colour():
    palette = ("#ff0000", "#00ff00", "#0000ff", "#000000")

    result = design(rgba_of(STACKED), STACKED, DesignOptions(palette=palette))

    assert drawn_colours(result.svg) <= set(palette)
    assert snap(["#d02020", "#20a040", "#101010"], list(palette)) == {
        "#d02020": "#ff0000",
        "#20a040": "#00ff00",
        "#101010": "#000000",
    }


def test_design_palette_says_what_it_cost():
    result = design(rgba_of(STACKED), STACKED, DesignOptions(palette=("#000000", "#ffffff")))

    assert any(p.startswith("palette of 2 cost SSIM") for p in result.problems)
    assert result.ssim < result.report["ssim_before"]


def test_design_cutouts_shapes_do_not_overlap():
    result = design(rgba_of(STACKED), STACKED, DesignOptions(shape_stacking="cutouts"))

    alphas = [rgba_of(s, 4)[..., 3].astype(float) / 255 for s in shapes_alone(result.svg)]
    assert len(alphas) == 6
    for i, a in enumerate(alphas):
        for b in alphas[i + 1 :]:
            overlap = np.clip(a + b - 1, 0, None).sum()  # covered twice: pixels' worth
            assert overlap <= 0.01 * min(a.sum(), b.sum())


def test_design_cutouts_leave_no_transparent_pixel_inside_the_logo_at_4x():
    result = design(rgba_of(STACKED), STACKED, DesignOptions(shape_stacking="cutouts"))

    inside = ndimage.binary_erosion(rgba_of(STACKED, 4)[..., 3] == 255, iterations=3)
    alpha = rgba_of(result.svg, 4)[..., 3]
    assert alpha[inside].min() >= 128  # seams only show anti-aliasing, never the background
    assert result.ssim > 0.97


def test_design_cutouts_join_shapes_painted_alike_into_one():
    svg = STACKED.replace('fill="#d82828"', 'fill="#d02020"')  # two squares of one colour

    result = design(rgba_of(svg), svg, DesignOptions(shape_stacking="cutouts"))

    assert result.svg.count('fill="#d02020"') == 1
    assert result.path_count == 5
    assert result.ssim > 0.97


def test_design_group_by_color_writes_one_group_per_colour():
    svg = STACKED.replace('fill="#d82828"', 'fill="#d02020"')  # two squares of one colour
    options = DesignOptions(shape_stacking="cutouts", group_by="color")

    result = design(rgba_of(svg), svg, options)

    ids = re.findall(r'<g id="([^"]+)"', result.svg)
    assert sorted(ids) == sorted(
        ["color-d02020", "gradient-g0", "color-20a040", "color-101010", "color-e0e000"]
    )
    assert result.svg.count('id="color-d02020"') == 1


def test_design_group_by_color_keeps_a_stack_that_groups_exactly():
    # The second red square moved off the disc: red is only ever below the other colours.
    svg = STACKED.replace('<path d="M90 90H110V110H90Z" fill="#d82828"/>', "")
    svg = svg.replace("</svg>", '<path d="M100 8H118V26H100Z" fill="#d02020"/></svg>')

    result = design(rgba_of(svg), svg, DesignOptions(group_by="color"))

    assert result.problems == ()
    assert "fill-rule" not in result.svg  # still the stacked shapes, only regrouped
    assert result.ssim == pytest.approx(result.report["ssim_before"], abs=1e-6)


def test_design_group_by_color_cuts_out_when_a_colour_lies_above_and_below_another():
    svg = STACKED.replace('fill="#20a040"', 'fill="#d02020"')  # red, gradient, red on top

    result = design(rgba_of(svg), svg, DesignOptions(group_by="color"))

    assert any("cut out instead" in p for p in result.problems)
    assert result.ssim > 0.97


@pytest.mark.parametrize("stacking", ["stacked", "cutouts"])
def test_design_min_area_px_drops_specks(stacking):
    # The speck is 2×2 input pixels (4 px²); the small square 5×5 (25 px²).
    small = design(rgba_of(STACKED), STACKED, DesignOptions(shape_stacking=stacking))
    assert "#101010" in drawn_colours(small.svg)

    result = design(
        rgba_of(STACKED), STACKED, DesignOptions(shape_stacking=stacking, min_area_px=10)
    )

    assert "#101010" not in drawn_colours(result.svg)
    assert "#d82828" in drawn_colours(result.svg)


def test_design_default_options_change_nothing():
    assert DesignOptions().is_default
    assert not DesignOptions(min_area_px=1).is_default
