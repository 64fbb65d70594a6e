"""svgai settings: every value comes from the environment, with safe defaults.

A fresh checkout runs on embedded SQLite with the models shipped in aimodels/weights;
DATABASE_URL switches to PostgreSQL. `.env.example` lists every variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, *, default: bool) -> bool:
    """Return a boolean variable, refusing values that are neither true nor false."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise ValueError(f"{name}={raw!r}: use one of {sorted(_TRUE | _FALSE)}")
    return value in _TRUE


def env_int(name: str, default: int) -> int:
    """Return an integer variable."""
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    """Return a float variable."""
    return float(os.environ.get(name, default))


def _secret_key() -> str:
    """Return SECRET_KEY from the environment, else one generated once into an untracked file."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(os.environ.get("SVGAI_SECRET_KEY_FILE", BASE_DIR / ".secret_key"))
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "health_check",
    "conversions",
    "aimodels",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "svgai_site.urls"
WSGI_APPLICATION = "svgai_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# A missing manifest entry (runserver before collectstatic) serves the unhashed file, not a 500.
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"

# Uploads: Django refuses bigger request bodies before we read them.
SVGAI_MAX_UPLOAD_BYTES = env_int("SVGAI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
SVGAI_MAX_PIXELS = env_int("SVGAI_MAX_PIXELS", 4096 * 4096)
DATA_UPLOAD_MAX_MEMORY_SIZE = SVGAI_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = SVGAI_MAX_UPLOAD_BYTES + 1024 * 1024
# Conversion workers: separate processes, so a vtracer panic or hang fails one conversion only.
SVGAI_WORKERS = env_int("SVGAI_WORKERS", 2)
SVGAI_CONVERT_TIMEOUT = env_float("SVGAI_CONVERT_TIMEOUT", 60.0)
SVGAI_WORKER_MEMORY_MB = env_int("SVGAI_WORKER_MEMORY_MB", 3072)
SVGAI_MODELS_DIR = Path(os.environ.get("SVGAI_MODELS_DIR", BASE_DIR / "aimodels" / "weights"))
# Batches. No broker configured: a local pool inside the app runs the items, same task code.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 2)
# An item's message is acknowledged after its work, and requeued when its worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a busy worker does not hoard items others could run
CELERY_TASK_IGNORE_RESULT = True  # results live in the database
CELERY_TASK_SERIALIZER = "json"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands an unacknowledged item (its worker's machine died) to another worker after
    # this long; an item still running then is protected by its heartbeat, never run twice.
    "visibility_timeout": env_int("SVGAI_BROKER_VISIBILITY_TIMEOUT", 600),
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}
SVGAI_BATCH_MAX_ITEMS = env_int("SVGAI_BATCH_MAX_ITEMS", 1000)
SVGAI_BATCH_MAX_BYTES = env_int("SVGAI_BATCH_MAX_BYTES", 200 * 1024 * 1024)  # as sent
SVGAI_BATCH_MAX_UNCOMPRESSED_BYTES = env_int("SVGAI_BATCH_MAX_UNCOMPRESSED_BYTES", 1024**3)
SVGAI_BATCH_LOCAL_CONCURRENCY = env_int("SVGAI_BATCH_LOCAL_CONCURRENCY", SVGAI_WORKERS)
SVGAI_BATCH_SOFT_TIME_LIMIT = env_float("SVGAI_BATCH_SOFT_TIME_LIMIT", 300.0)
SVGAI_BATCH_TIME_LIMIT = env_float("SVGAI_BATCH_TIME_LIMIT", 360.0)
SVGAI_BATCH_HEARTBEAT_S = env_float("SVGAI_BATCH_HEARTBEAT_S", 5.0)
SVGAI_BATCH_STALE_S = env_float("SVGAI_BATCH_STALE_S", 60.0)  # no heartbeat: the runner died
SVGAI_BATCH_MAX_ATTEMPTS = env_int("SVGAI_BATCH_MAX_ATTEMPTS", 3)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "conversions.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # The API is used by scripts with no session; the admin keeps its own CSRF protection.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "svgai API",
    "DESCRIPTION": "Raster logos to clean, compact SVG.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "SAMEORIGIN"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
