"""The derived grants of tokentop's delegated model, checked field by field: Microsoft's on-behalf-of flow and RFC
8693 token exchange, plus the RFC 6749 refresh grant that renews the parent grant whose access token they exchange.

server.py routes POST /token here for `grant_type=refresh_token`, for token exchange, and for the jwt-bearer grant
when the request says `requested_token_use` (Microsoft's on-behalf-of shape; without it, jwt-bearer is Google's
domain-wide delegation, which server.py verifies itself).

What is checked, and the error each violation gets:

- the body is a form, no parameter repeats (except RFC 8693's audience and resource), and no parameter is unknown
  to the grant: invalid_request;
- the confidential client authenticates exactly once, with HTTP Basic or with client_id and client_secret in the
  body: otherwise 401 invalid_client;
- on-behalf-of: requested_token_use is "on_behalf_of", assertion is an access token this server issued (or was
  seeded with) that is still live, scope is exactly the on-behalf-of scope;
- token exchange: subject_token is such a live access token, subject_token_type is RFC 8693's access-token type,
  actor_token_type comes with an actor_token and only then, requested_token_type (if sent) is the access-token
  type, audience and resource are exactly the configured ones (invalid_target), scope is exactly the exchange scope;
- refresh: the refresh token is live; it rotates, and the grant's previous access token dies with it, so that an
  exchange that sends a stale parent token is refused.

Tokens are random fake values; none is ever logged or recorded.
"""

import base64
import binascii
import secrets
import threading
import time
import urllib.parse

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
# Seeded tokens (the ones a test imports) live this long.
SEEDED_LIFETIME = 3600

OBO_FIELDS = {"grant_type", "assertion", "scope", "requested_token_use", "client_id", "client_secret"}
EXCHANGE_FIELDS = {
    "grant_type", "subject_token", "subject_token_type", "actor_token", "actor_token_type", "resource", "audience",
    "scope", "requested_token_type", "client_id", "client_secret",
}
REFRESH_FIELDS = {"grant_type", "refresh_token", "scope", "client_id", "client_secret"}
# RFC 8693 §2.1: only these may appear more than once.
REPEATABLE = {"audience", "resource"}


class Refused(Exception):
    """A refused request: the OAuth error code, its description (never a token), and the HTTP status."""

    def __init__(self, code, description, status=400):
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


def pair(text, flag):
    """`VALUE=SUBJECT` from the command line."""
    value, separator, subject = text.partition("=")
    if not separator or not value or not subject:
        raise ValueError(f"{flag} takes VALUE=SUBJECT, not {text!r}")
    return value, subject


