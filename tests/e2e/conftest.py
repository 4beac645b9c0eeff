"""pytest fixtures: start the real mock-idp binary on loopback and talk to it over HTTP."""
import base64
import hashlib
import http.client
import json
import os
import secrets
import signal
import subprocess
import tempfile
import urllib.parse

import jwt
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# the signing-key cache of the servers the tests start: theirs, never the user's
os.environ.setdefault("RENEWLAB_KEY_CACHE", tempfile.mkdtemp(prefix="renewlab-keys-"))
BIN = os.environ.get("MOCK_IDP_BIN", os.path.join(ROOT, "build", "bin", "mock-idp"))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class MockIdp:
    """One running mock-idp process."""

    def __init__(self, *args, env=None):
        workers = os.environ.get("RENEWLAB_IDP_WORKERS")  # make tsan-test: 4 loops
        if workers and "--workers" not in args:
            args = ("--workers", workers, *args)
        self.proc = subprocess.Popen(
            [BIN, "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("mock-idp listening issuer="):
            self.proc.kill()
            err = self.proc.stderr.read().decode()
            raise RuntimeError(f"mock-idp did not start: {line!r} {err}")
        self.issuer = line.strip().split("issuer=", 1)[1]
        url = urllib.parse.urlsplit(self.issuer)
        self.host, self.port = url.hostname, url.port
        self.scheme = url.scheme

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        if self.proc.returncode != 0:  # a sanitizer's report, for the failure message
            print(self.proc.stderr.read().decode("utf-8", "replace")[-8000:])
        return self.proc.returncode

    # -- HTTP ------------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, raw=False):
        conn_cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        kwargs = {}
        if self.scheme == "https":
            import ssl
            kwargs["context"] = ssl._create_unverified_context()
        conn = conn_cls("127.0.0.1", self.port, timeout=10, **kwargs)
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read())
        conn.close()
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def control(self, method, path, payload=None):
        body = json.dumps(payload) if payload is not None else None
        r = self.request(method, "/_mock/" + path, body=body,
                         headers={"Content-Type": "application/json"} if body else None)
        return r

    # -- protocol helpers -------------------------------------------------------------
    def discovery(self):
        return self.get("/.well-known/openid-configuration").json()

    def login(self, sub="alice", consent=None):
        payload = {"sub": sub}
        if consent:
            payload["consent"] = consent
        r = self.control("POST", "login", payload)
        assert r.status == 200, r.text
        return r.json()["cookie"]

    def advance(self, seconds):
        r = self.control("POST", "clock", {"advance": seconds})
        assert r.status == 200, r.text
        return r.json()["now"]

    def now(self):
        return self.control("GET", "clock").json()["now"]

    def trace(self):
        return self.control("GET", "trace").json()["requests"]

    def state(self):
        return self.control("GET", "state").json()

    def authorize(self, cookie=None, **params):
        """GET /authorize; returns the response."""
        headers = {"Cookie": cookie} if cookie else {}
        return self.get("/authorize?" + urllib.parse.urlencode(params), headers=headers)

    def issue_code(self, cookie=None, client_id="demo-spa", scope="openid",
                   redirect_uri="http://127.0.0.1:8080/callback"):
        """Log in (unless a cookie is given) and authorize with PKCE; returns (code, verifier)."""
        verifier, challenge = pkce_pair()
        r = self.authorize(cookie=cookie or self.login(), client_id=client_id, redirect_uri=redirect_uri,
                           response_type="code", scope=scope, code_challenge=challenge,
                           code_challenge_method="S256")
        return redirect_params(r)["code"], verifier

    def code_flow(self, client_id="demo-spa", sub="alice", scope="openid profile offline_access api",
                  redirect_uri="http://127.0.0.1:8080/callback", secret=None, nonce=None, cookie=None):
        """Log in through /_mock/login and run the code flow with PKCE; returns token JSON."""
        cookie = cookie or self.login(sub)
        verifier, challenge = pkce_pair()
        nonce = nonce or secrets.token_urlsafe(12)
        r = self.authorize(cookie=cookie, client_id=client_id, redirect_uri=redirect_uri,
                           response_type="code", scope=scope, state="st-1", nonce=nonce,
                           code_challenge=challenge, code_challenge_method="S256")
        assert r.status == 302, r.text
        q = redirect_params(r)
        assert q["state"] == "st-1"
        form = {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": redirect_uri,
                "code_verifier": verifier, "client_id": client_id}
        if secret:
            form["client_secret"] = secret
        tr = self.post("/token", form)
        assert tr.status == 200, tr.text
        tokens = tr.json()
        if "id_token" in tokens:  # every ID token is checked against /jwks, not trusted
            claims = self.verify_id_token(tokens["id_token"], client_id)
            assert claims["nonce"] == nonce and claims["sub"] == sub
        tokens["_nonce"] = nonce
        return tokens

    def refresh(self, refresh_token, client_id="demo-spa", **extra):
        r = self.post("/token", {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                 "client_id": client_id, **extra})
        if r.status == 200 and "id_token" in r.json():
            self.verify_id_token(r.json()["id_token"], client_id)
        return r

    def jwks(self):
        return jwt.PyJWKSet.from_dict(self.get("/jwks").json())

    def verify_id_token(self, token, audience, **kw):
        """Verify an ID token's signature, iss and aud against /jwks with PyJWT (not the
        server's code). Times follow the IdP's virtual clock, so tests check exp/iat."""
        header = jwt.get_unverified_header(token)
        jwks = self.get("/jwks").json()["keys"]
        jwk = next((k for k in jwks if k["kid"] == header.get("kid")), None)
        if jwk is None:
            raise jwt.InvalidTokenError(f"no key in /jwks for kid {header.get('kid')!r}")
        if header.get("alg") != jwk["alg"]:  # never let the token choose the algorithm
            raise jwt.InvalidTokenError(f"alg {header.get('alg')!r} is not the key's {jwk['alg']!r}")
        key = jwt.PyJWK(jwk)
        return jwt.decode(token, key=key.key, algorithms=[header["alg"]], audience=audience,
                          issuer=self.issuer, options={"verify_exp": False, "verify_iat": False, "verify_nbf": False}, **kw)


def raw_exchange(idp, data, timeout=10):
    """Send raw bytes on a new connection; everything the server sent until it closed."""
    import socket
    s = socket.create_connection(("127.0.0.1", idp.port), timeout=timeout)
    s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def redirect_params(resp):
    loc = resp.header("Location")
    assert loc, f"no Location in {resp.status} {resp.text}"
    parts = urllib.parse.urlsplit(loc)
    raw = parts.fragment if parts.fragment else parts.query
    return dict(urllib.parse.parse_qsl(raw))


@pytest.fixture
def idp():
    server = MockIdp()
    yield server
    assert server.stop() == 0


@pytest.fixture
def start_idp(tmp_path):
    started = []

    def start(*args, config=None, **kw):
        if config is not None:
            path = tmp_path / f"config{len(started)}.json"
            path.write_text(json.dumps(config) if not isinstance(config, str) else config)
            args = ("--config", str(path), *args)
        server = MockIdp(*args, **kw)
        started.append(server)
        return server

    yield start
    for s in started:
        assert s.stop() == 0


def spa_config(**client_overrides):
    """A config with one public SPA client, overridable per test."""
    client = {"client_id": "spa", "redirect_uris": ["http://127.0.0.1:8080/callback"],
              "post_logout_redirect_uris": ["http://127.0.0.1:8080/"],
              "grant_types": ["authorization_code", "refresh_token"]}
    refresh = client_overrides.pop("refresh", None)
    client.update(client_overrides)
    if refresh:
        client["refresh"] = refresh
    return {"clients": [client],
            "users": [{"sub": "alice", "password": "alice"}, {"sub": "bob", "password": "bob"}]}
