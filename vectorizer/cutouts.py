"""Cut-out shapes from a label map: every pixel belongs to one shape, seams shared exactly.

A stacked SVG is rendered without anti-aliasing with one colour per shape (`label_map`), so each
pixel says which shape shows there. The pixel edges between two labels form a planar graph:
chains of edges between two junctions (where three or more labels meet). Each chain is smoothed
and simplified once, rounded once, and written into both shapes it separates (once forwards,
once backwards), so neighbours share every vertex: no gap and no overlap at any zoom, only the
renderer's anti-aliasing where two edges meet.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import resvg_py
from PIL import Image
from scipy import ndimage
from skimage.measure import label as connected

Point = tuple[int, int]  # user units × 100 (two decimals, exact in both neighbours)
_GRID = 100
_SMOOTHING = 3  # passes of a [1 2 1] blur over a chain
_LONG_RUN = 3  # a corner between two straight runs this long is a real corner: kept sharp


class CutoutError(RuntimeError):
    """The SVG could not be rendered into a label map."""


def label_map(view_box: Sequence[float], paths: Sequence[str], size: tuple[int, int]) -> np.ndarray:
    """Return (H, W) int: the index of the topmost of `paths` (path data) per pixel, -1 none."""
    width, height = size
    body = "".join(f'<path d="{d}" fill="#{i + 1:06x}"/>' for i, d in enumerate(paths))
    box = " ".join(f"{v:g}" for v in view_box)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{box}" width="{width}" '
        f'height="{height}" preserveAspectRatio="none">{body}</svg>'
    )
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=svg,
            width=width,
            height=height,
            shape_rendering="crisp_edges",
            skip_system_fonts=True,
        )
    except (ValueError, BaseException) as exc:  # a Rust panic is a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise CutoutError(f"resvg could not render the shapes: {exc}") from exc
    rgba = np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), dtype=np.int64)
    index = (rgba[..., 0] << 16 | rgba[..., 1] << 8 | rgba[..., 2]) - 1
    return np.where(rgba[..., 3] >= 128, index, -1)


def merge_specks(labels: np.ndarray, min_pixels: float) -> np.ndarray:
    """Return `labels` with every connected piece under `min_pixels` given to its neighbour.

    The piece takes the label it borders most (the background when it floats alone).
    """
    if min_pixels <= 0:
        return labels
    labels = labels.copy()
    pieces = connected(labels + 1, background=0, connectivity=1)
    sizes = np.bincount(pieces.ravel())
    small = np.flatnonzero(sizes < min_pixels)
    slices = ndimage.find_objects(pieces)
    for piece in small[small > 0]:
        window = slices[piece - 1]
        if window is None:
            continue
        grown = tuple(slice(max(0, s.start - 1), s.stop + 1) for s in window)
        mask = pieces[grown] == piece
        ring = ndimage.binary_dilation(mask) & ~mask
        around = labels[grown][ring]
        values, counts = np.unique(around, return_counts=True)
        labels[grown][mask] = values[counts.argmax()] if len(values) else -1
    return labels


def region_paths(
    labels: np.ndarray, view_box: Sequence[float], tolerance: float = 0.5
) -> dict[int, str]:
    """Return path data (even-odd) per label: its pixels' outline, seams shared with neighbours.

    `tolerance` (label-map pixels) is how far simplification may move an outline.
    """
    height, width = labels.shape
    unit = (view_box[2] / width, view_box[3] / height)

    def to_user(points: np.ndarray) -> list[Point]:
        x = np.rint((view_box[0] + points[:, 0] * unit[0]) * _GRID).astype(int)
        y = np.rint((view_box[1] + points[:, 1] * unit[1]) * _GRID).astype(int)
        return list(zip(x.tolist(), y.tolist(), strict=True))

    owned: dict[int, list[list[Point]]] = defaultdict(list)
    for left, right, corners in _chains(labels):
        points = to_user(_simplify(_smooth(corners), tolerance))
        if left >= 0:
            owned[left].append(points)
        if right >= 0:
            owned[right].append(points[::-1])
    return {label: _path_data(_rings(chains)) for label, chains in owned.items()}


def _edges(labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return the boundary edges as arrays x0, y0, x1, y1, left label, right label."""
    padded = np.pad(labels, 1, constant_values=-1)
    above, below = padded[:-1, 1:-1], padded[1:, 1:-1]  # (H+1, W): edges (x,y)→(x+1,y)
    hy, hx = np.nonzero(above != below)
    west, east = padded[1:-1, :-1], padded[1:-1, 1:]  # (H, W+1): edges (x,y)→(x,y+1)
    vy, vx = np.nonzero(west != east)
    # y grows downwards: walking +x the cell above is on the left, walking +y the east cell.
    return (
        np.concatenate([hx, vx]),
        np.concatenate([hy, vy]),
        np.concatenate([hx + 1, vx]),
        np.concatenate([hy, vy + 1]),
        np.concatenate([above[hy, hx], east[vy, vx]]),
        np.concatenate([below[hy, hx], west[vy, vx]]),
    )


