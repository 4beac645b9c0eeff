"""Refresh-token grant: rotation, reuse detection, grace window, lifetimes, scope, §12.2."""
import pytest

from conftest import spa_config


def labels(trace, endpoint="token"):
    return [e for e in trace if e["endpoint"] == endpoint]


def test_rotation_issues_a_new_refresh_token_and_old_one_is_rotated(idp):
    t = idp.code_flow()
    r = idp.refresh(t["refresh_token"])
    assert r.status == 200, r.text
    n = r.json()
    assert n["refresh_token"] != t["refresh_token"] and n["access_token"] != t["access_token"]
    assert r.header("Cache-Control") == "no-store"
    states = {tok["id"]: tok["state"] for tok in idp.state()["grants"][0]["tokens"]}
    assert states["rt#1"] == "rotated" and states["rt#2"] == "active"
    entry = labels(idp.trace())[-1]
    assert entry["grant_type"] == "refresh_token" and entry["presented"] == "rt#1"
    assert entry["issued"] == ["at#2", "rt#2"] and entry["family"] == "f#1"


def test_reuse_of_rotated_token_revokes_the_whole_family(idp):
    t = idp.code_flow()
    n = idp.refresh(t["refresh_token"]).json()
    reuse = idp.refresh(t["refresh_token"])
    assert reuse.status == 400 and reuse.json()["error"] == "invalid_grant"
    # the newest token of the family died with it, and so did the access tokens
    assert idp.refresh(n["refresh_token"]).json()["error"] == "invalid_grant"
    intro = idp.post("/introspect", {"token": n["access_token"]},
                     headers={"Authorization": "Basic ZGVtby1iYWNrZW5kOmRlbW8tc2VjcmV0"})
    assert intro.json() == {"active": False}
    grant = idp.state()["grants"][0]
    assert grant["revoked"] and grant["revoked_reason"] == "refresh token reuse detected"
    assert all(tok["state"] == "revoked" for tok in grant["tokens"])
    reuse_entry = [e for e in labels(idp.trace()) if e.get("reuse_detected")]
    assert len(reuse_entry) == 1 and reuse_entry[0]["presented"] == "rt#1"


def test_rotation_without_reuse_detection_refuses_old_token_but_keeps_family(start_idp):
    idp = start_idp(config=spa_config(refresh={"reuse_detection": False}))
    t = idp.code_flow(client_id="spa")
    n = idp.refresh(t["refresh_token"], client_id="spa").json()
    assert idp.refresh(t["refresh_token"], client_id="spa").json()["error"] == "invalid_grant"
    assert idp.refresh(n["refresh_token"], client_id="spa").status == 200


def test_reuse_grace_window(start_idp):
    idp = start_idp(config=spa_config(refresh={"reuse_grace": 5}))
    t = idp.code_flow(client_id="spa")
    assert idp.refresh(t["refresh_token"], client_id="spa").status == 200
    idp.advance(3)
    again = idp.refresh(t["refresh_token"], client_id="spa")
    assert again.status == 200, "within the grace window a rotated token still works"
    assert labels(idp.trace())[-1].get("reuse_within_grace") is True
    idp.advance(3)
    late = idp.refresh(t["refresh_token"], client_id="spa")
    assert late.json()["error"] == "invalid_grant"
    assert idp.state()["grants"][0]["revoked"]


def test_non_rotating_client_omits_refresh_token_and_old_one_stays_valid(start_idp):
    idp = start_idp(config=spa_config(refresh={"rotation": False}))
    t = idp.code_flow(client_id="spa")
    for _ in range(3):
        r = idp.refresh(t["refresh_token"], client_id="spa")
        assert r.status == 200 and "refresh_token" not in r.json()


def test_absolute_lifetime_is_not_extended_by_rotation(start_idp):
    idp = start_idp(config=spa_config(refresh={"absolute_lifetime": 100}))
    rt = idp.code_flow(client_id="spa")["refresh_token"]
    for _ in range(3):
        idp.advance(30)
        r = idp.refresh(rt, client_id="spa")
        assert r.status == 200
        rt = r.json()["refresh_token"]
    idp.advance(11)  # 101 s after the grant
    r = idp.refresh(rt, client_id="spa")
    assert r.status == 400 and "absolute" in r.json()["error_description"]


