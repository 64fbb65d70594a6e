"""A traced SVG as values: its filled shapes in paint order and its gradients.

svgai's own SVGs are flat: a root `<svg>`, gradients in `<defs>`, `<path>`s with a `fill` (or
the root's). `parse_document` reads that (groups are flattened, their fill inherited) and
`Document.markup` writes it back, flat or with one `<g>` per fill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from math import comb
from xml.etree.ElementTree import Element

import numpy as np
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from vectorizer.pathdata import PathDataError, parse_path

_HEX = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_URL = re.compile(r"^url\(\s*#([^)\s]+)\s*\)$")
_NAMED = {"black": "#000000", "white": "#ffffff", "red": "#ff0000", "blue": "#0000ff"}
_GRADIENTS = ("linearGradient", "radialGradient")
_CURVE_STEPS = (0.25, 0.5, 0.75, 1.0)


class DocumentError(ValueError):
    """The markup is not an SVG the designer can edit."""


@dataclass(frozen=True)
class Shape:
    """One filled path: its data, its fill (`#rrggbb` or `url(#id)`), other attributes."""

    d: str
    fill: str
    attrs: dict[str, str] = field(default_factory=dict)

    def area(self) -> float:
        """Return the filled area in user units (holes, drawn the other way round, subtract)."""
        try:
            segments = parse_path(self.d)
        except PathDataError:
            return 0.0
        total, x, y = 0.0, 0.0, 0.0
        ring: list[tuple[float, float]] = []
        for segment in segments:
            letter = segment[0]
            if letter in ("M", "Z"):
                total += _shoelace(ring)
                ring = [(segment[1], segment[2])] if letter == "M" else []
            elif letter == "C" or letter == "Q":
                ring += _bezier((x, y), segment[1:])
            else:  # L, and an arc by its chord
                ring.append((segment[-2], segment[-1]))
            if len(segment) > 2:
                x, y = segment[-2], segment[-1]
        return abs(total + _shoelace(ring))


@dataclass(frozen=True)
class Gradient:
    """A gradient: its tag, attributes and stops (attributes, colour as #rrggbb)."""

    tag: str
    attrs: dict[str, str]
    stops: tuple[tuple[dict[str, str], str], ...]


@dataclass(frozen=True)
class Document:
    """An SVG's root attributes, gradients and shapes in paint order."""

    root: dict[str, str]
    view_box: tuple[float, float, float, float]
    gradients: dict[str, Gradient]
    shapes: list[Shape]
    grouped_by_fill: bool = False

    def colours(self) -> set[str]:
        """Return the distinct colours drawn: solid fills and the stops of used gradients."""
        found: set[str] = set()
        for shape in self.shapes:
            link = _URL.match(shape.fill)
            if link and link.group(1) in self.gradients:
                found.update(colour for _, colour in self.gradients[link.group(1)].stops)
            elif not link:
                found.add(shape.fill)
        return found

    def colour_weights(self, labels: np.ndarray) -> dict[str, float]:
        """Return each colour's visible pixels in a label map (a gradient shares among stops)."""
        counts = np.bincount(labels.ravel() + 1, minlength=len(self.shapes) + 1)[1:]
        weights = dict.fromkeys(self.colours(), 0.0)
        for shape, count in zip(self.shapes, counts.tolist(), strict=False):
            link = _URL.match(shape.fill)
            stops = self.gradients[link.group(1)].stops if link else ((None, shape.fill),)
            for _, colour in stops:
                weights[colour] = weights.get(colour, 0.0) + count / len(stops)
        return weights

    def recoloured(self, mapping: dict[str, str]) -> Document:
        """Return the document with every solid fill and stop colour replaced via `mapping`."""
        gradients, solid = {}, {}
        for key, gradient in self.gradients.items():
            stops = tuple((attrs, mapping.get(c, c)) for attrs, c in gradient.stops)
            if len({c for _, c in stops}) == 1:  # one colour left: a plain fill is that colour
                solid[f"url(#{key})"] = stops[0][1]
            else:
                gradients[key] = replace(gradient, stops=stops)
        shapes = [
            replace(s, fill=solid.get(s.fill) or mapping.get(s.fill, s.fill)) for s in self.shapes
        ]
        return replace(self, gradients=gradients, shapes=shapes)

    def grouped(self) -> Document:
        """Return the shapes reordered into one run per fill, runs in order of first use."""
        order = {fill: i for i, fill in reversed(list(enumerate(s.fill for s in self.shapes)))}
        shapes = sorted(self.shapes, key=lambda s: order[s.fill])
        return replace(self, shapes=shapes, grouped_by_fill=True)

    def flattened(self) -> Document:
        """Return the document written without groups (the same shapes in the same order)."""
        return replace(self, grouped_by_fill=False)

    def user_area_per_pixel(self, size: tuple[int, int]) -> float:
        """Return how many square user units one input pixel (of `size`) covers."""
        return (self.view_box[2] / size[0]) * (self.view_box[3] / size[1])

    def markup(self) -> str:
        """Return the SVG markup."""
        used = {m.group(1) for s in self.shapes if (m := _URL.match(s.fill))}
        defs = "".join(_gradient_markup(k, g) for k, g in self.gradients.items() if k in used)
        body = f"<defs>{defs}</defs>" if defs else ""
        if not self.grouped_by_fill:
            body += "".join(_shape_markup(s, with_fill=True) for s in self.shapes)
        else:
            runs: dict[str, list[Shape]] = {}
            for shape in self.shapes:
                runs.setdefault(shape.fill, []).append(shape)
            for fill, shapes in runs.items():
                inner = "".join(_shape_markup(s, with_fill=False) for s in shapes)
                body += f'<g id="{group_id(fill)}" fill="{fill}">{inner}</g>'
        return f"<svg {_attributes(self.root)}>{body}</svg>\n"


def group_id(fill: str) -> str:
    """Return the id of a fill's group: `color-1f6feb`, or `gradient-<id>` for a gradient."""
    link = _URL.match(fill)
    return f"gradient-{link.group(1)}" if link else f"color-{fill.lstrip('#')}"


def parse_document(svg: str) -> Document:
    """Return the document of an SVG; raise DocumentError for markup that is not SVG."""
    try:
        root = ElementTree.fromstring(svg)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise DocumentError(f"not well-formed SVG: {exc}") from exc
    if _local(root.tag) != "svg":
        raise DocumentError("the root element is not <svg>")
    attrs = {_local(k): v for k, v in root.attrib.items()}
    attrs["xmlns"] = "http://www.w3.org/2000/svg"
    box = [float(v) for v in attrs.get("viewBox", "").replace(",", " ").split()]
    if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
        raise DocumentError("the SVG has no usable viewBox")
    gradients = {e.get("id", ""): _gradient(e) for e in root.iter() if _local(e.tag) in _GRADIENTS}
    fill = attrs.pop("fill", "#000000")
    shapes = list(_shapes(root, _colour(fill)))
    return Document(attrs, (box[0], box[1], box[2], box[3]), gradients, shapes)


def _shapes(element: Element, fill: str) -> list[Shape]:
    found = []
    for child in element:
        tag = _local(child.tag)
        if tag in ("defs", *_GRADIENTS):
            continue
        own = _colour(child.get("fill", fill))
        if own == "none":
            continue
        if tag == "path" and child.get("d"):
            skip = ("d", "fill", "id")
            attrs = {_local(k): v for k, v in child.attrib.items() if _local(k) not in skip}
            found.append(Shape(child.get("d", ""), own, attrs))
        elif tag == "g":
            found += _shapes(child, own)
    return found


def _gradient(element: Element) -> Gradient:
    stops = tuple(
        ({k: v for k, v in s.attrib.items() if k not in ("stop-color", "style")}, _stop_colour(s))
        for s in element
        if _local(s.tag) == "stop"
    )
    attrs = {k: v for k, v in element.attrib.items() if k != "id"}
    return Gradient(_local(element.tag), attrs, stops)


def _stop_colour(stop: Element) -> str:
    colour = stop.get("stop-color", "")
    for declaration in stop.get("style", "").split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() == "stop-color":
            colour = value.strip()
    return _colour(colour or "#000000")


def _colour(value: str) -> str:
    """Return a fill as #rrggbb (lower case), `url(#id)` or `none`."""
    value = value.strip()
    hexed = _HEX.match(value)
    if hexed:
        digits = hexed.group(1).lower()
        return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))
    if _URL.match(value) or value == "none":
        return value
    return _NAMED.get(value.lower(), "#000000")


