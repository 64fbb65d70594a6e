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
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_dilation, find_objects, label

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
# A further stop must remove at least this share of the remaining squared error.
STOP_GAIN = 0.25
# The fit uses at most this many pixels of a region (evenly spread): plenty for 2-4 stops.
SAMPLES = 4096
_SEARCH_SAMPLES = 1024  # pixels used to search the direction or centre
_BINS = 48
# A rim pixel this close (RGB distance) to the fitted gradient counts as inside the region.
_INSIDE = 24.0
# A rim pixel further than this from every blend of the gradient and its neighbour stays as is.
_BLEND_MISS = 32.0
_RIM = 3  # pixels around a region where anti-aliasing is re-blended with the placeholder
_REACH = 4  # how far (pixels) a rim pixel looks for the neighbour it blends with
_OFFSETS = sorted(
    (
        (dy, dx, float(np.hypot(dy, dx)))
        for dy in range(-_REACH, _REACH + 1)
        for dx in range(-_REACH, _REACH + 1)
        if 0 < dy * dy + dx * dx <= _REACH * _REACH
    ),
    key=lambda o: o[2],
)
# Placeholders keep at least this RGB distance from the image's colours and from each other,
# beyond palette snapping's merge distance (40), so no other colour snaps to them.
MIN_PLACEHOLDER_DISTANCE = 56.0
# vtracer may average a few pixels into a shape's colour: fills this close are placeholders.
FILL_TOLERANCE = 8
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
    min_area: int | None = None,
    smooth_step: int = SMOOTH_STEP,
    max_rms: float = MAX_RMS,
    max_regions: int = 12,
) -> tuple[np.ndarray, list[GradientFill]]:
    """Return the image with each gradient region painted a placeholder colour, and the fills.

    `min_area` (input pixels) defaults to MIN_AREA_SHARE of the image. The returned RGBA is a
    copy (the input itself when nothing is found); prepare it and trace it as usual, then give
    the SVG and the fills to `apply_gradients`.
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an (H, W, 4) array, got shape {rgba.shape}")
    height, width = rgba.shape[:2]
    if min_area is None:
        min_area = max(MIN_PIXELS, round(MIN_AREA_SHARE * height * width))
    labels, sizes = _smooth_regions(rgba, smooth_step)
    big = np.flatnonzero(sizes >= min_area) + 1  # label ids
    if big.size == 0:
        return rgba, []
    boxes = find_objects(labels)
    found: list[tuple[int, _Fit, float]] = []
    for region in big[np.argsort(sizes[big - 1])[::-1]]:
        box = boxes[region - 1]
        assert box is not None
        ys, xs = np.nonzero(labels[box] == region)
        pick = _spread_index(len(ys), SAMPLES)
        ys, xs = ys[pick] + box[0].start, xs[pick] + box[1].start
        colours = rgba[ys, xs, :3].astype(np.float64)
        spread = np.percentile(colours, [2, 98], axis=0)
        if np.ptp(spread, axis=0).max() < MIN_SPAN:
            continue  # flat: most regions stop here
        fit = _fit_region(np.column_stack([xs + 0.5, ys + 0.5]), colours, max_rms)
        if fit is not None:
            found.append((int(region), fit[0], fit[1]))
        if len(found) >= max_regions:
            break
    if not found:
        return rgba, []
    is_gradient = np.zeros(len(sizes) + 1, dtype=bool)
    is_gradient[[region for region, _, _ in found]] = True
    # The colours the placeholders must avoid: the other fills' interiors.
    placeholders = _pick_placeholders(rgba[(labels > 0) & ~is_gradient[labels], :3], len(found))
    out = rgba.copy()
    fills: list[GradientFill] = []
    for (region, fit, rms), placeholder in zip(found, placeholders, strict=False):
        box = boxes[region - 1]
        assert box is not None
        out[box][labels[box] == region, :3] = placeholder
        fills.append(
            GradientFill(
                placeholder=placeholder,
                kind=fit.kind,
                geometry=fit.geometry,
                stops=fit.stops,
                area=int(sizes[region - 1]),
                rms=rms,
            )
        )
    # Neighbours a rim pixel can blend with: large fills and transparency.
    reference = (sizes >= min_area)[np.maximum(labels, 1) - 1] & (labels > 0)
    reference |= rgba[..., 3] == 0
    done = np.zeros((height, width), dtype=bool)
    for (region, _, _), fill in zip(found, fills, strict=False):
        box = boxes[region - 1]
        assert box is not None
        _blend_rim(rgba, out, labels, reference, region, box, fill, done)
    return out, fills


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
        distance = np.abs(keys - rgb).max(axis=1)
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
    coords = [_num(v * scale, 1) for v in fill.geometry]
    if fill.kind == "linear":
        names = ("x1", "y1", "x2", "y2")
        tag = "linearGradient"
    else:
        names = ("cx", "cy", "r")
        tag = "radialGradient"
    attrs = " ".join(f'{n}="{v}"' for n, v in zip(names, coords, strict=True))
    stops = "".join(
        f'<stop offset="{_num(offset, 3)}" stop-color="{_hex(colour)}"/>'
        for offset, colour in fill.stops
    )
    return f'<{tag} id="{gradient_id}" gradientUnits="userSpaceOnUse" {attrs}>{stops}</{tag}>'


def _smooth_regions(rgba: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Return labels of the opaque regions without edges (4-connected) and each label's size."""
    opaque = rgba[..., 3] >= 250
    across = opaque[:, 1:] & opaque[:, :-1]
    down = opaque[1:] & opaque[:-1]
    for c in range(3):
        plane = np.ascontiguousarray(rgba[..., c])
        # max - min of two uint8 values: their absolute difference without a wider copy.
        left, right = plane[:, :-1], plane[:, 1:]
        across &= np.maximum(left, right) - np.minimum(left, right) <= step
        top, bottom = plane[:-1], plane[1:]
        down &= np.maximum(top, bottom) - np.minimum(top, bottom) <= step
    smooth = opaque.copy()
    smooth[:, :-1] &= across
    smooth[:, 1:] &= across
    smooth[:-1] &= down
    smooth[1:] &= down
    labels, count = label(smooth)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return labels, sizes


