/* IdP state: sessions, authorization codes, grants (refresh-token families) and tokens.
 * Token values are keys of the store; the trace and the state only ever show labels. */
#include "idp_int.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"
#include "cm_json.h"

/* A grant keeps its newest access tokens and rotated refresh tokens; older ones are
 * forgotten (and counted as evicted), so a client refreshing one grant for days does not
 * grow the IdP. */
#define IDP_GRANT_TOKENS_KEPT 64

void idp_store_init(idp_store *st)
{
    memset(st, 0, sizeof *st);
    cm_map_init(&st->sessions);
    cm_map_init(&st->codes);
    cm_map_init(&st->tokens);
    cm_map_init(&st->pending);
}

static void token_free(idp_token *t)
{
    free(t->value), free(t->client_id), free(t->sub), free(t->scope);
    free(t);
}

static void family_free(idp_family *f)
{
    for (idp_token *t = f->tokens, *next; t; t = next) {
        next = t->next_in_family;
        token_free(t);
    }
    free(f->client_id), free(f->sub), free(f->scope), free(f->nonce), free(f->session_label);
    free(f->revoked_why);
    free(f);
}

static void session_free(idp_session *s)
{
    cm_map_dispose(&s->consents);
    free(s->cookie), free(s->sub);
    free(s);
}

static void code_free(idp_code *c)
{
    free(c->value), free(c->client_id), free(c->redirect_uri), free(c->sub), free(c->scope);
    free(c->nonce), free(c->challenge), free(c->session_label);
    free(c);
}

void idp_store_dispose(idp_store *st)
{
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&st->sessions, &pos, &key, &v))
        session_free(v);
    for (pos = 0; cm_map_next(&st->codes, &pos, &key, &v);)
        code_free(v);
    for (size_t i = 0; i < st->n_loose; i++) /* family tokens are freed with their family */
        token_free(st->loose[i]);
    free(st->loose);
    for (pos = 0; cm_map_next(&st->pending, &pos, &key, &v);)
        json_decref(v);
    for (size_t i = 0; i < st->n_families; i++)
        family_free(st->families[i]);
    free(st->families);
    cm_map_dispose(&st->sessions);
    cm_map_dispose(&st->codes);
    cm_map_dispose(&st->tokens);
    cm_map_dispose(&st->pending);
    memset(st, 0, sizeof *st);
}

void idp_store_reset(idp_server *s)
{
    size_t limit = s->store.limit;
    idp_store_dispose(&s->store);
    idp_store_init(&s->store);
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

static void hashed_key(const unsigned char md[SHA256_DIGEST_LENGTH], char key[48])
{
    key[0] = '#';
    cm_b64url_encode(md, SHA256_DIGEST_LENGTH, key + 1);
}

/* The token map's key for @p value: short values as they are, long ones (JWTs) hashed. */
static void token_key(const char *value, char key[48])
{
    size_t n = strlen(value);
    if (n < 48) {
        memcpy(key, value, n + 1);
        return;
    }
    unsigned char md[SHA256_DIGEST_LENGTH];
    idp_sha256(value, n, md);
    hashed_key(md, key);
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
        token_free(t);
        st->evicted++;
    }
}

static char *random_value(idp_server *s)
{
    char buf[64];
    if (cm_rng_token(&s->rng, 32, buf, sizeof buf) != 0)
        return NULL;
    return strdup(buf);
}

idp_session *idp_session_create(idp_server *s, const char *sub, int64_t now_ms)
{
    idp_session *sess = calloc(1, sizeof *sess);
    if (!sess)
        return NULL;
    cm_map_init(&sess->consents);
    sess->cookie = random_value(s);
    sess->sub = strdup(sub);
    sess->auth_time_ms = now_ms;
    sess->expires_ms = now_ms + s->cfg->session_ms;
    sess->serial = ++s->store.next_session;
    snprintf(sess->label, sizeof sess->label, "sess#%lu", sess->serial);
    if (!sess->cookie || !sess->sub || cm_map_put(&s->store.sessions, sess->cookie, sess) != 0) {
        session_free(sess);
        return NULL;
    }
    return sess;
}

