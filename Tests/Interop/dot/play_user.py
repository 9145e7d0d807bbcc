#!/usr/bin/env python3
"""Plays the fixture user (alice) in a browser, for the re-auth tests.

    play_user.py BASE_URL authorize URL [--deny] [--no-follow]
        signs in, opens the authorization URL, allows (or denies) the consent, and follows the
        redirect to tokentop's loopback listener; with --no-follow prints the redirect instead
    play_user.py BASE_URL device USER_CODE [--deny]
        signs in, enters the user code, and accepts (or denies) the device

Prints one JSON object: {"status": HTTP status of the last page, "title": its title}, and with
--no-follow "location": the redirect, whose code the caller may tamper with (a fake user's code on a
throwaway server). Exits 1 with a message on stderr when a page is not what a user would see.
"""

import html
import json
import re
import sys

import requests

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from tokentop_dot import fixture  # noqa: E402

TIMEOUT = 20


def fail(message):
    sys.exit(f"play_user: {message}")


def form_fields(page):
    """The named inputs of the page's form, values unescaped (Django escapes & as &amp;)."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    return fields


def title(page):
    found = re.search(r"<title>(.*?)</title>", page, re.S)
    return html.unescape(found.group(1)) if found else ""


def sign_in(base):
    session = requests.Session()
    login = base + "/accounts/login/"
    page = session.get(login, timeout=TIMEOUT)
    token = form_fields(page.text).get("csrfmiddlewaretoken")
    if page.status_code != 200 or not token:
        fail(f"no login form at {login} (HTTP {page.status_code})")
    answer = session.post(
        login,
        data={"csrfmiddlewaretoken": token, "username": fixture.USERNAME, "password": fixture.PASSWORD},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    if answer.status_code != 302:
        fail(f"login refused (HTTP {answer.status_code})")
    return session


def authorize(base, url, deny, follow):
    session = sign_in(base)
    page = session.get(url, timeout=TIMEOUT)
    fields = form_fields(page.text)
    if page.status_code != 200 or "client_id" not in fields:
        fail(f"no consent form (HTTP {page.status_code}): {page.text[:200]!r}")
    if not deny:
        fields["allow"] = "Authorize"
    answer = session.post(page.url, data=fields, allow_redirects=False, timeout=TIMEOUT)
    location = answer.headers.get("Location", "")
    if answer.status_code != 302 or not location:
        fail(f"the consent did not redirect (HTTP {answer.status_code})")
    if not follow:
        return {"status": answer.status_code, "url": page.url, "location": location}
    # The browser follows the redirect to tokentop's loopback listener, which answers a small page.
    landed = session.get(location, timeout=TIMEOUT)
    return {"status": landed.status_code, "title": title(landed.text)}


def device(base, user_code, deny):
    session = sign_in(base)
    entry = base + "/o/device/"
    page = session.get(entry, timeout=TIMEOUT)
    fields = form_fields(page.text)
    if page.status_code != 200 or "csrfmiddlewaretoken" not in fields:
        fail(f"no user-code form at {entry} (HTTP {page.status_code})")
    fields["user_code"] = user_code
    confirm = session.post(entry, data=fields, timeout=TIMEOUT)
    fields = form_fields(confirm.text)
    if confirm.status_code != 200 or "csrfmiddlewaretoken" not in fields:
        fail(f"the user code {user_code} was not accepted (HTTP {confirm.status_code}): {confirm.text[:300]!r}")
    fields["action"] = "deny" if deny else "accept"
    done = session.post(confirm.url, data=fields, timeout=TIMEOUT)
    heading = re.search(r"<h1>\s*(.*?)\s*</h1>", done.text, re.S)
    return {"status": done.status_code, "title": heading.group(1) if heading else ""}


def main(argv):
    if len(argv) < 4 or argv[2] not in ("authorize", "device"):
        fail("usage: play_user.py BASE_URL authorize URL [--deny] [--no-follow] | BASE_URL device CODE [--deny]")
    base, action, target, options = argv[1].rstrip("/"), argv[2], argv[3], set(argv[4:])
    if action == "authorize":
        result = authorize(base, target, "--deny" in options, "--no-follow" not in options)
    else:
        result = device(base, target, "--deny" in options)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
