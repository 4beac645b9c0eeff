"""prompt=none outcomes (OIDC Core §3.1.2.6): every error is a redirect with state."""
from conftest import pkce_pair, redirect_params

REDIRECT = "http://127.0.0.1:8080/callback"


def silent(idp, cookie=None, client_id="demo-spa", **extra):
    _, challenge = pkce_pair()
    r = idp.authorize(cookie=cookie, client_id=client_id, redirect_uri=REDIRECT, response_type="code",
                      scope="openid", state="silent-1", nonce="n", prompt="none",
                      code_challenge=challenge, code_challenge_method="S256", **extra)
    assert r.status == 302, f"prompt=none must never render a page: {r.status} {r.text[:200]}"
    q = redirect_params(r)
    assert q["state"] == "silent-1" and q["iss"] == idp.issuer
    return q


def test_no_session_is_login_required(idp):
    assert silent(idp)["error"] == "login_required"
    entry = idp.trace()[-1]
    assert entry["endpoint"] == "authorize" and entry["error"] == "login_required"
    assert entry["session_cookie"] is False and entry["prompt"] == "none"


def test_session_gives_a_code_silently(idp):
    cookie = idp.login()
    q = silent(idp, cookie=cookie)
    assert "code" in q and "error" not in q
    assert idp.trace()[-1]["session_cookie"] is True


def test_unknown_or_expired_session_is_login_required(idp):
    assert silent(idp, cookie="mockidp_session=forged")["error"] == "login_required"
    cookie = idp.login()
    idp.advance(86401)
    assert silent(idp, cookie=cookie)["error"] == "login_required"


def test_consent_missing_is_consent_required(idp):
    cookie = idp.login()
    assert silent(idp, cookie=cookie, client_id="demo-consent")["error"] == "consent_required"
    cookie2 = idp.login(consent=["demo-consent"])
    assert "code" in silent(idp, cookie=cookie2, client_id="demo-consent")


def test_max_age_exceeded_is_login_required(idp):
    cookie = idp.login()
    idp.advance(100)
    assert "code" in silent(idp, cookie=cookie, max_age="200")
    assert silent(idp, cookie=cookie, max_age="50")["error"] == "login_required"


def test_id_token_hint_of_another_user_is_login_required(idp):
    bob_tokens = idp.code_flow(sub="bob", scope="openid")
    alice = idp.login("alice")
    q = silent(idp, cookie=alice, id_token_hint=bob_tokens["id_token"])
    assert q["error"] == "login_required"
    alice_tokens = idp.code_flow(sub="alice", scope="openid", cookie=alice)
    assert "code" in silent(idp, cookie=alice, id_token_hint=alice_tokens["id_token"])


def test_prompt_none_with_other_values_is_invalid(idp):
    cookie = idp.login()
    _, challenge = pkce_pair()
    r = idp.authorize(cookie=cookie, client_id="demo-spa", redirect_uri=REDIRECT, response_type="code",
                      scope="openid", prompt="none login", code_challenge=challenge,
                      code_challenge_method="S256")
    assert redirect_params(r)["error"] == "invalid_request"


def test_prompt_login_forces_the_form_even_with_a_session(idp):
    cookie = idp.login()
    _, challenge = pkce_pair()
    r = idp.authorize(cookie=cookie, client_id="demo-spa", redirect_uri=REDIRECT, response_type="code",
                      scope="openid", prompt="login", code_challenge=challenge,
                      code_challenge_method="S256")
    assert r.status == 200 and "Sign in" in r.text


def test_mock_login_get_sets_cookie_and_redirects(idp):
    r = idp.get("/_mock/login?sub=bob&return_to=http%3A%2F%2F127.0.0.1%3A8080%2Fapp")
    assert r.status == 302 and r.header("Location") == "http://127.0.0.1:8080/app"
    cookie = r.header("Set-Cookie").split(";")[0]
    assert "code" in silent(idp, cookie=cookie)
    assert idp.state()["sessions"][0]["sub"] == "bob"


def test_a_client_may_require_the_latest_id_token_as_hint(idp):
    """require_id_token_hint_for_prompt_none (as some IdPs insist): no hint, or an ID token
    that is not the newest issued to that user and client, is invalid_request; the newest
    gives a code, and the ID token that code brings becomes the newest in turn."""
    assert idp.control("PATCH", "clients/demo-spa", {"require_id_token_hint_for_prompt_none": True}).status == 200
    cookie = idp.login()
    first = idp.code_flow(sub="alice", scope="openid", cookie=cookie)["id_token"]
    refused = silent(idp, cookie=cookie)
    assert refused["error"] == "invalid_request" and "required" in refused["error_description"]
    assert "id_token_hint" not in idp.trace()[-1]
    q = silent(idp, cookie=cookie, id_token_hint=first)
    assert "code" in q, q
    assert idp.trace()[-1]["id_token_hint"] is True  # its presence only, never its value
    second = idp.code_flow(sub="alice", scope="openid", cookie=cookie)["id_token"]
    stale = silent(idp, cookie=cookie, id_token_hint=first)
    assert stale["error"] == "invalid_request" and "latest" in stale["error_description"]
    assert "code" in silent(idp, cookie=cookie, id_token_hint=second)
    # without the setting any hint of this user will do, as before
    assert idp.control("PATCH", "clients/demo-spa", {"require_id_token_hint_for_prompt_none": False}).status == 200
    assert "code" in silent(idp, cookie=cookie, id_token_hint=first)
    assert "code" in silent(idp, cookie=cookie)
