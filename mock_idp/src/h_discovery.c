/* Discovery (OIDC Discovery 1.0 §3, RFC 8414) and the JWKS. */
#include "handlers.h"
#include "keys.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"

#include <stdio.h>

static json_t *url(const idp_server *s, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s", s->issuer, path);
    return json_string(buf);
}

void Idp_h_discovery(idp_server *s, idp_req *rq, idp_resp *rs)
{
    (void)rq;
    json_t *d = json_object();
    json_object_set_new(d, "issuer", json_string(s->issuer));
    json_object_set_new(d, "authorization_endpoint", url(s, "/authorize"));
    json_object_set_new(d, "token_endpoint", url(s, "/token"));
    json_object_set_new(d, "jwks_uri", url(s, "/jwks"));
    json_object_set_new(d, "userinfo_endpoint", url(s, "/userinfo"));
    json_object_set_new(d, "revocation_endpoint", url(s, "/revoke"));
    json_object_set_new(d, "introspection_endpoint", url(s, "/introspect"));
    json_object_set_new(d, "end_session_endpoint", url(s, "/end_session"));
    json_object_set_new(d, "check_session_iframe", url(s, "/check_session"));
    json_object_set_new(d, "response_types_supported", json_pack("[s]", "code"));
    json_object_set_new(d, "response_modes_supported", json_pack("[ss]", "query", "fragment"));
    json_object_set_new(d, "grant_types_supported",
                        json_pack("[sss]", OIDC_GRANT_AUTHORIZATION_CODE, OIDC_GRANT_REFRESH_TOKEN,
                                  OIDC_GRANT_CLIENT_CREDENTIALS));
    json_object_set_new(d, "subject_types_supported", json_pack("[s]", "public"));
    json_object_set_new(d, "id_token_signing_alg_values_supported",
                        json_pack("[s]", Idp_alg_name(s->keys.items[s->keys.n - 1].alg)));
    json_object_set_new(d, "code_challenge_methods_supported", json_pack("[s]", OIDC_PKCE_S256));
    json_t *auth = json_pack("[sss]", "none", "client_secret_basic", "client_secret_post");
    json_object_set(d, "token_endpoint_auth_methods_supported", auth);
    json_object_set(d, "revocation_endpoint_auth_methods_supported", auth);
    json_object_set_new(d, "introspection_endpoint_auth_methods_supported",
                        json_pack("[ss]", "client_secret_basic", "client_secret_post"));
    json_decref(auth);
    json_object_set_new(
        d, "scopes_supported",
        json_pack("[sssss]", "openid", "profile", "email", "offline_access", "api"));
    json_object_set_new(d, "claims_supported",
                        json_pack("[ssssssssss]", "iss", "sub", "aud", "exp", "iat", "auth_time",
                                  "nonce", "at_hash", "name", "email"));
    json_object_set_new(d, "prompt_values_supported",
                        json_pack("[sss]", "none", "login", "consent"));
    for (size_t i = 0; i < s->cfg->discovery_omit.n; i++) /* an IdP without, say, revocation */
        json_object_del(d, s->cfg->discovery_omit.items[i]);
    Idp_resp_json(rs, 200, d);
}

void Idp_h_jwks(idp_server *s, idp_req *rq, idp_resp *rs)
{
    Idp_resp_json(rs, 200, Idp_keys_jwks(&s->keys, rq->now_ms));
    Idp_resp_header(rs, "Content-Type", "application/jwk-set+json");
}
