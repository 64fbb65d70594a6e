"""HTTP views of the request path (upload, convert, convert-ai): validate, call a service."""

from __future__ import annotations

import uuid
from dataclasses import replace

from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
)
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversions import exports, limits, permissions, services
from conversions.errors import ApiError
from conversions.fields import brief
from conversions.models import Conversion, Upload
from conversions.parsers import JSONParser
from conversions.serializers.errors import ConversionFailedSerializer, error_responses
from conversions.serializers.requests import (
    AIConvertRequestSerializer,
    ConvertRequestSerializer,
    UploadRequestSerializer,
)
from conversions.serializers.responses import (
    AIConvertResponseSerializer,
    ConvertResponseSerializer,
    UploadSerializer,
)
from vectorizer import exports as formats
from vectorizer.images import ImageError
from vectorizer.workers import WorkerBusy

FALLBACK_SUGGESTION = '/api/convert {"file_id": "...", "converter": "vtracer"}'


def get_upload(file_id: object, request: Request) -> Upload:
    """Return the upload for a validated file_id, or raise a 404 that says what to do."""
    # Any string that is not a UUID names no upload either: the same 404 as an unknown UUID.
    found = Upload.objects.none()
    if isinstance(file_id, uuid.UUID):
        found = permissions.visible(Upload.objects.all(), request, by_id=True).filter(pk=file_id)
    upload = found.first()
    if upload is None:
        raise exceptions.NotFound(
            f"No such file: no upload has file_id {brief(str(file_id))}; upload the image with "
            "POST /api/upload first."
        )
    return upload


class UploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = permissions.UPLOAD_THROTTLES

    @extend_schema(
        # Forms without a file part cannot carry the image: only multipart is documented.
        request={"multipart/form-data": UploadRequestSerializer},
        responses={200: UploadSerializer, **error_responses(400, 401, 403, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = UploadRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = serializer.validated_data["file"]
        quota_key = limits.check_upload_quota(request, file.size)
        owner = replace(permissions.owner_fields(request), quota_key=quota_key)
        try:
            upload, _ = services.store_upload(data=file.read(), filename=file.name, owner=owner)
        except ImageError as exc:
            raise exceptions.ValidationError({"file": [str(exc)]}) from exc
        return Response(UploadSerializer(upload).data)


def check_output_size(upload: Upload, size: formats.OutputSize | None) -> None:
    """Refuse, before converting, a size whose derived side would exceed the limit."""
    if size is None:
        return
    try:
        formats.resolve_box(upload.width, upload.height, size)
    except formats.ExportError as exc:
        raise exceptions.ValidationError({"output_size": [str(exc)]}) from exc


def conversion_response(
    conversion: Conversion,
    serializer_class: type[ConvertResponseSerializer] = ConvertResponseSerializer,
    **context: object,
) -> Response:
    """Return the API's answer for a stored conversion: its SVG and numbers, or 422."""
    if not conversion.succeeded:
        return Response(
            ConversionFailedSerializer(conversion).data,
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(serializer_class(conversion, context=context).data)


class ConvertView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    throttle_classes = permissions.CONVERT_THROTTLES

    @extend_schema(
        request={"application/json": ConvertRequestSerializer},
        responses={
            200: ConvertResponseSerializer,
            **error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ConvertRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = get_upload(serializer.validated_data["file_id"], request)
        output_format, output_size = serializer.output()
        check_output_size(upload, output_size)
        limits.check_pixel_budget(upload, "legacy")
        try:
            with limits.conversion_slot(request):
                conversion = services.convert_image(
                    upload=upload,
                    params=serializer.trace_params(),
                    design=serializer.design_options(),
                    owner=permissions.owner_fields(request),
                    timeout=limits.convert_timeout(request),
                )
        except WorkerBusy as exc:
            raise limits.ServerBusy(exc) from exc
        exports.record_output(conversion, output_format, output_size)
        return conversion_response(conversion)


class AIConvertView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    throttle_classes = permissions.CONVERT_THROTTLES

    @extend_schema(
        request={"application/json": AIConvertRequestSerializer},
        responses={
            200: AIConvertResponseSerializer,
            **error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
        examples=[
            OpenApiExample(
                "Automatic tier",
                summary="Upload with POST /api/upload first, then pass its file_id",
                value={
                    "file_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "tier": "auto",
                    "target_quality": 0.9,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = AIConvertRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = get_upload(data["file_id"], request)
        output_format, output_size = serializer.output()
        check_output_size(upload, output_size)
        limits.check_pixel_budget(upload, data["tier"])
        try:
            with limits.conversion_slot(request):
                conversion = services.convert_with_ai(
                    upload=upload,
                    tier=data["tier"],
                    target_quality=data["target_quality"],
                    time_budget=data["time_budget"],
                    max_bytes=data["max_bytes"],
                    design=serializer.design_options(),
                    owner=permissions.owner_fields(request),
                    timeout=limits.convert_timeout(request),
                )
        except WorkerBusy as exc:
            raise limits.ServerBusy(exc) from exc
        except services.ModelsUnavailable as exc:
            raise ApiError(
                f"AI conversion is unavailable: {exc}. Use the legacy converter.",
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                extra={"fallback_suggestion": FALLBACK_SUGGESTION},
            ) from exc
        exports.record_output(conversion, output_format, output_size)
        return conversion_response(
            conversion, AIConvertResponseSerializer, include_analysis=data["include_analysis"]
        )
