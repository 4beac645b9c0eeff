/* Compact JWS parsing, signature verification and ID-token claim checks
 * (RFC 7515, RFC 7518, RFC 8037; OIDC Core §3.1.3.7 and §12.2). */
#include "rc_int.h"

#include <openssl/ecdsa.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"

static json_t *decode_object(const char *p, size_t n)
{
    size_t cap = cm_b64_decoded_max(n) + 1;
    unsigned char *buf = malloc(cap);
    long len = buf ? cm_b64url_decode(p, n, buf, cap) : -1;
    /* duplicate member names are refused: two parsers could read different values */
    json_t *j = len > 0 ? json_loadb((char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(buf);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

int rc_jwt_parse(const char *token, rc_jwt *out)
{
    memset(out, 0, sizeof *out);
    size_t len = token ? strlen(token) : 0;
    if (len == 0 || len > RC_JWT_MAX_LEN)
        return RC_EJWT_MALFORMED;
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.'))
        return RC_EJWT_MALFORMED;
    out->header = decode_object(token, (size_t)(d1 - token));
    out->claims = decode_object(d1 + 1, (size_t)(d2 - d1 - 1));
    size_t slen = strlen(d2 + 1);
    size_t cap = cm_b64_decoded_max(slen) + 1;
    out->sig = malloc(cap);
    long n = out->sig ? cm_b64url_decode(d2 + 1, slen, out->sig, cap) : -1;
    out->signing_input = strndup(token, (size_t)(d2 - token));
    if (!out->header || !out->claims || n < 0 || !out->signing_input)
        return RC_EJWT_MALFORMED;
    out->sig_len = (size_t)n;
    if (json_object_get(out->header, "crit")) /* we implement no JWS extensions */
        return RC_EJWT_CRIT;
    return RC_OK;
}

void rc_jwt_dispose(rc_jwt *jwt)
{
    json_decref(jwt->header);
    json_decref(jwt->claims);
    free(jwt->signing_input);
    free(jwt->sig);
    memset(jwt, 0, sizeof *jwt);
}

/* The key type each allowed algorithm needs; NULL = not allowed (none, HS*, others). */
static const char *alg_kty(const char *alg)
{
    if (!alg)
        return NULL;
    if (strcmp(alg, "RS256") == 0)
        return "RSA";
    if (strcmp(alg, "ES256") == 0)
        return "EC";
    if (strcmp(alg, "EdDSA") == 0)
        return "OKP";
    return NULL;
}

static const rc_jwk *pick_key(const rc_jwks *jwks, const char *kid, const char *alg)
{
    const char *kty = alg_kty(alg);
    const rc_jwk *found = NULL;
    size_t candidates = 0;
    for (size_t i = 0; i < jwks->n; i++) {
        const rc_jwk *k = &jwks->keys[i];
        if (strcmp(k->kty, kty) != 0 || (k->alg && strcmp(k->alg, alg) != 0))
            continue;
        if (kid && k->kid && strcmp(kid, k->kid) == 0)
            return k;
        if (!kid) {
            found = k;
            candidates++;
        }
    }
    /* without a kid, only a single fitting key is unambiguous */
    return candidates == 1 ? found : NULL;
}

static int ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char *der,
                            size_t *derlen)
{
    if (len != 64)
        return -1;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
        ECDSA_SIG_free(sig), BN_free(r), BN_free(s);
        return -1;
    }
    unsigned char *p = der;
    int n = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    *derlen = n > 0 ? (size_t)n : 0;
    return n > 0 ? 0 : -1;
}

int rc_jwt_verify(const rc_jwt *jwt, const rc_jwks *jwks)
{
    const char *alg = json_string_value(json_object_get(jwt->header, "alg"));
    json_t *kidv = json_object_get(jwt->header, "kid");
    if (!alg_kty(alg))
        return RC_EJWT_ALG;
    if (kidv && !json_is_string(kidv))
        return RC_EJWT_MALFORMED;
    const rc_jwk *key = pick_key(jwks, json_string_value(kidv), alg);
    if (!key)
        return RC_EJWT_KID;
    const unsigned char *sig = jwt->sig;
    size_t sig_len = jwt->sig_len;
    unsigned char der[80];
    if (strcmp(alg, "ES256") == 0) {
        if (ecdsa_raw_to_der(jwt->sig, jwt->sig_len, der, &sig_len) != 0)
            return RC_EJWT_SIGNATURE;
        sig = der;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const EVP_MD *digest = strcmp(alg, "EdDSA") == 0 ? NULL : EVP_sha256();
    int ok = md && EVP_DigestVerifyInit(md, NULL, digest, NULL, key->pkey) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)jwt->signing_input,
                              strlen(jwt->signing_input)) == 1;
    EVP_MD_CTX_free(md);
    return ok ? RC_OK : RC_EJWT_SIGNATURE;
}

