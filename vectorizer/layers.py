"""A second tracer beside vtracer: potrace curve fitting per stacked colour layer.

The input is prepared as for vtracer (upscaled k×, every opaque pixel snapped to the palette).
Colours are drawn largest area first; each colour's mask is that colour plus every colour drawn
above it ("stacked"), so neighbouring layers overlap instead of meeting at a seam, and holes
(transparent pixels belong to no layer) stay holes. Each mask is optionally blurred (a gaussian
of σ input px, thresholded at one half) so the fitter can merge the segments that JPEG noise and
upscaling wobble, then traced by the `potrace` program.

potrace is GPL-2: it runs as a separate program (stdin/stdout), never linked or copied.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from scipy.ndimage import gaussian_filter, minimum_filter

from vectorizer.preparation import snap_rgba, upscale
from vectorizer.slivers import remove_slivers
from vectorizer.tracing import ParamError, VectorizeError

POTRACE = "potrace"
# potrace writes coordinates rounded to 1/UNIT of a traced pixel; the path optimiser rounds
# further (to whole traced pixels at precision 0), so one decimal loses nothing it would keep.
UNIT = 10
_DECIMALS = max(0, math.ceil(math.log10(UNIT)))  # what 1/UNIT px needs
DEFAULT_TIMEOUT = 60.0
# Stacked masks stop this far (input px) inside an upper layer's border with a lower colour,
# unless within _NEAR_OWN_PX of their own colour (see _Tuck.mask).
# Colour layers blurred and traced at once (see _trace_masks): the machine's two cores.
_TRACE_THREADS = 2
_TUCK_PX = 0.5
_NEAR_OWN_PX = 1.0
_GAUSS_TRUNCATE = 4.0  # scipy's default support of the gaussian, in σ
_TRANSFORM = re.compile(
    r"translate\(\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\)\s*scale\(\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\)"
)
_PATH_D = re.compile(r"<path\b[^>]*?\sd=\"([^\"]*)\"", re.S)
_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARITY = {"m": 2, "l": 2, "c": 6, "z": 0}
_PARAM_RANGES: dict[str, tuple[float, float]] = {
    "sigma": (0.0, 8.0),
    "alphamax": (0.0, 4.0 / 3.0),
    "opttolerance": (0.0, 5.0),
    "turdsize": (0.0, 10_000.0),
}


class LayerKeywords(TypedDict):
    """`LayerParams.as_dict()`, as stored and reported."""

    sigma: float
    alphamax: float
    opttolerance: float
    turdsize: float


@dataclass(frozen=True)
class LayerParams:
    """Settings of one layered potrace conversion, in input pixels whatever the upscale factor."""

    # Gaussian blur of each stacked mask before thresholding, in input px (0 = none). It lets
    # the fitter merge wobbly segments (fewer bytes) but closes slits narrower than ~1.4σ:
    # thin strokes and small text want 0, gradients, JPEG and flat shapes 0.5-0.65.
    sigma: float = 0.5
    # potrace's corner threshold (no unit): 0 = polygon corners everywhere, 4/3 = no corners.
    alphamax: float = 0.8
    # How far potrace may move an outline when it merges curves, in input px (×k for potrace).
    opttolerance: float = 0.125
    # Shapes and holes of at most this area are dropped, in input px² (×k² for potrace).
    turdsize: float = 4.0

    def __post_init__(self) -> None:
        for name, (low, high) in _PARAM_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParamError(name, f"must be a number from {low:g} to {high:g}; got {value!r}.")
            if not low <= value <= high:
                raise ParamError(name, f"must be from {low:g} to {high:g}; got {value}.")

    def as_dict(self) -> LayerKeywords:
        """Return the parameters as a plain dict (what is stored and reported)."""
        return LayerKeywords(
            sigma=self.sigma,
            alphamax=self.alphamax,
            opttolerance=self.opttolerance,
            turdsize=self.turdsize,
        )


DEFAULT_LAYER_PARAMS = LayerParams()


def trace_layers(
    rgba: np.ndarray,
    palette: np.ndarray,
    params: LayerParams = DEFAULT_LAYER_PARAMS,
    *,
    scale: int,
    alpha_threshold: int = 128,
    timeout: float = DEFAULT_TIMEOUT,
    slivers: bool = False,
    tuck: bool = True,
) -> str:
    """Return SVG markup of `rgba` traced by potrace, one stacked layer per palette colour.

    The viewBox is the upscaled grid (0 0 W·k H·k), width/height the input's size; each layer
    is one `<path fill="#rrggbb">` in absolute coordinates, bottom layer first. `slivers`
    merges the hairlines of a third colour that anti-aliasing leaves between two (slivers.py;
    off by default: it cost fidelity on some JPEG uploads, README "Clean geometry"); `tuck` (on:
    no image worse on 42 held-out variants, 14 better, +0.5 % bytes) keeps each stacked mask
    under the layers above (_Tuck), so no hairline shows between two layers.
    Raises VectorizeError when potrace is missing, fails or runs past `timeout` seconds.
    """
    rgba = np.asarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an (H, W, 4) array, got shape {rgba.shape}")
    k = int(scale)
    if k < 1:
        raise ValueError(f"scale must be a positive integer; got {scale}")
    height, width = rgba.shape[:2]
    colours = _unique_colours(palette)
    paths: list[str] = []
    if len(colours):
        deadline = time.monotonic() + timeout
        big = upscale(rgba, k) if k > 1 else rgba
        labels = _label(snap_rgba(big, colours, alpha_threshold), colours)
        if slivers:
            labels = remove_slivers(labels, big, colours, scale=k)
        counts = np.bincount(labels[labels >= 0], minlength=len(colours))
        order = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i] > 0]
        # rank[pixel] = drawing position of its colour; the stacked mask of position p is
        # rank >= p: that colour and every colour drawn above it.
        position = np.full(len(colours) + 1, -1, dtype=np.int16)
        position[order] = np.arange(len(order), dtype=np.int16)
        rank = position[labels]  # labels -1 (transparent) index the trailing -1
        tucked = _Tuck(rank, k) if tuck else None
        masks = (tucked.mask(p) if tucked is not None else rank >= p for p in range(len(order)))
        outlines = _trace_masks(masks, params, scale=k, deadline=deadline)
        for colour_index, d in zip(order, outlines, strict=True):
            if d:
                r, g, b = (int(c) for c in colours[colour_index])
                paths.append(f'<path fill="#{r:02x}{g:02x}{b:02x}" d="{d}"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width * k} {height * k}" '
        f'width="{width}" height="{height}">{"".join(paths)}</svg>\n'
    )


def _trace_masks(
    masks: Iterator[np.ndarray], params: LayerParams, *, scale: int, deadline: float
) -> list[str]:
    """Return `_trace_mask` of every mask, in order, `_TRACE_THREADS` at a time.

    Each mask's blur (scipy releases the GIL) and potrace run (another process) leave the
    interpreter free: with two threads one layer is blurred while another is traced, and the
    next masks are made meanwhile, never more than twice the threads ahead (a 2048² grid's
    mask is 4 MB, and a trace may have 40 colours).
    """
    pool = ThreadPoolExecutor(max_workers=_TRACE_THREADS, thread_name_prefix="svgai-layers")
    ahead = 2 * _TRACE_THREADS
    jobs: list[Future[str]] = []
    try:
        for mask in masks:
            if len(jobs) >= ahead:
                jobs[-ahead].result()
            jobs.append(pool.submit(_trace_mask, mask, params, scale=scale, deadline=deadline))
        return [job.result() for job in jobs]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Tuck:
    """The tucked stacked masks of one rank map (see `_Tuck.mask`), all found in one pass.

    Dilating each colour's pixels by a box filter cost two passes over the upper layers per
    colour: a third of a many-coloured emoji's trace. Here the lowest position within `_TUCK_PX`
    and the positions within `_NEAR_OWN_PX` (one bit each) of every pixel are found once, and
    each mask changes only the pixels that can drop out of it: those with a position at least
    two below their own within reach (the mask's position lies strictly between).
    """

    def __init__(self, rank: np.ndarray, scale: int) -> None:
        self.rank = rank
        self.own: list[np.ndarray] = []
        positions = int(rank.max()) + 1
        if positions < 3:  # a pixel drops out only between two positions below its own
            return
        tuck, near = max(1, round(_TUCK_PX * scale)), max(2, round(_NEAR_OWN_PX * scale))
        lowest = minimum_filter(rank, size=2 * tuck + 1, mode="nearest")
        self.pixels = np.flatnonzero(rank > lowest.astype(np.int32) + 1)
        if self.pixels.size == 0:
            return
        self.at_rank, self.at_lowest = rank.ravel()[self.pixels], lowest.ravel()[self.pixels]
        # The windows of the changeable pixels: their bounding box and `near` around it.
        ys, xs = np.divmod(self.pixels, rank.shape[1])
        y0, x0 = max(0, int(ys.min()) - near), max(0, int(xs.min()) - near)
        box = rank[y0 : int(ys.max()) + 1 + near, x0 : int(xs.max()) + 1 + near]
        inside = (ys - y0) * box.shape[1] + (xs - x0)
        # Words as narrow as the positions allow (the OR passes move less memory), 64 at most.
        self.bits = next(b for b in (8, 16, 32, 64) if b >= min(positions, 64))
        dtype = np.dtype(f"uint{self.bits}")
        for first in range(0, positions, self.bits):
            bit = np.arange(-1, positions) - first  # indexed by rank + 1 (holes: -1)
            inword = (bit >= 0) & (bit < self.bits)
            lookup = np.where(inword, np.left_shift(1, bit.clip(0, self.bits - 1)), 0)
            word = lookup.astype(dtype)[box + 1]
            self.own.append(_window_or(word, near).ravel()[inside])

    def mask(self, p: int) -> np.ndarray:
        """Return the stacked mask of drawing position p, tucked under the layers above it.

        The stacked mask (rank >= p) runs under the layers above to their far edges, where
        potrace fits it apart from theirs: where an upper layer borders a colour drawn below p
        (or a hole), the two fits can leave a hairline of colour p along that border. So the
        mask keeps the upper pixels within `_NEAR_OWN_PX` of its own colour (no seam where the
        layers meet) and drops those within `_TUCK_PX` of a pixel below p: there its edge lies
        under the upper fill.
        """
        stacked = self.rank >= p
        if p == 0 or not self.own:
            return stacked
        word, bit = divmod(p, self.bits)
        own = (self.own[word] >> bit) & 1
        drop = (self.at_rank > p) & (self.at_lowest < p) & (own == 0)
        stacked.reshape(-1)[self.pixels[drop]] = False
        return stacked


def _window_or(words: np.ndarray, radius: int) -> np.ndarray:
    """Return the OR of the words in the (2·radius + 1)² square around each (none outside)."""
    return _run_or(_run_or(words, radius, axis=0), radius, axis=1)


def _run_or(words: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Return the OR of each run of 2·radius + 1 words along `axis` centred on each word.

    By doubling: after each pass spans[i] is the OR of the padded words i … i + span - 1.
    """

    def cut(a: np.ndarray, start: int, stop: int) -> np.ndarray:
        return a[start:stop] if axis == 0 else a[:, start:stop]

    n, width = words.shape[axis], 2 * radius + 1
    pad = [(0, 0), (0, 0)]
    pad[axis] = (radius, radius)
    spans = np.pad(words, pad)
    span = 1
    while span * 2 <= width:
        spans = cut(spans, 0, spans.shape[axis] - span) | cut(spans, span, spans.shape[axis])
        span *= 2
    ored: np.ndarray = cut(spans, 0, n) | cut(spans, width - span, width - span + n)
    return ored


def _unique_colours(palette: np.ndarray) -> np.ndarray:
    """Return the palette as (n, 3) uint8 without repeated colours, in its own order."""
    colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    _, first = np.unique(colours, axis=0, return_index=True)
    return colours[np.sort(first)]


def _label(snapped: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Return the palette index of every pixel of a snapped image, -1 where transparent.

    snap_rgba writes each pixel as one of n + 1 exact RGBA words (the opaque colours and 0 for
    transparent), so a modulus that keeps those words distinct is a perfect hash: one gather,
    ~25× faster than a search at 2048² px.
    """
    words = np.ascontiguousarray(snapped).view(np.uint32)[..., 0]
    rgba = np.zeros((len(colours), 4), dtype=np.uint8)
    rgba[:, :3] = colours
    rgba[:, 3] = 255
    keys = np.concatenate([[0], rgba.view(np.uint32)[:, 0]]).astype(np.int64)
    values = np.arange(-1, len(colours), dtype=np.int16)
    for modulus in range(len(keys), 1 << 16):
        if np.unique(keys % modulus).size == keys.size:
            table = np.zeros(modulus, dtype=np.int16)
            table[keys % modulus] = values
            found: np.ndarray = table[words % np.uint32(modulus)]
            return found
    order = np.argsort(keys)  # no small modulus separates them: search instead
    return values[order][np.searchsorted(keys[order], words)]


def _trace_mask(mask: np.ndarray, params: LayerParams, *, scale: int, deadline: float) -> str:
    """Return potrace's outline of a boolean mask (traced grid) as absolute path data."""
    sigma_px = params.sigma * scale
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return ""
    cols = np.flatnonzero(mask.any(axis=0))
    # Blur only the mask's bounding box plus the gaussian's support: outside it the blurred
    # mask is 0 anyway, and at the image border `nearest` extends it as the full image would.
    margin = math.ceil(_GAUSS_TRUNCATE * sigma_px) + 1 if sigma_px > 0 else 0
    y0, y1 = max(0, rows[0] - margin), min(mask.shape[0], rows[-1] + 1 + margin)
    x0, x1 = max(0, cols[0] - margin), min(mask.shape[1], cols[-1] + 1 + margin)
    box = mask[y0:y1, x0:x1]
    if sigma_px > 0 and not box.all():  # a full box (an opaque bottom layer) blurs to itself
        box = gaussian_filter(box.astype(np.float32), sigma_px, mode="nearest") >= 0.5
        if not box.any():
            return ""
    svg = _run_potrace(box, params, scale, deadline)
    return _absolute_path(svg, offset=(int(x0), int(y0)))


def _run_potrace(mask: np.ndarray, params: LayerParams, scale: int, deadline: float) -> str:
    """Return potrace's SVG for a boolean mask (True = filled), sent as a binary PBM."""
    height, width = mask.shape
    pbm = b"P4\n%d %d\n" % (width, height) + np.packbits(mask, axis=1).tobytes()
    command = [
        POTRACE,
        "--backend=svg",
        "--flat",
        f"--unit={UNIT}",
        f"--turdsize={round(params.turdsize * scale * scale)}",
        f"--alphamax={params.alphamax:g}",
        f"--opttolerance={params.opttolerance * scale:g}",
        "--output=-",
    ]
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise VectorizeError("potrace ran out of time before tracing every colour layer.")
    try:
        done = subprocess.run(command, input=pbm, capture_output=True, timeout=remaining)
    except FileNotFoundError as exc:
        raise VectorizeError(
            "potrace is not installed; install it (Debian: apt-get install potrace)."
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise VectorizeError("potrace ran out of time tracing a colour layer.") from exc
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise VectorizeError(f"potrace failed: {message}")
    return done.stdout.decode("ascii", errors="replace")


def _absolute_path(svg: str, *, offset: tuple[int, int]) -> str:
    """Return potrace's path data as absolute M/L/C/Z commands on the traced grid, Y down.

    potrace writes relative integers in 1/UNIT px under a `translate(0,H) scale(s,-s)` that
    flips Y; here the integers are accumulated exactly, then mapped through that transform.
    """
    transform = _TRANSFORM.search(svg)
    if transform is None:
        if "<path" in svg:
            raise VectorizeError("potrace wrote SVG without the expected transform.")
        return ""
    tx, ty, sx, sy = (float(v) for v in transform.groups())
    dx, dy = offset
    out: list[str] = []
    for d in _PATH_D.findall(svg):
        tokens = _TOKEN.findall(d)
        current = start = (0.0, 0.0)
        verb = ""
        i = 0
        while i < len(tokens):
            if tokens[i].isalpha():
                verb = tokens[i]
                i += 1
                if verb in "zZ":
                    out.append("Z")
                    current = start
                    continue
            elif not verb or verb in "zZ":
                raise VectorizeError(f"potrace wrote path data we cannot read: {d[:60]!r}")
            lower = verb.lower()
            arity = _ARITY.get(lower)
            if arity is None or i + arity > len(tokens):
                raise VectorizeError(f"potrace wrote path data we cannot read: {d[:60]!r}")
            values = [float(v) for v in tokens[i : i + arity]]
            i += arity
            base = current if verb.islower() else (0.0, 0.0)
            points = [(base[0] + values[j], base[1] + values[j + 1]) for j in range(0, arity, 2)]
            current = points[-1]
            mapped = [
                _number(tx + sx * x + dx) + " " + _number(ty + sy * y + dy) for x, y in points
            ]
            if lower == "m":
                start = current
                out.append("M" + mapped[0])
                verb = "l" if verb == "m" else "L"  # pairs after a move are line-tos
            else:
                out.append(("L" if lower == "l" else "C") + " ".join(mapped))
    return "".join(out)


def _number(value: float) -> str:
    """Return a coordinate rounded to 1/UNIT px in its shortest text."""
    text = f"{value:.{_DECIMALS}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
