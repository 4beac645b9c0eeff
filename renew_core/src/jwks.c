/* JWKS: JSON Web Keys (RFC 7517/7518/8037) into OpenSSL public keys. */
#include "rc_int.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"

/* Decode a base64url member into a fresh buffer; NULL when absent or malformed. */
static unsigned char *member_bytes(json_t *jwk, const char *name, size_t *len)
{
    const char *v = json_string_value(json_object_get(jwk, name));
    if (!v || !*v || strlen(v) > 4096)
        return NULL;
    size_t cap = cm_b64_decoded_max(strlen(v)) + 1;
    unsigned char *buf = malloc(cap);
    long n = buf ? cm_b64url_decode(v, strlen(v), buf, cap) : -1;
    if (n <= 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_key(json_t *jwk)
{
    size_t nl = 0, el = 0;
    unsigned char *n = member_bytes(jwk, "n", &nl), *e = member_bytes(jwk, "e", &el);
    BIGNUM *bn = n ? BN_bin2bn(n, (int)nl, NULL) : NULL,
           *be = e ? BN_bin2bn(e, (int)el, NULL) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    /* at least 2048-bit moduli: smaller RSA keys are not accepted (RFC 7518 §3.3) */
    if (bn && be && bld && BN_num_bits(bn) >= 2048 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pkey = from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn), BN_free(be);
    free(n), free(e);
    return pkey;
}

static EVP_PKEY *ec_key(json_t *jwk)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    size_t xl = 0, yl = 0;
    unsigned char *x = member_bytes(jwk, "x", &xl), *y = member_bytes(jwk, "y", &yl);
    EVP_PKEY *pkey = NULL;
    if (crv && strcmp(crv, "P-256") == 0 && x && y && xl == 32 && yl == 32) {
        unsigned char pt[65] = {0x04}; /* uncompressed point */
        memcpy(pt + 1, x, 32);
        memcpy(pt + 33, y, 32);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        if (bld &&
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt))
            pkey = from_params("EC", bld); /* fails for points not on the curve */
        OSSL_PARAM_BLD_free(bld);
    }
    free(x), free(y);
    return pkey;
}

static EVP_PKEY *okp_key(json_t *jwk)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    size_t xl = 0;
    unsigned char *x = member_bytes(jwk, "x", &xl);
    EVP_PKEY *pkey = NULL;
    if (crv && strcmp(crv, "Ed25519") == 0 && x && xl == 32)
        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
    free(x);
    return pkey;
}

static EVP_PKEY *jwk_key(json_t *jwk, const char *kty)
{
    if (strcmp(kty, "RSA") == 0)
        return rsa_key(jwk);
    if (strcmp(kty, "EC") == 0)
        return ec_key(jwk);
    if (strcmp(kty, "OKP") == 0)
        return okp_key(jwk);
    return NULL; /* "oct" and anything else: symmetric keys are never used */
}

int rc_jwks_parse(const char *text, size_t len, rc_jwks *out)
{
    memset(out, 0, sizeof *out);
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        json_decref(doc);
        return RC_EJWKS;
    }
    out->keys = calloc(json_array_size(keys) + 1, sizeof *out->keys);
    size_t i;
    json_t *jwk;
    json_array_foreach(keys, i, jwk)
    {
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        const char *use = json_string_value(json_object_get(jwk, "use"));
        if (!out->keys || !kty || (use && strcmp(use, "sig") != 0))
            continue;
        EVP_PKEY *pkey = jwk_key(jwk, kty);
        if (!pkey)
            continue;
        rc_jwk *k = &out->keys[out->n++];
        k->pkey = pkey;
        k->kty = rc_strdup(kty);
        k->kid = rc_strdup(json_string_value(json_object_get(jwk, "kid")));
        k->alg = rc_strdup(json_string_value(json_object_get(jwk, "alg")));
    }
    json_decref(doc);
    return out->keys ? RC_OK : RC_ENOMEM;
}

void rc_jwks_dispose(rc_jwks *jwks)
{
    for (size_t i = 0; i < jwks->n; i++) {
        EVP_PKEY_free(jwks->keys[i].pkey);
        free(jwks->keys[i].kid), free(jwks->keys[i].alg), free(jwks->keys[i].kty);
    }
    free(jwks->keys);
    memset(jwks, 0, sizeof *jwks);
}
