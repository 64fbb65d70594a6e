"""Cost limits: the pixels a conversion may trace, the bytes a client may store, a busy pool.

Each limit answers at once with a message that says what to do, before any work is spent.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.request import Request

from conversions import metrics
from conversions.models import Upload
from conversions.permissions import quota_key
from vectorizer.workers import WorkerBusy

QUOTA_WINDOW = timedelta(hours=24)


class RetryLater(exceptions.APIException):
    """A refusal that says when to ask again: DRF's handler turns `wait` into Retry-After."""

    def __init__(self, detail: str, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait


class ServerBusy(RetryLater):
    """503 with Retry-After: every conversion worker is busy and the queue is full."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "busy"

    def __init__(self, busy: WorkerBusy) -> None:
        super().__init__(
            f"The server is busy: {busy}. Retry after {busy.retry_after} s (see Retry-After).",
            busy.retry_after,
        )


class OverPixelBudget(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "over_pixel_budget"


class TooManyAtOnce(RetryLater):
    """429 with Retry-After: this anonymous caller already has its conversions running."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "too_many_at_once"


class QuotaExceeded(RetryLater):
    """429 with Retry-After: the caller has stored its upload quota for the next 24 h."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "quota_exceeded"


def pixel_budget(tier: int | str) -> int:
    """Return the most pixels a conversion of this tier may trace ("legacy", 1–3 or "auto").

    "auto" may route to any AI tier, so it takes the strictest of their budgets.
    """
    budgets = settings.SVGAI_PIXEL_BUDGETS
    if str(tier) == "auto":
        return min(budgets["1"], budgets["2"], budgets["3"])
    return budgets[str(tier)]


def check_pixel_budget(upload: Upload, tier: int | str) -> None:
    """Raise OverPixelBudget when the image has more pixels than this tier may trace."""
    budget = pixel_budget(tier)
    pixels = upload.width * upload.height
    if pixels <= budget:
        return
    metrics.rejected("pixel_budget")
    scale = math.sqrt(budget / pixels)
    fit = f"{max(1, int(upload.width * scale))}×{max(1, int(upload.height * scale))}"
    label = "the legacy converter" if str(tier) == "legacy" else f"tier {tier}"
    cheaper = {
        k for k in ("1", "2", "3") if settings.SVGAI_PIXEL_BUDGETS[k] >= pixels and k != str(tier)
    }
    hint = f" or choose tier {'/'.join(sorted(cheaper))}" if cheaper else ""
    raise OverPixelBudget(
        f"The image is {upload.width}×{upload.height} = {pixels / 1e6:.1f} megapixels; "
        f"{label} converts at most {budget / 1e6:.1f} MP. Upload it downscaled to at most "
        f"{fit}{hint}."
    )


@dataclass(frozen=True)
class UploadQuota:
    """What a caller may still store in the quota window (None: that part has no limit).

    A batch checks it member by member against the bytes it actually stores (inflated zip
    members, decoded images), not the bytes sent: a small zip can hold a lot.
    """

    key: str
    bytes_left: int | None
    files_left: int | None
    retry_after: int

    def refusal(self, size: int, files: int = 1) -> str | None:
        """Return which limit `files` more files of `size` bytes in all pass, or None."""
        if self.bytes_left is not None and size > self.bytes_left:
            return f"at most {settings.SVGAI_UPLOAD_QUOTA_BYTES / 2**20:.0f} MB"
        if self.files_left is not None and files > self.files_left:
            return f"at most {settings.SVGAI_UPLOAD_QUOTA_FILES} files"
        return None

    def exceeded(self, what: str) -> QuotaExceeded:
        """Return the 429 for a request the quota (`what` it allows) refuses, counted."""
        metrics.rejected("upload_quota")
        return QuotaExceeded(
            f"Upload quota reached: {what} per client in 24 h. Reuse a file_id you already "
            f"have, or retry in {self.retry_after} s.",
            self.retry_after,
        )


def upload_quota(request: Request) -> UploadQuota:
    """Return what the caller may still store within its upload quota."""
    key = quota_key(request)
    limit_bytes = settings.SVGAI_UPLOAD_QUOTA_BYTES
    limit_files = settings.SVGAI_UPLOAD_QUOTA_FILES
    if not limit_bytes and not limit_files:
        return UploadQuota(key, None, None, 0)
    since = timezone.now() - QUOTA_WINDOW
    used = Upload.objects.filter(quota_key=key, created_at__gte=since).aggregate(
        bytes=Sum("size_bytes"), files=Count("pk"), oldest=Min("created_at")
    )
    oldest = used["oldest"] or timezone.now()
    wait = max(1, int((oldest + QUOTA_WINDOW - timezone.now()).total_seconds()) + 1)
    return UploadQuota(
        key,
        bytes_left=limit_bytes - (used["bytes"] or 0) if limit_bytes else None,
        files_left=limit_files - used["files"] if limit_files else None,
        retry_after=wait,
    )


def check_upload_quota(request: Request, size: int) -> str:
    """Return the caller's quota key; raise QuotaExceeded when `size` more bytes break its quota."""
    quota = upload_quota(request)
    what = quota.refusal(size)
    if what is not None:
        raise quota.exceeded(what)
    return quota.key


# Conversions each anonymous address runs now, in this process (a web process serves its own
# requests; with several, each counts its own).
_running: Counter[str] = Counter()
_running_lock = threading.Lock()


def is_anonymous(request: Request) -> bool:
    """Return whether the caller has no user: anonymous limits apply."""
    return not (request.user and request.user.is_authenticated)


@contextmanager
def conversion_slot(request: Request) -> Iterator[None]:
    """Hold one of an anonymous address's SVGAI_ANON_MAX_CONCURRENT conversions while it runs.

    A caller without a user is known only by its address, so one address cannot hold every
    worker at once (a cookie is free to drop); past the limit it gets TooManyAtOnce.
    """
    limit = settings.SVGAI_ANON_MAX_CONCURRENT
    if not limit or not is_anonymous(request):
        yield
        return
    key = quota_key(request)
    with _running_lock:
        if _running[key] >= limit:
            metrics.rejected("anon_concurrency")
            from conversions import services

            wait = services.worker_pool().retry_after()
            raise TooManyAtOnce(
                f"Too many conversions at once: an anonymous caller may run {limit} at a time "
                f"and this address has {_running[key]} running. Wait for one to finish (retry "
                f"in {wait} s), or sign in with a token.",
                wait,
            )
        _running[key] += 1
    try:
        yield
    finally:
        with _running_lock:
            _running[key] -= 1
            if _running[key] <= 0:
                del _running[key]


def convert_timeout(request: Request) -> float:
    """Return the longest one trace of this caller may run, in seconds.

    A caller known only by its address gets at most SVGAI_ANON_CONVERT_TIMEOUT, not the full
    SVGAI_CONVERT_TIMEOUT of a user with a token: a worker it holds is held from everyone.
    """
    timeout = settings.SVGAI_CONVERT_TIMEOUT
    if is_anonymous(request) and settings.SVGAI_ANON_CONVERT_TIMEOUT:
        return min(timeout, settings.SVGAI_ANON_CONVERT_TIMEOUT)
    return timeout
