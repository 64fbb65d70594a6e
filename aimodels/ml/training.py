"""Training data: sweep candidates over a folder of logos and measure what each one gives.

`sweep_image` is a worker job (plain values in and out): for one image variant it extracts
features, traces vtracer's defaults (the baseline) and a sample of candidates, and measures
each: SSIM at the input's size, fidelity against the true SVG at 1024 px, bytes, paths, time.
Rows go to a gzipped JSON-lines file that `train_models` reads.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vectorizer.candidates import Candidate, candidate_space
from vectorizer.features import extract_features
from vectorizer.images import decode_image
from vectorizer.pipeline import convert_candidate
from vectorizer.quality import FIDELITY_LONG_SIDE, render_at_long_side, ssim_rgb
from vectorizer.tracing import trace_bytes


def sample_candidates(n: int, rng: np.random.Generator) -> list[Candidate]:
    """Return `n` distinct candidates drawn from the space, always including its anchors."""
    space = candidate_space()
    # One anchor per trace resolution, so every image is measured at every scale.
    anchors = [
        c
        for c in space
        if c.max_colors == 16
        and c.speckle == 4
        and c.corner_threshold == 60
        and c.length_threshold == 4.0
    ][: max(0, n // 2)]
    rest = [c for c in space if c not in anchors]
    picked = rng.choice(len(rest), size=max(0, min(n - len(anchors), len(rest))), replace=False)
    return anchors + [rest[i] for i in sorted(picked)]


def fidelity_of(svg: str, truth: np.ndarray) -> float:
    """Return SSIM between an SVG and pre-rendered truth pixels at the truth's size."""
    height, width = truth.shape[:2]
    return ssim_rgb(render_at_long_side(svg, width, height, max(width, height)), truth)


def sweep_image(
    image: bytes, true_svg: str | None, candidates: list[dict[str, Any]], meta: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return one measured row per candidate (plus the vtracer-defaults baseline in each row)."""
    decoded = decode_image(image)
    rgba = decoded.rgba
    height, width = rgba.shape[:2]
    started = time.perf_counter()
    features = extract_features(rgba)
    features_ms = (time.perf_counter() - started) * 1000
    truth = render_at_long_side(true_svg, width, height, FIDELITY_LONG_SIDE) if true_svg else None
    started = time.perf_counter()
    default_svg = trace_bytes(image, {}, img_format=decoded.format)  # vtracer as users call it
    baseline = {
        "bytes": len(default_svg.encode()),
        "time_ms": (time.perf_counter() - started) * 1000,
        "fidelity": fidelity_of(default_svg, truth) if truth is not None else None,
    }
    rows = []
    for values in candidates:
        candidate = Candidate(**values)
        try:
            result = convert_candidate(rgba, candidate, proxy=False)
        except Exception as exc:  # one bad candidate must not lose the image's other rows
            rows.append({**meta, "candidate": values, "error": str(exc)})
            continue
        rows.append(
            {
                **meta,
                "width": width,
                "height": height,
                "features": features.as_vector().tolist(),
                "features_ms": features_ms,
                "candidate": values,
                "ssim": result.ssim,
                "fidelity": fidelity_of(result.svg, truth) if truth is not None else None,
                "bytes": result.svg_bytes,
                "paths": result.path_count,
                "time_ms": result.timings["prepare"] + result.timings["trace"],
                "baseline": baseline,
            }
        )
    return rows


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as gzipped JSON lines; return how many."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    return count


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the rows of a training-set file, skipping failed measurements."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if "error" not in row and row.get("fidelity") is not None:
                yield row


def to_arrays(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return predictor inputs (N, F + C), encoded targets (N, 4) and each row's image key."""
    from aimodels.ml.predictor import encode_targets

    x = np.array(
        [
            np.concatenate(
                [
                    np.asarray(r["features"], dtype=np.float32),
                    Candidate(**r["candidate"]).encode(r["height"], r["width"]),
                ]
            )
            for r in rows
        ],
        dtype=np.float32,
    )
    y = encode_targets(
        np.array([r["ssim"] for r in rows]),
        np.array([r["fidelity"] for r in rows]),
        np.array([r["bytes"] for r in rows], dtype=np.float64),
        np.array([r["time_ms"] for r in rows], dtype=np.float64),
    )
    keys = [f"{r['id']}/{r['variant']}" for r in rows]
    return x, y, keys
