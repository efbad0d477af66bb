"""Settings for LSB, read from the environment.

Production mode (DEBUG off, the default) refuses to start when a setting it
cannot do without is missing, naming that setting. Development mode (DEBUG=1,
as the run command sets it) falls back to local defaults.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def required(name, development_default):
    """The named environment variable; in production mode it must be set."""
    value = os.environ.get(name, "")
    if value:
        return value
    if DEBUG:
        return development_default
    raise ImproperlyConfigured(
        f"{name} is not set. LSB refuses to start in production mode (DEBUG off) "
        f"without {name}; set it in the environment, or set DEBUG=1 for development."
    )


DEBUG = env_bool("DEBUG")

SECRET_KEY = required("SECRET_KEY", "insecure-development-key-do-not-use-in-production")

# The domain under which every library organisation gets its own host name:
# <slug>.<LSB_BASE_DOMAIN>. Browsers resolve *.localhost to the loopback address,
# so the development default needs no hosts file.
LSB_BASE_DOMAIN = os.environ.get("LSB_BASE_DOMAIN", "localhost")
# Host names that serve the national pages (public schema): national admin and
# the national search entry.
LSB_NATIONAL_HOSTS = env_list("LSB_NATIONAL_HOSTS") or [LSB_BASE_DOMAIN, "127.0.0.1"]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or (
    [LSB_BASE_DOMAIN, f".{LSB_BASE_DOMAIN}", "127.0.0.1"] if DEBUG else []
)
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. LSB refuses to start in production mode (DEBUG off) "
        "without ALLOWED_HOSTS (comma-separated, e.g. '.bibliotheek.example')."
    )

DATABASE_URL = required("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lsb")
REDIS_URL = required("REDIS_URL", "redis://127.0.0.1:6379/0")

# How LSB reaches PostgreSQL: "direct", or through PgBouncer in "session" or
# "transaction" pool mode. Every mode is safe: the backend sets each transaction's
# search path inside that transaction (tenants/postgresql_backend/base.py); in
# transaction mode it also refuses statements that cannot run in a transaction.
LSB_DB_POOL_MODE = os.environ.get("LSB_DB_POOL_MODE", "direct").strip().lower() or "direct"
if LSB_DB_POOL_MODE not in {"direct", "session", "transaction"}:
    raise ImproperlyConfigured(
        f"LSB_DB_POOL_MODE is {LSB_DB_POOL_MODE!r}; it must be direct, session or transaction."
    )
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # Seconds a process keeps its connection (to PostgreSQL or to PgBouncer); 0 closes
        # it after every request, empty keeps it for ever.
        conn_max_age=(
            None if os.environ.get("CONN_MAX_AGE", "60").strip().lower() in {"", "none"}
            else int(os.environ.get("CONN_MAX_AGE", "60"))
        ),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", True),
    )
}
DATABASES["default"]["ENGINE"] = "tenants.postgresql_backend"
# No WITH HOLD cursors on a pooled server session: .iterator() fetches client-side
# outside a transaction anyway (the backend's chunked_cursor); in transaction mode
# it does so inside transactions too unless this is set to 0.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
    "DISABLE_SERVER_SIDE_CURSORS", LSB_DB_POOL_MODE == "transaction"
)
# (psycopg's prepared statements, server-session state, stay off: Django's default.)
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

# --- Tenancy -----------------------------------------------------------------
# Decided before the first migration: moving an app between the two lists later
# is painful. Personal data lives only in TENANT_APPS.
SHARED_APPS = [
    "django_tenants",
    "core",
    "tenants",
    "staff",
    "catalogue",
    "django.contrib.contenttypes",
    "django.contrib.postgres",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Failed staff sign-ins and the lock-out (staff.sign_in); staff accounts are national.
    "axes",
    # Machine accounts (self-service machines, integrations): no personal data.
    "selfservice",
    # Interlibrary loan: requests, transport legs, crates, runs, IBL terms; opaque references only.
    "ibl",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "collection",
    "members",
    "circulation",
    "notices",
    # Acquisitions: suppliers, funds, orders, receipt, invoices (the library's own money).
    "ordering",
]
# demo (seed_demo: the demo data across every app) and api (the REST API, an edge over
# every app's services) have no models, so they are in neither list.
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS] + ["demo", "api"]

TENANT_MODEL = "tenants.LibraryOrganisation"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "lsb.urls_public"
ROOT_URLCONF = "lsb.urls_tenants"
# New library organisations are cloned from this fully migrated template schema
# instead of replaying every migration (seconds instead of minutes at 150 tenants).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# No `SET search_path` per cursor or per connection: tenants/postgresql_backend sends
# `SET LOCAL search_path` with the first statement of each transaction instead.
TENANT_LIMIT_SET_CALLS = True
# migrate_schemas goes on past a failing tenant, names it, and skips schemas that
# have nothing to apply.
GET_EXECUTOR_FUNCTION = "tenants.migration.get_executor"

AUTH_USER_MODEL = "staff.StaffUser"
# ModelBackend that also reads the user's roles at the request's library in the same
# statement (staff/backends.py). Sessions signed in under another backend path are
# signed out once.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "staff.backends.StaffBackend"]
LOGIN_URL = "staff:login"
# Where a sign-in goes when its `next` is missing or off-site: a path, so that it
# resolves on every host. The desk's sign-in goes to the desk (its own next_page);
# the national admin's to the admin index.
LOGIN_REDIRECT_URL = "/admin/"

MIDDLEWARE = [
    "tenants.middleware.LibraryRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A NUL character in the path, a parameter, a form field or a JSON body: 400 before any view.
    "core.middleware.InputCleanMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A signed-in staff session ends after LSB_DESK_IDLE_MINUTES without a request.
    "staff.middleware.DeskIdleTimeoutMiddleware",
    # Pages of a signed-in session (personal data) are never stored by a browser or proxy.
    "core.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: answers a locked-out sign-in (staff.sign_in.locked_out).
    "axes.middleware.AxesMiddleware",
]

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
                "tenants.context_processors.library",
            ],
        },
    },
]

WSGI_APPLICATION = "lsb.wsgi.application"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Language and time ---------------------------------------------------------
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Tests and development serve static files straight from the app folders.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)

# Uploaded files (MARC imports waiting for a worker). With several nodes this must be
# shared storage: the worker that imports may not be the node that received the upload.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, sessions stay in the database ----------------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "lsb"),
        "TIMEOUT": 300,
    }
}

# --- Celery --------------------------------------------------------------------


def celery_url(redis_url):
    """Celery (kombu) spells a Redis unix socket `redis+socket://`."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://"):]
    return redis_url


