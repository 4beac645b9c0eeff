"""Discovery, JWKS and the authorization code flow with PKCE, over real HTTP."""
import re
import urllib.parse

import jwt
import pytest

from conftest import pkce_pair, redirect_params, spa_config

REDIRECT = "http://127.0.0.1:8080/callback"


def test_discovery_advertises_every_endpoint_and_capability(idp):
    d = idp.discovery()
    assert d["issuer"] == idp.issuer
    for name, path in [("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                       ("jwks_uri", "/jwks"), ("userinfo_endpoint", "/userinfo"),
                       ("revocation_endpoint", "/revoke"), ("introspection_endpoint", "/introspect"),
                       ("end_session_endpoint", "/end_session")]:
        assert d[name] == idp.issuer + path
    assert "code" in d["response_types_supported"]
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(d["grant_types_supported"])
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert {"none", "client_secret_basic", "client_secret_post"} <= set(d["token_endpoint_auth_methods_supported"])
    assert "RS256" in d["id_token_signing_alg_values_supported"]
    assert "offline_access" in d["scopes_supported"]


def test_jwks_publishes_the_signing_key_with_kid(idp):
    keys = idp.get("/jwks").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]


def test_browser_login_form_then_code_then_tokens(idp):
    verifier, challenge = pkce_pair()
    r = idp.authorize(client_id="demo-spa", redirect_uri=REDIRECT, response_type="code",
                      scope="openid profile", state="s1", nonce="n1",
                      code_challenge=challenge, code_challenge_method="S256")
    assert r.status == 200 and "<form" in r.text
    interaction = re.search(r'name="interaction" value="([^"]+)"', r.text).group(1)
    bad = idp.post("/login", {"interaction": interaction, "username": "alice", "password": "nope"})
    assert bad.status == 200 and "wrong password" in bad.text
    interaction = re.search(r'name="interaction" value="([^"]+)"', bad.text).group(1)
    ok = idp.post("/login", {"interaction": interaction, "username": "alice", "password": "alice"})
    assert ok.status == 302
    cookie = ok.header("Set-Cookie")
    assert cookie.startswith("mockidp_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    q = redirect_params(ok)
    assert q["state"] == "s1" and q["iss"] == idp.issuer
    tr = idp.post("/token", {"grant_type": "authorization_code", "code": q["code"],
                             "redirect_uri": REDIRECT, "code_verifier": verifier, "client_id": "demo-spa"})
    assert tr.status == 200
    assert tr.header("Cache-Control") == "no-store"
    t = tr.json()
    assert t["token_type"] == "Bearer" and t["expires_in"] == 300
    claims = idp.verify_id_token(t["id_token"], "demo-spa")
    assert claims["sub"] == "alice" and claims["nonce"] == "n1" and claims["name"] == "Alice Example"
    assert {"iss", "sub", "aud", "exp", "iat", "auth_time", "at_hash"} <= set(claims)
    # at_hash: left half of SHA-256 of the access token (OIDC Core §3.1.3.6)
    import base64, hashlib
    digest = hashlib.sha256(t["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    # and the session cookie now lets a second authorization through without the form
    again = idp.authorize(cookie=cookie.split(";")[0], client_id="demo-spa", redirect_uri=REDIRECT,
                          response_type="code", scope="openid", code_challenge=challenge,
                          code_challenge_method="S256")
    assert again.status == 302 and "code" in redirect_params(again)


def test_public_client_must_use_pkce(idp):
    cookie = idp.login()
    r = idp.authorize(cookie=cookie, client_id="demo-spa", redirect_uri=REDIRECT,
                      response_type="code", scope="openid", state="x")
    q = redirect_params(r)
    assert q["error"] == "invalid_request" and "code_challenge" in q["error_description"]
    assert q["state"] == "x"


def test_plain_pkce_method_is_refused(idp):
    cookie = idp.login()
    verifier, _ = pkce_pair()
    r = idp.authorize(cookie=cookie, client_id="demo-spa", redirect_uri=REDIRECT, response_type="code",
                      scope="openid", code_challenge=verifier, code_challenge_method="plain")
    assert redirect_params(r)["error"] == "invalid_request"


def test_wrong_code_verifier_is_invalid_grant(idp):
    code, _ = idp.issue_code()
    other_verifier, _ = pkce_pair()
    tr = idp.post("/token", {"grant_type": "authorization_code", "code": code,
                             "redirect_uri": REDIRECT, "code_verifier": other_verifier,
                             "client_id": "demo-spa"})
    assert tr.status == 400 and tr.json()["error"] == "invalid_grant"


def test_reused_code_is_refused_and_revokes_what_it_issued(idp):
    code, verifier = idp.issue_code(scope="openid offline_access")
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": REDIRECT, "code_verifier": verifier, "client_id": "demo-spa"}
    first = idp.post("/token", form)
    assert first.status == 200
    second = idp.post("/token", form)
    assert second.status == 400 and second.json()["error"] == "invalid_grant"
    # the refresh token from the first exchange is dead now
    rt = idp.refresh(first.json()["refresh_token"])
    assert rt.status == 400 and rt.json()["error"] == "invalid_grant"
    grant = idp.state()["grants"][0]
    assert grant["revoked"] and grant["revoked_reason"] == "authorization code replayed"


def test_redirect_uri_must_match_exactly_and_errors_are_not_redirected(idp):
    cookie = idp.login()
    _, challenge = pkce_pair()
    for uri in [REDIRECT + "/", REDIRECT + "?x=1", "http://127.0.0.1:8080/CALLBACK", "http://evil.example/cb"]:
        r = idp.authorize(cookie=cookie, client_id="demo-spa", redirect_uri=uri, response_type="code",
                          scope="openid", code_challenge=challenge, code_challenge_method="S256")
        assert r.status == 400 and r.header("Location") is None
        assert "redirect_uri" in r.text
    r = idp.authorize(client_id="nobody", redirect_uri=REDIRECT, response_type="code")
    assert r.status == 400 and r.header("Location") is None


def test_fragment_response_mode(idp):
    cookie = idp.login()
    _, challenge = pkce_pair()
    r = idp.authorize(cookie=cookie, client_id="demo-spa", redirect_uri=REDIRECT, response_type="code",
                      scope="openid", state="f", response_mode="fragment",
                      code_challenge=challenge, code_challenge_method="S256")
    loc = urllib.parse.urlsplit(r.header("Location"))
    assert loc.query == "" and "code=" in loc.fragment and "state=f" in loc.fragment


def test_code_exchange_with_wrong_redirect_uri_fails(idp):
    code, verifier = idp.issue_code()
    tr = idp.post("/token", {"grant_type": "authorization_code", "code": code,
                             "redirect_uri": "http://127.0.0.1:8080/other", "code_verifier": verifier,
                             "client_id": "demo-spa"})
    assert tr.json()["error"] == "invalid_grant"


def test_code_bound_to_client(idp):
    code, verifier = idp.issue_code()
    tr = idp.post("/token", {"grant_type": "authorization_code", "code": code,
                             "redirect_uri": REDIRECT, "code_verifier": verifier},
                  headers={"Authorization": "Basic ZGVtby1iYWNrZW5kOmRlbW8tc2VjcmV0"})
    assert tr.json()["error"] == "invalid_grant"


def test_consent_page_for_client_that_requires_it(idp):
    cookie = idp.login()
    _, challenge = pkce_pair()
    r = idp.authorize(cookie=cookie, client_id="demo-consent", redirect_uri=REDIRECT, response_type="code",
                      scope="openid", state="c", code_challenge=challenge, code_challenge_method="S256")
    assert r.status == 200 and "Allow access?" in r.text
    interaction = re.search(r'name="interaction" value="([^"]+)"', r.text).group(1)
    ok = idp.post("/consent", {"interaction": interaction, "decision": "allow"}, headers={"Cookie": cookie})
    q = redirect_params(ok)
    assert "code" in q and q["state"] == "c"
    assert idp.state()["sessions"][0]["consents"] == ["demo-consent"]


def test_consent_denied_redirects_access_denied(idp):
    cookie = idp.login()
    _, challenge = pkce_pair()
    r = idp.authorize(cookie=cookie, client_id="demo-consent", redirect_uri=REDIRECT, response_type="code",
                      scope="openid", code_challenge=challenge, code_challenge_method="S256")
    interaction = re.search(r'name="interaction" value="([^"]+)"', r.text).group(1)
    no = idp.post("/consent", {"interaction": interaction, "decision": "deny"}, headers={"Cookie": cookie})
    assert redirect_params(no)["error"] == "access_denied"


def test_confidential_client_basic_and_post_auth(idp):
    for headers, extra in [({"Authorization": "Basic ZGVtby1iYWNrZW5kOmRlbW8tc2VjcmV0"}, {}),
                           ({}, {"client_id": "demo-backend", "client_secret": "demo-secret"})]:
        r = idp.post("/token", {"grant_type": "client_credentials", **extra}, headers=headers)
        assert r.status == 200, r.text
        body = r.json()
        assert "refresh_token" not in body and "id_token" not in body
    bad = idp.post("/token", {"grant_type": "client_credentials", "client_id": "demo-backend",
                              "client_secret": "wrong"})
    assert bad.status == 401 and bad.json()["error"] == "invalid_client"
    assert bad.header("WWW-Authenticate").startswith("Basic")
    both = idp.post("/token", {"grant_type": "client_credentials", "client_secret": "demo-secret"},
                    headers={"Authorization": "Basic ZGVtby1iYWNrZW5kOmRlbW8tc2VjcmV0"})
    assert both.status == 400 and both.json()["error"] == "invalid_request"


def test_public_client_cannot_use_client_credentials(idp):
    r = idp.post("/token", {"grant_type": "client_credentials", "client_id": "demo-spa"})
    assert r.status == 400 and r.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize("alg,kty", [("ES256", "EC"), ("EdDSA", "OKP")])
def test_other_signing_algorithms(start_idp, alg, kty):
    cfg = spa_config()
    cfg["signing_alg"] = alg
    idp = start_idp(config=cfg)
    keys = idp.get("/jwks").json()["keys"]
    assert keys[0]["kty"] == kty and keys[0]["alg"] == alg
    assert idp.discovery()["id_token_signing_alg_values_supported"] == [alg]
    t = idp.code_flow(client_id="spa", scope="openid")
    claims = idp.verify_id_token(t["id_token"], "spa")
    assert claims["sub"] == "alice"
    assert jwt.get_unverified_header(t["id_token"])["alg"] == alg


def test_signing_key_from_pem_file(start_idp, tmp_path):
    import subprocess
    key = tmp_path / "k.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(key)], check=True, capture_output=True)
    cfg = spa_config()
    cfg["signing_key"] = str(key)
    a = start_idp(config=cfg)
    b = start_idp(config=cfg)
    ka, kb = a.get("/jwks").json()["keys"][0], b.get("/jwks").json()["keys"][0]
    assert ka["alg"] == "ES256" and ka == kb  # same key file, same public key and kid
    claims = a.verify_id_token(a.code_flow(client_id="spa", scope="openid")["id_token"], "spa")
    assert claims["sub"] == "alice"


def test_pkce_downgrade_is_refused(idp):
    """A code issued without a challenge (a client that need not use PKCE) cannot be
    redeemed with a code_verifier: mixing the two is a downgrade attempt."""
    cookie = idp.login()
    r = idp.authorize(cookie=cookie, client_id="demo-backend", redirect_uri=REDIRECT,
                      response_type="code", scope="openid")
    code = redirect_params(r)["code"]
    verifier, _ = pkce_pair()
    tr = idp.post("/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                             "code_verifier": verifier, "client_id": "demo-backend",
                             "client_secret": "demo-secret"})
    assert tr.status == 400 and tr.json()["error"] == "invalid_grant"
    assert "code_verifier" in tr.json()["error_description"]
