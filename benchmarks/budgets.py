"""Are time budgets kept? AI conversions with a `time_budget`, measured while other work runs.

A budget is a promise to the client: `processing_time` (the whole conversion as recorded, from
decoding to the database) must not exceed it. This runs every (tier, budget) pair over a few
logos while `CLIENTS` other clients (threads of this process, as a web server's) keep converting
other logos through the same worker pool, the way issue 19's goal is stated, and reports how
often each budget was kept and, for the budgets missed, where their time went.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aimodels import registry
from benchmarks.progress import Progress, quiet
from benchmarks.tiers import select_records
from conversions import services
from conversions.models import Conversion, Upload
from vectorizer import rescue
from vectorizer.dataset import load_rgba, make_variant
from vectorizer.workers import WorkerBusy

TIERS: tuple[int | str, ...] = (1, 2, 3, "auto")
BUDGETS = (0.5, 1.0, 2.0)
# Issue 19's goal: budgets kept "while two other clients convert at the same time".
CLIENTS = 2


@dataclass(frozen=True)
class BudgetRow:
    tier: str
    budget: float
    seconds: float
    tier_used: int | None
    succeeded: bool
    rescued: bool = False
    # The record's stage timings (ms): decode, features, predict, search, rescue, ...
    stages: tuple[tuple[str, float], ...] = ()

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
    clients: int = CLIENTS,
    keep: bool = False,
    progress: Progress[tuple[int | str, float, Upload]] = quiet,
) -> list[BudgetRow]:
    """Return one row per (tier, budget, logo), converted while `clients` others convert.

    The models are loaded and the workers started first, as a server does at start: a budget
    is measured on a running service, not on its first request.
    """
    registry.ensure_loaded()
    services.worker_pool().warm_up()
    rescue.rescue_pool().warm_up()
    uploads = _uploads(folder, limit, seed, "alpha")
    background = _uploads(folder, 4, seed + 1, "jpeg") if clients else []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_client, args=(background[i:] + background[:i], stop), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    rows = []
    try:
        jobs = [(t, b, u) for t in tiers for b in budgets for u in uploads]
        for tier, budget, upload in progress(jobs):
            services.analysis_cache.clear()
            rows.append(_measure(upload, tier, budget))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        if not keep:  # uploads are shared by content hash: only this run's records go
            ids = [u.pk for u in [*uploads, *background]]
            Conversion.objects.filter(upload_id__in=ids).delete()
            Upload.objects.filter(pk__in=ids, conversions__isnull=True).delete()
    return rows


def _client(uploads: list[Upload], stop: threading.Event) -> None:
    """Convert `uploads` round and round at tier 2 without a budget, until `stop`: one client."""
    i = 0
    while not stop.is_set():
        try:
            services.convert_with_ai(upload=uploads[i % len(uploads)], tier=2)
        except WorkerBusy:  # refused as a server would answer 503: the client retries
            time.sleep(0.1)
        i += 1


def _measure(upload: Upload, tier: int | str, budget: float) -> BudgetRow:
    """Return the row of one conversion with a budget; a refusal (503) is a budget not kept."""
    try:
        conversion = services.convert_with_ai(upload=upload, tier=tier, time_budget=budget)
    except WorkerBusy:
        return BudgetRow(str(tier), budget, float("nan"), None, succeeded=False)
    timings = conversion.timings or {}
    return BudgetRow(
        tier=str(tier),
        budget=budget,
        seconds=(conversion.total_ms or 0.0) / 1000,
        tier_used=conversion.tier,
        succeeded=conversion.status == Conversion.Status.SUCCEEDED,
        rescued=bool((conversion.routing or {}).get("rescued")),
        stages=tuple((k, round(float(v), 1)) for k, v in timings.items() if k in STAGES),
    )


# The stages of a conversion's timings the report breaks a missed budget into.
STAGES = (
    "decode",
    "features",
    "classify",
    "predict",
    "routing",
    "search",
    "rescue",
    "best_trace",
    "best_measure",
    "design",
)


def markdown(rows: Sequence[BudgetRow]) -> str:
    """Return a table: per tier and budget, the share kept, median and p95 seconds, rescues;
    then, for each budget missed, where its time went."""
    lines = [
        "| tier | budget | n | kept | median s | p95 s | max s | rescued |",
        "|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, float], list[BudgetRow]] = {}
    for row in rows:
        groups.setdefault((row.tier, row.budget), []).append(row)
    for (tier, budget), group in groups.items():
        seconds = np.array([r.seconds for r in group])
        kept, rescued = sum(r.kept for r in group), sum(r.rescued for r in group)
        lines.append(
            f"| {tier} | {budget:g} s | {len(group)} | {kept / len(group):.0%} | "
            f"{np.nanmedian(seconds):.2f} | {np.nanpercentile(seconds, 95):.2f} | "
            f"{np.nanmax(seconds):.2f} | {rescued} |"
        )
    total = sum(r.kept for r in rows)
    lines.append(
        f"\nAll budgets: {total}/{len(rows)} ({total / max(1, len(rows)):.0%}) kept; "
        f"0.5 s: {_share(rows, 0.5)}."
    )
    missed = [r for r in rows if not r.kept]
    if missed:
        lines.append("\nMissed (stage ms):")
        lines.extend(
            f"- tier {r.tier}, {r.budget:g} s: {r.seconds:.2f} s"
            f"{' (rescued)' if r.rescued else ''}{'' if r.succeeded else ' (failed)'}; "
            + ", ".join(f"{k} {v:.0f}" for k, v in r.stages)
            for r in missed
        )
    return "\n".join(lines)


def _share(rows: Sequence[BudgetRow], budget: float) -> str:
    """Return "kept/n" of the rows with `budget`."""
    group = [r for r in rows if r.budget == budget]
    return f"{sum(r.kept for r in group)}/{len(group)}"