def _fit_region(xy: np.ndarray, colours: np.ndarray, max_rms: float) -> tuple[_Fit, float] | None:
    """Return the better of a linear and a radial gradient for a region, if one explains it."""
    sample_xy, sample_rgb = _spread(xy, SAMPLES), _spread(colours, SAMPLES)
    search_xy, search_rgb = _spread(xy, _SEARCH_SAMPLES), _spread(colours, _SEARCH_SAMPLES)
    n = len(sample_xy)
    flat_sse = float(((sample_rgb - sample_rgb.mean(axis=0)) ** 2).sum())
    best: tuple[_Fit, float] | None = None
    for kind in ("linear", "radial"):
        t, first, geometry = (_search_linear if kind == "linear" else _search_radial)(
            search_xy, search_rgb, sample_xy
        )
        if t is None:
            continue
        stops, sse = _fit_stops(t, sample_rgb, first)
        # A radial fit can mimic a linear one (far centre): it must be clearly better.
        if best is None or sse < (0.8 if kind == "radial" else 1.0) * best[1]:
            best = (_Fit(kind, geometry, stops), sse)
    if best is None:
        return None
    fit, sse = best
    rms = (sse / n) ** 0.5
    span = max(float(np.linalg.norm(np.subtract(a[1], b[1]))) for a in fit.stops for b in fit.stops)
    if rms > max_rms or sse > MAX_RMS_VS_FLAT**2 * flat_sse or span < MIN_SPAN:
        return None
    return fit, rms


def _spread(values: np.ndarray, count: int) -> np.ndarray:
    """Return at most `count` rows evenly spread over `values`."""
    return values[_spread_index(len(values), count)]


