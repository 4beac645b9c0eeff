"""CORS for browser clients, with real preflight requests."""
APP = "http://127.0.0.1:8080"


def preflight(idp, path, origin, method="POST"):
    return idp.request("OPTIONS", path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type, authorization"})


def test_preflight_for_token_endpoint_from_registered_origin(idp):
    r = preflight(idp, "/token", APP)
    assert r.status == 204
    assert r.header("Access-Control-Allow-Origin") == APP
    assert "POST" in r.header("Access-Control-Allow-Methods")
    assert "Content-Type" in r.header("Access-Control-Allow-Headers")
    assert "Authorization" in r.header("Access-Control-Allow-Headers")
    assert r.header("Vary") == "Origin"
    assert r.header("Access-Control-Allow-Credentials") is None


def test_actual_request_echoes_origin_never_wildcard(idp):
    t = idp.code_flow()
    r = idp.post("/token", {"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                            "client_id": "demo-spa"}, headers={"Origin": APP})
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") == APP
    for path in ["/userinfo", "/revoke", "/introspect"]:
        assert preflight(idp, path, APP).header("Access-Control-Allow-Origin") == APP


def test_unknown_origin_gets_no_cors_headers(idp):
    r = preflight(idp, "/token", "http://evil.example")
    assert r.status == 403 and r.header("Access-Control-Allow-Origin") is None
    t = idp.code_flow()
    r = idp.refresh(t["refresh_token"])
    r = idp.post("/userinfo", None, headers={"Origin": "http://evil.example",
                                             "Authorization": "Bearer x"})
    assert r.header("Access-Control-Allow-Origin") is None


def test_public_metadata_readable_from_any_origin(idp):
    for path in ["/.well-known/openid-configuration", "/jwks"]:
        r = idp.get(path, headers={"Origin": "http://anything.example"})
        assert r.header("Access-Control-Allow-Origin") == "*"
        assert preflight(idp, path, "http://anything.example", "GET").status == 204


def test_configured_allowed_origins_replace_derived_ones(start_idp):
    from conftest import spa_config
    idp = start_idp(config=spa_config(allowed_origins=["https://app.example"]))
    assert preflight(idp, "/token", "https://app.example").status == 204
    assert preflight(idp, "/token", APP).status == 403
