"""Django settings for the django-oauth-toolkit server the end-to-end tests talk to.

Test-only: a fixed fake SECRET_KEY, MD5 password hashing for speed, and a SQLite file
in the run directory that scripts/oauth-server creates. Never deploy this.
"""

import os
from pathlib import Path

from tokentop_dot import fixture

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("TOKENTOP_INTEROP_RUN_DIR", BASE_DIR / ".run"))

SECRET_KEY = "fake-django-secret-key-tokentop-tests-only-0001"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
    "tokentop_dot",
]

# Sessions and auth serve the sign-in the re-auth tests play: /accounts/login/, consent at /o/authorize/,
# the device pages. No CSRF middleware: only the login view checks its token (it is csrf_protect'ed).
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "tokentop_dot.urls"
LOGIN_URL = "/accounts/login/"
WSGI_APPLICATION = "tokentop_dot.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth"]},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": RUN_DIR / "dot.sqlite3",
        # IMMEDIATE takes the write lock at BEGIN, so concurrent refreshes queue on the busy
        # timeout instead of failing with "database is locked" when a read upgrades to a write.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# MD5 first: hashing alice's password with PBKDF2 on every password grant slows the suite.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

OAUTH2_PROVIDER = {
    "ROTATE_REFRESH_TOKEN": True,
    # Replaying a rotated refresh token revokes its whole family (RFC 9700 §4.14.2).
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # 0 unless TOKENTOP_OAUTH_GRACE_SECONDS says otherwise: within the grace period a rotated refresh token
    # presented again answers the pair it was rotated into (a client that lost the answer gets it back).
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": fixture.grace_seconds(),
    "ACCESS_TOKEN_EXPIRE_SECONDS": fixture.access_token_seconds(),
    # PKCE applies to the authorization-code grant only; the password grant never asks for it.
    "PKCE_REQUIRED": True,
    "SCOPES": {
        "read": "Read",
        "write": "Write",
        "introspection": "Introspect tokens",
    },
    "DEFAULT_SCOPES": fixture.SCOPES.split(),
    "DEVICE_FLOW_INTERVAL": fixture.DEVICE_INTERVAL,
    # Made absolute, with this server's port, by tokentop_dot.views.DeviceAuthorizationView.
    "OAUTH_DEVICE_VERIFICATION_URI": "/o/device/",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    # django.request logs only method, path and status: never a request body, so never a token.
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}
