"""The in-process model registry: which trained models are loaded, from which files.

Weights live on disk as `<models dir>/<name>/<version>.pt` beside `<version>.json` (metrics,
what they were trained on), and `<models dir>/active.json` maps each name to its active version.
Files, not the database, are the source at load time: a worker process must not need the
database to start. The `ModelVersion` table mirrors them for the admin; `aimodels.activation`
is the one writer of `active.json`, and every process notices a switch on its next look-up.

The request path asks by kind, `quality_predictor()` and `logo_classifier()`, each typed by its
protocol in `vectorizer.protocols`; `get(name)` returns whatever is served under a name.

Server processes (gunicorn and runserver through `svgai_site.wsgi`, Celery workers through
`svgai_site.celery`) call `ensure_loaded()` at start. Anything else — `migrate`, `check`, a
shell — pays nothing for torch until it first asks for a model: a look-up loads lazily.

Tests and notebooks put their own models in with `install()`/`remove()` inside `override()`,
which restores whatever the process had before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vectorizer.protocols import LogoTypeModel, QualityModel

logger = logging.getLogger(__name__)

ACTIVE_FILE = "active.json"


def _load_classifier(path: Path) -> LogoTypeModel:
    from aimodels.ml import classifier

    return classifier.LogoTypeModel.load(path)


def _load_predictor(path: Path) -> QualityModel:
    from aimodels.ml.predictor import QualityPredictor

    return QualityPredictor.load(path)


# name -> (kind, loader). Loaders import torch lazily so a process that never converts with AI
# (a migration, a shell) pays nothing for it.
MODELS: dict[str, tuple[str, Callable[[Path], object]]] = {
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
    model: object | None = None
    load_time_ms: float = 0.0
    error: str = ""
    # The card beside the weights, as JSON: shown and stored, never read for a decision.
    metrics: dict[str, object] = field(default_factory=dict)
    trained_on: dict[str, object] = field(default_factory=dict)

    @property
    def loaded(self) -> bool:
        return self.model is not None


@dataclass
class _Registry:
    models: dict[str, LoadedModel] = field(default_factory=dict)
    # The folder the models came from, watched for switches; None after install() or before
    # anything was loaded.
    folder: Path | None = None
    active_mtime: float | None = None
    # False until load_all() or install(): then get() stops loading lazily.
    configured: bool = False


@dataclass(frozen=True)
class Snapshot:
    """What the registry held at one moment (see snapshot() and restore())."""

    models: dict[str, LoadedModel]
    folder: Path | None
    active_mtime: float | None
    configured: bool


_lock = threading.RLock()
_registry = _Registry()


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_active(models_dir: Path) -> dict[str, str]:
    """Return {name: version} from active.json, else the newest version of each name on disk."""
    active_path = Path(models_dir) / ACTIVE_FILE
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
    folder = Path(models_dir) / name
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []


def read_card(models_dir: Path, name: str, version: str) -> dict[str, object]:
    """Return the metadata written beside a weights file (metrics, trained_on)."""
    card = Path(models_dir) / name / f"{version}.json"
    try:
        return json.loads(card.read_text()) if card.exists() else {}
    except ValueError:
        return {}


def load_version(models_dir: Path, name: str, version: str | None = None) -> LoadedModel:
    """Return one version of a model read from disk (default: the active one), not installed.

    A failure is recorded in the entry's `error`; the registry's own state is not touched.
    """
    models_dir = Path(models_dir)
    kind, loader = MODELS[name]
    if version is None:
        version = read_active(models_dir).get(name, "")
    entry = LoadedModel(name=name, kind=kind, version=version)
    if not version:
        entry.error = f"no weights for {name} in {models_dir}; run manage.py train_models"
        return entry
    path = models_dir / name / f"{version}.pt"
    entry.path = path
    card = read_card(models_dir, name, version)
    metrics, trained_on = card.get("metrics"), card.get("trained_on")
    entry.metrics = metrics if isinstance(metrics, dict) else {}
    entry.trained_on = trained_on if isinstance(trained_on, dict) else {}
    started = time.perf_counter()
    try:
        entry.sha256 = file_sha256(path)
        entry.model = loader(path)
    except Exception as exc:  # a bad file must not stop the server; it is reported instead
        entry.error = f"cannot load {path.name}: {exc}"
    entry.load_time_ms = (time.perf_counter() - started) * 1000
    return entry


def load_all(models_dir: Path | str) -> dict[str, LoadedModel]:
    """Load the active version of every model from `models_dir`; failures are recorded."""
    models_dir = Path(models_dir)
    with _lock:
        _registry.folder = models_dir
        _registry.active_mtime = _active_mtime(models_dir)
        _registry.configured = True
        for name in MODELS:
            entry = load_version(models_dir, name)
            if entry.error:  # missing weights are a warning, a file that will not load an error
                log = logger.error if entry.path is not None else logger.warning
                log("model %s: %s", name, entry.error)
            _registry.models[name] = entry
        return dict(_registry.models)


def ensure_loaded() -> dict[str, LoadedModel]:
    """Load the models of SVGAI_MODELS_DIR unless this process has its models already.

    Server processes call it at start, so the first conversion is not the slow one; `get()`
    calls it too, so a command that converts (benchmark, convert) still finds its models.
    """
    with _lock:
        if not _registry.configured:
            from django.conf import settings

            load_all(settings.SVGAI_MODELS_DIR)
        return dict(_registry.models)


def serving() -> Path | None:
    """Return the folder this process's models come from (None: none yet, or installed)."""
    with _lock:
        return _registry.folder


