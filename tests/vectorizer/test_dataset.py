import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vectorizer.dataset import (
    VARIANTS,
    LogoRecord,
    load_manifest,
    load_rgba,
    make_variant,
    split_of,
)


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


LOGOS_DEV = Path("/work/shared/datasets/logos-dev")


def _logo() -> np.ndarray:
    rgba = np.zeros((400, 512, 4), dtype=np.uint8)
    rgba[100:300, 100:400] = (200, 30, 30, 255)
    return rgba


def _write_png(path: Path) -> None:
    Image.fromarray(_logo()).save(path)


def test_split_of_follows_the_hash_rule():
    assert split_of("si-wise") in {"train", "test"}
    assert split_of("si-wise") == split_of("si-wise")
    shares = [split_of(f"logo-{i}") == "test" for i in range(2000)]
    assert 0.15 < np.mean(shares) < 0.25


def test_load_manifest_reads_the_csv(tmp_path):
    _write_png(tmp_path / "a.png")
    (tmp_path / "a.svg").write_text("<svg/>")
    _write_png(tmp_path / "b.png")
    (tmp_path / "manifest.csv").write_text(
        "id,file,source,license,category,width,height,variant\n"
        "a,a.png,src,MIT,simple,512,400,alpha\n"
        "b,b.png,src,CC0,text,512,400,alpha\n"
    )

    records = load_manifest(tmp_path)

    assert records[0] == LogoRecord(
        id="a",
        path=tmp_path / "a.png",
        svg_path=tmp_path / "a.svg",
        source="src",
        license="MIT",
        category="simple",
    )
    assert records[1].svg_path is None
    assert records[1].category == "text"


def test_load_manifest_without_csv_lists_pngs(tmp_path):
    _write_png(tmp_path / "z.png")
    _write_png(tmp_path / "y.png")

    records = load_manifest(tmp_path)

    assert [r.id for r in records] == ["y", "z"]
    assert all(r.category == "" for r in records)


def test_make_variant_alpha_keeps_transparency():
    data, fmt = make_variant(_logo(), "alpha")

    assert fmt == "PNG"
    assert np.array_equal(load_rgba(data), _logo())


def test_make_variant_jpeg_composites_over_white():
    data, fmt = make_variant(_logo(), "jpeg")
    rgba = load_rgba(data)

    assert fmt == "JPEG"
    assert Image.open(io.BytesIO(data)).format == "JPEG"
    assert rgba.shape == (400, 512, 4)
    assert (rgba[..., 3] == 255).all()
    assert (rgba[5, 5, :3] > 245).all()


def test_make_variant_small_downscales_to_256():
    data, fmt = make_variant(_logo(), "small")
    rgba = load_rgba(data)

    assert fmt == "PNG"
    assert rgba.shape == (200, 256, 4)
    assert (rgba[..., 3] == 255).all()


def test_make_variant_rejects_unknown_variants():
    with pytest.raises(ValueError, match="variant"):
        make_variant(_logo(), "webp")


def test_load_rgba_reads_paths_and_bytes(tmp_path):
    path = tmp_path / "grey.png"
    Image.new("L", (8, 4), 77).save(path)

    from_path = load_rgba(path)
    from_bytes = load_rgba(path.read_bytes())

    assert from_path.shape == (4, 8, 4)
    assert from_path.dtype == np.uint8
    assert np.array_equal(from_path, from_bytes)


def test_logos_dev_manifest_matches_its_files():
    if not LOGOS_DEV.exists():
        pytest.skip("logos-dev dataset not present")

    records = load_manifest(LOGOS_DEV)

    assert len(records) == 580
    assert {r.category for r in records} == {"simple", "text", "gradient", "complex"}
    assert all(r.path.exists() for r in records[:20])
    assert all(variant in VARIANTS for variant in ("alpha", "jpeg", "small"))
