"""TraceParams validation and the vtracer wrapper's handling of transparency."""

from __future__ import annotations

import re

import numpy as np
import pytest

from vectorizer.images import decode_image
from vectorizer.pipeline import convert_rgba
from vectorizer.render import render_svg
from vectorizer.tracing import (
    DEFAULT_PARAMS,
    RANGES,
    ParamError,
    TraceParams,
    VectorizeError,
    binarize_alpha,
    trace_bytes,
    trace_rgba,
)

OUT_OF_RANGE = [
    ("filter_speckle", -1),
    ("filter_speckle", 129),
    ("color_precision", 0),
    ("color_precision", 9),
    ("layer_difference", -1),
    ("layer_difference", 256),
    ("corner_threshold", -1),
    ("corner_threshold", 181),
    ("length_threshold", -0.5),
    ("length_threshold", 64.5),
    ("max_iterations", 0),
    ("max_iterations", 101),
    ("splice_threshold", -1),
    ("splice_threshold", 181),
    ("path_precision", -1),
    ("path_precision", 11),
]
WRONG_TYPE = [
    ("color_precision", "6"),
    ("color_precision", 6.5),
    ("color_precision", True),
    ("filter_speckle", None),
    ("length_threshold", "4"),
]
MISSPELLED_ENUM = [
    ("mode", "splines"),
    ("mode", "Spline"),
    ("colormode", "colour"),
    ("hierarchical", "stack"),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE + WRONG_TYPE + MISSPELLED_ENUM)
def test_trace_params_rejects_bad_value_naming_the_field(field, value):
    with pytest.raises(ParamError) as caught:
        TraceParams(**{field: value})

    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(("field", "low", "high"), [(n, lo, hi) for n, (lo, hi) in RANGES.items()])
def test_trace_params_accepts_both_ends_of_each_range(field, low, high):
    assert getattr(TraceParams(**{field: low}), field) == low
    assert getattr(TraceParams(**{field: high}), field) == high


def test_trace_params_from_dict_refuses_unknown_key():
    with pytest.raises(ParamError, match="is not a vtracer parameter") as caught:
        TraceParams.from_dict({"colour_precision": 6, "mode": "spline"})

    assert caught.value.field == "colour_precision"


def test_trace_params_from_dict_reads_known_keys():
    params = TraceParams.from_dict({"mode": "polygon", "filter_speckle": 8})

    assert (params.mode, params.filter_speckle) == ("polygon", 8)


def test_trace_params_default_path_precision_is_2():
    assert DEFAULT_PARAMS.path_precision == 2
    assert DEFAULT_PARAMS.as_dict()["path_precision"] == 2


def test_trace_params_with_changes_validates_again():
    with pytest.raises(ParamError, match="color_precision"):
        DEFAULT_PARAMS.with_changes(color_precision=0)


def test_trace_rgba_rounds_coordinates_to_path_precision(logo_png):
    svg = trace_rgba(decode_image(logo_png).rgba, TraceParams(path_precision=2))

    decimals = [len(m) for m in re.findall(r"\d\.(\d+)", svg) if m]
    assert decimals
    assert max(decimals) <= 2


def test_trace_bytes_turns_rust_panic_into_vectorize_error(logo_png):
    # color_precision=0 panics inside vtracer (a BaseException): the wrapper must contain it.
    with pytest.raises(VectorizeError, match="vtracer failed"):
        trace_bytes(logo_png, {"color_precision": 0})


def test_trace_bytes_turns_undecodable_bytes_into_vectorize_error():
    with pytest.raises(VectorizeError):
        trace_bytes(b"not a png", {})


def test_binarize_alpha_leaves_only_opaque_or_clear_pixels():
    rgba = np.array([[[9, 9, 9, 0], [200, 0, 0, 100], [0, 200, 0, 128], [1, 2, 3, 255]]], np.uint8)

    out = binarize_alpha(rgba)

    assert out.tolist() == [[[0, 0, 0, 0], [0, 0, 0, 0], [0, 200, 0, 255], [1, 2, 3, 255]]]
    assert rgba[0, 1, 3] == 100  # the input is not modified


def _corners(pixels: np.ndarray) -> list[list[int]]:
    return [pixels[y, x].tolist() for y in (0, -1) for x in (0, -1)]


def _paths_covering_corners(svg: str, size: int = 64) -> list[str]:
    """Return each <path> that, drawn alone, paints any corner of the canvas."""
    opening = svg[: svg.index(">") + 1]
    covering = []
    for path in re.findall(r"<path\b[^>]*/>", svg):
        alone = render_svg(f"{opening}{path}</svg>", size, size)
        if any(c != [255, 255, 255] for c in _corners(alone)):
            covering.append(path[:80])
    return covering


def test_trace_rgba_binary_mode_does_not_fill_transparent_background(logo_png):
    image = decode_image(logo_png)

    svg = trace_rgba(image.rgba, TraceParams(colormode="binary"))

    pixels = render_svg(svg, image.width, image.height)
    assert _corners(pixels) == [[255, 255, 255]] * 4
    dark = (pixels.mean(axis=2) < 128).mean()
    assert 0.1 < dark < 0.5  # the disc and the bar, not a black square


def test_convert_rgba_keeps_transparent_logo_transparent(logo_png):
    image = decode_image(logo_png)

    svg = convert_rgba(image.rgba, DEFAULT_PARAMS).svg

    assert _corners(render_svg(svg, image.width, image.height)) == [[255, 255, 255]] * 4
    assert "<rect" not in svg
    assert _paths_covering_corners(svg) == []


def test_convert_rgba_keeps_real_transparent_logo_transparent(real_logo_png):
    image = decode_image(real_logo_png)  # si-mdx: a dark badge on a transparent canvas
    assert image.has_alpha

    svg = convert_rgba(image.rgba, DEFAULT_PARAMS).svg

    assert _corners(render_svg(svg, image.width, image.height)) == [[255, 255, 255]] * 4
    assert _paths_covering_corners(svg) == []


def test_candidate_as_dict_keys_are_the_typed_dict_keys() -> None:
    """`Candidate.as_dict` casts asdict() to its TypedDict: the two must name the same fields."""
    from dataclasses import fields

    from vectorizer.candidates import Candidate, CandidateDict

    names = [f.name for f in fields(Candidate)]
    assert list(Candidate().as_dict()) == names
    assert list(CandidateDict.__annotations__) == names
