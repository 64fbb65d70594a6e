"""Are time budgets kept? AI conversions with a `time_budget`, measured while other work runs.

A budget is a promise to the client: `processing_time` (the whole conversion as recorded, from
decoding to the database) must not exceed it. This runs every (tier, budget) pair over a few
logos while a background thread keeps converting other logos through the same worker pool, the
way a busy server would, and reports how often each budget was kept.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aimodels import registry
from benchmarks.progress import Progress, quiet
from benchmarks.tiers import select_records
from conversions import services
from conversions.models import Conversion, Upload
from vectorizer.dataset import load_rgba, make_variant

TIERS: tuple[int | str, ...] = (1, 2, 3, "auto")
BUDGETS = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class BudgetRow:
    tier: str
    budget: float
    seconds: float
    tier_used: int | None
    succeeded: bool

    @property
    def kept(self) -> bool:
        return self.succeeded and self.seconds <= self.budget


def _uploads(folder: Path, limit: int, seed: int, variant: str) -> list[Upload]:
    uploads = []
    for record in select_records(folder, split="test", limit=limit, seed=seed):
        data, _ = make_variant(load_rgba(record.path), variant)
        upload, _ = services.store_upload(data=data, filename=f"{record.id}.png")
        uploads.append(upload)
    return uploads


def run(
    folder: Path,
    *,
    limit: int = 10,
    seed: int = 0,
    tiers: Sequence[int | str] = TIERS,
    budgets: Sequence[float] = BUDGETS,
    load: bool = True,
    keep: bool = False,
    progress: Progress[tuple[int | str, float, Upload]] = quiet,
) -> list[BudgetRow]:
    """Return one row per (tier, budget, logo), converted while background load runs.

    The models are loaded and the workers started first, as a server does at start: a budget
    is measured on a running service, not on its first request.
    """
    registry.ensure_loaded()
    services.worker_pool().warm_up()
    uploads = _uploads(folder, limit, seed, "alpha")
    background = _uploads(folder, 4, seed + 1, "jpeg") if load else []
    stop = threading.Event()

    def keep_busy() -> None:
        i = 0
        while not stop.is_set():
            services.convert_with_ai(upload=background[i % len(background)], tier=2)
            i += 1

    thread = threading.Thread(target=keep_busy, daemon=True) if background else None
    if thread is not None:
        thread.start()
    rows = []
    try:
        jobs = [(t, b, u) for t in tiers for b in budgets for u in uploads]
        for tier, budget, upload in progress(jobs):
            services.analysis_cache.clear()
            conversion = services.convert_with_ai(upload=upload, tier=tier, time_budget=budget)
            rows.append(
                BudgetRow(
                    tier=str(tier),
                    budget=budget,
                    seconds=(conversion.total_ms or 0.0) / 1000,
                    tier_used=conversion.tier,
                    succeeded=conversion.status == Conversion.Status.SUCCEEDED,
                )
            )
    finally:
        stop.set()
        if thread is not None:
            thread.join()
        if not keep:  # uploads are shared by content hash: only this run's records go
            ids = [u.pk for u in [*uploads, *background]]
            Conversion.objects.filter(upload_id__in=ids).delete()
            Upload.objects.filter(pk__in=ids, conversions__isnull=True).delete()
    return rows


def markdown(rows: Sequence[BudgetRow]) -> str:
    """Return a table: per tier and budget, the share kept, median and p95 seconds."""
    lines = [
        "| tier | budget | n | kept | median s | p95 s | max s |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, float], list[BudgetRow]] = {}
    for row in rows:
        groups.setdefault((row.tier, row.budget), []).append(row)
    for (tier, budget), group in groups.items():
        seconds = np.array([r.seconds for r in group])
        kept = sum(r.kept for r in group) / len(group)
        lines.append(
            f"| {tier} | {budget:g} s | {len(group)} | {kept:.0%} | {np.median(seconds):.2f} | "
            f"{np.percentile(seconds, 95):.2f} | {seconds.max():.2f} |"
        )
    total = sum(r.kept for r in rows) / max(1, len(rows))
    lines.append(f"\nAll budgets: {total:.0%} kept of {len(rows)} conversions.")
    return "\n".join(lines)
