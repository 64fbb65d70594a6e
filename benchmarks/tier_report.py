"""The tier benchmark's summary and its presentation: Markdown tables, a chart, results files.

`summarise` reduces `TierRow`s to per-method figures (the summary results.json stores), then
`markdown` and `chart` present them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TypedDict

import numpy as np

from benchmarks.goals import goals_table
from benchmarks.methods import TIER_NAMES, label
from benchmarks.recipes import Recipe
from benchmarks.rows import TierRow

# --- summary ----------------------------------------------------------------------------------

# A tier is worse than the tier below on an image when its fidelity is lower by more than this.
WORSE_BY = 0.001


@dataclass(frozen=True)
class Figures:
    """One method's figures over its measured rows (each has a fidelity and a size)."""

    mean_fidelity: float
    median_bytes: float
    mean_bytes: float
    median_bytes_ratio: float
    mean_bytes_ratio: float
    p50_time_s: float
    p95_time_s: float
    error_removed: float | None  # versus vtracer's defaults on the same images
    mean_ssim: float | None = None
    # Nodes a designer edits (rows.count_nodes), and per image ÷ the true SVG's.
    median_nodes: float | None = None
    median_nodes_ratio: float | None = None
    # Tiers 2 and 3: per image variant, how often fidelity is below (or above) the tier
    # below's by more than WORSE_BY, of how many measured by both.
    worse_than_below: int | None = None
    better_than_below: int | None = None
    compared_with_below: int | None = None
    # Tier rows only: how well the pipeline predicted, what its steps took, what it traced.
    ssim_prediction_mae: float | None = None
    fidelity_prediction_mae: float | None = None
    p95_features_ms: float | None = None
    p95_predict_ms: float | None = None
    p95_routing_ms: float | None = None
    mean_attempts: float | None = None
    tiers_used: dict[str, int] | None = None  # auto only
    # Per group ("category_text", "variant_jpeg"); vtracer's defaults remove no error of theirs.
    error_removed_by_group: dict[str, float | None] = field(default_factory=dict)
    bytes_ratio_median_by_group: dict[str, float] = field(default_factory=dict)
    bytes_ratio_mean_by_group: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Return the figures under results.json's flat keys (optional ones when present)."""
        flat = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if not f.name.endswith("_by_group")
            and (f.name == "error_removed" or getattr(self, f.name) is not None)
        }
        for group, median in self.bytes_ratio_median_by_group.items():
            if group in self.error_removed_by_group:
                flat[f"error_removed_{group}"] = self.error_removed_by_group[group]
            flat[f"bytes_ratio_median_{group}"] = median
            flat[f"bytes_ratio_mean_{group}"] = self.bytes_ratio_mean_by_group[group]
        return flat


@dataclass(frozen=True)
class MethodSummary:
    """How many rows a method had, how many failed, and its figures (None: all failed)."""

    n: int
    failed: int
    figures: Figures | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the summary as results.json stores it."""
        figures = self.figures.as_dict() if self.figures is not None else {}
        return {"n": self.n, "failed": self.failed, **figures}


@dataclass(frozen=True)
class Reference:
    """The input upscaled bicubic, held to the true SVG like a method."""

    mean_fidelity: float
    error_removed: float | None


@dataclass(frozen=True)
class Summary:
    """Per method, its summary; and the bicubic reference when there is a baseline."""

    methods: dict[str, MethodSummary]
    bicubic: Reference | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the summary as results.json stores it (the reference as bicubic_upscale)."""
        flat: dict[str, object] = {name: s.as_dict() for name, s in self.methods.items()}
        if self.bicubic is not None:
            flat["bicubic_upscale"] = asdict(self.bicubic)
        return flat

    def figures(self, method: str) -> Figures | None:
        """Return a method's figures, or None when it did not run or all its rows failed."""
        summary = self.methods.get(method)
        return summary.figures if summary is not None else None


@dataclass
class Results:
    """Rows (one per image variant and method), their summary, and the recipe used."""

    rows: list[TierRow]
    summary: Summary
    images: int
    variants: tuple[str, ...]
    methods: tuple[str, ...]
    recipe: Recipe | None = None
    recipe_note: str = ""


