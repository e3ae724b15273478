"""VidSort settings: one module, driven by environment variables.

Every variable is documented in the README's configuration table. A bad value raises
ImproperlyConfigured naming the variable and what it accepts, so a typo in a deployment
fails at start-up instead of half-working.
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be between {minimum} and {maximum}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(choices)}.")
    return value


# --- Folders -------------------------------------------------------------------------

DATA_DIR = Path(env_str("VIDSORT_DATA_DIR", str(BASE_DIR / "data"))).expanduser().resolve()
try:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(
        f"VIDSORT_DATA_DIR={str(DATA_DIR)!r} cannot be created ({exc.strerror}); "
        "set it to a writable folder."
    ) from None

# The library root. Empty means "not configured": the run command then generates the
# demo library and points this at it.
_library = env_str("VIDSORT_LIBRARY", "").strip()
VIDSORT_LIBRARY: Path | None = Path(_library).expanduser().resolve() if _library else None
if VIDSORT_LIBRARY is not None and VIDSORT_LIBRARY.exists() and not VIDSORT_LIBRARY.is_dir():
    raise ImproperlyConfigured(
        f"VIDSORT_LIBRARY={_library!r} is a file; it must be the folder holding your videos."
    )

# --- Core Django ---------------------------------------------------------------------


def _load_or_create_secret_key() -> str:
    """Generate the key once and keep it in the data folder so sessions survive restarts."""
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


SECRET_KEY = os.environ.get("SECRET_KEY") or _load_or_create_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "labeling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost after security: JSON errors under /api/ wherever they are raised.
    "labeling.middleware.ApiErrorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "vidsort_site.urls"
WSGI_APPLICATION = "vidsort_site.wsgi.application"
ASGI_APPLICATION = "vidsort_site.asgi.application"

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

# --- Database ------------------------------------------------------------------------

_default_db_url = f"sqlite:///{DATA_DIR / 'vidsort.sqlite3'}"
_database_url = env_str("DATABASE_URL", _default_db_url).strip() or _default_db_url
_db_scheme = urlparse(_database_url).scheme
if _db_scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {_db_scheme!r} is not supported; use sqlite:///path or "
        "postgres://user@host:5432/name."
    )
try:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs a web server and a worker on one SQLite file: wait for
    # the other writer instead of failing with "database is locked", and use WAL so
    # readers never block the writer.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
if TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(
        f"TIME_ZONE={TIME_ZONE!r} is not an IANA time zone name (for example UTC or Europe/Paris)."
    )
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
# Created up front so whitenoise does not warn before the first collectstatic.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# --- REST framework --------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    # Signed in, and the view's `roles_required` role in the library (docs/team.md).
    "DEFAULT_PERMISSION_CLASSES": ["labeling.api.access.LibraryRolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "labeling.api.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
}

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "VidSort API",
    "DESCRIPTION": "Sort a video library with CLIP embeddings and active learning.",
    "VERSION": "0.1.0",
}

# --- Celery ----------------------------------------------------------------------------
# The embedded default is kombu's filesystem transport: no server, messages are files in
# the data folder. Anything that matters (job state, progress, errors) lives in the
# database, so no result backend is configured.

BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://").strip() or "filesystem://"
_broker_scheme = urlparse(CELERY_BROKER_URL).scheme
if _broker_scheme not in {"filesystem", "redis", "rediss", "amqp", "memory"}:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL scheme {_broker_scheme!r} is not supported; use "
        "filesystem:// (embedded default), redis://host:6379/0 or amqp://…"
    )
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if _broker_scheme == "filesystem":
    # control: the exchange tables (pidbox, events); kombu's default is ./control, the
    # current folder, and kombu creates only its last level.
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "labeling.tasks.embeddings_extract_chunk": {"queue": "gpu"},
    # The encoder auto-check before a retrain's first extract chunk loads the model too.
    "labeling.tasks.embeddings_extract_prepare": {"queue": "gpu"},
    "labeling.tasks.predictions_compute": {"queue": "gpu"},
    # Transcripts and on-screen text (docs/text.md): CPU work that must never hold up sorting.
    "labeling.tasks.text_extract_chunk": {"queue": "text"},
    # Playable proxies (ffmpeg): CPU work in the background too.
    "labeling.tasks.proxy_make_task": {"queue": "text"},
}
if _broker_scheme.startswith("redis"):
    # Longer than the longest hard time limit (scan: 3700 s), or Redis would re-deliver a
    # task that is still running to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "mark-lost-jobs": {"task": "labeling.tasks.jobs_mark_lost", "schedule": 30.0},
}
# Periodic scan of VIDSORT_LIBRARY (files added, moved or removed outside VidSort), every
# VIDSORT_SCAN_INTERVAL_SECONDS; 0 turns it off. A re-scan of an unchanged library only
# stats files. Skipped while a scan or retrain (which scans first) is active.
VIDSORT_SCAN_INTERVAL_SECONDS = env_int("VIDSORT_SCAN_INTERVAL_SECONDS", 3600, minimum=0)
if VIDSORT_SCAN_INTERVAL_SECONDS:
    CELERY_BEAT_SCHEDULE["scan-library"] = {
        "task": "labeling.tasks.library_scan_periodic",
        "schedule": float(VIDSORT_SCAN_INTERVAL_SECONDS),
    }
# Periodic crash recovery of the sort journal: finish or roll back moves left open for
# more than five minutes (a killed worker or web process), every
# VIDSORT_RECONCILE_INTERVAL_SECONDS; 0 turns it off. Cheap when nothing is open.
VIDSORT_RECONCILE_INTERVAL_SECONDS = env_int("VIDSORT_RECONCILE_INTERVAL_SECONDS", 600, minimum=0)
if VIDSORT_RECONCILE_INTERVAL_SECONDS:
    CELERY_BEAT_SCHEDULE["reconcile-moves"] = {
        "task": "labeling.tasks.moves_reconcile_task",
        "schedule": float(VIDSORT_RECONCILE_INTERVAL_SECONDS),
        # The configured library; the periodic scan, not this task, re-syncs the rest.
        "kwargs": {"scan": False},
    }
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- VidSort ---------------------------------------------------------------------------

VIDSORT_CLIP_MODEL = env_str("VIDSORT_CLIP_MODEL", "ViT-B-32")
# The tiny offline/test model exists only with random weights, so its default is none.
VIDSORT_CLIP_PRETRAINED = env_str(
    "VIDSORT_CLIP_PRETRAINED", "" if VIDSORT_CLIP_MODEL == "vidsort-tiny" else "laion2b_s34b_b79k"
)
VIDSORT_DEVICE = env_choice("VIDSORT_DEVICE", "auto", ("auto", "cuda", "mps", "cpu"))
# What runs the image tower: torch | onnx | onnx-int8 | auto (docs/extraction.md, "Runtimes";
# auto = what `manage.py vidsort_encoder_check` measured best here, else onnx on a CPU).
VIDSORT_ENCODER_RUNTIME = env_choice(
    "VIDSORT_ENCODER_RUNTIME", "auto", ("auto", "torch", "onnx", "onnx-int8")
)
# With auto and no check stored for this machine, the worker runs the check itself once, on
# a few of the library's videos, before a retrain's first extract chunk (docs/extraction.md).
VIDSORT_ENCODER_AUTO_CHECK = env_bool("VIDSORT_ENCODER_AUTO_CHECK", True)
VIDSORT_FRAMES = env_int("VIDSORT_FRAMES", 8, minimum=1)
VIDSORT_SAMPLING = env_choice("VIDSORT_SAMPLING", "fast", ("fast", "exact"))
VIDSORT_BATCH_SIZE = env_int("VIDSORT_BATCH_SIZE", 64, minimum=1)
# Videos per extraction task: each chunk is one Celery task any worker (on any GPU host) can
# take; big enough to amortise the decode pool's start-up.
VIDSORT_EXTRACT_CHUNK = env_int("VIDSORT_EXTRACT_CHUNK", 256, minimum=1)
VIDSORT_MODEL_CACHE = Path(env_str("VIDSORT_MODEL_CACHE", str(DATA_DIR / "models")))
VIDSORT_SCAN_WORKERS = env_int("VIDSORT_SCAN_WORKERS", os.cpu_count() or 2, minimum=1)
VIDSORT_JOB_STALE_SECONDS = env_int("VIDSORT_JOB_STALE_SECONDS", 120, minimum=2)
VIDSORT_HEARTBEAT_SECONDS = env_float("VIDSORT_HEARTBEAT_SECONDS", 10.0, minimum=0.1, maximum=3600)
VIDSORT_AUTO_RETRAIN_LABELS = env_int("VIDSORT_AUTO_RETRAIN_LABELS", 0, minimum=0)
VIDSORT_HASH = env_choice("VIDSORT_HASH", "sampled", ("sampled", "full"))
VIDSORT_LOW_CONFIDENCE = env_float("VIDSORT_LOW_CONFIDENCE", 0.70, minimum=0.0, maximum=1.0)
# What is said and written (docs/text.md): transcripts and on-screen text, per content hash.
VIDSORT_TRANSCRIBER = env_choice(
    "VIDSORT_TRANSCRIBER", "pocketsphinx", ("pocketsphinx", "faster-whisper", "off")
)
VIDSORT_WHISPER_MODEL = env_str("VIDSORT_WHISPER_MODEL", "").strip() or "base"
VIDSORT_TRANSCRIBE_MAX_SECONDS = env_float(
    "VIDSORT_TRANSCRIBE_MAX_SECONDS", 600.0, minimum=1.0, maximum=86400.0
)
VIDSORT_OCR = env_choice("VIDSORT_OCR", "rapidocr", ("rapidocr", "off"))
VIDSORT_OCR_FRAMES = env_int("VIDSORT_OCR_FRAMES", 8, minimum=1)
VIDSORT_TEXT_CHUNK = env_int("VIDSORT_TEXT_CHUNK", 32, minimum=1)
VIDSORT_TEXT_WEIGHT = env_float("VIDSORT_TEXT_WEIGHT", 1.0, minimum=0.0, maximum=100.0)

VIDSORT_LOG_LEVEL = env_str("VIDSORT_LOG_LEVEL", "INFO").strip().upper() or "INFO"
if VIDSORT_LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(
        f"VIDSORT_LOG_LEVEL={VIDSORT_LOG_LEVEL!r} is not one of: DEBUG, INFO, WARNING, ERROR, CRITICAL."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "labeling": {
            "handlers": ["console"],
            "level": VIDSORT_LOG_LEVEL,
            "propagate": False,
        },
        "mlpipeline": {
            "handlers": ["console"],
            "level": VIDSORT_LOG_LEVEL,
            "propagate": False,
        },
    },
}

# --- Deployment behind nginx (docs/deploy.md) ------------------------------------------
# When set (the docker-compose stack sets /_protected/library), the video view authorises
# the request and answers with X-Accel-Redirect: <prefix>/<path in VIDSORT_LIBRARY>, and
# nginx's internal location of that prefix sends the bytes and handles Range. Empty (the
# embedded default): Django streams the bytes itself.
VIDSORT_ACCEL_REDIRECT_PREFIX = env_str("VIDSORT_ACCEL_REDIRECT_PREFIX", "").strip().rstrip("/")
if VIDSORT_ACCEL_REDIRECT_PREFIX and (
    not VIDSORT_ACCEL_REDIRECT_PREFIX.startswith("/")
    or any(ch in VIDSORT_ACCEL_REDIRECT_PREFIX for ch in "?#%\\ ")
):
    raise ImproperlyConfigured(
        f"VIDSORT_ACCEL_REDIRECT_PREFIX={VIDSORT_ACCEL_REDIRECT_PREFIX!r} must be a URL path "
        "starting with '/' (e.g. /_protected/library), matching nginx's internal location."
    )
# --- End of deployment settings ---------------------------------------------------------

# --- API and security (docs/api.md) -----------------------------------------------------
# Owned by the API work: the OpenAPI schema and its offline Swagger UI, login throttling,
# and the SECURE_* settings. `manage.py check --deploy` is clean with DEBUG=0, a long
# SECRET_KEY and ALLOWED_HOSTS set; each deliberate exception is silenced below, and
# docs/api.md says why.

# Swagger UI from the installed drf-spectacular-sidecar, not a CDN: /api/docs/ works on a
# LAN without internet access.
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS.update(
    {
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        # Every endpoint requires authentication, the schema and its UI included.
        "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
        "SERVE_INCLUDE_SCHEMA": False,
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "labeling.api.schema.postprocess_error_responses",
        ],
        "COMPONENT_SPLIT_REQUEST": True,
        # One name for the queue orders (a query parameter and two response fields).
        "ENUM_NAME_OVERRIDES": {"QueueOrderEnum": "labeling.selectors.QUEUE_ORDERS"},
    }
)

# bench/api.py only: allow ?q= text search with a random-weight model to time it. The
# rankings are meaningless; never set it on a real installation.
VIDSORT_SEARCH_RANDOM_TEXT = env_bool("VIDSORT_SEARCH_RANDOM_TEXT", False)

# Login throttling (labeling/security.py): after VIDSORT_LOGIN_FAILURES failed logins for
# one (client IP, username) within VIDSORT_LOGIN_WINDOW_SECONDS, the login pages answer 429
# until the window ends. Counted in a cache every web process shares (Redis when the
# broker is Redis, else files in the data folder), not in per-process memory.
VIDSORT_LOGIN_FAILURES = env_int("VIDSORT_LOGIN_FAILURES", 5, minimum=1)
VIDSORT_LOGIN_WINDOW_SECONDS = env_int("VIDSORT_LOGIN_WINDOW_SECONDS", 900, minimum=1)
VIDSORT_LOGIN_PATHS = ("/login/", "/admin/login/")
CACHES = globals().get("CACHES") or {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
if _broker_scheme.startswith("redis"):
    CACHES["vidsort-security"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CELERY_BROKER_URL,
        "KEY_PREFIX": "vidsort-security",
    }
else:
    CACHES["vidsort-security"] = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "security"),
    }
# The refusal (429 before the login view runs). The counting is connected by
# LabelingConfig.ready(), whose system check fails if this line goes missing.
MIDDLEWARE += ["labeling.security.LoginThrottleMiddleware"]

# TLS. VIDSORT_HTTPS=1 when users reach VidSort over https:// (a TLS proxy in front):
# redirect http to https, send HSTS, mark the session and CSRF cookies Secure.
VIDSORT_HTTPS = env_bool("VIDSORT_HTTPS", False)
SESSION_COOKIE_SECURE = VIDSORT_HTTPS
CSRF_COOKIE_SECURE = VIDSORT_HTTPS
SECURE_SSL_REDIRECT = VIDSORT_HTTPS and env_bool("VIDSORT_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("VIDSORT_HSTS_SECONDS", 31536000, minimum=0) if VIDSORT_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = VIDSORT_HTTPS and env_bool("VIDSORT_HSTS_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = VIDSORT_HTTPS and env_bool("VIDSORT_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto only when told to: the proxy in front must set it and drop any
# copy sent by the client, or a client could claim https.
if env_bool("VIDSORT_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

SILENCED_SYSTEM_CHECKS: list[str] = []
if not VIDSORT_HTTPS:
    # Plain HTTP on a LAN is a supported deployment: without TLS there is nothing to
    # redirect to, HSTS would lock browsers out, and Secure cookies would never be sent.
    SILENCED_SYSTEM_CHECKS += [
        "security.W004",  # SECURE_HSTS_SECONDS
        "security.W008",  # SECURE_SSL_REDIRECT
        "security.W012",  # SESSION_COOKIE_SECURE
        "security.W016",  # CSRF_COOKIE_SECURE
    ]
else:
    if not SECURE_SSL_REDIRECT:
        # VIDSORT_SSL_REDIRECT=0: the TLS proxy in front already redirects http to https.
        SILENCED_SYSTEM_CHECKS += ["security.W008"]
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment for the whole domain; opt in with VIDSORT_HSTS_PRELOAD=1.
        SILENCED_SYSTEM_CHECKS += ["security.W021"]
# --- End of API and security settings ---------------------------------------------------
