/* Signing keys, JWKS and compact JWS (RS256, ES256, EdDSA) with OpenSSL 3.
 * The IdP's own code: renew_core validates tokens with code of its own (docs/architecture.md). */
#include "cm_file.h"
#include "keys.h"
#include "mock_idp.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"
#include "cm_json.h"

int Idp_alg_parse(const char *name, idp_alg *out)
{
    if (strcmp(name, "RS256") == 0)
        *out = IDP_ALG_RS256;
    else if (strcmp(name, "ES256") == 0)
        *out = IDP_ALG_ES256;
    else if (strcmp(name, "EdDSA") == 0)
        *out = IDP_ALG_EDDSA;
    else
        return -1;
    return 0;
}

const char *Idp_alg_name(idp_alg alg)
{
    return alg == IDP_ALG_RS256 ? "RS256" : alg == IDP_ALG_ES256 ? "ES256" : "EdDSA";
}

static char *b64(const unsigned char *p, size_t n)
{
    char *out = malloc(cm_b64url_encoded_size(n));
    if (out)
        cm_b64url_encode(p, n, out);
    return out;
}

/* kid: the first 12 bytes of SHA-256 over the DER public key, base64url. Stable for a
 * loaded key, distinct per generated key. */
static void make_kid(EVP_PKEY *pkey, char *kid)
{
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
    int n = i2d_PUBKEY(pkey, &der);
    SHA256(der, n > 0 ? (size_t)n : 0, md);
    OPENSSL_free(der);
    cm_b64url_encode(md, 12, kid);
}

static int push_key(idp_keys *k, EVP_PKEY *pkey, idp_alg alg)
{
    idp_key *items = realloc(k->items, (k->n + 1) * sizeof *items);
    if (!items) {
        EVP_PKEY_free(pkey);
        return IDP_ENOMEM;
    }
    k->items = items;
    idp_key *key = &k->items[k->n++];
    memset(key, 0, sizeof *key);
    key->alg = alg;
    key->pkey = pkey;
    make_kid(pkey, key->kid);
    return 0;
}

int Idp_keys_add_generated(idp_keys *k, idp_alg alg)
{
    EVP_PKEY *pkey = alg == IDP_ALG_RS256   ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                     : alg == IDP_ALG_ES256 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                            : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pkey)
        return IDP_EKEY;
    return push_key(k, pkey, alg);
}

static int alg_of(EVP_PKEY *pkey, idp_alg *alg)
{
    if (EVP_PKEY_is_a(pkey, "RSA"))
        *alg = IDP_ALG_RS256;
    else if (EVP_PKEY_is_a(pkey, "EC"))
        *alg = IDP_ALG_ES256;
    else if (EVP_PKEY_is_a(pkey, "ED25519"))
        *alg = IDP_ALG_EDDSA;
    else
        return -1;
    return 0;
}

int Idp_keys_add_pkey(idp_keys *k, void *key, char *err, size_t errlen)
{
    EVP_PKEY *pkey = key;
    idp_alg alg;
    if (alg_of(pkey, &alg) != 0) {
        snprintf(err, errlen, "key type not supported (RSA, EC P-256, Ed25519)");
        return IDP_EKEY;
    }
    EVP_PKEY_up_ref(pkey);
    return push_key(k, pkey, alg);
}

void *idp_pem_key_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = cm_file_read(path, CM_FILE_MAX_TEXT, &len, err, errlen);
    if (!text)
        return NULL;
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(text, len);
    free(text);
    if (!pkey)
        snprintf(err, errlen, "%s: not a readable PEM private key", path);
    return pkey;
}

int Idp_keys_add_pem(idp_keys *k, const char *path, char *err, size_t errlen)
{
    EVP_PKEY *pkey = idp_pem_key_load(path, err, errlen);
    if (!pkey)
        return IDP_EKEY;
    int rc = Idp_keys_add_pkey(k, pkey, err, errlen);
    EVP_PKEY_free(pkey); /* add_pkey took its own reference */
    return rc;
}

int Idp_keys_rotate(idp_keys *k, int64_t now_ms, int64_t overlap_ms)
{
    for (size_t i = 0; i < k->n; i++)
        if (!k->items[i].retire_ms)
            k->items[i].retire_ms = now_ms + overlap_ms;
    return Idp_keys_add_generated(k, k->items[k->n - 1].alg);
}

void Idp_keys_dispose(idp_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        EVP_PKEY_free(k->items[i].pkey);
    free(k->items);
    memset(k, 0, sizeof *k);
}

