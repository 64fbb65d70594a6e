"""The methods the tier benchmark compares, and how tables and charts name them.

A method is vtracer's defaults (`default`), a tier (`1`, `2`, `3`, `auto`), the best single
fixed recipe (`recipe`), or one tracer alone with the fallback settings (`vtracer`, `layers`).
"""

from __future__ import annotations

from dataclasses import fields

from vectorizer.candidates import Candidate
from vectorizer.tiers import FALLBACK_CANDIDATE

TIER_NAMES = ("default", "1", "2", "3", "auto")
RECIPE = "recipe"
# The tracers a candidate can choose. Hook for the layered tracer (vectorizer/layers.py): once
# `Candidate` has a `tracer` field, each of these gets a row of its own (tracer_references).
TRACERS = ("vtracer", "layers")
LABELS = {
    "default": "vtracer defaults",
    RECIPE: "best fixed recipe",
    **{name: f"{name} alone" for name in TRACERS},
}


def tracer_references() -> dict[str, Candidate]:
    """Return one fixed candidate per tracer: the fallback settings, traced by that tracer."""
    if "tracer" not in {f.name for f in fields(Candidate)}:
        return {"vtracer": FALLBACK_CANDIDATE}  # candidates cannot choose a tracer yet
    return {name: FALLBACK_CANDIDATE.with_changes(tracer=name) for name in TRACERS}


def method_names() -> tuple[str, ...]:
    """Return every method a benchmark can run, in table order."""
    return (*TIER_NAMES, RECIPE, *tracer_references())


def label(method: str) -> str:
    """Return how tables and charts name a method."""
    return LABELS.get(method, f"tier {method}")
