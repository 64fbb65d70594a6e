"""Logo dataset access: manifest records, the fixed train/test split and upload-like variants."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

VARIANTS = ("alpha", "jpeg", "small")
SMALL_SIDE = 256
JPEG_QUALITY = 85


@dataclass(frozen=True)
class LogoRecord:
    id: str
    path: Path
    svg_path: Path | None
    source: str
    license: str
    category: str


def load_manifest(folder: Path) -> list[LogoRecord]:
    """Return the records of a dataset folder, from manifest.csv or else from its PNG files."""
    folder = Path(folder)
    manifest = folder / "manifest.csv"
    if not manifest.exists():
        return [
            _record(folder, png.stem, png.name, "", "", "") for png in sorted(folder.glob("*.png"))
        ]
    with manifest.open(newline="", encoding="utf-8") as handle:
        return [
            _record(
                folder,
                row["id"],
                row.get("file") or f"{row['id']}.png",
                row.get("source", ""),
                row.get("license", ""),
                row.get("category", ""),
            )
            for row in csv.DictReader(handle)
        ]


def _record(
    folder: Path, image_id: str, file: str, source: str, license: str, category: str
) -> LogoRecord:
    path = folder / file
    svg_path = path.with_suffix(".svg")
    return LogoRecord(
        id=image_id,
        path=path,
        svg_path=svg_path if svg_path.exists() else None,
        source=source,
        license=license,
        category=category,
    )


def spread(records: Sequence[LogoRecord], limit: int, seed: int = 0) -> list[LogoRecord]:
    """Return up to `limit` records (0 = all): each split in proportion, categories in turn.

    Within a split, categories are taken round-robin (sorted by name), each in a seeded random
    order, so a small sample still holds every category — the benchmark and the training set
    draw the same way.
    """
    if limit <= 0 or limit >= len(records):
        return list(records)
    rng = np.random.default_rng(seed)
    picked: list[LogoRecord] = []
    for split in ("train", "test"):
        pool = [r for r in records if split_of(r.id) == split]
        quota = round(limit * len(pool) / len(records))
        groups: dict[str, list[LogoRecord]] = {}
        for record in pool:
            groups.setdefault(record.category, []).append(record)
        queues = [[g[i] for i in rng.permutation(len(g))] for _, g in sorted(groups.items())]
        taken: list[LogoRecord] = []
        while len(taken) < quota and any(queues):
            for queue in queues:
                if queue and len(taken) < quota:
                    taken.append(queue.pop())
        picked.extend(taken)
    return picked


def split_of(image_id: str) -> str:
    """Return "test" for about one id in five (a stable hash of the id), else "train"."""
    return "test" if hashlib.sha256(image_id.encode()).digest()[0] % 5 == 0 else "train"


def load_rgba(path_or_bytes: Path | str | bytes) -> np.ndarray:
    """Return an image file or encoded bytes as a uint8 RGBA array of shape (H, W, 4)."""
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with Image.open(source) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.uint8).copy()


def make_variant(rgba: np.ndarray, variant: str) -> tuple[bytes, str]:
    """Return (encoded bytes, format name) of an RGBA image as a user might upload it."""
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; expected one of {VARIANTS}.")
    image = Image.fromarray(np.ascontiguousarray(rgba, dtype=np.uint8), mode="RGBA")
    buffer = io.BytesIO()
    if variant == "alpha":
        image.save(buffer, format="PNG")
        return buffer.getvalue(), "PNG"
    flat = Image.new("RGB", image.size, (255, 255, 255))
    flat.paste(image, mask=image.getchannel("A"))
    if variant == "jpeg":
        flat.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        return buffer.getvalue(), "JPEG"
    scale = SMALL_SIDE / max(flat.size)
    if scale < 1:
        size = (max(1, round(flat.width * scale)), max(1, round(flat.height * scale)))
        flat = flat.resize(size, Image.Resampling.LANCZOS)
    flat.save(buffer, format="PNG")
    return buffer.getvalue(), "PNG"
