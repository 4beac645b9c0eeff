/* Tokens the tests sign themselves with OpenSSL (not with the mock IdP's code), and the
 * matching JWKS, for renew_core's validation tests. */
#ifndef TEST_SIGNER_H
#define TEST_SIGNER_H

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"

static char *t_b64(const unsigned char *p, size_t n)
{
    char *out = malloc(cm_b64url_encoded_size(n));
    cm_b64url_encode(p, n, out);
    return out;
}

static char *t_b64_text(const char *s)
{
    return t_b64((const unsigned char *)s, strlen(s));
}

/* Sign "header.payload" (the texts given verbatim) with @p key; @p alg picks the form. */
static char *t_sign_raw(EVP_PKEY *key, const char *alg, const char *header, const char *payload)
{
    char *h = t_b64_text(header), *p = t_b64_text(payload);
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = malloc(n);
    snprintf(input, n, "%s.%s", h, p);
    unsigned char sig[600];
    size_t siglen = sizeof sig;
    if (!strcmp(alg, "none")) {
        siglen = 0;
    } else if (!strncmp(alg, "HS", 2)) {
        unsigned int len;
        HMAC(EVP_sha256(), "secret", 6, (unsigned char *)input, strlen(input), sig, &len);
        siglen = len;
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_DigestSignInit(md, NULL, strcmp(alg, "EdDSA") ? EVP_sha256() : NULL, NULL, key);
        EVP_DigestSign(md, sig, &siglen, (unsigned char *)input, strlen(input));
        EVP_MD_CTX_free(md);
        if (!strcmp(alg, "ES256")) { /* DER to R||S */
            const unsigned char *d = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)siglen);
            const BIGNUM *r, *s;
            ECDSA_SIG_get0(es, &r, &s);
            BN_bn2binpad(r, sig, 32);
            BN_bn2binpad(s, sig + 32, 32);
            ECDSA_SIG_free(es);
            siglen = 64;
        }
    }
    char *sb = t_b64(sig, siglen);
    size_t total = strlen(input) + strlen(sb) + 2;
    char *out = malloc(total);
    snprintf(out, total, "%s.%s", input, sb);
    free(h), free(p), free(input), free(sb);
    return out;
}

static char *t_sign(EVP_PKEY *key, const char *alg, const char *kid, json_t *claims)
{
    char header[200];
    snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid);
    char *payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    char *tok = t_sign_raw(key, alg, header, payload);
    free(payload);
    return tok;
}

static char *t_bn(EVP_PKEY *k, const char *name)
{
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(k, name, &bn);
    unsigned char buf[600];
    int n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return t_b64(buf, (size_t)n);
}

/* The public JWK of @p key (new reference). */
static json_t *t_jwk(EVP_PKEY *key, const char *kid)
{
    if (EVP_PKEY_is_a(key, "RSA")) {
        char *n = t_bn(key, OSSL_PKEY_PARAM_RSA_N), *e = t_bn(key, OSSL_PKEY_PARAM_RSA_E);
        json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid, "n", n, "e", e);
        free(n), free(e);
        return j;
    }
    if (EVP_PKEY_is_a(key, "EC")) {
        unsigned char pt[65];
        size_t len;
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &len);
        char *x = t_b64(pt + 1, 32), *y = t_b64(pt + 33, 32);
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "kid", kid, "x",
                              x, "y", y);
        free(x), free(y);
        return j;
    }
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(key, raw, &len);
    char *x = t_b64(raw, len);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "kid", kid, "x", x);
    free(x);
    return j;
}

#endif
