"""One conversion, end to end: bytes in, clean SVG plus its measurements out.

These are the functions a worker process runs: they take and return frozen values
(`TraceParams`, `Candidate`, `ConversionResult`), which pickle across the process boundary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from vectorizer.candidates import Candidate
from vectorizer.gradients import (
    GradientFill,
    apply_gradients,
    extract_gradients,
    prepare_with_gradients,
)
from vectorizer.images import DEFAULT_MAX_PIXELS, decode_image
from vectorizer.layers import trace_layers
from vectorizer.preparation import denoise, palette_for, prepare
from vectorizer.primitives import fit_primitives
from vectorizer.quality import choosing_quality, score
from vectorizer.refine import refine_svg
from vectorizer.svgclean import clean_svg
from vectorizer.tracing import TraceParams, binarize_alpha, trace_rgba


@dataclass(frozen=True)
class ConversionResult:
    """A traced, cleaned and measured SVG: what a worker sends back."""

    svg: str
    ssim: float
    svg_bytes: int
    path_count: int
    timings: dict[str, float] = field(default_factory=dict)  # ms: decode, trace, measure
    # The quality tiers choose by (quality.choosing_quality); None when not measured (a single
    # trace has nothing to be compared with).
    proxy: float | None = None


def trace_clean(
    rgba: np.ndarray, params: TraceParams, *, out_size: tuple[float, float] | None = None
) -> str:
    """Return sanitised, compact SVG of an already prepared RGBA array.

    The viewBox keeps the traced array's coordinates; `out_size` is the displayed size (the
    user's image size when the array was upscaled; default: the array's own size).
    """
    raw = trace_rgba(rgba, params)
    height, width = rgba.shape[:2]
    if out_size is None:
        out_size = (width, height)
    return clean_svg(
        raw,
        view_box=(0, 0, width, height),
        width=out_size[0],
        height=out_size[1],
        precision=params.path_precision,
    )


def convert_rgba(rgba: np.ndarray, params: TraceParams) -> ConversionResult:
    """Return vtracer's conversion of `rgba` with `params`, cleaned and measured."""
    started = time.perf_counter()
    prepared = binarize_alpha(rgba) if (rgba[..., 3] < 255).any() else rgba
    svg = trace_clean(prepared, params)
    return _measured(rgba, svg, False, {"trace": (time.perf_counter() - started) * 1000})


def convert_bytes(
    data: bytes, params: TraceParams, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ConversionResult:
    """Return convert_rgba's result for encoded image bytes (a worker job)."""
    started = time.perf_counter()
    image = decode_image(data, max_pixels=max_pixels)
    decoded = time.perf_counter()
    result = convert_rgba(image.rgba, params)
    result.timings["decode"] = (decoded - started) * 1000
    return result


def convert_candidate(
    rgba: np.ndarray, candidate: Candidate, proxy: bool = True
) -> ConversionResult:
    """Return the conversion of `rgba` prepared (upscaled, palette-snapped) then traced.

    A worker job. The SVG keeps the traced coordinates in its viewBox and is displayed at the
    input's size; `proxy` also measures the quality that tiers compare candidates by.
    """
    started = time.perf_counter()
    svg, ready, traced = _draw(rgba, candidate)
    return _measured(
        rgba,
        svg,
        proxy,
        {"prepare": (ready - started) * 1000, "trace": (traced - ready) * 1000},
    )


def refine_conversion(
    rgba: np.ndarray, svg: str, iterations: int = 8, proxy: bool = False
) -> ConversionResult:
    """Return the conversion with its outlines refined against the input (a worker job).

    Tiers 2 and 3 end with it (vectorizer/refine.py): the traced geometry is moved until its
    render matches the input's anti-aliasing, then measured as the tier's traces were (`proxy`
    as in convert_candidate), so the tier keeps it only if it measures better.
    """
    started = time.perf_counter()
    refined, _, _ = refine_svg(svg, rgba, iterations=iterations)
    timings = {"refine": (time.perf_counter() - started) * 1000}
    return _measured(rgba, refined, proxy, timings)


def _measured(
    rgba: np.ndarray, svg: str, proxy: bool, timings: dict[str, float]
) -> ConversionResult:
    """Return `svg` as a result measured against `rgba`, its measuring time added to timings."""
    started = time.perf_counter()
    measured = score(rgba, svg)
    estimate = choosing_quality(rgba, svg, measured.ssim) if proxy else None
    timings["measure"] = (time.perf_counter() - started) * 1000
    return ConversionResult(
        svg=svg,
        ssim=measured.ssim,
        svg_bytes=measured.svg_bytes,
        path_count=measured.path_count,
        proxy=estimate,
        timings=timings,
    )


def _draw(rgba: np.ndarray, candidate: Candidate) -> tuple[str, float, float]:
    """Return the candidate's clean SVG and when preparation and tracing ended."""
    height, width = rgba.shape[:2]
    prep, params = candidate.materialize(height, width)
    k = prep.factor(height, width)
    fills: list[GradientFill] = []
    if candidate.tracer == "layers":
        source = denoise(rgba) if prep.denoise else rgba
        palette = palette_for(source, replace(prep, palette_size=prep.palette_size or -1))
        if candidate.gradients:
            source, fills = extract_gradients(source, palette=palette)
            if fills:
                extra = np.array([f.placeholder for f in fills], dtype=np.uint8)
                palette = np.vstack([palette, extra]) if palette is not None else extra
        ready = time.perf_counter()
        raw = trace_layers(
            source,
            palette if palette is not None else np.zeros((0, 3), np.uint8),
            candidate.layer_params(height, width),
            scale=k,
            alpha_threshold=prep.alpha_threshold,
        )
        view_box = (0, 0, width * k, height * k)
        svg = clean_svg(raw, view_box=view_box, width=width, height=height, precision=0)
        svg = fit_primitives(svg, precision=0)
    else:
        if candidate.gradients:
            prepared, fills = prepare_with_gradients(rgba, prep)
        else:
            prepared = prepare(rgba, prep)
        ready = time.perf_counter()
        svg = trace_clean(prepared, params, out_size=(width, height))
        svg = fit_primitives(svg, precision=params.path_precision)
    if fills:
        svg = apply_gradients(svg, fills, scale=k)
    return svg, ready, time.perf_counter()