def _spread_index(length: int, count: int) -> np.ndarray:
    """Return at most `count` indices evenly spread over range(length)."""
    if length <= count:
        return np.arange(length)
    return np.linspace(0, length - 1, count).astype(np.int64)


def _search_linear(
    xy: np.ndarray, rgb: np.ndarray, sample_xy: np.ndarray
) -> tuple[np.ndarray | None, float, tuple[float, ...]]:
    """Return offsets of the sample pixels along the best direction, 0.0, and (x1, y1, x2, y2)."""
    centre = xy.mean(axis=0)
    rel = xy - centre
    # Every 6 degrees plus the direction of steepest colour change (affine fit), then refined.
    design = np.column_stack([rel, np.ones(len(rel))])
    coef = np.linalg.lstsq(design, rgb, rcond=None)[0][:2]  # (2, 3): d colour / d(x, y)
    steepest = np.linalg.svd(coef, full_matrices=False)[0][:, 0]
    angles = np.append(np.deg2rad(np.arange(0.0, 180.0, 6.0)), np.arctan2(steepest[1], steepest[0]))
    angle = angles[int(np.argmin(_profile_sse(rel @ _units(angles), rgb)))]
    for delta in np.deg2rad([3.0, 1.5, 0.75]):
        trials = angle + np.array([-delta, 0.0, delta])
        angle = trials[int(np.argmin(_profile_sse(rel @ _units(trials), rgb)))]
    direction = _units(np.array([angle]))[:, 0]
    t = (sample_xy - centre) @ direction
    low, high = float(t.min()), float(t.max())
    if high - low < 1.0:
        return None, 0.0, ()
    start, end = centre + low * direction, centre + high * direction
    return (t - low) / (high - low), 0.0, (*map(float, start), *map(float, end))


def _search_radial(
    xy: np.ndarray, rgb: np.ndarray, sample_xy: np.ndarray
) -> tuple[np.ndarray | None, float, tuple[float, ...]]:
    """Return offsets of the sample pixels from the best centre, the first offset, (cx, cy, r)."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    size = float((high - low).max())
    if size < 2.0:
        return None, 0.0, ()
    # Centres on a grid over the region's box widened by half its size, then refined.
    grid = np.linspace(-0.5, 1.5, 9)
    gx, gy = np.meshgrid(grid, grid)
    centres = low + (high - low) * np.column_stack([gx.ravel(), gy.ravel()])
    centre = centres[int(np.argmin(_profile_sse(_distances(xy, centres), rgb)))]
    step = 0.25 * size
    moves = np.array([(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)], dtype=np.float64)
    for _ in range(6):
        trials = centre + step * moves
        centre = trials[int(np.argmin(_profile_sse(_distances(xy, trials), rgb)))]
        step /= 2
    distance = _distances(sample_xy, centre[None])[:, 0]
    radius = float(distance.max())
    if radius < 1.0:
        return None, 0.0, ()
    t = distance / radius
    return t, float(t.min()), (float(centre[0]), float(centre[1]), radius)


def _units(angles: np.ndarray) -> np.ndarray:
    """Return (2, m) unit vectors for angles in radians."""
    return np.stack([np.cos(angles), np.sin(angles)])


def _distances(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return (n, m) distances of the points from each centre."""
    return np.hypot(xy[:, 0:1] - centres[None, :, 0], xy[:, 1:2] - centres[None, :, 1])


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
    return float((rgb * rgb).sum()) - explained


