"""Settings for the whole project, read from environment variables.

Every variable has a safe development default (SQLite, tasks run eagerly), so a fresh
clone runs with no configuration; production sets the variables listed in
``.env.example``. Nothing here reads files outside the project.
"""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from governance.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

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
    "drf_spectacular_sidecar",
    "mptt",
    "simple_history",
    "axes",
    "csp",
    "governance.accounts",
    "governance.security",
    "governance.idempotency",
    "grids",
    "residents",
    "tickets",
    "volunteers",
    "governance.dashboard",
    "hotline",
    "open311",
    "webhooks",
    "bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # outside everything that may answer, so every answer (429s and 503s too) carries it
    "governance.security.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # before anything reads the body (CSRF parses the form): a huge upload costs a header
    "governance.security.body_size.RequestBodySizeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "governance.idempotency.middleware.IdempotencyMiddleware",
    # after the idempotency keys: a replay of an accepted report costs no budget
    "governance.throttling.AnonymousPostThrottleMiddleware",
    "governance.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # last, as django-axes asks: turns a locked-out sign-in into the 429 answer
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"
ASGI_APPLICATION = "governance.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.context_processors.notifications",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# SQLite by default (the embedded database of `make run`); PostgreSQL through psycopg 3
# when DATABASE_URL says so. Health checks let the service recover from a database
# restart without restarting itself.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions and WAL let the web process and the Celery worker write the
    # same file without "database is locked" errors in the embedded setup.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: the application's queries are short index walks whose cost estimates can
    # cross jit_above_cost on a county, and compiling one took 114 ms for a 3 ms ticket
    # list (bench/README.md). A DBA's report queries run outside and keep their setting.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
# django-axes first: it refuses a locked-out sign-in before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "governance.security.backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Personal data ------------------------------------------------------------------------
# Keys that encrypt ID-card numbers at rest and key their lookup hashes. Comma-separated,
# newest first: the first encrypts, all decrypt, so a key can be rotated. Each is a Fernet
# key (python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").
# In development a key is derived from SECRET_KEY; production must set its own.
PII_KEYS = env_list("PII_KEYS", [])
if not PII_KEYS and not DEBUG:
    raise ImproperlyConfigured("PII_KEYS must be set when DEBUG is off.")

# --- Cache --------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # Short timeouts: the cache only holds rate-limit counters, which let requests through
    # when Redis is away (governance/throttling.py); a request must not hang waiting on it.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Language and time --------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- Security -----------------------------------------------------------------------------
# Secure by default whenever DEBUG is off; each can still be turned off by its variable
# (e.g. SECURE_SSL_REDIRECT=0 behind a proxy that already redirects).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if env_bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# How many reverse proxies in front of the application append to X-Forwarded-For. 0 (the
# default): the client is REMOTE_ADDR and the header is ignored, since anyone can forge
# it. Rate limits and the login lock-out name clients this way (governance/throttling.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# A request body larger than this is refused (413) before it is read
# (governance/security/body_size.py); each upload field has its own, smaller limit.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_MB", 64) * 1024 * 1024

# Content-Security-Policy (django-csp, governance/security/csp.py): our own origin only, no
# inline script anywhere, no framing. Inline styles are allowed under the admin and the
# API's own pages only, whose third-party templates need them (explained in csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
CSP_INLINE_STYLE_PATHS = ("/admin/", "/api/")

# --- Rate limits and login lock-out ---------------------------------------------------------
# The test suite sends thousands of requests from one address, as a few user ids that the
# rolled-back database hands out again and again; under pytest the rates are lifted unless
# a variable sets them, so that no unrelated test meets a limit (tests/security sets low
# rates to prove that the limits hold).
TESTING = "pytest" in sys.modules
_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _env_rate(name: str, default: str) -> str:
    raw = env_str(name, "").strip()
    if not raw:
        return "1000000/hour" if TESTING else default
    if not _RATE.match(raw):
        raise ImproperlyConfigured(f"{name} must be a rate like 20/hour or 5/min, got {raw!r}")
    return raw


# Unsafe requests without a signed-in user, per client address, by path prefix (pages
# outside DRF; governance.throttling.AnonymousPostThrottleMiddleware). Open311's POST is
# not here: it needs an integrator's api_key, and one civic app's server speaks for many.
ANONYMOUS_POST_RATES = {
    "/tickets/report/": _env_rate("ANONYMOUS_REPORT_RATE", "20/hour"),
    "/tickets/follow/": _env_rate("ANONYMOUS_FOLLOW_RATE", "60/hour"),
    # many names guessed from one address (the lock-out counts name and address together)
    "/accounts/login/": _env_rate("LOGIN_RATE", "100/hour"),
    "/admin/login/": _env_rate("LOGIN_RATE", "100/hour"),
    "/api/v1/auth/token/": _env_rate("LOGIN_RATE", "100/hour"),
}

