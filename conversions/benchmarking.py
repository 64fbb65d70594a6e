"""Benchmarks on a dataset folder: fidelity, bytes and time per tier and per fixed reference.

Each row is one image variant converted by one *method*: vtracer's defaults (`default`), a tier
(`1`, `2`, `3`, `auto`, through `services.convert_with_ai` as the API runs it), or a fixed
reference traced like tier 1 traces its one candidate — the best single recipe chosen on the
training split (`recipe`) and each tracer alone with the fallback settings (`vtracer`, and
`layers` once candidates can choose that tracer). Fidelity is SSIM against the true SVG at
1024 px; bytes are also given as a multiple of the true SVG's bytes.

`run` measures, `summarise` reduces the rows, `markdown` and `chart` present them; the
`benchmark` command is a shell around these, and a test can call them directly.
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from django.db import transaction
from PIL import Image

from aimodels.ml.training import fidelity_of, read_rows
from conversions import services
from conversions.models import Upload
from vectorizer.candidates import Candidate
from vectorizer.dataset import LogoRecord, load_manifest, load_rgba, make_variant, split_of, spread
from vectorizer.images import composite_on_white, decode_image
from vectorizer.quality import FIDELITY_LONG_SIDE, render_at_long_side, ssim_rgb
from vectorizer.render import fit_long_side
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tiers import FALLBACK_CANDIDATE, TIER1_TRACE_LIMIT_MS, Attempt
from vectorizer.tracing import DEFAULT_PARAMS, trace_bytes

T = TypeVar("T")
Progress = Callable[[Iterable[T]], Iterable[T]]

TIER_NAMES = ("default", "1", "2", "3", "auto")
RECIPE = "recipe"
# The tracers a candidate can choose. Hook for the layered tracer (vectorizer/layers.py): once
# `Candidate` has a `tracer` field, each of these gets a row of its own (tracer_references).
TRACERS = ("vtracer", "layers")
# A recipe is judged on at least this many training image variants: among dozens of candidates
# each measured on a handful of images, the best-looking one is mostly the luckiest one.
RECIPE_MIN_IMAGES = 30
LABELS = {
    "default": "vtracer defaults",
    RECIPE: "best fixed recipe",
    **{name: f"{name} alone" for name in TRACERS},
}


def _quiet(items: Iterable[T]) -> Iterable[T]:
    return items


def tracer_references() -> dict[str, Candidate]:
    """Return one fixed candidate per tracer: the fallback settings, traced by that tracer."""
    if "tracer" not in {f.name for f in fields(Candidate)}:
        return {"vtracer": FALLBACK_CANDIDATE}  # candidates cannot choose a tracer yet
    return {name: FALLBACK_CANDIDATE.with_changes(tracer=name) for name in TRACERS}


def method_names() -> tuple[str, ...]:
    """Return every method a benchmark can run, in table order."""
    return (*TIER_NAMES, RECIPE, *tracer_references())


def label(method: str) -> str:
    """Return how tables and charts name a method."""
    return LABELS.get(method, f"tier {method}")


def select_records(folder: Path, *, split: str, limit: int, seed: int) -> list[LogoRecord]:
    """Return the folder's logos with a true SVG, of one split (or all), spread over categories."""
    records = [r for r in load_manifest(folder) if r.svg_path is not None]
    if split != "all":
        records = [r for r in records if split_of(r.id) == split]
    return spread(records, limit, seed)


# --- the best single fixed recipe -------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """One candidate for every image, chosen on the training split of a training set."""

    candidate: Candidate
    images: int  # training image variants it was measured on
    error_removed: float  # on those, versus vtracer's defaults on the same images
    median_bytes_ratio: float  # bytes ÷ true SVG bytes, median over those
    max_median_bytes_ratio: float | None  # the cap it was chosen under (tier 1's), if any

    def as_dict(self) -> dict[str, Any]:
        """Return the recipe as plain values for results.json."""
        return {
            "candidate": self.candidate.as_dict(),
            "images": self.images,
            "error_removed": self.error_removed,
            "median_bytes_ratio": self.median_bytes_ratio,
            "max_median_bytes_ratio": self.max_median_bytes_ratio,
        }


