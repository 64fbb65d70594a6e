"""Batch conversion: many images, one set of options, each image an ordinary Conversion.

`create_batch` stores every acceptable image (members of a zip are checked one by one and
refused with a reason), `dispatch` hands each item to a Celery task when a broker is
configured, else to a local pool of threads in this process; both run `run_item`. An item
runs exactly once whatever happens to its runner: the move from queued to running is an
atomic claim, a live runner keeps a heartbeat, a redelivered item whose runner is alive waits
and one whose runner died is taken over, and the item owns at most one Conversion record.
Work that stops (a runner dead, messages lost) shows in /health/ and is handed out again by
the sweepers (`heal_stalls`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import posixpath
import socket
import stat
import struct
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversions import services
from conversions.limits import OverPixelBudget, UploadQuota, check_pixel_budget
from conversions.models import Batch, BatchItem, Conversion, Upload
from conversions.owners import Owner
from vectorizer.images import ImageError
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import TraceParams
from vectorizer.workers import WorkerBusy

logger = logging.getLogger(__name__)

# Anything that reads like an archive is refused as a member: no archives inside archives.
ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x07\x08",
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x28\xb5\x2f\xfd",  # zstd
)
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class BatchRefused(ValueError):
    """Nothing in the request can be converted; `refused` says why (first files, counts)."""

    def __init__(self, message: str, refused: Refusals | None = None) -> None:
        super().__init__(message)
        self.refused = refused or Refusals()


class TransientError(RuntimeError):
    """The database, the storage or the worker pool failed for now: retry the item later."""


# What a transient failure looks like from here; bad input is never among them.
TRANSIENT = (DatabaseError, OSError, WorkerBusy)


class Outcome(StrEnum):
    DONE = "done"  # converted; the record succeeded
    FAILED = "failed"  # converted; the record failed (or the item gave up)
    SKIPPED = "skipped"  # finished or cancelled already: nothing to do
    HELD = "held"  # another live runner holds it: look again once its heartbeat could stop


@dataclass(frozen=True)
class Refusal:
    name: str
    reason: str
    code: str  # the kind of reason, for counting: "too_many", "too_large", "quota" ...


# How many refused files a batch keeps by name; beyond them only a count by reason is kept.
REFUSALS_SHOWN = 50


@dataclass
class Refusals:
    """The files not taken: a count by reason and the first REFUSALS_SHOWN by name.

    A request may name any number of files (a zip directory of 150,000 entries); what is
    stored on the batch and answered stays this small. Iterating gives the ones kept by name,
    `len` counts them all.
    """

    shown: list[Refusal] = field(default_factory=list)
    by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, refusal: Refusal) -> None:
        """Count a refused file (and keep it by name while fewer than REFUSALS_SHOWN are)."""
        if len(self.shown) < REFUSALS_SHOWN:
            self.shown.append(refusal)
        self.by_reason[refusal.code] = self.by_reason.get(refusal.code, 0) + 1

    def __iter__(self) -> Iterator[Refusal]:
        return iter(self.shown)

    def __len__(self) -> int:
        return sum(self.by_reason.values())

    def more(self) -> str | None:
        """Return a line for the refused files not kept by name, or None if there are none."""
        hidden = len(self) - len(self.shown)
        if hidden <= 0:
            return None
        reasons = ", ".join(f"{code} {n}" for code, n in sorted(self.by_reason.items()))
        return f"{hidden} more refused (all {len(self)} by reason: {reasons})"

    def lines(self) -> list[str]:
        """Return "name: reason" for each file kept by name, then the count of the others."""
        more = self.more()
        return [f"{r.name}: {r.reason}" for r in self.shown] + ([more] if more else [])

    def answer(self) -> dict[str, Any]:
        """Return the API's fields for them: the first by name, the total, a count by reason."""
        return {
            "refused": [asdict(r) for r in self.shown],
            "refused_total": len(self),
            "refused_by_reason": self.by_reason,
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the refusals as stored on the batch."""
        return {
            "total": len(self),
            "by_reason": self.by_reason,
            "shown": [asdict(r) for r in self.shown],
        }

    @classmethod
    def from_stored(cls, stored: Any) -> Refusals:
        """Return a batch's stored refusals (a list of every refusal before summaries)."""
        if isinstance(stored, dict):
            shown = [Refusal(**r) for r in stored.get("shown", [])]
            return cls(shown, dict(stored.get("by_reason", {})))
        refusals = cls()
        for r in stored or []:
            refusals.add(Refusal(r["name"], r["reason"], r.get("code", "refused")))
        return refusals


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes


@dataclass(frozen=True)
class Limits:
    """How much one batch may hold; from settings unless a caller says otherwise."""

    max_items: int
    member_bytes: int
    total_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        """Return the limits configured in settings."""
        return cls(
            max_items=settings.SVGAI_BATCH_MAX_ITEMS,
            member_bytes=settings.SVGAI_MAX_UPLOAD_BYTES,
            total_bytes=settings.SVGAI_BATCH_MAX_UNCOMPRESSED_BYTES,
        )


@dataclass(frozen=True)
class BatchOptions:
    """How every item of a batch is converted: AI options, or explicit vtracer parameters."""

    kind: str = Conversion.Kind.AI
    tier: int | str = "auto"
    target_quality: float = DEFAULT_TARGET_QUALITY
    time_budget: float | None = None
    max_bytes: int | None = None
    params: dict[str, Any] = field(default_factory=dict)  # legacy only

    def as_dict(self) -> dict[str, Any]:
        """Return the options as stored on the batch."""
        if self.kind == Conversion.Kind.LEGACY:
            return {"params": TraceParams.from_dict(self.params).as_dict()}
        values = asdict(self)
        del values["kind"], values["params"]
        return values

    @classmethod
    def from_batch(cls, batch: Batch) -> BatchOptions:
        """Return the options a stored batch was created with."""
        if batch.kind == Conversion.Kind.LEGACY:
            return cls(kind=Conversion.Kind.LEGACY, params=batch.options.get("params", {}))
        return cls(kind=Conversion.Kind.AI, **batch.options)


# -- input: files and zip members -------------------------------------------------------------

# Characters that reorder how text is displayed: `logo\u202egnp.exe` shows as `logoexe.png`.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def safe_name(name: str) -> str | None:
    """Return `name` as a safe relative path with forward slashes, or None if it is unsafe."""
    if not name or any(ord(c) < 32 or c == "\x7f" or c in BIDI_CONTROLS for c in name):
        return None
    path = name.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):  # absolute, or C:...
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)[-255:]


