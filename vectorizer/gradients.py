"""Gradient fills: find a logo's smoothly shaded regions and draw each as one SVG gradient.

Palette snapping posterises a gradient into noisy bands, and the tracer draws every band as its
own shapes: many bytes, and a staircase where the logo has a ramp. Here, before preparation,
each large region whose colour varies smoothly and is explained by one linear or radial
gradient is repainted with a unique flat placeholder colour (its anti-aliased rim blended to
match), so palette snapping keeps it whole and any tracer draws it as one shape. After tracing,
`apply_gradients` turns that shape's placeholder fill into the fitted gradient.

Pure numpy/scipy, no tracing here: the tracer only ever sees flat colours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

import numpy as np
from scipy.ndimage import binary_dilation, find_objects, label

from vectorizer.preparation import (
    Preparation,
    denoise,
    estimate_palette,
    prepare,
    snap_rgba,
    upscale,
)
from vectorizer.svgclean import short_number

# Neighbouring pixels inside one region differ by at most this much per channel (0-255); an
# anti-aliased or hard edge differs by more. JPEG q85 noise stays well under it.
SMOOTH_STEP = 12
# A region must cover this share of the image (and MIN_PIXELS) to be worth a gradient.
MIN_AREA_SHARE = 0.004
MIN_PIXELS = 64
# Its colours must span at least this (RGB distance between the extreme stops): below it,
# palette snapping makes one flat fill of it with a small error anyway.
MIN_SPAN = 24.0
# The fitted gradient must leave an RMS error (RGB distance) under this...
MAX_RMS = 9.0
# ...and at most this share of a single flat colour's RMS error.
MAX_RMS_VS_FLAT = 0.5
MAX_STOPS = 4
# Another region's gradient draws this one too when its error is at most this times its own.
_SHARE_SLACK = 1.25
# A fit whose colour changes mostly within this share of its length is an edge between flat
# fills (JPEG softens edges enough to join them into one smooth region).
STEP_WIDTH = 0.1
# A further stop must remove at least this share of the remaining squared error.
STOP_GAIN = 0.25
# The fit uses at most this many pixels of a region (evenly spread): plenty for 2-4 stops.
SAMPLES = 2048
_SEARCH_SAMPLES = 512  # pixels used to search the direction or centre
_BINS = 48
_GOLDEN = (5**0.5 - 1) / 2
_STOP_BINS = 32
# A rim pixel this close (RGB distance) to the fitted gradient counts as inside the region.
_INSIDE = 24.0
# A rim pixel further than this from every blend of the gradient and its neighbour stays as is.
_BLEND_MISS = 60.0
_RIM = 5  # pixels around a region where anti-aliasing is re-blended with the placeholder
_REACH = 5  # how far (pixels) beyond the rim a rim pixel looks for the neighbour it blends with
_OFFSETS = np.array(
    sorted(
        (
            (dy, dx)
            for dy in range(-_REACH - _RIM, _REACH + _RIM + 1)
            for dx in range(-_REACH - _RIM, _REACH + _RIM + 1)
            if 0 < dy * dy + dx * dx <= (_REACH + _RIM) ** 2
        ),
        key=lambda o: o[0] * o[0] + o[1] * o[1],
    )
)
_OFFSET_RINGS = np.split(_OFFSETS, np.searchsorted((_OFFSETS**2).sum(axis=1), [5, 17, 50], "right"))
# Placeholders keep at least this RGB distance from the image's colours and from each other,
# beyond palette snapping's merge distance (40), so no other colour snaps to them.
MIN_PLACEHOLDER_DISTANCE = 56.0
# With a palette: how much nearer its own palette colour every common colour must stay.
_SNAP_MARGIN = 16.0
# Placeholder candidates: odd colours are the least likely in a logo, so a 6-level grid nudged
# off the round levels.
_LEVELS = np.array([0, 51, 102, 153, 204, 255], dtype=np.float64)
_CANDIDATES = np.clip(
    np.stack(np.meshgrid(_LEVELS, _LEVELS, _LEVELS, indexing="ij"), -1).reshape(-1, 3)
    + np.array([7.0, -5.0, 3.0]),
    0,
    255,
)
# The tracer may average a few rim pixels into a shape's colour: a fill this close (RGB
# distance, under half the placeholders' distance from other colours) is the placeholder.
FILL_TOLERANCE = 24.0
_FILL = re.compile(r'fill="#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})"')
_SVG_OPEN = re.compile(r"<svg\b[^>]*?(/?)>")


_Stops = tuple[tuple[float, tuple[int, int, int]], ...]


@dataclass(frozen=True)
class GradientFill:
    """One region's gradient, keyed by the flat colour that stands for it until tracing ends."""

    placeholder: tuple[int, int, int]
    kind: str  # "linear" or "radial"
    # In input pixels (pixel (0, 0) covers 0..1): linear (x1, y1, x2, y2), radial (cx, cy, r).
    geometry: tuple[float, ...]
    stops: _Stops  # (offset 0..1, colour), ascending
    area: int = 0  # region pixels at input resolution
    rms: float = 0.0  # RMS RGB error of the fit over the region

    def colours_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the gradient's (n, 3) float colours at input-pixel coordinates x, y."""
        return _eval_stops(self.offsets_at(x, y), self.stops)

    def offsets_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the gradient offset (before padding) at input-pixel coordinates x, y."""
        if self.kind == "linear":
            x1, y1, x2, y2 = self.geometry
            dx, dy = x2 - x1, y2 - y1
            return ((x - x1) * dx + (y - y1) * dy) / max(dx * dx + dy * dy, 1e-12)
        cx, cy, r = self.geometry
        return np.hypot(x - cx, y - cy) / max(r, 1e-12)


@dataclass(frozen=True)
class _Fit:
    kind: str
    geometry: tuple[float, ...]
    stops: _Stops


def extract_gradients(
    rgba: np.ndarray,
    *,
    palette: np.ndarray | None = None,
    min_area: int | None = None,
    smooth_step: int = SMOOTH_STEP,
    max_rms: float = MAX_RMS,
    max_regions: int = 12,
) -> tuple[np.ndarray, list[GradientFill]]:
    """Return the image with each gradient region painted a placeholder colour, and the fills.

    `palette` (n, 3) is what the image will be snapped to (the placeholders are then added to
    it): given, the placeholders are chosen so that no other pixel snaps to one. `min_area`
    (input pixels) defaults to MIN_AREA_SHARE of the image. The returned RGBA is a copy (the
    input itself when nothing is found); snap, trace, then give the SVG and the fills to
    `apply_gradients`.
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an (H, W, 4) array, got shape {rgba.shape}")
    height, width = rgba.shape[:2]
    if min_area is None:
        min_area = max(MIN_PIXELS, round(MIN_AREA_SHARE * height * width))
    labels, sizes, loose = _smooth_regions(rgba, smooth_step)
    big = np.flatnonzero(sizes >= min_area) + 1  # label ids
    if big.size == 0:
        return rgba, []
    boxes = find_objects(labels)
    found, groups = _fit_regions(
        rgba, labels, boxes, big[np.argsort(sizes[big - 1])[::-1]], max_rms, max_regions
    )
    if not found:
        return rgba, []
    is_gradient = np.zeros(len(sizes) + 1, dtype=bool)
    is_gradient[[region for region, _, _ in found]] = True
    rims = _plan_rims(rgba, labels, loose, boxes, sizes >= min_area, found)
    # The colours the placeholders must avoid: all the rest, anti-aliasing ramps included
    # (every other pixel in each direction is census enough).
    every = (slice(None, None, 2), slice(None, None, 2))
    rest = (rgba[every][..., 3] >= 128) & ~is_gradient[labels[every]]
    leaders = sorted(set(groups))
    around = [rgba[0:0, 0, :3]] * len(found)
    for rim, group in zip(rims, groups, strict=True):
        around[group] = np.vstack(
            [around[group], _neighbour_colours(rgba, labels, is_gradient, rim)]
        )
    placeholders = _pick_placeholders(rgba[every][rest, :3], [around[g] for g in leaders], palette)
    if not placeholders:
        return rgba, []
    colour_of = dict(zip(leaders, placeholders, strict=False))
    out, fills = _paint_regions(rgba, labels, boxes, sizes, found, groups, colour_of)
    # Rims after every region is painted: a rim between two gradients blends two placeholders.
    source = out.copy()
    for rim, group in zip(rims, groups, strict=True):
        if group in colour_of:
            _paint_rim(rim, source, out, colour_of[group])
    return out, fills