def _gradient_markup(key: str, gradient: Gradient) -> str:
    stops = "".join(
        f"<stop {_attributes({**attrs, 'stop-color': colour})}/>"
        for attrs, colour in gradient.stops
    )
    return f"<{gradient.tag} {_attributes({'id': key, **gradient.attrs})}>{stops}</{gradient.tag}>"


def _shape_markup(shape: Shape, *, with_fill: bool) -> str:
    attrs = {"d": shape.d, **({"fill": shape.fill} if with_fill else {}), **shape.attrs}
    return f"<path {_attributes(attrs)}/>"


def _attributes(attrs: dict[str, str]) -> str:
    return " ".join(f'{k}="{_escape(v)}"' for k, v in attrs.items())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _bezier(start: tuple[float, float], points: tuple[float, ...]) -> list[tuple[float, float]]:
    """Return points along a quadratic or cubic Bézier from `start` (its controls, its end)."""
    xs = np.array([start[0], *points[0::2]])
    ys = np.array([start[1], *points[1::2]])
    degree = len(xs) - 1
    result = []
    for t in _CURVE_STEPS:
        weights = [comb(degree, i) * t**i * (1 - t) ** (degree - i) for i in range(degree + 1)]
        result.append((float(np.dot(weights, xs)), float(np.dot(weights, ys))))
    return result


def _shoelace(ring: list[tuple[float, float]]) -> float:
    if len(ring) < 3:
        return 0.0
    xy = np.asarray(ring)
    return 0.5 * float(
        np.dot(xy[:, 0], np.roll(xy[:, 1], -1)) - np.dot(xy[:, 1], np.roll(xy[:, 0], -1))
    )