def shown_name(name: str) -> str:
    """Return an unsafe name as it may be shown: control and bidi characters escaped."""
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 32 or c == "\x7f" or c in BIDI_CONTROLS else c for c in name
    )
    return escaped[:255] or "(no name)"


def is_archive(name: str, head: bytes) -> bool:
    """Return True when a member is itself an archive (by its first bytes or its suffix)."""
    return head.startswith(ARCHIVE_MAGIC) or name.lower().endswith(ARCHIVE_SUFFIXES)


def max_zip_entries(limits: Limits) -> int:
    """Return how many directory entries a zip may hold: the images, folders, macOS twins."""
    return 2 * limits.max_items + 100


# Bytes of central directory allowed per entry: names are cut to 255 characters anyway, so a
# directory much larger than this is padding that zipfile would read into memory whole.
DIRECTORY_BYTES_PER_ENTRY = 1024


@dataclass(frozen=True)
class ZipDirectory:
    entries: int  # counted no further than the caller's stop_after + 1
    size: int  # bytes, as the end record says
    intact: bool  # every header where it should be, up to where counting stopped


def zip_directory(handle: IO[bytes], *, stop_after: int) -> ZipDirectory | None:
    """Return the zip's central directory as counted header by header; None when the file
    has no end record (not a zip).

    The end record's own count can lie (a forged directory of 150,000 entries claiming 5),
    and Python's zipfile builds an object per entry of the directory the record points at, so
    this walks the same bytes zipfile will read, one 46-byte header at a time.
    """
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    tail_start = max(0, size - 65_557)
    handle.seek(tail_start)
    tail = handle.read()
    handle.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    record = tail_start + at
    (cd_size,) = struct.unpack("<I", tail[at + 12 : at + 16])
    zip64 = at - 76  # zipfile reads the zip64 record just before the locator, as here
    if (
        zip64 >= 0
        and tail[at - 20 : at - 16] == b"PK\x06\x07"
        and tail[zip64:].startswith(b"PK\x06\x06")
    ):
        (cd_size,) = struct.unpack("<Q", tail[zip64 + 40 : zip64 + 48])
        record -= 76
    handle.seek(max(0, record - cd_size))
    count = walked = 0
    intact = True
    while walked < cd_size and count <= stop_after:
        header = handle.read(46)
        if len(header) < 46 or not header.startswith(b"PK\x01\x02"):
            intact = False
            break
        count += 1
        skip = sum(struct.unpack("<HHH", header[28:34]))  # name, extra field, comment
        handle.seek(skip, os.SEEK_CUR)
        walked += 46 + skip
    handle.seek(0)
    return ZipDirectory(count, cd_size, intact)


class _Refused(Exception):
    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


@dataclass
class Intake:
    """The running count of one request's members: how many taken, how many bytes read.

    `closed`: set by whoever stores the members (the caller's quota ran out); every member
    after it is refused with this reason without being read.
    """

    limits: Limits
    taken: int = 0
    total: int = 0
    closed: tuple[str, str] | None = None  # (reason, code)

    def check(self, size: int) -> None:
        """Raise _Refused when a member of `size` bytes (declared or read) is not taken."""
        if self.closed is not None:
            raise _Refused(*self.closed)
        if self.taken >= self.limits.max_items:
            raise _Refused(
                f"too many files: a batch holds at most {self.limits.max_items} images",
                "too_many",
            )
        if size > self.limits.member_bytes:
            raise _Refused(
                f"expands to {size} bytes; the limit per image is {self.limits.member_bytes}",
                "too_large",
            )
        if self.total + size > self.limits.total_bytes:
            raise _Refused(
                f"the batch's images would pass {self.limits.total_bytes} bytes", "batch_total"
            )

    def take(self, name: str, data: bytes) -> Member:
        """Count a member in and return it."""
        self.check(len(data))
        self.taken += 1
        self.total += len(data)
        return Member(name, data)


def read_zip(handle: IO[bytes], intake: Intake) -> Iterator[Member | Refusal]:
    """Yield each file of a zip as a Member, or as a Refusal saying why it is not taken.

    Members are inflated one at a time, as the caller asks for them, so one request holds
    one member in memory whatever the zip holds. Refused: unsafe names (absolute, `..`,
    control or bidi characters), links, encrypted or damaged members, nested archives,
    members over the per-image limit (checked while inflating, not just as declared: a bomb
    lies), members past the batch's total or count. Directories are not members. A zip that
    is not a zip raises BatchRefused.
    """
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BatchRefused(f"The zip cannot be read ({exc}).") from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = safe_name(info.filename)
            if name is None:
                yield Refusal(
                    shown_name(info.filename),
                    "unsafe member name (absolute path, '..', control or bidi characters); "
                    "only plain relative names are taken",
                    "unsafe_name",
                )
                continue
            try:
                _check_member(info, name)
                intake.check(info.file_size)
                member = intake.take(name, _inflate(archive, info, intake.limits.member_bytes))
            except _Refused as exc:
                yield Refusal(name, exc.reason, exc.code)
                continue
            yield member
            del member  # the caller stored it: the next member must not sit beside it