static char *bn_param(EVP_PKEY *pkey, const char *name)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
        return NULL;
    int n = BN_num_bytes(bn);
    unsigned char *buf = malloc((size_t)n);
    char *out = NULL;
    if (buf) {
        BN_bn2bin(bn, buf);
        out = b64(buf, (size_t)n);
    }
    free(buf);
    BN_free(bn);
    return out;
}

static json_t *jwk_public(const idp_key *key)
{
    json_t *jwk =
        json_pack("{s:s, s:s, s:s}", "kid", key->kid, "use", "sig", "alg", Idp_alg_name(key->alg));
    if (key->alg == IDP_ALG_RS256) {
        char *n = bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N);
        char *e = bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E);
        json_object_set_new(jwk, "kty", json_string("RSA"));
        json_object_set_new(jwk, "n", json_string(n ? n : ""));
        json_object_set_new(jwk, "e", json_string(e ? e : ""));
        free(n), free(e);
    } else if (key->alg == IDP_ALG_ES256) {
        unsigned char pt[65];
        size_t len = 0;
        EVP_PKEY_get_octet_string_param(key->pkey, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &len);
        char *x = b64(pt + 1, 32), *y = b64(pt + 33, 32); /* uncompressed point 04||X||Y */
        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string("P-256"));
        json_object_set_new(jwk, "x", json_string(x ? x : ""));
        json_object_set_new(jwk, "y", json_string(y ? y : ""));
        free(x), free(y);
    } else {
        unsigned char raw[32];
        size_t len = sizeof raw;
        EVP_PKEY_get_raw_public_key(key->pkey, raw, &len);
        char *x = b64(raw, len);
        json_object_set_new(jwk, "kty", json_string("OKP"));
        json_object_set_new(jwk, "crv", json_string("Ed25519"));
        json_object_set_new(jwk, "x", json_string(x ? x : ""));
        free(x);
    }
    return jwk;
}

json_t *Idp_keys_jwks(idp_keys *k, int64_t now_ms)
{
    json_t *keys = json_array();
    for (size_t i = k->n; i-- > 0;) /* newest (the signing key) first */
        if (!k->items[i].retire_ms || k->items[i].retire_ms > now_ms)
            json_array_append_new(keys, jwk_public(&k->items[i]));
    return json_pack("{s:o}", "keys", keys);
}

/* One DER INTEGER of at most 32 significant bytes at *p (before @p end) into @p out,
 * left-padded with zeros. */
static int der_int32(const unsigned char **p, const unsigned char *end, unsigned char out[32])
{
    if (end - *p < 2 || (*p)[0] != 0x02)
        return -1;
    size_t n = (*p)[1];
    const unsigned char *v = *p + 2;
    if (n == 0 || n > 33 || (size_t)(end - v) < n)
        return -1;
    *p = v + n;
    if (n == 33) { /* a leading zero keeps a high bit from reading as negative */
        if (v[0] != 0)
            return -1;
        v++, n--;
    }
    memset(out, 0, 32 - n);
    memcpy(out + 32 - n, v, n);
    return 0;
}

/* ECDSA signatures come as DER, SEQUENCE { INTEGER r, INTEGER s } (at most 72 bytes for
 * P-256: short-form lengths); JWS wants the raw 64-byte R||S (RFC 7518 §3.4). Parsed here
 * without OpenSSL's ECDSA_SIG and BIGNUM allocations, twice per token answer. */
static int der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64])
{
    const unsigned char *p = der + 2, *end = der + len;
    if (len < 8 || der[0] != 0x30 || der[1] != len - 2)
        return -1;
    return der_int32(&p, end, raw) == 0 && der_int32(&p, end, raw + 32) == 0 && p == end ? 0 : -1;
}

static int raw_to_der(const unsigned char *raw, size_t len, unsigned char *der, size_t *derlen)
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
    if (n <= 0)
        return -1;
    *derlen = (size_t)n;
    return 0;
}

/* SHA-256 fetched once: EVP_sha256() looks the algorithm up in the provider store on
 * every use. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *alg_md(idp_alg alg)
{
    return alg == IDP_ALG_EDDSA ? NULL : EVP_sha256();
}

static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_md;
}

int Idp_sha256(const void *data, size_t n, unsigned char md[32])
{
    return sha256() && EVP_Digest(data, n, md, NULL, sha256(), NULL) == 1 ? 0 : -1;
}

/* RS256 and ES256 sign a SHA-256 digest with a context made once per key and thread:
 * EVP_DigestSignInit sets the key up again on every call (~3 us of a 23 us ES256
 * signature here). A context holds a reference to its key, so a cached key's address is
 * never reused by another; the cache is small and each thread empties its own on exit. */
