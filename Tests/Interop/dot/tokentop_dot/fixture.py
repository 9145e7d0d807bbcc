"""The fixture's fake identities, and the environment the Swift tests read.

This module is the single source of the client ids, secrets and the test user.
Every value is fake and exists only in the throwaway SQLite file of one test run.
It must not import Django: scripts/oauth-server runs it to print the environment.
"""

import os
import re
import sys

USERNAME = "alice"
PASSWORD = "fake-alice-password-0001"
# Granted when a request names no scope; `introspection` must be asked for explicitly.
SCOPES = "read write"

# (client_id, client_secret, purpose); secrets are stored unhashed so the tests can reuse them.
BASIC_CLIENT = ("tokentop-basic", "fake-basic-client-secret-0001")
POST_CLIENT = ("tokentop-post", "fake-post-client-secret-0001")
INTROSPECTOR_CLIENT = ("introspector", "fake-introspector-secret-0001")
# Bots: confidential apps with only the client_credentials grant, one per client authentication the tests use
# (DOT takes either from any client; two ids let introspection tell whose token it is).
BOT_BASIC_CLIENT = ("tokentop-bot-basic", "fake-bot-basic-secret-0001")
BOT_POST_CLIENT = ("tokentop-bot-post", "fake-bot-post-secret-0001")

# Users' re-authorization: a confidential authorization-code client that asks for consent (so a test can
# deny it) and may redirect to any port of http://127.0.0.1/callback (RFC 8252 section 7.3), and public
# device-code clients; the second one's codes expire after DEVICE_SHORT_SECONDS.
USER_CLIENT = ("tokentop-user", "fake-user-client-secret-0001")
USER_REDIRECT_URI = "http://127.0.0.1/callback"
DEVICE_CLIENT = "tokentop-device"
DEVICE_SHORT_CLIENT = "tokentop-device-short"
DEVICE_SHORT_SECONDS = 3
# Seconds between device-code polls; django-oauth-toolkit's default is 5, which only slows the tests.
DEVICE_INTERVAL = 1


def environment(base_url):
    """Return the variables the end-to-end tests read, in a stable order."""
    return [
        ("TOKENTOP_OAUTH_URL", base_url),
        ("TOKENTOP_OAUTH_TOKEN_URL", base_url + "/o/token/"),
        ("TOKENTOP_OAUTH_REVOKE_URL", base_url + "/o/revoke_token/"),
        ("TOKENTOP_OAUTH_INTROSPECT_URL", base_url + "/o/introspect/"),
        ("TOKENTOP_OAUTH_BASIC_CLIENT_ID", BASIC_CLIENT[0]),
        ("TOKENTOP_OAUTH_BASIC_CLIENT_SECRET", BASIC_CLIENT[1]),
        ("TOKENTOP_OAUTH_POST_CLIENT_ID", POST_CLIENT[0]),
        ("TOKENTOP_OAUTH_POST_CLIENT_SECRET", POST_CLIENT[1]),
        ("TOKENTOP_OAUTH_INTROSPECT_CLIENT_ID", INTROSPECTOR_CLIENT[0]),
        ("TOKENTOP_OAUTH_INTROSPECT_CLIENT_SECRET", INTROSPECTOR_CLIENT[1]),
        ("TOKENTOP_OAUTH_BOT_BASIC_CLIENT_ID", BOT_BASIC_CLIENT[0]),
        ("TOKENTOP_OAUTH_BOT_BASIC_CLIENT_SECRET", BOT_BASIC_CLIENT[1]),
        ("TOKENTOP_OAUTH_BOT_POST_CLIENT_ID", BOT_POST_CLIENT[0]),
        ("TOKENTOP_OAUTH_BOT_POST_CLIENT_SECRET", BOT_POST_CLIENT[1]),
        ("TOKENTOP_OAUTH_AUTHORIZE_URL", base_url + "/o/authorize/"),
        ("TOKENTOP_OAUTH_DEVICE_URL", base_url + "/o/device-authorization/"),
        ("TOKENTOP_OAUTH_USER_CLIENT_ID", USER_CLIENT[0]),
        ("TOKENTOP_OAUTH_USER_CLIENT_SECRET", USER_CLIENT[1]),
        ("TOKENTOP_OAUTH_USER_REDIRECT_URI", USER_REDIRECT_URI),
        ("TOKENTOP_OAUTH_DEVICE_CLIENT_ID", DEVICE_CLIENT),
        ("TOKENTOP_OAUTH_DEVICE_SHORT_CLIENT_ID", DEVICE_SHORT_CLIENT),
        ("TOKENTOP_OAUTH_DEVICE_SHORT_SECONDS", str(DEVICE_SHORT_SECONDS)),
        # The venv's interpreter, which runs play_user.py (it needs requests).
        ("TOKENTOP_OAUTH_PYTHON", sys.executable),
        ("TOKENTOP_OAUTH_USERNAME", USERNAME),
        ("TOKENTOP_OAUTH_PASSWORD", PASSWORD),
        ("TOKENTOP_OAUTH_ACCESS_TOKEN_SECONDS", str(access_token_seconds())),
        ("TOKENTOP_OAUTH_GRACE_SECONDS", str(grace_seconds())),
    ]


def access_token_seconds():
    """Lifetime of issued access tokens; tests that watch expiry start the server with a short one."""
    return int(os.environ.get("TOKENTOP_OAUTH_ACCESS_TOKEN_SECONDS", "3600"))


def grace_seconds():
    """REFRESH_TOKEN_GRACE_PERIOD_SECONDS: 0 for the shared server; the crash test starts one of its own with more."""
    return int(os.environ.get("TOKENTOP_OAUTH_GRACE_SECONDS", "0"))


# Values must survive `eval "$(scripts/oauth-server env)"` unquoted, so no spaces or quotes.
_SHELL_SAFE = re.compile(r"[A-Za-z0-9_.:/@%+,=-]*")


if __name__ == "__main__":
    # Usage: python -m tokentop_dot.fixture BASE_URL  -> KEY=VALUE lines.
    for key, value in environment(sys.argv[1]):
        if not _SHELL_SAFE.fullmatch(value):
            sys.exit(f"fixture value of {key} would need shell quoting")
        print(f"{key}={value}")
