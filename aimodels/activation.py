"""Which model version is active: the one writer of active.json, and the rule a new one passes.

Three callers switch versions — `train_models` after training, the admin's "Make active" and
tests — and all of them go through `activate()`: it writes active.json (atomically), mirrors
the switch into the `ModelVersion` table when the folder is the configured one, and reloads
this process's registry if it serves that folder (other processes notice on their next look-up).

`release()` is what `train_models` does with a freshly trained model: write its files as a new
version, score it and the active version on the same held-out rows, and activate it only when
it is not worse (unless forced), saying why.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

from aimodels import registry

# Held-out scores a new version must not lose on: (score, higher is better, allowed loss).
# The losses allowed are what retraining moves a score by for nothing: three seeds on the
# shipped training set (1800 rows, 420 held out) gave fidelity MAE 0.013–0.020 and regret
# 0.0013–0.0023; on logos-dev the classifier's accuracy was 0.895–0.910 (399 held-out rows).
# A model trained on a handful of logos loses far more than that.
CRITERIA: dict[str, tuple[tuple[str, bool, float], ...]] = {
    "quality_predictor": (
        ("mean_fidelity_regret", False, 0.001),
        ("fidelity_mae", False, 0.005),
    ),
    "logo_type": (("accuracy", True, 0.015),),
}


def activate(models_dir: Path | str, versions: Mapping[str, str]) -> None:
    """Make each `{name: version}` the active one: active.json, ModelVersion rows, this process.

    Raises ValueError, changing nothing, when a name is unknown or a version has no weights.
    """
    models_dir = Path(models_dir)
    for name, version in versions.items():
        if name not in registry.MODELS:
            raise ValueError(f"Unknown model {name!r}; known: {', '.join(registry.MODELS)}")
        if version not in registry.available_versions(models_dir, name):
            raise ValueError(f"No weights file for {name} {version} in {models_dir}")
    active = {**registry.read_active(models_dir), **versions}
    _write_atomically(
        models_dir / registry.ACTIVE_FILE, json.dumps(active, indent=2, sort_keys=True)
    )
    mirror(models_dir)
    if registry.serving() == models_dir:
        registry.load_all(models_dir)


def mirror(models_dir: Path) -> None:
    """Register the folder's versions, and which is active, in ModelVersion (configured one only).

    The table describes SVGAI_MODELS_DIR; a scratch folder (train_models --out) has no rows.
    """
    if Path(models_dir).resolve() != Path(settings.SVGAI_MODELS_DIR).resolve():
        return
    from aimodels.signals import sync_model_versions

    with transaction.atomic():  # flags move together: one active per name at every commit
        sync_model_versions()


def _write_atomically(path: Path, text: str) -> None:
    # A reader (another process's refresh) sees the old file or the new one, never half of one.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".active-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Verdict:
    """Whether a new version may replace the active one, and why."""

    activate: bool
    reason: str
    scores: dict[str, float] = field(default_factory=dict)
    active_scores: dict[str, float] | None = None


def judge(name: str, scores: Mapping[str, float], active: Mapping[str, float] | None) -> Verdict:
    """Return whether a version scoring `scores` may replace one scoring `active` (None: none)."""
    if active is None:
        return Verdict(True, "no active version to compare with", dict(scores), None)
    losses = []
    for key, higher_is_better, allowed in CRITERIA[name]:
        new, old = scores.get(key), active.get(key)
        if new is None or old is None:
            continue
        loss = (old - new) if higher_is_better else (new - old)
        if loss > allowed:
            losses.append(f"{key} {new:.4f} against the active version's {old:.4f}")
    if losses:
        return Verdict(
            False, "worse on the held-out split: " + "; ".join(losses), dict(scores), dict(active)
        )
    compared = ", ".join(
        f"{key} {scores[key]:.4f} (active {active[key]:.4f})"
        for key, _, _ in CRITERIA[name]
        if key in scores and key in active
    )
    return Verdict(True, f"not worse on the held-out split: {compared}", dict(scores), dict(active))


class Trained(Protocol):
    """A trained model ready to become a version (aimodels.ml.training.TrainedModel)."""

    name: str
    model: Any  # has .save(path) and a .metrics dict
    metrics: dict[str, object]
    trained_on: dict[str, object]

    # Held-out scores of any version of this model, on the rows this one was tested on (a
    # method, so a dataclass field holding a function satisfies it as well).
    def score(self, model: Any, /) -> dict[str, float]: ...


@dataclass(frozen=True)
class Release:
    """What release() did with one trained model."""

    name: str
    version: str
    activated: bool
    reason: str
    previous: str = ""  # the version active before
    scores: dict[str, float] = field(default_factory=dict)
    active_scores: dict[str, float] | None = None


def release(
    models_dir: Path | str, trained: Sequence[Trained], *, force: bool = False, stamp: str = ""
) -> list[Release]:
    """Write each trained model as a new version; activate those not worse than the active one.

    With `force`, every new version is activated and the comparison is only reported.
    """
    models_dir = Path(models_dir)
    version = f"v{stamp or datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    previous = registry.read_active(models_dir)
    releases, winners = [], {}
    for item in trained:
        verdict = _compare(models_dir, item, previous.get(item.name))
        chosen = verdict.activate or force
        reason = verdict.reason
        if force and not verdict.activate:
            reason = f"activated by --activate although {reason}"
        _write_version(models_dir, item, version, verdict)
        if chosen:
            winners[item.name] = version
        releases.append(
            Release(
                name=item.name,
                version=version,
                activated=chosen,
                reason=reason,
                previous=previous.get(item.name, ""),
                scores=verdict.scores,
                active_scores=verdict.active_scores,
            )
        )
    if winners:
        activate(models_dir, winners)
    else:
        mirror(models_dir)
    return releases


def _compare(models_dir: Path, item: Trained, active_version: str | None) -> Verdict:
    scores = item.score(item.model)
    if not active_version:
        return judge(item.name, scores, None)
    entry = registry.load_version(models_dir, item.name, active_version)
    if not entry.loaded:
        return Verdict(
            True, f"the active version {active_version} does not load ({entry.error})", scores
        )
    try:
        active_scores = item.score(entry.model)
    except Exception as exc:  # other features or candidate encoding: it cannot run on these rows
        return Verdict(
            True,
            f"the active version {active_version} cannot read the held-out rows ({exc})",
            scores,
        )
    return judge(item.name, scores, active_scores)


def _write_version(models_dir: Path, item: Trained, version: str, verdict: Verdict) -> None:
    folder = models_dir / item.name
    folder.mkdir(parents=True, exist_ok=True)
    item.model.metrics = item.metrics
    item.model.save(folder / f"{version}.pt")
    card = {
        "metrics": item.metrics,
        "trained_on": item.trained_on,
        "created": version.removeprefix("v"),
        "held_out_comparison": {
            "scores": verdict.scores,
            "active_scores": verdict.active_scores,
            "not_worse": verdict.activate,
            "reason": verdict.reason,
        },
    }
    (folder / f"{version}.json").write_text(json.dumps(card, indent=2) + "\n")
