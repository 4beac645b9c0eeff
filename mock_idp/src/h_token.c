/* The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6): authorization_code with PKCE,
 * refresh_token with rotation, reuse detection and lifetimes, client_credentials. */
#include "cm_form.h"
#include "cm_map.h"
#include "config.h"
#include "fault.h"
#include "handlers.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"

static void note_issued(idp_resp *rs, const idp_token *at, const idp_token *rt)
{
    if (!rs->trace)
        return;
    json_t *ids = json_array();
    if (at)
        json_array_append_new(ids, json_string(at->label));
    if (rt)
        json_array_append_new(ids, json_string(rt->label));
    json_object_set_new(rs->trace, "issued", ids);
}

static int may_refresh(const idp_client *c, const char *scope)
{
    return c->refresh.issue && (c->grants & IDP_GT_REFRESH) &&
           (!c->refresh.require_offline_access || Idp_scope_has(scope, OIDC_SCOPE_OFFLINE_ACCESS));
}

typedef struct issue_args {
    const idp_client *client;
    idp_family *fam;
    const char *scope; /* of the access token */
    const char *nonce; /* for the ID token, NULL = none */
    int id_token;      /* include an ID token */
    idp_token *new_rt; /* refresh token to return, NULL = none */
} issue_args;

/* refresh_expires_in (as Keycloak sends it): how long the refresh token the client now
 * holds stays usable, the earlier of its absolute expiry and the idle lifetime. */
static void refresh_expires_in(json_t *body, const issue_args *a, int64_t now)
{
    const idp_token *rt = a->new_rt ? a->new_rt : a->fam ? a->fam->current_rt : NULL;
    if (!rt)
        return;
    int64_t left = rt->expires_ms ? rt->expires_ms - now : 0;
    int64_t idle = a->client->refresh.idle_ms;
    if (idle && (!left || idle < left))
        left = idle;
    if (left > 0)
        json_object_set_new(body, "refresh_expires_in", json_integer(left / 1000));
}

static void answer_tokens(idp_server *s, const idp_req *rq, idp_resp *rs, const issue_args *a)
{
    char *idt = NULL;
    int with_idt = a->id_token && a->fam;
    idp_token *at = with_idt ? Idp_token_issue_with_id_token(s, a->fam, a->client, a->scope,
                                                             a->nonce, rq->now_ms, &idt)
                             : Idp_token_issue(s, IDP_TOK_ACCESS, a->fam, a->client,
                                               a->fam ? a->fam->sub : a->client->client_id,
                                               a->scope, rq->now_ms);
    if (!at) {
        Idp_resp_oauth_error(rs, 500, OIDC_ERR_SERVER_ERROR, "cannot issue tokens");
        return;
    }
    json_t *body =
        json_pack("{s:s, s:s, s:I, s:s}", "access_token", at->value, "token_type", "Bearer",
                  "expires_in", (json_int_t)(a->client->access_token_ms / 1000), "scope", a->scope);
    if (with_idt)
        json_object_set_new(body, "id_token", json_string(idt ? idt : ""));
    free(idt);
    if (a->new_rt)
        json_object_set_new(body, "refresh_token", json_string(a->new_rt->value));
    refresh_expires_in(body, a, rq->now_ms);
    Idp_token_sent(at);
    note_issued(rs, at, a->new_rt);
    if (rs->trace) /* the token's real lifetime, whatever a fault makes the body say */
        json_object_set_new(rs->trace, "expires_in",
                            json_integer(a->client->access_token_ms / 1000));
    if (a->fam)
        Idp_resp_note_grant(rs, a->fam->label, a->fam->session_label);
    Idp_resp_json(rs, 200, body);
    Idp_resp_header(rs, "Cache-Control", "no-store");
    Idp_resp_header(rs, "Pragma", "no-cache");
}

