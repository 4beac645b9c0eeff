#!/usr/bin/python3
"""Login command for `renewlab probe` against mock-idp: a session from /_mock/login, then
the code flow with PKCE; prints the token response as JSON. The scope comes from
$RENEWLAB_PROBE_SCOPE (the probe asks once without offline_access)."""
import base64
import hashlib
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

ISSUER, CLIENT, REDIRECT = sys.argv[1], sys.argv[2], "http://127.0.0.1:8080/callback"
SCOPE = os.environ.get("RENEWLAB_PROBE_SCOPE", "openid profile offline_access api")


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
                            "scope": SCOPE, "state": "s", "nonce": "n", "prompt": "none",
                            "code_challenge": challenge, "code_challenge_method": "S256"})
loc = call(ISSUER + "/authorize?" + q, headers={"Cookie": cookie}).headers["Location"]
code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))["code"]
form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                               "redirect_uri": REDIRECT, "client_id": CLIENT,
                               "code_verifier": verifier}).encode()
tokens = json.load(call(ISSUER + "/token", form,
                        {"Content-Type": "application/x-www-form-urlencoded"}))
tokens["cookie"] = cookie
print(json.dumps(tokens))
sys.exit(0 if "access_token" in tokens else 3)
