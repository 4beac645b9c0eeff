"""Revocation (RFC 7009), introspection (RFC 7662), UserInfo and the demo resource (RFC 6750)."""
BACKEND = {"Authorization": "Basic ZGVtby1iYWNrZW5kOmRlbW8tc2VjcmV0"}


def introspect(idp, token):
    r = idp.post("/introspect", {"token": token}, headers=BACKEND)
    assert r.status == 200, r.text
    return r.json()


def test_revoking_refresh_token_revokes_family_and_access_tokens(idp):
    t = idp.code_flow()
    assert introspect(idp, t["access_token"])["active"] is True
    r = idp.post("/revoke", {"token": t["refresh_token"], "token_type_hint": "refresh_token",
                             "client_id": "demo-spa"})
    assert r.status == 200 and r.body == b""
    assert introspect(idp, t["access_token"]) == {"active": False}
    assert introspect(idp, t["refresh_token"]) == {"active": False}
    assert idp.refresh(t["refresh_token"]).json()["error"] == "invalid_grant"
    entry = idp.trace()[-4]
    assert entry["endpoint"] == "revoke" and entry["presented"] == "rt#1" and entry["family"] == "f#1"


def test_revoking_access_token_keeps_the_refresh_token(idp):
    t = idp.code_flow()
    assert idp.post("/revoke", {"token": t["access_token"], "client_id": "demo-spa"}).status == 200
    assert introspect(idp, t["access_token"])["active"] is False
    assert idp.refresh(t["refresh_token"]).status == 200


def test_unknown_token_revocation_is_200(idp):
    r = idp.post("/revoke", {"token": "never-issued", "client_id": "demo-spa"})
    assert r.status == 200


def test_revocation_needs_client_and_token(idp):
    r = idp.post("/revoke", {"token": "x"})
    assert r.status == 401 and r.json()["error"] == "invalid_client"
    r = idp.post("/revoke", {"client_id": "demo-spa"})
    assert r.status == 400 and r.json()["error"] == "invalid_request"


def test_cannot_revoke_another_clients_token(idp):
    t = idp.code_flow()
    r = idp.post("/revoke", {"token": t["refresh_token"]}, headers=BACKEND)
    assert r.status == 400 and r.json()["error"] == "unauthorized_client"
    assert idp.refresh(t["refresh_token"]).status == 200


def test_introspection_across_a_clock_advance(idp):
    t = idp.code_flow()
    info = introspect(idp, t["access_token"])
    assert info["active"] and info["sub"] == "alice" and info["client_id"] == "demo-spa"
    assert info["token_type"] == "Bearer" and info["exp"] - info["iat"] == 300
    rt = introspect(idp, t["refresh_token"])
    assert rt["active"] and rt["token_type"] == "refresh_token"
    idp.advance(299)
    assert introspect(idp, t["access_token"])["active"] is True
    idp.advance(2)
    assert introspect(idp, t["access_token"]) == {"active": False}
    assert introspect(idp, t["refresh_token"])["active"] is True  # one day absolute lifetime
    idp.advance(86400)
    assert introspect(idp, t["refresh_token"]) == {"active": False}


def test_introspection_needs_a_confidential_client(idp):
    t = idp.code_flow()
    r = idp.post("/introspect", {"token": t["access_token"], "client_id": "demo-spa"})
    assert r.status == 401 and r.json()["error"] == "invalid_client"


def test_userinfo_and_bearer_errors(idp):
    t = idp.code_flow(scope="openid profile")
    ok = idp.get("/userinfo", headers={"Authorization": "Bearer " + t["access_token"]})
    assert ok.status == 200 and ok.json() == {"sub": "alice", "name": "Alice Example"}
    none = idp.get("/userinfo")
    assert none.status == 401 and none.header("WWW-Authenticate") == 'Bearer realm="mock-idp"'
    bad = idp.get("/userinfo", headers={"Authorization": "Bearer nope"})
    assert bad.status == 401 and 'error="invalid_token"' in bad.header("WWW-Authenticate")
    malformed = idp.get("/userinfo", headers={"Authorization": "Token abc"})
    assert malformed.status == 400
    cc = idp.post("/token", {"grant_type": "client_credentials"}, headers=BACKEND).json()
    noscope = idp.get("/userinfo", headers={"Authorization": "Bearer " + cc["access_token"]})
    assert noscope.status == 403 and 'error="insufficient_scope"' in noscope.header("WWW-Authenticate")


def test_demo_resource_401_expired_401_revoked_403_scope(idp):
    t = idp.code_flow(scope="openid offline_access api")
    auth = {"Authorization": "Bearer " + t["access_token"]}
    assert idp.get("/resource", headers=auth).json()["ok"] is True
    admin = idp.get("/resource/admin", headers=auth)
    assert admin.status == 403 and 'scope="admin"' in admin.header("WWW-Authenticate")
    no_api = idp.code_flow(scope="openid")
    r = idp.get("/resource", headers={"Authorization": "Bearer " + no_api["access_token"]})
    assert r.status == 403
    idp.post("/revoke", {"token": t["refresh_token"], "client_id": "demo-spa"})
    revoked = idp.get("/resource", headers=auth)
    assert revoked.status == 401 and "revoked" in revoked.json()["error_description"]
    fresh = idp.code_flow(scope="openid api")
    idp.advance(301)
    expired = idp.get("/resource", headers={"Authorization": "Bearer " + fresh["access_token"]})
    assert expired.status == 401 and "expired" in expired.json()["error_description"]
    assert "/resource" not in str(idp.discovery())


def test_the_revocation_answer_has_no_body_and_no_content_type(idp):
    # RFC 7009 §2.2: the client ignores the body; a stray "text/html" made oidc-client-ts
    # throw before it revoked the refresh token (found by the oidc-client-ts target)
    r = idp.post("/revoke", {"token": "unknown", "client_id": "demo-spa"})
    assert r.status == 200 and r.body == b"" and r.header("Content-Type") is None
