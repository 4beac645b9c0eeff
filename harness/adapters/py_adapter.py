#!/usr/bin/python3
"""The reference exec adapter in Python (docs/exec-protocol.md): a refresh-token client
written from the specifications with the standard library and Debian's python3-jwt and
python3-cryptography (ID tokens are verified for real), speaking protocol 1.

With --real-time it is a client of the other kind: it reads the wall clock and makes its
own HTTP requests (urllib), and the harness runs the scenario in real time.

It is reactive like every protocol-1 adapter: read a line, let the client act at that
line's "now", write requests, events and "done", then one "idle" with the next timer.
The client's operations are generators that yield what they wait for (an HTTP answer or
a pause); the loop resumes them when the answer line arrives or the time comes.
"""
import base64
import hashlib
import heapq
import itertools
import json
import os
import secrets
import selectors
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

INTERACTION = {"login_required", "interaction_required", "consent_required",
               "account_selection_required"}
TRANSIENT = {"RC_ETRANSPORT", "RC_ETIMEOUT", "RC_EHTTP", "RC_EPROTOCOL"}


class Failure(Exception):
    """An operation failed with one of renew_core's error names (the judge's vocabulary)."""

    def __init__(self, name, detail=None, retry_after=0.0):
        super().__init__(name)
        self.name, self.detail, self.retry_after = name, detail or name, retry_after


class Http:  # yielded by an operation: perform this request
    def __init__(self, method, url, form=None, headers=None, timeout=None):
        self.method, self.url, self.form, self.headers = method, url, form, headers or {}
        self.timeout = timeout


class Pause:  # yielded by an operation: wait this long
    def __init__(self, seconds):
        self.seconds = seconds


class Join:  # yielded by an operation: wait for another operation's result
    def __init__(self, op):
        self.op = op


# ---- the loop: time, timers, HTTP through the protocol, operations ---------------------

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


OPENER = urllib.request.build_opener(NoRedirect)
HEADERS = ("content-type", "location", "retry-after", "www-authenticate")


def fetch(req):
    """Real time: perform the request ourselves; an answer as the protocol shapes it."""
    data = urllib.parse.urlencode(req.form).encode() if req.form is not None else None
    headers = dict(req.headers)
    if data is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
    r = urllib.request.Request(req.url, data=data, method=req.method, headers=headers)
    try:
        resp = OPENER.open(r, timeout=req.timeout or 10)
    except urllib.error.HTTPError as e:
        resp = e
    except (socket.timeout, TimeoutError):
        raise Failure("RC_ETIMEOUT", "request timed out")
    except (urllib.error.URLError, OSError) as e:
        if isinstance(getattr(e, "reason", None), (socket.timeout, TimeoutError)):
            raise Failure("RC_ETIMEOUT", "request timed out")
        raise Failure("RC_ETRANSPORT", str(e))
    with resp:
        body = resp.read().decode("utf-8", "replace")
        hdrs = {h: resp.headers[h] for h in HEADERS if resp.headers.get(h)}
    return {"status": resp.status if hasattr(resp, "status") else resp.code, "headers": hdrs,
            "body": body}


class Loop:
    def __init__(self, real=False):
        self.real = real
        self._now = 0.0
        self.timers = []  # heap of [deadline, seq, callback, alive]
        self.seq = itertools.count()
        self.http = {}  # id -> callback(response or None, error)
        self.next_id = itertools.count(1)

    @property
    def now(self):
        return time.time() if self.real else self._now

    @now.setter
    def now(self, value):
        self._now = value

    @staticmethod
    def emit(msg):
        sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def call_at(self, deadline, callback):
        timer = [deadline, next(self.seq), callback, True]
        heapq.heappush(self.timers, timer)
        return timer

    @staticmethod
    def cancel(timer):
        if timer:
            timer[3] = False

    def fire_due(self):
        while self.timers and self.timers[0][0] <= self.now + 1e-9:
            timer = heapq.heappop(self.timers)
            if timer[3]:
                timer[2]()

    def wake_at(self):
        while self.timers and not self.timers[0][3]:
            heapq.heappop(self.timers)
        return self.timers[0][0] if self.timers else None

    def send(self, req, callback):
        rid = next(self.next_id)
        msg = {"type": "http", "id": rid, "method": req.method, "url": req.url,
               "headers": dict(req.headers)}
        if req.form is not None:
            msg["headers"]["content-type"] = "application/x-www-form-urlencoded"
            msg["body"] = urllib.parse.urlencode(req.form)
        self.http[rid] = callback
        self.emit(msg)
        return rid

    def answer(self, msg):
        callback = self.http.pop(msg["id"], None)
        if callback:  # else cancelled meanwhile
            callback(msg, msg.get("error"))

    def drop(self, rid):
        if self.http.pop(rid, None):
            self.emit({"type": "http_cancel", "id": rid})