def _fit_stops(t: np.ndarray, rgb: np.ndarray, first: float) -> tuple[_Stops, float]:
    """Return 2..MAX_STOPS stops (piecewise-linear in t, least squares) and their squared error.

    Stops are added where the error is largest while each removes STOP_GAIN of what is left.
    """
    knots = [first, 1.0] if first < 1.0 else [0.0, 1.0]
    colours, sse = _solve_knots(t, rgb, knots)
    while len(knots) < MAX_STOPS:
        residual = ((rgb - _eval_knots(t, knots, colours)) ** 2).sum(axis=1)
        bins = np.minimum((t * _BINS).astype(np.int64), _BINS - 1)
        per_bin = np.bincount(bins, weights=residual, minlength=_BINS)
        for k in knots:  # no new knot right beside an existing one
            per_bin[max(0, int(k * _BINS) - 1) : int(k * _BINS) + 2] = 0
        if per_bin.max() <= 0:
            break
        candidate = sorted([*knots, (int(per_bin.argmax()) + 0.5) / _BINS])
        new_colours, new_sse = _solve_knots(t, rgb, candidate)
        if new_sse > (1 - STOP_GAIN) * sse:
            break
        knots, colours, sse = candidate, new_colours, new_sse
    rounded = np.clip(np.rint(colours), 0, 255).astype(int)
    stops = tuple(
        (round(float(k), 3), (int(c[0]), int(c[1]), int(c[2])))
        for k, c in zip(knots, rounded, strict=True)
    )
    return stops, sse


def _solve_knots(t: np.ndarray, rgb: np.ndarray, knots: list[float]) -> tuple[np.ndarray, float]:
    """Return the knot colours of the least-squares piecewise-linear fit, and its squared error."""
    basis = _hat_basis(t, knots)
    colours = np.linalg.lstsq(basis, rgb, rcond=None)[0]
    colours = np.clip(colours, 0, 255)
    residual = rgb - basis @ colours
    return colours, float((residual * residual).sum())


def _hat_basis(t: np.ndarray, knots: list[float]) -> np.ndarray:
    """Return the (n, k) piecewise-linear interpolation weights of t over the knots (padded)."""
    eye = np.eye(len(knots))
    return np.column_stack([np.interp(t, knots, eye[i]) for i in range(len(knots))])


def _eval_knots(t: np.ndarray, knots: list[float], colours: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(t, knots, colours[:, c]) for c in range(3)])


def _eval_stops(t: np.ndarray, stops: _Stops) -> np.ndarray:
    """Return colours (n, 3) of stops at offsets t, padded beyond the ends as SVG does."""
    offsets = [s[0] for s in stops]
    colours = np.array([s[1] for s in stops], dtype=np.float64)
    return _eval_knots(np.asarray(t, dtype=np.float64), offsets, colours)


def _pick_placeholders(colours: np.ndarray, count: int) -> list[tuple[int, int, int]]:
    """Return up to `count` colours far from the given (n, 3) colours and from each other."""
    cells = colours >> 4  # 4-bit cells: 4096 bins
    keys = (cells[:, 0].astype(np.int64) << 8) | (cells[:, 1].astype(np.int64) << 4) | cells[:, 2]
    counts = np.bincount(keys, minlength=4096)
    occupied = np.flatnonzero(counts >= max(2, 0.0002 * len(keys)))
    taken = np.column_stack([occupied >> 8, (occupied >> 4) & 15, occupied & 15]) * 16.0 + 8.0
    # Odd colours are the least likely in a logo: a grid nudged off the round levels.
    levels = np.array([0, 51, 102, 153, 204, 255], dtype=np.float64)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    candidates = np.clip(grid + np.array([7.0, -5.0, 3.0]), 0, 255)
    if len(taken):
        gap = np.sqrt(((candidates[:, None, :] - taken[None, :, :]) ** 2).sum(-1)).min(axis=1)
    else:
        gap = np.full(len(candidates), np.inf)
    chosen: list[tuple[int, int, int]] = []
    for _ in range(count):
        best = int(gap.argmax())
        if gap[best] < MIN_PLACEHOLDER_DISTANCE:
            break
        colour = candidates[best]
        chosen.append((int(colour[0]), int(colour[1]), int(colour[2])))
        gap = np.minimum(gap, np.sqrt(((candidates - colour) ** 2).sum(-1)))
    return chosen


