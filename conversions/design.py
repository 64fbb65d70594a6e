"""The designer's options of every conversion path: how they are asked for, kept and applied.

`max_colors`, `palette`, `shape_stacking`, `group_by` and `min_area_px` (vectorizer.designer)
are validated here once for /api/convert, /api/convert-ai and /api/batches, stored on the
record, and applied to the chosen trace in a worker process; the result is measured again.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from typing import Any

from django.conf import settings
from rest_framework import serializers

from conversions.fields import (
    BriefChoiceField,
    FormListField,
    FormValues,
    StrictFloatField,
    StrictIntegerField,
    comma_items,
)
from conversions.models import Conversion
from vectorizer import designer
from vectorizer.designer import DesignDict, DesignOptions
from vectorizer.pipeline import ConversionResult
from vectorizer.workers import WorkerError, WorkerPool

NAMES = ("max_colors", "palette", "shape_stacking", "group_by", "min_area_px")
MAX_AREA_PX = 1_000_000
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
COLORS_MESSAGE = f"must be a whole number from 1 to {designer.MAX_COLORS}."
AREA_MESSAGE = f"must be a number of input pixels from 0 to {MAX_AREA_PX:,}."


class PaletteField(FormListField):
    """A list of `#rrggbb` colours; a form may send it as JSON or as `#1f6feb,#ffffff`."""

    def __init__(self, **options: Any) -> None:
        child = serializers.RegexField(
            _HEX,
            error_messages={
                "invalid": "must be a colour written #rrggbb, e.g. #1f6feb.",
                "blank": "is empty: write a colour as #rrggbb, e.g. #1f6feb.",
            },
        )
        super().__init__(child=child, max_length=designer.MAX_COLORS, **options)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, FormValues) and len(data) == 1:  # a form's one field: JSON or text
            data = str(data[0])
            if not data.strip():  # an empty form field (Swagger sends every one): no palette
                return []
        if isinstance(data, str):
            text = data.strip()
            try:  # an empty colour ("#000000,,#ffffff") stays, for the child field to refuse
                data = (
                    json.loads(text)
                    if text.startswith("[")
                    else comma_items([text], keep_empty=True)
                )
            except ValueError as exc:
                raise serializers.ValidationError(
                    f'starts like a JSON list but is not one ({exc}): send e.g. ["#1f6feb"] '
                    "or #1f6feb,#ffffff."
                ) from None
            if isinstance(data, list):
                data = [c.strip() if isinstance(c, str) else c for c in data]
        if not isinstance(data, list):
            raise serializers.ValidationError('must be a list of colours, e.g. ["#1f6feb"].')
        if len(data) > designer.MAX_COLORS:
            raise serializers.ValidationError(
                f"holds {len(data)} colours; a palette holds at most {designer.MAX_COLORS}."
            )
        colours = super().to_internal_value(data)
        return list(dict.fromkeys(c.lower() for c in colours))


class DesignOptionsMixin(serializers.Serializer[None]):
    """The designer's options: palette size or palette, stacking, grouping, speck area."""

    max_colors = StrictIntegerField(
        min_value=1,
        max_value=designer.MAX_COLORS,
        required=False,
        allow_null=True,
        default=None,
        help_text="At most this many colours (gradient stops count); 1–256.",
        error_messages={"min_value": COLORS_MESSAGE, "max_value": COLORS_MESSAGE},
    )
    palette = PaletteField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Snap every fill and gradient stop to the nearest of these #rrggbb colours "
        "(at most 256).",
    )
    shape_stacking = BriefChoiceField(
        choices=list(designer.STACKINGS),
        default="stacked",
        help_text="`stacked` shapes lie on one another; `cutouts`: no two overlap.",
        error_messages={"invalid_choice": "must be stacked or cutouts; got {input}."},
    )
    group_by = BriefChoiceField(
        choices=list(designer.GROUPINGS),
        default="none",
        help_text='`color`: one <g id="color-1f6feb"> per colour.',
        error_messages={"invalid_choice": "must be none or color; got {input}."},
    )
    min_area_px = StrictFloatField(
        min_value=0.0,
        max_value=float(MAX_AREA_PX),
        default=0.0,
        help_text="Drop specks smaller than this area, in input pixels (0 keeps all).",
        error_messages={"min_value": AREA_MESSAGE, "max_value": AREA_MESSAGE},
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        # A palette fixes the count: with it, max_colors is only accepted when the palette already
        # keeps to it (Swagger's form fills in both).
        cap, palette = attrs.get("max_colors"), attrs.get("palette") or []
        if cap is not None and len(palette) > cap:
            raise serializers.ValidationError(
                {
                    "palette": [
                        f"has {len(palette)} colours, more than max_colors {cap}: a palette fixes "
                        "the count; give fewer colours or leave max_colors out."
                    ]
                }
            )
        return attrs

    def design_options(self) -> DesignOptions:
        """Return the validated designer's options."""
        return options_from(self.validated_data)


class DesignRequestSerializer(DesignOptionsMixin, serializers.Serializer[None]):
    """The design options alone: how the commands check theirs as the API does."""


def options_from(values: dict[str, Any]) -> DesignOptions:
    """Return DesignOptions from validated or stored values (missing ones at their default)."""
    return DesignOptions(
        max_colors=values.get("max_colors"),
        palette=tuple(values.get("palette") or ()),
        shape_stacking=values.get("shape_stacking") or "stacked",
        group_by=values.get("group_by") or "none",
        min_area_px=float(values.get("min_area_px") or 0.0),
    )


def fields(options: DesignOptions) -> DesignDict:
    """Return the record's fields holding the options."""
    return options.as_dict()


def finish(
    conversion: Conversion,
    result: ConversionResult,
    options: DesignOptions,
    *,
    data: bytes,
    pool: WorkerPool,
    timeout: float,
) -> ConversionResult | Exception:
    """Return the chosen trace with the options applied and measured, or the error."""
    if options.is_default:
        return result
    started = time.perf_counter()
    try:
        designed = pool.run(
            designer.design_bytes,
            data,
            result.svg,
            options,
            settings.SVGAI_MAX_PIXELS,
            timeout=timeout,
        )
    except WorkerError as exc:
        return RuntimeError(f"applying the design options failed: {exc}")
    conversion.design = {"problems": list(designed.problems), **designed.report}
    return replace(
        result,
        svg=designed.svg,
        ssim=designed.ssim,
        svg_bytes=designed.svg_bytes,
        path_count=designed.path_count,
        timings={**result.timings, "design": (time.perf_counter() - started) * 1000},
    )


def problems(conversion: Conversion) -> list[str]:
    """Return what the design options cost, as the answer's `problems` say it."""
    return list((conversion.design or {}).get("problems", []))