class Op:
    """One running operation (a generator) and those waiting for its result."""

    def __init__(self, loop, gen, on_done=None):
        self.loop, self.gen, self.done, self.result = loop, gen, False, None
        self.waiters = [on_done] if on_done else []
        self.step(None, None)

    def finish(self, result):
        self.done, self.result = True, result
        for w in self.waiters:
            w(result)

    def step(self, value, exc):
        try:
            want = self.gen.throw(exc) if exc else self.gen.send(value)
        except StopIteration as stop:
            return self.finish(stop.value)
        except Failure as f:
            return self.finish(f)
        if isinstance(want, Pause):
            self.loop.call_at(self.loop.now + want.seconds, lambda: self.step(None, None))
        elif isinstance(want, Join):
            if want.op.done:
                self.step(want.op.result, None)
            else:
                want.op.waiters.append(lambda r: self.step(r, None))
        else:
            self.http(want)

    def http(self, req):
        if self.loop.real:
            try:
                msg = fetch(req)
            except Failure as f:
                return self.step(None, f)
            return self.step(msg, None)
        state = {"timer": None, "id": None}

        def on_answer(msg, error):
            self.loop.cancel(state["timer"])
            if error:
                self.step(None, Failure("RC_ETIMEOUT" if error == "timeout" else "RC_ETRANSPORT"))
            else:
                self.step(msg, None)

        def on_timeout():  # the request's own timeout, on the protocol's clock
            self.loop.drop(state["id"])
            self.step(None, Failure("RC_ETIMEOUT", "request timed out"))

        state["id"] = self.loop.send(req, on_answer)
        if req.timeout:
            state["timer"] = self.loop.call_at(self.loop.now + req.timeout, on_timeout)


# ---- OIDC helpers -----------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_body(msg):
    try:
        body = json.loads(msg.get("body") or "", object_pairs_hook=no_duplicates)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys")
    return dict(pairs)


def classify(msg):
    """renew_core's reading of an error answer (rc_classify_error)."""
    status, body = msg["status"], json_body(msg) or {}
    code = body.get("error") if isinstance(body.get("error"), str) else None
    if code and status in (400, 401):
        if code == "invalid_grant":
            return "RC_EINVALID_GRANT", code
        if code in ("invalid_client", "unauthorized_client"):
            return "RC_EINVALID_CLIENT", code
        return "RC_EOAUTH", code
    if status == 401:
        return "RC_EINVALID_CLIENT", code
    if status >= 500 or status in (429, 408):
        return "RC_EHTTP", code
    return ("RC_EOAUTH" if 400 <= status < 500 else "RC_EPROTOCOL"), code


def retry_after(msg):
    value = (msg.get("headers") or {}).get("retry-after", "")
    return float(value) if value.isdigit() and 0 < int(value) < 86400 else 0.0


ALGS = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}


