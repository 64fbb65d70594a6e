"""Benchmarks on a dataset folder: fidelity, bytes and time per tier and per fixed reference.

Each row is one image variant converted by one *method*: vtracer's defaults (`default`), a tier
(`1`, `2`, `3`, `auto`, through `services.convert_with_ai` as the API runs it), or a fixed
reference traced like tier 1 traces its one candidate — the best single recipe chosen on the
training split (`recipe`) and each tracer alone with the fallback settings (`vtracer`, and
`layers` once candidates can choose that tracer). Fidelity is SSIM against the true SVG at
1024 px; bytes are also given as a multiple of the true SVG's bytes.

`run` measures; `benchmarks.tier_report` reduces the rows and presents them; the `benchmark`
command is a shell around these, and a test can call them directly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from django.db import transaction
from PIL import Image

from aimodels.ml.training import fidelity_of, read_rows
from benchmarks.methods import RECIPE, TIER_NAMES, method_names, tracer_references
from benchmarks.progress import Progress, quiet
from benchmarks.recipes import RECIPE_MIN_IMAGES, Recipe, best_fixed_recipe, true_svg_bytes
from benchmarks.rows import TierRow, count_nodes
from benchmarks.tier_report import Results, summarise
from benchmarks.uploads import delete_unreferenced
from conversions import services
from conversions.models import Upload
from vectorizer.candidates import Candidate
from vectorizer.dataset import LogoRecord, load_manifest, load_rgba, make_variant, split_of, spread
from vectorizer.images import composite_on_white, decode_image
from vectorizer.quality import FIDELITY_LONG_SIDE, render_at_long_side, ssim_rgb
from vectorizer.render import fit_long_side
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tiers import TIER1_TRACE_LIMIT_MS, Attempt
from vectorizer.tracing import trace_bytes


def select_records(folder: Path, *, split: str, limit: int, seed: int) -> list[LogoRecord]:
    """Return the folder's logos with a true SVG, of one split (or all), spread over categories."""
    records = [r for r in load_manifest(folder) if r.svg_path is not None]
    if split != "all":
        records = [r for r in records if split_of(r.id) == split]
    return spread(records, limit, seed)


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


def run(
    folder: Path,
    records: Sequence[LogoRecord],
    options: Options,
    *,
    progress: Progress[LogoRecord] = quiet,
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
    rows: list[TierRow] = []
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
    folder: Path, rows: list[TierRow], options: Options
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
) -> list[TierRow]:
    """Return the rows of one logo: every variant converted by every method."""
    tiers = [m for m in methods if m in TIER_NAMES and m != "default"]
    stored: list[str] = []
    with transaction.atomic():
        # Without `record`, each logo's rows are rolled back: one short transaction per logo
        # never blocks a live server for long.
        rows = _measure_variants(record, methods, options, fixed, stored if tiers else None)
        transaction.set_rollback(not options.record)
    if not options.record:
        delete_unreferenced(stored)
    return rows


def _measure_variants(
    record: LogoRecord,
    methods: Sequence[str],
    options: Options,
    fixed: Mapping[str, Candidate],
    stored: list[str] | None,
) -> list[TierRow]:
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
        base = TierRow(
            id=record.id,
            category=record.category,
            variant=variant,
            true_bytes=len(true_svg.encode()),
            true_nodes=count_nodes(true_svg),
            bicubic_fidelity=ssim_rgb(np.asarray(upscaled), truth),
            tier="",
        )
        upload = None
        if stored is not None:
            upload, _ = services.store_upload(data=image, filename=f"{record.id}.{fmt.lower()}")
            assert upload.file.name is not None  # store_upload saved the file
            stored.append(upload.file.name)
        for method in methods:
            row = replace(base, tier=method)
            svg: str | None
            if method == "default":
                row, svg = _convert_default(image, fmt, row)
            elif method in fixed:
                row, svg = _convert_fixed(image, fixed[method], row)
            else:
                assert upload is not None
                row, svg = _convert_tier(upload, method, options.target_quality, row)
            if svg is not None and row.svg_bytes is not None:
                row = replace(
                    row,
                    bytes_ratio=row.svg_bytes / row.true_bytes,
                    fidelity=fidelity_of(svg, truth),
                    nodes=count_nodes(svg),
                )
            rows.append(row)
    return rows


def _convert_default(image: bytes, fmt: str, row: TierRow) -> tuple[TierRow, str]:
    """Trace with vtracer's defaults, in this process: the baseline every method is held to."""
    started = time.perf_counter()
    svg = trace_bytes(image, {}, img_format=fmt)
    return replace(
        row, time_s=time.perf_counter() - started, svg_bytes=len(svg.encode()), ok=True
    ), svg


def _convert_fixed(image: bytes, candidate: Candidate, row: TierRow) -> tuple[TierRow, str | None]:
    """Trace one fixed candidate as tier 1 traces its choice (one worker job, no proxy)."""
    started = time.perf_counter()
    decoded = decode_image(image)
    (outcome,) = services.evaluate_candidates(decoded.rgba, [candidate], proxy=False)
    row = replace(row, time_s=time.perf_counter() - started, ok=isinstance(outcome, Attempt))
    if not isinstance(outcome, Attempt):
        return replace(row, error=str(outcome)), None
    return replace(row, svg_bytes=outcome.svg_bytes, ssim=outcome.ssim), outcome.svg


def _convert_tier(
    upload: Upload, method: str, target_quality: float, row: TierRow
) -> tuple[TierRow, str | None]:
    services.analysis_cache.clear()  # time every tier from scratch
    started = time.perf_counter()
    conversion = services.convert_with_ai(
        upload=upload,
        tier="auto" if method == "auto" else int(method),
        target_quality=target_quality,
    )
    row = replace(row, time_s=time.perf_counter() - started, ok=conversion.succeeded)
    if not conversion.succeeded:
        return replace(row, error=conversion.error), None
    row = replace(
        row,
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
    return row, conversion.svg
