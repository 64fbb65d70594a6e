"""The API's error shape and the error responses each view documents."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from conversions.models import Conversion
from conversions.serializers.options import AnyField


@extend_schema_field({"type": "boolean", "enum": [False], "example": False})
class FalseField(serializers.BooleanField):
    """`success` of an error body: documented as only ever false, so Swagger's examples and a
    client generator do not show an error that says `"success": true`."""


class ErrorSerializer(serializers.Serializer[None]):
    """Every error: one sentence in `error`; each field's messages in `errors` when a field is
    at fault (400)."""

    success = FalseField(help_text="Always false.")
    error = serializers.CharField(help_text="What is wrong and how to fix it.")

    def get_fields(self) -> dict[str, AnyField]:
        # `errors` is also Serializer's own property, so the field is added here, not declared.
        fields = super().get_fields()
        fields["errors"] = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            help_text="Per field (or dotted path): a list of messages.",
        )
        return fields


class UnavailableErrorSerializer(ErrorSerializer):
    """503: the server cannot convert now (busy, or the AI models are not loaded)."""

    fallback_suggestion = serializers.CharField(
        required=False, help_text="What to call instead while the AI models are not loaded."
    )


class ConversionFailedSerializer(serializers.Serializer[Conversion]):
    """422: the image could not be converted; the failed conversion is stored too."""

    success = FalseField(source="succeeded", help_text="Always false.")
    error = serializers.CharField()
    conversion_id = serializers.UUIDField(source="id")


ERROR_DESCRIPTIONS = {
    400: (ErrorSerializer, "Malformed request or an invalid option; `errors` names the field."),
    401: (ErrorSerializer, "Credentials required (SVGAI_REQUIRE_AUTH) or invalid."),
    403: (ErrorSerializer, "Not allowed: another client's record, or a cross-site request."),
    404: (ErrorSerializer, "No such file, record or page."),
    413: (ErrorSerializer, "Too large: the request body, or the image for this tier."),
    415: (ErrorSerializer, "Unsupported Content-Type."),
    422: (ConversionFailedSerializer, "The image could not be converted (stored as failed)."),
    429: (ErrorSerializer, "Too many requests or over the upload quota; see Retry-After."),
    503: (UnavailableErrorSerializer, "Busy (see Retry-After) or the AI models are not loaded."),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Return the documented error bodies for these HTTP status codes."""
    return {
        code: OpenApiResponse(ERROR_DESCRIPTIONS[code][0], description=ERROR_DESCRIPTIONS[code][1])
        for code in codes
    }
