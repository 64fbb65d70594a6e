"""Optimise a traced SVG itself against the input (tier 3): outlines, fills and gradient stops.

The input's pixels were anti-aliased by area coverage (drawn at its size) or were then scaled
down (vectorizer/drawing.py tells which): the SVG is drawn as the input was most likely made,
compared with the input (over white), and the vector is moved to close the difference, within
a time limit, in rounds that alternate:

- **Fills and gradient stops**, from the shapes' interiors. With the geometry fixed, every pixel
  of the render is linear in every colour of the SVG (source-over compositing of opaque fills),
  so one render with every colour black and one render per three colours (each set to one
  channel) give each colour's visible coverage. Gradient stops are solved jointly by least
  squares over the pixels inside shapes; a flat fill takes its interior's median.
- **Outlines**: the Newton steps of vectorizer/refine.py (each outline sample moved by the
  residual over the colour step across it, spread onto the Bézier control points), with a step
  that halves when it stops helping.
- **Nodes and bytes**: the path data can be rewritten with a looser simplification tolerance
  (SIMPLIFY_PX), kept when the error it adds is worth the bytes it saves; off for now.

What is minimised is the squared error per channel weighed as SSIM's luminance term weighs it
(fidelity is SSIM per channel: 2 for 0 in a dark channel costs it 40 %, 2 for 200 nothing),
times (bytes ÷ the input SVG's bytes) ** BYTES_EXPONENT; the result is the best SVG met, never
worse than the one given.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import minimum_filter

from vectorizer.drawing import Drawing, likeliest_drawing
from vectorizer.images import composite_on_white
from vectorizer.pathdata import optimize_path
from vectorizer.pipeline import ConversionResult, _measured
from vectorizer.quality import _C1
from vectorizer.refine import (
    _PATH,
    _VIEW_BOX,
    _moves,
    _Outline,
    _read,
    _regrid,
    _straighten,
    _write,
)
from vectorizer.render import RenderError

# Every 1 % more bytes must buy at least this many % less squared error (and so on down).
BYTES_EXPONENT = 0.3
GRID = 4  # units of the written path data per input px (whole numbers: see refine.py)
FIRST_STEP_PX = 0.35  # the first outline step cap, in input px; halved when a step fails
LAST_STEP_PX = 0.04  # below this the outlines have settled
# Another round of colours and outlines starts only after one that gained this share.
MIN_ROUND_GAIN = 0.002
# Simplification tolerances tried for fewer nodes, in input px.
# Measured on 4 held-out logos × 3 variants, 0.25 and 0.5 px cut bytes but cost fidelity on
# text (0.8725 → 0.849 on one small upload) though the objective improved: off until tuned.
SIMPLIFY_PX: tuple[float, ...] = ()
# Ridge towards the current colour, as a share of a colour's mean squared coverage: a colour
# that covers almost nothing visible keeps its value instead of swinging wildly.
COLOUR_RIDGE = 1e-3
INTERIOR = 0.99  # a pixel is inside a shape when the shape covers it and its neighbours this much
SNAP = 2  # 0–255: tried as 0 (or 255) when the fit lands this close to the end of the range
MIN_INTERIOR_PX = 16  # a flat fill with fewer interior pixels is fitted with the stops
_GRADIENT_ELEMENT = re.compile(r"<(linear|radial)Gradient\b.*?</\1Gradient>", re.S)
_COLOUR = re.compile(r'\b(fill|stop-color)="#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})"')


@dataclass
class _State:
    """The current SVG (on the grid), its outlines and colours, and how good it is."""

    svg: str
    outline: _Outline
    colours: np.ndarray  # (v, 3) float, every fill and stop colour in document order
    render: np.ndarray  # (h, w, 3) float32 over white at the input's size
    error: float
    objective: float


def optimise_conversion(rgba: np.ndarray, svg: str, seconds: float = 1.5) -> ConversionResult:
    """Return the conversion optimised against the input within `seconds`, then measured.

    Shaped like pipeline.refine_conversion (a worker job), with a time limit for iterations.
    """
    started = time.perf_counter()
    optimised, _, _ = optimise_svg(svg, rgba, seconds=seconds)
    # Measured with the quality tier 3's other results are ranked by (it replaces one of them).
    timings = {"refine": (time.perf_counter() - started) * 1000}
    return _measured(rgba, optimised, True, timings)


def optimise_svg(
    svg: str, rgba: np.ndarray, *, seconds: float = 1.5, renders: float | None = None
) -> tuple[str, float, float]:
    """Return (optimised SVG, objective before, after) against the input over white.

    The SVG must be one this project wrote (a viewBox, path data in `d`); anything else comes
    back unchanged. The optimised SVG's viewBox is the input's size times GRID. `renders`,
    when given, replaces `seconds`: the search stops after about that many renders, so a test
    or a benchmark does the same work on a busy machine as on a quiet one.
    """
    deadline = time.perf_counter() + (seconds if renders is None else float("inf"))
    height, width = rgba.shape[:2]
    pixels = composite_on_white(rgba).astype(np.float32)
    target, first, render_s = likeliest_drawing(svg, pixels, _error)
    box = _VIEW_BOX.search(svg)
    matches = list(_PATH.finditer(svg))
    if box is None or not matches or float(box.group(3)) <= 0:
        return svg, first, first
    try:
        outline = _read([m.group(2) for m in matches])
    except ValueError:
        return svg, first, first
    factor = GRID * width / float(box.group(3))
    frame = _regrid(svg, factor, (width * GRID, height * GRID))
    outline.points *= factor
    written = _write(frame, list(_PATH.finditer(frame)), outline, 1.0)
    start = _state(written, target, len(svg), outline)
    if start is None:
        return svg, first, first
    best = _search(start, target, len(svg), _Clock(deadline, render_s, renders))
    if best.objective >= first:
        return svg, first, first
    return best.svg, first, best.objective


@dataclass
class _Clock:
    """The time limit, and what one render costs: a step starts only if its renders fit.

    With a count of `renders` instead, each step that starts spends the renders it foresaw.
    """

    deadline: float
    render_s: float
    renders: float | None = None

    def fits(self, renders: float) -> bool:
        if self.renders is None:
            return time.perf_counter() + renders * self.render_s < self.deadline
        if renders > self.renders:
            return False
        self.renders -= renders
        return True


def _search(state: _State, target: Drawing, first_size: int, clock: _Clock) -> _State:
    """Return the best state met: rounds of colours, then outlines, then fewer nodes.

    Colours fitted with the outlines where they were leave an edge's error to the next walk,
    and outlines walked under the old colours leave interiors to the next fit: so the rounds
    alternate while a round still gains MIN_ROUND_GAIN of the objective and a step fits in time.
    """
    while clock.fits(len(state.colours) / 3 + 3):
        before = state.objective
        state = _fit_colours(state, target, first_size) or state
        state = _walk_outlines(state, target, first_size, clock)
        simpler = _simplified(state, target, first_size) if clock.fits(2) else None
        state = simpler or state
        if simpler is None and state.objective > before * (1 - MIN_ROUND_GAIN):
            break
    return state


def _error(render: np.ndarray, target: np.ndarray) -> float:
    """Return the mean squared error per channel weighed as SSIM's luminance term weighs it.

    1 − (2xy + C1) / (x² + y² + C1) = (x − y)² / (x² + y² + C1): an error in a dark channel
    counts up to 10⁴ times one in a bright channel, as it does in fidelity.
    """
    return float(np.mean((render - target) ** 2 / (render * render + target * target + _C1)))


def _objective(error: float, size: int, first_size: int) -> float:
    return float(error * (size / first_size) ** BYTES_EXPONENT)


def _state(
    svg: str, target: Drawing, first_size: int, outline: _Outline | None = None
) -> _State | None:
    """Return the state of a grid SVG (None when it does not render or parse).

    `outline` is the SVG's geometry before it was rounded to the grid, when known: steps
    smaller than the grid then add up instead of being rounded away one by one.
    """
    try:
        render = target.draw(svg)
        if outline is None:
            outline = _read([m.group(2) for m in _PATH.finditer(svg)])
    except (RenderError, ValueError):
        return None
    error = _error(render, target.pixels)
    return _State(
        svg=svg,
        outline=outline,
        colours=_colours(svg),
        render=render,
        error=error,
        objective=_objective(error, len(svg), first_size),
    )


def _better(state: _State, svg: str, target: Drawing, first_size: int) -> _State | None:
    """Return the state of `svg`, with the same outlines, if better than `state`."""
    candidate = _state(svg, target, first_size, state.outline)
    if candidate is None or candidate.objective >= state.objective:
        return None
    return candidate


def _walk_outlines(state: _State, target: Drawing, first_size: int, clock: _Clock) -> _State:
    """Return the best state met stepping the outlines from `state`, as refine.py walks.

    Each Newton step starts from the last one, better or not (a step that is worse on the
    whole image is often better on most outlines); the cap halves after a step that is worse
    than the best, and the walk stops when it is too small to matter.
    """
    current, step = state, FIRST_STEP_PX
    while step >= LAST_STEP_PX and clock.fits(1.5):
        moved = _outline_step(current, target, first_size, step)
        if moved is None:
            break
        if moved.objective < state.objective:
            state = moved
        else:
            step /= 2
        current = moved
    return state


def _outline_step(state: _State, target: Drawing, first_size: int, step: float) -> _State | None:
    """Return the state after one Newton step of every outline (capped at `step` px)."""
    outline = _Outline(
        points=state.outline.points.copy(),
        segments=state.outline.segments,
        lines=state.outline.lines,
        paths=state.outline.paths,
    )
    outline.points += _moves(outline, state.render, state.render - target.pixels, GRID, step)
    _straighten(outline)
    svg = _write(state.svg, list(_PATH.finditer(state.svg)), outline, 1.0)
    return _state(svg, target, first_size, outline)


def _simplified(state: _State, target: Drawing, first_size: int) -> _State | None:
    """Return the state with fewer nodes (looser simplification) if better on the objective."""
    for tolerance in SIMPLIFY_PX:
        svg = _simplify_paths(state.svg, tolerance * GRID)
        if len(svg) < len(state.svg):
            simpler = _state(svg, target, first_size)  # new geometry: its outlines read anew
            if simpler is not None and simpler.objective < state.objective:
                return simpler
    return None


def _simplify_paths(svg: str, tolerance: float) -> str:
    """Return the SVG with every path's data simplified within `tolerance` (grid units)."""

    def simplify(match: re.Match[str]) -> str:
        return match.group(1) + optimize_path(match.group(2), tolerance=tolerance) + match.group(3)

    return _PATH.sub(simplify, svg)