def _fit_regions(
    rgba: np.ndarray,
    labels: np.ndarray,
    boxes: Sequence[tuple[slice, ...] | None],
    regions: np.ndarray,
    max_rms: float,
    max_regions: int,
) -> tuple[list[tuple[int, _Fit, float]], list[int]]:
    """Return the regions a gradient fits (in the order given), and per fit the fit it shares."""
    found: list[tuple[int, _Fit, float]] = []
    groups: list[int] = []  # per found region: the index of the region whose gradient it uses
    samples: list[tuple[np.ndarray, np.ndarray]] = []  # per found region: pixels, colours
    for region in regions:
        box = boxes[region - 1]
        assert box is not None
        ys, xs = np.nonzero(labels[box] == region)
        pick = _spread_index(len(ys), SAMPLES)
        ys, xs = ys[pick] + box[0].start, xs[pick] + box[1].start
        colours = rgba[ys, xs, :3].astype(np.float64)
        spread = np.percentile(colours, [2, 98], axis=0)
        if np.ptp(spread, axis=0).max() < MIN_SPAN:
            continue  # flat: most regions stop here
        fitted = _fit_region(np.column_stack([xs + 0.5, ys + 0.5]), colours, max_rms)
        if fitted is None:
            continue
        found.append((int(region), *fitted))
        samples.append((np.column_stack([xs + 0.5, ys + 0.5]), colours))
        groups.append(_share_gradient(found, groups, samples, max_rms))
        if len(found) >= max_regions:
            break
    return found, groups


def _plan_rims(
    rgba: np.ndarray,
    labels: np.ndarray,
    loose: np.ndarray,
    boxes: Sequence[tuple[slice, ...] | None],
    large: np.ndarray,
    found: list[tuple[int, _Fit, float]],
) -> list[_Rim]:
    """Return each found region's rim: which pixels join it, which blend with which neighbour.

    `large` says per label (from 1) whether its region is at least `min_area`.
    """
    is_large = np.zeros(len(large) + 1, dtype=bool)
    is_large[1:] = large
    claimed = np.zeros(rgba.shape[:2], dtype=bool)
    rims = []
    for region, fit, _ in found:
        box = boxes[region - 1]
        assert box is not None
        model = GradientFill((0, 0, 0), fit.kind, fit.geometry, fit.stops)
        rims.append(_plan_rim(rgba, labels, is_large, loose, region, box, model, claimed))
    return rims


