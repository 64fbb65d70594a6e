"""Batch throughput: logos per minute on the local pool and on 1, 2 ... Celery worker processes.

Each run converts the same logos as one batch, timed from the first item's start to the last
item's end (worker start-up excluded), and checked: every item finished once, one record each.
`manage.py benchmark_batch` prints the table; the README quotes it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count

from conversions import batches
from conversions.models import Batch, BatchItem, Conversion

ROOT = Path(__file__).resolve().parents[1]


class CeleryWorker:
    """One `celery -A svgai_site worker` process tree in its own session, logging to a file.

    The environment names the database, the media folder and the broker this process uses,
    so a worker sees what this process stores; SVGAI_WORKERS=1: one conversion process each.
    """

    def __init__(self, log_dir: Path, *, concurrency: int = 1, **env: str) -> None:
        self.name = f"svgai-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        self.log = log_dir / f"{self.name.split('@')[0]}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "SVGAI_WORKERS": "1",
            **env,
        }
        command = [sys.executable, "-m", "celery", "-A", "svgai_site", "worker",
                   "--concurrency", str(concurrency), "--pool", "prefork", "-n", self.name,
                   "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Return once the worker answers a ping; raise with its log if it never does."""
        from conversions import tasks

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited ({self.process.returncode}):\n{self.tail()}")
            with tasks.app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
                replies = tasks.app.control.ping(
                    destination=[self.name], timeout=1.0, connection=conn
                )
            if replies:
                return
        raise RuntimeError(f"worker {self.name} did not answer in {timeout:g} s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL the whole worker: main process, pool children, conversion processes."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the worker (warm shutdown), killing it if it lingers."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        """Return the end of the worker's log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def database_url() -> str:
    """Return a URL for the database this process uses (the test database under pytest)."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("worker processes need PostgreSQL: set DATABASE_URL")
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@dataclass(frozen=True)
class Run:
    """One batch's figures."""

    label: str
    batch_id: str
    processes: int  # worker processes (or local pool threads), one conversion process each
    items: int
    done: int
    failed: int
    wall_s: float  # first item's start to last item's end
    logos_per_min: float
    convert_s: float  # mean conversion time (the record's total_ms)
    overhead_ms: float  # per item: wall × processes / items − mean conversion time
    records: int  # Conversion records of the batch's items
    duplicates: int  # uploads with more than one record
    stuck: int  # items not finished
    load: float  # the machine's 1-minute load average at the end (2 cores: above 2 is shared)
    submit_ms: float  # per item: validating, storing and queueing (the web side's work)

    @property
    def exactly_once(self) -> bool:
        return self.records == self.items and self.stuck == 0 and self.duplicates == 0


def measure(batch: Batch, label: str, processes: int, *, submit_s: float = 0.0) -> Run:
    """Return the figures of a finished batch (`submit_s`: the time create and dispatch took)."""
    batch.refresh_from_db()
    counts = batches.counts(batch)
    items = batch.item_count
    if batch.started_at is None or batch.finished_at is None:
        raise RuntimeError(f"batch {batch.pk} did not finish: {counts}")
    wall = max((batch.finished_at - batch.started_at).total_seconds(), 1e-3)
    times = [
        ms
        for ms in Conversion.objects.filter(batch_item__batch=batch).values_list(
            "total_ms", flat=True
        )
        if ms is not None
    ]
    convert_s = mean(times) / 1000 if times else 0.0
    records = Conversion.objects.filter(upload__batch_items__batch=batch).count()
    return Run(
        label=label,
        batch_id=str(batch.pk),
        processes=processes,
        items=items,
        done=counts[BatchItem.Status.DONE],
        failed=counts[BatchItem.Status.FAILED],
        wall_s=round(wall, 2),
        logos_per_min=round(items * 60 / wall, 1),
        convert_s=round(convert_s, 3),
        overhead_ms=round((wall * processes / items - convert_s) * 1000, 1),
        records=records,
        duplicates=duplicates(batch),
        stuck=counts[BatchItem.Status.QUEUED] + counts[BatchItem.Status.RUNNING],
        load=round(os.getloadavg()[0], 1),
        submit_ms=round(submit_s * 1000 / max(items, 1), 1),
    )


def run_batch(
    files: list[Path],
    folder: Path,
    options: batches.BatchOptions,
    *,
    runner: str,
    on_progress: Callable[[dict[str, int]], None] | None = None,
    timeout_s: float = 3600,
) -> tuple[Batch, float]:
    """Create a batch of `files`, dispatch it on `runner`, wait until it finished.

    Return the batch and the seconds creating and dispatching it took.
    """
    started = time.perf_counter()
    created = batches.create_batch(
        files=batches.folder_files(folder, files), options=options, runner=runner
    )
    batches.dispatch(created.batch)
    submit_s = time.perf_counter() - started
    batch = batches.wait_for(created.batch, on_progress=on_progress, timeout_s=timeout_s)
    return batch, submit_s


def local_run(files: list[Path], folder: Path, options: batches.BatchOptions, **kwargs: Any) -> Run:
    """Run the batch on this process's local pool: 1 thread, 1 conversion process."""
    settings.SVGAI_BATCH_LOCAL_CONCURRENCY = 1
    batch, submit_s = run_batch(files, folder, options, runner="local", **kwargs)
    return measure(batch, "local pool (no broker)", 1, submit_s=submit_s)


def celery_run(
    files: list[Path],
    folder: Path,
    options: batches.BatchOptions,
    *,
    processes: int,
    log_dir: Path,
    label: str = "",
    **kwargs: Any,
) -> Run:
    """Start `processes` Celery workers (one process each), run the batch, stop them."""
    workers = [CeleryWorker(log_dir, concurrency=1) for _ in range(processes)]
    try:
        for worker in workers:
            worker.wait_ready()
        batch, submit_s = run_batch(files, folder, options, runner="celery", **kwargs)
    finally:
        for worker in workers:
            worker.stop()
    label = label or f"Celery, {processes} worker process(es)"
    return measure(batch, label, processes, submit_s=submit_s)


def duplicates(batch: Batch) -> int:
    """Return how many of the batch's uploads have more than one record (should be 0)."""
    return (
        Conversion.objects.filter(upload__batch_items__batch=batch)
        .values("upload")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


def spread(paths: list[Path], count: int, *, offset: int = 0) -> list[Path]:
    """Return `count` paths spread evenly over the sorted list (categories sort together)."""
    if count >= len(paths):
        return paths[:count]
    step = len(paths) / count
    return [paths[int(offset + i * step) % len(paths)] for i in range(count)]


def log_folder() -> Path:
    """Return a folder for the workers' logs."""
    return Path(tempfile.mkdtemp(prefix="svgai-benchmark-batch-"))


def table(runs: list[Run]) -> str:
    """Return the runs as a Markdown table."""
    lines = [
        "| run | processes | logos | done | failed | wall (s) | logos/min | conversion (s) "
        "| overhead/item (ms) | records | exactly once | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.label} | {r.processes} | {r.items} | {r.done} | {r.failed} | {r.wall_s} "
            f"| {r.logos_per_min} | {r.convert_s} | {r.overhead_ms} | {r.records} "
            f"| {'yes' if r.exactly_once else 'NO'} | {r.load} |"
        )
    return "\n".join(lines)


def findings(runs: list[Run]) -> list[str]:
    """Return what the runs say beside the table: scaling, submitting, the broker's overhead."""
    local = next((r for r in runs if r.label.startswith("local")), None)
    one = next((r for r in runs if r.label == "Celery, 1 worker process(es)"), None)
    two = next((r for r in runs if r.label == "Celery, 2 worker process(es)"), None)
    lines = []
    if one and two:
        lines.append(
            f"1 → 2 worker processes: {two.logos_per_min / one.logos_per_min:.2f}× "
            "logos per minute."
        )
    submit = sum(r.submit_ms * r.items for r in runs) / sum(r.items for r in runs)
    lines.append(f"Submitting: {submit:.1f} ms per logo (validate, store, queue).")
    if local and one:
        lines.append(
            "Broker overhead per item against the local pool: "
            f"{one.overhead_ms - local.overhead_ms:+.1f} ms ({one.overhead_ms} vs "
            f"{local.overhead_ms} ms of wall time per item beyond the conversion itself)."
        )
    return lines


def as_dict(run: Run) -> dict[str, object]:
    """Return a run as JSON-ready values."""
    return {**asdict(run), "exactly_once": run.exactly_once}
