"""Where tier 1's trace time goes: its one candidate traced in this process, image by image.

For each held-out image variant (as `manage.py benchmark` builds them) tier 1's pick is found
once (features, the predictor's plan, `tiers.first_batch`), then `pipeline.convert_candidate`
is run as tier 1's worker runs it (no proxy) and timed, optionally under cProfile. The SVGs are
written to a folder, so a change to the trace path can be checked byte for byte against the
run before it:

    python -m benchmarks.speed_profile /work/shared/datasets/logos-dev --out /tmp/before
    python -m benchmarks.speed_profile /work/shared/datasets/logos-dev --out /tmp/after \
        --compare /tmp/before --profile 5

Times are of one process on whatever else the machine runs: compare runs made alike.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import time
from pathlib import Path
from typing import TYPE_CHECKING

import django
import numpy as np

if TYPE_CHECKING:
    from vectorizer.candidates import Candidate


def _setup() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svgai_site.settings")
    django.setup()


def tier1_jobs(folder: Path, limit: int, seed: int) -> list[tuple[str, np.ndarray, Candidate]]:
    """Return (name, rgba, tier 1's candidate) per held-out image variant."""
    from aimodels import registry
    from aimodels.analysis import analyse
    from benchmarks.tiers import select_records
    from vectorizer.dataset import VARIANTS, load_rgba, make_variant
    from vectorizer.images import decode_image
    from vectorizer.tiers import first_batch

    predictor = registry.quality_predictor()
    assert predictor is not None, "the quality predictor is not loaded"
    jobs: list[tuple[str, np.ndarray, Candidate]] = []
    for record in select_records(folder, split="test", limit=limit, seed=seed):
        for variant in VARIANTS:
            data, _ = make_variant(load_rgba(record.path), variant)
            rgba = decode_image(data).rgba
            digest = hashlib.sha256(data).hexdigest()
            analysis = analyse(rgba, digest, predictor, {})
            (candidate,) = first_batch(1, analysis.plan)
            jobs.append((f"{record.id}.{variant}", rgba, candidate))
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=14)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="traces per image (min is kept)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the SVGs")
    parser.add_argument("--compare", type=Path, help="folder of an earlier run's SVGs")
    parser.add_argument("--profile", type=int, default=0, help="profile the N slowest images")
    args = parser.parse_args()
    _setup()
    from vectorizer.pipeline import convert_candidate

    args.out.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    jobs = tier1_jobs(args.folder, args.limit, args.seed)
    for name, rgba, candidate in jobs:
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = convert_candidate(rgba, candidate, proxy=False)
            best = min(best, time.perf_counter() - started)
        times[name] = best
        (args.out / f"{name}.svg").write_text(result.svg)
    _report(times, args.out, args.compare)
    slowest = sorted(jobs, key=lambda job: -times[job[0]])[: args.profile]
    for name, rgba, candidate in slowest:
        profile = cProfile.Profile()
        profile.runcall(convert_candidate, rgba, candidate, proxy=False)
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(25)
        print(f"--- {name}: {candidate}\n{text.getvalue()}")


def _report(times: dict[str, float], out: Path, compare: Path | None) -> None:
    values = np.array(list(times.values()))
    print(
        f"{len(values)} images: p50 {np.percentile(values, 50):.3f} s, "
        f"p95 {np.percentile(values, 95):.3f} s, total {values.sum():.2f} s"
    )
    for name in sorted(times, key=lambda n: -times[n])[:8]:
        print(f"  {times[name]:.3f} s  {name}")
    if compare is not None:
        differ = [
            name
            for name in times
            if (out / f"{name}.svg").read_bytes() != (compare / f"{name}.svg").read_bytes()
        ]
        print(f"{len(times) - len(differ)} of {len(times)} SVGs byte-identical to {compare}")
        for name in differ:
            print(f"  differs: {name}")


if __name__ == "__main__":
    main()
