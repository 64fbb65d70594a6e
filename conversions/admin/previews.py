"""Previews the admin shows: input thumbnails, inlined SVGs, and numbers as text."""

from __future__ import annotations

import base64
import io

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from PIL import Image

from conversions.models import Conversion
from vectorizer.images import ImageError, decode_image

LIST_THUMB_PX = 64
DETAIL_PREVIEW_PX = 360
# A thumbnail inlines the whole SVG; above this size the list shows a note instead, so one
# pathological trace cannot turn the changelist into a many-megabyte page.
MAX_INLINE_SVG_BYTES = 512 * 1024
IMAGE_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
}
THUMB_SIZES = (LIST_THUMB_PX, DETAIL_PREVIEW_PX)


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def image_url(upload_id: object, size: int | None = None) -> str:
    url = reverse("admin:conversions_upload_image", args=[upload_id])
    return f"{url}?size={size}" if size else url


def input_img(upload_id: object, name: str, size: int) -> SafeString:
    return format_html(
        '<img class="svgai-thumb" src="{}" alt="Input: {}" loading="lazy" '
        'style="max-width:{}px;max-height:{}px;background:#fff;border:1px solid #ccc">',
        image_url(upload_id, size),
        name,
        size,
        size,
    )


def svg_img(conversion: Conversion, size: int) -> SafeString:
    if not conversion.succeeded or not conversion.svg:
        return format_html('<span title="{}">no SVG</span>', conversion.error[:300])
    if len(conversion.svg) > MAX_INLINE_SVG_BYTES and size <= LIST_THUMB_PX:
        return format_html("<span>SVG too large to preview ({} bytes)</span>", len(conversion.svg))
    return format_html(
        '<img class="svgai-thumb" src="{}" alt="SVG of {}" '
        'style="max-width:{}px;max-height:{}px;background:#fff;border:1px solid #ccc">',
        svg_data_uri(conversion.svg),
        conversion.upload.original_name,
        size,
        size,
    )


def as_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} ms"


def as_number(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:,.{decimals}f}"


def thumbnail_png(data: bytes, size: int) -> tuple[bytes, str]:
    try:
        image = decode_image(data, max_pixels=settings.SVGAI_MAX_PIXELS)
    except ImageError as exc:
        raise Http404(str(exc)) from exc
    picture = Image.fromarray(image.rgba)
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue(), "image/png"
