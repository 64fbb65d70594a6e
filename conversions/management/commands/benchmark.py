"""manage.py benchmark DIR --tiers default,1,2,3,auto: quality, bytes and time per tier."""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test.utils import override_settings
from PIL import Image
from tqdm import tqdm

from aimodels.ml.training import fidelity_of
from conversions import services
from vectorizer.dataset import VARIANTS, load_manifest, load_rgba, make_variant, split_of
from vectorizer.images import composite_on_white, decode_image
from vectorizer.quality import FIDELITY_LONG_SIDE, render_at_long_side, ssim_rgb
from vectorizer.render import fit_long_side
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import trace_bytes

TIER_NAMES = ("default", "1", "2", "3", "auto")


class Command(BaseCommand):
    help = (
        "Convert a folder of logos (with manifest.csv and true SVGs) with vtracer's defaults "
        "and each tier; report measured SSIM, fidelity at 1024 px, bytes and time per tier as "
        "JSON, a Markdown table and a PNG chart. Uses the test split unless --split says not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--tiers", default=",".join(TIER_NAMES))
        parser.add_argument("--limit", type=int, default=0, help="images (0 = all)")
        parser.add_argument("--split", choices=["train", "test", "all"], default="test")
        parser.add_argument("--variants", default=",".join(VARIANTS))
        parser.add_argument("--target-quality", type=float, default=DEFAULT_TARGET_QUALITY)
        parser.add_argument("--out", type=Path, default=None)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--record", action="store_true", help="keep the conversions in the database"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tiers = [t for t in options["tiers"].split(",") if t]
        unknown = set(tiers) - set(TIER_NAMES)
        if unknown:
            raise CommandError(f"unknown tiers {sorted(unknown)}; use {TIER_NAMES}")
        variants = [v for v in options["variants"].split(",") if v]
        records = [r for r in load_manifest(options["folder"]) if r.svg_path is not None]
        if options["split"] != "all":
            records = [r for r in records if split_of(r.id) == options["split"]]
        records = _spread(records, options["limit"], options["seed"])
        if not records:
            raise CommandError(f"no images with true SVGs in {options['folder']}")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        out = options["out"] or Path(settings.BASE_DIR) / "benchmarks" / "out" / stamp
        out.mkdir(parents=True, exist_ok=True)
        services.worker_pool().warm_up()
        rows: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory() as media:
            # Without --record, uploads go to a temporary folder and each image's rows are
            # rolled back: one short transaction per image never blocks a live server for long.
            context = (
                override_settings(MEDIA_ROOT=media) if not options["record"] else nullcontext()
            )
            with context:
                for record in tqdm(records, unit="image", disable=None):
                    with transaction.atomic():
                        rows.extend(self._one(record, variants, tiers, options))
                        transaction.set_rollback(not options["record"])
        summary = summarise(rows, tiers)
        (out / "results.json").write_text(
            json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n"
        )
        table = markdown(summary, tiers, len(records), variants)
        (out / "results.md").write_text(table)
        chart(summary, tiers, out / "quality_vs_bytes.png")
        self.stdout.write(table)
        self.stdout.write(self.style.SUCCESS(f"wrote {out}"))

    def _one(
        self, record: Any, variants: list[str], tiers: list[str], options: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rows = []
        rgba = load_rgba(record.path)
        true_svg = record.svg_path.read_text()
        for variant in variants:
            image, fmt = make_variant(rgba, variant)
            decoded = decode_image(image)
            height, width = decoded.height, decoded.width
            truth = render_at_long_side(true_svg, width, height, FIDELITY_LONG_SIDE)
            base = {"id": record.id, "category": record.category, "variant": variant}
            size = fit_long_side(width, height, FIDELITY_LONG_SIDE)
            upscaled = Image.fromarray(composite_on_white(decoded.rgba)).resize(
                size, Image.Resampling.BICUBIC
            )
            bicubic = ssim_rgb(np.asarray(upscaled), truth)
            upload, _ = services.store_upload(data=image, filename=f"{record.id}.{fmt.lower()}")
            for tier in tiers:
                row = {**base, "tier": tier, "bicubic_fidelity": bicubic}
                if tier != "default":
                    services.analysis_cache.clear()  # time every tier from scratch
                started = time.perf_counter()
                if tier == "default":
                    svg = trace_bytes(image, {}, img_format=fmt)
                    row["time_s"] = time.perf_counter() - started
                    row.update(svg_bytes=len(svg.encode()), ok=True)
                else:
                    conversion = services.convert_with_ai(
                        upload=upload,
                        tier="auto" if tier == "auto" else int(tier),
                        target_quality=options["target_quality"],
                    )
                    row["time_s"] = time.perf_counter() - started
                    row["ok"] = conversion.succeeded
                    if not conversion.succeeded:
                        row["error"] = conversion.error
                        rows.append(row)
                        continue
                    svg = conversion.svg
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
                row["fidelity"] = fidelity_of(svg, truth)
                rows.append(row)
        return rows


def _spread(records: list, limit: int, seed: int) -> list:
    """Return up to `limit` records taken round-robin over categories (0 = all)."""
    if limit <= 0 or limit >= len(records):
        return records
    rng = np.random.default_rng(seed)
    groups: dict[str, list] = {}
    for record in records:
        groups.setdefault(record.category, []).append(record)
    queues = [[g[i] for i in rng.permutation(len(g))] for _, g in sorted(groups.items())]
    picked: list = []
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop())
    return picked


