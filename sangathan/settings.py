"""One settings module, driven by environment variables (see .env.example)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("SANGATHAN_DEBUG", True)
# The demo runs with a throwaway key; production must set SANGATHAN_SECRET_KEY.
DEMO_SECRET_KEY = "insecure-demo-key-change-me-" + "x" * 20
SECRET_KEY = os.environ.get("SANGATHAN_SECRET_KEY", DEMO_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEMO_SECRET_KEY:
    # Sessions, OTP hashes and API tokens are keyed on it: a published key would forge them.
    raise ImproperlyConfigured("Set SANGATHAN_SECRET_KEY when SANGATHAN_DEBUG is off.")
ALLOWED_HOSTS = os.environ.get("SANGATHAN_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("SANGATHAN_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

# The organisation's kind decides what the platforms' rules allow (WhatsApp Business
# Platform refuses political organisations).
SANGATHAN_ORG_KIND = os.environ.get("SANGATHAN_ORG_KIND", "political")
SANGATHAN_ORG_NAME = os.environ.get("SANGATHAN_ORG_NAME", "Sangathan demo")
SANGATHAN_GRIEVANCE_CONTACT = os.environ.get("SANGATHAN_GRIEVANCE_CONTACT", "grievance@example.org")
SANGATHAN_DEFAULT_REGION = "IN"
SANGATHAN_MAX_UPLOAD_BYTES = int(os.environ.get("SANGATHAN_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
# OTP login: in the demo the code is printed to the console.
SANGATHAN_OTP_TTL_SECONDS = 600
SANGATHAN_OTP_MAX_PER_PHONE_PER_HOUR = int(os.environ.get("SANGATHAN_OTP_MAX_PER_PHONE", 5))
SANGATHAN_OTP_MAX_PER_IP_PER_HOUR = int(os.environ.get("SANGATHAN_OTP_MAX_PER_IP", 30))
SANGATHAN_OTP_MAX_ATTEMPTS = 5
SANGATHAN_DATA_DIR = BASE_DIR / "org" / "data"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "treebeard",
    "ninja",  # serves Swagger UI from its own static files, not a CDN
    "django_tasks",
    "django_tasks_db",
    "sangathan.core",
    "sangathan.accounts",
    "sangathan.org",
    "sangathan.people",
    "sangathan.broadcasts",
    "sangathan.channels",
    "sangathan.drives",
    "sangathan.member",
    "sangathan.groups",
    "sangathan.meetings",
    "sangathan.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "sangathan.core.middleware.HindiFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "sangathan.accounts.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "sangathan.urls"
WSGI_APPLICATION = "sangathan.wsgi.application"

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
                "sangathan.core.context_processors.sangathan",
            ],
        },
    }
]

DATABASE_URL = os.environ.get(
    "DATABASE_URL", f"sqlite:///{PROJECT_DIR / 'var' / 'sangathan.sqlite3'}"
)
# Connections are kept for a minute between requests (opening one, with SQLite's PRAGMAs or
# PostgreSQL's handshake, costs more than a feed page); health checks drop a dead one.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("SANGATHAN_CONN_MAX_AGE", 60)),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue on the busy timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA busy_timeout=20000; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
    }
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Statements run through a server-binding cursor (the member app's feed and token lookup,
    # ``sangathan.broadcasts.feed.hot_cursor``) are prepared after this many runs on a
    # connection; Django's usual client-side cursors never are. Set it empty behind a pooler
    # that cannot keep prepared statements (PgBouncer before 1.21, or without
    # max_prepared_statements).
    _prepare = os.environ.get("SANGATHAN_PG_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        int(_prepare) if _prepare else None
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "org:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Hindi first: the organisation's workers read Hindi; English is one click away.
LANGUAGE_CODE = "hi"
LANGUAGES = [("hi", _("Hindi")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = PROJECT_DIR / "var" / "static"

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Nothing correctness-critical lives in the cache (OTP rate limits count database rows), so a
# per-process cache is safe with several web processes.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work: tasks in the database by default (nothing else to run); RQ on Redis to
# scale out (`pip install -e '.[rq]'`, SANGATHAN_TASKS_BACKEND=django_tasks_rq.RQBackend, and
# `sangathan rqworker default` processes on any number of machines).
TASKS_BACKEND = os.environ.get("SANGATHAN_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")
TASKS = {"default": {"BACKEND": TASKS_BACKEND}}
SANGATHAN_REDIS_URL = os.environ.get("SANGATHAN_REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {"default": {"URL": SANGATHAN_REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
if TASKS_BACKEND == "django_tasks_rq.RQBackend":
    INSTALLED_APPS.append("django_rq")

# Uploaded broadcast attachments (images, PDFs).
MEDIA_ROOT = Path(os.environ.get("SANGATHAN_MEDIA_ROOT", PROJECT_DIR / "var" / "media"))
MEDIA_URL = "media/"

# Broadcasts: sends whose audience estimate passes this need approval from a higher position.
SANGATHAN_APPROVAL_THRESHOLD = int(os.environ.get("SANGATHAN_APPROVAL_THRESHOLD", 10000))

# WhatsApp groups: an admin's forward task still open after this many hours is reminded once.
SANGATHAN_GROUP_REMINDER_HOURS = float(os.environ.get("SANGATHAN_GROUP_REMINDER_HOURS", 6))
# Campaign silence before the close of polling (RP Act 1951 s.126).
SANGATHAN_SILENCE_HOURS = int(os.environ.get("SANGATHAN_SILENCE_HOURS", 48))
SANGATHAN_PUBLIC_URL = os.environ.get("SANGATHAN_PUBLIC_URL", "http://127.0.0.1:8000")

# Channels. Every external channel writes to the console (and the "sent messages" page) unless
# configured: set the URL of an SMS gateway or of the WhatsApp Cloud API to send for real.
SANGATHAN_SMS_URL = os.environ.get("SANGATHAN_SMS_URL", "")
SANGATHAN_SMS_API_KEY = os.environ.get("SANGATHAN_SMS_API_KEY", "")
SANGATHAN_SMS_WEBHOOK_SECRET = os.environ.get("SANGATHAN_SMS_WEBHOOK_SECRET", "")
# India's DLT registration: the principal entity id, the sender header and the template id.
SANGATHAN_DLT_ENTITY_ID = os.environ.get("SANGATHAN_DLT_ENTITY_ID", "")
SANGATHAN_DLT_HEADER = os.environ.get("SANGATHAN_DLT_HEADER", "SNGTHN")
SANGATHAN_DLT_TEMPLATE_ID = os.environ.get("SANGATHAN_DLT_TEMPLATE_ID", "")
SANGATHAN_WHATSAPP_URL = os.environ.get("SANGATHAN_WHATSAPP_URL", "")  # https://graph.facebook.com
SANGATHAN_WHATSAPP_API_VERSION = os.environ.get("SANGATHAN_WHATSAPP_API_VERSION", "v21.0")
SANGATHAN_WHATSAPP_TOKEN = os.environ.get("SANGATHAN_WHATSAPP_TOKEN", "")
SANGATHAN_WHATSAPP_PHONE_NUMBER_ID = os.environ.get("SANGATHAN_WHATSAPP_PHONE_NUMBER_ID", "")
SANGATHAN_WHATSAPP_APP_SECRET = os.environ.get("SANGATHAN_WHATSAPP_APP_SECRET", "")
SANGATHAN_WHATSAPP_VERIFY_TOKEN = os.environ.get("SANGATHAN_WHATSAPP_VERIFY_TOKEN", "")
SANGATHAN_WHATSAPP_TEMPLATE = os.environ.get("SANGATHAN_WHATSAPP_TEMPLATE", "broadcast")
SANGATHAN_VAPID_PUBLIC_KEY = os.environ.get("SANGATHAN_VAPID_PUBLIC_KEY", "")
SANGATHAN_VAPID_PRIVATE_KEY = os.environ.get("SANGATHAN_VAPID_PRIVATE_KEY", "")
SANGATHAN_VAPID_SUBJECT = os.environ.get("SANGATHAN_VAPID_SUBJECT", "mailto:admin@example.org")
SANGATHAN_CHANNEL_ADAPTERS = {
    "sms": os.environ.get("SANGATHAN_SMS_ADAPTER", "http" if SANGATHAN_SMS_URL else "console"),
    "whatsapp": os.environ.get(
        "SANGATHAN_WHATSAPP_ADAPTER", "cloud" if SANGATHAN_WHATSAPP_URL else "console"
    ),
    # "smtp" sends through Django's EMAIL_* settings
    "email": os.environ.get("SANGATHAN_EMAIL_ADAPTER", "console"),
    "push": os.environ.get(
        "SANGATHAN_PUSH_ADAPTER", "webpush" if SANGATHAN_VAPID_PRIVATE_KEY else "console"
    ),
}
SANGATHAN_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("SANGATHAN_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
)
# Outbox workers: a claim older than the lease is a dead worker's and is queued again; a
# delivery fails after this many attempts; several sending processes share each rate.
SANGATHAN_CLAIM_LEASE_SECONDS = int(os.environ.get("SANGATHAN_CLAIM_LEASE_SECONDS", 300))
SANGATHAN_SEND_MAX_ATTEMPTS = int(os.environ.get("SANGATHAN_SEND_MAX_ATTEMPTS", 8))
SANGATHAN_SEND_BATCH = int(os.environ.get("SANGATHAN_SEND_BATCH", 200))
SANGATHAN_SEND_PROCESSES = int(os.environ.get("SANGATHAN_SEND_PROCESSES", 1))
SANGATHAN_SMS_TIMEOUT = float(os.environ.get("SANGATHAN_SMS_TIMEOUT", 10))
SANGATHAN_SMS_MAX_SEGMENTS = int(os.environ.get("SANGATHAN_SMS_MAX_SEGMENTS", 4))
SANGATHAN_WHATSAPP_TIMEOUT = float(os.environ.get("SANGATHAN_WHATSAPP_TIMEOUT", 10))
SANGATHAN_WHATSAPP_CONCURRENCY = int(os.environ.get("SANGATHAN_WHATSAPP_CONCURRENCY", 8))
SANGATHAN_PUSH_TIMEOUT = float(os.environ.get("SANGATHAN_PUSH_TIMEOUT", 10))
# Promotional SMS (anything not organisational) only between these hours, IST (TRAI).
SANGATHAN_SMS_PROMOTIONAL_HOURS = (10, 21)
# Messages per second each sender may send (the provider's limit for the account).
SANGATHAN_SEND_RATES = {
    "sms": float(os.environ.get("SANGATHAN_SMS_RATE", 100)),
    "whatsapp": float(os.environ.get("SANGATHAN_WHATSAPP_RATE", 80)),
    "email": float(os.environ.get("SANGATHAN_EMAIL_RATE", 20)),
    "push": float(os.environ.get("SANGATHAN_PUSH_RATE", 500)),
}

EMAIL_BACKEND = os.environ.get(
    "SANGATHAN_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "sangathan": {"handlers": ["console"], "level": "INFO"},
    },
}