def best_fixed_recipe(
    rows: Iterable[Mapping[str, Any]],
    true_bytes: Mapping[str, int],
    *,
    max_median_bytes_ratio: float | None = None,
    max_median_time_ms: float | None = None,
    min_images: int = RECIPE_MIN_IMAGES,
) -> Recipe | None:
    """Return the candidate removing most error on the training rows within the caps.

    `rows` are a training set's (build_training_set); only the train split counts. Candidates
    were measured on different images, so each is compared with vtracer's defaults on its own
    images (share of 1 − fidelity removed): on a common set of images this ranks exactly as
    mean fidelity does. The bytes cap applies to the median of bytes ÷ the true SVG's bytes;
    the time cap to the median trace time, and only when some candidate meets it.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        baseline = (row.get("baseline") or {}).get("fidelity")
        if row.get("split") != "train" or baseline is None or row["id"] not in true_bytes:
            continue
        groups.setdefault(json.dumps(row["candidate"], sort_keys=True), []).append(row)
    best: Recipe | None = None
    fast = [
        g for g in groups.values() if max_median_time_ms is None
        or float(np.median([r["time_ms"] for r in g])) <= max_median_time_ms
    ]  # fmt: skip
    for group in fast or list(groups.values()):
        images = {(r["id"], r["variant"]) for r in group}
        if len(images) < min_images:
            continue
        ours = sum(1 - r["fidelity"] for r in group)
        theirs = sum(1 - r["baseline"]["fidelity"] for r in group)
        ratio = float(np.median([r["bytes"] / true_bytes[r["id"]] for r in group]))
        if max_median_bytes_ratio is not None and ratio > max_median_bytes_ratio:
            continue
        recipe = Recipe(
            candidate=Candidate(**group[0]["candidate"]),
            images=len(images),
            error_removed=float(1 - ours / theirs) if theirs > 0 else 0.0,
            median_bytes_ratio=ratio,
            max_median_bytes_ratio=max_median_bytes_ratio,
        )
        if best is None or (recipe.error_removed, -ratio) > (
            best.error_removed,
            -best.median_bytes_ratio,
        ):
            best = recipe
    return best


def true_svg_bytes(folder: Path) -> dict[str, int]:
    """Return {logo id: bytes of its true SVG} for a dataset folder."""
    return {r.id: r.svg_path.stat().st_size for r in load_manifest(folder) if r.svg_path}


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What to measure and how."""

    methods: tuple[str, ...] = TIER_NAMES
    variants: tuple[str, ...] = ("alpha", "jpeg", "small")
    target_quality: float = DEFAULT_TARGET_QUALITY
    record: bool = False  # keep the tiers' conversions (and uploads) in the database
    training_set: Path | None = None  # where the recipe is chosen; None: no recipe row
    recipe_min_images: int = RECIPE_MIN_IMAGES


