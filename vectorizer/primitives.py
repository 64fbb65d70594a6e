"""Redraw traced outlines that are circles, ellipses or (rounded) rectangles as exact ones.

A logo's own SVG draws a dot as a circle and a button as a rounded rectangle; a tracer draws
them as a few jittered curves, faceted or notched at high zoom. Every closed subpath of a
traced SVG is sampled and fitted, in order, by a circle, an ellipse (any rotation) and an
axis-aligned rectangle with rounded corners (radius 0: sharp corners); the first whose every
sample lies within `tolerance` input px of the traced outline replaces it, drawn exactly: quarter
arcs as cubic Béziers (the standard κ, ≤ 0.03 % of the radius off a true arc: the refinement and
the gradient placement read cubics, not arcs), straight sides as lines, in the subpath's own
direction so holes stay holes. Outlines that are none of these are left exactly as traced.
"""

from __future__ import annotations

import math
import re

import numpy as np

from vectorizer.pathdata import PathDataError, Segment, optimize_path, parse_path

# How far a fitted primitive may depart from the traced outline, in input px.
TOLERANCE_PX = 0.3
# A fitted corner radius under this (input px) is a sharp corner the tracer's blur rounded:
# drawn sharp when the sharp corner is within SHARP_TOLERANCE_PX of the traced outline.
SHARP_RADIUS_PX = 1.0
SHARP_TOLERANCE_PX = 0.5
# Outlines smaller than this across (input px) are left alone: too small to look faceted.
MIN_SIZE_PX = 3.0
SAMPLES_PER_SEGMENT = 12
KAPPA = 4 * (math.sqrt(2) - 1) / 3  # cubic control distance of a quarter circle, × radius
_PATH = re.compile(r'(<path\b[^>]*?\sd=")([^"]*)(")')
_VIEW_BOX = re.compile(r'viewBox="\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([-\d.]+)')
_WIDTH = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)"')


def fit_primitives(svg: str, *, precision: int, tolerance: float = TOLERANCE_PX) -> str:
    """Return the SVG with every subpath that is a primitive (within `tolerance`) redrawn.

    `precision` is the decimals its path data is written with (as clean_svg wrote it).
    """
    box, width = _VIEW_BOX.search(svg), _WIDTH.search(svg)
    if box is None or width is None or float(width.group(1)) <= 0:
        return svg
    scale = float(box.group(1)) / float(width.group(1))  # viewBox units per input px

    def redraw(match: re.Match[str]) -> str:
        d = match.group(2)
        try:
            fitted = fit_path(d, tol=tolerance * scale, unit=scale)
        except PathDataError:
            return match.group(0)
        if fitted is None:
            return match.group(0)
        shorter = optimize_path(fitted, precision=precision)
        return match.group(1) + shorter + match.group(3)

    return _PATH.sub(redraw, svg)


def fit_path(d: str, *, tol: float, unit: float = 1.0) -> str | None:
    """Return absolute path data with each primitive subpath redrawn, None when none is.

    `tol` is in path units, `unit` the path units per input px.
    """
    subpaths = _subpaths(parse_path(d))
    drawn = [_fit_subpath(subpath, tol, unit) for subpath in subpaths]
    if all(shape is None for shape in drawn):
        return None  # most paths: nothing to write
    return "".join(
        shape if shape is not None else _text(subpath)
        for shape, subpath in zip(drawn, subpaths, strict=True)
    )


def _subpaths(segments: list[Segment]) -> list[list[Segment]]:
    """Return the segments split at every move-to."""
    runs: list[list[Segment]] = []
    for seg in segments:
        if seg[0] == "M" or not runs:
            runs.append([])
        runs[-1].append(seg)
    return runs


def _text(subpath: list[Segment]) -> str:
    """Return absolute segments as path data."""
    return "".join(seg[0] + " ".join(f"{v:.6g}" for v in seg[1:]) for seg in subpath)


def sample(subpath: list[Segment]) -> np.ndarray | None:
    """Return points along a closed subpath of M/L/C/Q/Z, None for anything else (arcs, open).

    SAMPLES_PER_SEGMENT per segment from its start, segment after segment; each kind of
    segment is evaluated for all of its segments at once (a traced emoji has thousands).
    """
    if len(subpath) < 3 or subpath[0][0] != "M" or subpath[-1][0] != "Z":
        return None
    body = [*subpath[1:-1], ("L", *subpath[0][1:3])]
    kinds = np.array([seg[0] for seg in body])
    if not np.isin(kinds, ("L", "C", "Q")).all():
        return None
    ends = np.array([seg[-2:] for seg in body], dtype=float)
    starts = np.vstack([np.array(subpath[0][1:3], dtype=float), ends[:-1]])[:, None, :]
    ends = ends[:, None, :]
    t = np.arange(SAMPLES_PER_SEGMENT)[:, None] / SAMPLES_PER_SEGMENT
    points = np.empty((len(body), SAMPLES_PER_SEGMENT, 2))
    for kind in ("L", "C", "Q"):
        which = np.flatnonzero(kinds == kind)
        if which.size == 0:
            continue
        p0, p3 = starts[which], ends[which]
        if kind == "L":
            points[which] = p0 + t * (p3 - p0)
            continue
        controls = np.array([body[i][1:-2] for i in which], dtype=float)[:, None, :]
        p1 = controls[..., 0:2]
        if kind == "C":
            p2, s = controls[..., 2:4], 1 - t
            points[which] = s**3 * p0 + 3 * s * s * t * p1 + 3 * s * t * t * p2 + t**3 * p3
        else:
            points[which] = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t * t * p3
    return points.reshape(-1, 2)


