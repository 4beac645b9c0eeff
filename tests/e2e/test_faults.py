"""Fault rules over real HTTP: each action's effect as a client sees it, checked together
with its trace entry."""
import http.client
import json
import os
import socket
import signal
import time

import jwt
import pytest

from conftest import MockIdp, pkce_pair, redirect_params

REDIRECT = "http://127.0.0.1:8080/callback"


def add(idp, rule):
    r = idp.control("POST", "faults", rule)
    assert r.status == 201, r.text
    return r.json()["id"]


def last(idp, endpoint):
    return [e for e in idp.trace() if e["endpoint"] == endpoint][-1]


def on_token(action, **extra):
    return {"match": {"endpoint": "token", "grant_type": "refresh_token"}, "action": action, **extra}


# -- status, latency, drops ---------------------------------------------------------------

@pytest.mark.parametrize("status,error", [(503, "temporarily_unavailable"), (429, "slow_down"),
                                          (500, "server_error")])
def test_status_with_oauth_error_and_retry_after(idp, status, error):
    t = idp.code_flow()
    rid = add(idp, on_token({"type": "status", "status": status, "error": error,
                             "error_description": "injected", "retry_after": 30}, times=1))
    r = idp.refresh(t["refresh_token"])
    assert r.status == status and r.json() == {"error": error, "error_description": "injected"}
    assert r.header("Retry-After") == "30"
    e = last(idp, "token")
    assert e["fault"] == {"rule": rid, "action": "status"} and e["status"] == status
    assert e["error"] == error
    # times=1: the rule is spent, and the refresh token was not consumed by the fault
    assert idp.refresh(t["refresh_token"]).status == 200
    assert "fault" not in last(idp, "token")


def test_latency_holds_the_answer(idp):
    t = idp.code_flow()
    add(idp, on_token({"type": "latency", "seconds": 0.4}))
    start = time.monotonic()
    r = idp.refresh(t["refresh_token"])
    assert time.monotonic() - start >= 0.4
    assert r.status == 200
    e = last(idp, "token")
    assert e["delivery"] == "held" and e["fault"]["action"] == "latency"


def raw_request(idp, body, timeout=5):
    s = socket.create_connection(("127.0.0.1", idp.port), timeout=timeout)
    data = body.encode()
    s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
    return s


def read_all(s):
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out, "eof"
            out += chunk
    except ConnectionResetError:
        return out, "reset"
    except socket.timeout:
        return out, "timeout"


def test_reset_without_effect(idp):
    t = idp.code_flow()
    add(idp, on_token({"type": "reset"}, times=1))
    s = raw_request(idp, f"grant_type=refresh_token&client_id=demo-spa&refresh_token={t['refresh_token']}")
    out, how = read_all(s)
    assert out == b"" and how == "reset"
    e = last(idp, "token")
    assert e["delivery"] == "reset" and e["status"] == 0
    assert idp.refresh(t["refresh_token"]).status == 200, "no effect: the token still works"


def test_close_without_effect(idp):
    add(idp, {"match": {"endpoint": "jwks"}, "action": {"type": "close"}, "times": 1})
    s = socket.create_connection(("127.0.0.1", idp.port), timeout=5)
    s.sendall(b"GET /jwks HTTP/1.1\r\nHost: x\r\n\r\n")
    out, how = read_all(s)
    assert out == b"" and how == "eof"
    assert last(idp, "jwks")["delivery"] == "closed"


def test_rotated_but_response_lost_then_retry_revokes_family(idp):
    """RFC 9700 §4.14.2: the IdP rotates, the answer is lost, the client retries with the
    old token and reuse detection ends the grant."""
    t = idp.code_flow()
    add(idp, on_token({"type": "reset", "after_effect": True}, times=1))
    s = raw_request(idp, f"grant_type=refresh_token&client_id=demo-spa&refresh_token={t['refresh_token']}")
    out, how = read_all(s)
    assert out == b"" and how == "reset"
    e = last(idp, "token")
    assert e["delivery"] == "reset" and e["status"] == 200 and e["issued"] == ["at#2", "rt#2"]
    retry = idp.refresh(t["refresh_token"])
    assert retry.status == 400 and retry.json()["error"] == "invalid_grant"
    assert last(idp, "token")["reuse_detected"] is True