def _paint_regions(
    rgba: np.ndarray,
    labels: np.ndarray,
    boxes: Sequence[tuple[slice, ...] | None],
    sizes: np.ndarray,
    found: list[tuple[int, _Fit, float]],
    groups: list[int],
    colour_of: dict[int, tuple[int, int, int]],
) -> tuple[np.ndarray, list[GradientFill]]:
    """Return a copy of the image with each region painted its group's placeholder, and fills."""
    out = rgba.copy()
    fills: list[GradientFill] = []
    for leader, placeholder in colour_of.items():
        _, fit, rms = found[leader]
        members = [found[i][0] for i, g in enumerate(groups) if g == leader]
        for region in members:
            box = boxes[region - 1]
            assert box is not None
            out[box][labels[box] == region, :3] = placeholder
        fills.append(
            GradientFill(
                placeholder=placeholder,
                kind=fit.kind,
                geometry=fit.geometry,
                stops=fit.stops,
                area=int(sizes[np.array(members) - 1].sum()),
                rms=rms,
            )
        )
    return out, fills


def _share_gradient(
    found: list[tuple[int, _Fit, float]],
    groups: list[int],
    samples: list[tuple[np.ndarray, np.ndarray]],
    max_rms: float,
) -> int:
    """Return the index of an earlier region whose gradient also draws the newest one (several
    shapes filled with one gradient: one shape to trace, one definition), else its own.

    The earlier gradient, its end segments extended, must explain the new region about as
    well as its own fit; it is then refitted over both (stretched to cover them).
    """
    own = len(found) - 1
    xy, colours = samples[own]
    limit = max(_SHARE_SLACK * found[own][2], found[own][2] + 1.5)
    for leader in sorted(set(groups)):
        region, fit, _ = found[leader]
        model = GradientFill((0, 0, 0), fit.kind, fit.geometry, fit.stops)
        residual = colours - _extend_stops(model.offsets_at(xy[:, 0], xy[:, 1]), fit.stops)
        if float(np.sqrt((residual * residual).sum(axis=1).mean())) > limit:
            continue
        members = [leader, own, *(i for i, g in enumerate(groups) if g == leader and i != leader)]
        union_xy = _spread(np.vstack([samples[i][0] for i in members]), SAMPLES)
        union_rgb = _spread(np.vstack([samples[i][1] for i in members]), SAMPLES)
        geometry = _fit_extent(fit.kind, fit.geometry, union_xy)
        model = GradientFill((0, 0, 0), fit.kind, geometry, fit.stops)
        t = model.offsets_at(union_xy[:, 0], union_xy[:, 1])
        stops = _fit_stops(t, union_rgb, float(t.min()) if fit.kind == "radial" else 0.0)
        residual = union_rgb - _eval_stops(t, stops)
        rms = float(np.sqrt((residual * residual).sum(axis=1).mean()))
        if rms > max(limit, found[leader][2] * _SHARE_SLACK) or rms > max_rms:
            continue
        found[leader] = (region, _Fit(fit.kind, geometry, stops), rms)
        return leader
    return own


def _extend_stops(t: np.ndarray, stops: _Stops) -> np.ndarray:
    """Return colours (n, 3) of stops at offsets t, the end segments extended beyond the ends."""
    offsets = np.array([s[0] for s in stops])
    colours = np.array([s[1] for s in stops], dtype=np.float64)
    inside = _eval_stops(np.clip(t, offsets[0], offsets[-1]), stops)
    low_slope = (colours[1] - colours[0]) / max(offsets[1] - offsets[0], 1e-9)
    high_slope = (colours[-1] - colours[-2]) / max(offsets[-1] - offsets[-2], 1e-9)
    below = np.minimum(t - offsets[0], 0.0)[:, None]
    above = np.maximum(t - offsets[-1], 0.0)[:, None]
    extended: np.ndarray = np.clip(inside + below * low_slope + above * high_slope, 0, 255)
    return extended


