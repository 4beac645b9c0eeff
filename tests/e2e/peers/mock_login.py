#!/usr/bin/python3
"""Login command for `renewlab probe` against mock-idp (docs/probe.md, "The login command",
contract v2): a session from /_mock/login, then the code flow with PKCE, configured by the
probe's environment; prints the token response as JSON with the session's cookie as
session_cookie (for the prompt=none rows)."""
import base64
import hashlib
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

ENV = os.environ
ISSUER, CLIENT = ENV["RENEWLAB_PROBE_ISSUER"], ENV["RENEWLAB_PROBE_CLIENT_ID"]
REDIRECT = ENV.get("RENEWLAB_PROBE_REDIRECT_URI") or "http://127.0.0.1:8080/callback"
SCOPE = ENV["RENEWLAB_PROBE_SCOPE"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def call(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(req, timeout=10)
    except urllib.error.HTTPError as e:
        return e


cookie = json.load(call(ISSUER + "/_mock/login", b'{"sub":"alice"}',
                        {"Content-Type": "application/json"}))["cookie"]
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
q = urllib.parse.urlencode({"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT,
                            "scope": SCOPE, "state": "s", "nonce": "n",
                            "code_challenge": challenge, "code_challenge_method": "S256"})
loc = call(ISSUER + "/authorize?" + q, headers={"Cookie": cookie}).headers["Location"]
code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))["code"]
form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                               "redirect_uri": REDIRECT, "client_id": CLIENT,
                               "code_verifier": verifier}).encode()
tokens = json.load(call(ISSUER + "/token", form,
                        {"Content-Type": "application/x-www-form-urlencoded"}))
tokens["session_cookie"] = cookie
print(json.dumps(tokens))
sys.exit(0 if "access_token" in tokens else 3)