idp_session *idp_session_find(idp_server *s, const char *cookie, int64_t now_ms)
{
    idp_session *sess = cookie ? cm_map_get(&s->store.sessions, cookie) : NULL;
    if (sess && sess->expires_ms <= now_ms)
        return NULL;
    return sess;
}

void idp_session_end(idp_server *s, idp_session *sess)
{
    cm_map_remove(&s->store.sessions, sess->cookie);
    session_free(sess);
}

idp_family *idp_family_create(idp_server *s, const idp_code *code, int64_t now_ms)
{
    const idp_client *c = idp_config_client(s->cfg, code->client_id);
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

/* The clock_skew fault: the IdP stamps iat/exp as if its clock were off by N seconds. */
static int64_t skew_ms(const idp_server *s)
{
    const idp_fault *f = idp_fault_active(s, FA_CLOCK_SKEW);
    return f ? (int64_t)(idp_fault_num(f, "seconds", 0) * 1000.0) : 0;
}

/* Signing happens in a window: with worker loops, the signatures (the costly part) are
 * made with the state lock released; the key is referenced and the rule in force restored
 * after, and the gate this request holds keeps eviction, reset and control changes out
 * meanwhile. Without worker loops the window is the server's own keys, locks untouched. */
typedef struct sign_window {
    idp_key key;
    idp_keys one;
    const idp_fault *active;
} sign_window;

static const idp_keys *window_open(idp_server *s, sign_window *w)
{
    if (!s->threaded)
        return &s->keys;
    w->key = s->keys.items[s->keys.n - 1];
    w->one = (idp_keys){.items = &w->key, .n = 1};
    w->active = s->active_fault;
    EVP_PKEY_up_ref(w->key.pkey);
    pthread_mutex_unlock(&s->lock);
    return &w->one;
}

static void window_close(idp_server *s, sign_window *w)
{
    if (!s->threaded)
        return;
    pthread_mutex_lock(&s->lock);
    EVP_PKEY_free(w->key.pkey);
    s->active_fault = w->active;
}

static char *sign(idp_server *s, const char *typ, json_t *claims, const char *mode)
{
    sign_window w;
    const idp_keys *k = window_open(s, &w);
    char *jwt = idp_jws_sign_mode(k, typ, claims, mode);
    window_close(s, &w);
    return jwt;
}

/* ,"name":"value" (@p name needs no escaping) */
static void put_member(cm_strbuf *b, const char *name, const char *value)
{
    cm_strbuf_puts(b, ",\"");
    cm_strbuf_puts(b, name);
    cm_strbuf_puts(b, "\":");
    if (cm_json_put_string(b, value, strlen(value)) != 0)
        b->failed = 1;
}

/* RFC 9068 JWT access token claims as JSON text, members in sorted order as jansson would
 * write them (building a jansson object for each token cost more than the text); the demo
 * resource checks the token by lookup, not signature. malloc'd, or NULL. */
static char *access_claims(idp_server *s, const idp_client *c, const idp_token *t)
{
    int64_t now_ms = t->issued_ms + skew_ms(s), exp_ms = t->expires_ms + skew_ms(s);
    char jti[32];
    if (cm_rng_token(&s->rng, 16, jti, sizeof jti) != 0)
        return NULL;
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_puts(&b, "{\"aud\":");
    if (cm_json_put_string(&b, c->client_id, strlen(c->client_id)) != 0)
        b.failed = 1;
    put_member(&b, "client_id", c->client_id);
    cm_strbuf_printf(&b, ",\"exp\":%lld,\"iat\":%lld", (long long)(exp_ms / 1000),
                     (long long)(now_ms / 1000));
    put_member(&b, "iss", s->issuer);
    put_member(&b, "jti", jti);
    put_member(&b, "scope", t->scope);
    put_member(&b, "sub", t->sub);
    cm_strbuf_puts(&b, "}");
    return cm_strbuf_take(&b);
}

static json_t *id_claims(idp_server *s, const idp_family *fam, const idp_client *c,
                         const char *nonce, int64_t now_ms, const char **fault);

/* @p sha256: the access token's SHA-256 when already computed (RS256 and ES256 take their
 * at_hash from it), or NULL. */
static void set_at_hash(json_t *claims, idp_alg alg, const char *access_token,
                        const unsigned char *sha256)
{
    char h[96];
    if (json_object_get(claims, "at_hash")) /* a fault rule's bad_at_hash stays */
        return;
    if (sha256 && alg != IDP_ALG_EDDSA)
        cm_b64url_encode(sha256, SHA256_DIGEST_LENGTH / 2, h);
    else
        idp_half_hash(alg, access_token, h);
    json_object_set_new(claims, "at_hash", json_string(h));
}

/* An ID token to issue with an access token (its at_hash from it), signed in the same
 * window: one release of the state lock per answer instead of two. */
typedef struct id_companion {
    const char *nonce;
    char *jwt; /* out */
} id_companion;

static char *access_value(idp_server *s, const idp_client *c, idp_token *t, id_companion *idc)
{
    if (c->opaque_access_tokens) {
        char *v = random_value(s);
        if (v && idc)
            idc->jwt = idp_id_token(s, t->family, c, v, idc->nonce, t->issued_ms);
        return v;
    }
    const char *fault = NULL;
    char *at = access_claims(s, c, t);
    json_t *id = idc ? id_claims(s, t->family, c, idc->nonce, t->issued_ms, &fault) : NULL;
    char *v = NULL;
    sign_window w;
    const idp_keys *k = window_open(s, &w);
    if (at)
        v = idp_jws_sign_text(k, "at+jwt", at);
    unsigned char md[SHA256_DIGEST_LENGTH];
    int hashed = v && idp_sha256(v, strlen(v), md) == 0;
    if (hashed) /* one hash: the token map's key, and the ID token's at_hash */
        hashed_key(md, t->key);
    if (v && id) {
        set_at_hash(id, k->items[k->n - 1].alg, v, hashed ? md : NULL);
        idc->jwt = idp_jws_sign_mode(k, "JWT", id, fault);
    }
    window_close(s, &w);
    free(at);
    json_decref(id);
    return v;
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
        t->value = t->client_id && t->sub && t->scope ? access_value(s, c, t, idc) : NULL;
    } else {
        snprintf(t->label, sizeof t->label, "rt#%lu", ++s->store.next_rt);
        t->expires_ms = fam ? fam->expires_ms : 0;
        t->value = random_value(s);
    }
    if (t->value && !*t->key) /* a JWT's key is made when it is signed */
        token_key(t->value, t->key);
    if (!t->value || cm_map_put(&s->store.tokens, t->key, t) != 0 ||
        (!fam && push_loose(&s->store, t) != 0)) {
        if (t->value)
            cm_map_remove(&s->store.tokens, t->key);
        token_free(t);
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

idp_token *idp_token_issue(idp_server *s, idp_token_kind kind, idp_family *fam, const idp_client *c,
                           const char *sub, const char *scope, int64_t now_ms)
{
    return issue(s, kind, fam, c, sub, scope, now_ms, NULL);
}

idp_token *idp_token_issue_with_id_token(idp_server *s, idp_family *fam, const idp_client *c,
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

idp_token *idp_token_find(idp_server *s, const char *value)
{
    if (!value)
        return NULL;
    char key[48];
    token_key(value, key);
    return cm_map_get(&s->store.tokens, key);
}

void idp_token_sent(idp_token *t)
{
    if (t->kind != IDP_TOK_ACCESS)
        return;
    free(t->value);
    t->value = NULL;
}

void idp_family_revoke(idp_family *fam, const char *why)
{
    if (fam->revoked)
        return;
    fam->revoked = 1;
    fam->revoked_why = strdup(why);
    for (idp_token *t = fam->tokens; t; t = t->next_in_family)
        t->revoked = 1; /* cascades to the grant's access tokens (RFC 7009 §2.1) */
}

int idp_token_live(const idp_token *t, int64_t now_ms)
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
                            "issued_at", idp_seconds(t->issued_ms), "expires_at",
                            t->expires_ms ? idp_seconds(t->expires_ms) : json_null()));
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s?, s:o, s:o, s:s?, s:o}", "family", f->label,
                     "client_id", f->client_id, "sub", f->sub, "scope", f->scope, "revoked",
                     f->revoked, "revoked_reason", f->revoked_why, "created_at",
                     idp_seconds(f->created_ms), "expires_at",
                     f->expires_ms ? idp_seconds(f->expires_ms) : json_null(), "session",
                     f->session_label, "tokens", toks);
}

