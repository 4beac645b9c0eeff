/* Bearer-protected endpoints (RFC 6750): UserInfo (OIDC Core §5.3) and the demo
 * protected resource, which is not advertised in discovery. */
#include "config.h"
#include "handlers.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <string.h>
#include <strings.h>

idp_token *Idp_bearer_token(idp_server *s, idp_req *rq, idp_resp *rs)
{
    const char *hdr = Idp_req_header(rq, "Authorization");
    if (!hdr) {
        Idp_resp_bearer_error(rs, 401, NULL, "a Bearer access token is required");
        return NULL;
    }
    if (strncasecmp(hdr, "Bearer ", 7) != 0 || !hdr[7]) {
        Idp_resp_bearer_error(rs, 400, OIDC_ERR_INVALID_REQUEST, "malformed Authorization header");
        return NULL;
    }
    idp_token *t = Idp_token_find(s, hdr + 7);
    if (t && rs->trace)
        json_object_set_new(rs->trace, "presented", json_string(t->label));
    if (t && rs->trace)
        json_object_set_new(rs->trace, "client_id", json_string(t->client_id));
    if (!t || t->kind != IDP_TOK_ACCESS) {
        Idp_resp_bearer_error(rs, 401, OIDC_ERR_INVALID_TOKEN, "unknown access token");
        return NULL;
    }
    if (!Idp_token_live(t, rq->now_ms)) {
        int expired = t->expires_ms <= rq->now_ms;
        Idp_resp_bearer_error(rs, 401, OIDC_ERR_INVALID_TOKEN,
                              expired ? "access token expired" : "access token revoked");
        return NULL;
    }
    return t;
}

void Idp_h_userinfo(idp_server *s, idp_req *rq, idp_resp *rs)
{
    idp_token *t = Idp_bearer_token(s, rq, rs);
    if (!t)
        return;
    if (!Idp_scope_has(t->scope, OIDC_SCOPE_OPENID)) {
        Idp_resp_bearer_error(rs, 403, OIDC_ERR_INSUFFICIENT_SCOPE, "the openid scope is required");
        return;
    }
    json_t *body = json_pack("{s:s}", "sub", t->sub);
    const idp_user *u = Idp_config_user(s->cfg, t->sub);
    if (u && u->name && Idp_scope_has(t->scope, "profile"))
        json_object_set_new(body, "name", json_string(u->name));
    if (u && u->email && Idp_scope_has(t->scope, "email"))
        json_object_set_new(body, "email", json_string(u->email));
    Idp_resp_json(rs, 200, body);
    Idp_resp_header(rs, "Cache-Control", "no-store");
}

/* GET /resource needs the "api" scope; GET /resource/admin needs "admin" (which no demo
 * client may request), so 403 insufficient_scope can be exercised. */
void Idp_h_resource(idp_server *s, idp_req *rq, idp_resp *rs)
{
    idp_token *t = Idp_bearer_token(s, rq, rs);
    if (!t)
        return;
    const char *need = strcmp(rq->path, "/resource/admin") == 0 ? "admin" : "api";
    if (!Idp_scope_has(t->scope, need)) {
        char desc[64];
        snprintf(desc, sizeof desc, "the %s scope is required", need);
        Idp_resp_bearer_error(rs, 403, OIDC_ERR_INSUFFICIENT_SCOPE, desc);
        char hdr[160];
        snprintf(hdr, sizeof hdr,
                 "Bearer realm=\"mock-idp\", error=\"insufficient_scope\", scope=\"%s\"", need);
        Idp_resp_header(rs, "WWW-Authenticate", hdr);
        return;
    }
    Idp_resp_json(rs, 200,
                  json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "sub", t->sub, "scope", t->scope,
                            "token", t->label));
}
