/* Token revocation (RFC 7009) and introspection (RFC 7662). */
#include "cm_form.h"
#include "config.h"
#include "handlers.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <string.h>

static int require_form_post(idp_req *rq, idp_resp *rs)
{
    if (!rq->form_parsed) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_REQUEST,
                             "Content-Type must be application/x-www-form-urlencoded");
        return 0;
    }
    if (!cm_form_get(&rq->form, "token")) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_REQUEST, "token is required");
        return 0;
    }
    return 1;
}

void Idp_h_revoke(idp_server *s, idp_req *rq, idp_resp *rs)
{
    if (!require_form_post(rq, rs))
        return;
    const idp_client *client = Idp_client_authenticate(s, rq, rs, 0);
    if (!client)
        return;
    idp_token *t = Idp_token_find(s, cm_form_get(&rq->form, "token"));
    if (t) {
        Idp_resp_note(rs, "presented", t->label);
        if (t->family)
            Idp_resp_note_grant(rs, t->family->label, t->family->session_label);
    }
    if (t && strcmp(t->client_id, client->client_id) != 0) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_UNAUTHORIZED_CLIENT,
                             "token was issued to another client");
        return;
    }
    if (t && t->kind == IDP_TOK_REFRESH)
        Idp_family_revoke(t->family, "refresh token revoked (RFC 7009)");
    else if (t)
        t->revoked = 1;
    /* RFC 7009 §2.2: 200 whether or not the token was known */
    rs->status = 200;
    Idp_resp_header(rs, "Cache-Control", "no-store");
}

void Idp_h_introspect(idp_server *s, idp_req *rq, idp_resp *rs)
{
    if (!require_form_post(rq, rs))
        return;
    const idp_client *client = Idp_client_authenticate(s, rq, rs, 1);
    if (!client)
        return;
    idp_token *t = Idp_token_find(s, cm_form_get(&rq->form, "token"));
    if (t)
        Idp_resp_note(rs, "presented", t->label);
    int visible = t && (client->introspect_any || strcmp(t->client_id, client->client_id) == 0);
    if (!visible || !Idp_token_live(t, rq->now_ms)) {
        Idp_resp_json(rs, 200, json_pack("{s:b}", "active", 0));
        return;
    }
    json_t *body = json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:s}", "active", 1, "scope", t->scope,
                             "client_id", t->client_id, "sub", t->sub, "iss", s->issuer, "iat",
                             (json_int_t)(t->issued_ms / 1000), "token_type",
                             t->kind == IDP_TOK_ACCESS ? "Bearer" : "refresh_token");
    if (t->expires_ms)
        json_object_set_new(body, "exp", json_integer(t->expires_ms / 1000));
    Idp_resp_json(rs, 200, body);
    Idp_resp_header(rs, "Cache-Control", "no-store");
}
