"""Training data: sweep candidates over a folder of logos and measure what each one gives.

`sweep_image` is a worker job (plain values in and out): for one image variant it extracts
features, traces vtracer's defaults (the baseline) and a sample of candidates, and measures
each: SSIM at the input's size, fidelity against the true SVG at 1024 px, bytes, paths, time.
Rows go to a gzipped JSON-lines file that `train_models` reads.

`build_training_set` sweeps a dataset folder on worker processes; `fit_logo_type` and
`fit_quality_predictor` train the two models and keep their held-out split, so a new version
and the active one can be scored on the same rows (`aimodels.activation.release`). The
management commands only parse arguments, show progress and print.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import numpy as np

from aimodels.ml.inputs import LOGO_TYPE_PREFIX, image_inputs
from vectorizer.candidates import Candidate, CandidateDict, training_sample
from vectorizer.dataset import (
    VARIANTS,
    LogoRecord,
    load_manifest,
    load_rgba,
    make_variant,
    split_of,
    spread,
)
from vectorizer.features import FEATURE_NAMES, extract_features
from vectorizer.images import decode_image
from vectorizer.pipeline import convert_candidate
from vectorizer.protocols import LogoTypeModel
from vectorizer.quality import FIDELITY_LONG_SIDE, render_at_long_side, ssim_rgb
from vectorizer.tracing import trace_bytes
from vectorizer.workers import WorkerError, WorkerPool

if TYPE_CHECKING:  # torch is imported only by what trains
    from aimodels.ml.predictor import QualityPredictor

T = TypeVar("T")
# Wraps an iterable to show progress (a command passes tqdm); the default shows nothing.
Progress = Callable[[Iterable[T]], Iterable[T]]


class RowMeta(TypedDict):
    """Which image variant a training row measured."""

    id: str
    variant: str
    split: str
    category: str


class Baseline(TypedDict):
    """vtracer at its defaults on the same image variant: what a candidate is compared with."""

    bytes: int
    time_ms: float
    fidelity: float | None


class SweepRow(RowMeta, total=False):
    """One line of a training set: a candidate measured on an image variant, or its error."""

    candidate: CandidateDict  # Candidate.as_dict(): Candidate(**row["candidate"]) reads it
    error: str  # only in a failed row, which has none of the fields below
    width: int
    height: int
    features: list[float]
    features_ms: float
    ssim: float
    fidelity: float | None
    bytes: int
    paths: int
    time_ms: float
    baseline: Baseline


# sweep_image's arguments: encoded image, true SVG, candidates to trace, what the rows say of it.
SweepJob = tuple[bytes, str | None, list[CandidateDict], RowMeta]


class TrainingError(ValueError):
    """The data given cannot train or measure anything; the message says what to do."""


def _quiet(items: Iterable[T]) -> Iterable[T]:
    return items


def fidelity_of(svg: str, truth: np.ndarray) -> float:
    """Return SSIM between an SVG and pre-rendered truth pixels at the truth's size."""
    height, width = truth.shape[:2]
    return ssim_rgb(render_at_long_side(svg, width, height, max(width, height)), truth)


def sweep_image(
    image: bytes, true_svg: str | None, candidates: list[CandidateDict], meta: RowMeta
) -> list[SweepRow]:
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
    baseline: Baseline = {
        "bytes": len(default_svg.encode()),
        "time_ms": (time.perf_counter() - started) * 1000,
        "fidelity": fidelity_of(default_svg, truth) if truth is not None else None,
    }
    rows: list[SweepRow] = []
    for values in candidates:
        candidate = Candidate(**values)
        row: SweepRow = {
            "id": meta["id"],
            "variant": meta["variant"],
            "split": meta["split"],
            "category": meta["category"],
            "candidate": values,
        }
        try:
            result = convert_candidate(rgba, candidate, proxy=False)
        except Exception as exc:  # one bad candidate must not lose the image's other rows
            row["error"] = str(exc)
            rows.append(row)
            continue
        row.update(
            {
                "width": width,
                "height": height,
                "features": features.as_vector().tolist(),
                "features_ms": features_ms,
                "ssim": result.ssim,
                "fidelity": fidelity_of(result.svg, truth) if truth is not None else None,
                "bytes": result.svg_bytes,
                "paths": result.path_count,
                "time_ms": result.timings["prepare"] + result.timings["trace"],
                "baseline": baseline,
            }
        )
        rows.append(row)
    return rows


def write_rows(path: Path, rows: Iterable[SweepRow]) -> int:
    """Write rows as gzipped JSON lines; return how many."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    return count


def read_rows(path: Path) -> Iterator[SweepRow]:
    """Yield the rows of a training-set file, skipping failed measurements."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if "error" not in row and row.get("fidelity") is not None:
                yield row


