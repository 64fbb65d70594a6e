"""Measure tier 3's vector optimiser (vectorizer/optimise.py) against the outline refinement.

Per held-out logo and variant: vtracer's defaults (the baseline of "error removed"), the
fallback recipe's trace refined as tier 2 refines it (4 Newton iterations: the optimiser's
input), the same trace refined as tier 3 refines it today (8 iterations), and tier 2's result
optimised. Fidelity is SSIM against the true SVG at 1024 px. No Django: run it as

    python -m benchmarks.optimiser --limit 15 --seconds 1.5 --out /tmp/optimiser.csv

Rows are written as they come; the summary is printed at the end.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from vectorizer import pipeline
from vectorizer.candidates import ANCHORS
from vectorizer.dataset import load_manifest, load_rgba, make_variant, split_of, spread
from vectorizer.images import decode_image
from vectorizer.optimise import optimise_svg
from vectorizer.quality import FIDELITY_LONG_SIDE, render_at_long_side, ssim_rgb
from vectorizer.refine import refine_svg
from vectorizer.tracing import trace_bytes

DATASET = Path("../shared/datasets/logos-dev")  # from the main checkout, as the README runs it
METHODS = ("default", "tier2", "refine8", "optimised")
FIELDS = ("id", "category", "variant", "method", "fidelity", "bytes", "seconds")
WORSE = 0.001
# One measured method on one image variant, as written to the CSV.
Row: TypeAlias = dict[str, Any]


def measure(
    folder: Path, limit: int, seconds: float, variants: Sequence[str], write: Callable[[Row], None]
) -> list[Row]:
    """Return (and `write` as they come) one row per held-out logo, variant and method."""
    records = [r for r in load_manifest(folder) if r.svg_path and split_of(r.id) == "test"]
    rows = []
    for record in spread(records, limit, 0):
        assert record.svg_path is not None
        true_svg = record.svg_path.read_text()
        for variant in variants:
            image, fmt = make_variant(load_rgba(record.path), variant)
            rgba = decode_image(image).rgba
            height, width = rgba.shape[:2]
            truth = render_at_long_side(true_svg, width, height, FIDELITY_LONG_SIDE)
            for method, svg, spent in _methods(image, fmt, rgba, seconds):
                ours = render_at_long_side(svg, width, height, FIDELITY_LONG_SIDE)
                row = {
                    "id": record.id,
                    "category": record.category,
                    "variant": variant,
                    "method": method,
                    "fidelity": round(ssim_rgb(ours, truth), 5),
                    "bytes": len(svg.encode()),
                    "seconds": round(spent, 3),
                }
                write(row)
                rows.append(row)
    return rows


def _methods(image: bytes, fmt: str, rgba: np.ndarray, seconds: float) -> list[tuple[Any, ...]]:
    started = time.perf_counter()
    default = trace_bytes(image, {}, img_format=fmt)
    traced = time.perf_counter()
    trace = pipeline.convert_candidate(rgba, ANCHORS[1], proxy=False).svg
    tier2, _, _ = refine_svg(trace, rgba, iterations=4)
    refined = time.perf_counter()
    refine8, _, _ = refine_svg(trace, rgba, iterations=8)
    done8 = time.perf_counter()
    optimised, _, _ = optimise_svg(tier2, rgba, seconds=seconds)
    finished = time.perf_counter()
    return [
        ("default", default, traced - started),
        ("tier2", tier2, refined - traced),
        ("refine8", refine8, done8 - refined),
        ("optimised", optimised, finished - done8),
    ]


def summary(rows: Sequence[Row]) -> str:
    """Return error removed vs the defaults, bytes, seconds and per-image changes vs tier 2."""
    by = {(r["id"], r["variant"], r["method"]): r for r in rows}
    keys = sorted({(r["id"], r["variant"]) for r in rows})

    def column(method: str, field: str) -> np.ndarray:
        return np.array([by[(*k, method)][field] for k in keys], dtype=float)

    base = 1 - column("default", "fidelity")
    tier2 = column("tier2", "fidelity")
    lines = [f"{len(keys)} logo variants"]
    for method in METHODS[1:]:
        fid, size, spent = (column(method, f) for f in ("fidelity", "bytes", "seconds"))
        removed = 1 - np.sum(1 - fid) / np.sum(base)
        lines.append(
            f"{method:>9}: fidelity {fid.mean():.4f}, error removed {removed:.1%}, "
            f"bytes median {np.median(size):.0f} mean {size.mean():.0f}, "
            f"s mean {spent.mean():.2f} max {spent.max():.2f}, vs tier2 worse "
            f"{int(np.sum(fid < tier2 - WORSE))} better {int(np.sum(fid > tier2 + WORSE))}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=DATASET)
    parser.add_argument("--limit", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--variants", default="alpha,jpeg,small")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with args.out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()

        def write(row: Row) -> None:
            writer.writerow(row)
            handle.flush()

        rows = measure(args.folder, args.limit, args.seconds, args.variants.split(","), write)
    print(summary(rows))


if __name__ == "__main__":
    main()