CELERY_BROKER_URL = celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True  # a crashed worker's task is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "var" / "celerybeat-schedule")
)

# --- E-mail (notices to members) ------------------------------------------------------
# Development prints mail on the console; production sends by SMTP. EMAIL_BACKEND may
# name any Django backend, e.g. django.core.mail.backends.filebased.EmailBackend with
# EMAIL_FILE_PATH (a folder) to keep the mail as files.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
# A mail server that hangs must not hold a send run (and its claimed notice) for long.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# --- Members' catalogue (OPAC) ---------------------------------------------------------
# A member's session ends after this many idle minutes, or this many hours in all.
OPAC_SESSION_IDLE_MINUTES = int(os.environ.get("OPAC_SESSION_IDLE_MINUTES", "30"))
OPAC_SESSION_MAX_HOURS = int(os.environ.get("OPAC_SESSION_MAX_HOURS", "12"))
# How long the links LSB mails are valid: e-mail verification (days), PIN reset (minutes).
OPAC_VERIFY_LINK_DAYS = int(os.environ.get("OPAC_VERIFY_LINK_DAYS", "3"))
OPAC_PIN_RESET_LINK_MINUTES = int(os.environ.get("OPAC_PIN_RESET_LINK_MINUTES", "60"))

# --- Security in production ------------------------------------------------------
# Sessions are read from Redis and written through to the database: a request
# then costs no session query, and a Redis restart loses no sign-in.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# SECURE_COOKIES: LSB is served over HTTPS (production; behind a proxy that sets
# X-Forwarded-Proto). Then cookies are secure, plain HTTP is redirected to HTTPS
# (except /healthz, for load balancers) and browsers are told to use HTTPS only (HSTS).
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SESSION_COOKIE_SECURE)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if SESSION_COOKIE_SECURE else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # every library is a subdomain of LSB_BASE_DOMAIN
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SESSION_COOKIE_SECURE)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Shared desk PCs: a staff session ends when the browser closes, after
# LSB_DESK_IDLE_MINUTES without a request (staff.middleware.DeskIdleTimeoutMiddleware),
# and at the latest after SESSION_COOKIE_AGE (a working day).
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 60 * 60)))
LSB_DESK_IDLE_MINUTES = int(os.environ.get("LSB_DESK_IDLE_MINUTES", "30"))