class Keys:
    """The IdP's JWKS as PyJWT keys; alg none and HS* are never accepted."""

    def __init__(self, doc):
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
            raise Failure("RC_EJWKS", "not a JWKS")
        self.keys = [k for k in doc["keys"] if isinstance(k, dict)]

    def verify(self, token):
        if len(token) > 16384 or token.count(".") != 2:
            raise Failure("RC_EJWT_MALFORMED")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise Failure("RC_EJWT_MALFORMED", str(e))
        alg = header.get("alg")
        if alg not in ALGS:
            raise Failure("RC_EJWT_ALG", f"alg {alg}")
        if header.get("crit"):
            raise Failure("RC_EJWT_CRIT")
        kty = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}[alg]
        fits = [k for k in self.keys if k.get("kty") == kty and k.get("use", "sig") == "sig"
                and (("kid" not in header) or k.get("kid") == header["kid"])]
        if len(fits) != 1 or ("kid" not in header and len(self.keys) > 1):
            raise Failure("RC_EJWT_KID")
        try:
            key = ALGS[alg].from_jwk(json.dumps(fits[0]))
            return jwt.decode(token, key=key, algorithms=[alg],
                              options={"verify_aud": False, "verify_exp": False,
                                       "verify_iat": False, "verify_nbf": False,
                                       "verify_iss": False}), alg
        except jwt.InvalidSignatureError:
            raise Failure("RC_EJWT_SIGNATURE")
        except jwt.PyJWTError as e:
            raise Failure("RC_EJWT_MALFORMED", str(e))


