"""Remove slivers of a third colour that anti-aliasing leaves along a boundary between two.

Snapping an upscaled logo to its palette turns the anti-aliased ramp between two colours A and
B into whichever palette colour is nearest to the ramp's middle: on the fedora logo the ramp
from navy to white snaps to the light blue of the other arc, and the tracer draws it as a
hairline "tongue" of light blue along the navy/white boundary. Such a sliver is thin (under
~2 input px across), lies between two other colours, and its pixels were mixes of those two
colours before snapping (closer to some blend of A and B than to their own palette colour).
Each of its pixels is given the colour of the nearest pixel outside it, so A and B meet.

A thin stroke or a tapering tip of a real colour is kept: its pixels are that colour, not a
blend of the colours around it.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import (
    grey_dilation,
    label,
    uniform_filter,
)

# A sliver is what an opening by a square of this many input px removes from a colour.
THIN_PX = 2.0
# At least this share of a sliver's pixels must be blends of its two neighbouring colours.
BLEND_SHARE = 0.6
# The two neighbouring colours must differ by at least this much (RGB distance, 0-441): a
# ramp across a real edge. Neighbouring bands of a posterised gradient differ less, and their
# middle band is a step of the gradient, not a sliver.
MIN_EDGE_CONTRAST = 80.0
# Each of the two neighbouring colours must hold at least this share of the sliver's rim.
RIM_SHARE = 0.15


def remove_slivers(
    labels: np.ndarray, source: np.ndarray, colours: np.ndarray, *, scale: int
) -> np.ndarray:
    """Return a copy of the label map (palette index per pixel, -1 transparent), slivers merged.

    `source` is the image the labels were snapped from (H, W, 3 or 4, same grid), `colours`
    the palette (n, 3), `scale` the traced px per input px.
    """
    out = labels.copy()
    if len(colours) < 3:  # a sliver lies between two colours other than its own
        return out
    rgb = np.asarray(source[..., :3], dtype=np.float32)
    side = max(2, round(THIN_PX * scale))
    for colour in range(len(colours)):
        mask = out == colour
        if not mask.any():
            continue
        box = _box(mask, side)
        thin = mask[box] & ~_opening(mask[box], side)
        if thin.any():
            _merge_thin(out, box, thin, colour, rgb, colours)
    return out


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Return the mask's bounding box grown by `margin` (clipped to the array)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (
        slice(max(0, rows[0] - margin), min(mask.shape[0], rows[-1] + 1 + margin)),
        slice(max(0, cols[0] - margin), min(mask.shape[1], cols[-1] + 1 + margin)),
    )


def _opening(mask: np.ndarray, side: int) -> np.ndarray:
    """Return the binary opening of `mask` by a side×side square (box filters: fast)."""
    area = float(side * side)
    eroded = uniform_filter(mask.astype(np.float32), side, mode="constant") * area > area - 0.5
    # The opening is the union of every square inside the mask: dilate back by the same square
    # (an even side shifts the centre by half a pixel; shift back so the squares line up).
    shift = -1 if side % 2 == 0 else 0
    spread = uniform_filter(eroded.astype(np.float32), side, mode="constant", origin=shift)
    return np.asarray(spread * area > 0.5)


def _merge_thin(
    out: np.ndarray,
    box: tuple[slice, slice],
    thin: np.ndarray,
    colour: int,
    rgb: np.ndarray,
    colours: np.ndarray,
) -> None:
    """Give every sliver among the thin parts of `colour` the colour of its nearest neighbour.

    Vectorised over the parts (JPEG noise makes thousands): each rim pixel counts for the part
    next to it, the two colours most found on a part's rim are its neighbours A and B.
    """
    region = out[box]
    parts, count = label(thin, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return
    n = len(colours)
    near = grey_dilation(parts, size=(3, 3))
    rim = (near > 0) & (parts == 0) & (region >= 0) & (region != colour)
    rim_all = np.bincount(near[(near > 0) & (parts == 0)], minlength=count + 1)
    tally = np.bincount(
        near[rim].astype(np.int64) * n + region[rim], minlength=(count + 1) * n
    ).reshape(count + 1, n)
    order = np.argsort(-tally, axis=1, kind="stable")
    first, second = order[:, 0], order[:, 1]
    rows = np.arange(count + 1)
    enough = (tally[rows, second] >= np.maximum(RIM_SHARE * rim_all, 1)) & (rows > 0)
    inside = parts > 0
    owner = parts[inside]
    palette = colours.astype(np.float32)
    blends = _blends(
        rgb[box][inside], palette[first[owner]], palette[second[owner]], palette[colour]
    )
    share = np.bincount(owner, weights=blends, minlength=count + 1) / np.maximum(
        np.bincount(owner, minlength=count + 1), 1
    )
    contrast = np.linalg.norm(palette[first] - palette[second], axis=1)
    merged = enough & (share >= BLEND_SHARE) & (contrast >= MIN_EDGE_CONTRAST)
    slivers = np.zeros_like(thin)
    slivers[inside] = merged[owner]
    if not slivers.any():
        return
    _fill_from_neighbours(region, slivers, colour)


def _fill_from_neighbours(region: np.ndarray, slivers: np.ndarray, colour: int) -> None:
    """Give sliver pixels the colour of a neighbour of another colour, growing inwards.

    A sliver is a few pixels across, so a few rounds reach its middle: far cheaper than a
    distance transform of the whole box.
    """
    ys, xs = np.nonzero(slivers)
    pending = np.ones(len(ys), dtype=bool)
    height, width = region.shape
    steps = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))
    for _ in range(max(height, width)):
        if not pending.any():
            return
        before = int(pending.sum())
        for dy, dx in steps:
            ny, nx = np.clip(ys + dy, 0, height - 1), np.clip(xs + dx, 0, width - 1)
            value = region[ny, nx]
            ok = pending & (value != colour)
            region[ys[ok], xs[ok]] = value[ok]
            pending &= ~ok
        if int(pending.sum()) == before:
            return


def _blends(pixels: np.ndarray, a: np.ndarray, b: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Return per pixel whether it is closer to a blend of its colours a and b than to `own`."""
    step = b - a
    t = np.sum((pixels - a) * step, axis=1) / np.maximum(np.sum(step * step, axis=1), 1e-6)
    blend = a + np.clip(t, 0.0, 1.0)[:, None] * step
    to_blend = np.sum((pixels - blend) ** 2, axis=1)
    to_own = np.sum((pixels - own) ** 2, axis=1)
    return np.asarray(to_blend < to_own, dtype=np.float64)