def _check_member(info: zipfile.ZipInfo, name: str) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _Refused("a symbolic link, not a file", "link")
    if info.flag_bits & 0x1:
        raise _Refused("encrypted; send the images without a password", "encrypted")
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        raise _Refused(
            "an archive inside the archive; nested archives are not opened", "nested_archive"
        )


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Return a member's bytes, refusing it as soon as it inflates past `limit`.

    A BytesIO grows in place and hands its buffer over without a copy: one member costs its
    size once, not twice as a list of chunks joined would.
    """
    buffer = io.BytesIO()
    size = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise _Refused(
                        f"expands past {limit} bytes (the limit per image): a zip bomb?",
                        "too_large",
                    )
                if size == len(chunk) and is_archive("", chunk[:8]):
                    raise _Refused(
                        "an archive inside the archive; nested archives are not opened",
                        "nested_archive",
                    )
                buffer.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise _Refused(f"damaged member ({exc})", "damaged") from exc
    except NotImplementedError as exc:
        raise _Refused(
            f"its compression is not supported ({exc}); use deflate", "unsupported"
        ) from exc
    return buffer.getvalue()


def _check_directory(name: str, handle: IO[bytes], limits: Limits) -> None:
    """Raise BatchRefused for a zip with too many entries or a damaged or padded directory."""
    cap = max_zip_entries(limits)
    directory = zip_directory(handle, stop_after=cap)
    if directory is None:
        return  # no end record: zipfile says the zip cannot be read
    if directory.entries > cap:
        raise BatchRefused(
            f"{name} holds more than {cap} entries; a batch takes at most "
            f"{limits.max_items} images. Split it into several zips."
        )
    if not directory.intact or directory.size > cap * DIRECTORY_BYTES_PER_ENTRY:
        raise BatchRefused(
            f"The zip cannot be read ({name}'s central directory is damaged or padded); "
            "zip the images again."
        )


def read_inputs(
    files: Iterable[tuple[str, IO[bytes]]], limits: Limits, intake: Intake | None = None
) -> Iterator[Member | Refusal]:
    """Yield every image of the uploaded files (zips opened), refused ones with a reason.

    One at a time: the caller stores each member before the next is read. `intake` keeps
    the running counts across files (a new one by default).
    """
    intake = intake or Intake(limits)
    for raw_name, handle in files:
        name = (
            safe_name(raw_name) or safe_name(posixpath.basename(raw_name.replace("\\", "/")))
        ) or "upload"
        handle.seek(0)
        head = handle.read(8)
        handle.seek(0)
        if head.startswith(ZIP_MAGIC):
            _check_directory(name, handle, limits)
            yield from read_zip(handle, intake)
            continue
        try:
            if is_archive(name, head):
                raise _Refused("an archive other than zip; send a zip or images", "other_archive")
            intake.check(0)
            size = handle.seek(0, os.SEEK_END)
            if size > limits.member_bytes:  # known before reading: a file is not a bomb
                raise _Refused(f"over the limit of {limits.member_bytes} bytes", "too_large")
            handle.seek(0)
            member = intake.take(name, handle.read())
        except _Refused as exc:
            yield Refusal(name, exc.reason, exc.code)
            continue
        yield member
        del member


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


def folder_images(folder: Path, *, recursive: bool = False, limit: int | None = None) -> list[Path]:
    """Return the image files of `folder` by name, sorted (sub-folders too when recursive)."""
    pattern = "**/*" if recursive else "*"
    found = sorted(
        p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    return found[:limit] if limit else found


def folder_files(folder: Path, paths: Iterable[Path]) -> Iterator[tuple[str, IO[bytes]]]:
    """Yield (name relative to `folder`, bytes) pairs for create_batch, one file read at a time."""
    for p in paths:
        yield p.relative_to(folder).as_posix(), io.BytesIO(p.read_bytes())


# -- creating and dispatching ----------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    batch: Batch
    refused: Refusals


def create_batch(
    *,
    files: Iterable[tuple[str, IO[bytes]]],
    options: BatchOptions,
    source: str = "files",
    owner: Owner | None = None,
    quota: UploadQuota | None = None,
    limits: Limits | None = None,
    runner: str | None = None,
) -> Created:
    """Store every acceptable image and a queued batch of them; raise BatchRefused if none.

    Members are read, checked and stored one at a time, so a request holds one image in
    memory. `owner` is the owner given to the batch, its uploads
    and its conversions; `quota` is the caller's upload quota: the bytes stored count against
    it, and once the next image would pass it the rest is refused (nothing stored at all:
    QuotaExceeded). An image over the pixel budget of the batch's tier is refused like a bad
    member. `runner`: "celery" or "local"; by default Celery when a broker is set.
    """
    limits = limits or Limits.from_settings()
    owner = owner or Owner()
    intake = Intake(limits)
    refused = Refusals()
    budget_tier = "legacy" if options.kind == Conversion.Kind.LEGACY else options.tier
    stored: list[tuple[str, Upload]] = []
    stored_bytes = files_stored = 0
    quota_passed = ""
    for entry in read_inputs(files, limits, intake):
        if isinstance(entry, Refusal):
            refused.add(entry)
            continue
        name, size = entry.name, len(entry.data)
        passed = quota.refusal(stored_bytes + size, files_stored + 1) if quota else None
        if quota is not None and passed is not None:
            quota_passed = passed
            intake.closed = (
                f"your upload quota would be passed ({passed} per client in 24 h); "
                f"retry in {quota.retry_after} s",
                "quota",
            )
            refused.add(Refusal(name, *intake.closed))
            continue
        try:
            upload, _ = services.store_upload(data=entry.data, filename=name)
        except ImageError as exc:
            refused.add(Refusal(name, str(exc), "bad_image"))
            continue
        finally:
            del entry  # stored or refused: free it before the next member is inflated
        # Stored is stored: the caller owns and is charged for it even if its tier refuses it.
        if owner.known or quota:
            Upload.objects.filter(pk=upload.pk).update(
                owner=owner.user, client=owner.client, quota_key=quota.key if quota else ""
            )
        stored_bytes += size
        files_stored += 1
        try:
            check_pixel_budget(upload, budget_tier)
        except OverPixelBudget as exc:
            refused.add(Refusal(name, str(exc.detail), "pixel_budget"))
            continue
        stored.append((name, upload))
    if not stored:
        if quota is not None and quota_passed and set(refused.by_reason) == {"quota"}:
            raise quota.exceeded(quota_passed)
        detail = "; ".join(refused.lines()[:5]) or "no files were sent"
        raise BatchRefused(f"No image in the request can be converted ({detail}).", refused)
    with transaction.atomic():
        batch = Batch.objects.create(
            owner=owner.user,
            client=owner.client,
            kind=options.kind,
            options=options.as_dict(),
            item_count=len(stored),
            refused=refused.as_dict(),
            source=source[:255],
            runner=runner or ("celery" if settings.CELERY_BROKER_URL else "local"),
        )
        BatchItem.objects.bulk_create(
            BatchItem(batch=batch, position=i, name=name, upload=upload)
            for i, (name, upload) in enumerate(stored)
        )
    return Created(batch, refused)


def dispatch(batch: Batch) -> None:
    """Start the batch's queued items: Celery tasks with a broker, else the local pool."""
    ids = list(batch.items.filter(status=BatchItem.Status.QUEUED).values_list("id", flat=True))
    if batch.runner == "celery":
        from conversions import tasks  # Celery loads only where a broker is used

        try:
            tasks.enqueue(ids)
        except Exception as exc:  # kombu raises its own errors when Redis is unreachable
            logger.exception("could not queue batch %s", batch.pk)
            Batch.objects.filter(pk=batch.pk).update(
                status=Batch.Status.FAILED,
                error=f"The broker could not take the items ({exc}); retry later.",
                finished_at=timezone.now(),
            )
            BatchItem.objects.filter(batch=batch, status=BatchItem.Status.QUEUED).update(
                status=BatchItem.Status.CANCELLED, error="not queued: the broker was unreachable"
            )
            raise TransientError(f"the broker is unreachable: {exc}") from exc
        return
    local_runner.submit(ids)


