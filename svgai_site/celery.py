"""The Celery application: batch items run as tasks when CELERY_BROKER_URL is set.

`celery -A svgai_site worker` (`make worker`) starts it. The worker loads Django and the models
(`worker_init`, below) once, before forking its children, which share them.
Without a broker nothing here is used: batches run on the local pool (`conversions.batches`).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svgai_site.settings")

app = Celery("svgai_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _load_models(**kwargs: Any) -> None:
    # Before the pool forks: children share the weights, and the first item is not the slow one.
    from aimodels import registry

    registry.ensure_loaded()


@worker_ready.connect
def _start_sweeper(**kwargs: Any) -> None:
    # A deployment may run workers and no web process for hours (or the web on another host):
    # each worker sweeps too, so lost and orphaned items come back with nobody watching.
    from conversions import recovery

    recovery.start_sweeper()


@worker_process_init.connect
def _one_torch_thread(**kwargs: Any) -> None:
    # Each worker process converts one item at a time; parallelism comes from more processes,
    # and torch's default thread per core would only make them fight over the same cores.
    import torch

    torch.set_num_threads(1)