def test_idle_lifetime(start_idp):
    idp = start_idp(config=spa_config(refresh={"idle_lifetime": 60, "rotation": False}))
    rt = idp.code_flow(client_id="spa")["refresh_token"]
    idp.advance(59)
    assert idp.refresh(rt, client_id="spa").status == 200  # use resets the idle window
    idp.advance(59)
    assert idp.refresh(rt, client_id="spa").status == 200
    idp.advance(60)
    r = idp.refresh(rt, client_id="spa")
    assert r.json()["error"] == "invalid_grant" and "idle" in r.json()["error_description"]


def test_offline_access_required(start_idp):
    idp = start_idp(config=spa_config(refresh={"require_offline_access": True}))
    without = idp.code_flow(client_id="spa", scope="openid")
    assert "refresh_token" not in without
    with_it = idp.code_flow(client_id="spa", scope="openid offline_access")
    assert "refresh_token" in with_it


def test_client_that_gets_no_refresh_tokens(start_idp):
    idp = start_idp(config=spa_config(refresh={"issue": False}))
    assert "refresh_token" not in idp.code_flow(client_id="spa")


def test_scope_narrowing_on_refresh(idp):
    t = idp.code_flow(scope="openid profile offline_access api")
    r = idp.refresh(t["refresh_token"], scope="openid api")
    assert r.status == 200 and r.json()["scope"] == "openid api"
    intro = idp.post("/introspect", {"token": r.json()["access_token"]},
                     headers={"Authorization": "Basic ZGVtby1iYWNrZW5kOmRlbW8tc2VjcmV0"}).json()
    assert intro["scope"] == "openid api"
    # the grant keeps its original scope: the next refresh may ask for all of it again
    full = idp.refresh(r.json()["refresh_token"])
    assert full.json()["scope"] == "openid profile offline_access api"
    wider = idp.refresh(full.json()["refresh_token"], scope="openid email")
    assert wider.status == 400 and wider.json()["error"] == "invalid_scope"


def test_refreshed_id_token_follows_oidc_core_12_2(idp):
    t = idp.code_flow()
    first = idp.verify_id_token(t["id_token"], "demo-spa")
    idp.advance(120)
    n = idp.refresh(t["refresh_token"]).json()
    second = idp.verify_id_token(n["id_token"], "demo-spa")
    assert second["iss"] == first["iss"] and second["sub"] == first["sub"]
    assert second["aud"] == first["aud"]
    assert second["auth_time"] == first["auth_time"], "auth_time is the original authentication"
    assert second["iat"] >= first["iat"] + 120
    assert "nonce" not in second and "azp" not in second


def test_refresh_token_bound_to_its_client(idp):
    t = idp.code_flow()
    r = idp.post("/token", {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]},
                 headers={"Authorization": "Basic ZGVtby1iYWNrZW5kOmRlbW8tc2VjcmV0"})
    assert r.status == 400 and r.json()["error"] == "invalid_grant"


def test_unknown_client_and_wrong_auth_get_invalid_client_401(idp):
    t = idp.code_flow()
    r = idp.refresh(t["refresh_token"], client_id="who")
    assert r.status == 401 and r.json()["error"] == "invalid_client"
    assert r.header("WWW-Authenticate")
    r = idp.refresh(t["refresh_token"], client_secret="x")  # public client with a secret
    assert r.status == 401


def test_expired_access_token_after_clock_advance_but_refresh_works(idp):
    t = idp.code_flow()
    idp.advance(301)
    r = idp.get("/userinfo", headers={"Authorization": "Bearer " + t["access_token"]})
    assert r.status == 401 and 'error="invalid_token"' in r.header("WWW-Authenticate")
    n = idp.refresh(t["refresh_token"]).json()
    assert idp.get("/userinfo", headers={"Authorization": "Bearer " + n["access_token"]}).status == 200


@pytest.mark.parametrize("rt", ["", "bogus", "eyJhbGciOiJub25lIn0.e30."])
def test_bogus_refresh_tokens(idp, rt):
    r = idp.refresh(rt)
    assert r.status == 400 and r.json()["error"] == "invalid_grant"
    assert idp.get("/.well-known/openid-configuration").status == 200