def _chains(labels: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Return (left label, right label, corner points) for every chain of boundary edges."""
    x0, y0, x1, y1, lefts, rights = _edges(labels)
    stride = labels.shape[1] + 1
    starts, ends = (y0 * stride + x0).tolist(), (y1 * stride + x1).tolist()
    incident: dict[int, list[int]] = defaultdict(list)
    for edge, (a, b) in enumerate(zip(starts, ends, strict=True)):
        incident[a].append(edge)
        incident[b].append(edge)
    nodes = [corner for corner, edges in incident.items() if len(edges) != 2]
    used = bytearray(len(starts))
    chains = []
    left_of, right_of = lefts.tolist(), rights.tolist()

    def walk(corner: int, edge: int) -> tuple[int, int, np.ndarray]:
        forward = starts[edge] == corner
        pair = (left_of[edge], right_of[edge]) if forward else (right_of[edge], left_of[edge])
        corners = [corner]
        while True:
            used[edge] = 1
            corner = ends[edge] if starts[edge] == corner else starts[edge]
            corners.append(corner)
            following = [e for e in incident[corner] if not used[e]]
            if len(incident[corner]) != 2 or not following:
                break
            edge = following[0]
        xy = np.array([(c % stride, c // stride) for c in corners], dtype=np.float64)
        return pair[0], pair[1], xy

    for node in nodes:
        for edge in incident[node]:
            if not used[edge]:
                chains.append(walk(node, edge))
    for edge in range(len(starts)):  # closed loops: no junction on them
        if not used[edge]:
            chains.append(walk(starts[edge], edge))
    return chains


def _smooth(corners: np.ndarray) -> np.ndarray:
    """Return a chain with its pixel staircase cut: edge midpoints, real corners and ends kept."""
    if len(corners) < 3:
        return corners
    steps = np.diff(corners, axis=0)
    turns = np.flatnonzero(np.any(steps[1:] != steps[:-1], axis=1)) + 1  # corner indices
    bounds = np.concatenate([[0], turns, [len(steps)]])
    run = np.repeat(np.diff(bounds), np.diff(bounds))  # each edge's straight run length
    keep = turns[(run[turns - 1] >= _LONG_RUN) & (run[turns] >= _LONG_RUN)]
    middles = (corners[:-1] + corners[1:]) / 2
    order = np.concatenate([np.arange(len(middles)) * 2 + 1, keep * 2])
    ranked = np.argsort(order, kind="stable")
    points = np.concatenate([corners[:1], np.concatenate([middles, corners[keep]])[ranked]])
    points = np.concatenate([points, corners[-1:]])
    pinned = np.zeros(len(points), dtype=bool)
    pinned[[0, -1]] = True
    pinned[1:-1] = np.concatenate([np.zeros(len(middles), bool), np.ones(len(keep), bool)])[ranked]
    for _ in range(_SMOOTHING):  # [1 2 1] / 4 between pinned points: stairs become slopes
        blurred = (points[:-2] + 2 * points[1:-1] + points[2:]) / 4
        points[1:-1] = np.where(pinned[1:-1, None], points[1:-1], blurred)
    return points


def _simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Return the points Douglas–Peucker keeps (both ends always; a loop's far point too)."""
    if len(points) < 3:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    if np.allclose(points[0], points[-1]):  # a closed loop: split at its farthest point
        far = int(np.argmax(((points - points[0]) ** 2).sum(axis=1)))
        keep[far] = True
        stack = [(0, far), (far, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        a, b = points[first], points[last]
        inner = points[first + 1 : last]
        direction = b - a
        length = float(np.hypot(*direction))
        if length == 0:
            distance = np.hypot(*(inner - a).T)
        else:
            offset = inner - a
            cross = direction[0] * offset[:, 1] - direction[1] * offset[:, 0]
            distance = np.abs(cross) / length
        worst = int(distance.argmax())
        if distance[worst] > tolerance:
            middle = first + 1 + worst
            keep[middle] = True
            stack += [(first, middle), (middle, last)]
    return points[keep]


def _rings(chains: list[list[Point]]) -> list[list[Point]]:
    """Return closed rings joining a region's chains end to start (each chain used once)."""
    leaving: dict[Point, list[int]] = defaultdict(list)
    for number, chain in enumerate(chains):
        leaving[chain[0]].append(number)
    used = [False] * len(chains)
    rings = []
    for first in range(len(chains)):
        if used[first]:
            continue
        ring: list[Point] = []
        index: int | None = first
        while index is not None and not used[index]:
            used[index] = True
            ring.extend(chains[index][:-1])
            end = chains[index][-1]
            index = next((i for i in leaving[end] if not used[i]), None)
        if len(ring) >= 3:
            rings.append(ring)
    return rings


def _path_data(rings: list[list[Point]]) -> str:
    """Return rings as compact path data: absolute move, relative lines, two decimals."""
    parts = []
    for ring in rings:
        x, y = ring[0]
        text = ["M", _number(x), _signed(_number(y))]
        numbers = []
        for px, py in ring[1:]:
            numbers += [_number(px - x), _number(py - y)]
            x, y = px, py
        if numbers:
            text.append("l" + numbers[0] + "".join(_signed(n) for n in numbers[1:]))
        parts.append("".join(text) + "z")
    return "".join(parts)


def _number(hundredths: int) -> str:
    sign = "-" if hundredths < 0 else ""
    whole, fraction = divmod(abs(hundredths), _GRID)
    digits = f"{fraction:02d}".rstrip("0")
    if not digits:
        return f"{sign}{whole}"
    return f"{sign}{whole if whole else ''}.{digits}"


def _signed(number: str) -> str:
    """Return the number as it follows another: no space before a minus sign."""
    return number if number.startswith("-") else f" {number}"