/* PKCE S256 (RFC 7636 §4.6): BASE64URL(SHA256(verifier)) == challenge. */
static int pkce_ok(const char *verifier, const char *challenge)
{
    size_t n = verifier ? strlen(verifier) : 0;
    if (n < 43 || n > 128 ||
        strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-._~") != n)
        return 0;
    unsigned char md[SHA256_DIGEST_LENGTH];
    char b64[64];
    SHA256((const unsigned char *)verifier, n, md);
    cm_b64url_encode(md, sizeof md, b64);
    return Idp_str_equal_ct(b64, challenge);
}

static const char *code_problem(const idp_code *c, const idp_client *client, const idp_req *rq)
{
    const char *verifier = cm_form_get(&rq->form, "code_verifier");
    if (strcmp(c->client_id, client->client_id) != 0)
        return "code was issued to another client";
    if (c->expires_ms <= rq->now_ms)
        return "code expired";
    const char *redirect = cm_form_get(&rq->form, "redirect_uri");
    if (!redirect || strcmp(redirect, c->redirect_uri) != 0)
        return "redirect_uri does not match the authorization request";
    if (c->challenge && !pkce_ok(verifier, c->challenge))
        return "PKCE verification failed";
    if (!c->challenge && verifier) /* no downgrade: a verifier needs a challenge */
        return "code_verifier sent but no code_challenge was used";
    return NULL;
}

static void grant_code(idp_server *s, idp_req *rq, idp_resp *rs, const idp_client *client)
{
    const char *value = cm_form_get(&rq->form, "code");
    idp_code *c = value ? cm_map_get(&s->store.codes, value) : NULL;
    if (!c) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_GRANT, "unknown authorization code");
        return;
    }
    Idp_resp_note(rs, "presented", c->label);
    if (c->used) { /* RFC 6749 §4.1.2: a replayed code revokes what it issued */
        if (c->family) {
            Idp_family_revoke(c->family, "authorization code replayed");
            Idp_resp_note_grant(rs, c->family->label, c->family->session_label);
        }
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_GRANT, "authorization code already used");
        return;
    }
    const char *problem = code_problem(c, client, rq);
    if (problem) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_GRANT, problem);
        return;
    }
    c->used = 1;
    c->family = Idp_family_create(s, c, rq->now_ms);
    if (!c->family) {
        Idp_resp_oauth_error(rs, 500, OIDC_ERR_SERVER_ERROR, "cannot create the grant");
        return;
    }
    issue_args a = {.client = client,
                    .fam = c->family,
                    .scope = c->scope,
                    .nonce = c->nonce,
                    .id_token = Idp_scope_has(c->scope, OIDC_SCOPE_OPENID)};
    if (may_refresh(client, c->scope))
        a.new_rt =
            Idp_token_issue(s, IDP_TOK_REFRESH, c->family, client, c->sub, c->scope, rq->now_ms);
    answer_tokens(s, rq, rs, &a);
}

/* Why a presented refresh token cannot be used, or NULL. Handles reuse detection. */
static const char *refresh_problem(idp_server *s, idp_token *t, const idp_client *client,
                                   idp_resp *rs, int64_t now)
{
    const idp_refresh_policy *p = &client->refresh;
    idp_family *fam = t->family;
    (void)s;
    if (strcmp(t->client_id, client->client_id) != 0)
        return "refresh token was issued to another client";
    if (fam->revoked)
        return fam->revoked_why ? fam->revoked_why : "grant revoked";
    if (t->revoked)
        return "refresh token revoked";
    if (t->expires_ms && t->expires_ms <= now)
        return "refresh token expired (absolute lifetime)";
    if (p->idle_ms && now - t->last_used_ms >= p->idle_ms)
        return "refresh token expired (idle lifetime)";
    if (!t->rotated_ms)
        return NULL;
    if (p->reuse_grace_ms && now - t->rotated_ms <= p->reuse_grace_ms) {
        if (rs->trace)
            json_object_set_new(rs->trace, "reuse_within_grace", json_true());
        return NULL;
    }
    if (!p->reuse_detection)
        return "refresh token already rotated";
    /* RFC 9700 §4.14.2: a rotated token seen again means it leaked; end the grant */
    Idp_family_revoke(fam, "refresh token reuse detected");
    if (rs->trace)
        json_object_set_new(rs->trace, "reuse_detected", json_true());
    return "refresh token reuse detected; grant revoked";
}

