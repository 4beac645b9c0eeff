/* RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the session,
 * optionally revokes the session's grants, redirects only to a registered URI. */
#include "cm_strbuf.h"
#include "config.h"
#include "handlers.h"
#include "keys.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "cm_form.h"

static void page(idp_resp *rs, int status, const char *error, const char *text)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_puts(&b, "<!doctype html><html><head><title>Sign out</title></head><body><p id=\"");
    cm_strbuf_puts(&b, error ? "error" : "signed-out");
    cm_strbuf_puts(&b, "\">");
    cm_strbuf_html(&b, text);
    cm_strbuf_puts(&b, "</p></body></html>");
    rs->error = error;
    Idp_resp_html(rs, status, cm_strbuf_take(&b));
}

static void revoke_session_grants(idp_server *s, const idp_session *sess)
{
    for (size_t i = 0; i < s->store.n_families; i++) {
        idp_family *f = s->store.families[i];
        const idp_client *c = Idp_config_client(s->cfg, f->client_id);
        if (c && c->end_session_revokes && f->session_label &&
            strcmp(f->session_label, sess->label) == 0)
            Idp_family_revoke(f, "session ended (end_session)");
    }
}

/* The client named by client_id or by the hint's aud; NULL with an error page on failure. */
static const idp_client *logout_client(idp_server *s, idp_req *rq, idp_resp *rs, int *bad)
{
    const char *hint = Idp_req_param(rq, "id_token_hint");
    const char *client_id = Idp_req_param(rq, "client_id");
    *bad = 0;
    if (hint) {
        json_t *claims = Idp_jws_verify(&s->keys, hint);
        const char *aud = json_string_value(json_object_get(claims, "aud"));
        const idp_client *c = Idp_config_client(s->cfg, aud);
        json_decref(claims);
        if (!c || (client_id && strcmp(client_id, c->client_id) != 0)) {
            page(rs, 400, OIDC_ERR_INVALID_REQUEST,
                 "id_token_hint is not a token of this IdP "
                 "for that client");
            *bad = 1;
            return NULL;
        }
        return c;
    }
    return Idp_config_client(s->cfg, client_id);
}

void Idp_h_end_session(idp_server *s, idp_req *rq, idp_resp *rs)
{
    int bad;
    const idp_client *c = logout_client(s, rq, rs, &bad);
    if (bad)
        return;
    const char *target = Idp_req_param(rq, "post_logout_redirect_uri");
    if (target && (!c || !Idp_strlist_has(&c->post_logout_redirect_uris, target))) {
        page(rs, 400, OIDC_ERR_INVALID_REQUEST, "post_logout_redirect_uri is not registered");
        return;
    }
    if (c && rs->trace)
        json_object_set_new(rs->trace, "client_id", json_string(c->client_id));
    char buf[256];
    idp_session *sess =
        Idp_session_find(s, Idp_req_cookie(rq, s->cfg->cookie.name, buf, sizeof buf), rq->now_ms);
    if (sess) {
        Idp_resp_note(rs, "ended_session", sess->label);
        Idp_resp_note(rs, "session", sess->label);
        revoke_session_grants(s, sess);
        Idp_session_end(s, sess);
    }
    if (!target) {
        page(rs, 200, NULL, "You are signed out.");
    } else {
        const char *state = Idp_req_param(rq, "state");
        char *enc = state ? cm_form_encode(state) : NULL;
        cm_strbuf b;
        cm_strbuf_init(&b);
        cm_strbuf_puts(&b, target);
        if (enc)
            cm_strbuf_printf(&b, "%cstate=%s", strchr(target, '?') ? '&' : '?', enc);
        char *url = cm_strbuf_take(&b);
        Idp_resp_redirect(rs, url ? url : target);
        free(url);
        free(enc);
    }
    Idp_clear_session_cookie(s, rs);
}
