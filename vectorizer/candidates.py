"""Conversion candidates: an input preparation plus vtracer settings, described per image size.

A candidate says "trace at ~1024 px on the long side, snapped to the logo's palette, dropping
specks under 4 input pixels, with vtracer (or potrace per colour layer, mask blurred by 0.5
input px)…"; `materialize` turns that into the exact `Preparation` and `TraceParams` (and
`layer_params` into the potrace `LayerParams`) for one image (the upscale factor, and
everything measured in pixels, depend on the image's size). The predictor sees candidates
through `encode`, so it learns how each knob acts on each kind of image.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any, TypedDict, cast

import numpy as np

from vectorizer.layers import LayerParams
from vectorizer.preparation import Preparation
from vectorizer.tracing import TraceParams

MAX_FACTOR = 8
TRACERS = ("vtracer", "layers")


class CandidateDict(TypedDict):
    """`Candidate.as_dict()`: what is stored, reported and read back by `Candidate(**d)`."""

    long_side: int
    palette: int
    max_colors: int
    denoise: bool
    speckle: int
    corner_threshold: int
    length_threshold: float
    splice_threshold: int
    mode: str
    hierarchical: str
    path_precision: int
    alpha_threshold: int
    tracer: str
    sigma: float
    tolerance: float
    gradients: bool


@dataclass(frozen=True)
class Candidate:
    # Trace resolution: the input is upscaled by the integer factor that brings its long side
    # closest to this (0 = as is). Sub-pixel edges survive only when upscaled.
    long_side: int = 1024
    # Palette snapping: -1 auto, 0 none, n = at most n colours.
    palette: int = -1
    max_colors: int = 16
    denoise: bool = False
    # Specks smaller than this many *input* pixels (side) are dropped (scaled by the factor).
    speckle: int = 4
    corner_threshold: int = 60
    # Minimum segment length in input pixels (scaled by the factor).
    length_threshold: float = 4.0
    splice_threshold: int = 45
    mode: str = "spline"
    hierarchical: str = "stacked"
    # Decimals kept in the traced (upscaled) coordinates; -1 = auto: 0 from 4× up (still 1/4
    # input px precise), else 1 (a ½-px grid costs ~0.011 fidelity).
    path_precision: int = -1
    # Alpha at or above this is opaque, below it transparent: where a soft edge ends.
    alpha_threshold: int = 128
    # Who draws the prepared image: vtracer, or potrace per stacked colour layer
    # (vectorizer/layers.py: optimal curve fitting, far fewer nodes per curve).
    tracer: str = "vtracer"
    # layers only: blur of each colour mask, in input px, so the fitter can merge segments
    # that JPEG noise and upscaling wobble; it closes slits narrower than ~1.4σ (0 keeps text).
    sigma: float = 0.5
    # layers only: potrace's curve-merging tolerance, in traced (upscaled) px.
    tolerance: float = 0.25
    # Smoothly shaded regions become linear/radial gradient fills instead of colour bands.
    gradients: bool = False

    def factor(self, height: int, width: int) -> int:
        """Return the upscale factor this candidate uses for an image of this size."""
        if self.long_side <= 0:
            return 1
        return int(min(max(round(self.long_side / max(height, width, 1)), 1), MAX_FACTOR))

    def materialize(self, height: int, width: int) -> tuple[Preparation, TraceParams]:
        """Return the exact preparation and vtracer parameters for an image of this size."""
        k = self.factor(height, width)
        prep = Preparation(
            scale=k,
            palette_size=self.palette,
            max_colors=self.max_colors,
            denoise=self.denoise,
            alpha_threshold=self.alpha_threshold,
        )
        params = TraceParams(
            colormode="color",
            hierarchical=self.hierarchical,
            mode=self.mode,
            filter_speckle=min(128, self.speckle * k),
            color_precision=8,  # after snapping there are only palette colours left to keep
            layer_difference=1,
            corner_threshold=self.corner_threshold,
            length_threshold=min(64.0, self.length_threshold * k),
            max_iterations=10,
            splice_threshold=self.splice_threshold,
            path_precision=self.precision(height, width),
        )
        return prep, params

    def precision(self, height: int, width: int) -> int:
        """Return the decimals written in traced coordinates for an image of this size."""
        if self.path_precision >= 0:
            return self.path_precision
        return 0 if self.factor(height, width) >= 4 else 1

    def layer_params(self, height: int, width: int) -> LayerParams:
        """Return the potrace settings for an image of this size (layers tracer)."""
        k = self.factor(height, width)
        return LayerParams(
            sigma=self.sigma,
            alphamax=0.8,
            # LayerParams counts in input px; `tolerance` is in traced px (what was measured).
            opttolerance=self.tolerance / k,
            # vtracer's speckle is a side in input px; potrace's turdsize an area.
            turdsize=float(self.speckle * self.speckle),
        )

    def encode(self, height: int, width: int) -> np.ndarray:
        """Return the candidate as predictor inputs for an image of this size."""
        k = self.factor(height, width)
        return np.array(
            [
                math.log2(k),
                math.log2(max(height, width) * k),
                1.0 if self.palette != 0 else 0.0,
                math.log2(self.max_colors) if self.palette != 0 else 0.0,
                1.0 if self.denoise else 0.0,
                self.speckle / 8.0,
                self.corner_threshold / 180.0,
                self.length_threshold / 10.0,
                self.splice_threshold / 180.0,
                1.0 if self.mode == "polygon" else 0.0,
                1.0 if self.hierarchical == "cutout" else 0.0,
                self.precision(height, width) / 3.0,
                self.alpha_threshold / 255.0,
                1.0 if self.tracer == "layers" else 0.0,
                self.sigma if self.tracer == "layers" else 0.0,
                self.tolerance if self.tracer == "layers" else 0.0,
                1.0 if self.gradients else 0.0,
            ],
            dtype=np.float32,
        )

    def as_dict(self) -> CandidateDict:
        """Return the candidate as a plain dict."""
        return cast(CandidateDict, asdict(self))  # the keys are the fields (a test checks)

    def with_changes(self, **changes: Any) -> Candidate:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


N_CANDIDATE_FEATURES = len(Candidate().encode(512, 512))


def candidate_space() -> list[Candidate]:
    """Return the grid of candidates the predictor ranks (tiers 1 and 2).

    Every point snaps to the palette: on the dev set, tracing without snapping removed half as
    much error at three times the bytes (JPEG noise and anti-aliasing become sliver paths).
    Two tracers: vtracer (fast, many nodes) and potrace per colour layer (optimal curves, the
    blur σ choosing between merged segments and kept slits), each with or without gradients.
    """
    grid = []
    # No 1× vtracer: tracing at the input's own size removed 4–28 % of the error on the
    # training split (against 57–70 % upscaled), and the predictor, having seen few such rows,
    # over-rated it on JPEG uploads.
    for long_side, max_colors, speckle, corner, length, gradients in itertools.product(
        (1024, 2048), (8, 16, 32), (2, 4), (60, 100), (1.0, 4.0), (False, True)
    ):
        grid.append(
            Candidate(
                long_side=long_side,
                max_colors=max_colors,
                speckle=speckle,
                corner_threshold=corner,
                length_threshold=length,
                gradients=gradients,
            )
        )
    for long_side, max_colors, speckle, sigma, tolerance, gradients in itertools.product(
        (1024, 2048), (8, 16, 32), (2, 4), LAYER_SIGMAS, LAYER_TOLERANCES, (False, True)
    ):
        grid.append(
            Candidate(
                long_side=long_side,
                max_colors=max_colors,
                speckle=speckle,
                tracer="layers",
                sigma=sigma,
                tolerance=tolerance,
                gradients=gradients,
            )
        )
    return grid


LAYER_SIGMAS = (0.0, 0.5, 0.8)
LAYER_TOLERANCES = (0.5, 1.5)
# Measured by every training image (one per tracer and scale), so the predictor sees each
# image at each scale; the rest of a training image's candidates are drawn at random.
ANCHORS = (
    Candidate(long_side=1024, max_colors=16, speckle=4),
    Candidate(long_side=1024, max_colors=16, speckle=2, tracer="layers", tolerance=1.5),
    Candidate(long_side=2048, max_colors=16, speckle=2, tracer="layers", tolerance=1.5),
)


def training_sample(n: int, rng: np.random.Generator) -> list[Candidate]:
    """Return `n` distinct candidates for one training image: the anchors, then a random draw.

    Three in four random draws use the layers tracer, where the choices (σ, tolerance,
    gradients) matter most per image.
    """
    space = candidate_space()
    picked = list(ANCHORS[: max(0, n)])
    layers = [c for c in space if c.tracer == "layers" and c not in picked]
    others = [c for c in space if c.tracer != "layers" and c not in picked]
    while len(picked) < n and (layers or others):
        pool = layers if (rng.random() < 0.75 and layers) or not others else others
        picked.append(pool.pop(int(rng.integers(len(pool)))))
    return picked


def neighbours(candidate: Candidate, *, has_alpha: bool = True) -> list[Candidate]:
    """Return candidates one step away from `candidate` (tier 3's local search moves).

    Palette snapping is never switched off: the runtime quality proxy compares against the
    input upscaled bicubically, whose anti-aliasing ramps an unsnapped trace copies as
    thousands of sliver paths (measured: megabyte SVGs that the proxy scored higher and
    fidelity scored far lower). Moves stay inside the ranges the predictor was trained on.
    """
    moves: list[dict[str, object]] = [
        {"speckle": max(1, candidate.speckle // 2)},
        {"speckle": min(8, candidate.speckle * 2)},
        {"corner_threshold": max(30, candidate.corner_threshold - 30)},
        {"corner_threshold": min(120, candidate.corner_threshold + 30)},
        {"length_threshold": max(1.0, candidate.length_threshold / 2)},
        {"length_threshold": min(8.0, candidate.length_threshold * 2)},
        {"splice_threshold": max(15, candidate.splice_threshold - 20)},
        {"splice_threshold": min(90, candidate.splice_threshold + 20)},
        {"max_colors": max(8, candidate.max_colors // 2)},
        {"max_colors": min(32, candidate.max_colors * 2)},
        {"denoise": not candidate.denoise},  # JPEG clean-up before snapping
    ]
    if has_alpha:
        moves += [
            {"alpha_threshold": 96 if candidate.alpha_threshold >= 128 else 128},
            {"alpha_threshold": 160 if candidate.alpha_threshold <= 128 else 128},
        ]
    for long_side in (1024, 2048):
        if long_side != candidate.long_side:
            moves.append({"long_side": long_side})
    moves.append({"gradients": not candidate.gradients})
    if candidate.tracer == "layers":
        moves += [{"sigma": sigma} for sigma in LAYER_SIGMAS if sigma != candidate.sigma]
        moves += [{"tolerance": t} for t in LAYER_TOLERANCES if t != candidate.tolerance]
    else:
        moves.append({"tracer": "layers", "sigma": 0.5, "tolerance": LAYER_TOLERANCES[-1]})
    seen = {candidate}
    out = []
    for move in moves:
        other = candidate.with_changes(**move)
        if other not in seen:
            seen.add(other)
            out.append(other)
    return out
