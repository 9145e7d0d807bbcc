"""Says, without using them, whether the server would accept refresh tokens: read-only, in its SQLite file.

Usage: python refresh_verdicts.py DATABASE GRACE_SECONDS, then on stdin batches of tokens, one per line, each
batch ended by an empty line. For each batch it prints one line per token, in order (`accepted`, or
`refused REASON`), then `end`. It never prints a token, and exits at the end of its input.

The crash test asks this after every kill. Presenting the tokens at /o/token/ would rotate them (and a wrong
guess would revoke a whole family), so this applies the rule of django-oauth-toolkit 3.4.1's
OAuth2Validator.validate_refresh_token to the rows instead: the row found by the token's SHA-256 (the unrevoked
one first, else the latest revoked) is accepted when it is unrevoked and still has its access token, or, when it
was revoked less than GRACE_SECONDS ago, when an access token minted from it still exists (it was superseded by a
rotation, not revoked on purpose). REFRESH_TOKEN_EXPIRE_SECONDS is unset on the test servers, so no age limit.
Plain sqlite3 rather than Django, and one process for a whole test: it answers a batch in milliseconds.
"""

import datetime
import hashlib
import sqlite3
import sys


def verdict(connection, token, grace):
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    row = connection.execute(
        "SELECT id, access_token_id, revoked FROM oauth2_provider_refreshtoken WHERE token_checksum = ?"
        " ORDER BY revoked IS NOT NULL, revoked DESC LIMIT 1",
        (checksum,),
    ).fetchone()
    if row is None:
        return "refused unknown to the server"
    row_id, access_token_id, revoked = row
    if revoked is None:
        return "accepted" if access_token_id is not None else "refused orphan: its access token is gone"
    # Django keeps aware datetimes in SQLite as naive UTC text (USE_TZ = True, TIME_ZONE = "UTC").
    revoked_at = datetime.datetime.fromisoformat(revoked).replace(tzinfo=datetime.timezone.utc)
    if revoked_at <= datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=grace):
        return "refused revoked outside the grace period"
    superseded = connection.execute(
        "SELECT 1 FROM oauth2_provider_accesstoken WHERE source_refresh_token_id = ?", (row_id,)
    ).fetchone()
    return "accepted" if superseded else "refused revoked, not rotated"


def main():
    database, grace = sys.argv[1], int(sys.argv[2])
    # The server writes in WAL mode; a reader sees the last committed state and never blocks it.
    connection = sqlite3.connect(database, timeout=10)
    try:
        for line in sys.stdin:
            token = line.strip()
            if token:
                print(verdict(connection, token, grace))
            else:
                # Each batch reads a fresh snapshot: no read transaction stays open between batches.
                connection.commit()
                print("end", flush=True)
    finally:
        connection.close()


if __name__ == "__main__":
    main()
