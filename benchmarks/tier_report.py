"""The tier benchmark's summary and its presentation: Markdown tables, a chart, results files.

`summarise` reduces `TierRow`s to per-method figures (the summary results.json stores), then
`markdown` and `chart` present them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.methods import TIER_NAMES, label
from benchmarks.rows import Results, TierRow

# Per method, figure name → value; "bicubic_upscale" holds the reference upscale.
Summary = dict[str, dict[str, Any]]


# --- summary ----------------------------------------------------------------------------------


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
    summary: Summary = {}
    for method in methods:
        mine = [r for r in rows if r.tier == method]
        ok = [r for r in mine if r.measured]
        if not ok:
            summary[method] = {"n": len(mine), "failed": len(mine)}
            continue
        entry = _summarise_method(method, ok, baseline)
        summary[method] = {"n": len(mine), "failed": len(mine) - len(ok), **entry}
    bicubic = [r for r in rows if r.tier == (methods[0] if methods else "default")]
    if bicubic and baseline:
        pseudo = [replace(r, fidelity=r.bicubic_fidelity, ok=True) for r in bicubic]
        summary["bicubic_upscale"] = {
            "mean_fidelity": float(np.mean([r.bicubic_fidelity for r in bicubic])),
            "error_removed": _error_removed(pseudo, baseline),
        }
    return summary


def _summarise_method(
    method: str, ok: list[TierRow], baseline: dict[tuple[str, str], TierRow]
) -> dict[str, Any]:
    """Return one method's figures over its measured rows (each has a fidelity and a size)."""
    times = [r.time_s for r in ok]
    ratios = _values(r.bytes_ratio for r in ok)
    entry: dict[str, Any] = {
        "mean_fidelity": float(np.mean(_values(r.fidelity for r in ok))),
        "median_bytes": float(np.median(_values(r.svg_bytes for r in ok))),
        "mean_bytes": float(np.mean(_values(r.svg_bytes for r in ok))),
        "median_bytes_ratio": float(np.median(ratios)),
        "mean_bytes_ratio": float(np.mean(ratios)),
        "p50_time_s": float(np.percentile(times, 50)),
        "p95_time_s": float(np.percentile(times, 95)),
        "error_removed": _error_removed(ok, baseline) if method != "default" else 0.0,
    }
    ssims = _values(r.ssim for r in ok)
    if ssims:
        entry["mean_ssim"] = float(np.mean(ssims))
    _summarise_predictions(entry, ok)
    if method == "auto":
        used = [r.tier_used for r in ok]
        entry["tiers_used"] = {
            str(t): used.count(t) for t in sorted({u for u in used if u is not None})
        }
    for key in ("category", "variant"):
        for value in sorted({getattr(r, key) for r in ok}):
            subset = [r for r in ok if getattr(r, key) == value]
            if method != "default":
                entry[f"error_removed_{key}_{value}"] = _error_removed(subset, baseline)
            part = _values(r.bytes_ratio for r in subset)
            entry[f"bytes_ratio_median_{key}_{value}"] = float(np.median(part))
            entry[f"bytes_ratio_mean_{key}_{value}"] = float(np.mean(part))
    return entry


