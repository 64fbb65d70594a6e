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
from scipy.ndimage import binary_dilation, distance_transform_edt, label, uniform_filter

# A sliver is what an opening by a square of this many input px removes from a colour.
THIN_PX = 2.0
# At least this share of a sliver's pixels must be blends of its two neighbouring colours.
BLEND_SHARE = 0.6
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
    """Give every sliver among the thin parts of `colour` the colour of its nearest neighbour."""
    region = out[box]
    pixels = rgb[box]
    parts, count = label(thin, structure=np.ones((3, 3), dtype=bool))
    slivers = np.zeros_like(thin)
    palette = colours.astype(np.float32)
    for index in range(1, count + 1):
        part = parts == index
        rim = binary_dilation(part, np.ones((3, 3), dtype=bool)) & ~part
        around = region[rim]
        around = around[(around >= 0) & (around != colour)]
        if around.size < 2:
            continue
        values, counts = np.unique(around, return_counts=True)
        top = np.argsort(-counts)[:2]
        if len(top) < 2 or counts[top[1]] < RIM_SHARE * rim.sum():
            continue
        a, b = palette[values[top[0]]], palette[values[top[1]]]
        if _blend_share(pixels[part], a, b, palette[colour]) >= BLEND_SHARE:
            slivers |= part
    if not slivers.any():
        return
    # Nearest pixel that is not this colour (distance 0 there), over the box.
    _, (rows, cols) = distance_transform_edt(region == colour, return_indices=True)
    region[slivers] = region[rows[slivers], cols[slivers]]


def _blend_share(pixels: np.ndarray, a: np.ndarray, b: np.ndarray, own: np.ndarray) -> float:
    """Return the share of pixels closer to a blend of colours a and b than to `own`."""
    step = b - a
    t = np.clip((pixels - a) @ step / max(float(step @ step), 1e-6), 0.0, 1.0)
    blend = a + t[:, None] * step
    to_blend = np.sum((pixels - blend) ** 2, axis=1)
    to_own = np.sum((pixels - own) ** 2, axis=1)
    return float(np.mean(to_blend < to_own))