@dataclass
class Results:
    """Rows (one per image variant and method), their summary, and the recipe used."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    images: int
    variants: tuple[str, ...]
    methods: tuple[str, ...]
    recipe: Recipe | None = None
    recipe_note: str = ""


def run(
    folder: Path,
    records: Sequence[LogoRecord],
    options: Options,
    *,
    progress: Progress = _quiet,
) -> Results:
    """Convert every record's variants with every method and measure each result.

    The recipe is chosen after the other methods ran, under tier 1's median bytes ÷ true SVG
    (when tier 1 ran), then traced on the same images in a second pass.
    """
    unknown = set(options.methods) - set(method_names())
    if unknown:
        raise ValueError(f"unknown tiers {sorted(unknown)}; use {method_names()}")
    services.worker_pool().warm_up()
    fixed = tracer_references()
    first = [m for m in options.methods if m != RECIPE]
    rows: list[dict[str, Any]] = []
    for record in progress(records):
        rows.extend(_measure_record(record, first, options, fixed))
    recipe, note = None, ""
    if RECIPE in options.methods:
        recipe, note = _choose_recipe(folder, rows, options)
        if recipe is not None:
            for record in progress(records):
                rows.extend(_measure_record(record, [RECIPE], options, {RECIPE: recipe.candidate}))
    methods = tuple(m for m in options.methods if m != RECIPE or recipe is not None)
    return Results(
        rows=rows,
        summary=summarise(rows, methods),
        images=len(records),
        variants=tuple(options.variants),
        methods=methods,
        recipe=recipe,
        recipe_note=note,
    )


def _choose_recipe(
    folder: Path, rows: list[dict[str, Any]], options: Options
) -> tuple[Recipe | None, str]:
    path = options.training_set
    if path is None or not Path(path).exists():
        return None, f"no training set at {path}: no recipe row (run build_training_set)"
    # Tier 1's rival: the best one setting for every image that traces as fast as tier 1 may.
    recipe = best_fixed_recipe(
        read_rows(Path(path)),
        true_svg_bytes(folder),
        max_median_time_ms=TIER1_TRACE_LIMIT_MS,
        min_images=options.recipe_min_images,
    )
    within = f"within tier 1's trace time ({TIER1_TRACE_LIMIT_MS:g} ms median)"
    if recipe is None:
        return None, (
            f"no candidate of {Path(path).name} measured on ≥ {options.recipe_min_images} "
            f"training images {within}"
        )
    settings = ", ".join(f"{k}={v}" for k, v in recipe.candidate.as_dict().items())
    return recipe, (
        f"best fixed recipe: the candidate removing most error on {recipe.images} training "
        f"image variants of {Path(path).name} {within}: {settings}"
    )


def _measure_record(
    record: LogoRecord,
    methods: Sequence[str],
    options: Options,
    fixed: Mapping[str, Candidate],
) -> list[dict[str, Any]]:
    """Return the rows of one logo: every variant converted by every method."""
    tiers = [m for m in methods if m in TIER_NAMES and m != "default"]
    stored: list[str] = []
    with transaction.atomic():
        # Without `record`, each logo's rows are rolled back: one short transaction per logo
        # never blocks a live server for long.
        rows = _measure_variants(record, methods, options, fixed, stored if tiers else None)
        transaction.set_rollback(not options.record)
    if not options.record:
        _delete_unreferenced(stored)
    return rows


def _measure_variants(
    record: LogoRecord,
    methods: Sequence[str],
    options: Options,
    fixed: Mapping[str, Candidate],
    stored: list[str] | None,
) -> list[dict[str, Any]]:
    rows = []
    rgba = load_rgba(record.path)
    assert record.svg_path is not None
    true_svg = record.svg_path.read_text()
    for variant in options.variants:
        image, fmt = make_variant(rgba, variant)
        decoded = decode_image(image)
        truth = render_at_long_side(true_svg, decoded.width, decoded.height, FIDELITY_LONG_SIDE)
        size = fit_long_side(decoded.width, decoded.height, FIDELITY_LONG_SIDE)
        upscaled = Image.fromarray(composite_on_white(decoded.rgba)).resize(
            size, Image.Resampling.BICUBIC
        )
        base: dict[str, Any] = {
            "id": record.id,
            "category": record.category,
            "variant": variant,
            "true_bytes": len(true_svg.encode()),
            "bicubic_fidelity": ssim_rgb(np.asarray(upscaled), truth),
        }
        upload = None
        if stored is not None:
            upload, _ = services.store_upload(data=image, filename=f"{record.id}.{fmt.lower()}")
            assert upload.file.name is not None  # store_upload saved the file
            stored.append(upload.file.name)
        for method in methods:
            row = {**base, "tier": method}
            svg: str | None
            if method == "default":
                started = time.perf_counter()
                svg = trace_bytes(image, {}, img_format=fmt)
                row.update(
                    time_s=time.perf_counter() - started, svg_bytes=len(svg.encode()), ok=True
                )
            elif method in fixed:
                svg = _convert_fixed(image, fixed[method], row)
            else:
                assert upload is not None
                svg = _convert_tier(upload, method, options.target_quality, row)
            if svg is not None:
                row["bytes_ratio"] = row["svg_bytes"] / row["true_bytes"]
                row["fidelity"] = fidelity_of(svg, truth)
            rows.append(row)
    return rows


def _convert_fixed(image: bytes, candidate: Candidate, row: dict[str, Any]) -> str | None:
    """Trace one fixed candidate as tier 1 traces its choice (one worker job, no proxy)."""
    started = time.perf_counter()
    decoded = decode_image(image)
    (outcome,) = services.evaluate_candidates(decoded.rgba, [candidate], proxy=False)
    row["time_s"] = time.perf_counter() - started
    row["ok"] = isinstance(outcome, Attempt)
    if not isinstance(outcome, Attempt):
        row["error"] = str(outcome)
        return None
    row.update(svg_bytes=outcome.svg_bytes, ssim=outcome.ssim)
    return outcome.svg


def _convert_tier(
    upload: Upload, method: str, target_quality: float, row: dict[str, Any]
) -> str | None:
    services.analysis_cache.clear()  # time every tier from scratch
    started = time.perf_counter()
    conversion = services.convert_with_ai(
        upload=upload,
        tier="auto" if method == "auto" else int(method),
        target_quality=target_quality,
    )
    row["time_s"] = time.perf_counter() - started
    row["ok"] = conversion.succeeded
    if not conversion.succeeded:
        row["error"] = conversion.error
        return None
    row.update(
        svg_bytes=conversion.svg_bytes,
        ssim=conversion.ssim,
        predicted_ssim=conversion.predicted_ssim,
        predicted_fidelity=conversion.prediction.get("fidelity"),
        tier_used=conversion.tier,
        long_side=conversion.preparation.get("candidate", {}).get("long_side"),
        features_ms=conversion.timings.get("features"),
        predict_ms=conversion.timings.get("predict"),
        routing_ms=conversion.timings.get("routing"),
        attempts=len(conversion.routing.get("attempts", [])),
    )
    return conversion.svg


def _delete_unreferenced(names: Iterable[str]) -> None:
    """Delete stored upload files that no surviving Upload row points at (rolled back)."""
    storage = Upload._meta.get_field("file").storage
    for name in set(names):
        if not Upload.objects.filter(file=name).exists():
            storage.delete(name)


# --- summary ----------------------------------------------------------------------------------


def _error_removed(rows: list[dict], baseline: dict[tuple, dict]) -> float | None:
    found = [(r, baseline.get((r["id"], r["variant"]))) for r in rows if r.get("ok")]
    pairs = [(r, b) for r, b in found if b is not None]
    if not pairs:
        return None
    ours = np.mean([1 - r["fidelity"] for r, _ in pairs])
    theirs = np.mean([1 - b["fidelity"] for _, b in pairs])
    return float(1 - ours / theirs) if theirs > 0 else None


def summarise(rows: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    """Return per-method means, medians and percentiles, error removed versus defaults, and
    bytes ÷ true SVG bytes (median and mean), overall and per category and variant."""
    baseline = {(r["id"], r["variant"]): r for r in rows if r["tier"] == "default"}
    summary: dict[str, Any] = {}
    for method in methods:
        mine = [r for r in rows if r["tier"] == method]
        ok = [r for r in mine if r.get("ok")]
        if not ok:
            summary[method] = {"n": len(mine), "failed": len(mine)}
            continue
        times = [r["time_s"] for r in ok]
        ratios = [r["bytes_ratio"] for r in ok]
        entry: dict[str, Any] = {
            "n": len(mine),
            "failed": len(mine) - len(ok),
            "mean_fidelity": float(np.mean([r["fidelity"] for r in ok])),
            "median_bytes": float(np.median([r["svg_bytes"] for r in ok])),
            "mean_bytes": float(np.mean([r["svg_bytes"] for r in ok])),
            "median_bytes_ratio": float(np.median(ratios)),
            "mean_bytes_ratio": float(np.mean(ratios)),
            "p50_time_s": float(np.percentile(times, 50)),
            "p95_time_s": float(np.percentile(times, 95)),
            "error_removed": _error_removed(ok, baseline) if method != "default" else 0.0,
        }
        ssims = [r["ssim"] for r in ok if r.get("ssim") is not None]
        if ssims:
            entry["mean_ssim"] = float(np.mean(ssims))
        _summarise_predictions(entry, ok)
        if method == "auto":
            used = [r["tier_used"] for r in ok]
            entry["tiers_used"] = {str(t): used.count(t) for t in sorted(set(used))}
        for key in ("category", "variant"):
            for value in sorted({r[key] for r in ok}):
                subset = [r for r in ok if r[key] == value]
                if method != "default":
                    entry[f"error_removed_{key}_{value}"] = _error_removed(subset, baseline)
                part = [r["bytes_ratio"] for r in subset]
                entry[f"bytes_ratio_median_{key}_{value}"] = float(np.median(part))
                entry[f"bytes_ratio_mean_{key}_{value}"] = float(np.mean(part))
        summary[method] = entry
    bicubic = [r for r in rows if r["tier"] == (methods[0] if methods else "default")]
    if bicubic and baseline:
        pseudo = [{**r, "fidelity": r["bicubic_fidelity"], "ok": True} for r in bicubic]
        summary["bicubic_upscale"] = {
            "mean_fidelity": float(np.mean([r["bicubic_fidelity"] for r in bicubic])),
            "error_removed": _error_removed(pseudo, baseline),
        }
    return summary


def _summarise_predictions(entry: dict[str, Any], ok: list[dict[str, Any]]) -> None:
    """Add prediction errors, step times and attempts of tier rows (fixed rows have none)."""
    predicted = [r for r in ok if r.get("predicted_ssim") is not None]
    if predicted:
        entry["ssim_prediction_mae"] = float(
            np.mean([abs(r["predicted_ssim"] - r["ssim"]) for r in predicted])
        )
        entry["fidelity_prediction_mae"] = float(
            np.mean([abs(r["predicted_fidelity"] - r["fidelity"]) for r in predicted])
        )
    for step in ("features_ms", "predict_ms", "routing_ms"):
        values = [r[step] for r in ok if r.get(step) is not None]
        if values:
            entry[f"p95_{step}"] = float(np.percentile(values, 95))
    if any("attempts" in r for r in ok):
        entry["mean_attempts"] = float(np.mean([r.get("attempts", 0) for r in ok]))


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
    payload: dict[str, Any] = {"summary": results.summary, "rows": results.rows}
    if results.recipe is not None:
        payload["recipe"] = results.recipe.as_dict()
    (out / "results.json").write_text(json.dumps(payload, indent=1) + "\n")
    table = markdown(results)
    (out / "results.md").write_text(table)
    chart(results, out / "quality_vs_bytes.png")
    return table


# --- the API's overhead over a bare vtracer call ----------------------------------------------


@dataclass(frozen=True)
class ApiTiming:
    """Medians for one image size, in ms."""

    size: int
    bare_ms: float
    api_ms: float
    measure_ms: float


@dataclass
class ApiResults:
    """What benchmark_api measured."""

    images: int
    repeat: int
    sizes: list[ApiTiming]
    requests: int = 0
    seconds: float = 0.0
    created: list[tuple[str, str]] = field(default_factory=list)  # (file_id, conversion_id)


def resized_png(path: Path, long_side: int) -> bytes:
    """Return a logo file as PNG bytes with its long side scaled to `long_side`."""
    with Image.open(path) as opened:
        image = opened.convert("RGBA")
    scale = long_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.LANCZOS).save(buffer, format="PNG")
    return buffer.getvalue()


class ApiClient:
    """A small HTTP client for the JSON API (urllib: what any script would send)."""

    def __init__(self, base_url: str, *, host: str | None = None, timeout: float = 300.0):
        self.base_url = base_url.rstrip("/")
        self.host = host
        self.timeout = timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> dict[str, Any]:
        """Return the JSON answer of one request; raise RuntimeError on any non-2xx status."""
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.host:
            request.add_header("Host", self.host)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"{method} {path} answered {exc.code}: {exc.read()[:300]!r}"
            ) from exc

    def upload(self, png: bytes, filename: str = "logo.png") -> str:
        """Upload an image; return its file_id."""
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
        )
        body = head.encode() + png + f"\r\n--{boundary}--\r\n".encode()
        answer = self.request(
            "POST", "/api/upload", body, f"multipart/form-data; boundary={boundary}"
        )
        return str(answer["file_id"])

    def convert(self, file_id: str) -> dict[str, Any]:
        """Convert an upload with the legacy endpoint's defaults."""
        body = json.dumps({"file_id": file_id}).encode()
        return self.request("POST", "/api/convert", body, "application/json")


