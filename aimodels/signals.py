"""Keep the ModelVersion table in step with the weights on disk."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from aimodels import registry


def sync_model_versions(**kwargs: Any) -> None:
    """Register every weights file on disk as a ModelVersion and mirror which one is active."""
    from aimodels.models import ModelVersion

    models_dir = settings.SVGAI_MODELS_DIR
    active = registry.read_active(models_dir)
    for name, (kind, _) in registry.MODELS.items():
        for version in registry.available_versions(models_dir, name):
            path = models_dir / name / f"{version}.pt"
            card = registry.read_card(models_dir, name, version)
            ModelVersion.objects.update_or_create(
                name=name,
                version=version,
                defaults={
                    "kind": kind,
                    "file": str(path.relative_to(models_dir)),
                    "sha256": registry.file_sha256(path),
                    "metrics": card.get("metrics", {}),
                    "trained_on": card.get("trained_on", {}),
                },
            )
        ModelVersion.objects.filter(name=name).exclude(version=active.get(name)).update(
            active=False
        )
        ModelVersion.objects.filter(name=name, version=active.get(name)).update(active=True)
