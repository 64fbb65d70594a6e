"""Fast image descriptors of a raster logo, the inputs of the logo-type classifier and routing."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np
from PIL import Image
from scipy import ndimage

WORK_SIDE = 256  # descriptors are computed at most at this long side, except the JPEG ones
OPAQUE = 250
EDGE_THRESHOLD = 0.1  # Sobel magnitude (0-1 luminance scale, /8 normalised) that counts as edge
FLAT_THRESHOLD = 0.04  # below this a pixel sits inside a fill rather than on an outline
PALETTE_SHARE = 0.005
MERGE_DISTANCE = 40.0  # RGB distance under which two 5-bit colours count as one (noise, AA)
BACKGROUND_DISTANCE = 48.0  # RGB distance from the border colour still treated as background
# The block-boundary ratio is unbounded: a flat image whose colour edges fall on columns 8n - 1
# has no interior steps at all and scores in the thousands. The shipped models saw 0.02-3.11
# (aimodels/weights/training_set.jsonl.gz), so larger values mean nothing to them.
BLOCKINESS_MAX = 3.2


@dataclass(frozen=True)
class ImageFeatures:
    width: float
    height: float
    aspect: float  # width / height
    log_pixels: float
    has_alpha: float  # 1 when some pixel is not fully opaque: a PNG with transparency
    alpha_coverage: float  # share of opaque pixels
    semi_transparent: float  # share of pixels with 0 < alpha < 255
    foreground_share: float  # share of pixels that are not background (alpha or border colour)
    bbox_aspect: float  # log of width / height of the foreground bounding box
    bbox_fill: float  # foreground share of its bounding box
    palette_size: float  # 5-bit colours covering >= 0.5 % of foreground pixels
    palette_size_coarse: float  # the same at 3 bits per channel, robust to JPEG noise
    palette_size_merged: float  # palette after merging colours closer than MERGE_DISTANCE
    log_distinct_colors: float  # log1p of distinct 5-bit colours in the foreground
    top1_share: float
    top2_share: float
    top4_share: float
    top8_share: float
    rare_color_share: float  # foreground share outside the palette: anti-aliasing, noise, ramps
    near_duplicate_share: float  # rare colours close to a palette colour: JPEG or AA noise
    luminance_spread: float  # luminance range of the palette colours
    saturation_mean: float
    hue_spread: float  # circular spread of palette hues
    grey_entropy: float  # bits, of foreground luminance in 32 bins
    edge_density: float  # share of foreground pixels on an edge
    corner_density: float  # Harris corners per edge pixel
    flat_gradient_mean: float  # smoothed gradient inside fills: a gradient-fill indicator
    flat_gradient_p90: float
    ramp_share: float  # share of fill pixels with a weak but steady colour slope
    ramp_rare_share: float  # rare colours that lie in fills, not on outlines: gradient fills
    component_count: float  # log1p of foreground connected components
    small_component_share: float  # components of glyph size among all components
    component_row_alignment: float  # how well glyph-size components sit on one baseline
    component_width_cv: float  # spread of glyph-size component widths
    glyph_density: float  # glyph-size components per foreground bounding-box width
    row_glyphs: float  # log1p of the most glyphs sharing one text line (centre and height)
    row_glyph_share: float  # share of glyph-size components on that line
    hole_share: float  # background enclosed by the foreground (counters of letters, rings)
    blockiness: float  # 8x8 block-boundary discontinuity over the interior one
    noise_level: float  # share of near-flat pixels with a small nonzero Laplacian: JPEG noise

    def as_vector(self) -> np.ndarray:
        """Return the features as a float32 vector in FEATURE_NAMES order."""
        return np.asarray(astuple(self), dtype=np.float32)


FEATURE_NAMES: tuple[str, ...] = tuple(field.name for field in fields(ImageFeatures))


def extract_features(rgba: np.ndarray) -> ImageFeatures:
    """Return fast descriptors of a uint8 RGBA logo of shape (H, W, 4)."""
    rgba = _as_rgba(rgba)
    height, width = rgba.shape[:2]
    alpha_full = rgba[..., 3]
    has_alpha = bool((alpha_full < 255).any())
    blockiness, noise_level = _jpeg_noise(rgba)

    small = _downscale(rgba)
    rgb = small[..., :3].astype(np.float32)
    foreground = _foreground(small, has_alpha)
    n_fg = int(foreground.sum())
    luminance = (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)) / 255.0

    colors, rare_mask = _color_stats(rgb, foreground)
    grads = _gradient_stats(rgb, luminance, foreground, rare_mask)
    shape = _shape_stats(foreground)

    return _finite(
        width=float(width),
        height=float(height),
        aspect=width / height,
        log_pixels=float(np.log(width * height)),
        has_alpha=float(has_alpha),
        alpha_coverage=float((alpha_full >= OPAQUE).mean()),
        semi_transparent=float(((alpha_full > 0) & (alpha_full < 255)).mean()),
        foreground_share=n_fg / foreground.size,
        grey_entropy=_entropy(luminance[foreground]),
        noise_level=noise_level,
        blockiness=blockiness,
        **colors,
        **grads,
        **shape,
    )


def _finite(**values: float) -> ImageFeatures:
    """Return the features with NaN or infinity replaced by 0: models and records need numbers."""
    return ImageFeatures(
        **{name: float(v) if np.isfinite(v) else 0.0 for name, v in values.items()}
    )


def _as_rgba(rgba: np.ndarray) -> np.ndarray:
    array = np.asarray(rgba)
    if array.ndim == 2:
        array = np.stack([array, array, array, np.full_like(array, 255)], axis=-1)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or 0 in array.shape[:2]:
        raise ValueError(f"Expected an (H, W, 4) RGBA array, got shape {array.shape}.")
    if array.shape[2] == 3:
        array = np.concatenate([array, np.full((*array.shape[:2], 1), 255, array.dtype)], axis=2)
    return np.ascontiguousarray(array, dtype=np.uint8)


def _downscale(rgba: np.ndarray) -> np.ndarray:
    height, width = rgba.shape[:2]
    scale = WORK_SIDE / max(height, width)
    if scale >= 1:
        return rgba
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgba).resize(size, Image.Resampling.BOX))


def _foreground(rgba: np.ndarray, has_alpha: bool) -> np.ndarray:
    if has_alpha:
        return rgba[..., 3] >= 128
    # An upload on a flat backdrop: treat the dominant border colour as background, so JPEG and
    # flattened PNG uploads describe the same shapes as transparent ones.
    rgb = rgba[..., :3].astype(np.float32)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    codes = _codes(border.astype(np.uint8), bits=4)
    mode = np.bincount(codes).argmax()
    if (codes == mode).mean() < 0.5:
        return np.ones(rgba.shape[:2], dtype=bool)
    backdrop = np.median(border[codes == mode], axis=0)
    distance = np.sqrt(((rgb - backdrop) ** 2).sum(axis=-1))
    # Every backdrop-coloured pixel counts as background, enclosed ones too: in a transparent
    # original the counters of letters and the holes of rings are transparent as well.
    background: np.ndarray = distance >= BACKGROUND_DISTANCE
    return background


def _codes(rgb: np.ndarray, bits: int) -> np.ndarray:
    shift = 8 - bits
    q = (rgb >> shift).astype(np.int64)
    return (q[..., 0] << (2 * bits)) | (q[..., 1] << bits) | q[..., 2]


def _color_stats(rgb: np.ndarray, foreground: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Return the colour features and the mask of foreground pixels in rare colours."""
    pixels = rgb[foreground].astype(np.uint8)
    n = len(pixels)
    empty = np.zeros(foreground.shape, dtype=bool)
    if n == 0:
        return {
            "palette_size": 0.0,
            "palette_size_coarse": 0.0,
            "palette_size_merged": 0.0,
            "log_distinct_colors": 0.0,
            "top1_share": 0.0,
            "top2_share": 0.0,
            "top4_share": 0.0,
            "top8_share": 0.0,
            "rare_color_share": 0.0,
            "near_duplicate_share": 0.0,
            "luminance_spread": 0.0,
            "saturation_mean": 0.0,
            "hue_spread": 0.0,
        }, empty
    codes = _codes(pixels, bits=5)
    counts = np.bincount(codes, minlength=1 << 15)
    order = np.argsort(counts)[::-1]
    sorted_counts = counts[order] / n
    palette = order[sorted_counts >= PALETTE_SHARE]
    if len(palette) == 0:
        palette = order[:1]
    candidates = order[:64]
    merged = _merge_palette(candidates[counts[candidates] >= 0.001 * n], counts, n)
    coarse = np.bincount(_codes(pixels, bits=3), minlength=1 << 9) / n

    centres = np.stack([(palette >> 10) & 31, (palette >> 5) & 31, palette & 31], axis=1)
    centres = centres.astype(np.float32) * 8 + 4
    in_palette = np.isin(codes, palette)
    rare = pixels[~in_palette].astype(np.float32)
    near = _near_duplicate_share(rare, centres, n)
    rare_mask = empty.copy()
    rare_mask[foreground] = ~in_palette

    weights = counts[palette].astype(np.float32)
    lum = centres @ np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0
    hue, sat = _hue_saturation(centres / 255.0)
    hue_spread = _hue_spread(hue, weights * sat)
    return {
        "palette_size": float(len(palette)),
        "palette_size_coarse": float((coarse >= PALETTE_SHARE).sum()),
        "palette_size_merged": float(merged),
        "log_distinct_colors": float(np.log1p((counts > 0).sum())),
        "top1_share": float(sorted_counts[:1].sum()),
        "top2_share": float(sorted_counts[:2].sum()),
        "top4_share": float(sorted_counts[:4].sum()),
        "top8_share": float(sorted_counts[:8].sum()),
        "rare_color_share": float(len(rare) / n),
        "near_duplicate_share": near,
        "luminance_spread": float(lum.max() - lum.min()),
        "saturation_mean": float((sat * weights).sum() / weights.sum()),
        "hue_spread": hue_spread,
    }, rare_mask


