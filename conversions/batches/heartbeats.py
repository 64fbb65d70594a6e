"""The heartbeat of the items this process runs: how a dead runner is told from a slow one."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from conversions.models import BatchItem

logger = logging.getLogger(__name__)


class Heartbeats:
    """One thread per process refreshing `heartbeat_at` of the items this process holds.

    A runner that dies (killed, machine lost) stops beating; after SVGAI_BATCH_STALE_S another
    runner may claim its item. Conversions run in worker processes, so this thread gets the
    GIL even while vtracer runs.
    """

    def __init__(self) -> None:
        self._held: dict[uuid.UUID, uuid.UUID] = {}
        self._lock = threading.Lock()
        self._pid = 0

    @contextlib.contextmanager
    def holding(self, item_id: uuid.UUID, token: uuid.UUID, *, enabled: bool) -> Iterator[None]:
        """Beat for this item while the block runs."""
        if not enabled:
            yield
            return
        with self._lock:
            self._held[item_id] = token
            if self._pid != os.getpid():  # first use, or a forked child: start our own thread
                self._pid = os.getpid()
                threading.Thread(target=self._loop, name="batch-heartbeat", daemon=True).start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(item_id, None)

    def _loop(self) -> None:
        while True:
            time.sleep(settings.SVGAI_BATCH_HEARTBEAT_S)
            with self._lock:
                held = list(self._held.items())
            if not held:
                continue
            try:
                now = timezone.now()
                for item_id, token in held:
                    BatchItem.objects.filter(pk=item_id, claim=token).update(heartbeat_at=now)
            except DatabaseError:
                logger.warning("batch heartbeat failed", exc_info=True)
            finally:
                connections.close_all()  # this thread's only: no idle connection left open


heartbeats = Heartbeats()