class Delegation:
    """The grants' state: the confidential client, live tokens by value, and which grant each belongs to."""

    def __init__(self, args):
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.obo_scope = set((args.obo_scope or "").split())
        self.exchange_scope = set((args.exchange_scope or "").split())
        self.audiences = sorted(args.audience)
        self.resources = sorted(args.resource)
        self.lifetime = args.upstream_lifetime
        self.lock = threading.Lock()
        # access token -> {"sub", "expires", "grant", "generation"}; refresh token -> {"sub", "grant"}
        self.access = {}
        self.refresh = {}
        self.generations = {}
        now = time.time()
        for number, text in enumerate(args.refresh_token):
            value, subject = pair(text, "--refresh-token")
            self.refresh[value] = {"sub": subject, "grant": f"grant-{number}"}
            self.generations[f"grant-{number}"] = 0
        for text in args.upstream_token:
            value, subject = pair(text, "--upstream-token")
            grant = next((entry["grant"] for entry in self.refresh.values() if entry["sub"] == subject), subject)
            self.generations.setdefault(grant, 0)
            self.access[value] = {"sub": subject, "expires": now + SEEDED_LIFETIME, "grant": grant, "generation": 0}

    # MARK: - Entry

    def handle(self, form, headers):
        """(status, body, verified, record) for one POST /token whose grant is one of ours; record is what /seen
        (verified) or /refused shows."""
        grant = self.grant_name(form)
        try:
            client_auth = self.authenticate(form, headers)
            with self.lock:
                if grant == "refresh_token":
                    body, record = self.refresh_grant(form)
                elif grant == "on_behalf_of":
                    body, record = self.on_behalf_of(form)
                else:
                    body, record = self.token_exchange(form)
            record.update({"grant": grant, "client_auth": client_auth})
            return 200, body, True, record
        except Refused as refusal:
            body = {"error": refusal.code, "error_description": refusal.description}
            record = {"grant": grant, "error": refusal.code, "error_description": refusal.description}
            return refusal.status, body, False, record

    @staticmethod
    def wants(form):
        """Whether a POST /token form belongs here rather than to server.py's Google-shaped jwt-bearer grant."""
        grant_types = form.get("grant_type", [])
        if grant_types in ([TOKEN_EXCHANGE], ["refresh_token"]):
            return True
        return grant_types == [JWT_BEARER] and "requested_token_use" in form

    @staticmethod
    def grant_name(form):
        grant_type = form.get("grant_type", [""])[0]
        return {TOKEN_EXCHANGE: "token_exchange", "refresh_token": "refresh_token"}.get(grant_type, "on_behalf_of")

    # MARK: - Checks shared by the grants

    @staticmethod
    def check_fields(form, allowed):
        unknown = sorted(set(form) - allowed)
        if unknown:
            raise Refused("invalid_request", f"parameters this grant does not take: {', '.join(unknown)}")
        repeated = sorted(name for name, values in form.items() if len(values) > 1 and name not in REPEATABLE)
        if repeated:
            raise Refused("invalid_request", f"parameters sent more than once: {', '.join(repeated)}")
        empty = sorted(name for name, values in form.items() if any(value == "" for value in values))
        if empty:
            raise Refused("invalid_request", f"empty parameters: {', '.join(empty)}")

    def authenticate(self, form, headers):
        """The client authentication method used; exactly one, and right (RFC 6749 §2.3.1)."""
        authorization = headers.get("Authorization", "")
        in_body = "client_secret" in form
        if authorization:
            if in_body:
                raise Refused("invalid_request", "the client authenticated twice: Basic and client_secret", 400)
            scheme, _, encoded = authorization.partition(" ")
            if scheme.lower() != "basic":
                raise Refused("invalid_client", f"unsupported client authentication scheme {scheme}", 401)
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise Refused("invalid_client", "the Basic credentials are not base64 of id:secret", 401) from None
            client_id, separator, secret = decoded.partition(":")
            if not separator:
                raise Refused("invalid_client", "the Basic credentials have no colon", 401)
            client_id, secret = urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
            if "client_id" in form and form["client_id"] != [client_id]:
                raise Refused("invalid_request", "client_id in the body differs from the Basic credentials")
            method = "client_secret_basic"
        elif in_body:
            client_id = form.get("client_id", [""])[0]
            secret = form["client_secret"][0]
            method = "client_secret_post"
        else:
            raise Refused("invalid_client", "no client authentication; this grant needs a confidential client", 401)
        if not self.client_id or client_id != self.client_id or not secrets.compare_digest(
            secret.encode(), (self.client_secret or "").encode()
        ):
            raise Refused("invalid_client", f"client {client_id!r} is unknown or its secret is wrong", 401)
        return method

    def live_access(self, token, field):
        entry = self.access.get(token)
        if entry is None:
            raise Refused("invalid_grant", f"the {field} is not an access token this server issued, or it was replaced")
        if entry["expires"] <= time.time():
            raise Refused("invalid_grant", f"the {field} expired")
        return entry

    @staticmethod
    def check_scope(form, wanted, name):
        scopes = form.get("scope", [""])[0].split()
        if len(set(scopes)) != len(scopes):
            raise Refused("invalid_scope", "the scope repeats a value")
        if set(scopes) != wanted:
            raise Refused("invalid_scope", f"scope must be exactly {' '.join(sorted(wanted))!r} for {name}")
        return " ".join(scopes)

    def issue(self, subject, grant, scope, prefix, lifetime):
        token = prefix + secrets.token_hex(16)
        self.access[token] = {
            "sub": subject, "expires": time.time() + lifetime, "grant": grant,
            "generation": self.generations.get(grant, 0),
        }
        return token

    # MARK: - The grants

    def refresh_grant(self, form):
        self.check_fields(form, REFRESH_FIELDS)
        token = form.get("refresh_token", [""])[0]
        entry = self.refresh.pop(token, None)
        if entry is None:
            raise Refused("invalid_grant", "the refresh token is unknown, rotated away or revoked")
        grant = entry["grant"]
        # The grant's earlier access tokens die with the rotation: only the newest may be exchanged.
        for value in [value for value, access in self.access.items() if access["grant"] == grant]:
            del self.access[value]
        self.generations[grant] = self.generations.get(grant, 0) + 1
        refresh = "fake-parent-refresh-" + secrets.token_hex(16)
        self.refresh[refresh] = entry
        access = self.issue(entry["sub"], grant, "", "fake-parent-access-", self.lifetime)
        body = {
            "access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": self.lifetime,
        }
        return body, {"sub": entry["sub"], "upstream_generation": self.generations[grant]}

    def on_behalf_of(self, form):
        self.check_fields(form, OBO_FIELDS)
        if form.get("requested_token_use") != ["on_behalf_of"]:
            raise Refused("invalid_request", "requested_token_use must be on_behalf_of")
        if "assertion" not in form:
            raise Refused("invalid_request", "the assertion (the upstream access token) is missing")
        upstream = self.live_access(form["assertion"][0], "assertion")
        scope = self.check_scope(form, self.obo_scope, "on_behalf_of")
        token = self.issue(upstream["sub"], "obo:" + upstream["sub"], scope, "fake-obo-", 3600)
        body = {
            "token_type": "Bearer", "scope": scope, "expires_in": 3600, "ext_expires_in": 3600,
            "access_token": token, "refresh_token": "fake-obo-refresh-" + secrets.token_hex(8),
        }
        return body, {"sub": upstream["sub"], "scope": scope, "upstream_generation": upstream["generation"]}

    def token_exchange(self, form):
        self.check_fields(form, EXCHANGE_FIELDS)
        if "subject_token" not in form:
            raise Refused("invalid_request", "subject_token is missing")
        if form.get("subject_token_type") != [ACCESS_TOKEN_TYPE]:
            raise Refused("invalid_request", f"subject_token_type must be {ACCESS_TOKEN_TYPE}")
        if ("actor_token" in form) != ("actor_token_type" in form):
            raise Refused("invalid_request", "actor_token_type goes with actor_token, and only with it")
        if "requested_token_type" in form and form["requested_token_type"] != [ACCESS_TOKEN_TYPE]:
            raise Refused("invalid_request", "this server issues access tokens only")
        upstream = self.live_access(form["subject_token"][0], "subject_token")
        audiences = sorted(form.get("audience", []))
        resources = sorted(form.get("resource", []))
        if audiences != self.audiences:
            raise Refused("invalid_target", f"audience must be {self.audiences}, not {audiences}")
        if resources != self.resources:
            raise Refused("invalid_target", f"resource must be {self.resources}, not {resources}")
        scope = self.check_scope(form, self.exchange_scope, "token_exchange")
        token = self.issue(upstream["sub"], "exchange:" + upstream["sub"], scope, "fake-exchanged-", 3600)
        body = {
            "access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer",
            "expires_in": 3600, "scope": scope,
        }
        record = {
            "sub": upstream["sub"], "scope": scope, "audience": audiences, "resource": resources,
            "upstream_generation": upstream["generation"],
        }
        return body, record


def add_arguments(parser):
    """The command-line options of the derived grants."""
    parser.add_argument("--client-id", help="the confidential client of the derived grants and the refresh grant")
    parser.add_argument("--client-secret", help="its secret (a fake fixture value)")
    parser.add_argument(
        "--refresh-token", action="append", default=[], metavar="VALUE=SUBJECT",
        help="a live refresh token of a parent grant, and whom it stands for (repeatable)")
    parser.add_argument(
        "--upstream-token", action="append", default=[], metavar="VALUE=SUBJECT",
        help="a live access token a parent holds, and whom it stands for (repeatable)")
    parser.add_argument("--obo-scope", help="the exact scope an on-behalf-of request must ask for")
    parser.add_argument("--exchange-scope", help="the exact scope a token exchange must ask for")
    parser.add_argument("--audience", action="append", default=[], help="an audience a token exchange must name")
    parser.add_argument("--resource", action="append", default=[], help="a resource a token exchange must name")
    parser.add_argument(
        "--upstream-lifetime", type=int, default=3600, help="seconds the refresh grant's access tokens live")
