"""Batch conversion: many images, one set of options, each image an ordinary Conversion.

A room of its own, one job per module:

- `intake`: the request's files and zip members, read one at a time, each taken or refused;
- `lifecycle`: `create_batch` stores the batch and its items, `dispatch` hands them to the
  batch's runner (`runner_for` chooses it: Celery's workers, or this process's thread pool),
  `cancel_batch` stops the queued ones;
- `runner`: `run_item` converts one item exactly once (atomic claim, retries), the `Runner`
  protocol and the local thread pool; `heartbeats` tells a dead runner from a slow one; the
  Celery task and `CeleryRunner` are in `conversions.tasks`;
- `stalls`: work that stopped shows in /health/ and is handed out again (`heal_stalls`);
- `status` and `export`: what a client sees, and the ZIP or folder of SVGs and report.csv;
- `views` and `serializers`: the HTTP API under /api/batches.

What the rest of the project calls (admin, health, the sweeper, commands) is named here.
"""

from conversions.batches.export import write_download, write_folder
from conversions.batches.intake import BatchRefused, folder_files, folder_images
from conversions.batches.lifecycle import cancel_batch, create_batch, dispatch
from conversions.batches.options import BatchOptions
from conversions.batches.runner import TransientError, run_item
from conversions.batches.stalls import find_stalls, heal_stalls, requeue
from conversions.batches.status import batch_status, counts, throughput, wait_for

__all__ = [
    "BatchOptions",
    "BatchRefused",
    "TransientError",
    "batch_status",
    "cancel_batch",
    "counts",
    "create_batch",
    "dispatch",
    "find_stalls",
    "folder_files",
    "folder_images",
    "heal_stalls",
    "requeue",
    "run_item",
    "throughput",
    "wait_for",
    "write_download",
    "write_folder",
]
