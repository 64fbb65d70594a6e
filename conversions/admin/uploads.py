"""Admin for uploads: the stored images, served to staff by a small admin view."""

from __future__ import annotations

import mimetypes
import uuid
from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from conversions.admin.previews import (
    DETAIL_PREVIEW_PX,
    IMAGE_TYPES,
    LIST_THUMB_PX,
    THUMB_SIZES,
    image_url,
    input_img,
    thumbnail_png,
)
from conversions.models import Upload

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _ConversionCount(TypedDict):
        _conversion_count: int  # annotated by UploadAdmin.get_queryset


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin[Upload]):
    list_display = [
        "thumbnail",
        "original_name",
        "format",
        "dimensions",
        "size_bytes",
        "has_alpha",
        "conversion_count",
        "created_at",
    ]
    list_display_links = ["thumbnail", "original_name"]
    list_filter = ["format", "has_alpha", "created_at"]
    search_fields = ["original_name", "sha256", "id", "owner__username"]
    list_per_page = 50
    readonly_fields = ["preview", "conversions_link"]
    fields = [
        "preview",
        "id",
        "original_name",
        "file",
        "sha256",
        "size_bytes",
        "width",
        "height",
        "format",
        "has_alpha",
        "owner",
        "created_at",
        "conversions_link",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Upload]:
        return super().get_queryset(request).annotate(_conversion_count=Count("conversions"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads arrive through the API, validated and hashed

    def has_change_permission(self, request: HttpRequest, obj: Upload | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Upload | None = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_urls(self) -> list[URLPattern]:
        image = path(
            "<uuid:pk>/image/",
            self.admin_site.admin_view(self.image_view),
            name="conversions_upload_image",
        )
        return [image, *super().get_urls()]

    def image_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        """Serve the stored input, or a PNG thumbnail of it when ?size= is one we use."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        upload = Upload.objects.filter(pk=pk).only("file", "format").first()
        if upload is None or not upload.file.name:
            raise Http404("No such upload.")
        try:
            with upload.file.open("rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise Http404("The stored file is missing.") from exc
        size = request.GET.get("size", "")
        if size.isdigit() and int(size) in THUMB_SIZES:
            data, content_type = thumbnail_png(data, int(size))
        else:
            content_type = IMAGE_TYPES.get(upload.format) or (
                mimetypes.guess_type(upload.file.name)[0] or "application/octet-stream"
            )
        response = HttpResponse(data, content_type=content_type)
        # Uploads are stored under their content hash, so a URL's bytes never change.
        response["Cache-Control"] = "private, max-age=86400"
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    @admin.display(description="Input")
    def thumbnail(self, upload: Upload) -> SafeString:
        return input_img(upload.pk, upload.original_name, LIST_THUMB_PX)

    @admin.display(description="Preview")
    def preview(self, upload: Upload) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>',
            image_url(upload.pk),
            input_img(upload.pk, upload.original_name, DETAIL_PREVIEW_PX),
        )

    @admin.display(description="Size (px)")
    def dimensions(self, upload: Upload) -> str:
        return f"{upload.width}×{upload.height}"

    @admin.display(description="Conversions", ordering="_conversion_count")
    def conversion_count(self, upload: WithAnnotations[Upload, _ConversionCount]) -> int:
        return upload._conversion_count

    @admin.display(description="Conversions")
    def conversions_link(self, upload: Upload) -> SafeString:
        url = reverse("admin:conversions_conversion_changelist")
        return format_html(
            '<a href="{}?upload__id__exact={}">{} conversion(s)</a>',
            url,
            upload.pk,
            upload.conversions.count(),
        )
