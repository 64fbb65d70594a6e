"""Make SVG markup safe to serve back and small to store.

We serve SVGs to browsers, so whatever reaches a client passes an allowlist of elements and
attributes (no script, no event handlers, no external references). vtracer's output also gets a
viewBox (it has none, so it would not scale) and compact path data: the per-path translate baked
in, points rounded to `precision` decimals and written as short as they go (pathdata.py).
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from vectorizer.pathdata import PathDataError, optimize_path

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

ALLOWED_ELEMENTS = frozenset(
    {
        "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
        "defs", "linearGradient", "radialGradient", "stop", "clipPath", "mask", "use",
        "title", "desc",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = frozenset(
    {
        "id", "d", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy",
        "width", "height", "points", "transform", "viewBox", "preserveAspectRatio", "version",
        "fill", "fill-opacity", "fill-rule", "clip-rule", "opacity", "stroke", "stroke-width",
        "stroke-opacity", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
        "stroke-dasharray", "stroke-dashoffset", "offset", "stop-color", "stop-opacity",
        "gradientUnits", "gradientTransform", "spreadMethod", "clip-path", "mask",
        "clipPathUnits", "maskUnits", "maskContentUnits", "href", "style", "display",
        "visibility",
    }
)  # fmt: skip
# A backslash starts a CSS escape (`\75 rl(` is `url(`) and no value we keep needs one;
# image-set() and friends load images like url() does.
_UNSAFE_VALUE = re.compile(
    r"javascript:|expression\(|@import|\\|(?:image-set|image|cross-fade|element|src)\s*\("
    r"|url\(\s*['\"]?(?!#)",
    re.I,
)
# `style` keeps only the presentation properties our output and vtracer's use, each with a
# plain value: a colour, a number or keyword list, rgb()/rgba(), or url(#id) in this document.
STYLE_PROPERTIES = frozenset(
    {
        "fill", "fill-opacity", "fill-rule", "clip-rule", "opacity", "stroke", "stroke-width",
        "stroke-opacity", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
        "stroke-dasharray", "stroke-dashoffset", "stop-color", "stop-opacity", "display",
        "visibility", "clip-path", "mask",
    }
)  # fmt: skip
_STYLE_VALUE = re.compile(
    r"[#\w.%+\-]+(?:[\s,]+[#\w.%+\-]+)*"  # #fff, 0.5, nonzero, 1 2 3, red
    r"|rgba?\(\s*[\d.%]+(?:\s*,\s*[\d.%]+){2,3}\s*\)"  # rgb(1, 2, 3), rgba(1, 2, 3, .5)
    r"|url\(\s*#[\w.\-]+\s*\)",  # url(#paint)
    re.ASCII,
)
_TRANSLATE = re.compile(r"^\s*translate\(\s*(-?[\d.]+)(?:[\s,]+(-?[\d.]+))?\s*\)\s*$")


class SvgError(ValueError):
    """The markup is not well-formed SVG."""


def clean_svg(
    svg: str,
    *,
    view_box: tuple[float, float, float, float] | None = None,
    width: float | None = None,
    height: float | None = None,
    precision: int = 2,
) -> str:
    """Return sanitised, compact SVG with a viewBox, no comments and no XML prolog.

    `view_box` defaults to the markup's own width and height (what vtracer draws in);
    `width`/`height` set the displayed size (default: the view box size).
    """
    try:
        root = ElementTree.fromstring(svg)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise SvgError(f"not well-formed SVG: {exc}") from exc
    if _local(root.tag) != "svg":
        raise SvgError("the root element is not <svg>")
    if view_box is None:
        existing = root.get("viewBox")
        if existing:
            view_box = tuple(float(v) for v in existing.replace(",", " ").split())  # type: ignore[assignment]
        else:
            view_box = (0.0, 0.0, _length(root.get("width")), _length(root.get("height")))
    assert view_box is not None
    attrs = {
        "xmlns": SVG_NS,
        "viewBox": " ".join(short_number(v, 3) for v in view_box),
        "width": short_number(width if width is not None else view_box[2], 3),
        "height": short_number(height if height is not None else view_box[3], 3),
    }
    # The root's presentation attributes (fill, stroke, ...) are inherited by every shape.
    for name, value in _allowed_attributes(root).items():
        if name not in ("viewBox", "width", "height", "x", "y", "version"):
            attrs[name] = value
    linked = any("url(" in value for value in attrs.values())
    body = "".join(_serialise(child, precision, linked) for child in root)
    return f"<svg {_attributes(attrs)}>{body}</svg>\n"


def _serialise(element: Element, precision: int, linked: bool = False) -> str:
    """Return one allowed element and its allowed children as markup ('' when dropped).

    `linked`: an ancestor refers to a gradient, clip path or mask, which may be laid out in
    the user space of each shape, transform included.
    """
    tag = _local(element.tag)
    if tag not in ALLOWED_ELEMENTS or tag == "svg":
        return ""
    attrs = _allowed_attributes(element)
    linked = linked or any("url(" in value for value in attrs.values())
    if tag == "path" and "d" in attrs:
        # Baking a translate into the points would move the shape against what it refers to.
        offset = None if linked else _translation(attrs.get("transform", ""))
        try:
            attrs["d"] = optimize_path(attrs["d"], precision=precision, offset=offset or (0, 0))
        except PathDataError:
            pass  # browsers draw bad path data up to the error: leave it to them, unchanged
        else:
            if offset is not None:
                del attrs["transform"]
    children = "".join(_serialise(child, precision, linked) for child in element)
    text = _escape(element.text.strip()) if tag in ("title", "desc") and element.text else ""
    inner = text + children
    open_tag = f"<{tag} {_attributes(attrs)}" if attrs else f"<{tag}"
    return f"{open_tag}>{inner}</{tag}>" if inner else f"{open_tag}/>"


def _allowed_attributes(element: Element) -> dict[str, str]:
    """Return the element's attributes that are allowed and hold no active or external value."""
    attrs: dict[str, str] = {}
    for raw_name, value in element.attrib.items():
        name = _local(raw_name)
        if name not in ALLOWED_ATTRIBUTES or _UNSAFE_VALUE.search(value):
            continue
        if name == "href" and not value.startswith("#"):
            continue  # external references could fetch or leak; only in-document ones stay
        if name == "style":
            value = clean_style(value)
            if not value:
                continue
        attrs[name] = value
    return attrs