@contextmanager
def live_server() -> Iterator[str]:
    """Serve this project's WSGI application on a free local port in a thread; yield its URL.

    The server is the application gunicorn runs (svgai_site.wsgi), models loaded at start, with
    the request throttles off: the benchmark measures the pipeline, not the rate limits.
    """
    from django.conf import settings
    from django.core.servers.basehttp import (
        ThreadedWSGIServer,
        WSGIRequestHandler,
        get_internal_wsgi_application,
    )

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    rates = settings.SVGAI_THROTTLE_RATES
    settings.SVGAI_THROTTLE_RATES = {}
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(get_internal_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, name="benchmark-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        settings.SVGAI_THROTTLE_RATES = rates


def api_overhead(
    client: ApiClient,
    images: Sequence[Path],
    *,
    sizes: Sequence[int] = (256, 512),
    repeat: int = 15,
    progress: Progress = _quiet,
) -> ApiResults:
    """Return median times of POST /api/convert against a bare vtracer call, per image size.

    The same PNG, the same vtracer parameters (the endpoint's defaults); the API's time is the
    whole HTTP round trip: upload lookup, routing, validation, worker, clean-up, measuring.
    """
    params = DEFAULT_PARAMS.as_dict()
    results = ApiResults(images=len(images), repeat=repeat, sizes=[])
    for size in sizes:
        bare, api, measure = [], [], []
        for path in progress(images):
            png = resized_png(path, size)
            for _ in range(repeat):
                started = time.perf_counter()
                trace_bytes(png, params, img_format="png")
                bare.append(time.perf_counter() - started)
            file_id = client.upload(png, path.name)
            answer: dict[str, Any] = {}
            for _ in range(repeat):
                started = time.perf_counter()
                answer = client.convert(file_id)
                elapsed = time.perf_counter() - started
                api.append(elapsed)
                results.requests += 1
                results.seconds += elapsed
            conversion_id = str(answer["conversion_id"])
            results.created.append((file_id, conversion_id))
            detail = client.request("GET", f"/api/conversions/{conversion_id}/")
            measure.append(detail["measure_ms"] / 1000)
        results.sizes.append(
            ApiTiming(
                size=size,
                bare_ms=statistics.median(bare) * 1000,
                api_ms=statistics.median(api) * 1000,
                measure_ms=statistics.median(measure) * 1000,
            )
        )
    return results


def forget(created: Iterable[tuple[str, str]]) -> None:
    """Delete what an in-process API benchmark recorded: its uploads and their conversions."""
    from conversions.models import Conversion

    file_ids = {file_id for file_id, _ in created}
    names = list(Upload.objects.filter(pk__in=file_ids).values_list("file", flat=True))
    Conversion.objects.filter(upload_id__in=file_ids).delete()
    Upload.objects.filter(pk__in=file_ids).delete()
    _delete_unreferenced(names)


def api_markdown(results: ApiResults) -> str:
    """Return the API benchmark as a Markdown table and a throughput line."""
    lines = [
        f"{results.images} logos, {results.repeat} runs each; medians in ms",
        "",
        "| size | bare vtracer | /api/convert | overhead | of which measuring SSIM |",
        "|---|---|---|---|---|",
    ]
    for t in results.sizes:
        lines.append(
            f"| {t.size} px | {t.bare_ms:.1f} | {t.api_ms:.1f} | {t.api_ms - t.bare_ms:.1f} | "
            f"{t.measure_ms:.1f} |"
        )
    if results.seconds > 0:
        lines += [
            "",
            f"sequential /api/convert: {results.requests / results.seconds:.1f} conversions/s "
            f"over {results.requests} requests",
        ]
    return "\n".join(lines) + "\n"