# django-axes: after LOGIN_FAILURE_LIMIT failed sign-ins of one user name from one
# address, that pair is refused for LOGIN_LOCKOUT_MINUTES (a 429; governance/security/).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "governance.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "governance.security.lockout.lockout_response"

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "governance.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "governance.api.schema.GovernanceAutoSchema",
    "EXCEPTION_HANDLER": "governance.api.exceptions.exception_handler",
    # 429 with Retry-After past the budget (governance/throttling.py): per user for tokens
    # and sessions, per address without credentials, and views with a throttle_scope.
    "DEFAULT_THROTTLE_CLASSES": [
        "governance.throttling.UserRateThrottle",
        "governance.throttling.AnonRateThrottle",
        "governance.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": _env_rate("API_USER_RATE", "2000/hour"),
        "anon": _env_rate("API_ANON_RATE", "300/hour"),
        "anonymous-report": _env_rate("ANONYMOUS_REPORT_RATE", "20/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Grid governance API",
    "DESCRIPTION": (
        "REST API of the grid-based community governance platform (网格化管理). "
        "Authenticate with `Authorization: Token <key>`; every list is scoped to the "
        "caller's grids."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # no "validator" badge: it would send the schema's address to a third-party site
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "GridKindEnum": "grids.models.GridKind",
        "GridLevelEnum": "grids.models.GridLevel",
        "AssignmentRoleEnum": "grids.models.AssignmentRole",
        "PartyOrganizationKindEnum": "grids.models.PartyOrganizationKind",
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "WhistleStatusEnum": "tickets.models.WhistleStatus",
        "TicketEventKindEnum": "tickets.models.EventKind",
        "TicketChannelEnum": "tickets.models.Channel",
        "TicketRatingEnum": "tickets.models.Rating",
        "TicketRouteEnum": "tickets.models.Route",
        "MeetingStatusEnum": "tickets.models.MeetingStatus",
        "MeetingTierEnum": "tickets.models.MeetingTier",
        "AgendaDecisionEnum": "tickets.models.Decision",
        "WebhookEventTypeEnum": "webhooks.models.EventType",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
        "HotlineOrderStatusEnum": "hotline.models.OrderStatus",
    },
}

# --- Celery -------------------------------------------------------------------------------
# Without a broker, tasks run eagerly in the caller (tests, one-off commands). `make run`
# sets CELERY_BROKER_URL=filesystem:// so a real worker and beat run with no server;
# production points it at Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "notifications-catch-up": {
        "task": "tickets.tasks.notifications_catch_up_task",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    "redemptions-expire": {
        "task": "volunteers.tasks.redemptions_expire_task",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # Overdue tickets climb the escalation ladder (tickets/escalation.py); a run that
    # waited in a queue longer than its minute is dropped, the next one catches up.
    "ticket-escalation-sweep": {
        "task": "tickets.tasks.ticket_escalation_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "ticket-auto-close": {
        "task": "tickets.tasks.ticket_auto_close_task",
        "schedule": 600.0,
        "options": {"expires": 540},
    },
    "campaigns-close-expired": {
        "task": "residents.tasks.campaigns_close_expired_task",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Integrators' webhooks whose task was lost, and retries that fell due (webhooks/).
    "webhooks-catch-up": {
        "task": "webhooks.tasks.deliveries_catch_up_task",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "idempotency-purge": {
        "task": "governance.idempotency.tasks.idempotency_purge_task",
        "schedule": 86400.0,
        "options": {"expires": 3600},
    },
    # The dashboard's rollups: pending changes folded into their rows (governance/dashboard).
    "dashboard-rollups-compact": {
        "task": "governance.dashboard.tasks.rollups_compact_task",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
    "grid-tree-check": {
        "task": "grids.tasks.grid_tree_check_task",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
}

# --- Integrations --------------------------------------------------------------------------
# Webhook receivers on private or loopback addresses are refused unless this is set (a
# county's intranet integrator, or a receiver on this machine during a demo).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOKS_TIMEOUT = env_int("WEBHOOKS_TIMEOUT", 10)
# Open311: our jurisdiction id (empty: the host the site is called by), and the grid (by
# code) whose staff place requests that come with an address but no coordinates.
OPEN311_JURISDICTION_ID = env_str("OPEN311_JURISDICTION_ID", "")
OPEN311_ADDRESS_GRID = env_str("OPEN311_ADDRESS_GRID", "")

# How long the answer to a request with an Idempotency-Key is kept for replays: long enough
# for a phone that spent a fortnight on the plateau without signal.
IDEMPOTENCY_KEY_TTL = datetime.timedelta(days=env_int("IDEMPOTENCY_KEY_TTL_DAYS", 30))

# --- Tickets ------------------------------------------------------------------------------
# A resolved ticket the reporter has not rated closes itself after this long (闭环评事).
TICKET_AUTO_CLOSE_AFTER = datetime.timedelta(days=env_int("TICKET_AUTO_CLOSE_DAYS", 7))
# Office hours (local time, TIME_ZONE), Monday to Friday: outside them a ticket routed to
# "the grid's worker" goes to whoever is on the duty rota (八小时以外, tickets/routing.py).
OFFICE_HOURS = ((8, 30), (17, 30))

# --- Volunteers ---------------------------------------------------------------------------
# Days a redeemed item waits at the points shop before the redemption lapses.
VOLUNTEERS_PICKUP_DAYS = env_int("VOLUNTEERS_PICKUP_DAYS", 30)

# --- Email and logging --------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@localhost")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # with eager tasks (tests, commands) every task would log a line in the caller
        "celery.app.trace": {"level": "WARNING" if not CELERY_BROKER_URL else "INFO"},
    },
}
