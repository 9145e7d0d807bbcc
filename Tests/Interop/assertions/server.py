#!/usr/bin/env python3
"""A token server for the end-to-end tests that VERIFIES signed JWTs instead of trusting them.

Grants that django-oauth-toolkit does not offer, each checked the way its real provider checks it:

  POST /token                                    RFC 7523 JWT bearer grant, Google domain-wide delegation shape;
                                                 with requested_token_use, Microsoft's on-behalf-of; RFC 8693 token
                                                 exchange; and the refresh grant of the parent whose token those two
                                                 exchange (delegation.py checks these three field by field)
  POST /app/installations/<digits>/access_tokens GitHub App installation token, bought with an app JWT
  GET  /seen                                     every verified request, oldest first, as a JSON list
  GET  /refused                                  every refused one, with the reason, as a JSON list

Usage (run with the interop venv's python, which has `cryptography`):

  server.py --issuer svc@fake-project.iam.example --app-id 424242 --installation 1001 PUBLIC.pem [PUBLIC.pem...]
            [--client-id ID --client-secret SECRET --refresh-token VALUE=SUBJECT --upstream-token VALUE=SUBJECT
             --obo-scope SCOPE --exchange-scope SCOPE --audience A --resource R --upstream-lifetime SECONDS]

It binds 127.0.0.1 on a port the kernel picks and prints that port, alone on one line, to stdout; everything else
goes to stderr. Signatures must verify (RS256) with one of the public keys given. Only installation ids named with
--installation exist; any other answers 404, as GitHub does for an uninstalled app. The server exits when its parent
(or --watch-pid) is gone, so a test runner killed mid-run leaves nothing behind.

Every token it issues is an obviously fake random value. Neither tokens nor assertions are ever logged.
"""

import os

# Before the slow imports below: a parent that dies while they run must not be mistaken for the real one.
PARENT = os.getppid()

import argparse  # noqa: E402 (the imports follow PARENT on purpose)
import base64
import binascii
import json
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import delegation

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Google refuses assertions that live longer than an hour; GitHub app JWTs longer than ten minutes.
MAX_ASSERTION_LIFETIME = 3600
MAX_APP_JWT_LIFETIME = 600
# How far in the future an assertion's iat may be, for the clock drift Google tolerates.
CLOCK_SKEW = 60
# GitHub wants iat in the past (it recommends 60 s back); older than this is refused here.
MAX_APP_JWT_AGE = 120
TOKEN_LIFETIME = 3600
MAX_BODY = 64 * 1024
GITHUB_DOCS = "https://docs.github.com/rest"
GITHUB_API_VERSIONS = {"2022-11-28"}
INSTALLATION_PATH = re.compile(r"^/app/installations/([0-9]+)/access_tokens$")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class Refusal(Exception):
    """A request the server refuses; the message says what failed and never quotes a token."""


