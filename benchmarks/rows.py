"""What the tier benchmark measures: one row per image variant and method.

Rows are values until the JSON edge: `TierRow.as_dict` is what results.json stores.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from vectorizer.pathdata import PathDataError, parse_path

_PATH_DATA = re.compile(r"""<path\b[^>]*?\sd=["']([^"']*)["']""")
_POINTS = re.compile(r"""<poly(?:gon|line)\b[^>]*?\spoints=["']([^"']*)["']""")
_SHAPE = re.compile(r"<(?:circle|ellipse|rect|line)\b")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def count_nodes(svg: str) -> int | None:
    """Return the nodes a designer edits in `svg`: path commands (M, L, C, Q, A; not Z), one
    per point of a polygon or polyline, and one per circle, ellipse, rect or line.

    None when some path data cannot be read.
    """
    try:
        commands = sum(
            sum(1 for s in parse_path(d) if s[0] != "Z") for d in _PATH_DATA.findall(svg)
        )
    except PathDataError:
        return None
    points = sum(len(_NUMBER.findall(p)) // 2 for p in _POINTS.findall(svg))
    return commands + points + len(_SHAPE.findall(svg))


@dataclass(frozen=True)
class TierRow:
    """One image variant converted by one method (a tier, vtracer's defaults, a reference)."""

    id: str
    category: str
    variant: str
    true_bytes: int  # of the true SVG
    bicubic_fidelity: float  # the input upscaled bicubic, against the true SVG
    tier: str  # the method
    time_s: float = 0.0
    ok: bool = False
    error: str | None = None
    svg_bytes: int | None = None
    ssim: float | None = None  # measured against the input
    bytes_ratio: float | None = None  # svg_bytes ÷ true_bytes
    fidelity: float | None = None  # SSIM against the true SVG at 1024 px
    nodes: int | None = None  # count_nodes of the SVG
    true_nodes: int | None = None  # count_nodes of the true SVG
    # Tier rows only: what the AI pipeline predicted, chose and spent.
    predicted_ssim: float | None = None
    predicted_fidelity: float | None = None
    tier_used: int | None = None
    long_side: int | None = None
    features_ms: float | None = None
    predict_ms: float | None = None
    routing_ms: float | None = None
    attempts: int | None = None

    @property
    def measured(self) -> bool:
        """Whether the row has a fidelity and a size (it succeeded and was scored)."""
        return self.ok and self.fidelity is not None and self.bytes_ratio is not None

    def as_dict(self) -> dict[str, object]:
        """Return the row for results.json: the fields this kind of row has (no nulls)."""
        return {key: value for key, value in asdict(self).items() if value is not None}
