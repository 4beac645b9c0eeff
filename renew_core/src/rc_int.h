/* renew_core internals: JWT/JWKS validation, discovery metadata, the client object. */
#ifndef RC_INT_H
#define RC_INT_H

#include <jansson.h>
#include <openssl/evp.h>

#include "renew_core.h"

/* ---- JWKS and JWT (jwks.c, jwt.c) ------------------------------------------------- */

typedef struct rc_jwk {
    char *kid, *alg, *kty; /* kid and alg may be NULL */
    EVP_PKEY *pkey;
} rc_jwk;

typedef struct rc_jwks {
    rc_jwk *keys;
    size_t n;
} rc_jwks;

/** Parse a JWKS document; keys we cannot use (unknown kty, private parts only, bad
 * encoding) are skipped. RC_EJWKS when it is not a JWKS at all. */
int rc_jwks_parse(const char *text, size_t len, rc_jwks *out);
void rc_jwks_dispose(rc_jwks *jwks);

#define RC_JWT_MAX_LEN 16384 /* larger tokens are refused before any parsing */

typedef struct rc_jwt {
    json_t *header, *claims;
    char *signing_input; /* "header.payload" */
    unsigned char *sig;
    size_t sig_len;
} rc_jwt;

/** Split and decode a compact JWS: strict base64url, JSON objects without duplicate
 * keys. RC_EJWT_MALFORMED or RC_EJWT_CRIT on failure; dispose in every case. */
int rc_jwt_parse(const char *token, rc_jwt *out);
void rc_jwt_dispose(rc_jwt *jwt);
/** Verify the signature with a key of @p jwks. The algorithm must be RS256, ES256 or
 * EdDSA and match the key's type (never none, never HS*). RC_EJWT_KID when no key fits
 * (the caller may refetch the JWKS once). */
int rc_jwt_verify(const rc_jwt *jwt, const rc_jwks *jwks);

typedef struct rc_idt_expect {
    const char *issuer, *client_id;
    const char *nonce;        /* login: the nonce sent; NULL on refresh */
    const char *access_token; /* for at_hash, when the token came with one */
    json_t *original;         /* refresh: the login's claims (OIDC Core §12.2); else NULL */
    int64_t now_ms, skew_ms;
} rc_idt_expect;

/** The ID-token claim checks of OIDC Core §3.1.3.7 and, on refresh, §12.2. */
int rc_idt_check_claims(json_t *claims, const char *alg, const rc_idt_expect *e);

/* ---- helpers ---------------------------------------------------------------------- */

char *rc_strdup(const char *s); /* NULL-safe */
/** Replace *dst with a copy of @p src (NULL allowed). */
void rc_set_str(char **dst, const char *src);

#endif
