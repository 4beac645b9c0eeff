#!/usr/bin/python3
"""Login command for `renewlab probe` against LemonLDAP::NG (docs/probe.md, "The login
command", contract v2), through its real login form: the authorization request (code flow
with PKCE) answers the form #lform; posting the user's name, password and the form's hidden
fields (its CSRF token among them) answers a redirect with the code, which is redeemed at
the token endpoint with client_secret_basic. Prints the token response as JSON, with the
SSO cookie as session_cookie for the prompt=none rows.

A fresh cookie jar per run: after a failed login LemonLDAP::NG replays the old request.
Back-channel calls carry no SSO cookie, which LemonLDAP::NG answers with 400.
User: RENEWLAB_LLNG_USER / RENEWLAB_LLNG_PASSWORD, default the Demo user dwho/dwho."""
import base64
import hashlib
import html.parser
import http.cookiejar
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

ENV = os.environ
ISSUER, CLIENT = ENV["RENEWLAB_PROBE_ISSUER"], ENV["RENEWLAB_PROBE_CLIENT_ID"]
SECRET = ENV.get("RENEWLAB_PROBE_CLIENT_SECRET", "")
REDIRECT = ENV.get("RENEWLAB_PROBE_REDIRECT_URI") or "http://127.0.0.1:8080/callback"
USER = ENV.get("RENEWLAB_LLNG_USER", "dwho")
PASSWORD = ENV.get("RENEWLAB_LLNG_PASSWORD", USER)


class LoginForm(html.parser.HTMLParser):
    """The hidden inputs of the form whose id is lform."""

    def __init__(self):
        super().__init__()
        self.inside, self.fields = False, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "lform"
        elif tag == "input" and self.inside and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def fail(what):
    print(f"lemonldap-ng login: {what}", file=sys.stderr)
    sys.exit(3)


def call(opener, url, data=None, headers=None):
    try:
        return opener.open(urllib.request.Request(url, data=data, headers=headers or {}),
                           timeout=10)
    except urllib.error.HTTPError as e:
        return e


def authorize(endpoint, jar):
    """The form, then the posted credentials: the code from the redirect."""
    front = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    url = endpoint + "?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT,
        "scope": ENV["RENEWLAB_PROBE_SCOPE"], "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8), "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256"})
    form = LoginForm()
    form.feed(call(front, url).read().decode("utf-8", "replace"))
    if "token" not in form.fields:
        fail(f"no login form (#lform with a token) at {endpoint}")
    body = urllib.parse.urlencode(dict(form.fields, user=USER, password=PASSWORD)).encode()
    answer = call(front, url, body, {"Content-Type": "application/x-www-form-urlencoded"})
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
        answer.headers.get("Location") or "").query))
    if "code" not in query:
        fail(f"the login form answered {answer.status} without a code: {query or 'no redirect'}")
    return query["code"], verifier


def main():
    with urllib.request.urlopen(ISSUER + "/.well-known/openid-configuration", timeout=10) as r:
        meta = json.load(r)
    jar = http.cookiejar.CookieJar()
    code, verifier = authorize(meta["authorization_endpoint"], jar)
    basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT, "code_verifier": verifier})
    answer = call(urllib.request.build_opener(NoRedirect), meta["token_endpoint"],
                  form.encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                  "Authorization": "Basic " + basic})
    tokens = json.load(answer)
    if "access_token" not in tokens:
        fail(f"the token endpoint answered {answer.status}: {json.dumps(tokens)}")
    tokens["session_cookie"] = "; ".join(f"{c.name}={c.value}" for c in jar
                                         if c.name == "lemonldap")
    print(json.dumps(tokens))


if __name__ == "__main__":
    main()