def _error_removed(
    rows: Sequence[TierRow], baseline: dict[tuple[str, str], TierRow]
) -> float | None:
    ours, theirs = [], []
    for row in rows:
        base = baseline.get((row.id, row.variant))
        if row.ok and row.fidelity is not None and base is not None and base.fidelity is not None:
            ours.append(1 - row.fidelity)
            theirs.append(1 - base.fidelity)
    if not ours:
        return None
    mean_theirs = np.mean(theirs)
    return float(1 - np.mean(ours) / mean_theirs) if mean_theirs > 0 else None


def summarise(rows: Sequence[TierRow], methods: Sequence[str]) -> Summary:
    """Return per-method means, medians and percentiles, error removed versus defaults, and
    bytes ÷ true SVG bytes (median and mean), overall and per category and variant."""
    baseline = {(r.id, r.variant): r for r in rows if r.tier == "default"}
    summaries = {}
    for method in methods:
        mine = [r for r in rows if r.tier == method]
        ok = [r for r in mine if r.measured]
        figures = _figures(method, ok, baseline) if ok else None
        if figures is not None and _below(method) in methods:
            below = [r for r in rows if r.tier == _below(method) and r.measured]
            worse, better, compared = _against(ok, below)
            figures = replace(
                figures,
                worse_than_below=worse,
                better_than_below=better,
                compared_with_below=compared,
            )
        summaries[method] = MethodSummary(len(mine), len(mine) - len(ok), figures)
    bicubic = [r for r in rows if r.tier == (methods[0] if methods else "default")]
    reference = None
    if bicubic and baseline:
        pseudo = [replace(r, fidelity=r.bicubic_fidelity, ok=True) for r in bicubic]
        reference = Reference(
            mean_fidelity=float(np.mean([r.bicubic_fidelity for r in bicubic])),
            error_removed=_error_removed(pseudo, baseline),
        )
    return Summary(summaries, reference)


def _below(method: str) -> str:
    """Return the tier below a tier ("2" → "1"), or "" for anything else."""
    return str(int(method) - 1) if method in ("2", "3") else ""


def _against(ok: list[TierRow], below: list[TierRow]) -> tuple[int, int, int]:
    """Return how often `ok`'s rows are worse, better than `below`'s on the same image, of how
    many images both measured."""
    theirs = {(r.id, r.variant): r.fidelity for r in below}
    pairs = [(r.fidelity, theirs[(r.id, r.variant)]) for r in ok if (r.id, r.variant) in theirs]
    worse = sum(1 for a, b in pairs if a is not None and b is not None and a < b - WORSE_BY)
    better = sum(1 for a, b in pairs if a is not None and b is not None and a > b + WORSE_BY)
    return worse, better, len(pairs)


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _figures(method: str, ok: list[TierRow], baseline: dict[tuple[str, str], TierRow]) -> Figures:
    """Return one method's figures over its measured rows."""
    times = [r.time_s for r in ok]
    ratios = _values(r.bytes_ratio for r in ok)
    ssims = _values(r.ssim for r in ok)
    used = [r.tier_used for r in ok]
    error_by_group: dict[str, float | None] = {}
    median_by_group, mean_by_group = {}, {}
    for key in ("category", "variant"):
        for value in sorted({getattr(r, key) for r in ok}):
            subset = [r for r in ok if getattr(r, key) == value]
            if method != "default":
                error_by_group[f"{key}_{value}"] = _error_removed(subset, baseline)
            part = _values(r.bytes_ratio for r in subset)
            median_by_group[f"{key}_{value}"] = float(np.median(part))
            mean_by_group[f"{key}_{value}"] = float(np.mean(part))
    return Figures(
        mean_fidelity=float(np.mean(_values(r.fidelity for r in ok))),
        median_bytes=float(np.median(_values(r.svg_bytes for r in ok))),
        mean_bytes=float(np.mean(_values(r.svg_bytes for r in ok))),
        median_bytes_ratio=float(np.median(ratios)),
        mean_bytes_ratio=float(np.mean(ratios)),
        p50_time_s=float(np.percentile(times, 50)),
        p95_time_s=float(np.percentile(times, 95)),
        error_removed=_error_removed(ok, baseline) if method != "default" else 0.0,
        mean_ssim=float(np.mean(ssims)) if ssims else None,
        median_nodes=_median(_values(r.nodes for r in ok)),
        median_nodes_ratio=_median(
            [r.nodes / r.true_nodes for r in ok if r.nodes is not None and r.true_nodes]
        ),
        **_prediction_figures(ok),
        tiers_used=(
            {str(t): used.count(t) for t in sorted({u for u in used if u is not None})}
            if method == "auto"
            else None
        ),
        error_removed_by_group=error_by_group,
        bytes_ratio_median_by_group=median_by_group,
        bytes_ratio_mean_by_group=mean_by_group,
    )