def _error_removed(rows: list[dict], baseline: dict[tuple, dict]) -> float | None:
    pairs = [(r, baseline.get((r["id"], r["variant"]))) for r in rows if r.get("ok")]
    pairs = [(r, b) for r, b in pairs if b is not None]
    if not pairs:
        return None
    ours = np.mean([1 - r["fidelity"] for r, _ in pairs])
    theirs = np.mean([1 - b["fidelity"] for _, b in pairs])
    return float(1 - ours / theirs) if theirs > 0 else None


def summarise(rows: list[dict[str, Any]], tiers: list[str]) -> dict[str, Any]:
    """Return per-tier means, medians and percentiles, and error removed versus defaults."""
    baseline = {(r["id"], r["variant"]): r for r in rows if r["tier"] == "default"}
    summary: dict[str, Any] = {}
    for tier in tiers:
        mine = [r for r in rows if r["tier"] == tier]
        ok = [r for r in mine if r.get("ok")]
        if not ok:
            summary[tier] = {"n": len(mine), "failed": len(mine)}
            continue
        times = [r["time_s"] for r in ok]
        entry: dict[str, Any] = {
            "n": len(mine),
            "failed": len(mine) - len(ok),
            "mean_fidelity": float(np.mean([r["fidelity"] for r in ok])),
            "median_bytes": float(np.median([r["svg_bytes"] for r in ok])),
            "mean_bytes": float(np.mean([r["svg_bytes"] for r in ok])),
            "p50_time_s": float(np.percentile(times, 50)),
            "p95_time_s": float(np.percentile(times, 95)),
            "error_removed": _error_removed(ok, baseline) if tier != "default" else 0.0,
        }
        if tier != "default":
            entry["mean_ssim"] = float(np.mean([r["ssim"] for r in ok]))
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
            entry["mean_attempts"] = float(np.mean([r.get("attempts", 0) for r in ok]))
            if tier == "auto":
                used = [r["tier_used"] for r in ok]
                entry["tiers_used"] = {str(t): used.count(t) for t in sorted(set(used))}
        for key in ("category", "variant"):
            for value in sorted({r[key] for r in ok}):
                subset = [r for r in ok if r[key] == value]
                if tier != "default":
                    entry[f"error_removed_{key}_{value}"] = _error_removed(subset, baseline)
        summary[tier] = entry
    bicubic = [r for r in rows if r["tier"] == (tiers[0] if tiers else "default")]
    if bicubic and baseline:
        pseudo = [{**r, "fidelity": r["bicubic_fidelity"], "ok": True} for r in bicubic]
        summary["bicubic_upscale"] = {
            "mean_fidelity": float(np.mean([r["bicubic_fidelity"] for r in bicubic])),
            "error_removed": _error_removed(pseudo, baseline),
        }
    return summary


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def markdown(summary: dict[str, Any], tiers: list[str], images: int, variants: list[str]) -> str:
    """Return the per-tier results as a Markdown table with a short legend."""
    lines = [
        f"{images} held-out logos × {len(variants)} variants ({', '.join(variants)}); "
        "fidelity = SSIM (RGB) against the true SVG at 1024 px; error removed = share of "
        "(1 − fidelity) removed versus vtracer's defaults.",
        "",
        "| tier | n | mean fidelity | error removed | median bytes | p50 time | p95 time | "
        "mean measured SSIM |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tier in tiers:
        s = summary.get(tier, {})
        if "mean_fidelity" not in s:
            lines.append(f"| {tier} | {s.get('n', 0)} | all failed | | | | | |")
            continue
        lines.append(
            f"| {tier} | {s['n']} | {s['mean_fidelity']:.4f} | {_pct(s['error_removed'])} | "
            f"{s['median_bytes'] / 1000:.1f} KB | {s['p50_time_s']:.2f} s | "
            f"{s['p95_time_s']:.2f} s | "
            + (f"{s['mean_ssim']:.4f} |" if "mean_ssim" in s else "– |")
        )
    if "bicubic_upscale" in summary:
        b = summary["bicubic_upscale"]
        lines.append(
            f"| input upscaled bicubic (reference) | | {b['mean_fidelity']:.4f} | "
            f"{_pct(b['error_removed'])} | | | | |"
        )
    lines += ["", "Error removed by category and variant:", ""]
    keys = sorted(
        {
            k
            for t in tiers
            if t != "default"
            for k in summary.get(t, {})
            if k.startswith("error_removed_")
        }
    )
    if keys:
        header = [k.replace("error_removed_", "").replace("_", " ") for k in keys]
        lines.append("| tier | " + " | ".join(header) + " |")
        lines.append("|---|" + "---|" * len(keys))
        for tier in tiers:
            if tier == "default" or "mean_fidelity" not in summary.get(tier, {}):
                continue
            cells = [_pct(summary[tier].get(k)) for k in keys]
            lines.append(f"| {tier} | " + " | ".join(cells) + " |")
    if "auto" in summary and "tiers_used" in summary["auto"]:
        lines += ["", f"auto routed to tiers: {summary['auto']['tiers_used']}"]
    steps = []
    for tier in tiers:
        s = summary.get(tier, {})
        if "p95_predict_ms" in s:
            steps.append(
                f"tier {tier}: features p95 {s.get('p95_features_ms', 0):.0f} ms, prediction "
                f"p95 {s['p95_predict_ms']:.0f} ms, routing p95 {s.get('p95_routing_ms', 0):.0f} "
                f"ms, {s['mean_attempts']:.1f} candidates traced on average"
            )
    if steps:
        lines += ["", *steps]
    return "\n".join(lines) + "\n"


def chart(summary: dict[str, Any], tiers: list[str], path: Path) -> None:
    """Write a PNG: mean fidelity against median bytes, one point per tier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    # Tiers that land on the same point (auto often equals tier 2) share one label.
    points: dict[tuple[float, float], list[str]] = {}
    for tier in tiers:
        s = summary.get(tier, {})
        if "mean_fidelity" in s:
            key = (round(s["median_bytes"] / 1000, 1), round(s["mean_fidelity"], 4))
            label = "vtracer defaults" if tier == "default" else f"tier {tier}"
            points.setdefault(key, []).append(label)
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
    axes.set_title("svgai tiers: quality against size")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
