#!/usr/bin/python3
"""A stand-in for an application's own tests in the CI recipes (docs/ci.md, recipe b):
a well-behaved client of the mock-idp service. It logs in through the control API, runs the
code flow with PKCE, moves the IdP's clock on and refreshes three times (each time with the
newest refresh token), then revokes it at logout. Replace it with your app's test command;
renewlab judge then grades whatever your app did.

usage: example-app-test.py   (OIDC_ISSUER, MOCK_IDP_CONTROL_SECRET from the environment;
OIDC_CLIENT_ID and OIDC_REDIRECT_URI optional). Exit 0, or 1 with what failed."""
import base64
import hashlib
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

ISSUER = os.environ["OIDC_ISSUER"].rstrip("/")
SECRET = os.environ.get("MOCK_IDP_CONTROL_SECRET", "")
CLIENT = os.environ.get("OIDC_CLIENT_ID", "demo-spa")
REDIRECT = os.environ.get("OIDC_REDIRECT_URI", "http://127.0.0.1:8080/callback")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(method, path, form=None, doc=None, headers=None):
    headers = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if doc is not None:
        data = json.dumps(doc).encode()
        headers["Content-Type"] = "application/json"
    if path.startswith("/_mock/"):
        headers["X-Mock-Control-Secret"] = SECRET
    req = urllib.request.Request(ISSUER + path, data=data, method=method, headers=headers)
    try:
        with OPENER.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def expect(what, status, want):
    if status != want:
        sys.exit(f"example-app-test: {what}: HTTP {status}, expected {want}")


def main():
    status, _, body = call("POST", "/_mock/login", doc={"sub": "alice"})
    expect("login through the control API", status, 200)
    cookie = json.loads(body)["cookie"].split(";")[0]
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urllib.parse.urlencode({
        "client_id": CLIENT, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid offline_access", "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8), "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256"})
    status, headers, _ = call("GET", "/authorize?" + query, headers={"Cookie": cookie})
    expect("authorize", status, 302)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["code"][0]
    status, _, body = call("POST", "/token", form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": CLIENT})
    expect("code exchange", status, 200)
    refresh = json.loads(body)["refresh_token"]
    for n in range(3):
        expect("clock", call("POST", "/_mock/clock", doc={"advance": 240})[0], 200)
        status, _, body = call("POST", "/token", form={
            "grant_type": "refresh_token", "refresh_token": refresh, "client_id": CLIENT})
        expect(f"refresh {n + 1}", status, 200)
        refresh = json.loads(body).get("refresh_token", refresh)
    status, _, _ = call("POST", "/revoke", form={"token": refresh, "client_id": CLIENT})
    expect("revocation at logout", status, 200)
    print("example-app-test: login, 3 refreshes, logout: ok")


if __name__ == "__main__":
    main()
