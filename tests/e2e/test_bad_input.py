"""Bad input: each gets the RFC's error, and a valid request right after still succeeds."""

import pytest
from conftest import raw_exchange

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def still_serves(idp):
    t = idp.code_flow()
    assert idp.refresh(t["refresh_token"]).status == 200


@pytest.mark.parametrize("body,fragment", [
    ("grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=demo-spa",
     "more than once: refresh_token"),
    ("grant_type=refresh_token&grant_type=refresh_token&client_id=demo-spa", "more than once"),
    ("grant_type=refresh_token&refresh_token=%zz&client_id=demo-spa", "percent-encoding"),
    ("grant_type=refresh_token&refresh_token=%4&client_id=demo-spa", "percent-encoding"),
    ("grant_type=refresh_token&refresh_token=abc%00def&client_id=demo-spa", "control character"),
    ("grant_type=refresh_token&refresh_token=a%0Db&client_id=demo-spa", "control character"),
    ("grant_type=refresh_token&refresh_token=%C3%28&client_id=demo-spa", "UTF-8"),
    ("grant_type=refresh_token&refresh_token=%ED%A0%80&client_id=demo-spa", "UTF-8"),  # surrogate
    ("grant_type=refresh_token&refresh_token=%C0%AF&client_id=demo-spa", "UTF-8"),  # overlong
])
def test_malformed_form_bodies_are_invalid_request(idp, body, fragment):
    r = idp.post("/token", body, headers=FORM)
    assert r.status == 400
    assert r.json()["error"] == "invalid_request"
    assert fragment in r.json()["error_description"]
    assert r.header("Cache-Control") == "no-store"
    still_serves(idp)


def test_nul_never_truncates_a_value_into_a_match(idp):
    t = idp.code_flow()
    rt = t["refresh_token"]
    r = idp.post("/token", f"grant_type=refresh_token&client_id=demo-spa&refresh_token={rt}%00junk",
                 headers=FORM)
    assert r.status == 400 and r.json()["error"] == "invalid_request"
    r = idp.post("/token", "grant_type=refresh_token&client_id=demo-spa%00x&refresh_token=" + rt,
                 headers=FORM)
    assert r.status == 400
    assert idp.refresh(rt).status == 200, "the real token was not consumed by the bad requests"


def test_raw_invalid_utf8_in_body(idp):
    r = idp.post("/token", b"grant_type=refresh_token&refresh_token=\xff\xfe&client_id=demo-spa",
                 headers=FORM)
    assert r.status == 400 and r.json()["error"] == "invalid_request"
    still_serves(idp)


def test_duplicate_query_parameters_at_authorize(idp):
    r = idp.get("/authorize?client_id=demo-spa&client_id=demo-consent&response_type=code")
    assert r.status == 400 and r.json()["error"] == "invalid_request"
    still_serves(idp)


@pytest.mark.parametrize("ctype", [None, "application/json", "text/plain",
                                   "application/x-www-form-urlencodedX"])
def test_wrong_content_type_at_token_endpoint(idp, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    r = idp.post("/token", "grant_type=client_credentials", headers=headers)
    assert r.status == 400 and r.json()["error"] == "invalid_request"
    assert "Content-Type" in r.json()["error_description"]
    still_serves(idp)


def test_form_content_type_with_charset_is_accepted(idp):
    r = idp.post("/token", "grant_type=client_credentials&client_id=demo-backend&client_secret=demo-secret",
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert r.status == 200


def test_unknown_and_missing_grant_type(idp):
    r = idp.post("/token", {"grant_type": "password", "client_id": "demo-spa"})
    assert r.status == 400 and r.json()["error"] == "unsupported_grant_type"
    r = idp.post("/token", {"client_id": "demo-spa"})
    assert r.status == 400 and r.json()["error"] == "invalid_request"
    still_serves(idp)


def test_get_on_token_endpoint_is_405(idp):
    r = idp.get("/token?grant_type=client_credentials")
    assert r.status == 405 and r.json()["error"] == "invalid_request" and "POST" in r.header("Allow")


@pytest.mark.parametrize("auth", ["Basic !!!notbase64", "Basic ", "Basic Zm9v",  # "foo": no colon
                                  "Basic " + "A" * 3000])
def test_malformed_basic_credentials(idp, auth):
    r = idp.post("/token", {"grant_type": "client_credentials"}, headers={"Authorization": auth})
    assert r.status == 401 and r.json()["error"] == "invalid_client"
    still_serves(idp)


def test_foreign_and_bogus_tokens(idp):
    foreign_jwt = ("eyJhbGciOiJSUzI1NiIsImtpZCI6ImZvcmVpZ24ifQ.eyJzdWIiOiJhbGljZSJ9."
                   "c2lnbmF0dXJl")
    for tok in [foreign_jwt, "x" * 5000, "eyJhbGciOiJub25lIn0.e30."]:
        assert idp.refresh(tok).json()["error"] == "invalid_grant"
        assert idp.get("/userinfo", headers={"Authorization": "Bearer " + tok}).status == 401
        r = idp.post("/introspect", {"token": tok},
                     headers={"Authorization": "Basic ZGVtby1iYWNrZW5kOmRlbW8tc2VjcmV0"})
        assert r.json() == {"active": False}
    still_serves(idp)


def test_too_many_parameters(idp):
    body = "&".join(f"p{i}=x" for i in range(100))
    r = idp.post("/token", body, headers=FORM)
    assert r.status == 400 and "too many" in r.json()["error_description"]


def test_oversized_body_gets_413_from_libevent(idp):
    r = idp.post("/token", "a=" + "b" * 70000, headers=FORM)
    assert r.status == 413
    still_serves(idp)


def test_oversized_headers_get_400_from_libevent(idp):
    out = raw_exchange(idp, b"GET /jwks HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
                       b"\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")
    still_serves(idp)


def test_garbage_request_line(idp):
    out = raw_exchange(idp, b"\x00\x01GARBAGE \xff\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")
    still_serves(idp)


def test_unknown_path_is_404_json(idp):
    r = idp.get("/nope")
    assert r.status == 404 and r.json()["error"] == "not_found"


def test_login_form_with_unknown_interaction(idp):
    r = idp.post("/login", {"interaction": "nope", "username": "alice", "password": "alice"})
    assert r.status == 400 and r.header("Set-Cookie") is None
    r = idp.get("/login")
    assert r.status == 400
    still_serves(idp)