def b64url_decode(text, what):
    # base64url without padding (RFC 7515 §2); anything else is not a compact JWS.
    if not BASE64URL.match(text) or len(text) % 4 == 1:
        raise Refusal(f"the {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Refusal(f"the {what} is not base64url") from None


def json_object(data, what):
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refusal(f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refusal(f"the {what} is not a JSON object")
    return value


def integer_claim(claims, name):
    value = claims.get(name)
    # bool is an int in Python; a NumericDate is a number, and these servers want whole seconds.
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refusal(f"the {name} claim is missing or not an integer NumericDate")
    return value


def verify_rs256(token, keys):
    """The claims of a compact JWS signed with RS256 by one of `keys`; Refusal otherwise."""
    if not isinstance(token, str) or not token:
        raise Refusal("no JWT")
    parts = token.split(".")
    if len(parts) != 3:
        raise Refusal(f"a JWT has 3 dot-separated parts, this one has {len(parts)}")
    header = json_object(b64url_decode(parts[0], "JWT header"), "JWT header")
    # Only RS256: an "alg": "none" or HS256 header must never be honoured with an RSA public key.
    if header.get("alg") != "RS256":
        raise Refusal(f"the JWT header's alg is {json.dumps(header.get('alg'))}, not \"RS256\"")
    if "typ" in header and header["typ"] != "JWT":
        raise Refusal(f"the JWT header's typ is {json.dumps(header['typ'])}, not \"JWT\"")
    if "crit" in header:
        raise Refusal("the JWT header has crit extensions this server does not understand")
    signature = b64url_decode(parts[2], "JWT signature")
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    for key in keys:
        try:
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            break
        except InvalidSignature:
            continue
    else:
        raise Refusal("the JWT signature does not verify with any key this server knows")
    return json_object(b64url_decode(parts[1], "JWT claims"), "JWT claims")


def load_public_keys(paths):
    keys = []
    for path in paths:
        with open(path, "rb") as handle:
            key = serialization.load_pem_public_key(handle.read())
        if not isinstance(key, rsa.RSAPublicKey):
            sys.exit(f"server.py: {path} is not an RSA public key")
        keys.append(key)
    return keys


class State:
    """What the tests may ask about: verified and refused requests, in arrival order."""

    def __init__(self, args, keys):
        self.issuer = args.issuer
        self.app_id = args.app_id
        self.installations = set(args.installation)
        self.keys = keys
        self.lock = threading.Lock()
        self.seen = []
        self.refused = []
        self.delegation = delegation.Delegation(args)

    def record(self, verified, entry):
        with self.lock:
            (self.seen if verified else self.refused).append(entry)

    def snapshot(self, verified):
        with self.lock:
            return list(self.seen if verified else self.refused)


class Handler(BaseHTTPRequestHandler):
    server_version = "tokentop-assertions/1"

    def log_message(self, format, *args):
        # The request line holds no secret (tokens travel in bodies and headers, never in paths).
        sys.stderr.write("assertions: %s %s\n" % (self.address_string(), format % args))

    @property
    def state(self):
        return self.server.state

    def token_url(self):
        return f"http://127.0.0.1:{self.server.server_port}/token"

    def answer(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            # A bodiless POST (GitHub's installation-token request) may come without a length; chunked bodies are
            # beyond http.server and refused.
            return None if "Transfer-Encoding" in self.headers else b""
        if not length.isdigit():
            return None
        length = int(length)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length)

    # MARK: - Routing

    def do_GET(self):
        if self.path == "/seen":
            self.answer(200, self.state.snapshot(True))
        elif self.path == "/refused":
            self.answer(200, self.state.snapshot(False))
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        body = self.read_body()
        if body is None:
            too_long = self.headers.get("Content-Length", "").isdigit()
            self.answer(413 if too_long else 411, {"error": "invalid_request"})
            return
        if self.path == "/token":
            self.jwt_bearer(body)
            return
        match = INSTALLATION_PATH.match(self.path)
        if match:
            self.installation_token(match.group(1))
            return
        self.answer(404, {"message": "Not Found", "documentation_url": GITHUB_DOCS})

    # MARK: - RFC 7523 JWT bearer (Google domain-wide delegation)

    def jwt_bearer(self, body):
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            self.oauth_error("invalid_request", f"Content-Type is {content_type or 'missing'}, not a form")
            return
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            self.oauth_error("invalid_request", "the body is not application/x-www-form-urlencoded")
            return
        if delegation.Delegation.wants(form):
            status, answer, verified, record = self.state.delegation.handle(form, self.headers)
            self.state.record(verified, record)
            self.answer(status, answer)
            return
        grant_types = form.get("grant_type", [])
        if grant_types != [JWT_BEARER]:
            self.oauth_error("unsupported_grant_type", f"grant_type must be {JWT_BEARER}, once")
            return
        assertions = form.get("assertion", [])
        if len(assertions) != 1:
            self.oauth_error("invalid_request", "exactly one assertion parameter is required")
            return
        try:
            claims = self.verified_assertion(assertions[0])
        except Refusal as refusal:
            self.state.record(False, {"grant": "jwt_bearer", "error_description": str(refusal)})
            self.oauth_error("invalid_grant", str(refusal))
            return
        self.state.record(True, {"grant": "jwt_bearer", "sub": claims["sub"], "scope": claims["scope"]})
        self.answer(
            200,
            {
                "access_token": "fake-delegated-" + secrets.token_hex(16),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
            },
        )

    def verified_assertion(self, assertion):
        claims = verify_rs256(assertion, self.state.keys)
        if claims.get("iss") != self.state.issuer:
            raise Refusal(f"iss is {json.dumps(claims.get('iss'))}, not the service account {self.state.issuer}")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.token_url() not in audiences:
            raise Refusal(f"aud is {json.dumps(audience)}, not this token URL {self.token_url()}")
        for name in ("sub", "scope"):
            if not isinstance(claims.get(name), str) or not claims[name]:
                raise Refusal(f"the {name} claim is missing or empty")
        issued_at = integer_claim(claims, "iat")
        expires = integer_claim(claims, "exp")
        now = int(time.time())
        if expires <= issued_at:
            raise Refusal("exp is not after iat")
        if expires - issued_at > MAX_ASSERTION_LIFETIME:
            raise Refusal(f"exp - iat is {expires - issued_at} s; at most {MAX_ASSERTION_LIFETIME} s is allowed")
        if issued_at > now + CLOCK_SKEW:
            raise Refusal(f"iat is {issued_at - now} s in the future")
        if expires <= now:
            raise Refusal(f"the assertion expired {now - expires} s ago")
        return claims

    def oauth_error(self, code, description):
        self.answer(400, {"error": code, "error_description": description})

    # MARK: - GitHub App installation token

    def installation_token(self, installation):
        accept = [part.split(";")[0].strip().lower() for part in self.headers.get("Accept", "").split(",")]
        if "application/vnd.github+json" not in accept:
            self.github_error(415, "Unsupported 'Accept' header; use application/vnd.github+json")
            return
        version = self.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in GITHUB_API_VERSIONS:
            self.github_error(400, f"API version {version} is not supported.")
            return
        authorization = self.headers.get("Authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self.state.record(False, {"grant": "github_app_installation", "error_description": "no bearer JWT"})
            self.github_error(401, "Requires authentication")
            return
        try:
            claims = self.verified_app_jwt(token.strip())
        except Refusal as refusal:
            self.state.record(False, {"grant": "github_app_installation", "error_description": str(refusal)})
            sys.stderr.write(f"assertions: app JWT refused: {refusal}\n")
            self.github_error(401, "A JSON web token could not be decoded")
            return
        # GitHub authenticates the app first, then looks the installation up.
        if installation not in self.state.installations:
            self.state.record(
                False,
                {"grant": "github_app_installation", "error_description": f"no installation {installation}"},
            )
            self.github_error(404, "Not Found")
            return
        self.state.record(
            True, {"grant": "github_app_installation", "iss": str(claims["iss"]), "installation": installation}
        )
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + TOKEN_LIFETIME))
        token = "ghs_fake" + secrets.token_hex(16)
        self.answer(201, {"token": token, "expires_at": expires_at, "permissions": {"contents": "read"}})

    def verified_app_jwt(self, token):
        claims = verify_rs256(token, self.state.keys)
        issuer = claims.get("iss")
        # GitHub takes the app id as a number or a string, or the app's client id.
        if isinstance(issuer, bool) or not isinstance(issuer, (int, str)) or str(issuer) != self.state.app_id:
            raise Refusal(f"iss is {json.dumps(issuer)}, not the app id {self.state.app_id}")
        issued_at = integer_claim(claims, "iat")
        expires = integer_claim(claims, "exp")
        now = int(time.time())
        if issued_at > now:
            raise Refusal(f"iat is {issued_at - now} s in the future")
        if issued_at < now - MAX_APP_JWT_AGE:
            raise Refusal(f"iat is {now - issued_at} s in the past; at most {MAX_APP_JWT_AGE} s is allowed")
        if expires <= issued_at:
            raise Refusal("exp is not after iat")
        if expires - issued_at > MAX_APP_JWT_LIFETIME:
            raise Refusal(f"exp - iat is {expires - issued_at} s; at most {MAX_APP_JWT_LIFETIME} s is allowed")
        if expires <= now:
            raise Refusal(f"the app JWT expired {now - expires} s ago")
        return claims

    def github_error(self, status, message):
        self.answer(status, {"message": message, "documentation_url": GITHUB_DOCS, "status": str(status)})


def watch(pid):
    # Poll rather than rely on signals: the test runner may die by SIGKILL. A reparented child sees a new ppid.
    while True:
        if os.getppid() != PARENT:
            sys.stderr.write(f"exiting: the parent {PARENT} is gone (parent now {os.getppid()})\n")
            sys.stderr.flush()
            os._exit(0)
        if pid is not None:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                sys.stderr.write(f"exiting: the watched process {pid} is gone\n")
                sys.stderr.flush()
                os._exit(0)
            except PermissionError:
                pass
        time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser(description="JWT-verifying token server for tokentop's end-to-end tests")
    parser.add_argument("public_keys", nargs="+", metavar="PUBLIC.pem", help="RSA public keys that may sign")
    parser.add_argument("--issuer", required=True, help="the service account the jwt-bearer iss must name")
    parser.add_argument("--app-id", required=True, help="the GitHub App id the app JWT's iss must name")
    parser.add_argument(
        "--installation", action="append", default=[], help="an installation id that exists (repeatable)"
    )
    parser.add_argument("--watch-pid", type=int, help="exit when this process is gone")
    delegation.add_arguments(parser)
    args = parser.parse_args()
    for installation in args.installation:
        if not installation.isdigit():
            parser.error(f"--installation takes digits, not {installation!r}")

    # A parent may start us from a thread that blocks signals, and the mask survives exec: let SIGTERM and
    # Ctrl-C work for a human who runs this by hand.
    stop_signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    for number in stop_signals:
        signal.signal(number, signal.SIG_DFL)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    try:
        server.state = State(args, load_public_keys(args.public_keys))
    except ValueError as error:
        parser.error(str(error))
    threading.Thread(target=watch, args=(args.watch_pid,), daemon=True).start()
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