def test_hang_until_the_client_gives_up_server_keeps_serving(idp):
    t = idp.code_flow()
    add(idp, on_token({"type": "hang"}, times=1))
    s = raw_request(idp, f"grant_type=refresh_token&client_id=demo-spa&refresh_token={t['refresh_token']}",
                    timeout=0.3)
    out, how = read_all(s)
    assert out == b"" and how == "timeout"
    s.close()  # the client gives up
    assert idp.get("/jwks").status == 200
    assert idp.refresh(t["refresh_token"]).status == 200
    assert [e["delivery"] for e in idp.trace() if e.get("fault")] == ["hung"]


def test_clients_hanging_up_on_held_answers_free_their_connections(idp):
    """A client that gives up on a hung or delayed answer hangs up; the IdP must notice it
    although it reads nothing while it answers: else each such client keeps a descriptor
    (and, on a virtual clock, an in-flight count) until shutdown."""
    def open_fds():
        return len(os.listdir(f"/proc/{idp.proc.pid}/fd"))

    assert idp.get("/jwks").status == 200  # its own lazily made descriptors come first
    before = open_fds()
    add(idp, {"match": {"endpoint": "jwks"}, "action": {"type": "hang"}, "times": 15})
    add(idp, {"match": {"endpoint": "jwks"}, "action": {"type": "latency", "seconds": 600}})
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", idp.port))
        s.sendall(b"GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        deadline = time.monotonic() + 10
        while sum(e.get("delivery") in ("hung", "held") for e in idp.trace()) <= i:
            assert time.monotonic() < deadline, "the request never arrived"
        s.close()
    deadline = time.monotonic() + 10
    while open_fds() > before:
        assert time.monotonic() < deadline, f"{open_fds() - before} connections kept after their clients left"
    assert idp.get("/.well-known/openid-configuration").status == 200


def test_hung_request_ends_with_503_at_shutdown():
    idp = MockIdp()
    t = idp.code_flow()
    add(idp, on_token({"type": "hang"}))
    s = raw_request(idp, f"grant_type=refresh_token&client_id=demo-spa&refresh_token={t['refresh_token']}",
                    timeout=10)
    deadline = time.monotonic() + 5
    while not any(e.get("delivery") == "hung" for e in idp.trace()):  # arrived and held
        assert time.monotonic() < deadline
    assert idp.stop() == 0
    out, _ = read_all(s)
    assert out.startswith(b"HTTP/1.1 503") and b"server shutting down" in out


# -- malformed bodies ---------------------------------------------------------------------

def test_truncated_json(idp):
    t = idp.code_flow()
    add(idp, on_token({"type": "truncate"}))
    r = idp.post("/token", {"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                            "client_id": "demo-spa"})
    assert r.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.body)
    assert last(idp, "token")["fault"]["action"] == "truncate"


def test_proxy_html_502(idp):
    t = idp.code_flow()
    add(idp, on_token({"type": "html_502"}))
    r = idp.refresh(t["refresh_token"])
    assert r.status == 502 and r.header("Content-Type").startswith("text/html") and b"Bad Gateway" in r.body
    assert last(idp, "token")["status"] == 502
    add_state = idp.state()["grants"][0]["tokens"]
    assert {tok["id"]: tok["state"] for tok in add_state}["rt#1"] == "active", "a proxy error has no effect"


def test_wrong_content_type(idp):
    t = idp.code_flow()
    add(idp, on_token({"type": "content_type", "value": "text/plain"}))
    r = idp.refresh(t["refresh_token"])
    assert r.header("Content-Type") == "text/plain" and "access_token" in r.json()


# -- token response shape -----------------------------------------------------------------

@pytest.mark.parametrize("omit", [["refresh_token"], ["id_token"], ["expires_in"]])
def test_token_response_omits(idp, omit):
    t = idp.code_flow()
    add(idp, on_token({"type": "token_response", "omit": omit}))
    body = idp.refresh(t["refresh_token"]).json()
    assert omit[0] not in body and "access_token" in body


@pytest.mark.parametrize("field,value", [("expires_in", "3600"), ("expires_in", 0),
                                         ("expires_in", 10 ** 12), ("token_type", "mac"),
                                         ("scope", "openid")])
def test_token_response_sets(idp, field, value):
    t = idp.code_flow()
    add(idp, on_token({"type": "token_response", "set": {field: value}}))
    assert idp.refresh(t["refresh_token"]).json()[field] == value


def test_same_refresh_token_returned_and_old_one_stays_valid(idp):
    t = idp.code_flow()
    add(idp, on_token({"type": "token_response", "same_refresh_token": True}))
    for _ in range(2):
        r = idp.refresh(t["refresh_token"])
        assert r.status == 200 and r.json()["refresh_token"] == t["refresh_token"]
    assert last(idp, "token")["issued"] == ["at#3", "rt#1"]


# -- ID-token faults (verified by PyJWT against /jwks, never by the server) --------------------

def faulty_id_token(idp, fault, on_refresh=True):
    t = idp.code_flow(scope="openid profile offline_access", nonce="the-nonce")
    add(idp, {"match": {"endpoint": "token"}, "action": {"type": "id_token", "fault": fault}})
    if on_refresh:
        return idp.post("/token", {"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                                   "client_id": "demo-spa"}).json()["id_token"]
    code, verifier = idp.issue_code()
    return idp.post("/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                               "code_verifier": verifier, "client_id": "demo-spa"}).json()["id_token"]


def verify(idp, token):
    return idp.verify_id_token(token, "demo-spa")


@pytest.mark.parametrize("fault,exc", [
    ("unknown_kid", jwt.InvalidTokenError), ("bad_signature", jwt.InvalidSignatureError),
    ("wrong_aud", jwt.InvalidAudienceError), ("wrong_iss", jwt.InvalidIssuerError)])
def test_id_token_faults_a_verifier_rejects(idp, fault, exc):
    tok = faulty_id_token(idp, fault)
    with pytest.raises(exc):
        verify(idp, tok)
    assert last(idp, "token")["fault"]["action"] == "id_token"


def test_alg_none_and_hs256_with_public_key(idp):
    tok = faulty_id_token(idp, "alg_none")
    assert jwt.get_unverified_header(tok)["alg"] == "none" and tok.endswith(".")
    with pytest.raises(jwt.InvalidTokenError):
        verify(idp, tok)
    idp.control("DELETE", "faults")
    tok = faulty_id_token(idp, "hs256_public_key")
    assert jwt.get_unverified_header(tok)["alg"] == "HS256"
    with pytest.raises(jwt.InvalidTokenError):
        verify(idp, tok)
    # it really is HMAC keyed with our public key PEM: the attack a client must not fall for
    from cryptography.hazmat.primitives import serialization
    pem = idp.jwks().keys[0].key.public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64, hashlib, hmac
    head, payload, sig = tok.split(".")
    mac = hmac.new(pem, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == sig


@pytest.mark.parametrize("fault,check", [
    ("other_sub", lambda c, now: c["sub"] == "mallory"),
    ("add_azp", lambda c, now: c["azp"] == "demo-spa"),
    # the login was 100 s before: the changed auth_time is the token's own issue time
    ("auth_time_changed", lambda c, now: abs(c["auth_time"] - c["iat"]) <= 1),
    ("expired", lambda c, now: c["exp"] < now),
    ("iat_future", lambda c, now: c["iat"] > now + 3000),
    ("nonce_wrong", lambda c, now: c["nonce"] == "not-the-nonce-you-sent"),
    ("nonce_original", lambda c, now: c["nonce"] == "the-nonce"),
    ("bad_at_hash", lambda c, now: c["at_hash"] == "AAAAAAAAAAAAAAAAAAAAAA"),
])
def test_id_token_claim_faults_are_validly_signed(idp, fault, check):
    idp.advance(100)  # so that auth_time (login) and "now" differ
    tok = faulty_id_token(idp, fault)
    claims = verify(idp, tok)  # signature, iss and aud still good: the defect is the claim
    assert check(claims, idp.now()), claims


def test_id_token_fault_on_code_exchange(idp):
    tok = faulty_id_token(idp, "nonce_wrong", on_refresh=False)
    assert verify(idp, tok)["nonce"] == "not-the-nonce-you-sent"


def test_clock_skew_offsets_iat_and_exp(idp):
    t = idp.code_flow(scope="openid offline_access")
    add(idp, on_token({"type": "clock_skew", "seconds": -600}))
    r = idp.refresh(t["refresh_token"]).json()
    claims = verify(idp, r["id_token"])
    now = idp.now()
    assert now - 602 <= claims["iat"] <= now - 598 and claims["exp"] == claims["iat"] + 300
    at = jwt.decode(r["access_token"], options={"verify_signature": False})
    assert now - 602 <= at["iat"] <= now - 598


# -- endpoints failing ----------------------------------------------------------------------

def test_jwks_and_discovery_failing(idp):
    add(idp, {"match": {"endpoint": "jwks"}, "action": {"type": "status", "status": 500}})
    add(idp, {"match": {"endpoint": "discovery"}, "action": {"type": "html_502"}})
    assert idp.get("/jwks").status == 500
    assert idp.get("/.well-known/openid-configuration").status == 502


@pytest.mark.parametrize("action,status", [
    ({"type": "status", "status": 503, "error": "temporarily_unavailable"}, 503),
    ({"type": "status", "status": 400, "error": "unsupported_token_type"}, 400)])
def test_revocation_endpoint_faults(idp, action, status):
    t = idp.code_flow()
    add(idp, {"match": {"endpoint": "revoke"}, "action": action})
    r = idp.post("/revoke", {"token": t["refresh_token"], "client_id": "demo-spa"})
    assert r.status == status and r.json()["error"] == action["error"]
    assert idp.refresh(t["refresh_token"]).status == 200, "the failed revocation revoked nothing"


@pytest.mark.parametrize("mode", ["missing", "wrong"])
def test_cors_faults(idp, mode):
    add(idp, {"match": {"endpoint": "token"}, "action": {"type": "cors", "mode": mode}})
    r = idp.request("OPTIONS", "/token", headers={"Origin": "http://127.0.0.1:8080",
                                                 "Access-Control-Request-Method": "POST"})
    acao = r.header("Access-Control-Allow-Origin")
    assert acao is None if mode == "missing" else acao == "http://wrong-origin.invalid"


# -- authorize ------------------------------------------------------------------------------

def silent(idp, cookie, **extra):
    _, challenge = pkce_pair()
    return idp.authorize(cookie=cookie, client_id="demo-spa", redirect_uri=REDIRECT, response_type="code",
                         scope="openid", state="s", prompt="none", code_challenge=challenge,
                         code_challenge_method="S256", **extra)


def test_prompt_none_ignored_renders_login_page(idp):
    cookie = idp.login()
    add(idp, {"match": {"endpoint": "authorize"}, "action": {"type": "prompt_none_ignored"}})
    r = silent(idp, cookie)
    assert r.status == 200 and "Sign in" in r.text and r.header("Location") is None
    e = last(idp, "authorize")
    assert e["fault"]["action"] == "prompt_none_ignored" and e["status"] == 200


@pytest.mark.parametrize("error", ["interaction_required", "consent_required",
                                   "account_selection_required", "login_required"])
def test_authorize_error_on_demand(idp, error):
    cookie = idp.login()
    add(idp, {"match": {"endpoint": "authorize"}, "action": {"type": "authorize_error", "error": error}})
    q = redirect_params(silent(idp, cookie))
    assert q["error"] == error and q["state"] == "s"
    assert last(idp, "authorize")["error"] == error


@pytest.mark.parametrize("header,name,value", [("xfo", "X-Frame-Options", "DENY"),
                                               ("csp", "Content-Security-Policy", "frame-ancestors 'none'")])
def test_frame_deny_on_html_pages_only(idp, header, name, value):
    add(idp, {"match": {"endpoint": "authorize"}, "action": {"type": "frame_deny", "header": header}})
    _, challenge = pkce_pair()
    page = idp.authorize(client_id="demo-spa", redirect_uri=REDIRECT, response_type="code", scope="openid",
                         code_challenge=challenge, code_challenge_method="S256")
    assert page.status == 200 and page.header(name) == value
    redirect = silent(idp, idp.login())
    assert redirect.status == 302 and redirect.header(name) is None


def test_frame_deny_only_on_the_redirect(idp):
    add(idp, {"match": {"endpoint": "authorize"},
              "action": {"type": "frame_deny", "header": "xfo", "only_redirect": True}})
    redirect = silent(idp, idp.login())
    assert redirect.status == 302 and redirect.header("X-Frame-Options") == "DENY"
    # an answer of /authorize that is no redirect (here an error page) does not get it; the
    # login page refuses framing by itself (clickjacking), once
    page = idp.authorize(client_id="demo-spa", redirect_uri=REDIRECT + "/other", response_type="code",
                         scope="openid", code_challenge=pkce_pair()[1], code_challenge_method="S256")
    assert page.status == 400 and page.header("X-Frame-Options") is None
    login = idp.authorize(client_id="demo-spa", redirect_uri=REDIRECT, response_type="code", scope="openid",
                          code_challenge=pkce_pair()[1], code_challenge_method="S256")
    assert login.headers_named("X-Frame-Options") == ["DENY"]


def test_error_page_navigates_top(idp):
    add(idp, {"match": {"endpoint": "authorize"}, "action": {"type": "error_page_top"}})
    r = silent(idp, None)
    assert r.status == 200 and r.header("Location") is None
    assert 'target="_top"' in r.text and "window.top.location" in r.text
    assert "error=login_required" in r.text


def test_session_lost_then_login_required(idp):
    cookie = idp.login()
    add(idp, {"match": {"endpoint": "authorize"}, "action": {"type": "session_lost"}, "times": 1})
    assert redirect_params(silent(idp, cookie))["error"] == "login_required"
    assert idp.state()["sessions"] == []


def test_session_switched_to_another_user(idp):
    alice = idp.code_flow(scope="openid")
    cookie = idp.login("alice")
    add(idp, {"match": {"endpoint": "authorize"}, "action": {"type": "session_switch", "sub": "bob"},
              "times": 1})
    q = redirect_params(silent(idp, cookie, id_token_hint=alice["id_token"]))
    assert q["error"] == "login_required"
    by_label = {s["session"]: s["sub"] for s in idp.state()["sessions"]}
    assert by_label == {"sess#1": "alice", "sess#2": "bob"}
    assert last(idp, "authorize")["sub"] == "bob"


# -- grants and sessions ended by an administrator -------------------------------------------

def test_revoke_grant_action_before_the_refresh(idp):
    t = idp.code_flow()
    add(idp, on_token({"type": "revoke_grant"}, times=1))
    r = idp.refresh(t["refresh_token"])
    assert r.status == 400 and r.json()["error"] == "invalid_grant"
    assert idp.state()["grants"][0]["revoked_reason"] == "grant revoked by an administrator"


def test_admin_revokes_grants_and_ends_sessions(idp):
    a = idp.code_flow(sub="alice")
    b = idp.code_flow(sub="bob")
    r = idp.control("POST", "grants/revoke", {"sub": "alice"})
    assert r.json() == {"revoked": ["f#1"]}
    assert idp.refresh(a["refresh_token"]).status == 400
    assert idp.refresh(b["refresh_token"]).status == 200
    resource = idp.get("/resource", headers={"Authorization": "Bearer " + a["access_token"]})
    assert resource.status == 401
    ended = idp.control("POST", "sessions/end", {}).json()["ended"]
    assert sorted(ended) == ["sess#1", "sess#2"] and idp.state()["sessions"] == []


def test_id_token_without_kid_is_validly_signed(idp):
    tok = faulty_id_token(idp, "kid_absent")
    header = jwt.get_unverified_header(tok)
    assert "kid" not in header and header["alg"] == "RS256"
    key = idp.jwks().keys[0]  # the only key: the token verifies with it
    assert jwt.decode(tok, key=key.key, algorithms=["RS256"], audience="demo-spa",
                      options={"verify_exp": False, "verify_iat": False})["sub"] == "alice"


def test_sigterm_drains_answers_due_before_the_deadline():
    """An answer held 0.5 s is still delivered after SIGTERM (drain), not cut to 503."""
    idp = MockIdp()
    t = idp.code_flow()
    add(idp, on_token({"type": "latency", "seconds": 0.5}))
    s = raw_request(idp, f"grant_type=refresh_token&client_id=demo-spa&refresh_token={t['refresh_token']}",
                    timeout=10)
    deadline = time.monotonic() + 5
    while not any(e.get("delivery") == "held" for e in idp.trace()):
        assert time.monotonic() < deadline
    idp.proc.send_signal(signal.SIGTERM)
    out, _ = read_all(s)
    assert out.startswith(b"HTTP/1.1 200") and b"access_token" in out
    assert idp.proc.wait(timeout=10) == 0