json_t *idp_store_state(idp_server *s, int64_t now_ms)
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
                                sess->sub, "auth_time", idp_seconds(sess->auth_time_ms),
                                "expires_at", idp_seconds(sess->expires_ms), "consents", consents));
    }
    return json_pack("{s:o, s:o, s:I}", "grants", grants, "sessions", sessions, "evicted",
                     (json_int_t)s->store.evicted);
}

/* Claim-level ID-token faults (fault rule action "id_token"). */
static void id_token_claim_fault(json_t *claims, const char *fault, const idp_family *fam,
                                 int64_t now_ms)
{
    json_int_t now = (json_int_t)(now_ms / 1000);
    if (!strcmp(fault, "wrong_aud"))
        json_object_set_new(claims, "aud", json_string("another-client"));
    else if (!strcmp(fault, "wrong_iss"))
        json_object_set_new(claims, "iss", json_string("https://attacker.invalid"));
    else if (!strcmp(fault, "other_sub"))
        json_object_set_new(claims, "sub", json_string("mallory"));
    else if (!strcmp(fault, "add_azp"))
        json_object_set(claims, "azp", json_object_get(claims, "aud"));
    else if (!strcmp(fault, "auth_time_changed"))
        json_object_set_new(claims, "auth_time", json_integer(now));
    else if (!strcmp(fault, "expired")) {
        json_object_set_new(claims, "iat", json_integer(now - 600));
        json_object_set_new(claims, "exp", json_integer(now - 300));
    } else if (!strcmp(fault, "iat_future"))
        json_object_set_new(claims, "iat", json_integer(now + 3600));
    else if (!strcmp(fault, "nonce_wrong"))
        json_object_set_new(claims, "nonce", json_string("not-the-nonce-you-sent"));
    else if (!strcmp(fault, "nonce_original") && fam->nonce)
        json_object_set_new(claims, "nonce", json_string(fam->nonce));
    else if (!strcmp(fault, "bad_at_hash"))
        json_object_set_new(claims, "at_hash", json_string("AAAAAAAAAAAAAAAAAAAAAA"));
}

