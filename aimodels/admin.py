"""Admin for trained model versions: what is on disk, how good it is, and which one is active.

Rows mirror the weights folder (aimodels.signals.sync_model_versions), so they are read-only
here; the one change the admin makes is "Make active", which goes through
`aimodels.activation.activate` like every switch: active.json, the flags, the registry.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from aimodels import activation
from aimodels.models import ModelVersion

SUMMARY_METRICS = 4


def _format_metric(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (dict, list)):
        return "…"
    return str(value)


def pretty_json(value: Any) -> SafeString:
    """Return a JSON field as indented, escaped HTML for a read-only admin field."""
    if not value:
        return format_html("<span>{}</span>", "—")
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre style="margin:0;white-space:pre-wrap">{}</pre>', text)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = [
        "name",
        "kind",
        "version",
        "active",
        "key_metrics",
        "sha256_prefix",
        "created_at",
    ]
    list_filter = ["name", "kind", "active"]
    search_fields = ["name", "version", "sha256"]
    actions = ["make_active"]
    fields = [
        "name",
        "kind",
        "version",
        "active",
        "file",
        "sha256",
        "metrics_pretty",
        "trained_on_pretty",
        "created_at",
    ]
    # Every field describes a file on disk; `active` changes only through the action, so the
    # flag can never disagree with active.json.
    readonly_fields = flatten(fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from the weights folder (post_migrate sync)

    def has_change_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        return False

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("aimodels.change_modelversion")

    @admin.display(description="Key metrics")
    def key_metrics(self, version: ModelVersion) -> str:
        items = list((version.metrics or {}).items())[:SUMMARY_METRICS]
        return " · ".join(f"{key} {_format_metric(value)}" for key, value in items) or "—"

    @admin.display(description="sha256", ordering="sha256")
    def sha256_prefix(self, version: ModelVersion) -> str:
        return version.sha256[:12]

    @admin.display(description="Metrics")
    def metrics_pretty(self, version: ModelVersion) -> SafeString:
        return pretty_json(version.metrics)

    @admin.display(description="Trained on")
    def trained_on_pretty(self, version: ModelVersion) -> SafeString:
        return pretty_json(version.trained_on)

    @admin.action(description="Make active", permissions=["activate"])
    def make_active(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        chosen = list(queryset.order_by("name"))
        twice = sorted(name for name, count in Counter(v.name for v in chosen).items() if count > 1)
        if twice:
            self.message_user(
                request,
                f"Select one version per model; you selected several of {', '.join(twice)}. "
                "Nothing was changed.",
                messages.ERROR,
            )
            return
        models_dir = Path(settings.SVGAI_MODELS_DIR)
        try:
            activation.activate(models_dir, {v.name: v.version for v in chosen})
        except ValueError as exc:
            self.message_user(request, f"{exc}. Nothing was changed.", messages.ERROR)
            return
        self.message_user(
            request,
            "Active now: " + ", ".join(f"{v.name} {v.version}" for v in chosen) + ".",
            messages.SUCCESS,
        )