def at_hash_ok(at_hash, access_token, alg):
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(access_token.encode()).digest()
    return b64url(digest[:len(digest) // 2]) == at_hash


def check_claims(c, claims, alg, now, nonce=None, access_token=None, original=None):
    """OIDC Core §3.1.3.7, and §12.2 against the login's claims on refresh."""
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if claims.get("iss") != c.issuer:
        raise Failure("RC_EJWT_ISS")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Failure("RC_EJWT_SUB")
    if c.client_id not in auds:
        raise Failure("RC_EJWT_AUD")
    azp = claims.get("azp")
    if (len(auds) > 1 and not azp) or (azp and azp != c.client_id):
        raise Failure("RC_EJWT_AZP")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or now > exp + c.skew:
        raise Failure("RC_EJWT_EXP")
    if not isinstance(iat, (int, float)) or iat > now + c.skew:
        raise Failure("RC_EJWT_IAT")
    if original is not None:
        o_aud = original.get("aud")
        if set(auds) != set(o_aud if isinstance(o_aud, list) else [o_aud]):
            raise Failure("RC_EJWT_AUD")
        if claims.get("iss") != original.get("iss"):
            raise Failure("RC_EJWT_ISS")
        if claims.get("sub") != original.get("sub"):
            raise Failure("RC_EJWT_SUB")
        if "auth_time" in original and claims.get("auth_time") != original["auth_time"]:
            raise Failure("RC_EJWT_AUTH_TIME")
        if "azp" not in original and "azp" in claims:
            raise Failure("RC_EJWT_AZP")
        if "nonce" in claims and claims["nonce"] != original.get("nonce"):
            raise Failure("RC_EJWT_NONCE")
    elif nonce is not None and claims.get("nonce") != nonce:
        raise Failure("RC_EJWT_NONCE")
    if claims.get("at_hash") and access_token and not at_hash_ok(claims["at_hash"], access_token, alg):
        raise Failure("RC_EJWT_AT_HASH")


# ---- the client ---------------------------------------------------------------------------

class Client:
    def __init__(self, loop, issuer, s):
        self.loop, self.issuer = loop, issuer
        self.client_id, self.redirect_uri = s["client_id"], s["redirect_uri"]
        self.scope = s.get("scope", "openid profile offline_access api")
        self.renew_before = s.get("renew_before", 60)
        self.jitter = s.get("jitter", 0)
        self.min_interval = s.get("min_interval", 5)
        self.timeout = s.get("request_timeout", 10)
        self.max_retries = s.get("max_retries", 4)
        self.backoff_initial, self.backoff_max = s.get("backoff_initial", 1), s.get("backoff_max", 60)
        self.skew = s.get("clock_skew", 60)
        self.revoke_on_logout = s.get("revoke_on_logout", True)
        self.meta = self.keys = None
        self.at = self.rt = self.id_token = None
        self.claims = None  # the login's ID token claims: the §12.2 reference
        self.expires_at = 0.0  # 0: unknown lifetime
        self.last_renewal = 0.0
        self.has_session = self.logged_out = False
        self.renewal = None  # the renewal under way (single flight)
        self.timer = None

    def event(self, name, **fields):
        msg = {"type": "event", "event": name}
        msg.update({k: v for k, v in fields.items() if v is not None})
        self.loop.emit(msg)

    def get(self, url, **kw):
        return Http("GET", url, timeout=self.timeout, **kw)

    def post(self, url, form):
        return Http("POST", url, dict(form, client_id=self.client_id), timeout=self.timeout)

    # -- start and login --------------------------------------------------------------------

    def start(self):
        msg = yield self.get(self.issuer + "/.well-known/openid-configuration")
        meta = json_body(msg) if msg["status"] == 200 else None
        if not meta or meta.get("issuer") != self.issuer:  # RFC 8414 §3.3
            raise Failure("RC_EDISCOVERY", "discovery issuer mismatch or unusable")
        self.meta = meta
        yield from self.fetch_keys()

    def fetch_keys(self):
        msg = yield self.get(self.meta["jwks_uri"])
        if msg["status"] != 200:
            raise Failure("RC_EJWKS")
        self.keys = Keys(json_body(msg))

    def login(self, cookie):
        if self.meta is None:
            yield from self.start()
        try:
            yield from self.code_flow(cookie)
        except Failure as f:  # a login that fails ends with the session lost, said so
            self.event("session_lost", reason=f.name, method="code", detail=f.detail)
            raise
        self.event("logged_in", method="code")
        self.schedule()

    def code_flow(self, cookie):
        state, nonce = b64url(secrets.token_bytes(16)), b64url(secrets.token_bytes(16))
        verifier = b64url(secrets.token_bytes(32))
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": self.scope, "state": state, "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256"})
        msg = yield self.get(self.meta["authorization_endpoint"] + "?" + query,
                             headers={"cookie": cookie})
        location = (msg.get("headers") or {}).get("location")
        if msg["status"] != 302 or not location:
            raise Failure("RC_EINTERACTION", "authorize did not redirect")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if q.get("state") != state:
            raise Failure("RC_ESTATE")
        if "error" in q:
            raise Failure("RC_EINTERACTION" if q["error"] in INTERACTION else "RC_EOAUTH", q["error"])
        msg = yield self.post(self.meta["token_endpoint"], {
            "grant_type": "authorization_code", "code": q.get("code", ""),
            "redirect_uri": self.redirect_uri, "code_verifier": verifier})
        if msg["status"] != 200:
            raise Failure(classify(msg)[0])
        yield from self.take_answer(msg, nonce=nonce)

    # -- token answers ----------------------------------------------------------------------

    def parse_answer(self, msg):
        body = json_body(msg)
        if body is None:
            raise Failure("RC_EPROTOCOL", "malformed token response")
        at, tt, rt = body.get("access_token"), body.get("token_type"), body.get("refresh_token")
        exp = body.get("expires_in")
        if isinstance(exp, str):  # tolerated: some IdPs send "3600"
            try:
                exp = float(exp) if exp else None
            except ValueError:
                exp = None
            if exp is None:
                raise Failure("RC_EPROTOCOL", "expires_in")
        bad_exp = "expires_in" in body and (not isinstance(exp, (int, float)) or isinstance(exp, bool)
                                            or not 0 <= exp <= 10 * 365 * 86400)
        if (not isinstance(at, str) or not at or not isinstance(tt, str) or tt.lower() != "bearer"
                or (rt is not None and not isinstance(rt, str)) or bad_exp
                or ("scope" in body and not isinstance(body["scope"], str))
                or ("id_token" in body and not isinstance(body["id_token"], str))):
            raise Failure("RC_EPROTOCOL", "malformed token response")
        return body, (None if "expires_in" not in body else exp)

    def take_answer(self, msg, nonce=None):
        body, exp = self.parse_answer(msg)
        idt = body.get("id_token")
        if nonce is not None and not idt:
            raise Failure("RC_EPROTOCOL", "a login must come with an ID token")
        claims = None
        if idt:
            try:
                claims, alg = self.keys.verify(idt)
            except Failure as f:
                if f.name != "RC_EJWT_KID":
                    raise
                yield from self.fetch_keys()  # keys rotated: fetch them once more
                claims, alg = self.keys.verify(idt)
            check_claims(self, claims, alg, self.loop.now, nonce=nonce,
                         access_token=body["access_token"],
                         original=None if nonce is not None else self.claims)
        self.at = body["access_token"]
        self.rt = body.get("refresh_token", self.rt)  # none returned: the old one stays
        self.expires_at = 0.0 if exp is None else self.loop.now + exp
        if nonce is not None:
            self.claims, self.id_token = claims, idt
        self.has_session = True
        self.last_renewal = self.loop.now

    # -- renewal ----------------------------------------------------------------------------

    def schedule(self):
        self.loop.cancel(self.timer)
        self.timer = None
        if not self.has_session or self.logged_out or not self.expires_at:
            return
        jitter = secrets.randbelow(1000) / 1000 * self.jitter if self.jitter else 0
        due = max(self.expires_at - self.renew_before - jitter, self.last_renewal + self.min_interval)
        self.timer = self.loop.call_at(max(due, self.loop.now), self.renew)

    def renew(self):
        if self.renewal is None or self.renewal.done:
            self.renewal = Op(self.loop, self.renewing())
        return self.renewal

    def backoff(self, attempt, ra):
        d = self.backoff_initial * 2 ** (attempt - 1)
        return max(min(d, self.backoff_max), ra)

    def renewing(self):
        attempt = 0
        while True:
            if not self.rt:
                return self.lose("RC_EINTERACTION", "no refresh token and no silent renewal")
            try:
                msg = yield self.post(self.meta["token_endpoint"],
                                      {"grant_type": "refresh_token", "refresh_token": self.rt})
                if msg["status"] != 200:
                    name, code = classify(msg)
                    if name not in TRANSIENT:
                        return self.grant_dead(name, code or name)
                    raise Failure(name, code or "server error", retry_after(msg))
                yield from self.take_answer(msg)
            except Failure as f:
                if f.name not in TRANSIENT:
                    return self.lose(f.name, f.detail)  # never keep tokens that failed checks
                attempt += 1
                if attempt > self.max_retries:  # give up for now, keep the session
                    self.event("renew_failed", reason="RC_EGAVE_UP", transient=False,
                               method="refresh_token", detail=f.detail)
                    return "RC_EGAVE_UP"
                self.event("renew_failed", reason=f.name, transient=True, method="refresh_token",
                           detail=f.detail)
                yield Pause(self.backoff(attempt, f.retry_after))
                continue
            self.event("renewed", method="refresh_token")
            self.schedule()
            return "RC_OK"

    def grant_dead(self, name, detail):
        self.rt = None  # the refresh token is never sent again
        self.event("renew_failed", reason=name, transient=False, method="refresh_token", detail=detail)
        return self.lose(name, detail, event=False)

    def lose(self, name, detail, event=True):
        self.has_session = False
        self.at = None
        self.loop.cancel(self.timer)
        if name == "RC_EINTERACTION":
            self.event("interaction_required", reason=name, method="refresh_token", detail=detail)
        self.event("session_lost", reason=name, detail=detail)
        return name

    def fresh(self):
        if not self.at:
            return False
        return not self.expires_at or self.loop.now < self.expires_at - self.renew_before

    def get_token(self):
        if self.logged_out:
            return "RC_ELOGGED_OUT"
        if not self.has_session:
            return "RC_ENO_SESSION"
        idle = self.renewal is None or self.renewal.done
        if self.fresh() or (idle and self.expires_at and
                            self.loop.now < self.last_renewal + self.min_interval and
                            self.loop.now < self.expires_at):
            return "RC_OK"
        result = yield Join(self.renew())
        return result if isinstance(result, str) else result.name

    # -- resource calls and logout ------------------------------------------------------------

    def api_call(self, url):
        status = yield from self.get_token()
        if status != "RC_OK":
            return status, 0
        msg = yield Http("GET", url, headers={"authorization": "Bearer " + self.at})
        www = (msg.get("headers") or {}).get("www-authenticate")
        if msg["status"] == 401 and self.has_session and (not www or "invalid_token" in www):
            self.expires_at, self.last_renewal = self.loop.now, 0.0  # RFC 6750 §3.1
            status = yield from self.get_token()
            if status != "RC_OK":
                return status, msg["status"]
            msg = yield Http("GET", url, headers={"authorization": "Bearer " + self.at})
        return "RC_OK", msg["status"]

    def logout(self):
        self.logged_out = True  # from now on the refresh token is never used
        self.loop.cancel(self.timer)
        endpoint = self.meta.get("revocation_endpoint") if self.meta else None
        status = "RC_OK"
        if endpoint and self.revoke_on_logout:
            for token, hint in ((self.rt, "refresh_token"), (self.at, "access_token")):
                attempt = 0
                while token:
                    try:
                        msg = yield self.post(endpoint, {"token": token, "token_type_hint": hint})
                        transient, ra = msg["status"] >= 500 or msg["status"] == 429, retry_after(msg)
                    except Failure:
                        transient, ra = True, 0.0
                    if not transient:  # 200, or a 4xx that retrying will not fix
                        break
                    attempt += 1
                    if attempt > self.max_retries:
                        status = "RC_EGAVE_UP"
                        break
                    yield Pause(self.backoff(attempt, ra))
                if status != "RC_OK":
                    break
        self.has_session, self.at, self.rt = False, None, None
        self.event("logged_out", reason=None if status == "RC_OK" else status, method="revoke")
        return status


# ---- the protocol -------------------------------------------------------------------------

class Adapter:
    def __init__(self, real=False):
        self.loop = Loop(real)
        self.client = None

    def done(self, seq, status, http_status=None):
        msg = {"type": "done", "seq": seq, "status": status}
        if http_status:
            msg["http_status"] = http_status
        self.loop.emit(msg)

    def command(self, msg):
        kind, seq, c = msg["type"], msg["seq"], self.client

        def finish(result):
            if isinstance(result, Failure):
                result = result.name
            if isinstance(result, tuple):
                self.done(seq, *result)
            else:
                self.done(seq, result or "RC_OK")

        if kind == "login":
            c.cookie = msg["cookie"]
            Op(self.loop, c.login(msg["cookie"]), finish)
        elif kind == "use_token":
            left, worst = [max(1, msg.get("count", 1))], ["RC_OK"]

            def one(result):
                if isinstance(result, Failure) or result != "RC_OK":
                    worst[0] = result.name if isinstance(result, Failure) else result
                left[0] -= 1
                if left[0] == 0:
                    self.done(seq, worst[0])
            for _ in range(left[0]):  # at the same instant
                Op(self.loop, self.as_op(c.get_token()), one)
        elif kind == "api_call":
            Op(self.loop, c.api_call(msg["url"]), finish)
        elif kind == "logout":
            Op(self.loop, c.logout(), finish)

    @staticmethod
    def as_op(value_or_gen):
        """get_token answers at once (a string) or waits (a generator)."""
        if isinstance(value_or_gen, str):
            def now():
                return value_or_gen
                yield  # pragma: no cover - makes this a generator
            return now()
        return value_or_gen

    def handle(self, msg):
        kind = msg.get("type")
        if kind == "stop":
            return False
        if not self.loop.real:
            self.loop.now = max(self.loop.now, float(msg["now"]))
        self.loop.fire_due()  # what was due before this line
        if kind == "hello":
            self.client = Client(self.loop, msg["issuer"], msg["client"])
            clock = "real_clock" if self.loop.real else "virtual_clock"
            self.loop.emit({"type": "hello", "protocol": 1, "name": "py-adapter",
                            "version": "0.1.0", "capabilities": ["refresh", clock, "revoke"]})
        elif kind == "http_response":
            self.loop.answer(msg)
        elif kind in ("login", "use_token", "api_call", "logout"):
            self.command(msg)
        self.loop.fire_due()
        if not self.loop.real:
            self.loop.emit({"type": "idle", "wake_at": self.loop.wake_at()})
        return True


def run_real_time(adapter):
    """Lines and timers on the wall clock: wait for whichever comes first."""
    sel, fd, pending = selectors.DefaultSelector(), sys.stdin.fileno(), b""
    sel.register(fd, selectors.EVENT_READ)
    while True:
        due = adapter.loop.wake_at()
        ready = sel.select(None if due is None else max(0.0, due - time.time()))
        adapter.loop.fire_due()
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip() and not adapter.handle(json.loads(line)):
                return


def main():
    if "--real-time" in sys.argv[1:]:
        return run_real_time(Adapter(real=True))
    adapter = Adapter()
    for line in sys.stdin:
        if not line.strip():
            continue
        if not adapter.handle(json.loads(line)):
            break


if __name__ == "__main__":
    main()
