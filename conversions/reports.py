"""Quality reports: what the AI predicted versus what it measured, from the records alone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypedDict

from django.db.models import (
    Avg,
    Count,
    F,
    FloatField,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Abs

from conversions.models import Conversion


class _Cast(Func):
    function = "CAST"
    template = "%(function)s(%(expressions)s AS double precision)"
    output_field = FloatField()


def in_utc(moment: datetime) -> datetime:
    """Return an aware moment in UTC; a naive one is taken as UTC, out-of-range ones clamped.

    ISO 8601 allows offsets up to ±23:59, PostgreSQL only ±15:59 (a 500 there): the database
    only ever sees UTC. A moment before year 1 or after 9999 in UTC means "from the start" or
    "nothing yet".
    """
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        early = moment.year == datetime.min.year
        return (datetime.min if early else datetime.max).replace(tzinfo=UTC)


class QualityReport(TypedDict):
    """`quality_report()`: per (tier, logo type) rows, the legacy baseline and failures."""

    since: str | None
    ai: list[dict[str, object]]
    legacy: dict[str, object]
    failures: dict[str, int]


def quality_report(
    *, since: datetime | None = None, scope: QuerySet[Conversion] | None = None
) -> QualityReport:
    """Return per-tier and per-logo-type quality of AI conversions, and legacy baselines.

    For each (tier, logo type): count, mean predicted and measured SSIM, mean absolute
    prediction error, mean time and bytes, and the improvement over the mean legacy
    conversion of the same uploaded bytes (sha256), where one exists.

    `scope`: the records to count (default: all); a caller's own, so that no figure (the
    legacy baselines included) tells one caller about another's conversions.
    """
    records = Conversion.objects.all() if scope is None else scope
    conversions = records.filter(status=Conversion.Status.SUCCEEDED)
    if since is not None:
        conversions = conversions.filter(created_at__gte=since)
    legacy_ssim = (
        records.filter(
            kind=Conversion.Kind.LEGACY,
            status=Conversion.Status.SUCCEEDED,
            upload__sha256=OuterRef("upload__sha256"),
        )
        .values("upload__sha256")
        .annotate(mean=Avg("ssim"))
        .values("mean")
    )
    ai = (
        conversions.filter(kind=Conversion.Kind.AI)
        .annotate(legacy_ssim=Subquery(legacy_ssim, output_field=FloatField()))
        .values("tier", "logo_type")
        .annotate(
            count=Count("id"),
            mean_predicted_ssim=Avg("predicted_ssim"),
            mean_measured_ssim=Avg("ssim"),
            prediction_mae=Avg(Abs(F("predicted_ssim") - F("ssim"))),
            mean_time_ms=Avg("total_ms"),
            mean_bytes=Avg(_Cast(F("svg_bytes"))),
            with_legacy=Count("id", filter=Q(legacy_ssim__isnull=False)),
            mean_ssim_gain_vs_legacy=Avg(F("ssim") - F("legacy_ssim")),
        )
        .order_by("tier", "logo_type")
    )
    legacy = conversions.filter(kind=Conversion.Kind.LEGACY).aggregate(
        count=Count("id"),
        mean_measured_ssim=Avg("ssim"),
        mean_time_ms=Avg("total_ms"),
        mean_bytes=Avg(_Cast(F("svg_bytes"))),
    )
    failed = records.filter(status=Conversion.Status.FAILED)
    if since is not None:
        failed = failed.filter(created_at__gte=since)
    failures = failed.values("kind").annotate(count=Count("id")).order_by("kind")
    return {
        "since": since.isoformat() if since else None,
        "ai": [_rounded(row) for row in ai],
        "legacy": _rounded(legacy),
        "failures": {row["kind"]: row["count"] for row in failures},
    }


def _rounded(row: Mapping[str, object]) -> dict[str, object]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


class TierPerformance(TypedDict, total=False):
    count: int
    failed: int
    mean_time_ms: float
    max_time_ms: float


class Performance(TypedDict):
    """`recent_performance()`: per-tier figures since a moment."""

    since: str
    tiers: dict[str, TierPerformance]


def recent_performance(since: datetime, scope: QuerySet[Conversion] | None = None) -> Performance:
    """Return per-tier counts, mean and max time and failure counts since a moment.

    `scope`: the records to count (default: all), e.g. the caller's own.
    """
    records = Conversion.objects.all() if scope is None else scope
    rows = (
        records.filter(kind=Conversion.Kind.AI, created_at__gte=since)
        .values("tier", "status")
        .annotate(count=Count("id"), mean_ms=Avg("total_ms"), max_ms=Max("total_ms"))
        .order_by("tier", "status")
    )
    tiers: dict[str, TierPerformance] = {}
    for row in rows:
        entry = tiers.setdefault(str(row["tier"]), {"count": 0, "failed": 0})
        if row["status"] == Conversion.Status.FAILED:
            entry["failed"] += row["count"]
        elif row["status"] == Conversion.Status.SUCCEEDED:  # running ones are not done yet
            entry["count"] = row["count"]
            entry["mean_time_ms"] = round(row["mean_ms"] or 0.0, 1)
            entry["max_time_ms"] = round(row["max_ms"] or 0.0, 1)
    return {"since": since.isoformat(), "tiers": tiers}
