"""Django settings, read from the environment.

Every setting has a safe local default, so that `mlcontest serve` works with nothing set:
a SQLite file in ``MLCONTEST_DATA_DIR`` (default ``./mlcontest-data``), DEBUG off, a secret
key generated once and kept in the data folder (unless ``MLCONTEST_PUBLIC_URL`` is set: then
``SECRET_KEY_FILE`` is required, see mlcontest/core/machines.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from mlcontest.core.env import env_bool, env_int, env_list, env_str
from mlcontest.core.machines import secret_key, use_pool
from mlcontest.core.public_url import HSTS_SECONDS_DEFAULT, public_url_settings

DATA_DIR = Path(env_str("MLCONTEST_DATA_DIR", "mlcontest-data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _database(url: str) -> dict[str, Any]:
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=600))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Several server and worker processes share one SQLite file: WAL lets readers go on
        # while one writes, the timeout waits for the lock instead of failing at once, and
        # IMMEDIATE takes the write lock at BEGIN so that two claims cannot interleave.
        # The busy timeout bounds how long a request waits for another's write lock before it
        # gets a 503 (mlcontest/http/db_outage.py): writes take milliseconds, so seconds of waiting
        # mean something is stuck, and a quick "try again" beats a page that hangs for 30 s.
        config["OPTIONS"] = {
            "timeout": env_int("MLCONTEST_SQLITE_BUSY_TIMEOUT", 5),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        if config.get("TEST") is None:
            config["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        _bound_postgres_waits(config)
    else:
        config["CONN_HEALTH_CHECKS"] = True
    return config


def _bound_postgres_waits(config: dict[str, Any]) -> None:
    """Timeouts so that a database that stops answering costs a request seconds, not minutes
    (why each one, and what it cannot do: mlcontest/http/db_outage.py). A value in the URL's query
    string wins; 0 turns one off."""
    statement = env_int("MLCONTEST_DB_STATEMENT_TIMEOUT", 15)
    user_timeout_ms = 1000 * env_int("MLCONTEST_DB_TCP_TIMEOUT", 5)
    config["ENGINE"] = "mlcontest.core.postgres"  # Django's backend with client-side deadlines
    config["CONN_HEALTH_CHECKS"] = True
    options: dict[str, Any] = config.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", env_int("MLCONTEST_DB_CONNECT_TIMEOUT", 2))
    options.setdefault("keepalives", 1)
    options.setdefault("keepalives_idle", 5)
    options.setdefault("keepalives_interval", 2)
    options.setdefault("keepalives_count", 2)
    options.setdefault("tcp_user_timeout", user_timeout_ms)
    if statement > 0:
        given = options.get("options", "")
        if "statement_timeout" not in given:
            options["options"] = f"{given} -c statement_timeout={1000 * statement}".strip()
    config["DEADLINES"] = {
        "health_check": env_int("MLCONTEST_DB_HEALTH_CHECK_MS", 1000) / 1000,
        # The server's own statement timeout, with its clear error, should come first.
        "query": statement + 3 if statement > 0 else 0,
    }
    use_pool(config)  # connections per machine: mlcontest/core/machines.py


SECRET_KEY = secret_key(DATA_DIR)  # one for every machine: mlcontest/core/machines.py
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Behind a reverse proxy, the public address sets the hosts, origins, secure cookies, HSTS and
# the proxy header together (mlcontest/core/public_url.py; docs/deploy.md).
PUBLIC_URL = ""
globals().update(
    public_url_settings(
        env_str("MLCONTEST_PUBLIC_URL", ""),
        env_list("ALLOWED_HOSTS", []),
        CSRF_TRUSTED_ORIGINS,
        env_int("MLCONTEST_HSTS_SECONDS", HSTS_SECONDS_DEFAULT),
        env_bool("MLCONTEST_HSTS_PRELOAD", False),
    )
)

DATABASES = {
    "default": _database(env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'mlcontest.sqlite3'}"))
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mlcontest.contest",
    "mlcontest.web",
]

MIDDLEWARE = [
    "mlcontest.http.metrics.LatencyMiddleware",  # times everything below (/metrics)
    "mlcontest.http.db_outage.DatabaseOutageMiddleware",  # sees every layer's errors
    # Before the host check and the HTTPS redirect: probes reach an instance directly.
    "mlcontest.core.health.HealthMiddleware",
    "mlcontest.http.guards.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (the switch's choice), before CommonMiddleware (its redirects).
    "mlcontest.http.language.PageLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "mlcontest.http.guards.CleanTextMiddleware",
    "mlcontest.http.endpoints.ScriptRefererMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mlcontest.http.endpoints.TokenAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mlcontest.urls"
WSGI_APPLICATION = "mlcontest.wsgi.application"
AUTH_USER_MODEL = "contest.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Sign-up checks new passwords with Django's validators (organizer-made accounts get a warning).
AUTH_PASSWORD_VALIDATORS: list[dict[str, Any]] = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("MLCONTEST_PASSWORD_MIN_LENGTH", 8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (mlcontest/contest/login_throttle.py): failed sign-ins allowed per user name
# and per network address within the window. A class shares one address, so that limit is
# far higher.
LOGIN_FAILURES_PER_NAME = env_int("MLCONTEST_LOGIN_FAILURES_PER_NAME", 10)
LOGIN_FAILURES_PER_ADDRESS = env_int("MLCONTEST_LOGIN_FAILURES_PER_ADDRESS", 200)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("MLCONTEST_LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
# Sessions and users through a 2-second per-process cache (see mlcontest/http/auth_cache.py).
SESSION_ENGINE = "mlcontest.http.auth_cache"
AUTHENTICATION_BACKENDS = ["mlcontest.http.auth_cache.CachedModelBackend"]
CSRF_FAILURE_VIEW = "mlcontest.http.endpoints.csrf_failure"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Pages in English or German: the switch on every page, else the browser's language, else
# English (mlcontest/http/language.py; the JSON API and the seed protocol always answer in English).
# The German catalogue is mlcontest/locale/de/LC_MESSAGES/django.po, compiled to the committed
# django.mo by `python3.11 tasks.py messages` (mlcontest/core/translations.py).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [Path(__file__).resolve().parent / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # a term and more: the switch is not asked again
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at every start while it is missing
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))

# The largest body a worker legitimately posts: a picture of MAX_PICTURE_BYTES base64-encoded
# in a form field (4/3 of it, plus percent-encoding of '+' and '/'), or the three label lists
# of a 100,000-point dataset (about 2.5 MB form-encoded with 10-character class names). A
# larger body is refused from its Content-Length before it is read (mlcontest/http/guards.py).
MAX_PICTURE_BYTES = env_int("MLCONTEST_MAX_PICTURE_BYTES", 2 * 1024 * 1024)
MAX_BODY_BYTES = env_int("MLCONTEST_MAX_BODY_BYTES", max(8 * 1024 * 1024, 2 * MAX_PICTURE_BYTES))
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", MAX_BODY_BYTES)

# The contest's own knobs.
LEASE_SECONDS = env_int("MLCONTEST_LEASE_SECONDS", 60)
MAX_ATTEMPTS = env_int("MLCONTEST_MAX_ATTEMPTS", 3)
# A waiting ping sleeps until a job is queued (contest/wakeup.py); once per this many
# milliseconds one waiter per process claims anyway: leases that ran out, a lost wake-up.
WAIT_POLL_SECONDS = env_int("MLCONTEST_WAIT_POLL_MS", 1000) / 1000
BENCH_ENDPOINTS = env_bool("MLCONTEST_BENCH_ENDPOINTS", False)
# `Authorization: Bearer <it>` reads /metrics (mlcontest/http/metrics.py); empty: organizers only.
METRICS_TOKEN = env_str("MLCONTEST_METRICS_TOKEN", "")
# Web sign-up needs this class code; empty keeps sign-up closed (organizers create accounts).
SIGNUP_CODE = env_str("MLCONTEST_SIGNUP_CODE", "")
# Whether students may create groups themselves (otherwise organizers make them).
STUDENTS_CREATE_GROUPS = env_bool("MLCONTEST_STUDENTS_CREATE_GROUPS", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    # The contest's own events, one JSON line each (mlcontest/core/events.py).
    "loggers": {"mlcontest.events": {"level": env_str("MLCONTEST_EVENT_LOG_LEVEL", "INFO")}},
}