def to_arrays(
    rows: list[SweepRow], logo_type: LogoTypeModel | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return predictor inputs (N, F [+ T] + C), encoded targets (N, 4) and each row's image key.

    With a logo-type classifier, its class probabilities join each image's features (the
    `image_inputs` a served predictor receives: see `image_inputs`).
    """
    from aimodels.ml.predictor import encode_targets

    x = np.array(
        [
            np.concatenate(
                [
                    image_inputs(np.asarray(r["features"], dtype=np.float32), logo_type),
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


# --- building the training set ----------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSetReport:
    """What build_training_set measured and wrote."""

    images: int
    variants: tuple[str, ...]
    candidates: int
    rows: int
    failures: list[str]
    seconds: float


def build_training_set(
    folder: Path,
    out: Path,
    *,
    limit: int = 0,
    split: str = "all",
    candidates: int = 8,
    variants: Sequence[str] = VARIANTS,
    seed: int = 0,
    workers: int = 2,
    timeout: float = 300.0,
    progress: Progress[list[SweepJob]] = _quiet,
) -> TrainingSetReport:
    """Sweep sampled candidates over a folder's logos (with true SVGs) and write measured rows.

    Seeded: the same arguments draw the same images and candidates. Each image variant is one
    job on the worker pool; a failed one is reported and the rest are written.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingError(f"{folder} is not a folder")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise TrainingError(f"unknown variants {sorted(unknown)}; use {VARIANTS}")
    records = [r for r in load_manifest(folder) if r.svg_path is not None]
    if split != "all":
        records = [r for r in records if split_of(r.id) == split]
    records = spread(records, limit, seed)
    if not records:
        raise TrainingError(f"no images with a true SVG in {folder}")
    jobs = _sweep_jobs(records, variants, candidates, np.random.default_rng(seed))
    started = time.perf_counter()
    rows, failures = _sweep(jobs, workers=workers, timeout=timeout, progress=progress)
    count = write_rows(out, rows)
    return TrainingSetReport(
        images=len(records),
        variants=tuple(variants),
        candidates=candidates,
        rows=count,
        failures=failures,
        seconds=time.perf_counter() - started,
    )


def _sweep_jobs(
    records: Sequence[LogoRecord],
    variants: Sequence[str],
    candidates: int,
    rng: np.random.Generator,
) -> list[SweepJob]:
    """Return one job per image variant: the image, its true SVG and sampled candidates."""
    jobs: list[SweepJob] = []
    for record in records:
        rgba = load_rgba(record.path)
        assert record.svg_path is not None
        true_svg = record.svg_path.read_text()
        for variant in variants:
            image, _ = make_variant(rgba, variant)
            sampled = [c.as_dict() for c in training_sample(candidates, rng)]
            meta: RowMeta = {
                "id": record.id,
                "variant": variant,
                "split": split_of(record.id),
                "category": record.category,
            }
            jobs.append((image, true_svg, sampled, meta))
    return jobs


def _sweep(
    jobs: list[SweepJob], *, workers: int, timeout: float, progress: Progress[list[SweepJob]]
) -> tuple[list[SweepRow], list[str]]:
    """Return the measured rows of the jobs run on a worker pool, and a line per failed job."""
    pool = WorkerPool(workers)
    rows: list[SweepRow] = []
    failures: list[str] = []
    try:
        batches = [jobs[i : i + workers] for i in range(0, len(jobs), workers)]
        for batch in progress(batches):
            for job, result in zip(
                batch, pool.map(sweep_image, batch, timeout=timeout), strict=True
            ):
                if isinstance(result, WorkerError):
                    failures.append(f"{job[3]['id']}/{job[3]['variant']}: {result}")
                else:
                    rows.extend(result)
    finally:
        pool.close()
    return rows, failures


# --- training the models ------------------------------------------------------------------


@dataclass
class TrainedModel:
    """A freshly trained model, its metrics, and the held-out rows it is judged on."""

    name: str
    model: Any
    metrics: dict[str, object]
    trained_on: dict[str, object]
    # Held-out scores of any version of this model on the same rows (lower regret and MAE,
    # higher accuracy are better); raises when that version cannot read the rows.
    score: Callable[[Any], dict[str, float]] = field(repr=False)