#define SIGN_CONTEXTS 4
static _Thread_local struct sign_context {
    const EVP_PKEY *pkey;
    EVP_PKEY_CTX *ctx;
} sign_contexts[SIGN_CONTEXTS];
static _Thread_local unsigned sign_contexts_next;

void Idp_sign_contexts_clear(void)
{
    for (int i = 0; i < SIGN_CONTEXTS; i++) {
        EVP_PKEY_CTX_free(sign_contexts[i].ctx);
        sign_contexts[i] = (struct sign_context){0};
    }
}

static EVP_PKEY_CTX *sign_context(EVP_PKEY *pkey)
{
    for (int i = 0; i < SIGN_CONTEXTS; i++)
        if (sign_contexts[i].pkey == pkey)
            return sign_contexts[i].ctx;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx || !sha256() || EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, sha256()) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    struct sign_context *slot = &sign_contexts[sign_contexts_next++ % SIGN_CONTEXTS];
    EVP_PKEY_CTX_free(slot->ctx);
    *slot = (struct sign_context){pkey, ctx};
    return ctx;
}

static int sign_der(const idp_key *key, const char *input, unsigned char *der, size_t *derlen)
{
    if (key->alg == IDP_ALG_EDDSA) { /* Ed25519 signs the message itself */
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        int ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
                 EVP_DigestSign(md, der, derlen, (const unsigned char *)input, strlen(input)) == 1;
        EVP_MD_CTX_free(md);
        return ok ? 0 : -1;
    }
    unsigned char digest[32];
    EVP_PKEY_CTX *ctx = sign_context(key->pkey);
    return ctx && Idp_sha256(input, strlen(input), digest) == 0 &&
                   EVP_PKEY_sign(ctx, der, derlen, digest, sizeof digest) == 1
               ? 0
               : -1;
}

static int sign_input(const idp_key *key, const char *input, unsigned char *sig, size_t *siglen)
{
    unsigned char der[512];
    size_t derlen = sizeof der;
    if (sign_der(key, input, der, &derlen) != 0)
        return -1;
    if (key->alg == IDP_ALG_ES256) {
        *siglen = 64;
        return der_to_raw(der, derlen, sig);
    }
    memcpy(sig, der, derlen);
    *siglen = derlen;
    return 0;
}

/* HS256 keyed with the PEM of our public key: the algorithm-confusion attack a client
 * must refuse (it must never verify HS* with an asymmetric key). */
static int hmac_public_pem(const idp_key *key, const char *input, unsigned char *sig,
                           size_t *siglen)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long n = bio && PEM_write_bio_PUBKEY(bio, key->pkey) ? BIO_get_mem_data(bio, &pem) : 0;
    unsigned int len = 0;
    int ok = n > 0 && HMAC(EVP_sha256(), pem, (int)n, (const unsigned char *)input, strlen(input),
                           sig, &len) != NULL;
    BIO_free(bio);
    *siglen = len;
    return ok ? 0 : -1;
}

static json_t *jws_header(const idp_key *key, const char *typ, const char *mode)
{
    char kid[40];
    const char *alg = Idp_alg_name(key->alg);
    snprintf(kid, sizeof kid, "%s", key->kid);
    if (mode && strcmp(mode, "unknown_kid") == 0)
        snprintf(kid, sizeof kid, "unknown-%s", key->kid);
    if (mode && strcmp(mode, "alg_none") == 0)
        return json_pack("{s:s, s:s}", "alg", "none", "typ", typ);
    if (mode && strcmp(mode, "kid_absent") == 0) /* validly signed, but no kid to look up */
        return json_pack("{s:s, s:s}", "alg", alg, "typ", typ);
    if (mode && strcmp(mode, "hs256_public_key") == 0)
        alg = "HS256";
    return json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", kid, "typ", typ);
}

static char *b64_json(json_t *j)
{
    char *text = j ? cm_json_dumps_sorted(j, 0) : NULL;
    char *out = text ? b64((unsigned char *)text, strlen(text)) : NULL;
    free(text);
    return out;
}

static int sign_with_mode(const idp_key *key, const char *input, const char *mode,
                          unsigned char *sig, size_t *siglen)
{
    if (mode && strcmp(mode, "alg_none") == 0) {
        *siglen = 0;
        return 0;
    }
    if (mode && strcmp(mode, "hs256_public_key") == 0)
        return hmac_public_pem(key, input, sig, siglen);
    if (sign_input(key, input, sig, siglen) != 0)
        return -1;
    if (mode && strcmp(mode, "bad_signature") == 0)
        sig[*siglen / 2] ^= 0x01;
    return 0;
}

/* The header of an ordinary signature, as b64_json would encode it (compact, keys sorted)
 * without building it in jansson: a kid is base64url and typ one of ours, nothing to
 * escape. */
