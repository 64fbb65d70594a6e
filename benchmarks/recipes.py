"""The best single fixed recipe: one candidate for every image, the tier benchmark's rival.

Chosen on the training split of a training set (build_training_set), under tier 1's trace time;
`benchmarks.tiers` traces it on the held-out images beside the tiers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vectorizer.candidates import Candidate
from vectorizer.dataset import load_manifest

# A recipe is judged on at least this many training image variants: among dozens of candidates
# each measured on a handful of images, the best-looking one is mostly the luckiest one.
RECIPE_MIN_IMAGES = 30


@dataclass(frozen=True)
class Recipe:
    """One candidate for every image, chosen on the training split of a training set."""

    candidate: Candidate
    images: int  # training image variants it was measured on
    error_removed: float  # on those, versus vtracer's defaults on the same images
    median_bytes_ratio: float  # bytes ÷ true SVG bytes, median over those
    max_median_bytes_ratio: float | None  # the cap it was chosen under (tier 1's), if any

    def as_dict(self) -> dict[str, object]:
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