/* The ID token's claims with the fault rule's changes (its name in *fault), no at_hash. */
static json_t *id_claims(idp_server *s, const idp_family *fam, const idp_client *c,
                         const char *nonce, int64_t now_ms, const char **fault)
{
    now_ms += skew_ms(s);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "iss", s->issuer, "sub", fam->sub,
                               "aud", c->client_id, "iat", (json_int_t)(now_ms / 1000), "exp",
                               (json_int_t)((now_ms + c->id_token_ms) / 1000), "auth_time",
                               (json_int_t)(fam->auth_time_ms / 1000));
    if (!claims)
        return NULL;
    if (nonce)
        json_object_set_new(claims, "nonce", json_string(nonce));
    const idp_user *u = idp_config_user(s->cfg, fam->sub);
    if (u && u->name && idp_scope_has(fam->scope, "profile"))
        json_object_set_new(claims, "name", json_string(u->name));
    if (u && u->email && idp_scope_has(fam->scope, "email"))
        json_object_set_new(claims, "email", json_string(u->email));
    const idp_fault *f = idp_fault_active(s, FA_ID_TOKEN);
    *fault = f ? idp_fault_str(f, "fault") : NULL;
    if (*fault)
        id_token_claim_fault(claims, *fault, fam, now_ms);
    return claims;
}

char *idp_id_token(idp_server *s, const idp_family *fam, const idp_client *c,
                   const char *access_token, const char *nonce, int64_t now_ms)
{
    const char *fault = NULL;
    json_t *claims = id_claims(s, fam, c, nonce, now_ms, &fault);
    if (!claims)
        return NULL;
    if (access_token)
        set_at_hash(claims, s->keys.items[s->keys.n - 1].alg, access_token, NULL);
    char *jwt = sign(s, "JWT", claims, fault);
    json_decref(claims);
    return jwt;
}

int idp_scope_has(const char *scope, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = scope; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, item, n) == 0)
            return 1;
        p += len;
        p += strspn(p, " ");
    }
    return 0;
}

int idp_scope_subset(const char *sub, const char *super)
{
    char item[128];
    for (const char *p = sub; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len >= sizeof item)
            return 0;
        memcpy(item, p, len);
        item[len] = '\0';
        if (len && !idp_scope_has(super, item))
            return 0;
        p += len;
        p += strspn(p, " ");
    }
    return 1;
}

int idp_scope_allowed(const idp_client *c, const char *scope)
{
    char item[128];
    for (const char *p = scope; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len >= sizeof item)
            return 0;
        memcpy(item, p, len);
        item[len] = '\0';
        if (len && !idp_strlist_has(&c->scopes, item))
            return 0;
        p += len;
        p += strspn(p, " ");
    }
    return 1;
}

/* ---- bounded state ---------------------------------------------------------------------- */

static size_t limit_of(const idp_store *st)
{
    return st->limit ? st->limit : 10000;
}

static void evict_families(idp_server *s, size_t n)
{
    idp_store *st = &s->store;
    for (size_t i = 0; i < n; i++) {
        st->families[i]->evicted = 1;
        for (idp_token *t = st->families[i]->tokens; t; t = t->next_in_family)
            cm_map_remove(&st->tokens, t->key);
    }
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&st->codes, &pos, &key, &v)) { /* codes pointing at them go too */
        idp_code *c = v;
        if (c->family && c->family->evicted) {
            cm_map_remove(&st->codes, c->value);
            code_free(c);
        }
    }
    for (size_t i = 0; i < n; i++)
        family_free(st->families[i]);
    memmove(st->families, st->families + n, (st->n_families - n) * sizeof *st->families);
    st->n_families -= n;
    st->evicted += n;
}

static void evict_loose(idp_store *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cm_map_remove(&st->tokens, st->loose[i]->key);
        token_free(st->loose[i]);
    }
    memmove(st->loose, st->loose + n, (st->n_loose - n) * sizeof *st->loose);
    st->n_loose -= n;
    st->evicted += n;
}

/* Sessions and codes live in maps: evict those created before a serial threshold. */
static unsigned long serial_threshold(const cm_map *m, size_t n, int sessions)
{
    unsigned long min = (unsigned long)-1, max = 0;
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(m, &pos, &key, &v)) {
        unsigned long sr = sessions ? ((idp_session *)v)->serial : ((idp_code *)v)->serial;
        min = sr < min ? sr : min;
        max = sr > max ? sr : max;
    }
    /* serials are dense enough: evicting below min + n removes about n of the oldest */
    return min + n > max ? max : min + n;
}

static void evict_sessions(idp_store *st, size_t n)
{
    unsigned long below = serial_threshold(&st->sessions, n, 1);
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&st->sessions, &pos, &key, &v)) {
        idp_session *sess = v;
        if (sess->serial < below) {
            cm_map_remove(&st->sessions, sess->cookie);
            session_free(sess);
            st->evicted++;
        }
    }
}

static void evict_codes(idp_store *st, size_t n)
{
    unsigned long below = serial_threshold(&st->codes, n, 0);
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&st->codes, &pos, &key, &v)) {
        idp_code *c = v;
        if (c->serial < below) {
            cm_map_remove(&st->codes, c->value);
            code_free(c);
            st->evicted++;
        }
    }
}

int idp_store_over_limits(const idp_store *st)
{
    size_t limit = limit_of(st);
    return st->n_families > limit || st->n_loose > limit || st->sessions.count > limit ||
           st->codes.count > limit || st->pending.count > limit;
}

void idp_store_enforce_limits(idp_server *s)
{
    idp_store *st = &s->store;
    size_t limit = limit_of(st), batch = limit / 10 ? limit / 10 : 1;
    if (st->n_families > limit)
        evict_families(s, st->n_families - limit + batch);
    if (st->n_loose > limit)
        evict_loose(st, st->n_loose - limit + batch);
    if (st->sessions.count > limit)
        evict_sessions(st, st->sessions.count - limit + batch);
    if (st->codes.count > limit)
        evict_codes(st, st->codes.count - limit + batch);
    if (st->pending.count > limit) { /* unanswered login forms: drop them all */
        size_t pos = 0;
        const char *key;
        void *v;
        while (cm_map_next(&st->pending, &pos, &key, &v))
            json_decref(v);
        cm_map_dispose(&st->pending);
        cm_map_init(&st->pending);
    }
}