def prepare_with_gradients(
    rgba: np.ndarray, prep: Preparation, **options: Any
) -> tuple[np.ndarray, list[GradientFill]]:
    """Return `prepare(rgba, prep)` with gradient regions as flat placeholder shapes, and fills.

    The palette is the one `prepare` would use plus the placeholders. `options` go to
    `extract_gradients`. Trace the array, then call `apply_gradients(svg, fills,
    scale=prep.factor(height, width))`.
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim == 3 and rgba.shape[2] == 3:
        rgba = np.dstack([rgba, np.full(rgba.shape[:2], 255, dtype=np.uint8)])
    if prep.denoise:
        rgba = denoise(rgba)
    if prep.palette_size == 0:
        painted, fills = extract_gradients(rgba, **options)
        return prepare(painted, replace(prep, denoise=False)), fills
    limit = prep.max_colors if prep.palette_size < 0 else prep.palette_size
    palette = estimate_palette(
        rgba,
        limit,
        min_share=prep.min_share if prep.palette_size < 0 else 0.0,
        merge_distance=prep.merge_distance,
        flat_tolerance=prep.flat_tolerance,
        alpha_threshold=prep.alpha_threshold,
    )
    painted, fills = extract_gradients(rgba, palette=palette, **options)
    if not fills:
        return prepare(painted, replace(prep, denoise=False)), fills
    placeholders = np.array([f.placeholder for f in fills], dtype=np.uint8)
    height, width = rgba.shape[:2]
    k = prep.factor(height, width)
    big = upscale(painted, k, prep.resample) if k > 1 else painted
    return snap_rgba(big, np.vstack([palette, placeholders]), prep.alpha_threshold), fills


def apply_gradients(svg: str, fills: list[GradientFill], *, scale: float = 1.0) -> str:
    """Return the SVG with each placeholder fill replaced by its gradient, defined in <defs>.

    `scale` maps input pixels to the SVG's user units: the upscale factor when the traced
    array was upscaled (its viewBox is then k× the input's size).
    """
    if not fills:
        return svg
    prefix = _free_prefix(svg)
    used: dict[int, str] = {}
    keys = np.array([f.placeholder for f in fills], dtype=np.int32)

    def swap(match: re.Match[str]) -> str:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        rgb = np.array([int(digits[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.int32)
        distance = np.sqrt(((keys - rgb) ** 2).sum(axis=1))
        nearest = int(distance.argmin())
        if distance[nearest] > FILL_TOLERANCE:
            return match.group(0)
        used.setdefault(nearest, f"{prefix}{len(used)}")
        return f'fill="url(#{used[nearest]})"'

    body = _FILL.sub(swap, svg)
    if not used:
        return svg
    defs = "<defs>" + "".join(gradient_markup(fills[i], gid, scale) for i, gid in used.items())
    defs += "</defs>"
    opening = _SVG_OPEN.search(body)
    if opening is None:
        return svg
    if opening.group(1):  # <svg .../>: nothing drawn, nothing to fill
        return svg
    return body[: opening.end()] + defs + body[opening.end() :]


def gradient_markup(fill: GradientFill, gradient_id: str, scale: float = 1.0) -> str:
    """Return the <linearGradient> or <radialGradient> element of a fill, in user units."""
    coords = [short_number(v * scale, 1) for v in fill.geometry]
    names: tuple[str, ...]
    if fill.kind == "linear":
        names = ("x1", "y1", "x2", "y2")
        tag = "linearGradient"
    else:
        names = ("cx", "cy", "r")
        tag = "radialGradient"
    attrs = " ".join(f'{n}="{v}"' for n, v in zip(names, coords, strict=True))
    stops = "".join(
        f'<stop offset="{short_number(offset, 3)}" stop-color="{_hex(colour)}"/>'
        for offset, colour in fill.stops
    )
    return f'<{tag} id="{gradient_id}" gradientUnits="userSpaceOnUse" {attrs}>{stops}</{tag}>'


def _smooth_regions(rgba: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return labels of the opaque regions without edges (4-connected), each label's size, and
    where pixels are at least loosely smooth (neighbours within twice the step)."""
    opaque = rgba[..., 3] >= 250
    across = opaque[:, 1:] & opaque[:, :-1]
    down = opaque[1:] & opaque[:-1]
    loose_across, loose_down = across.copy(), down.copy()
    for c in range(3):
        plane = np.ascontiguousarray(rgba[..., c])
        # max - min of two uint8 values: their absolute difference without a wider copy.
        left, right = plane[:, :-1], plane[:, 1:]
        gap = np.maximum(left, right) - np.minimum(left, right)
        across &= gap <= step
        loose_across &= gap <= 2 * step
        top, bottom = plane[:-1], plane[1:]
        gap = np.maximum(top, bottom) - np.minimum(top, bottom)
        down &= gap <= step
        loose_down &= gap <= 2 * step
    smooth, loose = opaque.copy(), opaque.copy()
    for mask, horizontal, vertical in ((smooth, across, down), (loose, loose_across, loose_down)):
        mask[:, :-1] &= horizontal
        mask[:, 1:] &= horizontal
        mask[:-1] &= vertical
        mask[1:] &= vertical
    labels, count = label(smooth)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return labels, sizes, loose


def _fit_region(xy: np.ndarray, colours: np.ndarray, max_rms: float) -> tuple[_Fit, float] | None:
    """Return the better of a linear and a radial gradient for a region, if one explains it.

    The search compares orderings by the colour spread within bins of the offset (cheap, and
    no fit of stops can beat it by much); only the winner gets its stops fitted.
    """
    sample_xy, sample_rgb = _spread(xy, SAMPLES), _spread(colours, SAMPLES)
    search_xy, search_rgb = _spread(xy, _SEARCH_SAMPLES), _spread(colours, _SEARCH_SAMPLES)
    linear = _search_linear(search_xy, search_rgb)
    radial = _search_radial(search_xy, search_rgb)
    # A radial ordering can mimic a linear one (far centre): it must be clearly better.
    if radial is not None and (linear is None or radial[0] < 0.8 * linear[0]):
        kind, (search_sse, geometry) = ("radial", radial)
    elif linear is not None:
        kind, (search_sse, geometry) = ("linear", linear)
    else:
        return None
    flat_search = float(((search_rgb - search_rgb.mean(axis=0)) ** 2).sum())
    slack = 1.2  # the binned search error is a little below what stops achieve
    if search_sse > slack**2 * max_rms**2 * len(search_xy) or search_sse > (
        slack * MAX_RMS_VS_FLAT
    ) ** 2 * max(flat_search, 1e-9):
        return None  # no ordering explains the colours: a texture, an illustration
    geometry = _fit_extent(kind, geometry, sample_xy)
    model = GradientFill((0, 0, 0), kind, geometry, ((0.0, (0, 0, 0)), (1.0, (0, 0, 0))))
    t = model.offsets_at(sample_xy[:, 0], sample_xy[:, 1])
    stops = _fit_stops(t, sample_rgb, float(t.min()) if kind == "radial" else 0.0)
    residual = sample_rgb - _eval_stops(t, stops)
    sse = float((residual * residual).sum())
    rms = (sse / len(sample_xy)) ** 0.5
    flat_sse = float(((sample_rgb - sample_rgb.mean(axis=0)) ** 2).sum())
    span = max(float(np.linalg.norm(np.subtract(a[1], b[1]))) for a in stops for b in stops)
    if rms > max_rms or sse > MAX_RMS_VS_FLAT**2 * flat_sse or span < MIN_SPAN or _is_step(stops):
        return None
    return _Fit(kind, geometry, stops), rms


def _is_step(stops: _Stops) -> bool:
    """Return True when most of the colour change happens over a short stretch: two flat
    fills meeting at a soft edge, not a gradient."""
    offsets = np.array([s[0] for s in stops])
    colours = np.array([s[1] for s in stops], dtype=np.float64)
    change = np.linalg.norm(np.diff(colours, axis=0), axis=1)
    width = np.diff(offsets) / max(offsets[-1] - offsets[0], 1e-9)
    return bool((change[width <= STEP_WIDTH].sum()) > 0.5 * change.sum())


def _spread(values: np.ndarray, count: int) -> np.ndarray:
    """Return at most `count` rows spread over `values` (see _spread_index)."""
    spread: np.ndarray = values[_spread_index(len(values), count)]
    return spread


def _spread_index(length: int, count: int) -> np.ndarray:
    """Return at most `count` indices spread over range(length), sorted.

    A golden-ratio (Weyl) sequence: evenly spaced indices would alias with the image's width
    and sample only a few columns of a region.
    """
    if length <= count:
        return np.arange(length)
    return np.sort((np.arange(count) * _GOLDEN % 1.0 * length).astype(np.int64))


def _fit_extent(kind: str, geometry: tuple[float, ...], xy: np.ndarray) -> tuple[float, ...]:
    """Return the geometry stretched so offsets 0..1 cover exactly these points."""
    if kind == "radial":
        cx, cy = geometry[:2]
        return cx, cy, max(float(np.hypot(xy[:, 0] - cx, xy[:, 1] - cy).max()), 1.0)
    x1, y1, x2, y2 = geometry
    start, axis = np.array([x1, y1]), np.array([x2 - x1, y2 - y1])
    t = (xy - start) @ axis / float(axis @ axis)
    low, high = float(t.min()), float(t.max())
    a, b = start + low * axis, start + high * axis
    return float(a[0]), float(a[1]), float(b[0]), float(b[1])


def _search_linear(xy: np.ndarray, rgb: np.ndarray) -> tuple[float, tuple[float, ...]] | None:
    """Return the binned error and (x1, y1, x2, y2) of the direction that best orders colours."""
    centre = xy.mean(axis=0)
    rel = xy - centre
    # Every 6 degrees plus the direction of steepest colour change (affine fit), then refined.
    design = np.column_stack([rel, np.ones(len(rel))])
    coef = np.linalg.lstsq(design, rgb, rcond=None)[0][:2]  # (2, 3): d colour / d(x, y)
    steepest = np.linalg.svd(coef, full_matrices=False)[0][:, 0]
    angles = np.append(np.deg2rad(np.arange(0.0, 180.0, 6.0)), np.arctan2(steepest[1], steepest[0]))
    errors = _profile_sse(rel @ _units(angles), rgb)
    angle, error = angles[int(errors.argmin())], float(errors.min())
    for delta in np.deg2rad([3.0, 1.5, 0.75]):
        trials = angle + np.array([-delta, delta])
        errors = _profile_sse(rel @ _units(trials), rgb)
        if errors.min() < error:
            angle, error = trials[int(errors.argmin())], float(errors.min())
    direction = _units(np.array([angle]))[:, 0]
    t = rel @ direction
    low, high = float(t.min()), float(t.max())
    if high - low < 1.0:
        return None
    start, end = centre + low * direction, centre + high * direction
    return error, (*map(float, start), *map(float, end))


def _search_radial(xy: np.ndarray, rgb: np.ndarray) -> tuple[float, tuple[float, ...]] | None:
    """Return the binned error and (cx, cy, r) of the centre that best orders colours."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    size = float((high - low).max())
    if size < 2.0:
        return None
    # Centres on a grid over the region's box widened by half its size, then refined.
    grid = np.linspace(-0.5, 1.5, 7)
    gx, gy = np.meshgrid(grid, grid)
    centres = low + (high - low) * np.column_stack([gx.ravel(), gy.ravel()])
    coarse = slice(None, None, 2)  # half the pixels tell the grid's centres apart
    errors = _profile_sse(_distances(xy[coarse], centres), rgb[coarse])
    centre = centres[int(errors.argmin())]
    error = float(_profile_sse(_distances(xy, centre[None]), rgb)[0])
    step = 0.25 * size
    moves = np.array([(1, 0), (-1, 0), (0, 1), (0, -1)], dtype=np.float64)
    for _ in range(6):
        trials = centre + step * moves
        errors = _profile_sse(_distances(xy, trials), rgb)
        if errors.min() < error:
            centre, error = trials[int(errors.argmin())], float(errors.min())
        step /= 2
    radius = float(_distances(xy, centre[None]).max())
    if radius < 1.0:
        return None
    return error, (float(centre[0]), float(centre[1]), radius)


def _units(angles: np.ndarray) -> np.ndarray:
    """Return (2, m) unit vectors for angles in radians."""
    return np.stack([np.cos(angles), np.sin(angles)])


def _distances(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return (n, m) distances of the points from each centre."""
    distances: np.ndarray = np.hypot(
        xy[:, 0:1] - centres[None, :, 0], xy[:, 1:2] - centres[None, :, 1]
    )
    return distances


def _profile_sse(t: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Return, per column of t (n, m), the squared error of the colours' mean per bin of t.

    Small when t orders the colours: the same t, the same colour.
    """
    m = t.shape[1]
    low = t.min(axis=0)
    span = np.maximum(t.max(axis=0) - low, 1e-9)
    bins = np.minimum(((t - low) * (_BINS / span)).astype(np.int64), _BINS - 1)
    bins += np.arange(m) * _BINS
    flat = bins.ravel()
    counts = np.bincount(flat, minlength=m * _BINS).astype(np.float64)
    explained = np.zeros(m * _BINS)
    for c in range(3):
        sums = np.bincount(flat, weights=np.repeat(rgb[:, c], m), minlength=m * _BINS)
        explained += sums * sums
    explained = (explained / np.maximum(counts, 1.0)).reshape(m, _BINS).sum(axis=1)
    unexplained: np.ndarray = float((rgb * rgb).sum()) - explained
    return unexplained


def _fit_stops(t: np.ndarray, rgb: np.ndarray, first: float) -> _Stops:
    """Return 2..MAX_STOPS stops: a least-squares piecewise-linear fit of the colours along t.

    The fit runs on the colours' means in _STOP_BINS bins of t (exact up to the spread within
    each bin, which no stop placement changes) and tries every placement of the inner stops on
    the bin edges. Each stop beyond two must remove STOP_GAIN of the error left.
    """
    if first >= 1.0:
        first = 0.0
    bins = np.clip(((t - first) * (_STOP_BINS / (1.0 - first))).astype(np.int64), 0, _STOP_BINS - 1)
    counts = np.bincount(bins, minlength=_STOP_BINS).astype(np.float64)
    used = counts > 0
    weight = counts[used]
    centres = np.bincount(bins, weights=t, minlength=_STOP_BINS)[used] / weight
    means = (
        np.column_stack(
            [np.bincount(bins, weights=rgb[:, c], minlength=_STOP_BINS)[used] for c in range(3)]
        )
        / weight[:, None]
    )
    within = float((rgb * rgb).sum() - (weight[:, None] * means * means).sum())
    places = first + (1.0 - first) * np.arange(1, _STOP_BINS) / _STOP_BINS
    best: tuple[float, np.ndarray, np.ndarray] | None = None  # score, knots, colours
    for inner in range(MAX_STOPS - 1):
        picks = np.array(list(combinations(range(len(places)), inner)), dtype=np.int64)
        knots = np.column_stack(
            [
                np.full(len(picks), first),
                places[picks.reshape(len(picks), inner)],
                np.ones(len(picks)),
            ]
        )
        sse, colours = _knot_fits(centres, means, weight, knots)
        i = int(sse.argmin())
        # Each further stop must earn its place: the error is weighed up per stop.
        score = float(sse[i] + within) / (1 - STOP_GAIN) ** inner
        if best is None or score < best[0]:
            best = (score, knots[i], colours[i])
    assert best is not None
    _, best_knots, best_colours = best
    rounded = np.clip(np.rint(best_colours), 0, 255).astype(int)
    return tuple(
        (round(float(k), 3), (int(c[0]), int(c[1]), int(c[2])))
        for k, c in zip(best_knots, rounded, strict=True)
    )


def _knot_fits(
    t: np.ndarray, means: np.ndarray, weight: np.ndarray, knots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per row of knots (m, k), the weighted squared error and knot colours (m, k, 3)
    of the least-squares piecewise-linear fit of the bin means (t within the outer knots)."""
    k = knots.shape[1]
    # Hat functions: rising from the previous knot, falling to the next; the outer ones flat.
    # Laid out (m, k, n) so the long axis is the innermost one numpy loops over.
    before = np.concatenate([knots[:, :1] - 1e-9, knots[:, :-1]], axis=1)[:, :, None]
    after = np.concatenate([knots[:, 1:], knots[:, -1:] + 1e-9], axis=1)[:, :, None]
    at, x = knots[:, :, None], t[None, None, :]
    basis = np.clip(np.minimum((x - before) / (at - before), (after - x) / (after - at)), 0, 1)
    weighted = basis * weight[None, None, :]
    normal = weighted @ basis.transpose(0, 2, 1) + 1e-9 * np.eye(k)
    colours = np.linalg.solve(normal, weighted @ means)
    residual = means[None] - basis.transpose(0, 2, 1) @ colours
    return (weight[None, :, None] * residual * residual).sum(axis=(1, 2)), colours


def _eval_stops(t: np.ndarray, stops: _Stops) -> np.ndarray:
    """Return colours (n, 3) of stops at offsets t, padded beyond the ends as SVG does."""
    t = np.asarray(t, dtype=np.float64)
    offsets = [s[0] for s in stops]
    return np.column_stack([np.interp(t, offsets, [s[1][c] for s in stops]) for c in range(3)])


def _pick_placeholders(
    colours: np.ndarray, neighbours: list[np.ndarray], palette: np.ndarray | None = None
) -> list[tuple[int, int, int]]:
    """Return a placeholder colour per region (fewer when no safe one is left).

    `colours` (n, 3) are the image's other colours, `neighbours` the colours each region's
    rim blends with. Each placeholder keeps MIN_PLACEHOLDER_DISTANCE from the others and from
    every palette colour. Without a palette it keeps that distance from every common colour
    too; with one, every common colour must stay nearer its own palette colour than the
    placeholder (by _SNAP_MARGIN), so snapping to the palette plus the placeholders gives no
    unrelated pixel a gradient, and of those the placeholder is preferred whose blends with
    the region's neighbours snap to either end, not to a third colour (no slivers).
    """
    cells = colours >> 4  # 4-bit cells: 4096 bins
    keys = (cells[:, 0].astype(np.int64) << 8) | (cells[:, 1].astype(np.int64) << 4) | cells[:, 2]
    counts = np.bincount(keys, minlength=4096)
    occupied = np.flatnonzero(counts >= max(3, 0.00005 * len(keys)))
    sums = np.column_stack([np.bincount(keys, colours[:, c], minlength=4096) for c in range(3)])
    common = sums[occupied] / counts[occupied, None]  # mean colour of each common cell
    # score >= 0 means acceptable; the largest score is the safest placeholder.
    score = np.full(len(_CANDIDATES), np.inf)
    own = np.zeros((0, 3))
    if palette is not None and len(palette):
        own = np.asarray(palette, dtype=np.float64).reshape(-1, 3)
        score = _distance(_CANDIDATES, own).min(axis=1) - MIN_PLACEHOLDER_DISTANCE
        if len(common):
            nearest = _distance(common, own).min(axis=1)
            margin = (_distance(_CANDIDATES, common) - nearest[None, :]).min(axis=1)
            score = np.minimum(score, margin - _SNAP_MARGIN)
    elif len(common):
        score = _distance(_CANDIDATES, common).min(axis=1) - MIN_PLACEHOLDER_DISTANCE
    chosen: list[tuple[int, int, int]] = []
    for colours_around in neighbours:
        allowed = score >= 0
        if not allowed.any():
            break
        preference = np.where(allowed, score, -np.inf)
        if len(own) and len(colours_around):
            preference = np.minimum(preference, _blend_margin(own, colours_around))
        colour = _CANDIDATES[int(preference.argmax())]
        chosen.append((int(colour[0]), int(colour[1]), int(colour[2])))
        score = np.minimum(
            score, _distance(_CANDIDATES, colour[None])[:, 0] - MIN_PLACEHOLDER_DISTANCE
        )
    return chosen


def _blend_margin(palette: np.ndarray, around: np.ndarray) -> np.ndarray:
    """Return, per candidate placeholder, how safely its blends with a region's neighbours
    snap to one of the two ends: the least margin over the neighbours' palette colours (the
    common ones) and over blends at 10 %..90 % (negative: some blend snaps to a third colour).
    """
    snapped = _distance(around.astype(np.float64), palette).argmin(axis=1)
    counts = np.bincount(snapped, minlength=len(palette))
    ends = np.flatnonzero(counts >= max(1, 0.05 * len(snapped)))
    steps = np.linspace(0.1, 0.9, 9)[None, None, :, None]
    far = palette[ends][None, :, None, :]
    points = steps * _CANDIDATES[:, None, None, :] + (1 - steps) * far  # (c, e, s, 3)
    to_ends = np.minimum(
        np.linalg.norm(points - _CANDIDATES[:, None, None, :], axis=-1),
        np.linalg.norm(points - far, axis=-1),
    )
    to_palette = np.linalg.norm(points[..., None, :] - palette[None, None, None], axis=-1)
    to_palette[:, np.arange(len(ends)), :, ends] = np.inf  # the neighbour's own colour
    margins: np.ndarray = (to_palette.min(axis=-1) - to_ends).min(axis=(1, 2))
    return margins


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the (len(a), len(b)) RGB distances between two sets of colours."""
    distances: np.ndarray = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))
    return distances


@dataclass(frozen=True)
class _Rim:
    """The pixels around a region that take its placeholder, wholly or blended."""

    ry: np.ndarray  # rim pixels that change
    rx: np.ndarray
    share: np.ndarray  # the gradient's share of each (its opacity for pixels that join)
    ny: np.ndarray  # the neighbour each blends with (-1: none, the pixel joins the region)
    nx: np.ndarray


def _plan_rim(
    rgba: np.ndarray,
    labels: np.ndarray,
    is_large: np.ndarray,
    loose: np.ndarray,
    region: int,
    box: tuple[slice, ...],
    model: GradientFill,
    claimed: np.ndarray,
) -> _Rim:
    """Return how a region's anti-aliased rim blends with its placeholder.

    A rim pixel mixes the gradient's colour there with its neighbour's (another fill, or
    transparency): the mix's share is kept and the gradient's part becomes the placeholder, so
    the upscaled edge keeps its sub-pixel position. Pixels that fit the gradient join it.
    Large regions keep their pixels, and a pixel belongs to the first rim that claims it.
    """
    height, width = labels.shape
    margin = _RIM + _REACH
    y0, y1 = max(0, box[0].start - margin), min(height, box[0].stop + margin)
    x0, x1 = max(0, box[1].start - margin), min(width, box[1].stop + margin)
    crop = (slice(y0, y1), slice(x0, x1))
    inside = labels[crop] == region
    zone = binary_dilation(inside, iterations=_RIM)
    ry, rx = np.nonzero(zone & ~inside & ~is_large[labels[crop]] & ~claimed[crop])
    reference = (loose[crop] | (rgba[crop][..., 3] == 0)) & ~zone
    ry, rx = ry + y0, rx + x0
    q = _premultiplied(rgba[ry, rx].astype(np.float64))
    g = np.column_stack([model.colours_at(rx + 0.5, ry + 0.5), np.full(len(ry), 255.0)])
    opacity = rgba[ry, rx, 3] / 255.0
    share = np.full(len(ry), np.nan)
    ny = np.full(len(ry), -1)
    nx = np.full(len(ry), -1)
    # Pixels that are the gradient's own colour (at their opacity) join the region.
    joins = np.linalg.norm(q - g * opacity[:, None], axis=1) <= _INSIDE
    share[joins] = opacity[joins]
    # The others are a blend of the gradient and their nearest neighbour outside the rim.
    blends = np.flatnonzero(~joins)
    by, bx = _nearest(reference, ry[blends] - y0, rx[blends] - x0)
    found = by >= 0
    blends, by, bx = blends[found], by[found] + y0, bx[found] + x0
    neighbour = _premultiplied(rgba[by, bx].astype(np.float64))
    axis = g[blends] - neighbour
    offset = q[blends] - neighbour
    mix = np.clip((offset * axis).sum(1) / np.maximum((axis * axis).sum(1), 1e-9), 0, 1)
    ok = np.linalg.norm(offset - mix[:, None] * axis, axis=1) <= _BLEND_MISS
    blends = blends[ok]
    share[blends], ny[blends], nx[blends] = mix[ok], by[ok], bx[ok]
    keep = ~np.isnan(share)
    claimed[ry[keep], rx[keep]] = True
    return _Rim(ry[keep], rx[keep], share[keep], ny[keep], nx[keep])


def _neighbour_colours(
    rgba: np.ndarray, labels: np.ndarray, is_gradient: np.ndarray, rim: _Rim
) -> np.ndarray:
    """Return the (m, 3) opaque colours a rim blends with, other gradients left out."""
    blends = rim.ny >= 0
    ny, nx = rim.ny[blends], rim.nx[blends]
    keep = (rgba[ny, nx, 3] == 255) & ~is_gradient[labels[ny, nx]]
    return rgba[ny[keep], nx[keep], :3]


def _paint_rim(
    rim: _Rim, source: np.ndarray, out: np.ndarray, placeholder: tuple[int, int, int]
) -> None:
    """Write a rim's pixels: its share of the placeholder over its neighbour's new colour."""
    p4 = np.array([*placeholder, 255], dtype=np.float64)
    share = rim.share[:, None]
    joins = rim.ny < 0
    new = np.empty((len(rim.ry), 4))
    new[joins] = p4 * share[joins]  # premultiplied, at the pixel's own opacity
    blends = ~joins
    neighbour = _premultiplied(source[rim.ny[blends], rim.nx[blends]].astype(np.float64))
    new[blends] = share[blends] * p4 + (1 - share[blends]) * neighbour
    alpha = new[:, 3]
    rgb = new[:, :3] / np.maximum(alpha, 1e-9)[:, None] * 255.0
    values = np.clip(np.rint(np.column_stack([rgb, alpha])), 0, 255).astype(np.uint8)
    out[rim.ry, rim.rx] = values


def _nearest(mask: np.ndarray, ry: np.ndarray, rx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, per pixel (ry, rx), the nearest True pixel of `mask` within reach, else -1."""
    padded = np.pad(mask, _RIM + _REACH)  # out of bounds reads False
    ny = np.full(len(ry), -1)
    nx = np.full(len(rx), -1)
    todo = np.arange(len(ry))
    # Ring by ring, nearest first; each ring only for the pixels still looking.
    for offsets in _OFFSET_RINGS:
        y = ry[todo, None] + offsets[None, :, 0]
        x = rx[todo, None] + offsets[None, :, 1]
        hits = padded[y + _RIM + _REACH, x + _RIM + _REACH]
        first = hits.argmax(axis=1)
        found = hits[np.arange(len(todo)), first]
        rows = np.flatnonzero(found)
        ny[todo[rows]] = y[rows, first[rows]]
        nx[todo[rows]] = x[rows, first[rows]]
        todo = todo[~found]
        if todo.size == 0:
            break
    return ny, nx


def _premultiplied(rgba: np.ndarray) -> np.ndarray:
    """Return (n, 4) float RGBA with colour multiplied by alpha (so blends are linear)."""
    alpha = rgba[:, 3:4] / 255.0
    return np.column_stack([rgba[:, :3] * alpha, rgba[:, 3]])


def _free_prefix(svg: str) -> str:
    """Return a short id prefix no id in the markup starts with."""
    prefix = "g"
    while re.search(rf'id="{prefix}\d', svg):
        prefix += "g"
    return prefix


def _hex(colour: tuple[int, int, int]) -> str:
    text = "".join(f"{c:02x}" for c in colour)
    if all(text[i] == text[i + 1] for i in (0, 2, 4)):
        return "#" + text[0] + text[2] + text[4]
    return "#" + text
