"""Turn a stored SVG into the files designers and plotters use: PDF, EPS, DXF and PNG.

The SVG is the source of truth; every other format is derived from it on request. PDF and EPS
come from CairoSVG, which keeps vector paths and gradients; PNG from resvg, the renderer every
measurement uses; DXF from ezdxf, one closed polyline per contour on one layer per fill colour,
which is what cutting plotters read. A physical size (`OutputSize`) is written into the SVG's
width and height (the viewBox unchanged), so it becomes the PDF/EPS page and the DXF's
millimetres too. Pure Python, no Django.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from xml.etree.ElementTree import Element

import cairosvg
import ezdxf
import resvg_py
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from ezdxf import colors
from ezdxf.math import Matrix44, Vec2
from ezdxf.path import Path

from vectorizer.pathdata import PathDataError, parse_path
from vectorizer.svgclean import short_number

FORMATS = ("svg", "pdf", "eps", "dxf", "png")
CONTENT_TYPES = {
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "eps": "application/postscript",
    "dxf": "image/vnd.dxf",
    "png": "image/png",
}
# Units per inch; CSS px are 1/96 in, but a caller's own `dpi` says what one px is worth.
PER_INCH = {"pt": 72.0, "in": 1.0, "cm": 2.54, "mm": 25.4}
UNITS = ("px", *PER_INCH)
DEFAULT_DPI = 96.0
MIN_DPI, MAX_DPI = 10.0, 2400.0
# A page or cut up to 5 m a side (PDF readers stop near 200 in); a PNG up to 8192 px a side.
MAX_SIDE_IN = 5000 / 25.4
MIN_SIDE = 0.001  # in any unit: a thousandth of a pixel, point or millimetre
MAX_PNG_PX = 8192
# How far a flattened curve may stray from the true one in a DXF: below a cutting plotter's
# own step (typically 0.025–0.1 mm), so the polylines cut what the SVG draws.
DXF_TOLERANCE_MM = 0.02

_ROOT = re.compile(r"<svg\b[^>]*>", re.S)
_SIZE_ATTR = re.compile(r'(?<=\s)(width|height)="[^"]*"')
_LENGTH = re.compile(r"\s*([+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(px|pt|in|cm|mm)?\s*")
_TRANSFORM = re.compile(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)")
_EPS_BOX = re.compile(rb"^%%(Page)?BoundingBox: [^\r\n]*", re.M)
_URL = re.compile(r"url\(\s*#([^)\s]+)\s*\)")
# Containers whose children are not drawn by themselves.
_NOT_DRAWN = frozenset({"defs", "clipPath", "mask", "linearGradient", "radialGradient"})


class ExportError(ValueError):
    """The SVG cannot be exported as asked (a size out of range, unreadable markup)."""


@dataclass(frozen=True)
class OutputSize:
    """The size a caller wants: width and/or height in `unit`; the other keeps the aspect.

    `dpi` is how many pixels make an inch: it turns a px size into a page (3000 px at 300 dpi
    is a 10 in page) and a physical size into PNG pixels (10 cm at 300 dpi is 1181 px).
    """

    width: float | None = None
    height: float | None = None
    unit: str = "px"
    dpi: float = DEFAULT_DPI

    def as_dict(self) -> dict[str, float | str | None]:
        return asdict(self)


def view_box(svg: str) -> tuple[float, float, float, float]:
    """Return the root's viewBox, or 0 0 width height when it has none."""
    root = _root_tag(svg)
    found = re.search(r'\sviewBox="([^"]*)"', root)
    if found:
        values = [float(v) for v in _NUMBER.findall(found.group(1))]
        if len(values) == 4 and values[2] > 0 and values[3] > 0:
            return values[0], values[1], values[2], values[3]
    width, height = _root_length(root, "width"), _root_length(root, "height")
    if width is None or height is None:
        raise ExportError("the SVG has neither a viewBox nor a width and height")
    return 0.0, 0.0, width[0], height[0]


def resolve(svg: str, size: OutputSize) -> tuple[float, float]:
    """Return (width, height) in size.unit, the missing side from the viewBox's aspect."""
    _, _, box_w, box_h = view_box(svg)
    return resolve_box(box_w, box_h, size)


