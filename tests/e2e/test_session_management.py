"""OpenID Connect Session Management on the mock IdP (session_state, check_session_iframe)
and the authorize faults the browser scenarios use (wrong_state, redirect_page), over HTTP."""
import base64
import hashlib
import urllib.parse

from conftest import pkce_pair, redirect_params

APP = "http://127.0.0.1:8080"


def silent(idp, cookie, **extra):
    _, challenge = pkce_pair()
    params = dict(client_id="demo-spa", redirect_uri=APP + "/callback", response_type="code",
                  scope="openid", state="s-1", code_challenge=challenge,
                  code_challenge_method="S256", prompt="none")
    params.update(extra)
    return idp.authorize(cookie=cookie, **params)


def status(idp, cookie, session_state, origin=APP, client_id="demo-spa"):
    q = urllib.parse.urlencode({"client_id": client_id, "origin": origin,
                                "session_state": session_state})
    headers = {"Cookie": cookie} if cookie else {}
    r = idp.get("/check_session/status?" + q, headers=headers)
    assert r.status == 200, r.text
    return r.json()["status"]


def test_discovery_advertises_the_check_session_iframe(idp):
    d = idp.discovery()
    assert d["check_session_iframe"] == d["issuer"] + "/check_session"
    page = idp.get("/check_session")
    assert page.status == 200 and "postMessage" in page.text
    assert page.header("X-Frame-Options") is None  # the RP must be able to frame it


def test_session_state_follows_the_spec_formula(idp):
    cookie = idp.login()
    q = redirect_params(silent(idp, cookie))
    digest, salt = q["session_state"].rsplit(".", 1)
    secret = cookie.split("=", 1)[1]
    want = hashlib.sha256(f"demo-spa {APP} {secret} {salt}".encode()).digest()
    assert digest == base64.urlsafe_b64encode(want).rstrip(b"=").decode()


def test_check_session_says_unchanged_then_changed_after_logout_elsewhere(idp):
    cookie = idp.login()
    ss = redirect_params(silent(idp, cookie))["session_state"]
    assert status(idp, cookie, ss) == "unchanged"
    assert status(idp, cookie, ss, origin="http://evil.example") == "changed"
    assert status(idp, cookie, ss, client_id="demo-consent") == "changed"
    idp.control("POST", "sessions/end", {})
    assert status(idp, cookie, ss) == "changed"
    assert status(idp, None, ss) == "changed"


def test_check_session_refuses_a_malformed_session_state(idp):
    cookie = idp.login()
    for bad in ("no-dot", "x.", "a." + "s" * 40):
        assert status(idp, cookie, bad) == "error"
    trace = [e for e in idp.trace() if e["endpoint"] == "check_session"]
    assert [e["session_status"] for e in trace] == ["error"] * 3


def test_error_redirects_carry_no_session_state(idp):
    q = redirect_params(silent(idp, None))
    assert q["error"] == "login_required" and "session_state" not in q


def test_wrong_state_fault_changes_only_the_state(idp):
    idp.control("POST", "faults", {"match": {"endpoint": "authorize"},
                                   "action": {"type": "wrong_state"}})
    q = redirect_params(silent(idp, idp.login()))
    assert q["state"] != "s-1" and q["code"]


def test_redirect_page_fault_answers_with_a_framable_page_or_a_refused_one(idp):
    idp.control("POST", "faults", {"match": {"endpoint": "authorize"},
                                   "action": {"type": "redirect_page"}, "times": 1})
    cookie = idp.login()
    r = silent(idp, cookie)
    assert r.status == 200 and "location.replace" in r.text and "code=" in r.text
    assert r.header("X-Frame-Options") is None and r.header("Content-Security-Policy") is None
    for header, name, value in (("xfo", "X-Frame-Options", "DENY"),
                                ("csp", "Content-Security-Policy", "frame-ancestors 'none'")):
        idp.control("POST", "faults", {"match": {"endpoint": "authorize"}, "times": 1,
                                       "action": {"type": "redirect_page", "deny_framing": header}})
        r = silent(idp, cookie)
        assert r.status == 200 and r.header(name) == value


def test_redirect_page_fault_rejects_an_unknown_header(idp):
    r = idp.control("POST", "faults", {"action": {"type": "redirect_page", "deny_framing": "x"}})
    assert r.status == 400 and "/action/deny_framing" in r.json()["error"]
