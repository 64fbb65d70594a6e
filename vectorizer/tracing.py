"""The vtracer wrapper: validated parameters in, SVG markup out.

The binding validates nothing (a misspelled enum silently means the default, some values panic
in Rust), so every parameter is checked here against its real range before the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import vtracer

from vectorizer.images import composite_on_white, encode_png


class VectorizeError(RuntimeError):
    """vtracer could not trace this image with these parameters."""


class ParamError(ValueError):
    """A tracing parameter is out of range; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


# name -> (allowed values) for enums, (min, max) for numbers. Ranges are where vtracer behaves:
# color_precision 0 and max_iterations 0 panic, negative ints overflow.
CHOICES: dict[str, tuple[str, ...]] = {
    "colormode": ("color", "binary"),
    "hierarchical": ("stacked", "cutout"),
    "mode": ("spline", "polygon", "none"),
}
RANGES: dict[str, tuple[float, float]] = {
    "filter_speckle": (0, 128),
    "color_precision": (1, 8),
    "layer_difference": (0, 255),
    "corner_threshold": (0, 180),
    "length_threshold": (0.0, 64.0),
    "max_iterations": (1, 100),
    "splice_threshold": (0, 180),
    "path_precision": (0, 10),
}
FLOAT_PARAMS = frozenset({"length_threshold"})


@dataclass(frozen=True)
class TraceParams:
    """One field per vtracer keyword. Defaults are vtracer's, except path_precision."""

    colormode: str = "color"
    hierarchical: str = "stacked"
    mode: str = "spline"
    filter_speckle: int = 4
    color_precision: int = 6
    layer_difference: int = 16
    corner_threshold: int = 60
    length_threshold: float = 4.0
    max_iterations: int = 10
    splice_threshold: int = 45
    # vtracer's own default writes unrounded floats: twice the bytes for no visible gain.
    path_precision: int = 2

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ParamError(name, f"must be one of {', '.join(allowed)}; got {value!r}.")
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            kind = (int, float) if name in FLOAT_PARAMS else int
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ParamError(name, f"must be a number from {low} to {high}; got {value!r}.")
            if not low <= value <= high:
                raise ParamError(name, f"must be from {low} to {high}; got {value}.")

    def as_dict(self) -> dict[str, int | float | str]:
        """Return the parameters as a plain dict (what is stored and reported)."""
        return asdict(self)

    def with_changes(self, **changes: Any) -> TraceParams:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> TraceParams:
        """Return params from a dict, refusing keys vtracer does not have."""
        unknown = sorted(set(values) - PARAM_NAMES)
        if unknown:
            raise ParamError(unknown[0], f"is not a vtracer parameter; use {sorted(PARAM_NAMES)}.")
        return cls(**values)  # type: ignore[arg-type]  # __post_init__ checks every value


PARAM_NAMES = frozenset(f.name for f in fields(TraceParams))
DEFAULT_PARAMS = TraceParams()


def trace_rgba(rgba: np.ndarray, params: TraceParams = DEFAULT_PARAMS) -> str:
    """Return vtracer's SVG markup for an RGBA uint8 array traced with `params`."""
    if params.colormode == "binary":
        # Binary mode thresholds the red channel and ignores alpha: give it luminance over white.
        rgb = composite_on_white(rgba).astype(np.float32)
        grey = (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32) + 0.5).astype(np.uint8)
        rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    # Uncompressed PNG: vtracer decodes it at once, and zlib would cost more than the trace.
    return trace_bytes(encode_png(rgba, compress_level=0), params.as_dict())


def trace_bytes(image: bytes, keywords: Mapping[str, object], *, img_format: str = "png") -> str:
    """Return vtracer's SVG for encoded image bytes; every failure becomes VectorizeError."""
    fmt = {"jpeg": "jpg"}.get(img_format.lower(), img_format.lower())
    try:
        return str(vtracer.convert_raw_image_to_svg(image, img_format=fmt, **keywords))
    except BaseException as exc:  # a Rust panic arrives as PanicException, a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise VectorizeError(f"vtracer failed: {str(exc).strip() or type(exc).__name__}") from exc


def binarize_alpha(rgba: np.ndarray, threshold: int = 128) -> np.ndarray:
    """Return a copy whose alpha is 0 or 255, so edge pixels make no translucent fringe shapes."""
    out = rgba.copy()
    opaque = out[..., 3] >= threshold
    out[..., 3] = np.where(opaque, 255, 0).astype(np.uint8)
    out[~opaque, :3] = 0
    return out