# Content-Security-Policy (django-csp): scripts and styles from LSB's own static
# files only, no inline scripts or event handlers; inline style attributes are
# allowed (layout only). No frames, no plugins, forms post to LSB itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# The REST API (api/, /api/v1/ on each library's host): machine and staff API keys
# (api.authentication), one error format (api.exceptions), throttled per key in Redis.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# Requests per API key (one bucket per key, shared by every web process through Redis).
LSB_API_RATE = os.environ.get("LSB_API_RATE", "600/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "LSB REST API",
    "DESCRIPTION": (
        "The REST API of one library organisation in LSB, on that library's own host "
        "(https://<library>.<domain>/api/v1/). Self-service machines use a machine key, "
        "integrations a staff member's key; send it as `Authorization: Bearer <key>` "
        "(or `Token <key>`). Every refusal is `{\"errors\": [{code, field, params, message}]}`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Staff sign-in lock-out (staff/sign_in.py, django-axes) ------------------------------
STAFF_SIGN_IN_MAX_FAILURES = int(os.environ.get("STAFF_SIGN_IN_MAX_FAILURES", "5"))
STAFF_SIGN_IN_ADDRESS_MAX_FAILURES = int(os.environ.get("STAFF_SIGN_IN_ADDRESS_MAX_FAILURES", "30"))
STAFF_SIGN_IN_LOCK_MINUTES = int(os.environ.get("STAFF_SIGN_IN_LOCK_MINUTES", "15"))
# How many proxies in front of LSB append the client's address to X-Forwarded-For
# (0: none, REMOTE_ADDR is the client). Used for the lock-out per address.
LSB_TRUSTED_PROXIES = int(os.environ.get("LSB_TRUSTED_PROXIES", "0"))
AXES_HANDLER = "staff.sign_in.StaffSignInHandler"
AXES_FAILURE_LIMIT = STAFF_SIGN_IN_MAX_FAILURES
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = datetime.timedelta(minutes=STAFF_SIGN_IN_LOCK_MINUTES)
AXES_RESET_ON_SUCCESS = True
# A lock ends after its time, however often the locked account is tried meanwhile.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "staff.sign_in.locked_out"
AXES_CLIENT_IP_CALLABLE = "staff.sign_in.client_address"
AXES_USERNAME_CALLABLE = "staff.sign_in.username_of"
AXES_HTTP_RESPONSE_CODE = 429

# core.locks: a row lock taken against the documented order raises (tests, and
# LSB_STRICT_LOCK_ORDER=1) or is logged (production).
LSB_STRICT_LOCK_ORDER = os.environ.get("LSB_STRICT_LOCK_ORDER", "") == "1"