def resolve_box(box_w: float, box_h: float, size: OutputSize) -> tuple[float, float]:
    """Return (width, height) in size.unit for a box_w×box_h drawing, keeping its aspect.

    Raise ExportError when neither side is given, a side is not positive, or one exceeds 5 m
    at size.dpi.
    """
    if size.unit not in UNITS:
        raise ExportError(f"unit must be one of {', '.join(UNITS)}; got {size.unit!r}.")
    if not MIN_DPI <= size.dpi <= MAX_DPI:
        raise ExportError(f"dpi must be from {MIN_DPI:g} to {MAX_DPI:g}; got {size.dpi:g}.")
    width, height = size.width, size.height
    if width is None and height is None:
        raise ExportError("give a width or a height (or both).")
    if width is not None and height is None:
        height = width * box_h / box_w
    elif height is not None and width is None:
        width = height * box_w / box_h
    assert width is not None
    assert height is not None
    for name, value in (("width", width), ("height", height)):
        if not value >= MIN_SIDE or not math.isfinite(value):
            raise ExportError(
                f"the {name} must be positive (at least {MIN_SIDE:g}); got {value:g}{size.unit}."
            )
        inches = _inches(value, size.unit, size.dpi)
        if inches > MAX_SIDE_IN:
            raise ExportError(
                f"the {name} is {value:g}{size.unit} ({inches * 0.0254:.2f} m at {size.dpi:g} "
                "dpi); the most is 5 m a side."
            )
    return width, height


def sized(svg: str, size: OutputSize) -> str:
    """Return the SVG with its root width and height set to `size` (the viewBox unchanged)."""
    width, height = resolve(svg, size)
    unit = "" if size.unit == "px" else size.unit
    return _with_size(svg, short_number(width, 4) + unit, short_number(height, 4) + unit)


def _with_size(svg: str, width: str, height: str) -> str:
    """Return the SVG with these root width and height attributes."""
    root = _root_tag(svg)
    values = {"width": width, "height": height}
    new_root = _SIZE_ATTR.sub(lambda m: f'{m.group(1)}="{values.pop(m.group(1))}"', root)
    extra = "".join(f' {name}="{value}"' for name, value in values.items())
    if extra:  # the root had no width or height: add them before the tag closes
        end = -2 if new_root.endswith("/>") else -1
        new_root = new_root[:end] + extra + new_root[end:]
    return svg.replace(root, new_root, 1)


def page_inches(svg: str, dpi: float = DEFAULT_DPI) -> tuple[float, float]:
    """Return the SVG's displayed size in inches: its width and height at `dpi` px per inch."""
    root = _root_tag(svg)
    _, _, box_w, box_h = view_box(svg)
    width, height = _root_length(root, "width"), _root_length(root, "height")
    w_in = _inches(*width, dpi) if width else None
    h_in = _inches(*height, dpi) if height else None
    if w_in is None and h_in is None:
        return box_w / dpi, box_h / dpi
    if w_in is None:
        assert h_in is not None
        w_in = h_in * box_w / box_h
    if h_in is None:
        h_in = w_in * box_h / box_w
    return w_in, h_in


def png_size(svg: str, dpi: float = DEFAULT_DPI) -> tuple[int, int]:
    """Return the PNG's pixel size for the SVG's displayed size at `dpi`, within MAX_PNG_PX."""
    w_in, h_in = page_inches(svg, dpi)
    width, height = max(1, round(w_in * dpi)), max(1, round(h_in * dpi))
    if max(width, height) > MAX_PNG_PX:
        raise ExportError(
            f"a PNG of {width}×{height} px is too large; the most is {MAX_PNG_PX} px a side "
            "(ask for a smaller width or dpi)."
        )
    return width, height


def export(svg: str, fmt: str, size: OutputSize | None = None) -> bytes:
    """Return the SVG as `fmt` (one of FORMATS), sized to `size` when given."""
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    dpi = size.dpi if size else DEFAULT_DPI
    if size is not None and (size.width is not None or size.height is not None):
        svg = sized(svg, size)
    elif not MIN_DPI <= dpi <= MAX_DPI:
        raise ExportError(f"dpi must be from {MIN_DPI:g} to {MAX_DPI:g}; got {dpi:g}.")
    if fmt == "svg":
        return svg.encode("utf-8")
    if fmt == "png":
        return to_png(svg, dpi)
    if fmt == "dxf":
        return to_dxf(svg, dpi)
    return to_vector(svg, fmt, dpi)


