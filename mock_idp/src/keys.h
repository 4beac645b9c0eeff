/* mock_idp internals: signing keys, JWKS and JWS (keys.c). */
#ifndef IDP_KEYS_H
#define IDP_KEYS_H

#include <jansson.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <stdint.h>

/* ---- keys and JWS ----------------------------------------------------------------- */

typedef enum { IDP_ALG_RS256, IDP_ALG_ES256, IDP_ALG_EDDSA } idp_alg;

typedef struct idp_key {
    char kid[24];
    idp_alg alg;
    EVP_PKEY *pkey;
    int64_t retire_ms; /* 0: published until rotated; else removed from JWKS after this */
} idp_key;

typedef struct idp_keys {
    idp_key *items; /* items[n-1] is the signing key */
    size_t n;
} idp_keys;

int Idp_alg_parse(const char *name, idp_alg *out);
const char *Idp_alg_name(idp_alg alg);
int Idp_keys_add_generated(idp_keys *k, idp_alg alg);
int Idp_keys_add_pem(idp_keys *k, const char *path, char *err, size_t errlen);
/** Sign with an existing EVP_PKEY (a reference is taken). */
int Idp_keys_add_pkey(idp_keys *k, void *pkey, char *err, size_t errlen);
/** Make a new signing key; the old ones leave the JWKS @p overlap_ms after @p now_ms. */
int Idp_keys_rotate(idp_keys *k, int64_t now_ms, int64_t overlap_ms);
void Idp_keys_dispose(idp_keys *k);
/** The JWKS document (new reference) of the keys still published at @p now_ms. */
json_t *Idp_keys_jwks(idp_keys *k, int64_t now_ms);
/** Sign @p claims (borrowed) as compact JWS with header typ @p typ. Caller frees. */
char *Idp_jws_sign(const idp_keys *k, const char *typ, json_t *claims);
/** As Idp_jws_sign, with a deliberate defect: @p mode "unknown_kid", "kid_absent",
 * "alg_none", "hs256_public_key" or "bad_signature" (NULL = none). */
char *Idp_jws_sign_mode(const idp_keys *k, const char *typ, json_t *claims, const char *mode);
/** As Idp_jws_sign, with the claims given as JSON text (@p payload). */
char *Idp_jws_sign_text(const idp_keys *k, const char *typ, const char *payload);
/** Verify a compact JWS made by one of our keys; returns its claims (new reference) or
 * NULL when malformed or not ours. Expiry is not checked. */
json_t *Idp_jws_verify(const idp_keys *k, const char *token);
/** at_hash / c_hash (OIDC Core §3.1.3.6) of @p value for @p alg into @p out (>= 64 bytes). */
void Idp_half_hash(idp_alg alg, const char *value, char *out);
/** SHA-256 of @p n bytes at @p data into @p md: 0, or -1. */
int Idp_sha256(const void *data, size_t n, unsigned char md[32]);
/** Free the calling thread's signing contexts (and the key references they hold): a worker
 * loop's thread on exit, and idp_server_free on its caller's. */
void Idp_sign_contexts_clear(void);

#endif