static char *plain_header_b64(const idp_key *key, const char *typ)
{
    char text[160];
    int n = snprintf(text, sizeof text, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"%s\"}",
                     Idp_alg_name(key->alg), key->kid, typ);
    return n > 0 && (size_t)n < sizeof text ? b64((unsigned char *)text, (size_t)n) : NULL;
}

/* @p a "." @p b (malloc'd), or NULL. */
static char *dot_join(const char *a, const char *b)
{
    size_t alen = strlen(a), blen = strlen(b);
    char *out = malloc(alen + blen + 2);
    if (out) {
        memcpy(out, a, alen);
        out[alen] = '.';
        memcpy(out + alen + 1, b, blen + 1);
    }
    return out;
}

/* Sign base64url(header) "." @p pb (the payload, base64url; taken). */
static char *sign_parts(const idp_key *key, const char *typ, char *pb, const char *mode)
{
    char *hb = NULL, *out = NULL;
    if (mode) {
        json_t *hdr = jws_header(key, typ, mode);
        hb = b64_json(hdr);
        json_decref(hdr);
    } else {
        hb = plain_header_b64(key, typ);
    }
    char *input = hb && pb ? dot_join(hb, pb) : NULL;
    unsigned char sig[512];
    size_t siglen;
    if (input && sign_with_mode(key, input, mode, sig, &siglen) == 0) {
        char *sb64 = b64(sig, siglen);
        out = sb64 ? dot_join(input, sb64) : NULL;
        free(sb64);
    }
    free(input);
    free(hb), free(pb);
    return out;
}

char *Idp_jws_sign_mode(const idp_keys *k, const char *typ, json_t *claims, const char *mode)
{
    return sign_parts(&k->items[k->n - 1], typ, b64_json(claims), mode);
}

char *Idp_jws_sign_text(const idp_keys *k, const char *typ, const char *payload)
{
    return sign_parts(&k->items[k->n - 1], typ,
                      b64((const unsigned char *)payload, strlen(payload)), NULL);
}

char *Idp_jws_sign(const idp_keys *k, const char *typ, json_t *claims)
{
    return Idp_jws_sign_mode(k, typ, claims, NULL);
}

static const idp_key *key_by_kid(const idp_keys *k, const char *kid)
{
    for (size_t i = 0; kid && i < k->n; i++)
        if (strcmp(k->items[i].kid, kid) == 0)
            return &k->items[i];
    return NULL;
}

static json_t *decode_json_part(const char *p, size_t n)
{
    size_t cap = cm_b64_decoded_max(n) + 1;
    uint8_t *buf = malloc(cap);
    long len = buf ? cm_b64url_decode(p, n, buf, cap) : -1;
    json_t *j =
        len >= 0 ? json_loadb((char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(buf);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static int verify_sig(const idp_key *key, const char *input, size_t inlen, const char *sigb64,
                      size_t siglen_b64)
{
    unsigned char sig[512], der[512];
    long n = cm_b64url_decode(sigb64, siglen_b64, sig, sizeof sig);
    if (n < 0)
        return -1;
    const unsigned char *vsig = sig;
    size_t vlen = (size_t)n;
    if (key->alg == IDP_ALG_ES256) {
        if (raw_to_der(sig, (size_t)n, der, &vlen) != 0)
            return -1;
        vsig = der;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, alg_md(key->alg), NULL, key->pkey) == 1 &&
             EVP_DigestVerify(md, vsig, vlen, (const unsigned char *)input, inlen) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

json_t *Idp_jws_verify(const idp_keys *k, const char *token)
{
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.'))
        return NULL;
    json_t *hdr = decode_json_part(token, (size_t)(d1 - token));
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const idp_key *key = key_by_kid(k, json_string_value(json_object_get(hdr, "kid")));
    int ok = key && alg && strcmp(alg, Idp_alg_name(key->alg)) == 0 &&
             verify_sig(key, token, (size_t)(d2 - token), d2 + 1, strlen(d2 + 1)) == 0;
    json_decref(hdr);
    return ok ? decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1)) : NULL;
}

void Idp_half_hash(idp_alg alg, const char *value, char *out)
{
    unsigned char md[SHA512_DIGEST_LENGTH];
    size_t half;
    if (alg == IDP_ALG_EDDSA) { /* Ed25519 pairs with SHA-512 for at_hash */
        SHA512((const unsigned char *)value, strlen(value), md);
        half = SHA512_DIGEST_LENGTH / 2;
    } else {
        Idp_sha256(value, strlen(value), md);
        half = SHA256_DIGEST_LENGTH / 2;
    }
    cm_b64url_encode(md, half, out);
}