# --- colours ------------------------------------------------------------------------------------


def _colours(svg: str) -> np.ndarray:
    """Return every fill and stop colour of the SVG, in document order, as (v, 3) floats."""
    values = []
    for match in _COLOUR.finditer(svg):
        text = match.group(2)
        if len(text) == 3:
            text = "".join(c * 2 for c in text)
        values.append([int(text[i : i + 2], 16) for i in (0, 2, 4)])
    return np.array(values, dtype=np.float64).reshape(-1, 3)


def _with_colours(svg: str, colours: np.ndarray) -> str:
    """Return the SVG with its fill and stop colours replaced, in document order."""
    values = iter(np.clip(np.rint(colours), 0, 255).astype(int).tolist())

    def put(match: re.Match[str]) -> str:
        return f'{match.group(1)}="{_hex(next(values))}"'

    return _COLOUR.sub(put, svg)


def _hex(colour: list[int]) -> str:
    text = "".join(f"{c:02x}" for c in colour)
    if all(text[i] == text[i + 1] for i in (0, 2, 4)):
        return "#" + text[0] + text[2] + text[4]
    return "#" + text


def _fit_colours(state: _State, target: Drawing, first_size: int) -> _State | None:
    """Return the state with its colours refitted to the input's interiors, if better.

    Only pixels inside a shape (its fill or gradient covers them and their neighbours fully)
    are fitted: at an edge the colours would make up for where the outline is. A flat fill
    takes the median of its interior (JPEG noise clipped at 0 or 255 biases a mean, and
    fidelity, SSIM per channel, punishes a dark channel off by 2 by 40 %); gradient stops are
    solved jointly by least squares.
    """
    count = len(state.colours)
    coverage = _coverage(state.svg, state.colours, target)
    if coverage is None:
        return None
    owners = _owners(state.svg)
    pixels = target.pixels
    inside = np.zeros(pixels.shape[:2], dtype=bool)
    solid: dict[int, np.ndarray] = {}
    for owner in set(owners):
        members = [i for i in range(count) if owners[i] == owner]
        full = minimum_filter(coverage[members].sum(axis=0), size=3) >= INTERIOR
        inside |= full
        if len(members) == 1 and full.sum() >= MIN_INTERIOR_PX:
            solid[members[0]] = np.median(pixels[full], axis=0)
    weights = coverage[:, inside].T.astype(np.float64)  # (pixels, colours)
    gram = weights.T @ weights
    ridge = COLOUR_RIDGE * max(float(np.trace(gram)) / count, 1e-9)
    rhs = weights.T @ pixels[inside].astype(np.float64) + ridge * state.colours
    colours = np.linalg.solve(gram + ridge * np.eye(count), rhs)
    for index, colour in solid.items():
        colours[index] = colour
    fitted = _better(state, _with_colours(state.svg, colours), target, first_size) or state
    # A channel within SNAP of either end is most likely at the end, only blurred or compressed.
    ends = np.where(colours <= SNAP, 0.0, np.where(colours >= 255 - SNAP, 255.0, colours))
    snapped = _better(fitted, _with_colours(state.svg, ends), target, first_size)
    return snapped or (fitted if fitted is not state else None)


