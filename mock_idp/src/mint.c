/* Minting: access tokens (RFC 9068 JWTs or opaque values) and ID tokens, signed in a
 * window with the state lock released, with the ID-token fault rules applied. */
#include "cm_rng.h"
#include "cm_strbuf.h"
#include "config.h"
#include "fault.h"
#include "keys.h"
#include "server_state.h"
#include "store.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"
#include "cm_json.h"

/* The clock_skew fault: the IdP stamps iat/exp as if its clock were off by N seconds. */
static int64_t skew_ms(const idp_server *s)
{
    const idp_fault *f = Idp_fault_active(s, FA_CLOCK_SKEW);
    return f ? (int64_t)(Idp_fault_num(f, "seconds", 0) * 1000.0) : 0;
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
    char *jwt = Idp_jws_sign_mode(k, typ, claims, mode);
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
        Idp_half_hash(alg, access_token, h);
    json_object_set_new(claims, "at_hash", json_string(h));
}

/* An ID token to issue with an access token (its at_hash from it), signed in the same
 * window: one release of the state lock per answer instead of two. */

static char *mint_value(idp_server *s, const idp_client *c, idp_token *t, id_companion *idc)
{
    if (c->opaque_access_tokens) {
        char *v = Idp_value_random(s);
        if (v && idc)
            idc->jwt = Idp_id_token(s, t->family, c, v, idc->nonce, t->issued_ms);
        return v;
    }
    const char *fault = NULL;
    char *at = access_claims(s, c, t);
    json_t *id = idc ? id_claims(s, t->family, c, idc->nonce, t->issued_ms, &fault) : NULL;
    char *v = NULL;
    sign_window w;
    const idp_keys *k = window_open(s, &w);
    if (at)
        v = Idp_jws_sign_text(k, "at+jwt", at);
    unsigned char md[SHA256_DIGEST_LENGTH];
    int hashed = v && Idp_sha256(v, strlen(v), md) == 0;
    if (hashed) /* one hash: the token map's key, and the ID token's at_hash */
        Idp_value_key_of_hash(md, t->key);
    if (v && id) {
        set_at_hash(id, k->items[k->n - 1].alg, v, hashed ? md : NULL);
        idc->jwt = Idp_jws_sign_mode(k, "JWT", id, fault);
    }
    window_close(s, &w);
    free(at);
    json_decref(id);
    return v;
}

char *Idp_mint_access_value(idp_server *s, const idp_client *c, idp_token *t, id_companion *idc)
{
    char *v = mint_value(s, c, t, idc);
    if (idc && idc->jwt && t->family) /* the newest ID token issued (under the state lock) */
        Idp_value_note_id_token(&s->store, c->client_id, t->family->sub, idc->jwt);
    return v;
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
    const idp_user *u = Idp_config_user(s->cfg, fam->sub);
    if (u && u->name && Idp_scope_has(fam->scope, "profile"))
        json_object_set_new(claims, "name", json_string(u->name));
    if (u && u->email && Idp_scope_has(fam->scope, "email"))
        json_object_set_new(claims, "email", json_string(u->email));
    const idp_fault *f = Idp_fault_active(s, FA_ID_TOKEN);
    *fault = f ? Idp_fault_str(f, "fault") : NULL;
    if (*fault)
        id_token_claim_fault(claims, *fault, fam, now_ms);
    return claims;
}

char *Idp_id_token(idp_server *s, const idp_family *fam, const idp_client *c,
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