def requeue(batch: Batch) -> int:
    """Hand the batch's unfinished items to a runner again (safe: a finished item is skipped).

    The admin's action: every queued item, and every running one whose runner stopped beating.
    The sweeper does the same by itself for batches that stalled (`heal_stalls`).
    """
    now = timezone.now()
    found = batch.items.filter(Q(status=BatchItem.Status.QUEUED) | _stale_running(now))
    taken = _take_for_requeue(found.values_list("id", "status", "claim", "heartbeat_at"), now)
    _hand_out(batch.runner, taken, now)
    return len(taken)


def cancel_batch(batch: Batch) -> bool:
    """Cancel the batch's queued items (running ones finish); False if it had finished."""
    now = timezone.now()
    with transaction.atomic():
        changed = Batch.objects.filter(
            pk=batch.pk, status__in=[Batch.Status.QUEUED, Batch.Status.RUNNING]
        ).update(status=Batch.Status.CANCELLED, finished_at=now)
        if changed:
            BatchItem.objects.filter(batch=batch, status=BatchItem.Status.QUEUED).update(
                status=BatchItem.Status.CANCELLED, error="cancelled", finished_at=now
            )
    batch.refresh_from_db()
    return bool(changed)


# -- running one item ------------------------------------------------------------------------


def runner_name() -> str:
    """Return who runs items here: host and process id (shown on running items)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def run_item(item_id: uuid.UUID | str, *, heartbeat: bool = True) -> Outcome:
    """Convert one batch item unless it finished or a live runner holds it; say what happened.

    Raises TransientError when the database, the storage or the pool failed: the item is
    released and the caller retries later. Bad input is never retried: it fails the item.
    """
    token = uuid.uuid4()
    item = _claim(item_id, token)
    if item is None:
        return _unclaimed(item_id)
    record = None
    try:
        with heartbeats.holding(item.pk, token, enabled=heartbeat):
            record = _record_for(item, token)
            if record is None:
                return Outcome.SKIPPED  # taken over between our claim and now
            conversion = _convert(item, record)
    except TRANSIENT as exc:
        _release(item.pk, token)
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        # Anything else is this item's problem (its image, the time limit): record it.
        logger.exception("batch item %s failed", item.pk)
        error = _describe_error(exc)
        if record is not None:
            Conversion.objects.filter(pk=record.pk).update(
                status=Conversion.Status.FAILED, error=error
            )
        return _finish(item, token, record, error, succeeded=False)
    return _finish(item, token, conversion, conversion.error, succeeded=conversion.succeeded)


def _describe_error(exc: Exception) -> str:
    if type(exc).__name__ == "SoftTimeLimitExceeded":
        limit = settings.SVGAI_BATCH_SOFT_TIME_LIMIT
        return f"the item ran past the batch time limit ({limit:g} s) and was stopped"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _record_for(item: BatchItem, token: uuid.UUID) -> Conversion | None:
    """Return the item's record, made (status running) and linked before any work.

    A retried item finds the record its earlier attempt made and fills it again, so an item
    never has two. None: another runner claimed the item meanwhile.
    """
    if item.conversion is not None:
        return item.conversion
    batch = item.batch
    with transaction.atomic():
        record = Conversion.objects.create(
            upload=item.upload,
            kind=batch.kind,
            status=Conversion.Status.RUNNING,
            requested_tier=str(batch.options.get("tier", "")),
            owner_id=batch.owner_id,
            client=batch.client,
        )
        linked = BatchItem.objects.filter(pk=item.pk, claim=token, conversion=None).update(
            conversion=record
        )
        if not linked:
            transaction.set_rollback(True)
            return None
    item.conversion = record
    return record


def _claim(item_id: uuid.UUID | str, token: uuid.UUID) -> BatchItem | None:
    """Move the item to running for this attempt, atomically; None when it is not claimable."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SVGAI_BATCH_STALE_S)
    claimable = Q(status=BatchItem.Status.QUEUED) | Q(
        status=BatchItem.Status.RUNNING, heartbeat_at__lt=stale
    )
    claimed = BatchItem.objects.filter(
        claimable, pk=item_id, attempts__lt=settings.SVGAI_BATCH_MAX_ATTEMPTS
    ).update(
        status=BatchItem.Status.RUNNING,
        claim=token,
        attempts=F("attempts") + 1,
        runner=runner_name(),
        heartbeat_at=now,
        started_at=Coalesce("started_at", now),
    )
    if not claimed:
        return None
    item = BatchItem.objects.select_related("batch", "upload", "conversion").get(pk=item_id)
    Batch.objects.filter(pk=item.batch_id, status=Batch.Status.QUEUED).update(
        status=Batch.Status.RUNNING, started_at=now
    )
    return item