def _active_mtime(models_dir: Path) -> float | None:
    try:
        return (models_dir / ACTIVE_FILE).stat().st_mtime
    except OSError:
        return None


def refresh() -> None:
    """Reload when active.json changed since the models were loaded (a version was switched)."""
    with _lock:
        folder = _registry.folder
        if folder is not None and _active_mtime(folder) != _registry.active_mtime:
            load_all(folder)


def get(name: str) -> object | None:
    """Return the model served as `name`, whatever its kind, or None when it is unavailable."""
    with _lock:
        ensure_loaded()
        refresh()
        entry = _registry.models.get(name)
        return entry.model if entry is not None else None


def quality_predictor() -> QualityModel | None:
    """Return the served quality predictor, or None when it is unavailable."""
    model = get("quality_predictor")
    if model is None or isinstance(model, QualityModel):
        return model
    raise _wrong_kind("quality_predictor", model, QualityModel)


def logo_classifier() -> LogoTypeModel | None:
    """Return the served logo-type classifier, or None when it is unavailable."""
    model = get("logo_type")
    if model is None or isinstance(model, LogoTypeModel):
        return model
    raise _wrong_kind("logo_type", model, LogoTypeModel)


def _wrong_kind(name: str, model: object, kind: type) -> TypeError:
    """Return the error for a model installed under the name of another kind (a bug)."""
    served = type(model).__name__
    return TypeError(f"the model served as {name} is a {served}, not a {kind.__name__}")


def status() -> dict[str, LoadedModel]:
    """Return every known model's load status, loading nothing (a probe must stay cheap).

    In a process that has not needed a model yet, each says so in its `error`.
    """
    with _lock:
        refresh()
        found = dict(_registry.models)
        configured = _registry.configured
    why = "not installed" if configured else "not loaded yet: this process loads it on first use"
    for name, (kind, _) in MODELS.items():
        found.setdefault(name, LoadedModel(name=name, kind=kind, error=f"{name} {why}"))
    return found


def versions() -> dict[str, str]:
    """Return {name: version} of the loaded models (what a conversion records)."""
    return {name: entry.version for name, entry in status().items() if entry.loaded}


# --- putting models in by hand (tests, notebooks) ------------------------------------------


def install(name: str, model: object, version: str = "installed") -> None:
    """Serve `model` as `name` in this process, in place of any file; the folder is unwatched.

    Unwatched, so a version switched on disk cannot replace it mid-test. Other names keep what
    they had (nothing, in a process that never loaded).
    """
    kind = MODELS[name][0]
    with _lock:
        _registry.folder = None
        _registry.configured = True
        _registry.models[name] = LoadedModel(name=name, kind=kind, version=version, model=model)


def remove(name: str, reason: str = "") -> None:
    """Serve no model as `name` in this process, as if its weights were missing."""
    kind = MODELS[name][0]
    with _lock:
        _registry.folder = None
        _registry.configured = True
        _registry.models[name] = LoadedModel(
            name=name, kind=kind, error=reason or f"{name} removed by hand"
        )


def snapshot() -> Snapshot:
    """Return what the registry holds now, for restore()."""
    with _lock:
        return Snapshot(
            models=dict(_registry.models),
            folder=_registry.folder,
            active_mtime=_registry.active_mtime,
            configured=_registry.configured,
        )


def restore(saved: Snapshot) -> None:
    """Put back what snapshot() saw."""
    with _lock:
        _registry.models = dict(saved.models)
        _registry.folder = saved.folder
        _registry.active_mtime = saved.active_mtime
        _registry.configured = saved.configured


@contextmanager
def override(**models: object | None) -> Iterator[None]:
    """Within the block, serve the given models by name (None removes one); restore after.

    `with registry.override(quality_predictor=fake):` — also usable bare, to keep whatever a
    block installs, removes or loads from escaping it.
    """
    saved = snapshot()
    try:
        for name, model in models.items():
            if model is None:
                remove(name)
            else:
                install(name, model)
        yield
    finally:
        restore(saved)