static void rotate(idp_server *s, idp_token *t, issue_args *a, int64_t now)
{
    idp_family *fam = t->family;
    idp_token *current = fam->current_rt;
    t->rotated_ms = t->rotated_ms ? t->rotated_ms : now;
    if (current && current != t && !current->rotated_ms)
        current->rotated_ms = now; /* a grace-window reuse supersedes the newest too */
    /* last: issuing may forget old rotated tokens, `t` among them (idp_options) */
    a->new_rt = Idp_token_issue(s, IDP_TOK_REFRESH, fam, a->client, fam->sub, fam->scope, now);
}

static void grant_refresh(idp_server *s, idp_req *rq, idp_resp *rs, const idp_client *client)
{
    idp_token *t = Idp_token_find(s, cm_form_get(&rq->form, "refresh_token"));
    if (!t || t->kind != IDP_TOK_REFRESH) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_GRANT, "unknown refresh token");
        return;
    }
    Idp_resp_note(rs, "presented", t->label);
    Idp_resp_note_grant(rs, t->family->label, t->family->session_label);
    const char *problem = refresh_problem(s, t, client, rs, rq->now_ms);
    if (problem) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_GRANT, problem);
        return;
    }
    const char *scope = cm_form_get(&rq->form, "scope");
    if (scope && !Idp_scope_subset(scope, t->family->scope)) { /* RFC 6749 §6 */
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_SCOPE, "scope exceeds the original grant");
        return;
    }
    issue_args a = {.client = client,
                    .fam = t->family,
                    .scope = scope ? scope : t->family->scope,
                    .id_token = client->refresh.id_token &&
                                Idp_scope_has(t->family->scope, OIDC_SCOPE_OPENID)};
    t->last_used_ms = rq->now_ms;
    const idp_fault *f = Idp_fault_active(s, FA_TOKEN_RESPONSE);
    if (f && Idp_fault_bool(f, "same_refresh_token"))
        a.new_rt = t; /* the presented token comes back, unrotated */
    else if (client->refresh.rotation)
        rotate(s, t, &a, rq->now_ms);
    answer_tokens(s, rq, rs, &a);
}

static void grant_client_credentials(idp_server *s, idp_req *rq, idp_resp *rs,
                                     const idp_client *client)
{
    const char *scope = cm_form_get(&rq->form, "scope");
    if (scope && !Idp_scope_allowed(client, scope)) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_SCOPE, "scope not allowed for client");
        return;
    }
    if (!client->secret) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_UNAUTHORIZED_CLIENT,
                             "client_credentials needs a confidential client");
        return;
    }
    issue_args a = {.client = client, .scope = scope ? scope : "api"};
    answer_tokens(s, rq, rs, &a);
}

static const struct {
    const char *name;
    unsigned flag;
    void (*fn)(idp_server *, idp_req *, idp_resp *, const idp_client *);
} GRANTS[] = {
    {OIDC_GRANT_AUTHORIZATION_CODE, IDP_GT_CODE, grant_code},
    {OIDC_GRANT_REFRESH_TOKEN, IDP_GT_REFRESH, grant_refresh},
    {OIDC_GRANT_CLIENT_CREDENTIALS, IDP_GT_CLIENT_CREDENTIALS, grant_client_credentials},
};

void Idp_h_token(idp_server *s, idp_req *rq, idp_resp *rs)
{
    if (!rq->form_parsed) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_REQUEST,
                             "Content-Type must be application/x-www-form-urlencoded");
        return;
    }
    const char *grant = cm_form_get(&rq->form, "grant_type");
    Idp_resp_note(rs, "grant_type", grant);
    if (!grant) {
        Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_REQUEST, "grant_type is required");
        return;
    }
    const idp_client *client = Idp_client_authenticate(s, rq, rs, 0);
    if (!client)
        return;
    for (size_t i = 0; i < sizeof GRANTS / sizeof GRANTS[0]; i++) {
        if (strcmp(grant, GRANTS[i].name) != 0)
            continue;
        if (!(client->grants & GRANTS[i].flag))
            Idp_resp_oauth_error(rs, 400, OIDC_ERR_UNAUTHORIZED_CLIENT,
                                 "grant type not allowed for this client");
        else
            GRANTS[i].fn(s, rq, rs, client);
        return;
    }
    Idp_resp_oauth_error(rs, 400, OIDC_ERR_UNSUPPORTED_GRANT_TYPE, "unknown grant_type");
}