def _unclaimed(item_id: uuid.UUID | str) -> Outcome:
    item = BatchItem.objects.filter(pk=item_id).first()
    if item is None or item.status in BatchItem.FINISHED:
        return Outcome.SKIPPED
    if item.attempts >= settings.SVGAI_BATCH_MAX_ATTEMPTS:
        # Every attempt's runner died mid-item (crash, out of memory, hard time limit):
        # the image itself is the likely cause, so stop handing it out.
        stale = timezone.now() - timedelta(seconds=settings.SVGAI_BATCH_STALE_S)
        gave_up = BatchItem.objects.filter(
            Q(status=BatchItem.Status.QUEUED)
            | Q(status=BatchItem.Status.RUNNING, heartbeat_at__lt=stale),
            pk=item_id,
        ).update(
            status=BatchItem.Status.FAILED,
            error=f"gave up after {item.attempts} attempts: the process converting it died "
            "each time (a crash, out of memory or the hard time limit)",
            finished_at=timezone.now(),
            claim=None,
        )
        if gave_up:
            if item.conversion_id is not None:
                Conversion.objects.filter(
                    pk=item.conversion_id, status=Conversion.Status.RUNNING
                ).update(status=Conversion.Status.FAILED, error="the process converting it died")
            finish_batch_if_done(item.batch_id)
            return Outcome.FAILED
    return Outcome.HELD


def _convert(item: BatchItem, record: Conversion) -> Conversion:
    options = BatchOptions.from_batch(item.batch)
    if options.kind == Conversion.Kind.LEGACY:
        return services.convert_image(
            upload=item.upload, params=TraceParams.from_dict(options.params), existing=record
        )
    try:
        return services.convert_with_ai(
            upload=item.upload,
            tier=options.tier,
            target_quality=options.target_quality,
            time_budget=options.time_budget,
            max_bytes=options.max_bytes,
            existing=record,
        )
    except services.ModelsUnavailable as exc:
        raise _ItemFailed(f"AI conversion is unavailable: {exc}") from exc


class _ItemFailed(Exception):
    pass


def _release(item_id: uuid.UUID, token: uuid.UUID) -> None:
    """Give the item back to the queue after a transient failure (best effort)."""
    try:
        # heartbeat_at of a queued item: when it was last handed out (here: to the retry).
        BatchItem.objects.filter(pk=item_id, claim=token).update(
            status=BatchItem.Status.QUEUED, claim=None, heartbeat_at=timezone.now()
        )
    except DatabaseError:  # the database is what failed: the heartbeat runs out instead
        logger.warning("could not release batch item %s", item_id)


def _finish(
    item: BatchItem,
    token: uuid.UUID,
    conversion: Conversion | None,
    error: str,
    *,
    succeeded: bool,
) -> Outcome:
    status = BatchItem.Status.DONE if succeeded else BatchItem.Status.FAILED
    changed = BatchItem.objects.filter(
        pk=item.pk, claim=token, status=BatchItem.Status.RUNNING
    ).update(
        status=status,
        error="" if succeeded else error[:2000],
        conversion=conversion,
        finished_at=timezone.now(),
        heartbeat_at=None,
    )
    if not changed:
        # Our heartbeat went stale and another runner took the item over: it records it.
        logger.warning("batch item %s was taken over; dropping this attempt", item.pk)
        return Outcome.SKIPPED
    finish_batch_if_done(item.batch_id)
    return Outcome.DONE if succeeded else Outcome.FAILED


def finish_batch_if_done(batch_id: uuid.UUID) -> None:
    """Mark the batch done (or failed, when no item succeeded) once no item is left to run."""
    open_items = BatchItem.objects.filter(
        batch_id=batch_id, status__in=[BatchItem.Status.QUEUED, BatchItem.Status.RUNNING]
    )
    if open_items.exists():
        return
    done = BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.DONE).exists()
    Batch.objects.filter(
        pk=batch_id, status__in=[Batch.Status.QUEUED, Batch.Status.RUNNING]
    ).update(status=Batch.Status.DONE if done else Batch.Status.FAILED, finished_at=timezone.now())


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