def _values(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _p95(values: list[float]) -> float | None:
    return float(np.percentile(values, 95)) if values else None


class _PredictionFigures(TypedDict):
    ssim_prediction_mae: float | None
    fidelity_prediction_mae: float | None
    p95_features_ms: float | None
    p95_predict_ms: float | None
    p95_routing_ms: float | None
    mean_attempts: float | None


def _prediction_figures(ok: list[TierRow]) -> _PredictionFigures:
    """Return prediction errors, step times and attempts of tier rows (fixed rows have none)."""
    return {
        "ssim_prediction_mae": _mean(
            [
                abs(r.predicted_ssim - r.ssim)
                for r in ok
                if r.predicted_ssim is not None and r.ssim is not None
            ]
        ),
        "fidelity_prediction_mae": _mean(
            [
                abs(r.predicted_fidelity - r.fidelity)
                for r in ok
                if r.predicted_fidelity is not None and r.fidelity is not None
            ]
        ),
        "p95_features_ms": _p95(_values(r.features_ms for r in ok)),
        "p95_predict_ms": _p95(_values(r.predict_ms for r in ok)),
        "p95_routing_ms": _p95(_values(r.routing_ms for r in ok)),
        "mean_attempts": (
            float(np.mean([r.attempts or 0 for r in ok]))
            if any(r.attempts is not None for r in ok)
            else None
        ),
    }


# --- presenting ---------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}×"


def markdown(results: Results) -> str:
    """Return the results as Markdown tables with a short legend."""
    summary, methods = results.summary, results.methods
    lines = [
        f"{results.images} held-out logos × {len(results.variants)} variants "
        f"({', '.join(results.variants)}); fidelity = SSIM (RGB) against the true SVG at 1024 px; "
        "error removed = share of (1 − fidelity) removed versus vtracer's defaults; "
        "÷ true = SVG bytes divided by the true SVG's bytes.",
        "",
        "| tier | n | mean fidelity | error removed | median bytes | median ÷ true | "
        "mean ÷ true | p50 time | p95 time | mean measured SSIM | median nodes (÷ true) | "
        f"worse / better than the tier below (fidelity ± {WORSE_BY:g}) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in methods:
        s = summary.methods.get(method)
        f = s.figures if s is not None else None
        name = method if method in TIER_NAMES else label(method)
        if s is None or f is None:
            lines.append(f"| {name} | {s.n if s else 0} | all failed | | | | | | | | | |")
            continue
        lines.append(
            f"| {name} | {s.n} | {f.mean_fidelity:.4f} | {_pct(f.error_removed)} | "
            f"{f.median_bytes / 1000:.1f} KB | {_times(f.median_bytes_ratio)} | "
            f"{_times(f.mean_bytes_ratio)} | {f.p50_time_s:.2f} s | "
            f"{f.p95_time_s:.2f} s | "
            + (f"{f.mean_ssim:.4f} | " if f.mean_ssim is not None else "– | ")
            + f"{_node_cell(f)} | {_below_cell(f)} |"
        )
    if summary.bicubic is not None:
        b = summary.bicubic
        lines.append(
            f"| input upscaled bicubic (reference) | | {b.mean_fidelity:.4f} | "
            f"{_pct(b.error_removed)} | | | | | | | | |"
        )
    if results.recipe_note:
        lines += ["", results.recipe_note + "."]
    lines += goals_table({m: f for m in methods if (f := summary.figures(m)) is not None})
    lines += _by_group_table(summary, methods, of_bytes=False)
    lines += _by_group_table(summary, methods, of_bytes=True)
    auto = summary.figures("auto")
    if auto is not None and auto.tiers_used is not None:
        lines += ["", f"auto routed to tiers: {auto.tiers_used}"]
    steps = []
    for method in methods:
        f = summary.figures(method)
        if f is not None and f.p95_predict_ms is not None:
            steps.append(
                f"tier {method}: features p95 {f.p95_features_ms or 0:.0f} ms, prediction "
                f"p95 {f.p95_predict_ms:.0f} ms, routing p95 {f.p95_routing_ms or 0:.0f} "
                f"ms, {f.mean_attempts or 0:.1f} candidates traced on average"
            )
    if steps:
        lines += ["", *steps]
    return "\n".join(lines) + "\n"


def _node_cell(f: Figures) -> str:
    if f.median_nodes is None:
        return "–"
    ratio = f" ({_times(f.median_nodes_ratio)})" if f.median_nodes_ratio is not None else ""
    return f"{f.median_nodes:.0f}{ratio}"


def _below_cell(f: Figures) -> str:
    if f.compared_with_below is None:
        return "–"
    n = f.compared_with_below
    share = (
        f" ({f.worse_than_below / n * 100:.0f} %)" if n and f.worse_than_below is not None else ""
    )
    return f"{f.worse_than_below}{share} / {f.better_than_below} of {n}"


def _by_group_table(summary: Summary, methods: Sequence[str], *, of_bytes: bool) -> list[str]:
    """Return a methods × (category, variant) table of error removed, or of bytes ÷ true SVG.

    Bytes cells read "median / mean"; vtracer's defaults have no error removed of their own.
    """
    title = "Bytes ÷ true SVG, median / mean" if of_bytes else "Error removed"
    figures = {m: f for m in methods if (f := summary.figures(m)) is not None}
    groups = (
        f.bytes_ratio_median_by_group if of_bytes else f.error_removed_by_group
        for f in figures.values()
    )
    keys = sorted({key for group in groups for key in group})
    if not keys:
        return []
    header = [k.replace("_", " ", 1) for k in keys]
    lines = ["", f"{title} by category and variant:", ""]
    lines.append("| tier | " + " | ".join(header) + " |")
    lines.append("|---|" + "---|" * len(keys))
    for method, f in figures.items():
        if method == "default" and not of_bytes:
            continue
        if of_bytes:
            cells = [
                f"{_times(f.bytes_ratio_median_by_group.get(k))} / "
                f"{_times(f.bytes_ratio_mean_by_group.get(k))}"
                for k in keys
            ]
        else:
            cells = [_pct(f.error_removed_by_group.get(k)) for k in keys]
        name = method if method in TIER_NAMES else label(method)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def chart(results: Results, path: Path) -> None:
    """Write a PNG: mean fidelity against median bytes, one point per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = results.summary
    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    # Methods that land on the same point (auto often equals tier 2) share one label.
    points: dict[tuple[float, float], list[str]] = {}
    for method in results.methods:
        f = summary.figures(method)
        if f is not None:
            key = (round(f.median_bytes / 1000, 1), round(f.mean_fidelity, 4))
            points.setdefault(key, []).append(label(method))
    for index, (point, labels) in enumerate(points.items()):
        axes.scatter(*point, s=60)
        offset = (6, 6) if index % 2 else (6, -12)  # alternate: close points stay readable
        axes.annotate(" = ".join(labels), point, textcoords="offset points", xytext=offset)
    if summary.bicubic is not None:
        level = summary.bicubic.mean_fidelity
        axes.axhline(level, linestyle="--", color="grey")
        axes.annotate(
            "input upscaled (bicubic)",
            (axes.get_xlim()[0], level),
            textcoords="offset points",
            xytext=(4, -12),
            color="grey",
        )
    axes.set_xlabel("median SVG size (KB)")
    axes.set_ylabel("mean fidelity (SSIM vs true SVG, 1024 px)")
    axes.set_title("svgai: quality against size")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write(results: Results, out: Path) -> str:
    """Write results.json, results.md and quality_vs_bytes.png to `out`; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    payload: dict[str, object] = {
        "summary": results.summary.as_dict(),
        "rows": [row.as_dict() for row in results.rows],
    }
    if results.recipe is not None:
        payload["recipe"] = results.recipe.as_dict()
    (out / "results.json").write_text(json.dumps(payload, indent=1) + "\n")
    table = markdown(results)
    (out / "results.md").write_text(table)
    chart(results, out / "quality_vs_bytes.png")
    return table