def _fit_subpath(subpath: list[Segment], tol: float, unit: float) -> str | None:
    """Return the primitive drawing this subpath within tol, None when it is none."""
    points = sample(subpath)
    if points is None or len(subpath) < 4:  # a move, at least two segments, a close
        return None
    low, high = points.min(axis=0), points.max(axis=0)
    if (high - low).min() < MIN_SIZE_PX * unit:
        return None
    x, y = points[:, 0], points[:, 1]
    clockwise = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)) > 0  # y down
    for fit in (_circle, _ellipse):
        drawn = fit(points, tol, clockwise)
        if drawn is not None:
            return drawn
    return _rounded_rect(points, tol, clockwise, unit)


def _circle(points: np.ndarray, tol: float, clockwise: bool) -> str | None:
    """Return a circle through the points (least squares, Kåsa) when within tol."""
    centre = points.mean(axis=0)
    p = points - centre
    a = np.column_stack([2 * p, np.ones(len(p))])
    b = np.sum(p * p, axis=1)
    (cx, cy, c), *_ = np.linalg.lstsq(a, b, rcond=None)
    radius = math.sqrt(max(c + cx * cx + cy * cy, 0.0))
    distance = np.abs(np.hypot(p[:, 0] - cx, p[:, 1] - cy) - radius)
    if radius <= 0 or distance.max() > tol:
        return None
    return _ellipse_path(centre + np.array([cx, cy]), radius, radius, 0.0, clockwise)


def _ellipse(points: np.ndarray, tol: float, clockwise: bool) -> str | None:
    """Return an ellipse through the points (direct least squares, Halíř–Flusser) within tol."""
    centre = points.mean(axis=0)
    unit = float(np.abs(points - centre).max()) or 1.0
    x, y = ((points - centre) / unit).T
    d1 = np.column_stack([x * x, x * y, y * y])
    d2 = np.column_stack([x, y, np.ones_like(x)])
    s1, s2, s3 = d1.T @ d1, d1.T @ d2, d2.T @ d2
    try:
        t = -np.linalg.solve(s3, s2.T)
        m = s1 + s2 @ t
        m = np.array([m[2] / 2, -m[1], m[0] / 2])
        _, vectors = np.linalg.eig(m)
    except np.linalg.LinAlgError:
        return None
    vectors = np.real(vectors)
    condition = 4 * vectors[0] * vectors[2] - vectors[1] ** 2
    if not (condition > 0).any():
        return None
    a1 = vectors[:, int(np.argmax(condition))]
    conic = np.concatenate([a1, t @ a1])
    shape = _conic_ellipse(conic)
    if shape is None:
        return None
    (ex, ey), rx, ry, angle = shape
    ex, ey, rx, ry = ex * unit + centre[0], ey * unit + centre[1], rx * unit, ry * unit
    cos, sin = math.cos(angle), math.sin(angle)
    u = (points[:, 0] - ex) * cos + (points[:, 1] - ey) * sin
    v = -(points[:, 0] - ex) * sin + (points[:, 1] - ey) * cos
    rho = np.hypot(u / rx, v / ry)
    distance = np.abs(rho - 1) * np.hypot(u, v) / np.maximum(rho, 1e-9)
    if distance.max() > tol:
        return None
    return _ellipse_path(np.array([ex, ey]), rx, ry, angle, clockwise)


def _conic_ellipse(
    conic: np.ndarray,
) -> tuple[tuple[float, float], float, float, float] | None:
    """Return (centre, rx, ry, angle) of the ellipse a·x² + b·xy + c·y² + d·x + e·y + f = 0."""
    a, b, c, d, e, f = (float(v) for v in conic)
    det = 4 * a * c - b * b
    if det <= 0:
        return None
    cx, cy = (b * e - 2 * c * d) / det, (b * d - 2 * a * e) / det
    value = a * cx * cx + b * cx * cy + c * cy * cy + d * cx + e * cy + f
    eig, vec = np.linalg.eigh(np.array([[a, b / 2], [b / 2, c]]))
    if value == 0 or not ((-value / eig) > 0).all():
        return None
    rx, ry = (math.sqrt(-value / lam) for lam in eig)
    angle = math.atan2(vec[1, 0], vec[0, 0])
    return (cx, cy), rx, ry, angle


