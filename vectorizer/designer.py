"""Designer controls applied to a finished trace: colours, cut-outs, groups, specks.

The search chooses the best trace; a designer then asks for a capped or fixed palette
(`max_colors`, `palette`), shapes that do not overlap (`shape_stacking="cutouts"`), one `<g>` per
colour (`group_by="color"`) and no specks under an area (`min_area_px`). Each step works on the
SVG's shapes; colours count solid fills and gradient stops alike. The result is measured again,
and a step that cost more than `NOTICE_SSIM` of SSIM says so in `problems`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import NotRequired, TypedDict

import numpy as np

from vectorizer import cutouts
from vectorizer.images import DEFAULT_MAX_PIXELS, decode_image
from vectorizer.quality import score
from vectorizer.svgdoc import Document, parse_document

STACKINGS = ("stacked", "cutouts")
GROUPINGS = ("none", "color")
MAX_COLORS = 256
NOTICE_SSIM = 0.005  # an SSIM loss past this is reported in `problems`
MAP_LONG_SIDE = 2048  # the label map: twice the input, at most this long


class DesignDict(TypedDict):
    """`DesignOptions.as_dict()`: the options as JSON values."""

    max_colors: int | None
    palette: list[str]
    shape_stacking: str
    group_by: str
    min_area_px: float


class DesignReport(TypedDict):
    """What `design` measured: colours and SSIM before, colours after, and its time."""

    ssim_before: float
    svg_bytes_before: int
    colors_before: int
    colors_after: NotRequired[int]
    ms: NotRequired[float]


@dataclass(frozen=True)
class DesignOptions:
    """What a designer asked of the output; the defaults change nothing."""

    max_colors: int | None = None
    palette: tuple[str, ...] = ()
    shape_stacking: str = "stacked"
    group_by: str = "none"
    min_area_px: float = 0.0

    @property
    def is_default(self) -> bool:
        """Return whether these options leave a trace as it is."""
        return self == NO_DESIGN

    def as_dict(self) -> DesignDict:
        """Return the options as JSON values."""
        return {
            "max_colors": self.max_colors,
            "palette": list(self.palette),
            "shape_stacking": self.shape_stacking,
            "group_by": self.group_by,
            "min_area_px": self.min_area_px,
        }


NO_DESIGN = DesignOptions()


@dataclass(frozen=True)
class Designed:
    """The SVG after the designer's options, measured, and what they cost."""

    svg: str
    ssim: float
    svg_bytes: int
    path_count: int
    problems: tuple[str, ...]
    report: DesignReport