def _values(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _summarise_predictions(entry: dict[str, Any], ok: list[TierRow]) -> None:
    """Add prediction errors, step times and attempts of tier rows (fixed rows have none)."""
    ssim_errors = [
        abs(r.predicted_ssim - r.ssim)
        for r in ok
        if r.predicted_ssim is not None and r.ssim is not None
    ]
    if ssim_errors:
        entry["ssim_prediction_mae"] = float(np.mean(ssim_errors))
    fidelity_errors = [
        abs(r.predicted_fidelity - r.fidelity)
        for r in ok
        if r.predicted_fidelity is not None and r.fidelity is not None
    ]
    if fidelity_errors:
        entry["fidelity_prediction_mae"] = float(np.mean(fidelity_errors))
    for step in ("features_ms", "predict_ms", "routing_ms"):
        values = _values(getattr(r, step) for r in ok)
        if values:
            entry[f"p95_{step}"] = float(np.percentile(values, 95))
    if any(r.attempts is not None for r in ok):
        entry["mean_attempts"] = float(np.mean([r.attempts or 0 for r in ok]))


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
        "mean ÷ true | p50 time | p95 time | mean measured SSIM |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in methods:
        s = summary.get(method, {})
        name = method if method in TIER_NAMES else label(method)
        if "mean_fidelity" not in s:
            lines.append(f"| {name} | {s.get('n', 0)} | all failed | | | | | | | |")
            continue
        lines.append(
            f"| {name} | {s['n']} | {s['mean_fidelity']:.4f} | {_pct(s['error_removed'])} | "
            f"{s['median_bytes'] / 1000:.1f} KB | {_times(s['median_bytes_ratio'])} | "
            f"{_times(s['mean_bytes_ratio'])} | {s['p50_time_s']:.2f} s | "
            f"{s['p95_time_s']:.2f} s | "
            + (f"{s['mean_ssim']:.4f} |" if "mean_ssim" in s else "– |")
        )
    if "bicubic_upscale" in summary:
        b = summary["bicubic_upscale"]
        lines.append(
            f"| input upscaled bicubic (reference) | | {b['mean_fidelity']:.4f} | "
            f"{_pct(b['error_removed'])} | | | | | | |"
        )
    if results.recipe_note:
        lines += ["", results.recipe_note + "."]
    lines += _by_group_table(summary, methods, "error_removed_", "Error removed", _pct, False)
    lines += _by_group_table(
        summary, methods, "bytes_ratio_median_", "Bytes ÷ true SVG, median / mean", None, True
    )
    if "auto" in summary and "tiers_used" in summary["auto"]:
        lines += ["", f"auto routed to tiers: {summary['auto']['tiers_used']}"]
    steps = []
    for method in methods:
        s = summary.get(method, {})
        if "p95_predict_ms" in s:
            steps.append(
                f"tier {method}: features p95 {s.get('p95_features_ms', 0):.0f} ms, prediction "
                f"p95 {s['p95_predict_ms']:.0f} ms, routing p95 {s.get('p95_routing_ms', 0):.0f} "
                f"ms, {s.get('mean_attempts', 0):.1f} candidates traced on average"
            )
    if steps:
        lines += ["", *steps]
    return "\n".join(lines) + "\n"


def _by_group_table(
    summary: dict[str, Any],
    methods: Sequence[str],
    prefix: str,
    title: str,
    cell: Callable[[float | None], str] | None,
    with_default: bool,
) -> list[str]:
    """Return a methods × (category, variant) table of the summary keys starting with prefix."""
    keys = sorted({k for m in methods for k in summary.get(m, {}) if k.startswith(prefix)})
    if not keys:
        return []
    header = [k.removeprefix(prefix).replace("_", " ", 1) for k in keys]
    lines = ["", f"{title} by category and variant:", ""]
    lines.append("| tier | " + " | ".join(header) + " |")
    lines.append("|---|" + "---|" * len(keys))
    for method in methods:
        s = summary.get(method, {})
        if "mean_fidelity" not in s or (method == "default" and not with_default):
            continue
        if cell is None:  # bytes: median / mean
            mean_prefix = prefix.replace("median", "mean")
            cells = [
                f"{_times(s.get(k))} / {_times(s.get(mean_prefix + k.removeprefix(prefix)))}"
                for k in keys
            ]
        else:
            cells = [cell(s.get(k)) for k in keys]
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
        s = summary.get(method, {})
        if "mean_fidelity" in s:
            key = (round(s["median_bytes"] / 1000, 1), round(s["mean_fidelity"], 4))
            points.setdefault(key, []).append(label(method))
    for index, (point, labels) in enumerate(points.items()):
        axes.scatter(*point, s=60)
        offset = (6, 6) if index % 2 else (6, -12)  # alternate: close points stay readable
        axes.annotate(" = ".join(labels), point, textcoords="offset points", xytext=offset)
    if "bicubic_upscale" in summary:
        level = summary["bicubic_upscale"]["mean_fidelity"]
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
    payload: dict[str, Any] = {
        "summary": results.summary,
        "rows": [row.as_dict() for row in results.rows],
    }
    if results.recipe is not None:
        payload["recipe"] = results.recipe.as_dict()
    (out / "results.json").write_text(json.dumps(payload, indent=1) + "\n")
    table = markdown(results)
    (out / "results.md").write_text(table)
    chart(results, out / "quality_vs_bytes.png")
    return table
