"""Decode and validate uploaded images into one shape: an RGBA uint8 array.

Everything downstream (tracing, features, quality) sees `DecodedImage.rgba`, so every odd mode
(palette with transparency, LA, CMYK, 16-bit, EXIF-rotated JPEG) is normalised here, once.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
DEFAULT_MAX_PIXELS = 4096 * 4096


class ImageError(ValueError):
    """The bytes are not an image we can convert; the message says why and what to do."""


@dataclass(frozen=True)
class DecodedImage:
    rgba: np.ndarray  # (height, width, 4) uint8
    format: str  # "PNG", "JPEG", ...
    has_alpha: bool  # True when any pixel is not fully opaque

    @property
    def width(self) -> int:
        return int(self.rgba.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgba.shape[0])


def _open(data: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """Return the opened image (header parsed, no pixels decoded) and its format; check both."""
    if not data:
        raise ImageError("The file is empty; upload a PNG, JPEG, WebP, GIF or BMP image.")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; we decide ourselves below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise ImageError(
            "The file is not an image we can read; upload a PNG, JPEG, WebP, GIF or BMP image."
        ) from exc
    except Image.DecompressionBombError as exc:
        # Pillow's own message quotes its limit, not ours: say what the user must do.
        raise ImageError(
            f"The image is far too large to decode safely; the limit is {max_pixels} pixels. "
            "Scale it down before converting."
        ) from exc
    except Exception as exc:
        # Opening parses the header chunks: a header cut short ("Truncated File Read"), a
        # metadata chunk inflating past Pillow's cap (iCCP, zTXt) or a plugin's own parse error
        # is a damaged file, never a server error.
        raise ImageError(
            f"The file is damaged or truncated ({_brief(exc)}); re-export it as PNG or JPEG."
        ) from exc
    fmt = (image.format or "").upper()
    if fmt not in SUPPORTED_FORMATS:
        raise ImageError(
            f"{fmt or 'This'} images are not supported; upload a PNG, JPEG, WebP, GIF or BMP image."
        )
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"The image has no pixels ({width}×{height}).")
    if width * height > max_pixels:
        raise ImageError(
            f"The image is {width}×{height} = {width * height} pixels; the limit is {max_pixels}. "
            "Scale it down before converting."
        )
    return image, fmt


@dataclass(frozen=True)
class ImageInfo:
    """What an image's header says, without decoding its pixels."""

    width: int
    height: int
    format: str
    has_alpha: bool  # the image has an alpha channel or a transparent colour (may be all opaque)


def probe_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Return what the header of the image in `data` says, or raise ImageError.

    For intake of many images at once (batches): a 16-megapixel PNG of a few megabytes decodes
    to hundreds of megabytes, which a web process must not hold per member. The pixels are
    decoded later, by the conversion, where a damaged file fails that one item with its reason.
    """
    image, fmt = _open(data, max_pixels)
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    width, height = image.size
    if _rotated(image):  # the decode turns it upright, as ImageOps.exif_transpose does
        width, height = height, width
    return ImageInfo(width=width, height=height, format=fmt, has_alpha=transparent)


def _rotated(image: Image.Image) -> bool:
    """Return whether EXIF says the image is turned a quarter (its width and height swap)."""
    raw = image.info.get("exif")  # what the header held; getexif() would decode a PNG's pixels
    if not raw:
        return False
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception:  # a damaged EXIF block: the decode says so later
        return False
    return exif.get(0x0112) in (5, 6, 7, 8)


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Return the image in `data` as RGBA, or raise ImageError saying what is wrong."""
    image, fmt = _open(data, max_pixels)
    width, height = image.size
    try:
        image.seek(0)  # animated GIF/WebP: the first frame
        image.load()
        rgba = _to_rgba(ImageOps.exif_transpose(image))
    except MemoryError as exc:
        raise ImageError(
            f"The image is too large to decode in memory ({width}×{height}); scale it down."
        ) from exc
    except Exception as exc:  # any decoder error (OSError, ValueError, struct.error, ...)
        raise ImageError(
            f"The {fmt} file is damaged or truncated ({_brief(exc)}); re-export it."
        ) from exc
    return DecodedImage(rgba=rgba, format=fmt, has_alpha=bool((rgba[..., 3] < 255).any()))


def _brief(exc: Exception, limit: int = 120) -> str:
    """Return the decoder's message, cut short: it may quote bytes of the file."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _to_rgba(image: Image.Image) -> np.ndarray:
    """Return any Pillow mode as a (H, W, 4) uint8 array."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: Pillow's convert("RGBA") clips instead of scaling, so scale by hand.
        wide = np.asarray(image, dtype=np.float64)
        top = 65535.0 if wide.max() > 255 else 255.0
        grey = np.clip(wide / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        alpha = np.full_like(grey, 255)
        return np.dstack([grey, grey, grey, alpha])
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("PA")
    if image.mode == "CMYK":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image.convert("RGBA"), dtype=np.uint8))


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Return the RGBA image blended over a white background as (H, W, 3) uint8."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32)
    flat: np.ndarray = (rgb * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return flat


def encode_png(pixels: np.ndarray, *, compress_level: int = 1) -> bytes:
    """Return a PNG of an RGB or RGBA uint8 array (fast compression: it is rarely stored)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()