def design_bytes(
    data: bytes, svg: str, options: DesignOptions, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Designed:
    """Return `design` of the SVG traced from encoded image bytes (a worker job)."""
    return design(decode_image(data, max_pixels=max_pixels).rgba, svg, options)


def design(rgba: np.ndarray, svg: str, options: DesignOptions) -> Designed:
    """Return the SVG with the options applied, measured against the input `rgba`."""
    started = time.perf_counter()
    before = score(rgba, svg)
    doc = parse_document(svg)
    height, width = rgba.shape[:2]
    problems: list[str] = []
    report: DesignReport = {
        "ssim_before": before.ssim,
        "svg_bytes_before": before.svg_bytes,
        "colors_before": len(doc.colours()),
    }
    steps = [
        ("colours", _colour_step),
        ("min_area_px", _speck_step),
        ("shape_stacking", _cutout_step),
        ("group_by", _group_step),
    ]
    last = before.ssim
    for _name, step in steps:
        changed, notes = step(doc, options, (width, height))
        problems += notes
        if changed is not doc:
            doc = changed
            measured = score(rgba, doc.markup()).ssim
            if last - measured > NOTICE_SSIM:
                problems.append(
                    f"{_describe(_name, options)} cost SSIM {last:.3f} → {measured:.3f}"
                )
            last = measured
    final = doc.markup()
    after = score(rgba, final)
    report["colors_after"] = len(doc.colours())
    report["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return Designed(final, after.ssim, after.svg_bytes, after.path_count, tuple(problems), report)


def _describe(step: str, options: DesignOptions) -> str:
    if step == "colours":
        if options.palette:
            return f"palette of {len(options.palette)}"
        return f"max_colors {options.max_colors}"
    if step == "min_area_px":
        return f"min_area_px {options.min_area_px:g}"
    if step == "shape_stacking":
        return "cutouts"
    return "group_by color"


Step = tuple[Document, list[str]]


def _colour_step(doc: Document, options: DesignOptions, size: tuple[int, int]) -> Step:
    colours = doc.colours()
    if options.palette:
        mapping = snap(list(colours), [c.lower() for c in options.palette])
    elif options.max_colors is not None and len(colours) > options.max_colors:
        weights = doc.colour_weights(_label_map(doc, size))
        mapping = reduce_palette(weights, options.max_colors)
    else:
        return doc, []
    if all(mapping[c] == c for c in colours):
        return doc, []
    return doc.recoloured(mapping), []


def _speck_step(doc: Document, options: DesignOptions, size: tuple[int, int]) -> Step:
    if options.min_area_px <= 0 or options.shape_stacking == "cutouts":
        return doc, []  # cut-outs merge specks on the label map instead (below)
    scale = doc.user_area_per_pixel(size)
    kept = [s for s in doc.shapes if s.area() / scale >= options.min_area_px]
    if len(kept) == len(doc.shapes):
        return doc, []
    return replace(doc, shapes=kept), []


def _cutout_step(doc: Document, options: DesignOptions, size: tuple[int, int]) -> Step:
    if options.shape_stacking != "cutouts":
        return doc, []
    return as_cutouts(doc, size, options.min_area_px), []


def _group_step(doc: Document, options: DesignOptions, size: tuple[int, int]) -> Step:
    if options.group_by != "color":
        return doc, []
    grouped = doc.grouped()
    if options.shape_stacking == "cutouts" or _same_picture(doc, grouped, size):
        return grouped, []
    # Shapes of one colour lie both above and below another's: only cut-outs group exactly.
    note = "group_by color: shapes of one colour lie above and below another's; cut out instead"
    return as_cutouts(doc, size, options.min_area_px).grouped(), [note]


def as_cutouts(doc: Document, size: tuple[int, int], min_area_px: float = 0.0) -> Document:
    """Return the document's visible shapes cut apart: each pixel in one shape, seams shared."""
    labels = _label_map(doc, size)
    # Shapes painted alike (same fill, same attributes) become one region: one path, no seam.
    first: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    same = [
        first.setdefault((s.fill, tuple(sorted(s.attrs.items()))), i)
        for i, s in enumerate(doc.shapes)
    ]
    labels = np.append(np.array(same, dtype=np.int64), -1)[labels]  # -1 (no shape) stays -1
    factor = labels.shape[1] / size[0]
    labels = cutouts.merge_specks(labels, max(min_area_px, 0.5) * factor * factor)
    paths = cutouts.region_paths(labels, doc.view_box)
    shapes = [
        replace(shape, d=paths[i], attrs={**shape.attrs, "fill-rule": "evenodd"})
        for i, shape in enumerate(doc.shapes)
        if paths.get(i)
    ]
    return replace(doc, shapes=shapes)


def _label_map(doc: Document, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    factor = min(2.0, MAP_LONG_SIDE / max(width, height))  # a big input: 2048 px at most
    map_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cutouts.label_map(doc.view_box, [s.d for s in doc.shapes], map_size)


def _same_picture(doc: Document, grouped: Document, size: tuple[int, int]) -> bool:
    """Return whether every pixel shows the same colour with the shapes grouped by colour."""
    fills = sorted({s.fill for s in doc.shapes})

    def colour_map(d: Document) -> np.ndarray:
        labels = _label_map(d, size)
        index = np.array([fills.index(s.fill) for s in d.shapes] + [-1])
        colours: np.ndarray = index[labels]  # label -1 reads the last entry: no shape
        return colours

    return bool(np.array_equal(colour_map(doc), colour_map(grouped.flattened())))


def snap(colours: list[str], palette: list[str]) -> dict[str, str]:
    """Return each colour (#rrggbb) mapped to the nearest palette colour (CIELAB distance)."""
    targets = _lab(palette)
    nearest = ((_lab(colours)[:, None, :] - targets[None]) ** 2).sum(axis=2).argmin(axis=1)
    return {c: palette[int(i)] for c, i in zip(colours, nearest, strict=True)}


def reduce_palette(weights: dict[str, float], count: int, rounds: int = 25) -> dict[str, str]:
    """Return each colour mapped into at most `count` colours (k-means in CIELAB, by area)."""
    colours = list(weights)
    lab = _lab(colours)
    rgb = np.array([_rgb(c) for c in colours], dtype=np.float64)
    weight = np.array([max(weights[c], 1e-6) for c in colours])
    centres = [int(weight.argmax())]  # farthest first, weighted: the big colours stay
    while len(centres) < count:
        gap = ((lab[:, None, :] - lab[centres][None]) ** 2).sum(axis=2).min(axis=1)
        centres.append(int((gap * weight).argmax()))
    centre_lab = lab[centres]
    for _ in range(rounds):
        member = ((lab[:, None, :] - centre_lab[None]) ** 2).sum(axis=2).argmin(axis=1)
        moved = np.array(
            [
                np.average(lab[member == k], axis=0, weights=weight[member == k])
                if (member == k).any()
                else centre_lab[k]
                for k in range(len(centre_lab))
            ]
        )
        if np.allclose(moved, centre_lab):
            break
        centre_lab = moved
    member = ((lab[:, None, :] - centre_lab[None]) ** 2).sum(axis=2).argmin(axis=1)
    result = {}
    for k in set(member.tolist()):
        mean = np.average(rgb[member == k], axis=0, weights=weight[member == k])
        hexed = "#" + "".join(f"{round(v):02x}" for v in mean)
        result.update({colours[i]: hexed for i in np.flatnonzero(member == k)})
    return result


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _lab(colours: list[str]) -> np.ndarray:
    """Return (N, 3) CIELAB (D65) of #rrggbb colours."""
    srgb = np.array([_rgb(c) for c in colours], dtype=np.float64).reshape(-1, 3) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = (
        linear
        @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    )
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )
