/* IdP state: sessions, authorization codes, grants (refresh-token families) and tokens.
 * Token values are keys of the store; the trace and the state only ever show labels. */
#include "cm_map.h"
#include "config.h"
#include "server_state.h"
#include "store.h"
#include "trace.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"
#include "cm_json.h"

/* A grant keeps its newest access tokens and rotated refresh tokens; older ones are
 * forgotten (and counted as evicted), so a client refreshing one grant for days does not
 * grow the IdP. */
#define IDP_GRANT_TOKENS_KEPT 64

void Idp_store_init(idp_store *st)
{
    memset(st, 0, sizeof *st);
    cm_map_init(&st->sessions);
    cm_map_init(&st->codes);
    cm_map_init(&st->tokens);
    cm_map_init(&st->pending);
    cm_map_init(&st->latest_idt);
}

void Idp_store_token_free(idp_token *t)
{
    free(t->value), free(t->client_id), free(t->sub), free(t->scope);
    free(t);
}

void Idp_store_family_free(idp_family *f)
{
    for (idp_token *t = f->tokens, *next; t; t = next) {
        next = t->next_in_family;
        Idp_store_token_free(t);
    }
    free(f->client_id), free(f->sub), free(f->scope), free(f->nonce), free(f->session_label);
    free(f->revoked_why);
    free(f);
}

void Idp_store_session_free(idp_session *s)
{
    cm_map_dispose(&s->consents);
    free(s->cookie), free(s->sub);
    free(s);
}

void Idp_store_code_free(idp_code *c)
{
    free(c->value), free(c->client_id), free(c->redirect_uri), free(c->sub), free(c->scope);
    free(c->nonce), free(c->challenge), free(c->session_label);
    free(c);
}

void Idp_store_dispose(idp_store *st)
{
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&st->sessions, &pos, &key, &v))
        Idp_store_session_free(v);
    for (pos = 0; cm_map_next(&st->codes, &pos, &key, &v);)
        Idp_store_code_free(v);
    for (size_t i = 0; i < st->n_loose; i++) /* family tokens are freed with their family */
        Idp_store_token_free(st->loose[i]);
    free(st->loose);
    for (pos = 0; cm_map_next(&st->pending, &pos, &key, &v);)
        json_decref(v);
    for (pos = 0; cm_map_next(&st->latest_idt, &pos, &key, &v);)
        free(v);
    for (size_t i = 0; i < st->n_families; i++)
        Idp_store_family_free(st->families[i]);
    free(st->families);
    cm_map_dispose(&st->sessions);
    cm_map_dispose(&st->codes);
    cm_map_dispose(&st->tokens);
    cm_map_dispose(&st->pending);
    cm_map_dispose(&st->latest_idt);
    memset(st, 0, sizeof *st);
}

void Idp_store_reset(idp_server *s)
{
    size_t limit = s->store.limit;
    Idp_store_dispose(&s->store);
    Idp_store_init(&s->store);
    s->store.limit = limit;
}

static int push_loose(idp_store *st, idp_token *t)
{
    if (st->n_loose == st->cap_loose) {
        size_t cap = st->cap_loose ? st->cap_loose * 2 : 64;
        idp_token **grown = realloc(st->loose, cap * sizeof *grown);
        if (!grown)
            return -1;
        st->loose = grown;
        st->cap_loose = cap;
    }
    st->loose[st->n_loose++] = t;
    return 0;
}

/* A family's tokens: a list both ways, newest first, with counts by kind. */
static void family_push(idp_family *fam, idp_token *t)
{
    t->next_in_family = fam->tokens;
    if (fam->tokens)
        fam->tokens->prev_in_family = t;
    else
        fam->oldest = t;
    fam->tokens = t;
    fam->n_tokens[t->kind]++;
}

static void family_unlink(idp_family *fam, idp_token *t)
{
    if (t->prev_in_family)
        t->prev_in_family->next_in_family = t->next_in_family;
    else
        fam->tokens = t->next_in_family;
    if (t->next_in_family)
        t->next_in_family->prev_in_family = t->prev_in_family;
    else
        fam->oldest = t->prev_in_family;
    fam->n_tokens[t->kind]--;
}

/* Forget the family's tokens of @p kind beyond the newest @p keep (the current refresh
 * token is the newest of its kind: it always stays). */
static void prune_family(idp_store *st, idp_family *fam, idp_token_kind kind, size_t keep)
{
    size_t current = kind == IDP_TOK_REFRESH && fam->current_rt ? 1 : 0;
    while (fam->n_tokens[kind] - current > keep) {
        idp_token *t = fam->oldest; /* the oldest of its kind: a few steps from the end */
        while (t && (t->kind != kind || t == fam->current_rt))
            t = t->prev_in_family;
        if (!t)
            return;
        family_unlink(fam, t);
        cm_map_remove(&st->tokens, t->key);
        Idp_store_token_free(t);
        st->evicted++;
    }
}

idp_session *Idp_session_create(idp_server *s, const char *sub, int64_t now_ms)
{
    idp_session *sess = calloc(1, sizeof *sess);
    if (!sess)
        return NULL;
    cm_map_init(&sess->consents);
    sess->cookie = Idp_value_random(s);
    sess->sub = strdup(sub);
    sess->auth_time_ms = now_ms;
    sess->expires_ms = now_ms + s->cfg->session_ms;
    sess->serial = ++s->store.next_session;
    snprintf(sess->label, sizeof sess->label, "sess#%lu", sess->serial);
    if (!sess->cookie || !sess->sub || cm_map_put(&s->store.sessions, sess->cookie, sess) != 0) {
        Idp_store_session_free(sess);
        return NULL;
    }
    return sess;
}

idp_session *Idp_session_find(idp_server *s, const char *cookie, int64_t now_ms)
{
    idp_session *sess = cookie ? cm_map_get(&s->store.sessions, cookie) : NULL;
    if (sess && sess->expires_ms <= now_ms)
        return NULL;
    return sess;
}

void Idp_session_end(idp_server *s, idp_session *sess)
{
    cm_map_remove(&s->store.sessions, sess->cookie);
    Idp_store_session_free(sess);
}

idp_family *Idp_family_create(idp_server *s, const idp_code *code, int64_t now_ms)
{
    const idp_client *c = Idp_config_client(s->cfg, code->client_id);
    idp_store *st = &s->store;
    if (st->n_families == st->cap_families) {
        size_t cap = st->cap_families ? st->cap_families * 2 : 16;
        idp_family **f = realloc(st->families, cap * sizeof *f);
        if (!f)
            return NULL;
        st->families = f;
        st->cap_families = cap;
    }
    idp_family *fam = calloc(1, sizeof *fam);
    if (!fam)
        return NULL;
    snprintf(fam->label, sizeof fam->label, "f#%lu", ++st->next_family);
    fam->client_id = strdup(code->client_id);
    fam->sub = strdup(code->sub);
    fam->scope = strdup(code->scope);
    fam->nonce = code->nonce ? strdup(code->nonce) : NULL;
    fam->session_label = code->session_label ? strdup(code->session_label) : NULL;
    fam->auth_time_ms = code->auth_time_ms;
    fam->created_ms = now_ms;
    /* the absolute lifetime counts from the grant; rotation never extends it */
    fam->expires_ms = c && c->refresh.absolute_ms ? now_ms + c->refresh.absolute_ms : 0;
    st->families[st->n_families++] = fam;
    return fam;
}

static idp_token *issue(idp_server *s, idp_token_kind kind, idp_family *fam, const idp_client *c,
                        const char *sub, const char *scope, int64_t now_ms, id_companion *idc)
{
    idp_token *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->kind = kind;
    t->family = fam;
    t->client_id = strdup(c->client_id);
    t->sub = strdup(sub);
    t->scope = strdup(scope);
    t->issued_ms = t->last_used_ms = now_ms;
    if (kind == IDP_TOK_ACCESS) {
        snprintf(t->label, sizeof t->label, "at#%lu", ++s->store.next_at);
        t->expires_ms = now_ms + c->access_token_ms;
        t->value = t->client_id && t->sub && t->scope ? Idp_mint_access_value(s, c, t, idc) : NULL;
    } else {
        snprintf(t->label, sizeof t->label, "rt#%lu", ++s->store.next_rt);
        t->expires_ms = fam ? fam->expires_ms : 0;
        t->value = Idp_value_random(s);
    }
    if (t->value && !*t->key) /* a JWT's key is made when it is signed */
        Idp_value_key(t->value, t->key);
    if (!t->value || cm_map_put(&s->store.tokens, t->key, t) != 0 ||
        (!fam && push_loose(&s->store, t) != 0)) {
        if (t->value)
            cm_map_remove(&s->store.tokens, t->key);
        Idp_store_token_free(t);
        return NULL;
    }
    if (fam) {
        family_push(fam, t);
        if (kind == IDP_TOK_REFRESH)
            fam->current_rt = t;
        size_t keep =
            s->store.grant_tokens_kept ? s->store.grant_tokens_kept : IDP_GRANT_TOKENS_KEPT;
        prune_family(&s->store, fam, kind, keep);
    }
    return t;
}

idp_token *Idp_token_issue(idp_server *s, idp_token_kind kind, idp_family *fam, const idp_client *c,
                           const char *sub, const char *scope, int64_t now_ms)
{
    return issue(s, kind, fam, c, sub, scope, now_ms, NULL);
}

idp_token *Idp_token_issue_with_id_token(idp_server *s, idp_family *fam, const idp_client *c,
                                         const char *scope, const char *nonce, int64_t now_ms,
                                         char **id_token)
{
    id_companion idc = {.nonce = nonce};
    idp_token *t = issue(s, IDP_TOK_ACCESS, fam, c, fam->sub, scope, now_ms, &idc);
    if (!t)
        free(idc.jwt);
    *id_token = t ? idc.jwt : NULL;
    return t;
}

idp_token *Idp_token_find(idp_server *s, const char *value)
{
    if (!value)
        return NULL;
    char key[48];
    Idp_value_key(value, key);
    return cm_map_get(&s->store.tokens, key);
}

void Idp_token_sent(idp_token *t)
{
    if (t->kind != IDP_TOK_ACCESS)
        return;
    free(t->value);
    t->value = NULL;
}

void Idp_family_revoke(idp_family *fam, const char *why)
{
    if (fam->revoked)
        return;
    fam->revoked = 1;
    fam->revoked_why = strdup(why);
    for (idp_token *t = fam->tokens; t; t = t->next_in_family)
        t->revoked = 1; /* cascades to the grant's access tokens (RFC 7009 §2.1) */
}

int Idp_token_live(const idp_token *t, int64_t now_ms)
{
    if (t->revoked || (t->family && t->family->revoked))
        return 0;
    if (t->expires_ms && t->expires_ms <= now_ms)
        return 0;
    return 1;
}

static const char *token_state(const idp_token *t, int64_t now_ms)
{
    if (t->revoked || (t->family && t->family->revoked))
        return "revoked";
    if (t->expires_ms && t->expires_ms <= now_ms)
        return "expired";
    if (t->kind == IDP_TOK_REFRESH && t->rotated_ms)
        return "rotated";
    return "active";
}

static json_t *family_json(const idp_family *f, int64_t now_ms)
{
    json_t *toks = json_array();
    for (const idp_token *t = f->tokens; t; t = t->next_in_family)
        json_array_append_new(
            toks, json_pack("{s:s, s:s, s:o, s:o}", "id", t->label, "state", token_state(t, now_ms),
                            "issued_at", Idp_seconds(t->issued_ms), "expires_at",
                            t->expires_ms ? Idp_seconds(t->expires_ms) : json_null()));
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s?, s:o, s:o, s:s?, s:o}", "family", f->label,
                     "client_id", f->client_id, "sub", f->sub, "scope", f->scope, "revoked",
                     f->revoked, "revoked_reason", f->revoked_why, "created_at",
                     Idp_seconds(f->created_ms), "expires_at",
                     f->expires_ms ? Idp_seconds(f->expires_ms) : json_null(), "session",
                     f->session_label, "tokens", toks);
}

json_t *Idp_store_state(idp_server *s, int64_t now_ms)
{
    json_t *grants = json_array(), *sessions = json_array();
    for (size_t i = 0; i < s->store.n_families; i++)
        json_array_append_new(grants, family_json(s->store.families[i], now_ms));
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&s->store.sessions, &pos, &key, &v)) {
        idp_session *sess = v;
        json_t *consents = json_array();
        size_t cp = 0;
        const char *cid;
        void *unused;
        while (cm_map_next(&sess->consents, &cp, &cid, &unused))
            json_array_append_new(consents, json_string(cid));
        json_array_append_new(
            sessions, json_pack("{s:s, s:s, s:o, s:o, s:o}", "session", sess->label, "sub",
                                sess->sub, "auth_time", Idp_seconds(sess->auth_time_ms),
                                "expires_at", Idp_seconds(sess->expires_ms), "consents", consents));
    }
    return json_pack("{s:o, s:o, s:I}", "grants", grants, "sessions", sessions, "evicted",
                     (json_int_t)s->store.evicted);
}
