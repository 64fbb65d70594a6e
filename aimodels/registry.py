"""The in-process model registry: which trained models are loaded, from which files.

Weights live on disk as `<models dir>/<name>/<version>.pt` beside `<version>.json` (metrics,
what they were trained on), and `<models dir>/active.json` maps each name to its active version.
Files, not the database, are the source at load time because `ready()` runs for every command
and must not query; the `ModelVersion` table mirrors them for the admin, and switching the
active version there rewrites `active.json`, which every process notices on its next `get()`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ACTIVE_FILE = "active.json"


def _load_classifier(path: Path) -> Any:
    from aimodels.ml.classifier import LogoTypeModel

    return LogoTypeModel.load(path)


def _load_predictor(path: Path) -> Any:
    from aimodels.ml.predictor import QualityPredictor

    return QualityPredictor.load(path)


# name -> (kind, loader). Loaders import torch lazily so a process that never converts with AI
# (a migration, a shell) pays nothing for it.
MODELS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "logo_type": ("classifier", _load_classifier),
    "quality_predictor": ("predictor", _load_predictor),
}


@dataclass
class LoadedModel:
    name: str
    kind: str
    version: str = ""
    path: Path | None = None
    sha256: str = ""
    model: Any = None
    load_time_ms: float = 0.0
    error: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_on: dict[str, Any] = field(default_factory=dict)

    @property
    def loaded(self) -> bool:
        return self.model is not None


_lock = threading.RLock()
_models: dict[str, LoadedModel] = {}
_state: dict[str, Any] = {"dir": None, "active_mtime": None}


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_active(models_dir: Path) -> dict[str, str]:
    """Return {name: version} from active.json, else the newest version of each name on disk."""
    active_path = models_dir / ACTIVE_FILE
    active: dict[str, str] = {}
    if active_path.exists():
        try:
            active = {str(k): str(v) for k, v in json.loads(active_path.read_text()).items()}
        except (OSError, ValueError) as exc:
            logger.error("cannot read %s: %s", active_path, exc)
    for name in MODELS:
        if name not in active:
            versions = available_versions(models_dir, name)
            if versions:
                active[name] = versions[-1]
    return active


def available_versions(models_dir: Path, name: str) -> list[str]:
    """Return the versions of a model found on disk, oldest first."""
    folder = models_dir / name
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []


def read_card(models_dir: Path, name: str, version: str) -> dict[str, Any]:
    """Return the metadata written beside a weights file (metrics, trained_on)."""
    card = models_dir / name / f"{version}.json"
    try:
        return json.loads(card.read_text()) if card.exists() else {}
    except ValueError:
        return {}


def load_all(models_dir: Path | str) -> dict[str, LoadedModel]:
    """Load the active version of every model from `models_dir`; failures are recorded."""
    models_dir = Path(models_dir)
    with _lock:
        _state["dir"] = models_dir
        _state["active_mtime"] = _active_mtime(models_dir)
        active = read_active(models_dir)
        for name, (kind, loader) in MODELS.items():
            _models[name] = _load_one(models_dir, name, kind, active.get(name, ""), loader)
        return dict(_models)


def _load_one(
    models_dir: Path, name: str, kind: str, version: str, loader: Callable[[Path], Any]
) -> LoadedModel:
    entry = LoadedModel(name=name, kind=kind, version=version)
    if not version:
        entry.error = f"no weights for {name} in {models_dir}; run manage.py train_models"
        logger.warning(entry.error)
        return entry
    path = models_dir / name / f"{version}.pt"
    entry.path = path
    card = read_card(models_dir, name, version)
    entry.metrics = card.get("metrics", {})
    entry.trained_on = card.get("trained_on", {})
    started = time.perf_counter()
    try:
        entry.sha256 = file_sha256(path)
        entry.model = loader(path)
    except Exception as exc:  # a bad file must not stop the server; it is reported instead
        entry.error = f"cannot load {path.name}: {exc}"
        logger.error("model %s: %s", name, entry.error)
    entry.load_time_ms = (time.perf_counter() - started) * 1000
    return entry


def _active_mtime(models_dir: Path) -> float | None:
    try:
        return (models_dir / ACTIVE_FILE).stat().st_mtime
    except OSError:
        return None


def _refresh_if_switched() -> None:
    """Reload when another process rewrote active.json (the admin switched a version)."""
    models_dir = _state["dir"]
    if models_dir is not None and _active_mtime(models_dir) != _state["active_mtime"]:
        load_all(models_dir)


def get(name: str) -> Any | None:
    """Return the loaded model called `name`, or None when it is unavailable."""
    with _lock:
        _refresh_if_switched()
        entry = _models.get(name)
        return entry.model if entry is not None else None


def status() -> dict[str, LoadedModel]:
    """Return every known model's load status."""
    with _lock:
        _refresh_if_switched()
        return dict(_models)


def versions() -> dict[str, str]:
    """Return {name: version} of the loaded models (what a conversion records)."""
    return {name: entry.version for name, entry in status().items() if entry.loaded}


def activate(models_dir: Path, name: str, version: str) -> None:
    """Make `version` the active one for `name` on disk and reload in this process."""
    if version not in available_versions(models_dir, name):
        raise ValueError(f"{name} has no version {version} in {models_dir}")
    active = read_active(models_dir)
    active[name] = version
    (models_dir / ACTIVE_FILE).write_text(json.dumps(active, indent=2, sort_keys=True) + "\n")
    load_all(models_dir)
