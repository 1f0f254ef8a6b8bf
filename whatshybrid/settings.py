"""One env-driven settings module.

Embedded default (no env): SQLite in WAL mode, in-memory channel layer, local-memory cache,
database-backed task queue. ``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` to Redis
for the cache and the channel layer. Every knob is listed in the README's settings table.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


TESTING = "pytest" in sys.modules or env_bool("WHL_TESTING", False)
DEBUG = env_bool("DEBUG", False)
PRODUCTION = env_bool("WHL_PRODUCTION", False)

_INSECURE_KEY = "dev-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
# A real key's characters are spread out: per-character Shannon entropy of at least 3 bits (hex
# keys have ~3.9, Django's generated keys ~4.9) and 128 bits over the whole key. ``aaaa...bbbb...``
# (1 bit per character) is long but guessable.
_KEY_MIN_BITS_PER_CHAR = 3.0
_KEY_MIN_TOTAL_BITS = 128


def key_is_strong(key: str) -> bool:
    """At least 50 characters with the spread of a randomly generated key."""
    if len(key) < 50:
        return False
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in Counter(key).values())
    return per_char >= _KEY_MIN_BITS_PER_CHAR and per_char * len(key) >= _KEY_MIN_TOTAL_BITS


SECRET_KEY = env_str("SECRET_KEY", _INSECURE_KEY)
if PRODUCTION and (SECRET_KEY == _INSECURE_KEY or not key_is_strong(SECRET_KEY)):
    # A guessable key lets anyone mint JWTs for any workspace: refuse to boot.
    raise ImproperlyConfigured("WHL_PRODUCTION=1 requires SECRET_KEY of at least 50 random characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "django_tasks_db",
    "whatshybrid.api",
    "whatshybrid.realtime",
    "whatshybrid.scheduling",
    "accounts",
    "settings_app",
    "contacts",
    "messaging",
    "crm",
    "tasks",
    "templates_app",
    "ai",
    "webhooks",
]

MIDDLEWARE = [
    "whatshybrid.api.middleware.RequestIdMiddleware",
    "whatshybrid.api.middleware.StripTrailingSlashMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "whatshybrid.api.middleware.JsonErrorMiddleware",
    # SQLite only: a request that may write holds its turn, so batch jobs let it in.
    "whatshybrid.write_turns.WriterTurnMiddleware",
    # Sessions, login and flash messages for /admin only (whatshybrid/api/middleware.py).
    "whatshybrid.api.middleware.AdminSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "whatshybrid.api.middleware.AdminAuthenticationMiddleware",
    "whatshybrid.api.middleware.AdminMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "whatshybrid.urls"
WSGI_APPLICATION = "whatshybrid.wsgi.application"
ASGI_APPLICATION = "whatshybrid.asgi.application"
AUTH_USER_MODEL = "accounts.User"
APPEND_SLASH = False  # the extension never sends a trailing slash and must never get a redirect

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
SQLITE_PATH = env_str("SQLITE_PATH", str(BASE_DIR / "data" / "whatshybrid.sqlite3"))
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3 pool: persistent connections are managed by the pool, so CONN_MAX_AGE stays 0
        # (required under ASGI, where each request may run on another thread).
        _db["CONN_MAX_AGE"] = 0
        # Server-side binding lets psycopg prepare a statement text once it has run five times on
        # a connection, so PostgreSQL plans each hot query once per pooled connection instead of
        # on every execute. Message create in process, 4 alternating pairs of 300 sends: 8.6-11.6
        # ms against 12.1-13.0 ms with client-side binding (issue 13, session 9).
        _db.setdefault("OPTIONS", {})["server_side_binding"] = True
        _db["OPTIONS"]["pool"] = {
            "min_size": env_int("DB_POOL_MIN", 1),
            "max_size": env_int("DB_POOL_MAX", 10),
            "timeout": env_int("DB_POOL_TIMEOUT", 10),
        }
    DATABASES = {"default": _db}
else:
    Path(SQLITE_PATH).parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "whatshybrid.db_backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
                # instead of failing with "database is locked" when one upgrades a read lock.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=20000; PRAGMA foreign_keys=ON;"
                ),
            },
            # A real file (one per test process, so parallel runs never share it) rather than
            # shared-cache memory: only a file gets WAL and busy_timeout, so threaded tests see
            # the same locking as production instead of "database table is locked".
            "TEST": {
                "NAME": env_str("SQLITE_TEST_PATH", "")
                or str(Path(tempfile.gettempdir()) / f"whl-test-{os.getpid()}.sqlite3")
            },
        }
    }
DATABASE_IS_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and channel layer --------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "whl"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "whatshybrid.realtime.layers.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 reads with a 5 s socket timeout, the same as channels-redis' blocking
                # BZPOPMIN: idle sockets' receive loops would time out and drop connections.
                "hosts": [{"address": REDIS_URL, "socket_timeout": env_int("CHANNEL_REDIS_SOCKET_TIMEOUT", 30)}],
                "prefix": env_str("CHANNEL_PREFIX", "whl"),
                "capacity": env_int("CHANNEL_CAPACITY", 1000),
            },
        }
    }
else:
    # Shared by every process on the machine (the HTTP workers, the background worker, commands),
    # so a rate limit is one budget however many processes serve: diskcache keeps it in SQLite
    # files of its own, sharded so that concurrent counts rarely wait on one another, and holding
    # no pickles (whatshybrid/caching.py).
    CACHES = {
        "default": {
            "BACKEND": "whatshybrid.caching.MachineCache",
            "LOCATION": env_str("CACHE_DIR", "")
            or (
                str(Path(tempfile.gettempdir()) / f"whl-test-{os.getpid()}-cache")
                if TESTING
                else f"{SQLITE_PATH}-cache"
            ),
            "SHARDS": 8,
            # Seconds a count waits on another process's before it retries (SQLite's busy timeout).
            "DATABASE_TIMEOUT": 1.0,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "whatshybrid.realtime.layers.LocalChannelLayer",
            "CONFIG": {"capacity": env_int("CHANNEL_CAPACITY", 1000)},
        }
    }

# --- Background tasks ---------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Periodic jobs (whatshybrid/scheduling): seconds between runs, 0 switches a job off. A
# scheduler (a thread of `manage.py serve`, or `manage.py scheduler`) checks every tick.
SCHEDULE_PRUNE_SECONDS = env_int("SCHEDULE_PRUNE_SECONDS", 24 * 3600)
SCHEDULE_PRUNE_EVENTS_SECONDS = env_int("SCHEDULE_PRUNE_EVENTS_SECONDS", 3600)
# Each reminder has its own job; this sweep only catches those lost before they ran.
SCHEDULE_TASK_REMINDERS_SECONDS = env_int("SCHEDULE_TASK_REMINDERS_SECONDS", 300)
SCHEDULER_TICK_SECONDS = env_int("SCHEDULER_TICK_SECONDS", 30)
# Background jobs renew a lease while they run; one not renewed for JOB_LEASE_SECONDS belongs to
# a dead worker and is requeued (failed after JOB_MAX_ATTEMPTS workers): whatshybrid/scheduling/leases.py.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10)
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 60)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
SCHEDULE_RECLAIM_JOBS_SECONDS = env_int("SCHEDULE_RECLAIM_JOBS_SECONDS", 60)
# Finished background-job results older than this are deleted by `manage.py prune`.
TASK_RESULT_RETENTION = timedelta(days=env_int("TASK_RESULT_RETENTION_DAYS", 7))

# --- Auth and tokens ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The admin login's hashes run where the API's do (bounded, low priority): accounts/hashing.py.
AUTHENTICATION_BACKENDS = ["accounts.backends.ModelBackend"]
if TESTING:
    # Hashing dominates auth-heavy tests; production keeps the default PBKDF2 hasher.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Background modules of the extension never refresh, so access tokens must outlive a working
# week by default; shorten them if the deployment can tolerate those modules going quiet.
ACCESS_TOKEN_LIFETIME = timedelta(seconds=env_int("ACCESS_TOKEN_LIFETIME_SECONDS", 7 * 24 * 3600))
REFRESH_TOKEN_LIFETIME = timedelta(seconds=env_int("REFRESH_TOKEN_LIFETIME_SECONDS", 30 * 24 * 3600))
REFRESH_REUSE_GRACE = timedelta(seconds=env_int("REFRESH_REUSE_GRACE_SECONDS", 60))
# How many extra times a just-rotated refresh token may be replayed inside the grace window
# (extension pages refreshing at once); one more replay is treated as theft.
REFRESH_GRACE_REUSES = env_int("REFRESH_GRACE_REUSES", 1)

JWT_SECRET = env_str("JWT_SECRET", SECRET_KEY)
if PRODUCTION and not key_is_strong(JWT_SECRET):
    raise ImproperlyConfigured("WHL_PRODUCTION=1 requires JWT_SECRET (when set) of at least 50 random characters.")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": REFRESH_TOKEN_LIFETIME,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SECRET,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.SessionJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "whatshybrid.api.parsers.SafeJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "whatshybrid.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "whatshybrid.api.schema.EnvelopeAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",  # tests talk JSON, like the extension
}

SPECTACULAR_SETTINGS = {
    "TITLE": "WhatsHybrid API",
    "DESCRIPTION": "Backend of the WhatsHybrid Pro WhatsApp CRM. All paths live under /api/v1 "
    "and take no trailing slash. Authenticate with `Authorization: Bearer <accessToken>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs are public; a stale token pasted into Swagger UI must not hide the schema.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ConversationStatusEnum": "messaging.models.Conversation.Status",
        "MessageStatusEnum": "messaging.models.Message.Status",
        "MessageDirectionEnum": "messaging.models.Message.Direction",
        "ConversationPriorityEnum": "messaging.models.Conversation.Priority",
        "TaskStatusEnum": "tasks.models.Task.Status",
        "TaskPriorityEnum": "tasks.models.Task.Priority",
        "TaskTypeEnum": "tasks.models.Task.Type",
        "DealStatusEnum": "crm.models.Deal.Status",
        "DealActivityKindEnum": "crm.models.DealActivity.Kind",
        "KnowledgeItemTypeEnum": "ai.models.KnowledgeItem.Type",
    },
}

# --- Pagination ---------------------------------------------------------------------------
PAGE_SIZE_DEFAULT = env_int("PAGE_SIZE_DEFAULT", 50)
PAGE_SIZE_MAX = env_int("PAGE_SIZE_MAX", 200)
CONTACTS_PAGE_SIZE_MAX = env_int("CONTACTS_PAGE_SIZE_MAX", 1000)
# Tasks and templates: the extension's sync lists them without a limit and reads one page.
SYNC_PAGE_SIZE_DEFAULT = env_int("SYNC_PAGE_SIZE_DEFAULT", 1000)
# Contact imports with more rows than this run as a background job (POST answers 202).
CONTACTS_IMPORT_ASYNC_ROWS = env_int("CONTACTS_IMPORT_ASYNC_ROWS", 2000)
# Short enough that agents' writes in the workspace wait little for its event counter
# (bench/bench_counter.py, docs/realtime.md). On SQLite a batch holds the database's write lock
# for its whole transaction; on PostgreSQL it holds the counter only from its publish, its last
# statement, so larger batches cost agents nothing there and save the per-batch commits.
CONTACTS_IMPORT_BATCH_SIZE = env_int("CONTACTS_IMPORT_BATCH_SIZE", 100 if DATABASE_IS_SQLITE else 1000)
MESSAGES_PAGE_SIZE_MAX = env_int("MESSAGES_PAGE_SIZE_MAX", 500)
# WhatsApp's own limit for one text message.
MESSAGE_CONTENT_MAX_CHARS = env_int("MESSAGE_CONTENT_MAX_CHARS", 65536)
# Message pages and the event feed (and socket replays) stop before the stored text of their
# rows passes this many characters, so no response is built whole past it; see docs/messaging.md.
PAGE_MAX_CHARS = env_int("PAGE_MAX_CHARS", 2_000_000)
# The extension's synced documents (per module, knowledge, few-shot examples): largest JSON size.
SYNC_DOCUMENT_MAX_BYTES = env_int("SYNC_DOCUMENT_MAX_BYTES", 5 * 1024 * 1024)

# --- Rate limits (the original backend's table) -------------------------------------------
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_GENERAL = env_str("RATELIMIT_GENERAL", "100/15m")
RATELIMIT_AUTH = env_str("RATELIMIT_AUTH", "5/15m")
RATELIMIT_AI = env_str("RATELIMIT_AI", "20/m")
RATELIMIT_WEBHOOKS = env_str("RATELIMIT_WEBHOOKS", "100/m")
RATELIMIT_USE_CACHE = "default"
# django-ratelimit only lists memcached and django-redis as "official"; Django's own RedisCache
# and diskcache's DjangoCache both increment atomically, which is all the limiter needs.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001", "django_ratelimit.E003"]

# --- Idempotency --------------------------------------------------------------------------
IDEMPOTENCY_TTL = timedelta(seconds=env_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600))
# A claim still "in progress" after this long belongs to a request whose process died.
IDEMPOTENCY_LOCK_TIMEOUT = timedelta(seconds=env_int("IDEMPOTENCY_LOCK_SECONDS", 300))

# --- Events -------------------------------------------------------------------------------
EVENT_RETENTION = timedelta(days=env_int("EVENT_RETENTION_DAYS", 7))
# Embedded mode (no Redis): how often the web process polls the event log for rows committed by
# other processes (worker, management commands); its own commits are relayed at once.
REALTIME_RELAY_INTERVAL_MS = env_int("REALTIME_RELAY_INTERVAL_MS", 200)
# How often live sockets' sessions are re-checked (logout, password change, removal).
REALTIME_SESSION_CHECK_SECONDS = env_int("REALTIME_SESSION_CHECK_SECONDS", 2)
SOCKETIO_PING_INTERVAL_MS = env_int("SOCKETIO_PING_INTERVAL_MS", 25000)
SOCKETIO_PING_TIMEOUT_MS = env_int("SOCKETIO_PING_TIMEOUT_MS", 20000)
SOCKETIO_MAX_PAYLOAD = env_int("SOCKETIO_MAX_PAYLOAD", 1_000_000)
# A Socket.IO connection (either transport) that has not CONNECTed with a valid token within
# this is closed, and one client address holds at most this many such connections at once.
SOCKETIO_CONNECT_TIMEOUT_MS = env_int("SOCKETIO_CONNECT_TIMEOUT_MS", 10_000)
SOCKETIO_UNAUTHENTICATED_PER_CLIENT = env_int("SOCKETIO_UNAUTHENTICATED_PER_CLIENT", 20)
# Scale mode: Redis connections per process for the channel layer; past it, operations wait
# (up to CHANNEL_REDIS_POOL_TIMEOUT seconds) instead of failing.
CHANNEL_REDIS_MAX_CONNECTIONS = env_int("CHANNEL_REDIS_MAX_CONNECTIONS", 100)
CHANNEL_REDIS_POOL_TIMEOUT = env_int("CHANNEL_REDIS_POOL_TIMEOUT", 20)

# --- Uploads ------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_BODY_BYTES", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_UPLOAD_MEMORY_BYTES", 5 * 1024 * 1024)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000
# Deepest JSON nesting accepted in a body, an import cell or a socket frame (whatshybrid/strict_json.py).
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 32)
# Largest workspace `settings` object as stored (after merging an update), in bytes of JSON.
WORKSPACE_SETTINGS_MAX_BYTES = env_int("WORKSPACE_SETTINGS_MAX_BYTES", 32 * 1024)

# --- Secrets at rest and outgoing HTTP (whatshybrid/crypto.py, whatshybrid/http/) -----------
# Fernet keys, comma-separated: the first encrypts, all decrypt (rotation: README).
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS", [])
if PRODUCTION and not ENCRYPTION_KEYS:
    # A generated key in the data folder would be lost with the container, and the secrets with it.
    raise ImproperlyConfigured(
        "WHL_PRODUCTION=1 requires ENCRYPTION_KEYS (comma-separated Fernet keys; generate one with "
        "`manage.py rotate_encryption_key --generate-key`)."
    )
# Development only (no ENCRYPTION_KEYS): the key generated once beside the SQLite file.
ENCRYPTION_KEY_FILE = str(Path(SQLITE_PATH).parent / "encryption.key")
OUTGOING_HTTP_CONNECT_TIMEOUT = env_int("OUTGOING_HTTP_CONNECT_TIMEOUT", 5)
OUTGOING_HTTP_TIMEOUT = env_int("OUTGOING_HTTP_TIMEOUT", 15)
OUTGOING_HTTP_MAX_BYTES = env_int("OUTGOING_HTTP_MAX_BYTES", 1024 * 1024)
# CIDRs the SSRF guard lets through although they are internal (e.g. a LAN AI server).
OUTGOING_HTTP_ALLOW_NETWORKS = env_list("OUTGOING_HTTP_ALLOW_NETWORKS", [])
# --- end of secrets at rest and outgoing HTTP ------------------------------------------------

# --- AI (ai/, docs/ai.md) ----------------------------------------------------------------
# Server-wide provider keys: the fallback for a workspace that configured none of its own.
AI_OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
AI_ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY", "")
AI_GROQ_API_KEY = env_str("GROQ_API_KEY", "")
AI_COMPATIBLE_BASE_URL = env_str("AI_COMPATIBLE_BASE_URL", "")  # e.g. a LAN Ollama: http://10.0.0.5:11434/v1
AI_COMPATIBLE_API_KEY = env_str("AI_COMPATIBLE_API_KEY", "")
AI_OPENAI_BASE_URL = env_str("AI_OPENAI_BASE_URL", "https://api.openai.com/v1")
AI_ANTHROPIC_BASE_URL = env_str("AI_ANTHROPIC_BASE_URL", "https://api.anthropic.com/v1")
AI_GROQ_BASE_URL = env_str("AI_GROQ_BASE_URL", "https://api.groq.com/openai/v1")
AI_PROVIDER_FALLBACK = env_bool("AI_PROVIDER_FALLBACK", True)
AI_PROVIDER_TIMEOUT = env_int("AI_PROVIDER_TIMEOUT", 25)  # the client replays calls slower than 30 s
AI_PROCESS_TIMEOUT = env_int("AI_PROCESS_TIMEOUT", 15)  # the extension gives up on /v2/ai/process at 18 s
AI_DEFAULT_MAX_TOKENS = env_int("AI_DEFAULT_MAX_TOKENS", 1024)
AI_MAX_TOKENS = env_int("AI_MAX_TOKENS", 8192)
AI_MAX_PROMPT_CHARS = env_int("AI_MAX_PROMPT_CHARS", 100_000)
AI_KNOWLEDGE_PROMPT_CHARS = env_int("AI_KNOWLEDGE_PROMPT_CHARS", 4000)  # knowledge added to a system prompt
AI_KNOWLEDGE_CONTENT_MAX_CHARS = env_int("AI_KNOWLEDGE_CONTENT_MAX_CHARS", 100_000)  # one item's content
# Credits per 1,000 tokens (prompt + completion) by model; "*" is every other model. JSON.
AI_CREDITS_PER_1K_TOKENS = json.loads(env_str("AI_CREDITS_PER_1K_TOKENS", '{"*": 1}'))
# --- end of AI ---------------------------------------------------------------------------

# --- Webhooks (webhooks/, docs/webhooks.md) -------------------------------------------------
# Seconds to wait after failed attempt 1, 2, ... (jittered by ±WEBHOOK_RETRY_JITTER); then give up.
WEBHOOK_RETRY_SCHEDULE = [
    int(s) for s in env_list("WEBHOOK_RETRY_SCHEDULE", ["5", "300", "1800", "7200", "18000", "36000", "36000"])
]
WEBHOOK_RETRY_JITTER = 0.2
# A webhook whose every attempt failed for this long is disabled (and `webhook:disabled` emitted).
WEBHOOK_DISABLE_AFTER_SECONDS = env_int("WEBHOOK_DISABLE_AFTER_SECONDS", 5 * 24 * 3600)
WEBHOOK_CONNECT_TIMEOUT = env_int("WEBHOOK_CONNECT_TIMEOUT", 5)
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 15)
# A worker's claim on the deliveries it is sending; past it (the worker died) the sweep takes over.
WEBHOOK_CLAIM_SECONDS = env_int("WEBHOOK_CLAIM_SECONDS", 60)
WEBHOOK_BATCH_SIZE = env_int("WEBHOOK_BATCH_SIZE", 50)
# Deliveries of one batch sent at once (threads of the worker).
WEBHOOK_CONCURRENCY = env_int("WEBHOOK_CONCURRENCY", 8)
# After a rotation the old secret signs too, for this long.
WEBHOOK_SECRET_ROTATION_SECONDS = env_int("WEBHOOK_SECRET_ROTATION_SECONDS", 24 * 3600)
WEBHOOK_INCOMING_MAX_BYTES = env_int("WEBHOOK_INCOMING_MAX_BYTES", 256 * 1024)
SCHEDULE_WEBHOOK_DELIVERIES_SECONDS = env_int("SCHEDULE_WEBHOOK_DELIVERIES_SECONDS", 30)

# --- CORS (client contract) ---------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", ["https://web.whatsapp.com"])
CORS_ALLOWED_ORIGIN_REGEXES = env_list("CORS_ALLOWED_ORIGIN_REGEXES", [r"^chrome-extension://[a-z0-9_-]+$"])
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-source",
    "x-whl-device",
    "x-request-id",
]
CORS_ALLOW_METHODS = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]
CORS_EXPOSE_HEADERS = ["x-request-id", "retry-after", "idempotent-replayed"]
CORS_ALLOW_PRIVATE_NETWORK = True
CORS_PREFLIGHT_MAX_AGE = 86400
# Origins allowed on websocket upgrades besides ALLOWED_HOSTS (see realtime).
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", CORS_ALLOWED_ORIGINS)

# --- Security (production) ----------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^api/health"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- i18n and static ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))
# Admin and the offline Swagger/Redoc assets are served by WhiteNoise, also with DEBUG off;
# without a collectstatic run (the embedded default) it serves straight from the app folders.
_STATIC_COLLECTED = Path(STATIC_ROOT).is_dir() and any(Path(STATIC_ROOT).iterdir())
WHITENOISE_USE_FINDERS = not _STATIC_COLLECTED
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Serving path (issue 15; see whatshybrid/wsgi_bridge.py and the README's serving section) ---
# Pool threads that run Django's WSGI handler behind the ASGI server (one per request in flight):
# one per core for the API, and a pool of its own for the views that run long (AI provider calls,
# password hashes, bulk syncs). See whatshybrid/wsgi_bridge.py.
# `manage.py serve` runs the WSGI calls in HTTP_PROCESSES worker processes, one per core by default
# (0: on the serving process's own threads); HTTP_THREADS and HTTP_LONG_THREADS are per worker.
# See whatshybrid/wsgi_processes.py.
HTTP_PROCESSES = env_int("HTTP_PROCESSES", os.cpu_count() or 1)
HTTP_THREADS = env_int("HTTP_THREADS", max(2, os.cpu_count() or 2))
HTTP_LONG_THREADS = env_int("HTTP_LONG_THREADS", 8)
# Password hashes (login, register, password change) running at once per process, how many more
# may wait for one (beyond: 429 SERVER_BUSY + Retry-After), and the hash threads' nice value
# (Linux; 0 leaves them at the request threads' priority). See accounts/hashing.py. Each running
# or waiting hash holds a long-request thread: by default together at most half of them.
PASSWORD_HASH_CONCURRENCY = env_int(
    "PASSWORD_HASH_CONCURRENCY", max(1, min((os.cpu_count() or 2) // 2, HTTP_LONG_THREADS // 2))
)
PASSWORD_HASH_QUEUE = env_int(
    "PASSWORD_HASH_QUEUE",
    max(0, min(PASSWORD_HASH_CONCURRENCY, HTTP_LONG_THREADS // 2 - PASSWORD_HASH_CONCURRENCY)),
)
PASSWORD_HASH_NICE = env_int("PASSWORD_HASH_NICE", 10)
if DATABASE_IS_SQLITE:
    # Each pool thread keeps its SQLite connection (connect + PRAGMAs + functions cost ~0.8 ms of
    # CPU per request otherwise). PostgreSQL's pool already keeps its connections.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["whatshybrid.api.renderers.FastJSONRenderer"]
# Tokens and polling sids in URLs never reach a log line (whatshybrid/logredact.py).
LOGGING["filters"] = {"redact": {"()": "whatshybrid.logredact.RedactQuerySecrets"}}
LOGGING["handlers"]["console"]["filters"] = ["redact"]
