"""svgai settings: every value comes from the environment, with safe defaults.

A fresh checkout runs on embedded SQLite with the models shipped in aimodels/weights;
DATABASE_URL switches to PostgreSQL. `.env.example` lists every variable.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext

# Django's generic classes accept a subscript at run time, as the type checker reads them:
# `admin.ModelAdmin[Conversion]`, `QuerySet[Batch]` (DRF's serializers and views do already).
django_stubs_ext.monkeypatch()

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


def parse_rates(raw: dict[str, str]) -> dict[str, str]:
    """Return throttle rates with "off"/"none"/"" dropped; refuse malformed ones at start-up."""
    rates = {}
    for scope, rate in raw.items():
        value = (rate or "").strip().lower()
        if value in {"", "off", "none", "0"}:
            continue
        num, _, period = value.partition("/")
        if not num.isdigit() or period[:1] not in {"s", "m", "h", "d"}:
            raise ValueError(f"throttle rate {scope}={rate!r}: use e.g. 30/min, 1000/hour or off")
        rates[scope] = value
    return rates


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
    "rest_framework.authtoken",
    "corsheaders",
    "axes",
    "conversions",
    "aimodels",
    "benchmarks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "conversions.permissions.CrossSiteMiddleware",
    "conversions.permissions.ClientIdMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers lockouts raised by the others
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The server and commands (benchmark, convert_folder) write the same file at once: WAL lets
    # readers run beside a writer, IMMEDIATE takes the write lock when a transaction begins (a
    # deferred one that reads first fails at once with "database is locked" when it turns
    # writer), and the busy timeout makes a writer wait for the lock (Django's "SQLite notes").
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_float("SVGAI_SQLITE_TIMEOUT", 30.0),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    # Uploads go through this storage, so workers on other machines read the same files: the
    # local MEDIA_ROOT by default; with several machines a shared bucket, e.g.
    # SVGAI_STORAGE_BACKEND=storages.backends.s3.S3Storage (pip install django-storages[s3])
    # and SVGAI_STORAGE_OPTIONS='{"bucket_name": "svgai", "endpoint_url": "https://..."}'.
    "default": {
        "BACKEND": os.environ.get(
            "SVGAI_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(os.environ.get("SVGAI_STORAGE_OPTIONS") or "{}"),
    },
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
# More workers that take only conversions with a time budget, when the others are all busy: a
# budget of half a second cannot wait behind a batch.
SVGAI_EXPRESS_WORKERS = env_int("SVGAI_EXPRESS_WORKERS", 1)
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
# Nothing moved in any batch this long: open batches are stalled (/health/ says so) and their
# queued items whose messages the broker lost are handed out again by the sweepers.
SVGAI_BATCH_STALL_S = env_float("SVGAI_BATCH_STALL_S", 90.0)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "conversions.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "conversions.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "conversions.parsers.JSONParser",  # refuses lone surrogates, which no UTF-8 answer holds
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Scripts send a token (or nothing); the page and the admin's users a session, whose
    # unsafe requests then need the CSRF token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["conversions.permissions.ApiAccess"],
    # Reads are throttled too (views with throttles of their own replace these).
    "DEFAULT_THROTTLE_CLASSES": [
        "conversions.permissions.ReadAnonThrottle",
        "conversions.permissions.ReadUserThrottle",
    ],
    # Proxies whose X-Forwarded-For is trusted for throttles and quotas (0: the peer address).
    "NUM_PROXIES": env_int("SVGAI_NUM_PROXIES", 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "svgai API",
    "DESCRIPTION": "Raster logos to clean, compact SVG.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components: Swagger then offers a file picker for uploads.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "conversions.schema.strict_request_bodies",
        "conversions.schema.try_it_out",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ConversionStatusEnum": "conversions.models.Conversion.Status",
        "BatchStatusEnum": ["queued", "running", "done", "failed", "cancelled"],
        # output_format, a download's format and a batch's formats: one choice set, one name.
        "OutputFormatEnum": "vectorizer.exports.FORMATS",
    },
}

# Who may see what (conversions/permissions.py). Anonymous use stays on unless required off.
SVGAI_REQUIRE_AUTH = env_bool("SVGAI_REQUIRE_AUTH", default=False)
# Other sites whose pages may call the API (CORS); unsafe requests from any other are refused.
SVGAI_ALLOWED_ORIGINS = [
    o.strip() for o in os.environ.get("SVGAI_ALLOWED_ORIGINS", "").split(",") if o.strip()
]
CORS_ALLOWED_ORIGINS = SVGAI_ALLOWED_ORIGINS
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["Retry-After"]

# Cost limits (conversions/limits.py). Throttle rates: N/sec|min|hour|day, or off.
SVGAI_THROTTLE_RATES = parse_rates(
    {
        "upload_anon": os.environ.get("SVGAI_THROTTLE_UPLOAD_ANON", "30/min"),
        "upload_user": os.environ.get("SVGAI_THROTTLE_UPLOAD_USER", "120/min"),
        "convert_anon": os.environ.get("SVGAI_THROTTLE_CONVERT_ANON", "60/min"),
        "convert_user": os.environ.get("SVGAI_THROTTLE_CONVERT_USER", "300/min"),
        # Reads (GET, HEAD, OPTIONS) of the API; the page polls a batch about once a second.
        "read_anon": os.environ.get("SVGAI_THROTTLE_READ_ANON", "300/min"),
        "read_user": os.environ.get("SVGAI_THROTTLE_READ_USER", "1200/min"),
        # /api/reports/quality aggregates every record it may show: about 0.1 s each.
        "report_anon": os.environ.get("SVGAI_THROTTLE_REPORT_ANON", "20/min"),
        "report_user": os.environ.get("SVGAI_THROTTLE_REPORT_USER", "120/min"),
    }
)
# What one anonymous caller (known by its address) may hold: conversions running at once (then
# 429), seconds one legacy conversion may run, and the largest time_budget of /api/convert-ai
# (then 400; users with a token keep SVGAI_CONVERT_TIMEOUT and the schema's 60 s). 0: no limit.
SVGAI_ANON_MAX_CONCURRENT = env_int("SVGAI_ANON_MAX_CONCURRENT", 2)
SVGAI_ANON_CONVERT_TIMEOUT = env_float("SVGAI_ANON_CONVERT_TIMEOUT", 20.0)
SVGAI_ANON_MAX_TIME_BUDGET = env_float("SVGAI_ANON_MAX_TIME_BUDGET", 10.0)
# The most pixels one conversion may trace, per tier (4.2 MP = 2048²; tier 3 traces many).
SVGAI_PIXEL_BUDGETS = {
    "legacy": env_int("SVGAI_PIXEL_BUDGET_LEGACY", 2048 * 2048),
    "1": env_int("SVGAI_PIXEL_BUDGET_TIER1", 2048 * 2048),
    "2": env_int("SVGAI_PIXEL_BUDGET_TIER2", 2048 * 2048),
    "3": env_int("SVGAI_PIXEL_BUDGET_TIER3", 1448 * 1448),
}
# Per client (user, else address) in any 24 h: bytes and files stored (0 = no limit).
SVGAI_UPLOAD_QUOTA_BYTES = env_int("SVGAI_UPLOAD_QUOTA_BYTES", 200 * 1024 * 1024)
SVGAI_UPLOAD_QUOTA_FILES = env_int("SVGAI_UPLOAD_QUOTA_FILES", 2000)
# `manage.py purge` deletes uploads and records older than this.
SVGAI_RETENTION_DAYS = env_int("SVGAI_RETENTION_DAYS", 30)
# Jobs waiting for a conversion worker: beyond this many, or this long, answer 503 at once.
SVGAI_QUEUE_MAX = env_int("SVGAI_QUEUE_MAX", 32)
SVGAI_QUEUE_WAIT = env_float("SVGAI_QUEUE_WAIT", 45.0)
# ...and a job whose expected wait (jobs ahead ÷ workers × a job's average time) is longer than
# this is refused at once, however many web threads could queue it (0: no such bound).
SVGAI_QUEUE_EXPECTED_WAIT = env_float("SVGAI_QUEUE_EXPECTED_WAIT", 5.0)
# The embedded server (svgai_site/front.py, `make run`): requests are read whole on an event
# loop, then run on this many threads; beyond that many waiting, or no thread within
# SVGAI_WEB_QUEUE_WAIT seconds, 503; a body that has not arrived within SVGAI_BODY_TIMEOUT
# seconds, 408.
SVGAI_WEB_THREADS = env_int("SVGAI_WEB_THREADS", 16)
SVGAI_WEB_QUEUE = env_int("SVGAI_WEB_QUEUE", 16)
SVGAI_WEB_QUEUE_WAIT = env_float("SVGAI_WEB_QUEUE_WAIT", 5.0)
SVGAI_BODY_TIMEOUT = env_float("SVGAI_BODY_TIMEOUT", 60.0)
# ...and a connection whose first request headers are not complete within this many seconds is
# answered 408 and closed (svgai_site/server.py; later requests have gunicorn's keep-alive).
SVGAI_HEADER_TIMEOUT = env_float("SVGAI_HEADER_TIMEOUT", 10.0)
# A conversion still `running` this long after it started belongs to a dead process: it is
# marked failed (0: queue wait + 3 × the conversion timeout). Web processes sweep this often.
SVGAI_STALE_AFTER = env_float("SVGAI_STALE_AFTER", 0.0)
SVGAI_SWEEP_INTERVAL = env_float("SVGAI_SWEEP_INTERVAL", 60.0)

# Monitoring: /metrics for a holder of the token, else for these networks only.
SVGAI_METRICS_TOKEN = os.environ.get("SVGAI_METRICS_TOKEN", "")
SVGAI_METRICS_NETWORKS = [
    n.strip()
    for n in os.environ.get("SVGAI_METRICS_NETWORKS", "127.0.0.1/32,::1/128").split(",")
    if n.strip()
]

# Admin logins: django-axes locks a username at an address after SVGAI_LOGIN_FAILURE_LIMIT
# failures, and the whole address after SVGAI_LOGIN_ADDRESS_FAILURE_LIMIT failures over any
# usernames (password spraying), each for the cool-off (svgai_site/lockout.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
SVGAI_LOGIN_FAILURE_LIMIT = env_int("SVGAI_LOGIN_FAILURE_LIMIT", 5)
SVGAI_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("SVGAI_LOGIN_ADDRESS_FAILURE_LIMIT", 20)
AXES_FAILURE_LIMIT = "svgai_site.lockout.failure_limit"
AXES_COOLOFF_TIME = env_float("SVGAI_LOGIN_COOLOFF_HOURS", 1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = env_int("SVGAI_NUM_PROXIES", 0) or None
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Served over HTTPS (behind a proxy that sets X-Forwarded-Proto): see README "Deploy behind a
# proxy". `manage.py check --deploy` is clean with it on.
SVGAI_HTTPS = env_bool("SVGAI_HTTPS", default=False)
if SVGAI_HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]  # probes from inside the network
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SVGAI_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SVGAI_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SVGAI_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