def _blend_rim(
    rgba: np.ndarray,
    out: np.ndarray,
    labels: np.ndarray,
    reference: np.ndarray,
    region: int,
    box: tuple[slice, slice],
    fill: GradientFill,
    done: np.ndarray,
) -> None:
    """Repaint a region's anti-aliased rim as blends of its placeholder and its neighbours.

    A rim pixel mixes the gradient's colour there with its neighbour's (another fill, or
    transparency): the mix's share is kept and the gradient's part becomes the placeholder, so
    the upscaled edge keeps its sub-pixel position. Pixels that fit the gradient join it.
    """
    height, width = labels.shape
    y0, y1 = max(0, box[0].start - _RIM), min(height, box[0].stop + _RIM)
    x0, x1 = max(0, box[1].start - _RIM), min(width, box[1].stop + _RIM)
    inside = labels[y0:y1, x0:x1] == region
    rim = binary_dilation(inside, iterations=_RIM) & ~inside
    rim &= ~reference[y0:y1, x0:x1] & ~done[y0:y1, x0:x1]
    ry, rx = np.nonzero(rim)
    if ry.size == 0:
        return
    ry += y0
    rx += x0
    q = _premultiplied(rgba[ry, rx].astype(np.float64))
    g = np.column_stack([fill.colours_at(rx + 0.5, ry + 0.5), np.full(len(ry), 255.0)])
    p4 = np.array([*fill.placeholder, 255], dtype=np.float64)
    new = np.full((len(ry), 4), np.nan)
    # Pixels that are the gradient's own colour (at their opacity) join the region.
    opacity = rgba[ry, rx, 3] / 255.0
    joins = np.linalg.norm(q - g * opacity[:, None], axis=1) <= _INSIDE
    new[joins] = p4 * opacity[joins, None]
    ny, nx = _nearest_reference(reference, labels, region, ry, rx)
    near = ~joins & (ny >= 0)
    if near.any():
        ny, nx = ny[near], nx[near]
        n_source = _premultiplied(rgba[ny, nx].astype(np.float64))
        n_out = _premultiplied(out[ny, nx].astype(np.float64))
        axis = g[near] - n_source
        offset = q[near] - n_source
        share = np.clip((offset * axis).sum(1) / np.maximum((axis * axis).sum(1), 1e-9), 0, 1)
        miss = np.linalg.norm(offset - share[:, None] * axis, axis=1)
        ok = miss <= _BLEND_MISS
        blended = share[:, None] * p4 + (1 - share[:, None]) * n_out
        new[np.flatnonzero(near)[ok]] = blended[ok]
    changed = ~np.isnan(new[:, 0])
    alpha = new[changed, 3]
    rgb = new[changed, :3] / np.maximum(alpha, 1e-9)[:, None] * 255.0
    values = np.clip(np.rint(np.column_stack([rgb, alpha])), 0, 255).astype(np.uint8)
    out[ry[changed], rx[changed]] = values
    done[ry[changed], rx[changed]] = True


def _nearest_reference(
    reference: np.ndarray, labels: np.ndarray, region: int, ry: np.ndarray, rx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per pixel, the nearest reference pixel outside `region` within _REACH (or -1)."""
    height, width = reference.shape
    ny = np.full(len(ry), -1)
    nx = np.full(len(rx), -1)
    best = np.full(len(ry), np.inf)
    for dy, dx, dist in _OFFSETS:
        y, x = ry + dy, rx + dx
        valid = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        y, x = np.where(valid, y, 0), np.where(valid, x, 0)
        hit = valid & reference[y, x] & (labels[y, x] != region) & (dist < best)
        ny[hit], nx[hit], best[hit] = y[hit], x[hit], dist
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


def _num(value: float, precision: int) -> str:
    """Return the shortest text for a number rounded to `precision` decimals."""
    text = f"{value:.{precision}f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        return "0"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text