# -- the local pool (no broker) --------------------------------------------------------------


class LocalRunner:
    """Run items on threads of this process when no broker is configured.

    Each thread calls `run_item`, which converts in the shared worker processes, so the
    threads only wait; SVGAI_BATCH_LOCAL_CONCURRENCY of them (default: the pool's size) keep
    the workers busy. 0 runs items inline, in the caller (tests, debugging).
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._pending: set[str] = set()

    def submit(self, ids: Iterable[uuid.UUID | str]) -> None:
        """Queue the items in this process (an item queued here already is not added twice)."""
        concurrency = settings.SVGAI_BATCH_LOCAL_CONCURRENCY
        for item_id in ids:
            key = str(item_id)
            if concurrency <= 0:
                run_with_retries(key, heartbeat=False)
                continue
            with self._lock:
                if key in self._pending and self._pid == os.getpid():
                    continue
                executor = self._executor_for(concurrency)
                self._pending.add(key)
            executor.submit(self._run, key)

    def pending(self) -> set[str]:
        """Return the ids of the items waiting or running in this process."""
        with self._lock:
            return set(self._pending) if self._pid == os.getpid() else set()

    def _executor_for(self, concurrency: int) -> ThreadPoolExecutor:
        if self._executor is None or self._pid != os.getpid():
            self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="batch")
            self._pid = os.getpid()
            self._pending = set()
        return self._executor

    def _run(self, item_id: str) -> None:
        try:
            close_old_connections()  # a thread kept from an earlier item: a fresh connection
            run_with_retries(item_id, heartbeat=True)
        except Exception:
            logger.exception("batch item %s could not run", item_id)
        finally:
            with self._lock:
                self._pending.discard(item_id)
            connections.close_all()  # this thread's connections only


def run_with_retries(
    item_id: str, *, heartbeat: bool, sleep: Callable[[float], None] = time.sleep
) -> Outcome:
    """Run an item, retrying transient failures with backoff (the local pool's Celery retry)."""
    for attempt in range(RETRIES + 1):
        try:
            return run_item(item_id, heartbeat=heartbeat)
        except TransientError:
            if attempt == RETRIES:
                raise
            logger.warning("batch item %s: transient failure, retrying", item_id, exc_info=True)
            sleep(backoff(attempt))
    raise AssertionError("unreachable")


RETRIES = 5


def backoff(attempt: int) -> float:
    """Return seconds to wait before retry `attempt` (0-based): 2, 4, 8 ... up to 60."""
    return float(min(60, 2 ** (attempt + 1)))


local_runner = LocalRunner()


# -- stalls: work that stopped shows, and is handed out again ---------------------------------
#
# A running item's `heartbeat_at` is its runner's last beat; a queued item's is when it was last
# handed to a runner (None: when its batch was created). Two things stop work without anyone
# noticing: a runner that dies (its item keeps a heartbeat that no longer moves) and a message
# the broker loses (a Redis restart without persistence: its item stays queued, and nothing
# will ever run it). Handing an item out again is always safe: claims are atomic, so a
# duplicate message finds the item running, finished or claimable, never runs it twice.

OPEN_BATCH = (Batch.Status.QUEUED, Batch.Status.RUNNING)


@dataclass(frozen=True)
class Stalls:
    """Batch work that stopped: what /health/ reports and `heal_stalls` hands out again."""

    batches: list[uuid.UUID]  # open, and no item of any batch moved for SVGAI_BATCH_STALL_S
    stale_items: int  # running, and their runner stopped beating SVGAI_BATCH_STALE_S ago
    last_progress: datetime | None  # the last beat or finish of any batch item

    @property
    def stalled(self) -> bool:
        return bool(self.batches or self.stale_items)

    def describe(self) -> str:
        """Return what stopped, for /health/ and /api/ai-health."""
        parts = []
        if self.batches:
            parts.append(
                f"{len(self.batches)} batch(es) made no progress for "
                f"{settings.SVGAI_BATCH_STALL_S:g} s"
            )
        if self.stale_items:
            parts.append(
                f"{self.stale_items} running item(s) lost their runner (no heartbeat for "
                f"{settings.SVGAI_BATCH_STALE_S:g} s)"
            )
        return "; ".join(parts)


def _stale_running(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.SVGAI_BATCH_STALE_S)
    return Q(status=BatchItem.Status.RUNNING, heartbeat_at__lt=stale)


def last_progress() -> datetime | None:
    """Return when any batch item last moved: a runner's beat, an item or a batch finishing."""
    items = BatchItem.objects.filter(batch__status__in=OPEN_BATCH).aggregate(
        beat=Max("heartbeat_at", filter=Q(status=BatchItem.Status.RUNNING)),
        finished=Max("finished_at"),
    )
    finished_batch = Batch.objects.aggregate(at=Max("finished_at"))["at"]
    moments = [m for m in (items["beat"], items["finished"], finished_batch) if m is not None]
    return max(moments, default=None)


def find_stalls(now: datetime | None = None) -> Stalls:
    """Return the open batches that stopped and the running items whose runner died.

    A batch waiting behind another batch's items is not stalled: only when nothing moved
    anywhere for SVGAI_BATCH_STALL_S are the open batches older than that stalled.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SVGAI_BATCH_STALL_S)
    stale_items = (
        BatchItem.objects.filter(batch__status__in=OPEN_BATCH).filter(_stale_running(now)).count()
    )
    last = last_progress()
    stalled: list[uuid.UUID] = []
    if last is None or last < cutoff:
        stalled = list(
            Batch.objects.filter(status__in=OPEN_BATCH, created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("id", flat=True)
        )
    return Stalls(batches=stalled, stale_items=stale_items, last_progress=last)


def heal_stalls(now: datetime | None = None) -> int:
    """Hand out again the items stalled work left behind; return how many this process gave.

    Items whose runner died go back to the queue at once. Queued items of stalled batches go
    again when they were handed out before the stall began and, on Celery, when the broker's
    queue holds fewer messages than there are queued items (the messages were lost; if they
    are all there the workers are missing, which /health/ reports, and more copies would not
    help). Every process's sweeper may call this: each item is taken by one of them. A
    process hands out the items of the runner it has: the broker, or (with none) its pool.
    """
    if settings.CELERY_BROKER_URL:
        runner = "celery"
    elif settings.SVGAI_BATCH_LOCAL_CONCURRENCY > 0:
        runner = "local"
    else:
        return 0  # items run inline, in their caller: nothing here could run them
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SVGAI_BATCH_STALL_S)
    fields = ("id", "status", "claim", "heartbeat_at")
    dead = BatchItem.objects.filter(
        _stale_running(now), batch__status__in=OPEN_BATCH, batch__runner=runner
    )
    ids = _take_for_requeue(dead.values_list(*fields), now)
    stalls = find_stalls(now)
    if stalls.batches and (runner == "local" or _broker_lost_messages()):
        lost = BatchItem.objects.filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True),
            batch_id__in=stalls.batches,
            batch__runner=runner,
            status=BatchItem.Status.QUEUED,
        )
        ids += _take_for_requeue(lost.values_list(*fields), now)
    if not ids:
        return 0
    logger.warning("stalled batch work: handing %d item(s) to %s again", len(ids), runner)
    try:
        _hand_out(runner, ids, now)
    except TransientError:
        logger.warning("could not hand out stalled items; the next sweep tries again")
        return 0
    return len(ids)


def _broker_lost_messages() -> bool:
    """Return True when the broker holds fewer messages than open Celery batches have queued."""
    queued = BatchItem.objects.filter(
        batch__status__in=OPEN_BATCH, batch__runner="celery", status=BatchItem.Status.QUEUED
    ).count()
    if not queued:
        return False
    from conversions import tasks

    try:
        return tasks.queue_length() < queued
    except Exception:  # kombu and redis raise many kinds; the broker is away: try next sweep
        logger.warning("cannot read the broker's queue; stalled items wait", exc_info=True)
        return False


def _take_for_requeue(
    found: Iterable[tuple[uuid.UUID, str, uuid.UUID | None, datetime | None]], now: datetime
) -> list[uuid.UUID]:
    """Mark each item handed out again at `now`; return those this process took.

    Each update is conditional on what was read, so of several sweepers only one takes an
    item. A running item goes back to the queue: its dead runner's claim is dropped, and
    that runner, should it be alive after all, finds its claim gone and records nothing.
    """
    taken = []
    for item_id, status, claim, beat in found:
        items = BatchItem.objects.filter(pk=item_id, status=status)
        if status == BatchItem.Status.RUNNING:
            changed = items.filter(_stale_running(now), claim=claim).update(
                status=BatchItem.Status.QUEUED, claim=None, heartbeat_at=now
            )
        else:
            same = Q(heartbeat_at__isnull=True) if beat is None else Q(heartbeat_at=beat)
            changed = items.filter(same).update(heartbeat_at=now)
        if changed:
            taken.append(item_id)
    return taken


def _hand_out(runner: str, ids: list[uuid.UUID], now: datetime) -> None:
    """Give the items to their runner; if the broker is away, the next sweep tries again."""
    if not ids:
        return
    if runner != "celery":
        local_runner.submit(ids)
        return
    from conversions import tasks

    try:
        tasks.enqueue(ids)
    except Exception as exc:  # kombu raises its own errors when Redis is unreachable
        # Not handed out after all: the next sweep finds them again.
        BatchItem.objects.filter(
            pk__in=ids, status=BatchItem.Status.QUEUED, heartbeat_at=now
        ).update(heartbeat_at=None)
        raise TransientError(f"the broker is unreachable: {exc}") from exc


# -- what a client sees ----------------------------------------------------------------------


def item_result(item: BatchItem) -> dict[str, Any]:
    """Return one item's status and result for the API."""
    conversion = item.conversion
    return {
        "item_id": item.pk,
        "name": item.name,
        "status": item.status,
        "conversion_id": conversion.pk if conversion else None,
        "tier": conversion.tier if conversion else None,
        "ssim": conversion.ssim if conversion else None,
        "predicted_ssim": conversion.predicted_ssim if conversion else None,
        "bytes": conversion.svg_bytes if conversion else None,
        "time": _seconds(conversion.total_ms) if conversion else None,
        "error": item.error or None,
        "attempts": item.attempts,
        "svg_url": f"/api/conversions/{conversion.pk}/svg"
        if conversion and conversion.succeeded
        else None,
    }


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 3)