def clean_style(style: str) -> str:
    """Return the declarations of a `style` value that are allowed, as `name:value;...`.

    Values are matched whole against plain forms, never searched for bad words: CSS escapes,
    comments and functions other than rgb() and url(#id) cannot pass.
    """
    kept = []
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if colon and name in STYLE_PROPERTIES and _STYLE_VALUE.fullmatch(value):
            kept.append(f"{name}:{value}")
    return ";".join(kept)


def short_number(value: float, precision: int) -> str:
    """Return the shortest text for a number rounded to `precision` decimals."""
    text = f"{value:.{precision}f}".rstrip("0").rstrip(".") if precision > 0 else f"{value:.0f}"
    if text in ("-0", ""):
        return "0"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def _translation(transform: str) -> tuple[float, float] | None:
    """Return (x, y) when the transform is a plain translate, else None."""
    match = _TRANSLATE.match(transform)
    if not match:
        return None
    return float(match.group(1)), float(match.group(2) or 0.0)


def _length(value: str | None) -> float:
    """Return a width/height attribute in px ('512', '512px'), refusing anything else."""
    if not value:
        raise SvgError("the SVG has neither a viewBox nor width and height")
    match = re.fullmatch(r"\s*([\d.]+)\s*(px)?\s*", value)
    if not match:
        raise SvgError(f"unsupported length {value!r}")
    return float(match.group(1))


def _local(tag: str) -> str:
    """Return a tag or attribute name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _escape(text: str) -> str:
    """Return text escaped for an attribute value or element content."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _attributes(attrs: dict[str, str]) -> str:
    """Return attributes as name="value" pairs."""
    return " ".join(f'{name}="{_escape(value)}"' for name, value in attrs.items())
