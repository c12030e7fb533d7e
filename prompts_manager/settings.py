"""PromptFinder settings: every knob comes from the environment (see README "Configuration").

Safe local defaults: SQLite file and local media when nothing is set, so one command runs the
site on a bare machine. With DEBUG off the site refuses to start without SECRET_KEY and turns
on the production security settings.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


DEBUG = env_bool("DEBUG", default=False)
TESTING = env_bool("PROMPTFINDER_TESTING", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-local-development-key-never-use-in-production"
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. "
            "For local development run with DEBUG=1 (the README's run command does)."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public base URL of the site (absolute links in sitemaps, social tags, e-mails).
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")

# Social log-in: each provider is on only when both its client id and secret are set (README,
# "Social log-in"); off by default.
SOCIAL_LOGIN_ENV = {
    "google": ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"),
    "github": ("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"),
    "discord": ("DISCORD_CLIENT_ID", "DISCORD_CLIENT_SECRET"),
}
SOCIALACCOUNT_PROVIDERS = {
    provider: {"APPS": [{"client_id": os.environ[client_id], "secret": os.environ[secret], "key": ""}]}
    for provider, (client_id, secret) in SOCIAL_LOGIN_ENV.items()
    if os.environ.get(client_id) and os.environ.get(secret)
}
SOCIAL_LOGIN_APPS = [f"allauth.socialaccount.providers.{provider}" for provider in SOCIALACCOUNT_PROVIDERS]

INSTALLED_APPS = [
    "prompts.admin_site.PromptFinderAdminConfig",  # django.contrib.admin with our site (the staff queues)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "taggit",
    "csp",
    "django_q",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    *SOCIAL_LOGIN_APPS,
    "prompts",
]

MIDDLEWARE = [
    "prompts.timing.ServerTimingMiddleware",  # outermost: Server-Timing's total is the whole request
    "prompts.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "prompts.middleware.StaticFilesMiddleware",  # WhiteNoise, usable under ASGI without a thread
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "prompts.middleware.MediaOriginsCSPMiddleware",
    # Last, so its process_exception sees a view's database errors first: 503 instead of 500.
    "prompts.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "prompts_manager.urls"
WSGI_APPLICATION = "prompts_manager.wsgi.application"

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
                "prompts.context_processors.moderation_outcome_messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# PostgreSQL when DATABASE_URL is set (Heroku sets it); a SQLite file otherwise.
SQLITE_PATH = os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH") or None},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Whenever the engine is SQLite (no DATABASE_URL, or DATABASE_URL=sqlite:///...), web and
    # worker share the file: WAL lets readers work during a write, IMMEDIATE takes the write lock
    # at BEGIN so two writers queue instead of failing with "database is locked" half-way through
    # a transaction, and the timeout is how long a writer queues.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
    # A persistent connection gains nothing on a local file and would hold a lock between requests.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by web and worker) ---------------------------------------------------
# The image-byte cache and anything else that must be seen by both processes needs a shared
# cache: a per-process memory cache would silently not work.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
            "TIMEOUT": 1800,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "promptfinder_cache",
            "TIMEOUT": 1800,
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The first backend authenticates nobody: it throttles password guessing for every log-in form
# (the site's, allauth's by username or email, the admin's). allauth's backend checks the password
# by username or by email and is Django's ModelBackend otherwise (permissions, the admin).
AUTHENTICATION_BACKENDS = [
    "prompts.auth_backends.LoginThrottleBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Django's database sessions, whose read is one plain query (prompts/sessions.py).
SESSION_ENGINE = "prompts.sessions"
# How many proxies in front of the app append to X-Forwarded-For (Heroku: 1, its router). The
# client's address is the entry that many places from the right; 0 means REMOTE_ADDR.
TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Accounts (django-allauth; README "Accounts") -----------------------------------------
# Sign-up asks for an email and a username; log-in takes either. Verification is "optional" for
# allauth (a new account is logged in at once and may browse, like, comment and collect), and
# required by us before uploading: prompts.views.accounts.verified_email_required on the upload
# page and the upload endpoints.
ACCOUNT_ADAPTER = "prompts.account_adapter.AccountAdapter"
ACCOUNT_FORMS = {
    name: f"prompts.forms.{form}"
    for name, form in {
        "login": "LoginForm",
        "signup": "SignupForm",
        "add_email": "AddEmailForm",
        "change_password": "ChangePasswordForm",
        "set_password": "SetPasswordForm",
        "reset_password": "ResetPasswordForm",
        "reset_password_from_key": "ResetPasswordKeyForm",
    }.items()
}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = True  # as before: a log-in lasts SESSION_COOKIE_AGE, no "remember me" box
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[PromptFinder] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_USERNAME_MIN_LENGTH = 1
# allauth's own limits (in the cache) stay on for sign-up, password reset, email changes and
# resending the verification. Failed log-ins are throttled by prompts.auth_backends instead (per
# username and per address, the admin's form included), and a limit on *successful* log-ins per
# address would refuse an office or a phone network sharing one address.
ACCOUNT_RATE_LIMITS = {"login_failed": None, "login": None}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # a provider's address never logs into an existing account
SOCIALACCOUNT_LOGIN_ON_GET = False  # the provider button POSTs (no log-in CSRF through a link)
SOCIALACCOUNT_STORE_TOKENS = False

# --- Mail (django-anymail; README "Mail") ----------------------------------------------------
# EMAIL_PROVIDER: postmark | sendgrid | mailgun (an HTTP API through anymail), smtp, console
# (printed, the default in development), locmem (tests). Production without one prints mail to
# the log and the deploy check warns (prompts.checks).
EMAIL_PROVIDER = os.environ.get("EMAIL_PROVIDER", "locmem" if TESTING else "console").strip().lower()
_EMAIL_BACKENDS = {
    "postmark": "anymail.backends.postmark.EmailBackend",
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}
if EMAIL_PROVIDER not in _EMAIL_BACKENDS:
    raise ImproperlyConfigured(f"EMAIL_PROVIDER must be one of {', '.join(sorted(_EMAIL_BACKENDS))}.")
EMAIL_BACKEND = _EMAIL_BACKENDS[EMAIL_PROVIDER]
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))
# The names the Heroku add-ons set (Postmark: POSTMARK_API_TOKEN; Mailgun: MAILGUN_API_KEY,
# MAILGUN_DOMAIN; SendGrid: SENDGRID_API_KEY, which you create in SendGrid's dashboard).
ANYMAIL = {
    "POSTMARK_SERVER_TOKEN": os.environ.get("POSTMARK_API_TOKEN", ""),
    "SENDGRID_API_KEY": os.environ.get("SENDGRID_API_KEY", ""),
    "MAILGUN_API_KEY": os.environ.get("MAILGUN_API_KEY", ""),
    "MAILGUN_SENDER_DOMAIN": os.environ.get("MAILGUN_DOMAIN", ""),
    "MAILGUN_API_URL": os.environ.get("MAILGUN_API_URL", "https://api.mailgun.net/v3"),
}
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "PromptFinder <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media")))

# local: files under MEDIA_ROOT, uploads PUT to our own signed-URL view.
# s3: Backblaze B2 (or any S3 API) through django-storages, uploads PUT straight to the bucket.
MEDIA_BACKEND = os.environ.get("MEDIA_BACKEND", "local").strip().lower()
if MEDIA_BACKEND not in {"local", "s3"}:
    raise ImproperlyConfigured("MEDIA_BACKEND must be 'local' or 's3'.")
B2_ENDPOINT_URL = os.environ.get("B2_ENDPOINT_URL", "")
B2_REGION = os.environ.get("B2_REGION", "us-west-004")
B2_BUCKET = os.environ.get("B2_BUCKET", "")
B2_KEY_ID = os.environ.get("B2_KEY_ID", "")
B2_APPLICATION_KEY = os.environ.get("B2_APPLICATION_KEY", "")
MEDIA_CDN_URL = os.environ.get("MEDIA_CDN_URL", "").rstrip("/")
MEDIA_DELETE_ON_CANCEL = env_bool("MEDIA_DELETE_ON_CANCEL", default=False)

_default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if MEDIA_BACKEND == "s3":
    if not (B2_BUCKET and B2_KEY_ID and B2_APPLICATION_KEY):
        raise ImproperlyConfigured("MEDIA_BACKEND=s3 needs B2_BUCKET, B2_KEY_ID and B2_APPLICATION_KEY.")
    _default_storage = {
        "BACKEND": "prompts.media.storage.B2Storage",
        "OPTIONS": {
            "bucket_name": B2_BUCKET,
            "endpoint_url": B2_ENDPOINT_URL or None,
            "region_name": B2_REGION,
            "access_key": B2_KEY_ID,
            "secret_key": B2_APPLICATION_KEY,
            # B2 has no per-object ACLs and speaks SigV4 only.
            "default_acl": None,
            "signature_version": "s3v4",
            "addressing_style": "path",
            "file_overwrite": True,
            "querystring_auth": False,
            "custom_domain": MEDIA_CDN_URL.split("://", 1)[-1] if MEDIA_CDN_URL else None,
            "url_protocol": (MEDIA_CDN_URL.split("://", 1)[0] + ":") if MEDIA_CDN_URL else "https:",
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Uploads ----------------------------------------------------------------------------
UPLOAD_MAX_IMAGE_BYTES = 3 * 1024 * 1024
UPLOAD_MAX_VIDEO_BYTES = 15 * 1024 * 1024
UPLOAD_WEEKLY_LIMIT = int(os.environ.get("UPLOAD_WEEKLY_LIMIT", "100"))
UPLOAD_HOURLY_PRESIGN_LIMIT = int(os.environ.get("UPLOAD_HOURLY_PRESIGN_LIMIT", "20"))
PRESIGN_EXPIRES_SECONDS = 3600
# How long one `complete` call holds its claim on an upload; after that a crashed call's claim
# may be taken over (a check takes seconds).
UPLOAD_CLAIM_LEASE_SECONDS = 300
# How long a signed link to unpublished media (author and staff only) stays valid.
PRIVATE_MEDIA_URL_SECONDS = 300
# How long browsers and the CDN may keep a published file (it can be unpublished or deleted).
MEDIA_PUBLIC_CACHE_SECONDS = int(os.environ.get("MEDIA_PUBLIC_CACHE_SECONDS", "600"))
IMAGE_CACHE_SECONDS = 1800
# The upload page's critical path (see README "Latency"): 0 = complete, moderation and variants in one
# request with moderation and variants side by side, PostgreSQL LISTEN/NOTIFY wakes the worker and the
# waiting processing page. 1 = the old one-step-at-a-time path, kept to measure it against (bench/journey.py).
CRITICAL_PATH_SEQUENTIAL = env_bool("CRITICAL_PATH_SEQUENTIAL", default=False)
# Threads per web process that make variants while moderation waits for the AI.
UPLOAD_VARIANT_THREADS = int(os.environ.get("UPLOAD_VARIANT_THREADS", "2"))
# Also make AVIF variants (300/600/1200) when Pillow can encode AVIF: smaller files, slower uploads.
IMAGE_AVIF_VARIANTS = env_bool("IMAGE_AVIF_VARIANTS", default=False)

# --- AI ---------------------------------------------------------------------------------
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "") or None
OPENAI_MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
AI_PROVIDER = os.environ.get("AI_PROVIDER", "openai" if OPENAI_API_KEY else "local").strip().lower()
AI_TIMEOUT_SECONDS = env_float("AI_TIMEOUT_SECONDS", 30.0)
# Whether an upload no classifier looked at (AI_PROVIDER=local) may be published without a
# moderator. On for local development and tests; off in production unless set explicitly.
AI_ALLOW_UNCHECKED = env_bool("AI_ALLOW_UNCHECKED", default=DEBUG or TESTING)
AI_MAX_RETRIES = int(os.environ.get("AI_MAX_RETRIES", "1"))
# The content check inside an upload request: one attempt of at most this many seconds, and at most
# AI_REQUEST_CONCURRENCY such calls at once per web process, so a slow or hung AI never holds the
# threads other people's requests need (and no request nears Heroku's 30 s router limit). A check
# that does not finish in time is finished by the worker (prompts/services/late_moderation.py).
AI_REQUEST_TIMEOUT_SECONDS = env_float("AI_REQUEST_TIMEOUT_SECONDS", 8.0)
AI_REQUEST_CONCURRENCY = int(os.environ.get("AI_REQUEST_CONCURRENCY", "4"))

# --- Processing page --------------------------------------------------------------------
PROCESSING_POLL_MS = int(os.environ.get("PROCESSING_POLL_MS", "3000"))
PROCESSING_WARNING_MS = int(os.environ.get("PROCESSING_WARNING_MS", "60000"))
PROCESSING_ERROR_MS = int(os.environ.get("PROCESSING_ERROR_MS", "120000"))
# Seconds a status request may wait for completion (0 turns the long poll off: plain polling only).
# Under a WSGI server each waiting browser holds a thread that long (the Procfile's ASGI worker holds none).
PROCESSING_LONG_POLL_SECONDS = int(os.environ.get("PROCESSING_LONG_POLL_SECONDS", "20"))
# At most this many long polls wait at once per web process (the rest answer at once and the page
# polls every PROCESSING_POLL_MS): waiting requests must never take every thread of a worker.
PROCESSING_LONG_POLLS_PER_PROCESS = int(os.environ.get("PROCESSING_LONG_POLLS_PER_PROCESS", "6"))
# Under the ASGI worker a waiting long poll holds no thread: many may wait per web process.
PROCESSING_ASYNC_LONG_POLLS_PER_PROCESS = int(os.environ.get("PROCESSING_ASYNC_LONG_POLLS_PER_PROCESS", "5000"))
# The processing page's event stream (Server-Sent Events, under the ASGI worker): a status event at least
# this often (under 55 s: Heroku's router closes a stream that sends nothing for 55 s), and a stream lasts
# at most this long before the page reconnects.
PROCESSING_EVENTS_EVERY_SECONDS = env_float("PROCESSING_EVENTS_EVERY_SECONDS", 15.0)
PROCESSING_EVENTS_MAX_SECONDS = env_float("PROCESSING_EVENTS_MAX_SECONDS", 300.0)
# Threads per web process for every other request under the ASGI worker (prompts_manager/asgi.py).
WEB_THREADS = int(os.environ.get("WEB_THREADS", "16"))

# --- Django-Q2: the ORM broker on our own database (docs/architecture.md, "Background tasks") --------
# Delivery is at least once (a lease of `retry` seconds that a dead worker leaves to expire), so
# every task is idempotent; max_attempts bounds the re-runs (Django-Q's default 0 retries forever).
Q_CLUSTER = {
    "name": os.environ.get("Q_CLUSTER_NAME", "promptfinder"),
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "recycle": 500,
    # timeout: AI call (30 s x 2 attempts) fits inside; retry must exceed timeout plus the
    # time a task can wait in a worker's prefetch queue, or a slow task would run twice.
    "timeout": 90,
    "retry": 180,
    "max_attempts": 3,
    "ack_failures": True,
    # A task claimed into a worker's queue is leased for `retry` seconds: a deep prefetch queue
    # (50 x bulk 10) would let a backlog of multi-second AI tasks outlive its leases and run
    # twice (bench/queue.py, a time-scaled run: 16 duplicates with 50/10, none with these).
    "queue_limit": int(os.environ.get("Q_WORKERS", "2")),
    "bulk": 1,
    "orm": "default",
    # The ORM broker, woken by PostgreSQL NOTIFY when a task is queued (prompts/wakeups.py); "poll" is
    # then only the fallback.
    "broker_class": "prompts.wakeups.ORMWithWakeups",
    "poll": env_float("Q_POLL", 0.5),
    "save_limit": 250,
    "catch_up": False,
    "sync": env_bool("Q_SYNC", default=False),
    "label": "Django Q",
}
# Q_BROKER=redis puts the queue in Redis (REDIS_URL) instead of our database. Off by default: Django-Q2's
# Redis broker hands a task out with BLPOP and has no lease, so a task a worker holds when its dyno
# restarts or crashes is lost (at most once), where the ORM broker runs it again (at least once,
# and manage.py worker hands it back on SIGTERM). README "Scaling out" has the measured comparison.
Q_BROKER = os.environ.get("Q_BROKER", "orm").strip().lower()
if Q_BROKER not in {"orm", "redis"}:
    raise ImproperlyConfigured("Q_BROKER must be 'orm' or 'redis'.")
if Q_BROKER == "redis":
    if not REDIS_URL:
        raise ImproperlyConfigured("Q_BROKER=redis needs REDIS_URL.")
    del Q_CLUSTER["orm"], Q_CLUSTER["broker_class"]  # the NOTIFY wake-ups belong to the ORM broker
    Q_CLUSTER["redis"] = REDIS_URL

# --- Health checks (/healthz, /readyz) -------------------------------------------------------
# Each readiness check (database, cache, storage, queue, stuck prompts) must answer within this.
READYZ_BUDGET_SECONDS = env_float("READYZ_BUDGET_SECONDS", 2.0)
# The oldest task no worker has taken may wait this long before /readyz answers 503.
READYZ_QUEUE_LAG_SECONDS = int(os.environ.get("READYZ_QUEUE_LAG_SECONDS", "300"))

# --- Production security ----------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not TESTING)
    # A load balancer or monitor may probe over plain HTTP inside the platform.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = not TESTING
    CSRF_COOKIE_SECURE = not TESTING
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

# One JSON object per line in production (LOG_FORMAT=json|text overrides), each with the request id
# and the upload/prompt id where known (prompts/observability.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG or TESTING else "json").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "prompts.observability.ContextFilter"}},
    "formatters": {
        "json": {"()": "prompts.observability.JsonFormatter"},
        "text": {"format": "%(levelname)s %(name)s [req=%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Error reports (web and worker: both load these settings) when SENTRY_DSN is set.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from prompts.observability import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", ""),
        release=os.environ.get("HEROKU_SLUG_COMMIT", ""),
        traces=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )
CSRF_FAILURE_VIEW = "prompts.views.api.csrf_failure"

# --- Content Security Policy (django-csp) -------------------------------------------------
# No inline script anywhere (JSON-LD blocks are data, not script). Inline style attributes are
# allowed only for the BlurHash placeholders; images also come as data: (placeholders) and blob:
# (the upload preview). The storage and CDN origins are added per response by
# prompts.middleware.MediaOriginsCSPMiddleware, since the browser PUTs straight to the bucket.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
