"""How an input's pixels were most likely made from a drawing, to draw an SVG the same way.

A PNG drawn at its own size holds area coverage: a pixel an edge crosses holds the colours on
either side in proportion to their areas, as resvg renders (the dataset's PNGs are resvg
renders, matched to 10⁻⁷). An image saved smaller than it was drawn was filtered again: the
dataset's 256 px uploads are 512 px renders scaled down with Lanczos, whose ringing beside
every edge no outline drawn at 256 px can make, so an optimiser comparing drawings at 256 px
with them fits the ringing away and moves the outlines off the truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from vectorizer.render import RenderError, render_svg

# How the input's pixels may have been made: drawn at its size (1), or at 2× and scaled down.
# Tier 2's SVGs of 15 held-out logos, error drawn at 2× ÷ error drawn at 1×: 0.23–1.0 on the
# 256 px uploads, 1.01–9.5 on PNGs drawn at their size, 0.99–1.75 on JPEGs; the true SVGs'
# 0–0.09 on the 256 px uploads.
OVERSAMPLES = (1, 2)
# A costlier drawing is taken only if it brings the SVG this much closer to the input.
OVERSAMPLE_GAIN = 0.9
LANCZOS = Image.Resampling.LANCZOS


@dataclass(frozen=True)
class Drawing:
    """The input over white, and how to draw an SVG as its pixels were made.

    Drawn at its own size (oversample 1), or drawn at `oversample` times its size and scaled
    down with a Lanczos filter, as an image saved smaller than it was drawn.
    """

    pixels: np.ndarray  # (h, w, 3) float32
    oversample: int

    def draw(self, svg: str) -> np.ndarray:
        """Return the SVG as the input's pixels were made, (h, w, 3) float32 over white."""
        height, width = self.pixels.shape[:2]
        if self.oversample == 1:
            return render_svg(svg, width, height).astype(np.float32)
        k = self.oversample
        large = render_svg(svg, width * k, height * k).astype(np.float32)
        channels = [
            np.asarray(Image.fromarray(large[..., c], mode="F").resize((width, height), LANCZOS))
            for c in range(3)
        ]
        drawn: np.ndarray = np.clip(np.stack(channels, axis=2), 0.0, 255.0)
        return drawn


def likeliest_drawing(
    svg: str, pixels: np.ndarray, error: Callable[[np.ndarray, np.ndarray], float]
) -> tuple[Drawing, float, float]:
    """Return the drawing that explains the input best, `svg`'s error there and what one
    drawing costs (seconds, here and now).

    The SVG given is already close to the input: the drawing that brings it closer is taken, a
    costlier one only if it brings it OVERSAMPLE_GAIN closer (a JPEG's blur can look a little
    like a smaller image's, and drawing at 2× takes four times the time).
    """
    options = [Drawing(pixels, oversample) for oversample in OVERSAMPLES]
    errors, costs = [], []
    for option in options:
        started = time.perf_counter()
        try:
            errors.append(error(option.draw(svg), pixels))
        except RenderError:
            errors.append(float("inf"))
        costs.append(time.perf_counter() - started)
    best = 0
    for index in range(1, len(options)):
        if errors[index] < OVERSAMPLE_GAIN * errors[best]:
            best = index
    return options[best], errors[best], costs[best]
