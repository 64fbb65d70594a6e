"""The upload page: a form whose controls offer exactly what the API accepts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from conversions.design import DesignRequestSerializer
from conversions.serializers.options import output_format_field, size_fields
from conversions.serializers.requests import AIConvertRequestSerializer
from vectorizer import designer, exports
from vectorizer.budget import DEFAULT_TIME_BUDGET_S
from vectorizer.tracing import CHOICES, DEFAULT_PARAMS, RANGES

# The page's vtracer controls: label, and for sliders the step and a hint; ranges, choices and
# defaults come from vectorizer.tracing, so the page offers exactly what the API accepts.
TRACE_SELECTS = (
    ("colormode", "Colour"),
    ("hierarchical", "Layers"),
    ("mode", "Curves"),
)
TRACE_SLIDERS = (
    ("filter_speckle", "Filter speckle (px)", 1, "Drop patches smaller than this."),
    ("color_precision", "Colour precision (bits)", 1, "More bits keep more colours."),
    (
        "layer_difference",
        "Gradient step",
        1,
        "Colour difference between layers; smaller keeps more shades.",
    ),
    ("corner_threshold", "Corner threshold (degrees)", 1, "Smaller angles become corners."),
    (
        "length_threshold",
        "Segment length (px)",
        0.5,
        "Shortest curve segment; larger is smoother and smaller.",
    ),
    ("splice_threshold", "Splice threshold (degrees)", 1, "Angle above which a spline is split."),
    ("max_iterations", "Curve fitting iterations", 1, "How long vtracer refines each curve."),
    (
        "path_precision",
        "Path precision (decimals)",
        1,
        "Decimals kept in coordinates; fewer means smaller files.",
    ),
)


def _trace_controls() -> dict[str, list[dict[str, Any]]]:
    """Return the page's vtracer selects and sliders with the API's ranges and defaults."""
    defaults = DEFAULT_PARAMS.as_dict()
    selects = [
        {"name": name, "label": label, "values": CHOICES[name], "default": defaults[name]}
        for name, label in TRACE_SELECTS
    ]
    sliders = [
        {
            "name": name,
            "label": label,
            "step": step,
            "min": RANGES[name][0],
            "max": RANGES[name][1],
            "default": defaults[name],
            "hint": hint,
        }
        for name, label, step, hint in TRACE_SLIDERS
    ]
    return {"trace_selects": selects, "trace_sliders": sliders}


# The page's colour and shape controls: (name, label, step, hint); ranges come from the API.
DESIGN_NUMBERS = (
    ("max_colors", "Maximum colours", 1, "Empty: as many as the logo needs."),
    ("min_area_px", "Drop specks under (px²)", 1, "Shapes smaller than this area go; 0 keeps all."),
)


def _design_controls() -> dict[str, Any]:
    """Return the page's colour and shape numbers and choices as the API validates them."""
    fields = DesignRequestSerializer().fields
    numbers = [
        {"name": name, "label": label, "step": step, "hint": hint, "field": fields[name]}
        for name, label, step, hint in DESIGN_NUMBERS
    ]
    choices = {"shape_stacking": designer.STACKINGS, "group_by": designer.GROUPINGS}
    return {"design_numbers": numbers, "design_choices": choices}


def _output_controls() -> dict[str, Any]:
    """Return the Download menu's formats and the size's unit and dpi as the API validates them."""
    size = size_fields()
    return {
        "output_controls": {
            "format": output_format_field(),
            "side": size["width"],
            "unit": size["unit"],
            "dpi": size["dpi"],
            "default_dpi": exports.DEFAULT_DPI,
        }
    }


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    """Return the converter page, with the real parameter ranges and limits the API applies."""
    ai_fields = AIConvertRequestSerializer().fields
    context = {
        "choices": CHOICES,
        "ranges": RANGES,
        "defaults": DEFAULT_PARAMS.as_dict(),
        **_trace_controls(),
        **_design_controls(),
        **_output_controls(),
        "limits": {
            "max_upload_bytes": settings.SVGAI_MAX_UPLOAD_BYTES,
            "max_pixels": settings.SVGAI_MAX_PIXELS,
            "target_quality": ai_fields["target_quality"].default,
            "tier3_budget_s": DEFAULT_TIME_BUDGET_S,
        },
    }
    return render(request, "conversions/home.html", context)
