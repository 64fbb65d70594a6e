"""What the design options cost: fidelity and bytes of cut-outs and of max_colors 2, 4 and 8.

Each held-out logo is traced once per base (one fixed candidate per tracer, the tiers'
fallback settings), then each option is applied to that same SVG by the product's own
`vectorizer.designer.design`; fidelity is SSIM against the true SVG at 1024 px, as in the tier
benchmark. A row per logo, base and option; `summary` averages them per base and option.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks.methods import tracer_references
from vectorizer.candidates import Candidate
from vectorizer.dataset import LogoRecord
from vectorizer.designer import NO_DESIGN, DesignOptions, design
from vectorizer.images import decode_image
from vectorizer.pipeline import convert_candidate
from vectorizer.quality import fidelity
from vectorizer.svgdoc import parse_document

OPTIONS: dict[str, DesignOptions] = {
    "stacked": NO_DESIGN,
    "cutouts": DesignOptions(shape_stacking="cutouts"),
    "max_colors 8": DesignOptions(max_colors=8),
    "max_colors 4": DesignOptions(max_colors=4),
    "max_colors 2": DesignOptions(max_colors=2),
    "cutouts, max_colors 4": DesignOptions(max_colors=4, shape_stacking="cutouts"),
}


@dataclass(frozen=True)
class DesignRow:
    """One logo, one base trace, one option: what came out."""

    logo: str
    category: str
    base: str
    option: str
    fidelity: float
    ssim: float
    svg_bytes: int
    colors: int
    ms: float
    problems: tuple[str, ...] = ()


def run(
    records: Sequence[LogoRecord],
    *,
    bases: dict[str, Candidate] | None = None,
    progress: Callable[[Sequence[LogoRecord]], Iterable[LogoRecord]] = lambda r: r,
) -> list[DesignRow]:
    """Return a row per logo, base and option."""
    rows: list[DesignRow] = []
    for record in progress(records):
        rgba = decode_image(record.path.read_bytes()).rgba
        true_svg = record.svg_path.read_text() if record.svg_path else None
        for base, candidate in (bases or tracer_references()).items():
            svg = convert_candidate(rgba, candidate, proxy=False).svg
            for option, asked in OPTIONS.items():
                rows.append(_measure(record, base, option, rgba, svg, asked, true_svg))
    return rows


def _measure(
    record: LogoRecord,
    base: str,
    option: str,
    rgba: np.ndarray,
    svg: str,
    asked: DesignOptions,
    true_svg: str | None,
) -> DesignRow:
    started = time.perf_counter()
    result = design(rgba, svg, asked)
    ms = (time.perf_counter() - started) * 1000 if not asked.is_default else 0.0
    height, width = rgba.shape[:2]
    return DesignRow(
        logo=record.id,
        category=record.category,
        base=base,
        option=option,
        fidelity=fidelity(result.svg, true_svg, width, height) if true_svg else float("nan"),
        ssim=result.ssim,
        svg_bytes=result.svg_bytes,
        colors=len(parse_document(result.svg).colours()),
        ms=ms,
        problems=result.problems,
    )


def summary(rows: Sequence[DesignRow]) -> str:
    """Return a Markdown table: per base and option, means and the change from stacked."""
    lines = [
        "| base | option | logos | fidelity | Δ fidelity | SSIM | bytes | bytes ÷ stacked "
        "| colours | ms | with a problem |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for base in dict.fromkeys(r.base for r in rows):
        stacked = {r.logo: r for r in rows if r.base == base and r.option == "stacked"}
        for option in OPTIONS:
            group = [r for r in rows if r.base == base and r.option == option]
            if not group:
                continue
            delta = np.mean([r.fidelity - stacked[r.logo].fidelity for r in group])
            ratio = np.mean([r.svg_bytes / stacked[r.logo].svg_bytes for r in group])
            flagged = sum(1 for r in group if r.problems)

            def mean(values: Iterable[float]) -> float:
                return float(np.mean(list(values)))

            lines.append(
                f"| {base} | {option} | {len(group)} | {mean(r.fidelity for r in group):.4f} "
                f"| {delta:+.4f} | {mean(r.ssim for r in group):.4f} "
                f"| {mean(r.svg_bytes for r in group):,.0f} | {ratio:.2f} "
                f"| {mean(r.colors for r in group):.1f} | {mean(r.ms for r in group):.0f} "
                f"| {flagged} |"
            )
    return "\n".join(lines) + "\n"


def write(rows: Sequence[DesignRow], out: Path) -> str:
    """Write rows.json and summary.md into `out`; return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "rows.json").write_text(json.dumps([asdict(r) for r in rows], indent=1))
    table = summary(rows)
    (out / "summary.md").write_text(table)
    return table
