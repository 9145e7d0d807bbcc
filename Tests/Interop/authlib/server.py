#!/usr/bin/env python3
"""An Authlib authorization server for the end-to-end tests: RFC 7523's JWT bearer grant in the shape of Google's
domain-wide delegation, served by Authlib's own grant (authlib.oauth2.rfc7523.JWTBearerGrant).

Authlib verifies the assertion (signature with the service account's public key, iss, aud, exp) and mints the token;
this file adds only what Authlib leaves to the application, the way Google fills it in:

- the client is the service account named by `iss`; its public key comes from the command line;
- the assertion must be RS256, carry `iat` and `sub`, live at most an hour, and ask for scopes in its `scope` claim
  (Google's place for them, not the form's), all of them granted to the service account;
- `sub` must be a user of the domain (--user), whom the service account may impersonate;
- the request is exactly grant_type and assertion, each once: no client authentication, as Google wants.

With --key-client, a second client takes the client credentials grant (authlib's ClientCredentialsGrant) and
authenticates only with private_key_jwt (RFC 7523 §2.2, authlib.oauth2.rfc7523.JWTBearerClientAssertion): a JWT it
signs, verified with its public key, whose aud is the token endpoint and whose jti is never seen twice.

  POST /token     the grant
  GET  /seen      every token issued, oldest first: {"sub", "scope", "iss"}
  GET  /refused   every refusal: {"error", "error_description"}

Usage: server.py --issuer SERVICE_ACCOUNT --scope S [--scope S...] --user EMAIL [--user EMAIL...]
                 [--key-client CLIENT_ID --key-client-key CLIENT_PUBLIC.pem] PUBLIC.pem

It binds 127.0.0.1 on a port the kernel picks, prints the port alone on one line to stdout, and exits when its parent
(or --watch-pid) is gone. Tokens are fake random values, never logged.
"""

import os

# Before the slow imports below: a parent that dies while they run must not be mistaken for the real one.
PARENT = os.getppid()

import argparse  # noqa: E402 (the imports follow PARENT on purpose)
import json
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749 import InvalidScopeError, OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, JWTBearerGrant
from joserfc.jwk import RSAKey

TOKEN_LIFETIME = 3600
MAX_ASSERTION_LIFETIME = 3600
MAX_BODY = 64 * 1024


class ServiceAccount(ClientMixin):
    """The one client: a Google service account with domain-wide delegation."""

    def __init__(self, email, scopes, public_key):
        self.client_id = email
        self.scopes = set(scopes)
        self.public_key = public_key

    def get_client_id(self):
        return self.client_id

    def check_grant_type(self, grant_type):
        return grant_type == JWTBearerGrant.GRANT_TYPE

    def get_allowed_scope(self, scope):
        return " ".join(part for part in scope.split() if part in self.scopes)


class KeyClient(ClientMixin):
    """A client that proves itself with a JWT signed by its private key, and takes client credentials only."""

    def __init__(self, client_id, public_key):
        self.client_id = client_id
        self.public_key = public_key

    def get_client_id(self):
        return self.client_id

    def check_grant_type(self, grant_type):
        return grant_type == ClientCredentialsGrant.GRANT_TYPE

    def check_endpoint_auth_method(self, method, endpoint):
        return method == JWTBearerClientAssertion.CLIENT_AUTH_METHOD

    def get_allowed_scope(self, scope):
        return scope or ""


class KeyClientAssertion(JWTBearerClientAssertion):
    """Authlib's private_key_jwt check: the key client's public key, this token endpoint, each jti once."""

    def __init__(self, server):
        super().__init__(validate_jti=True)
        self.server = server
        self.jtis = set()

    def get_audiences(self):
        return [self.server.token_url]

    def validate_jti(self, claims, jti):
        with self.server.lock:
            if jti in self.jtis:
                return False
            self.jtis.add(jti)
            return True

    def resolve_client_public_key(self, client):
        return client.public_key


class KeyClientCredentialsGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [JWTBearerClientAssertion.CLIENT_AUTH_METHOD]


class FormRequest(OAuth2Request):
    """A token request from http.server, its form already parsed into single values."""

    def __init__(self, uri, form, headers):
        super().__init__("POST", uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def args(self):
        return {}

    @property
    def form(self):
        return self._form


class DomainWideDelegationGrant(JWTBearerGrant):
    """Authlib's JWT bearer grant, with what Google adds to RFC 7523."""

    CLAIMS_OPTIONS = {
        "iss": {"essential": True},
        "aud": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "sub": {"essential": True},
        "scope": {"essential": True},
    }
    # Google allows no client authentication here: the signed assertion is the client's proof.
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def extract_assertion(self, assertion):
        headers, claims = super().extract_assertion(assertion)
        if headers.get("alg") != "RS256":
            # Authlib refuses double quotes in an error description.
            raise InvalidGrantError(description=f"alg is {headers.get('alg')!r}; Google signs with RS256")
        return headers, claims

    def verify_claims(self, claims):
        super().verify_claims(claims)
        issued, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int) or not isinstance(expires, int) or expires - issued > MAX_ASSERTION_LIFETIME:
            raise InvalidGrantError(description=f"exp - iat must be at most {MAX_ASSERTION_LIFETIME} s")
        if not isinstance(claims.get("scope"), str) or not claims["scope"].split():
            raise InvalidScopeError(description="the scope claim is empty")
        self.claims = claims

    def resolve_issuer_client(self, issuer):
        account = self.server.account
        return account if issuer == account.client_id else None

    def resolve_client_public_key(self, client):
        return client.public_key

    def get_audiences(self):
        return [self.server.token_url]

    def authenticate_user(self, subject):
        return subject if subject in self.server.users else None

    def has_granted_permission(self, client, user):
        return True

    def validate_token_request(self):
        if self.request.form.get("scope"):
            raise InvalidRequestError("Google takes the scopes in the assertion's scope claim, not in the form")
        super().validate_token_request()
        wanted = self.claims["scope"].split()
        granted = self.request.client.get_allowed_scope(self.claims["scope"]).split()
        if granted != wanted:
            missing = " ".join(scope for scope in wanted if scope not in granted)
            raise InvalidScopeError(description=f"scopes not granted to the service account: {missing}")

    def create_token_response(self):
        token = self.generate_token(scope=self.claims["scope"], user=self.request.user, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class Server(AuthorizationServer):
    """Authlib's server core, wired to http.server instead of a web framework."""

    def __init__(self, account, users, port, key_client=None):
        super().__init__(scopes_supported=None)
        self.account = account
        self.key_client = key_client
        self.users = set(users)
        self.token_url = f"http://127.0.0.1:{port}/token"
        self.lock = threading.Lock()
        self.seen = []
        self.refused = []
        self.register_grant(DomainWideDelegationGrant)
        if key_client is not None:
            self.register_grant(KeyClientCredentialsGrant)
            self.register_client_auth_method(JWTBearerClientAssertion.CLIENT_AUTH_METHOD, KeyClientAssertion(self))
        self.register_token_generator("default", self.bearer_token)

    @staticmethod
    def bearer_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
        return {
            "access_token": "fake-authlib-" + secrets.token_hex(16), "token_type": "Bearer",
            "expires_in": expires_in or TOKEN_LIFETIME, "scope": scope,
        }

    def query_client(self, client_id):
        clients = [self.account] + ([self.key_client] if self.key_client else [])
        return next((client for client in clients if client.client_id == client_id), None)

    def save_token(self, token, request):
        with self.lock:
            # A client credentials token stands for the client itself.
            subject = request.user or request.client.client_id
            self.seen.append({"sub": subject, "scope": token["scope"] or "", "iss": request.client.client_id})

    def send_signal(self, name, *args, **kwargs):
        pass

    def create_oauth2_request(self, request):
        return request

    def handle_response(self, status, body, headers):
        if status >= 400:
            with self.lock:
                self.refused.append({"error": body.get("error"), "error_description": body.get("error_description")})
        return status, body, headers


class Handler(BaseHTTPRequestHandler):
    server_version = "tokentop-authlib/1"

    def log_message(self, format, *args):
        sys.stderr.write("authlib: %s %s\n" % (self.address_string(), format % args))

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        names = set()
        for name, value in headers:
            names.add(name.lower())
            self.send_header(name, value)
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        oauth = self.server.oauth
        with oauth.lock:
            lists = {"/seen": list(oauth.seen), "/refused": list(oauth.refused)}
        if self.path in lists:
            self.answer(200, lists[self.path])
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        if self.path != "/token":
            self.answer(404, {"error": "not_found"})
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_BODY:
            self.answer(411 if not length.isdigit() else 413, {"error": "invalid_request"})
            return
        body = self.rfile.read(int(length))
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            if content_type != "application/x-www-form-urlencoded":
                raise ValueError(f"Content-Type is {content_type or 'missing'}, not a form")
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            names = [name for name, _ in pairs]
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"parameters sent more than once: {', '.join(repeated)}")
            if dict(pairs).get("grant_type") == ClientCredentialsGrant.GRANT_TYPE:
                taken = {"grant_type", "scope", "client_id", "client_assertion_type", "client_assertion"}
                grant = "client credentials grant"
            else:
                taken = {"grant_type", "assertion", "scope"}
                grant = "JWT bearer grant"
            unknown = sorted(set(names) - taken)
            if unknown:
                raise ValueError(f"parameters the {grant} does not take: {', '.join(unknown)}")
        except (UnicodeDecodeError, ValueError) as error:
            status, answer, headers = self.server.oauth.handle_response(
                400, {"error": "invalid_request", "error_description": str(error)}, [])
            self.answer(status, answer, headers)
            return
        request = FormRequest(self.server.oauth.token_url, dict(pairs), dict(self.headers))
        try:
            status, answer, headers = self.server.oauth.create_token_response(request)
        except Exception as error:  # noqa: BLE001 (a test server answers rather than dropping the connection)
            sys.stderr.write(f"authlib: internal error: {type(error).__name__}: {error}\n")
            status, answer, headers = self.server.oauth.handle_response(
                500, {"error": "server_error", "error_description": type(error).__name__}, [])
        self.answer(status, answer, headers)


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
    parser = argparse.ArgumentParser(description="Authlib JWT bearer server for tokentop's end-to-end tests")
    parser.add_argument("public_key", metavar="PUBLIC.pem", help="the service account's RSA public key")
    parser.add_argument("--issuer", required=True, help="the service account: the assertion's iss")
    parser.add_argument("--scope", action="append", default=[], help="a scope granted to it (repeatable)")
    parser.add_argument("--user", action="append", default=[], help="a user it may impersonate (repeatable)")
    parser.add_argument("--watch-pid", type=int, help="exit when this process is gone")
    parser.add_argument("--key-client", help="the client id of a client that authenticates with private_key_jwt")
    parser.add_argument("--key-client-key", help="that client's RSA public key (PEM)")
    args = parser.parse_args()
    with open(args.public_key, "rb") as handle:
        public_key = RSAKey.import_key(handle.read())
    key_client = None
    if args.key_client:
        with open(args.key_client_key, "rb") as handle:
            key_client = KeyClient(args.key_client, RSAKey.import_key(handle.read()))

    stop_signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    for number in stop_signals:
        signal.signal(number, signal.SIG_DFL)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    account = ServiceAccount(args.issuer, args.scope, public_key)
    httpd.oauth = Server(account, args.user, httpd.server_port, key_client)
    threading.Thread(target=watch, args=(args.watch_pid,), daemon=True).start()
    print(httpd.server_port, flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
