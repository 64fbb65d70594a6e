"""What a batch request holds: files and zip members read one at a time, each taken or refused.

A zip's central directory is counted header by header before zipfile reads it, members are
inflated one at a time as the caller asks for them and checked while inflating, so one request
holds one member in memory whatever it sends. Folders (`manage.py convert_folder`) come in
through the same reader.
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import struct
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from conversions.batches.refusals import Refusal, Refusals

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