def fit_logo_type(
    folder: Path,
    *,
    seed: int = 0,
    epochs: int | None = None,
    progress: Progress[LogoRecord] = _quiet,
) -> TrainedModel:
    """Train the logo-type classifier on every variant of the train split of `folder`."""
    from aimodels.ml.classifier import DEFAULT_EPOCHS, evaluate, train_logo_type

    records = [r for r in load_manifest(folder) if r.category]
    if not records:
        raise TrainingError(f"no manifest.csv images with a category in {folder}")
    data: dict[str, dict[str, list[Any]]] = {
        "train": {"x": [], "y": [], "v": []},
        "test": {"x": [], "y": [], "v": []},
    }
    started = time.perf_counter()
    for record in progress(records):
        rgba = load_rgba(record.path)
        for variant in VARIANTS:
            image, _ = make_variant(rgba, variant)
            part = data[split_of(record.id)]
            part["x"].append(extract_features(decode_image(image).rgba).as_vector())
            part["y"].append(record.category)
            part["v"].append(variant)
    train, test = data["train"], data["test"]
    if not train["y"] or not test["y"]:
        raise TrainingError(f"{folder} needs images in both splits (about one id in five is test)")
    x_test, y_test = np.array(test["x"]), test["y"]
    model = train_logo_type(
        np.array(train["x"]), train["y"], seed=seed, epochs=epochs or DEFAULT_EPOCHS
    )
    metrics = evaluate(model, x_test, y_test)
    metrics["per_variant"] = {
        variant: evaluate(
            model,
            np.array([x for x, v in zip(test["x"], test["v"], strict=True) if v == variant]),
            [y for y, v in zip(y_test, test["v"], strict=True) if v == variant],
        )["accuracy"]
        for variant in VARIANTS
    }
    trained_on = {
        "dataset": str(folder),
        "split": "sha256(id)[0] % 5 != 0",
        "train_rows": len(train["y"]),
        "test_rows": len(y_test),
        "variants": list(VARIANTS),
        "seconds": round(time.perf_counter() - started, 1),
    }

    def score(any_model: Any) -> dict[str, float]:
        return {"accuracy": evaluate(any_model, x_test, y_test)["accuracy"]}

    return TrainedModel("logo_type", model, dict(metrics), trained_on, score)


def fit_quality_predictor(
    path: Path, *, seed: int = 0, epochs: int = 120, logo_type: LogoTypeModel | None = None
) -> TrainedModel:
    """Train the quality predictor on the train rows of a build_training_set file.

    With `logo_type` (a classifier), the predictor also sees its class probabilities.
    """
    from aimodels.ml.classifier import LOGO_TYPES
    from aimodels.ml.predictor import evaluate_predictor, train_quality_predictor

    path = Path(path)
    if not path.exists():
        raise TrainingError(f"{path} does not exist; run manage.py build_training_set first")
    started = time.perf_counter()
    rows = list(read_rows(path))
    train_rows = [r for r in rows if r["split"] == "train"]
    test_rows = [r for r in rows if r["split"] == "test"]
    if not train_rows or not test_rows:
        raise TrainingError(f"{path} needs rows from both splits")
    x, y, _ = to_arrays(train_rows, logo_type)
    image_names = [*FEATURE_NAMES]
    if logo_type is not None:
        image_names += [f"{LOGO_TYPE_PREFIX}{name}" for name in LOGO_TYPES]
    names = (
        *image_names,
        *(f"candidate_{i}" for i in range(x.shape[1] - len(image_names))),
    )
    model = train_quality_predictor(x, y, seed=seed, epochs=epochs, feature_names=names)
    x_test, y_test, keys = to_arrays(test_rows, logo_type)
    metrics: dict[str, object] = {**evaluate_predictor(model, x_test, y_test)}
    metrics["train"] = evaluate_predictor(model, x, y)
    metrics["test_images"] = len(set(keys))
    metrics.update(ranking_quality(model, test_rows, logo_type))
    trained_on = {
        "training_set": path.name,
        "train_rows": len(train_rows),
        "test_rows": len(test_rows),
        "seconds": round(time.perf_counter() - started, 1),
    }

    def score(any_model: Any) -> dict[str, float]:
        scores = {"fidelity_mae": evaluate_predictor(any_model, x_test, y_test)["fidelity_mae"]}
        regret = ranking_quality(any_model, test_rows, logo_type).get("mean_fidelity_regret")
        if regret is not None:
            scores["mean_fidelity_regret"] = regret
        return scores

    return TrainedModel("quality_predictor", model, metrics, trained_on, score)


def ranking_quality(
    model: QualityPredictor, rows: list[SweepRow], logo_type: LogoTypeModel | None = None
) -> dict[str, float]:
    """Return how often the predicted-best candidate is the truly best (or within 0.005).

    `mean_fidelity_regret` is the fidelity lost, on average over images, by taking the
    predicted-best candidate instead of the truly best one among those measured.
    """
    by_image: dict[str, list[SweepRow]] = {}
    for row in rows:
        by_image.setdefault(f"{row['id']}/{row['variant']}", []).append(row)
    hits = near = total = 0
    regret = []
    for group in by_image.values():
        if len(group) < 2:
            continue
        x, _, _ = to_arrays(group, logo_type)
        predicted = model.predict_rows(x)["fidelity"]
        truth = np.array([r["fidelity"] for r in group])
        choice = int(predicted.argmax())
        total += 1
        hits += int(choice == int(truth.argmax()))
        near += int(truth.max() - truth[choice] <= 0.005)
        regret.append(float(truth.max() - truth[choice]))
    if not total:
        return {}
    return {
        "top1_hit_rate": hits / total,
        "within_0.005_rate": near / total,
        "mean_fidelity_regret": float(np.mean(regret)),
    }