def _near_duplicate_share(rare: np.ndarray, centres: np.ndarray, n: int) -> float:
    """Return the share of the n pixels in a rare colour close to a palette colour."""
    if not len(rare):
        return 0.0
    # Distance of each rare colour to its nearest palette colour; few palette colours, so cheap.
    sample = rare[:: max(1, len(rare) // 4000)]
    nearest = np.sqrt(((sample[:, None, :] - centres[None, :, :]) ** 2).sum(-1)).min(axis=1)
    return float((nearest < 40).mean()) * len(rare) / n


def _hue_spread(hue: np.ndarray, hue_weights: np.ndarray) -> float:
    """Return 1 minus the length of the weighted mean hue vector: 0 for one hue, near 1 for many."""
    if not hue_weights.sum() > 0:  # NaN weights too
        return 0.0
    angle = hue * 2 * np.pi
    vector = (
        np.hypot((np.cos(angle) * hue_weights).sum(), (np.sin(angle) * hue_weights).sum())
        / hue_weights.sum()
    )
    return float(1 - vector)


def _merge_palette(candidates: np.ndarray, counts: np.ndarray, n: int) -> int:
    # Greedy: each colour, most frequent first, joins the nearest kept colour or starts a new one,
    # so the noise JPEG spreads over neighbouring bins adds to its source colour.
    centres = np.stack([(candidates >> 10) & 31, (candidates >> 5) & 31, candidates & 31], axis=1)
    centres = centres.astype(np.float32) * 8
    kept: list[int] = []
    mass: list[float] = []
    for i, centre in enumerate(centres):
        if kept:
            distance = np.sqrt(((centres[kept] - centre) ** 2).sum(axis=1))
            nearest = int(distance.argmin())
            if distance[nearest] < MERGE_DISTANCE:
                mass[nearest] += counts[candidates[i]]
                continue
        kept.append(i)
        mass.append(float(counts[candidates[i]]))
    return int((np.asarray(mass) >= PALETTE_SHARE * n).sum())


def _hue_saturation(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    high = rgb.max(axis=1)
    low = rgb.min(axis=1)
    chroma = high - low
    sat = np.where(high > 0, chroma / np.maximum(high, 1e-6), 0.0)
    safe = np.maximum(chroma, 1e-6)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    hue = np.where(
        high == r, ((g - b) / safe) % 6, np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)
    )
    return hue / 6.0, sat


def _entropy(values: np.ndarray) -> float:
    if values.size == 0:
        return 0.0
    hist = np.bincount(np.clip((values * 32).astype(np.int64), 0, 31), minlength=32)
    p = hist[hist > 0] / values.size
    return float(-(p * np.log2(p)).sum())


def _gradient_stats(
    rgb: np.ndarray, luminance: np.ndarray, foreground: np.ndarray, rare: np.ndarray
) -> dict[str, float]:
    gx = ndimage.sobel(luminance, axis=1) / 8
    gy = ndimage.sobel(luminance, axis=0) / 8
    magnitude = np.hypot(gx, gy)
    edges = magnitude > EDGE_THRESHOLD
    n_fg = max(int(foreground.sum()), 1)
    edge_density = float((edges & foreground).sum() / n_fg)

    # Harris response on the structure tensor: corners per edge pixel separate lettering and
    # detailed art from smooth shapes.
    sxx = ndimage.uniform_filter(gx * gx, 3)
    syy = ndimage.uniform_filter(gy * gy, 3)
    sxy = ndimage.uniform_filter(gx * gy, 3)
    harris = sxx * syy - sxy * sxy - 0.05 * (sxx + syy) ** 2
    peaks = (harris > 1e-4) & (harris == ndimage.maximum_filter(harris, 5))
    corner_density = float(peaks.sum() / max(int(edges.sum()), 1))

    # Fills: foreground away from outlines. A smoothed colour slope there means a gradient fill;
    # smoothing first keeps JPEG noise from looking like one.
    near_edge = ndimage.binary_dilation(edges, iterations=2) if edges.any() else edges
    fill = foreground & ~near_edge
    smooth = ndimage.uniform_filter(rgb, size=(5, 5, 1)) / 255.0
    slope = np.zeros(luminance.shape, dtype=np.float32)
    if min(luminance.shape) > 4:
        dx = np.abs(smooth[:, 4:] - smooth[:, :-4]).max(axis=-1) / 4
        dy = np.abs(smooth[4:] - smooth[:-4]).max(axis=-1) / 4
        slope[:, 2:-2] += dx
        slope[2:-2] += dy
    values = slope[fill]
    if values.size:
        flat_mean = float(values.mean())
        flat_p90 = float(np.percentile(values, 90))
        ramp_share = float(((values > 0.002) & (values < 0.03)).mean())
    else:
        flat_mean = flat_p90 = ramp_share = 0.0
    ramp_rare = float((rare & fill).sum() / n_fg)
    return {
        "edge_density": edge_density,
        "corner_density": corner_density,
        "flat_gradient_mean": flat_mean,
        "flat_gradient_p90": flat_p90,
        "ramp_share": ramp_share,
        "ramp_rare_share": ramp_rare,
    }


def _shape_stats(foreground: np.ndarray) -> dict[str, float]:
    rows = np.flatnonzero(foreground.any(axis=1))
    cols = np.flatnonzero(foreground.any(axis=0))
    if len(rows) == 0:
        return {
            "bbox_aspect": 0.0,
            "bbox_fill": 0.0,
            "component_count": 0.0,
            "small_component_share": 0.0,
            "component_row_alignment": 0.0,
            "component_width_cv": 0.0,
            "glyph_density": 0.0,
            "row_glyphs": 0.0,
            "row_glyph_share": 0.0,
            "hole_share": 0.0,
        }
    box_h = rows[-1] - rows[0] + 1
    box_w = cols[-1] - cols[0] + 1
    labels, count = ndimage.label(foreground)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    slices = ndimage.find_objects(labels)
    comp_h = np.array([s[0].stop - s[0].start for s in slices], dtype=np.float32)
    comp_w = np.array([s[1].stop - s[1].start for s in slices], dtype=np.float32)
    centre_y = np.array([(s[0].stop + s[0].start) / 2 for s in slices], dtype=np.float32)
    # Glyph size: a visible blob narrower than half the mark and, unless the mark is a wide line
    # of lettering where capitals span its full height, shorter than it.
    short = (comp_h <= 0.9 * box_h) | (box_w >= 2 * box_h)
    glyph = (sizes >= 6) & short & (comp_w <= 0.5 * box_w)
    n_glyph = int(glyph.sum())
    if n_glyph >= 2:
        alignment = float(1 - min(1.0, np.std(centre_y[glyph]) / max(box_h, 1) * 2))
        width_cv = float(np.std(comp_w[glyph]) / max(np.mean(comp_w[glyph]), 1e-6))
        row = _best_row(centre_y[glyph], comp_h[glyph], sizes[glyph])
    else:
        alignment = width_cv = 0.0
        row = float(n_glyph)
    filled = ndimage.binary_fill_holes(foreground)
    return {
        "bbox_aspect": float(np.log(box_w / box_h)),
        "bbox_fill": float(foreground.sum() / (box_h * box_w)),
        "component_count": float(np.log1p(count)),
        "small_component_share": n_glyph / max(count, 1),
        "component_row_alignment": alignment,
        "component_width_cv": width_cv,
        "glyph_density": float(n_glyph * box_h / max(box_w, 1)),
        "row_glyphs": float(np.log1p(row)),
        "row_glyph_share": row / max(n_glyph, 1),
        "hole_share": float((filled & ~foreground).sum() / max(int(filled.sum()), 1)),
    }


def _best_row(centre_y: np.ndarray, comp_h: np.ndarray, sizes: np.ndarray) -> float:
    # A line of lettering: components whose centres sit within a third of a glyph height and
    # whose heights agree within a factor 1.6. Keep the largest few hundred to stay cheap.
    keep = np.argsort(sizes)[::-1][:200]
    y, h = centre_y[keep], np.maximum(comp_h[keep], 1)
    same_line = np.abs(y[:, None] - y[None, :]) <= h[:, None] / 3
    ratio = h[:, None] / h[None, :]
    similar = (ratio < 1.6) & (ratio > 1 / 1.6)
    return float((same_line & similar).sum(axis=1).max())


def _jpeg_noise(rgba: np.ndarray) -> tuple[float, float]:
    grey = rgba[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    height, width = grey.shape
    if height < 16 or width < 16:
        return 0.0, 0.0
    # JPEG quantises each 8x8 block on its own, so steps across block boundaries exceed steps
    # inside blocks; only small steps count, so real outlines do not dominate.
    diff = np.abs(np.diff(grey, axis=1))
    diff = np.where(diff < 20, diff, 0)
    columns = diff.mean(axis=0)
    boundary = columns[7::8].mean()
    interior = np.delete(columns, np.s_[7::8]).mean()
    blockiness = float(min((boundary + 1e-3) / (interior + 1e-3), BLOCKINESS_MAX))
    lap = np.abs(ndimage.laplace(grey[::2, ::2] if max(height, width) > 1024 else grey))
    near_flat = lap < 20
    noise = float(((lap > 0) & near_flat).sum() / max(int(near_flat.sum()), 1))
    return blockiness, noise
