"""decode_image: every odd input becomes RGBA or an ImageError that says what is wrong."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from vectorizer.images import (
    ImageError,
    composite_on_white,
    decode_image,
    encode_png,
    probe_image,
)


def test_decode_image_reads_one_pixel_png(edge_image):
    image = decode_image(edge_image("1x1.png"))

    assert (image.width, image.height, image.format) == (1, 1, "PNG")
    assert image.rgba.tolist() == [[[10, 200, 30, 255]]]
    assert image.has_alpha is False


def test_decode_image_keeps_a_fully_transparent_png(edge_image):
    image = decode_image(edge_image("transparent.png"))

    assert image.rgba.shape == (32, 32, 4)
    assert image.has_alpha is True
    assert (image.rgba[..., 3] == 0).all()


def test_decode_image_refuses_truncated_png(edge_image):
    with pytest.raises(ImageError, match="damaged or truncated"):
        decode_image(edge_image("truncated.png"))


def test_decode_image_refuses_text_file_named_png(edge_image):
    with pytest.raises(ImageError, match="not an image we can read"):
        decode_image(edge_image("text.png"))


def test_decode_image_refuses_empty_bytes():
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")


def test_decode_image_converts_cmyk_jpeg_to_rgb(edge_image):
    image = decode_image(edge_image("cmyk.jpg"))

    assert image.format == "JPEG"
    red, green, blue, alpha = image.rgba[8, 8].tolist()
    assert red < 20
    assert green > 235
    assert blue > 235
    assert alpha == 255


def test_decode_image_scales_16_bit_grey_to_8_bit(edge_image):
    image = decode_image(edge_image("grey16.png"))

    assert image.rgba.dtype == np.uint8
    assert image.rgba[4, 2].tolist() == [0, 0, 0, 255]
    assert image.rgba[4, 12].tolist() == [255, 255, 255, 255]
    assert image.rgba[0, 0, 0] == 128  # 32768 / 65535, not clipped to 255


def test_decode_image_makes_transparent_palette_index_transparent(edge_image):
    image = decode_image(edge_image("palette.png"))

    assert image.has_alpha is True
    assert image.rgba[0, 0, 3] == 0
    assert image.rgba[3, 3].tolist() == [200, 0, 0, 255]


def test_decode_image_uses_first_frame_of_animated_gif(edge_image):
    image = decode_image(edge_image("animated.gif"))

    assert image.format == "GIF"
    assert (image.width, image.height) == (12, 10)
    assert (image.rgba[..., :3] == [255, 0, 0]).all()


def test_decode_image_refuses_huge_header_without_allocating(edge_image):
    tracemalloc.start()
    try:
        with pytest.raises(ImageError, match="the limit is 1000 pixels"):
            decode_image(edge_image("huge-header.png"), max_pixels=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 10 * 1024 * 1024  # 100000×100000 RGB would be 30 GB


def test_decode_image_refuses_more_pixels_than_the_limit(edge_image):
    with pytest.raises(ImageError, match=r"5000×5000 = 25000000 pixels; the limit is 4000000"):
        decode_image(edge_image("5000x5000.png"), max_pixels=4_000_000)


def test_decode_image_applies_exif_rotation(edge_image):
    image = decode_image(edge_image("rotated.jpg"))

    assert (image.width, image.height) == (20, 40)


def test_decode_image_reads_webp_with_alpha(edge_image):
    image = decode_image(edge_image("image.webp"))

    assert (image.format, image.width, image.height) == ("WEBP", 10, 12)
    assert image.has_alpha is True
    assert image.rgba[0, 0].tolist() == [0, 255, 0, 128]


def test_decode_image_reads_bmp(edge_image):
    image = decode_image(edge_image("image.bmp"))

    assert (image.format, image.width, image.height) == ("BMP", 10, 12)
    assert image.rgba[5, 5].tolist() == [0, 0, 255, 255]


def test_decode_image_refuses_unsupported_format(edge_image):
    with pytest.raises(ImageError, match="TIFF images are not supported"):
        decode_image(edge_image("image.tiff"))


def test_composite_on_white_blends_by_alpha():
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [255, 0, 0, 128]]], dtype=np.uint8)

    rgb = composite_on_white(rgba)

    assert rgb.tolist() == [[[255, 255, 255], [0, 0, 0], [255, 127, 127]]]


def test_encode_png_round_trips_through_decode_image():
    rgba = np.random.default_rng(1).integers(0, 256, (9, 7, 4), dtype=np.uint8)

    assert (decode_image(encode_png(rgba)).rgba == rgba).all()


def test_probe_reads_the_header_as_decode_would_see_the_image():
    # A phone photo turned by EXIF: probe and decode agree on its upright size; transparency
    # shows in the mode. A file cut after its header passes the probe and fails the decode.
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° when shown
    Image.new("RGB", (40, 20), (200, 30, 30)).save(buffer, format="JPEG", exif=exif)
    rotated = buffer.getvalue()
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(buffer, format="PNG")
    transparent = buffer.getvalue()

    info = probe_image(rotated)
    decoded = decode_image(rotated)

    assert (info.width, info.height) == (decoded.width, decoded.height) == (20, 40)
    assert probe_image(transparent).has_alpha
    assert not info.has_alpha
    assert probe_image(transparent[:60]).width == 64
    with pytest.raises(ImageError):
        decode_image(transparent[:60])
