"""HTTP views of the batch API: submit, follow, cancel, download. Thin: the work is beside them."""

from __future__ import annotations

import tempfile
import uuid
from typing import Any

from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from aimodels import registry
from conversions import limits, permissions
from conversions.batches import lifecycle, stalls
from conversions.batches.export import write_download
from conversions.batches.intake import BatchRefused
from conversions.batches.runner import TransientError
from conversions.batches.serializers import (
    BatchCreatedSerializer,
    BatchListSerializer,
    BatchRequestSerializer,
    BatchStatusSerializer,
)
from conversions.batches.status import batch_status
from conversions.errors import ApiError
from conversions.models import Batch, Conversion
from conversions.serializers.errors import error_responses

# A download spools to disk past this size rather than holding every SVG in memory.
SPOOL_BYTES = 16 * 1024 * 1024


def get_batch(request: Request, pk: str) -> Batch:
    """Return the batch the caller named, or a 404 that says what to do."""
    try:
        key = uuid.UUID(pk)
    except ValueError:
        key = None
    batch = (
        permissions.visible(Batch.objects.all(), request, by_id=True).filter(pk=key).first()
        if key
        else None
    )
    if batch is None:
        raise exceptions.NotFound(f"No batch has id {pk}; create one with POST /api/batches.")
    return batch


def get_own_batch(request: Request, pk: str) -> Batch:
    """Return the batch the caller named for a write: 403 unless the caller created it.

    Reading by id is a capability (anyone holding an anonymous batch's id may follow it);
    changing it takes the creator's user, or for an anonymous batch its client cookie.
    """
    batch = get_batch(request, pk)
    if not permissions.visible(Batch.objects.filter(pk=batch.pk), request).exists():
        raise exceptions.PermissionDenied(
            "Only the client that created this batch may change it: send the same token, or "
            "the cookie the creating request received."
        )
    return batch


class BatchListView(APIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = permissions.UPLOAD_THROTTLES

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Every file of a batch is spooled to disk, however small: a batch may hold many files
        # just under FILE_UPLOAD_MAX_MEMORY_SIZE, which Django would otherwise keep in memory.
        if request.method == "POST":
            request.upload_handlers = [TemporaryFileUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="batches_create",
        request={"multipart/form-data": BatchRequestSerializer},
        responses={
            202: BatchCreatedSerializer,
            **error_responses(400, 401, 403, 413, 415, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = BatchRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        options = serializer.options()
        if options.kind == Conversion.Kind.AI and registry.quality_predictor() is None:
            raise ApiError(
                "AI conversion is unavailable: the quality predictor is not loaded. Send "
                "converter 'vtracer' for a legacy batch.",
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        files = [(f.name or "upload", f) for f in serializer.validated_data["files"]]
        source = files[0][0] if len(files) == 1 else "files"
        quota = limits.upload_quota(request)
        used_up = quota.refusal(1)
        if used_up is not None:  # the bytes stored count, member by member, in create_batch
            raise quota.exceeded(used_up)
        try:
            created = lifecycle.create_batch(
                files=files,
                options=options,
                source=source,
                owner=permissions.owner_fields(request),
                quota=quota,
            )
        except BatchRefused as exc:
            lines = exc.refused.lines() or [str(exc)]
            raise ApiError(
                str(exc),
                status_code=status.HTTP_400_BAD_REQUEST,
                extra={"errors": {"files": lines}},
            ) from exc
        batch = created.batch
        try:
            lifecycle.dispatch(batch)
        except TransientError as exc:
            raise ApiError(
                f"The batch was stored but could not be queued ({exc}); retry in a minute.",
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                extra={"batch_id": batch.pk},
            ) from exc
        body = {
            "success": True,
            "batch_id": batch.pk,
            "status_url": f"/api/batches/{batch.pk}",
            "download_url": f"/api/batches/{batch.pk}/download",
            "items": batch.item_count,
            **created.refused.answer(),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="batches_list",
        responses={200: BatchListSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        """Return the caller's recent batches (without their items), newest first."""
        mine: QuerySet[Batch] = permissions.visible(Batch.objects.all(), request)
        limit = 50
        results = [batch_status(b, include_items=False) for b in mine[:limit]]
        return Response({"success": True, "count": len(results), "results": results})


class BatchDetailView(APIView):
    @extend_schema(
        operation_id="batches_retrieve",
        responses={200: BatchStatusSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        batch = get_batch(request, pk)
        stalls.resume_if_stalled(batch)  # local pool: items a restarted process dropped
        return Response(batch_status(batch))


class BatchCancelView(APIView):
    @extend_schema(
        operation_id="batches_cancel",
        request=None,
        responses={200: BatchStatusSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, pk: str) -> Response:
        batch = get_own_batch(request, pk)
        if not lifecycle.cancel_batch(batch) and batch.status != Batch.Status.CANCELLED:
            raise exceptions.ValidationError(
                {"status": [f"The batch is {batch.status} already; there is nothing to cancel."]}
            )
        return Response(batch_status(batch))


class BatchDownloadView(APIView):
    @extend_schema(
        operation_id="batches_download",
        responses={
            (200, "application/zip"): OpenApiResponse(description="SVGs and report.csv"),
            **error_responses(401, 403, 404),
        },
    )
    def get(self, request: Request, pk: str) -> FileResponse:
        batch = get_batch(request, pk)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (FileResponse closes it)
        write_download(batch, spool)
        spool.seek(0)
        response = FileResponse(
            spool,
            as_attachment=True,
            filename=f"batch-{str(batch.pk)[:8]}.zip",
            content_type="application/zip",
        )
        if not batch.finished:
            response["X-Batch-Status"] = batch.status  # a partial download while it runs
        return response