def to_vector(svg: str, fmt: str, dpi: float = DEFAULT_DPI) -> bytes:
    """Return the SVG as a PDF or EPS page of its displayed size, paths and gradients kept."""
    w_in, h_in = page_inches(svg, dpi)  # a readable size, or ExportError before cairo runs
    convert = {"pdf": cairosvg.svg2pdf, "eps": cairosvg.svg2eps}[fmt]
    try:
        # unsafe=False (the default) fetches no external file or URL; ours reference none.
        data = bytes(convert(bytestring=svg.encode("utf-8"), dpi=dpi, unsafe=False))
    except Exception as exc:  # cairo's and the XML parser's errors have no common base
        raise ExportError(f"CairoSVG could not convert the SVG to {fmt.upper()}: {exc}") from exc
    if fmt == "eps":
        # Cairo bounds an EPS by its ink; a designer places the whole page, margins included.
        box = f"0 0 {math.ceil(w_in * 72 - 1e-6)} {math.ceil(h_in * 72 - 1e-6)}".encode()
        data = _EPS_BOX.sub(rb"%%\1BoundingBox: " + box, data, count=2)
    return data


def to_png(svg: str, dpi: float = DEFAULT_DPI) -> bytes:
    """Return the SVG as a PNG of its displayed size at `dpi`, transparency kept."""
    width, height = png_size(svg, dpi)
    try:
        png = resvg_py.svg_to_bytes(
            # resvg reads no physical units in the root's size: give it the pixels.
            svg_string=_with_size(svg, str(width), str(height)),
            width=width,
            height=height,
            skip_system_fonts=True,
        )
    except (ValueError, BaseException) as exc:  # a Rust panic is a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ExportError(f"resvg could not render the SVG: {exc}") from exc
    return bytes(png)


def to_dxf(svg: str, dpi: float = DEFAULT_DPI) -> bytes:
    """Return the SVG's filled shapes as a DXF in millimetres, y up.

    Each contour (subpath) of each filled shape is one closed LWPOLYLINE, its curves flattened
    within DXF_TOLERANCE_MM, on the layer of its fill colour (`color-1f6feb`), the layer drawn
    in that colour: a cutting plotter cuts one layer per vinyl.
    """
    x0, y0, box_w, box_h = view_box(svg)
    w_in, h_in = page_inches(svg, dpi)
    sx, sy = w_in * 25.4 / box_w, h_in * 25.4 / box_h
    # viewBox user units → mm, flipping y so the drawing stands upright in CAD.
    to_mm = Matrix44([sx, 0, 0, 0, 0, -sy, 0, 0, 0, 0, 1, 0, -x0 * sx, (y0 + box_h) * sy, 0, 1])
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 4  # millimetres
    doc.header["$EXTMIN"] = (0, 0, 0)
    doc.header["$EXTMAX"] = (w_in * 25.4, h_in * 25.4, 0)
    space = doc.modelspace()
    for colour, contour in shapes(svg, to_mm):
        layer = f"color-{colour}"
        if layer not in doc.layers:
            doc.layers.add(layer, true_color=colors.rgb2int(_rgb(colour)))
        points = [(v.x, v.y) for v in contour.flattening(DXF_TOLERANCE_MM)]
        if len(points) > 1 and Vec2(points[0]).isclose(Vec2(points[-1])):
            points.pop()  # the closed flag draws the closing edge
        if len(points) >= 2:
            space.add_lwpolyline(points, close=True, dxfattribs={"layer": layer})
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode("utf-8")


def shapes(svg: str, matrix: Matrix44 | None = None) -> Iterator[tuple[str, Path]]:
    """Yield (fill colour as rrggbb, contour) for every subpath of every filled shape.

    Fills are inherited (a root `fill` colours every path); a gradient counts as the colour of
    its first stop; `fill="none"` shapes are not filled and yield nothing.
    """
    try:
        root = ElementTree.fromstring(svg)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ExportError(f"not well-formed SVG: {exc}") from exc
    gradients = {
        element.get("id", ""): element
        for element in root.iter()
        if _local(element.tag) in ("linearGradient", "radialGradient")
    }
    yield from _walk(root, "000000", matrix or Matrix44(), gradients)


def subpath_count(svg: str) -> int:
    """Return how many contours (subpaths) the SVG's filled shapes have: its DXF's entities."""
    return sum(1 for _ in shapes(svg))