def items_with_results(batch: Batch) -> Any:
    """Return the batch's items with their records' numbers (not their SVGs)."""
    return (
        batch.items.select_related("conversion")
        .only(
            *(f.name for f in BatchItem._meta.concrete_fields),
            "conversion__id",
            "conversion__status",
            "conversion__tier",
            "conversion__ssim",
            "conversion__predicted_ssim",
            "conversion__svg_bytes",
            "conversion__total_ms",
        )
        .order_by("position")
    )


def counts(batch: Batch) -> dict[str, int]:
    """Return how many items are in each status (every status present, zeros included)."""
    found = dict(
        batch.items.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {status: found.get(status, 0) for status in BatchItem.Status.values}


def batch_status(batch: Batch, *, include_items: bool = True) -> dict[str, Any]:
    """Return the batch's status, counts, progress, times, throughput and per-item results."""
    by_status = counts(batch)
    total = batch.item_count or sum(by_status.values())
    finished = sum(by_status[s] for s in BatchItem.FINISHED)
    body: dict[str, Any] = {
        "success": True,
        "batch_id": batch.pk,
        "status": batch.status,
        "kind": batch.kind,
        "options": batch.options,
        "runner": batch.runner,
        "items_total": total,
        "counts": by_status,
        "progress": round(100.0 * finished / total, 1) if total else 100.0,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        "throughput": throughput(batch, by_status),
        **Refusals.from_stored(batch.refused).answer(),
        "error": batch.error or None,
        "status_url": f"/api/batches/{batch.pk}",
        "download_url": f"/api/batches/{batch.pk}/download",
    }
    if include_items:
        body["items"] = [item_result(item) for item in items_with_results(batch)]
    return body


def throughput(batch: Batch, by_status: dict[str, int]) -> dict[str, float | None]:
    """Return elapsed seconds since the first item started and items finished per minute."""
    if batch.started_at is None:
        return {"elapsed_s": None, "items_per_minute": None}
    end: datetime = batch.finished_at or timezone.now()
    elapsed = max((end - batch.started_at).total_seconds(), 1e-3)
    converted = by_status[BatchItem.Status.DONE] + by_status[BatchItem.Status.FAILED]
    return {
        "elapsed_s": round(elapsed, 2),
        "items_per_minute": round(converted * 60 / elapsed, 2),
    }


def resume_if_stalled(batch: Batch) -> int:
    """Requeue a local batch's items no thread of this process runs (after a restart)."""
    if batch.finished or batch.runner != "local" or settings.SVGAI_BATCH_LOCAL_CONCURRENCY <= 0:
        return 0
    stale = timezone.now() - timedelta(seconds=settings.SVGAI_BATCH_STALE_S)
    pending = local_runner.pending()
    orphans = [
        str(i)
        for i in batch.items.filter(
            Q(status=BatchItem.Status.QUEUED)
            | Q(status=BatchItem.Status.RUNNING, heartbeat_at__lt=stale)
        ).values_list("id", flat=True)
        if str(i) not in pending
    ]
    local_runner.submit(orphans)
    return len(orphans)


# -- the download ----------------------------------------------------------------------------

REPORT_FIELDS = [
    "name", "status", "tier", "measured_ssim", "predicted_ssim", "bytes", "time_s", "error",
    "svg", "conversion_id",
]  # fmt: skip


def svg_name(name: str, taken: set[str]) -> str:
    """Return the SVG's name in the download: the input's name with .svg, never repeated."""
    stem = posixpath.splitext(name)[0] or "image"
    candidate = f"{stem}.svg"
    counter = 2
    while candidate.lower() in taken:
        candidate = f"{stem}-{counter}.svg"
        counter += 1
    taken.add(candidate.lower())
    return candidate


def download_entries(batch: Batch) -> Iterator[tuple[str, str]]:
    """Yield (name, text) for each SVG of the batch (original names, .svg), then report.csv."""
    report = io.StringIO()
    writer = csv.DictWriter(report, fieldnames=REPORT_FIELDS)
    writer.writeheader()
    taken = {"report.csv"}
    items = batch.items.select_related("conversion").order_by("position")
    for item in items.iterator(chunk_size=100):
        conversion = item.conversion
        row: dict[str, object] = {
            "name": item.name,
            "status": item.status,
            "error": item.error,
            "conversion_id": conversion.pk if conversion else "",
        }
        if conversion is not None:
            row.update(
                tier=conversion.tier or "",
                measured_ssim=_fmt(conversion.ssim),
                predicted_ssim=_fmt(conversion.predicted_ssim),
                bytes=conversion.svg_bytes or "",
                time_s=_fmt(_seconds(conversion.total_ms), 3),
            )
            if item.status == BatchItem.Status.DONE and conversion.svg:
                row["svg"] = name = svg_name(item.name, taken)
                yield name, conversion.svg
        writer.writerow(csv_safe(row))
    refusals = Refusals.from_stored(batch.refused)
    for refusal in refusals:
        writer.writerow(
            csv_safe({"name": refusal.name, "status": "refused", "error": refusal.reason})
        )
    if more := refusals.more():
        writer.writerow({"name": "", "status": "refused", "error": more})
    yield "report.csv", report.getvalue()


# What a spreadsheet may read as the start of a formula (OWASP, CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(row: dict[str, object]) -> dict[str, object]:
    """Return the row with each text cell that could start a formula behind a single quote.

    Names come from the client (`=HYPERLINK(...).png`); quotes, commas and line breaks inside
    a cell are the csv module's to quote.
    """
    return {
        key: f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_LEADS) else value
        for key, value in row.items()
    }


def write_download(batch: Batch, handle: IO[bytes]) -> None:
    """Write a ZIP of the batch's SVGs (original names, .svg) and report.csv into `handle`."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in download_entries(batch):
            archive.writestr(name, text)


def write_folder(batch: Batch, folder: Path) -> list[Path]:
    """Write the batch's SVGs and report.csv under `folder`, as in the download; return them."""
    root = folder.resolve()
    written = []
    for name, text in download_entries(batch):
        target = (root / name).resolve()
        if not target.is_relative_to(root):  # names are safe already: a second fence
            raise ValueError(f"{name!r} would leave {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def wait_for(
    batch: Batch,
    *,
    on_progress: Callable[[dict[str, int]], None] | None = None,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> Batch:
    """Poll until the batch finished (or `timeout_s` passed); report counts on each change."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last: dict[str, int] | None = None
    while True:
        batch.refresh_from_db()
        by_status = counts(batch)
        if by_status != last and on_progress is not None:
            on_progress(by_status)
        last = by_status
        if batch.finished or (deadline is not None and time.monotonic() > deadline):
            return batch
        time.sleep(poll_s)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"