/* at_hash (OIDC Core §3.3.2.11): the left half of the hash the signing algorithm uses. */
static int at_hash_ok(const char *at_hash, const char *access_token, const char *alg)
{
    unsigned char md[SHA512_DIGEST_LENGTH];
    size_t half;
    if (strcmp(alg, "EdDSA") == 0) {
        SHA512((const unsigned char *)access_token, strlen(access_token), md);
        half = SHA512_DIGEST_LENGTH / 2;
    } else {
        SHA256((const unsigned char *)access_token, strlen(access_token), md);
        half = SHA256_DIGEST_LENGTH / 2;
    }
    char expect[64];
    cm_b64url_encode(md, half, expect);
    return strcmp(expect, at_hash) == 0;
}

static int aud_has(json_t *aud, const char *client_id, size_t *count)
{
    *count = json_is_array(aud) ? json_array_size(aud) : 1;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), client_id) == 0;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v) if (json_is_string(v) &&
                                      !strcmp(json_string_value(v), client_id)) return 1;
    return 0;
}

static int check_times(json_t *claims, const rc_idt_expect *e)
{
    json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    if (!json_is_number(exp) || e->now_ms > (int64_t)(json_number_value(exp) * 1000) + e->skew_ms)
        return RC_EJWT_EXP;
    if (!json_is_number(iat) || (int64_t)(json_number_value(iat) * 1000) > e->now_ms + e->skew_ms)
        return RC_EJWT_IAT;
    return RC_OK;
}

/* Whether every audience of @p a is one of @p b ("app" and ["app"] name the same one). */
static int aud_within(json_t *a, json_t *b)
{
    size_t dummy;
    if (json_is_string(a))
        return aud_has(b, json_string_value(a), &dummy);
    if (!json_is_array(a) || json_array_size(a) == 0)
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v) ||
                                    !aud_has(b, json_string_value(v), &dummy)) return 0;
    return 1;
}

/* OIDC Core §12.2: a refreshed ID token keeps iss, sub, aud and auth_time, gains no azp,
 * and carries no nonce or the original one. */
static int check_refresh(json_t *claims, json_t *orig)
{
    json_t *aud = json_object_get(claims, "aud"), *orig_aud = json_object_get(orig, "aud");
    if (!aud_within(aud, orig_aud) || !aud_within(orig_aud, aud))
        return RC_EJWT_AUD;
    static const struct {
        const char *name;
        int err;
    } same[] = {{"iss", RC_EJWT_ISS}, {"sub", RC_EJWT_SUB}};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (!json_equal(json_object_get(claims, same[i].name), json_object_get(orig, same[i].name)))
            return same[i].err;
    json_t *at = json_object_get(orig, "auth_time");
    if (at && !json_equal(json_object_get(claims, "auth_time"), at))
        return RC_EJWT_AUTH_TIME;
    if (!json_object_get(orig, "azp") && json_object_get(claims, "azp"))
        return RC_EJWT_AZP;
    json_t *nonce = json_object_get(claims, "nonce");
    if (nonce && !json_equal(nonce, json_object_get(orig, "nonce")))
        return RC_EJWT_NONCE;
    return RC_OK;
}

int rc_idt_check_claims(json_t *claims, const char *alg, const rc_idt_expect *e)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    const char *at_hash = json_string_value(json_object_get(claims, "at_hash"));
    size_t n_aud;
    if (!iss || strcmp(iss, e->issuer) != 0)
        return RC_EJWT_ISS;
    if (!sub || !*sub)
        return RC_EJWT_SUB;
    if (!aud_has(json_object_get(claims, "aud"), e->client_id, &n_aud))
        return RC_EJWT_AUD;
    if ((n_aud > 1 && !azp) || (azp && strcmp(azp, e->client_id) != 0))
        return RC_EJWT_AZP;
    int rc = check_times(claims, e);
    if (rc != RC_OK)
        return rc;
    if (e->original)
        rc = check_refresh(claims, e->original);
    else if (e->nonce) {
        const char *nonce = json_string_value(json_object_get(claims, "nonce"));
        if (!nonce || strcmp(nonce, e->nonce) != 0)
            rc = RC_EJWT_NONCE;
    }
    if (rc == RC_OK && at_hash && e->access_token && !at_hash_ok(at_hash, e->access_token, alg))
        rc = RC_EJWT_AT_HASH;
    return rc;
}