def _walk(
    element: Element, fill: str | None, matrix: Matrix44, gradients: dict[str, Element]
) -> Iterator[tuple[str, Path]]:
    tag = _local(element.tag)
    if tag in _NOT_DRAWN:
        return
    style = _style(element)
    if style.get("display") == "none":
        return
    own = style.get("fill")
    if own is not None:
        fill = _fill_colour(own, gradients)
    transform = element.get("transform")
    if transform:
        matrix = _transform(transform) @ matrix
    if fill is not None:
        data = _shape_data(element, tag)
        if data:
            for contour in _contours(data):
                yield fill, contour.transform(matrix)
    for child in element:
        yield from _walk(child, fill, matrix, gradients)


def _shape_data(element: Element, tag: str) -> str:
    """Return path data for a path, polygon or rect ('' for anything that is no shape)."""
    if tag == "path":
        return element.get("d", "")
    if tag == "polygon":
        numbers = _NUMBER.findall(element.get("points", ""))
        pairs = [f"{numbers[i]} {numbers[i + 1]}" for i in range(0, len(numbers) - 1, 2)]
        return f"M{' L'.join(pairs)}Z" if pairs else ""
    if tag == "rect":
        x, y = float(element.get("x", 0)), float(element.get("y", 0))
        w, h = float(element.get("width", 0)), float(element.get("height", 0))
        return f"M{x} {y}H{x + w}V{y + h}H{x}Z" if w > 0 and h > 0 else ""
    if tag in ("circle", "ellipse"):
        cx, cy = float(element.get("cx", 0)), float(element.get("cy", 0))
        rx = float(element.get("rx", element.get("r", 0)))
        ry = float(element.get("ry", element.get("r", 0)))
        if rx <= 0 or ry <= 0:
            return ""
        arc = f"A{rx} {ry} 0 1 0"
        return f"M{cx - rx} {cy}{arc} {cx + rx} {cy}{arc} {cx - rx} {cy}Z"
    return ""


def _contours(d: str) -> Iterator[Path]:
    """Yield one ezdxf Path per subpath of the path data."""
    try:
        segments = parse_path(d)
    except PathDataError as exc:
        raise ExportError(f"unreadable path data: {exc}") from exc
    path: Path | None = None
    for segment in segments:
        letter = segment[0]
        if letter == "M":
            if path is not None and len(path):
                yield path
            path = Path((segment[1], segment[2]))
            continue
        if path is None:
            continue
        if letter == "L":
            path.line_to((segment[1], segment[2]))
        elif letter == "C":
            _, x1, y1, x2, y2, x, y = segment
            path.curve4_to((x, y), (x1, y1), (x2, y2))
        elif letter == "Q":
            _, x1, y1, x, y = segment
            path.curve3_to((x, y), (x1, y1))
        elif letter == "A":
            start = path.end
            for point in _arc_points(start.x, start.y, *segment[1:]):
                path.line_to(point)
        elif letter == "Z":
            if not path.end.isclose(path.start):
                path.line_to(path.start)
            yield path
            path = None
    if path is not None and len(path):
        yield path


def _arc_points(
    x1: float, y1: float, rx: float, ry: float, angle: float, large: float, sweep: float,
    x2: float, y2: float,
) -> list[tuple[float, float]]:  # fmt: skip
    """Return points along an SVG elliptical arc (SVG 1.1 appendix F.6), its end included."""
    if rx == 0 or ry == 0 or (x1 == x2 and y1 == y2):
        return [(x2, y2)]
    phi = math.radians(angle)
    cos_p, sin_p = math.cos(phi), math.sin(phi)
    dx, dy = (x1 - x2) / 2, (y1 - y2) / 2
    xp, yp = cos_p * dx + sin_p * dy, -sin_p * dx + cos_p * dy
    scale = (xp / rx) ** 2 + (yp / ry) ** 2
    if scale > 1:  # radii too small for the chord: scale them up, as renderers do
        rx, ry = rx * math.sqrt(scale), ry * math.sqrt(scale)
    numerator = rx * rx * ry * ry - rx * rx * yp * yp - ry * ry * xp * xp
    factor = math.sqrt(max(0.0, numerator / (rx * rx * yp * yp + ry * ry * xp * xp)))
    if bool(large) == bool(sweep):
        factor = -factor
    cxp, cyp = factor * rx * yp / ry, -factor * ry * xp / rx
    cx = cos_p * cxp - sin_p * cyp + (x1 + x2) / 2
    cy = sin_p * cxp + cos_p * cyp + (y1 + y2) / 2
    start = math.atan2((yp - cyp) / ry, (xp - cxp) / rx)
    end = math.atan2((-yp - cyp) / ry, (-xp - cxp) / rx)
    delta = end - start
    if sweep and delta < 0:
        delta += 2 * math.pi
    elif not sweep and delta > 0:
        delta -= 2 * math.pi
    steps = max(4, math.ceil(abs(delta) / (math.pi / 32)))
    points = []
    for i in range(1, steps + 1):
        t = start + delta * i / steps
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        points.append((cos_p * ex - sin_p * ey + cx, sin_p * ex + cos_p * ey + cy))
    points[-1] = (x2, y2)
    return points


