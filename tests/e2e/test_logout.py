"""RP-initiated logout at /end_session."""
from conftest import pkce_pair, redirect_params, spa_config

REDIRECT = "http://127.0.0.1:8080/callback"


def silent_error(idp, cookie, client_id="demo-spa"):
    _, challenge = pkce_pair()
    r = idp.authorize(cookie=cookie, client_id=client_id, redirect_uri=REDIRECT, response_type="code",
                      scope="openid", prompt="none", code_challenge=challenge, code_challenge_method="S256")
    return redirect_params(r).get("error")


def test_end_session_with_hint_redirects_with_state_and_ends_session(idp):
    cookie = idp.login()
    t = idp.code_flow(cookie=cookie, scope="openid")
    r = idp.get("/end_session?" + "&".join([
        "id_token_hint=" + t["id_token"],
        "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2F", "state=bye"]),
        headers={"Cookie": cookie})
    assert r.status == 302 and r.header("Location") == "http://127.0.0.1:8080/?state=bye"
    assert "Max-Age=0" in r.header("Set-Cookie")
    assert silent_error(idp, cookie) == "login_required"
    assert idp.state()["sessions"] == []
    assert idp.trace()[-2]["ended_session"] == "sess#1"


def test_unregistered_post_logout_uri_is_refused(idp):
    cookie = idp.login()
    t = idp.code_flow(cookie=cookie, scope="openid")
    r = idp.get("/end_session?id_token_hint=" + t["id_token"] +
                "&post_logout_redirect_uri=http%3A%2F%2Fevil.example%2F", headers={"Cookie": cookie})
    assert r.status == 400 and r.header("Location") is None
    assert silent_error(idp, cookie) is None, "a refused logout must not end the session"


def test_forged_hint_is_refused(idp):
    r = idp.get("/end_session?id_token_hint=eyJhbGciOiJub25lIn0.eyJhdWQiOiJkZW1vLXNwYSJ9.")
    assert r.status == 400


def test_end_session_without_parameters_shows_signed_out_page(idp):
    cookie = idp.login()
    r = idp.get("/end_session", headers={"Cookie": cookie})
    assert r.status == 200 and "signed out" in r.text
    assert silent_error(idp, cookie) == "login_required"


def test_end_session_revokes_grants_when_configured(start_idp):
    idp = start_idp(config=spa_config(end_session_revokes=True))
    cookie = idp.login()
    t = idp.code_flow(client_id="spa", cookie=cookie)
    idp.get("/end_session?client_id=spa", headers={"Cookie": cookie})
    assert idp.refresh(t["refresh_token"], client_id="spa").json()["error"] == "invalid_grant"
    assert idp.state()["grants"][0]["revoked_reason"] == "session ended (end_session)"


def test_end_session_keeps_grants_by_default(idp):
    cookie = idp.login()
    t = idp.code_flow(cookie=cookie)
    idp.get("/end_session?client_id=demo-spa", headers={"Cookie": cookie})
    assert idp.refresh(t["refresh_token"]).status == 200
