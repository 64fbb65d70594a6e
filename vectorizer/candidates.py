"""Conversion candidates: an input preparation plus vtracer settings, described per image size.

A candidate says "trace at ~1024 px on the long side, snapped to the logo's palette, dropping
specks under 4 input pixels…"; `materialize` turns that into the exact `Preparation` and
`TraceParams` for one image (the upscale factor, and everything measured in pixels, depend on
the image's size). The predictor sees candidates through `encode`, so it learns how each knob
acts on each kind of image.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from vectorizer.preparation import Preparation
from vectorizer.tracing import TraceParams

MAX_FACTOR = 8


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
    # Decimals kept in the traced (upscaled) coordinates; 0 at 4× is still 1/4 px precise.
    path_precision: int = 1
    # Alpha at or above this is opaque, below it transparent: where a soft edge ends.
    alpha_threshold: int = 128

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
            path_precision=self.path_precision,
        )
        return prep, params

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
                self.path_precision / 3.0,
                self.alpha_threshold / 255.0,
            ],
            dtype=np.float32,
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the candidate as a plain dict."""
        return asdict(self)

    def with_changes(self, **changes: Any) -> Candidate:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


N_CANDIDATE_FEATURES = len(Candidate().encode(512, 512))


def candidate_space() -> list[Candidate]:
    """Return the grid of candidates the predictor ranks (tiers 1 and 2).

    Every point snaps to the palette: on the dev set, tracing without snapping removed half as
    much error at three times the bytes (JPEG noise and anti-aliasing become sliver paths).
    """
    grid = []
    for long_side, max_colors, speckle, corner, length in itertools.product(
        (0, 1024, 2048), (8, 16, 32), (2, 4), (60, 100), (1.0, 4.0)
    ):
        grid.append(
            Candidate(
                long_side=long_side,
                palette=-1,
                max_colors=max_colors,
                speckle=speckle,
                corner_threshold=corner,
                length_threshold=length,
                path_precision=precision_for(long_side),
            )
        )
    return grid


def precision_for(long_side: int) -> int:
    """Return decimals that keep about 1/10 input pixel at this trace resolution."""
    return 0 if long_side >= 2048 else 1


def neighbours(candidate: Candidate, *, has_alpha: bool = True) -> list[Candidate]:
    """Return candidates one step away from `candidate` (tier 3's local search moves).

    Palette snapping is never switched off: the runtime quality proxy compares against the
    input upscaled bicubically, whose anti-aliasing ramps an unsnapped trace copies as
    thousands of sliver paths (measured: megabyte SVGs that the proxy scored higher and
    fidelity scored far lower). Moves stay inside the ranges the predictor was trained on.
    """
    moves: list[dict[str, Any]] = [
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
            moves.append({"long_side": long_side, "path_precision": precision_for(long_side)})
    seen = {candidate}
    out = []
    for move in moves:
        other = candidate.with_changes(**move)
        if other not in seen:
            seen.add(other)
            out.append(other)
    return out