def _transform(text: str) -> Matrix44:
    """Return an SVG transform list as a matrix acting on row vectors (ezdxf's convention)."""
    result = Matrix44()
    for name, args in _TRANSFORM.findall(text):
        v = [float(n) for n in _NUMBER.findall(args)]
        if name == "matrix" and len(v) == 6:
            a, b, c, d, e, f = v
        elif name == "translate" and v:
            a, b, c, d, e, f = 1, 0, 0, 1, v[0], v[1] if len(v) > 1 else 0.0
        elif name == "scale" and v:
            a, b, c, d, e, f = v[0], 0, 0, v[1] if len(v) > 1 else v[0], 0, 0
        elif name == "rotate" and v:
            r = math.radians(v[0])
            cx, cy = (v[1], v[2]) if len(v) == 3 else (0.0, 0.0)
            a, b, c, d = math.cos(r), math.sin(r), -math.sin(r), math.cos(r)
            e, f = cx - a * cx - c * cy, cy - b * cx - d * cy
        elif name in ("skewX", "skewY") and v:
            t = math.tan(math.radians(v[0]))
            a, b, c, d, e, f = (1, 0, t, 1, 0, 0) if name == "skewX" else (1, t, 0, 1, 0, 0)
        else:
            raise ExportError(f"unsupported transform {name}({args})")
        # SVG lists apply right to left; with row vectors the rightmost comes first.
        result = Matrix44([a, b, 0, 0, c, d, 0, 0, 0, 0, 1, 0, e, f, 0, 1]) @ result
    return result


def _style(element: Element) -> dict[str, str]:
    """Return the presentation attributes and `style` declarations, style winning."""
    values = {name: element.get(name, "") for name in ("fill", "display") if element.get(name)}
    for declaration in element.get("style", "").split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() in ("fill", "display") and value.strip():
            values[name.strip()] = value.strip()
    return values


def _fill_colour(value: str, gradients: dict[str, Element]) -> str | None:
    """Return a fill as rrggbb, or None when it fills nothing."""
    value = value.strip()
    if value in ("none", "transparent"):
        return None
    link = _URL.match(value)
    if link:
        gradient = gradients.get(link.group(1))
        stops = [s for s in gradient if _local(s.tag) == "stop"] if gradient is not None else []
        if not stops:
            return "000000"
        stop = stops[0]
        colour = stop.get("stop-color") or _style_value(stop, "stop-color") or "#000000"
        return _fill_colour(colour, gradients) or "000000"
    hexed = _HEX.match(value)
    if hexed:
        digits = hexed.group(1).lower()
        return digits if len(digits) == 6 else "".join(c * 2 for c in digits)
    rgb = _RGB.match(value)
    if rgb:
        return "".join(f"{min(255, round(float(c))):02x}" for c in rgb.groups())
    return _NAMED.get(value.lower(), "000000")


def _style_value(element: Element, name: str) -> str | None:
    for declaration in element.get("style", "").split(";"):
        key, _, value = declaration.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


_NAMED = {"black": "000000", "white": "ffffff", "red": "ff0000", "green": "008000",
          "blue": "0000ff", "currentcolor": "000000"}  # fmt: skip


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _root_tag(svg: str) -> str:
    found = _ROOT.search(svg)
    if found is None:
        raise ExportError("the markup has no <svg> root")
    return found.group(0)


def _root_length(root: str, name: str) -> tuple[float, str] | None:
    """Return the root's width or height as (number, unit), None when absent or relative."""
    found = re.search(rf'(?<=\s){name}="([^"]*)"', root)
    if not found:
        return None
    match = _LENGTH.fullmatch(found.group(1))
    if not match:
        return None  # 100%, 1em: no absolute size; the viewBox decides
    return float(match.group(1)), match.group(2) or "px"


def _inches(value: float, unit: str, dpi: float) -> float:
    return value / dpi if unit == "px" else value / PER_INCH[unit]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