def _ellipse_path(centre: np.ndarray, rx: float, ry: float, angle: float, clockwise: bool) -> str:
    """Return an ellipse as four cubic quarter arcs, drawn in the asked direction (y down)."""
    cos, sin = math.cos(angle), math.sin(angle)

    def at(u: float, v: float) -> str:
        px = centre[0] + u * rx * cos - v * ry * sin
        py = centre[1] + u * rx * sin + v * ry * cos
        return f"{px:.6g} {py:.6g}"

    # In the ellipse's own frame (y down), (1,0) → (0,1) → (-1,0) → (0,-1) turns clockwise.
    turn = 1 if clockwise else -1
    quarter = [(1, 0), (0, turn), (-1, 0), (0, -turn)]
    parts = [f"M{at(1, 0)}"]
    for (u0, v0), (u1, v1) in zip(quarter, [*quarter[1:], quarter[0]], strict=True):
        c1 = at(u0 + KAPPA * u1, v0 + KAPPA * v1)
        c2 = at(u1 + KAPPA * u0, v1 + KAPPA * v0)
        parts.append(f"C{c1} {c2} {at(u1, v1)}")
    return "".join(parts) + "Z"


def _rounded_rect(points: np.ndarray, tol: float, clockwise: bool, unit: float) -> str | None:
    """Return an axis-aligned rectangle, corners rounded by the best radius, when within tol.

    A radius under SHARP_RADIUS_PX input px (`unit` path units each) is drawn sharp if it can.
    """
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half = (low + high) / 2, (high - low) / 2
    q0 = np.abs(points - centre)
    radii = np.unique(np.concatenate([np.linspace(0, half.min(), 41), [SHARP_RADIUS_PX * unit]]))
    # Every 4th point first: farther than tol at every radius there, it is farther in full.
    if _rounded_rect_distances(q0[::4], half, radii).min() > tol:
        return None
    worst = _rounded_rect_distances(q0, half, radii)
    best = int(np.argmin(worst))  # the smallest radius of the best fit
    if worst[best] > tol:
        return None
    radius = float(radii[best])
    if radius < SHARP_RADIUS_PX * unit and worst[0] <= SHARP_TOLERANCE_PX * unit:
        radius = 0.0
    return _rounded_rect_path(low, high, radius, clockwise)


def _rounded_rect_distances(q0: np.ndarray, half: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Return, per radius, the farthest of the points (|p − centre|) from a rounded rectangle.

    All radii at once (one array per point and radius): the rectangle is tried at 42 radii.
    """
    r = radii[:, None]
    q = q0[None, :, :] - (half[None, :] - r)[:, None, :]
    outside = np.hypot(np.maximum(q[..., 0], 0), np.maximum(q[..., 1], 0))
    distance = np.abs(outside + np.minimum(np.maximum(q[..., 0], q[..., 1]), 0) - r)
    worst: np.ndarray = distance.max(axis=1)
    return worst


def _rounded_rect_path(low: np.ndarray, high: np.ndarray, r: float, clockwise: bool) -> str:
    """Return a rectangle with corners of radius r (0: sharp), drawn in the asked direction."""
    (x0, y0), (x1, y1) = low, high
    k = r * (1 - KAPPA)
    # Clockwise on screen (y down): along the top edge to the right, then down the right edge.
    corners = [
        ((x1 - r, y0), (x1 - k, y0, x1, y0 + k, x1, y0 + r)),
        ((x1, y1 - r), (x1, y1 - k, x1 - k, y1, x1 - r, y1)),
        ((x0 + r, y1), (x0 + k, y1, x0, y1 - k, x0, y1 - r)),
        ((x0, y0 + r), (x0, y0 + k, x0 + k, y0, x0 + r, y0)),
    ]
    if not clockwise:
        corners = [
            ((x0 + r, y0), (x0 + k, y0, x0, y0 + k, x0, y0 + r)),
            ((x0, y1 - r), (x0, y1 - k, x0 + k, y1, x0 + r, y1)),
            ((x1 - r, y1), (x1 - k, y1, x1, y1 - k, x1, y1 - r)),
            ((x1, y0 + r), (x1, y0 + k, x1 - k, y0, x1 - r, y0)),
        ]
    parts = [f"M{_xy(*corners[-1][1][4:])}"]
    for line_end, curve in corners:
        parts.append(f"L{_xy(*line_end)}")
        if r > 0:
            parts.append("C" + " ".join(_xy(*curve[i : i + 2]) for i in (0, 2, 4)))
    return "".join(parts) + "Z"


def _xy(x: float, y: float) -> str:
    return f"{x:.6g} {y:.6g}"
