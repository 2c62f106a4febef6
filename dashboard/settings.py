"""Settings for Clusterscope. Everything that differs between a laptop demo and a
deployment comes from the environment, with defaults that need no configuration on
localhost: DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS."""

import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CLUSTERSCOPE_VAR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY") or "clusterscope-insecure-development-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",") if h.strip()]

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves HTTP and WebSockets
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # serves Swagger UI from local static files (no CDN)
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dashboard.security.BrowserSecurityMiddleware",  # cross-site writes refused, Content-Security-Policy
    "dashboard.middleware.AsyncWhiteNoiseMiddleware",  # WhiteNoise, kept async (see the module)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "dashboard.i18n.QueryLocaleMiddleware",  # LocaleMiddleware, plus ?lang= and English for /api and /k8s
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Production (DEBUG=0) passes `manage.py check --deploy`: SECRET_KEY must come from the
# environment, cookies are secure, and behind TLS (CLUSTERSCOPE_TLS, on by default when DEBUG is
# off) plain http is redirected and HSTS is sent; a proxy that ends TLS says so in
# X-Forwarded-Proto. `make run` (DEBUG on, localhost) needs none of this. docs/security.md.
TLS = env_bool("CLUSTERSCOPE_TLS", not DEBUG)
if not DEBUG and not os.environ.get("SECRET_KEY"):
    raise RuntimeError("set SECRET_KEY in the environment when DEBUG is off")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = TLS
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
if TLS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("CLUSTERSCOPE_HSTS_SECONDS", 31_536_000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = env_bool("CLUSTERSCOPE_HSTS_PRELOAD", True)  # off for a host whose subdomains are not all on https

# The server's own https listener (manage.py serve, `make run`): kubectl sends a classroom key
# as a bearer token only over TLS. Its certificate and CA are made into var/tls/ (dashboard/tls.py).
TLS_PORT = int(os.environ.get("CLUSTERSCOPE_TLS_PORT", "8443"))

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "dashboard.i18n.language_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'clusterscope.sqlite3'}", conn_max_age=0),
}
# Command logs are written before each command takes effect (dashboard/history), so the
# database must answer quickly or refuse: a locked database fails after DB_TIMEOUT seconds
# and the action is refused. SQLite runs in WAL mode; with synchronous=NORMAL (the default) a
# committed write survives the server process being killed, and FULL (an fsync per commit,
# CLUSTERSCOPE_SQLITE_SYNC=FULL) survives a power cut too, at several milliseconds a command
# (bench/RESULTS.md). Transactions take the write lock when they begin.
DB_TIMEOUT = float(os.environ.get("CLUSTERSCOPE_DB_TIMEOUT", "2"))
SQLITE_SYNC = os.environ.get("CLUSTERSCOPE_SQLITE_SYNC", "NORMAL").upper()
if SQLITE_SYNC not in ("NORMAL", "FULL", "EXTRA"):
    raise ValueError("CLUSTERSCOPE_SQLITE_SYNC must be NORMAL, FULL or EXTRA")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"init_command": f"PRAGMA journal_mode=WAL;PRAGMA synchronous={SQLITE_SYNC}", "transaction_mode": "IMMEDIATE", "timeout": DB_TIMEOUT}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update({"connect_timeout": max(1, int(DB_TIMEOUT)), "options": f"-c lock_timeout={int(DB_TIMEOUT * 1000)} -c statement_timeout={int(DB_TIMEOUT * 5000)}"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    # Scale-out (dashboard/scaleout, docs/deploy.md): every process reads its channel-layer
    # messages from one Redis key, so its capacity is the whole process's backlog, not one
    # viewer's: 100 (the default) drops messages under a few busy clusters. redis-py 8 reads
    # with a 5 s socket timeout by default, the same 5 s channels_redis blocks for a message:
    # an idle receive would fail every few seconds, hence a longer one.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "capacity": 5000, "expiry": 30,
                                             "group_expiry": 600, "prefix": "clusterscope:"}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Serve straight from the finders in development and tests: no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LANGUAGE_CODE = "en"
# The UI in English and Simplified Chinese (dashboard/i18n.py, locale/README.md).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the switch's choice lasts a year
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"clusterscope": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Clusterscope itself.
# The cluster the server creates at start, so a first visitor sees something move.
DEMO_CLUSTER = os.environ.get("CLUSTERSCOPE_DEMO", "demo") or None
# How often the runner advances running clusters (wall seconds), and how much wall
# time one cluster may use per slice before the loop serves other traffic.
RUNNER_TICK_SECONDS = 0.05
RUNNER_SLICE_BUDGET_SECONDS = 0.02
# Limits (dashboard/limits.py, docs/security.md): defaults there, overridden by the
# CLUSTERSCOPE_LIMITS environment variable as JSON, e.g. '{"nodes_per_cluster": 20}'.
from dashboard.limits import DEFAULTS as LIMIT_DEFAULTS  # noqa: E402  (plain constants, no Django needed)

CLUSTERSCOPE_LIMITS = {**LIMIT_DEFAULTS, **json.loads(os.environ.get("CLUSTERSCOPE_LIMITS") or "{}")}
MAX_CLUSTERS = int(os.environ.get("CLUSTERSCOPE_MAX_CLUSTERS", CLUSTERSCOPE_LIMITS["clusters_per_server"]))
DATA_UPLOAD_MAX_MEMORY_SIZE = CLUSTERSCOPE_LIMITS["request_body_bytes"]
# Daphne's own caps on WebSocket frames and messages (its runserver reads these; the daphne
# command takes --websocket-max-frame-size and --websocket-max-message-size): past them the
# connection is closed with code 1009 before anything is buffered (dashboard/limits.py).
# Smaller frames reach the consumer, which answers those over ws_message_bytes with an error frame.
DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = CLUSTERSCOPE_LIMITS["ws_server_frame_bytes"]
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = CLUSTERSCOPE_LIMITS["ws_server_message_bytes"]
# History (dashboard/history): every cluster's command log is kept in the database and
# replayed when the server starts. Off, clusters live in memory only (in-process tests).
PERSIST_CLUSTERS = env_bool("CLUSTERSCOPE_PERSIST", True)
CHECKPOINT_EVERY_SECONDS = 60  # virtual seconds between checkpoints ...
CHECKPOINT_MIN_WALL_SECONDS = 10  # ... and wall seconds at least (a fast clock would pickle too often)
SAVE_POSITION_EVERY_SECONDS = 1.0  # wall seconds between saves of where each clock stands
# Scale-out (dashboard/scaleout): on with REDIS_URL. Each running cluster lives in one process,
# which holds its lease for LEASE_SECONDS and renews it every third of that; a cluster whose
# owner died is taken over once its lease has run out.
SCALEOUT = bool(REDIS_URL) and PERSIST_CLUSTERS
LEASE_SECONDS = float(os.environ.get("CLUSTERSCOPE_LEASE_SECONDS", "10"))
IMPORT_MAX_BYTES = CLUSTERSCOPE_LIMITS["import_bytes"]