def _coverage(svg: str, colours: np.ndarray, target: Drawing) -> np.ndarray | None:
    """Return each colour's visible coverage of every pixel, (v, h, w) in 0..1.

    With every colour black, what remains is the white canvas showing through; each colour
    set to one channel adds its coverage in that channel (three colours per render).
    """
    count = len(colours)
    black = np.zeros_like(colours)
    try:
        base = target.draw(_with_colours(svg, black))
        coverage = np.zeros((count, *base.shape[:2]), dtype=np.float32)
        for group in range(0, count, 3):
            probe = black.copy()
            members = range(group, min(group + 3, count))
            for channel, index in enumerate(members):
                probe[index, channel] = 255
            render = target.draw(_with_colours(svg, probe))
            for channel, index in enumerate(members):
                coverage[index] = (render[..., channel] - base[..., channel]) / 255.0
    except RenderError:
        return None
    return coverage


def _owners(svg: str) -> list[int]:
    """Return, per colour in document order, what it paints: its own fill, or its gradient."""
    gradients = [(m.start(), m.end()) for m in _GRADIENT_ELEMENT.finditer(svg)]
    owners = []
    for number, match in enumerate(_COLOUR.finditer(svg)):
        spans = [i for i, (a, b) in enumerate(gradients) if a <= match.start() < b]
        owners.append(-1 - spans[0] if spans else number)
    return owners
