/* ID-token validation: every rejection path, with tokens the test signs itself. */
#include <criterion/criterion.h>
#include <openssl/sha.h>

#include "rc_int.h"
#include "signer.h"

#define NOW_MS 1800000000000LL
#define ISS "https://idp.example"

static EVP_PKEY *rsa, *ec, *ed, *rsa_other;
static rc_jwks jwks;

static void load_jwks(json_t *keys)
{
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *text = json_dumps(doc, 0);
    rc_jwks_dispose(&jwks);
    cr_assert_eq(rc_jwks_parse(text, strlen(text), &jwks), RC_OK);
    free(text);
    json_decref(doc);
}

static void setup(void)
{
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    memset(&jwks, 0, sizeof jwks);
    load_jwks(json_pack("[o,o,o]", t_jwk(rsa, "r1"), t_jwk(ec, "e1"), t_jwk(ed, "d1")));
}

static void teardown(void)
{
    rc_jwks_dispose(&jwks);
    EVP_PKEY_free(rsa), EVP_PKEY_free(ec), EVP_PKEY_free(ed), EVP_PKEY_free(rsa_other);
}

TestSuite(jwt, .init = setup, .fini = teardown);

static json_t *claims(void)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "iss", ISS, "sub", "alice", "aud", "app",
                     "iat", (json_int_t)(NOW_MS / 1000), "exp", (json_int_t)(NOW_MS / 1000 + 300),
                     "auth_time", (json_int_t)(NOW_MS / 1000 - 100), "nonce", "n-1");
}

static rc_idt_expect login_expect(void)
{
    return (rc_idt_expect){
        .issuer = ISS, .client_id = "app", .nonce = "n-1", .now_ms = NOW_MS, .skew_ms = 60000};
}

/* parse + verify + claims, as the client does */
static int validate(const char *token, const rc_idt_expect *e)
{
    rc_jwt jwt;
    int rc = rc_jwt_parse(token, &jwt);
    if (rc == RC_OK)
        rc = rc_jwt_verify(&jwt, &jwks);
    if (rc == RC_OK)
        rc = rc_idt_check_claims(jwt.claims, json_string_value(json_object_get(jwt.header, "alg")),
                                 e);
    rc_jwt_dispose(&jwt);
    return rc;
}

static int check(EVP_PKEY *key, const char *alg, const char *kid, json_t *c, rc_idt_expect e)
{
    char *tok = t_sign(key, alg, kid, c);
    int rc = validate(tok, &e);
    free(tok);
    json_decref(c);
    return rc;
}

Test(jwt, accepts_rs256_es256_and_eddsa)
{
    cr_assert_eq(check(rsa, "RS256", "r1", claims(), login_expect()), RC_OK);
    cr_assert_eq(check(ec, "ES256", "e1", claims(), login_expect()), RC_OK);
    cr_assert_eq(check(ed, "EdDSA", "d1", claims(), login_expect()), RC_OK);
}

Test(jwt, rejects_alg_none_and_hs256_even_keyed_with_the_public_key)
{
    cr_assert_eq(check(NULL, "none", "r1", claims(), login_expect()), RC_EJWT_ALG);
    cr_assert_eq(check(NULL, "HS256", "r1", claims(), login_expect()), RC_EJWT_ALG);
    cr_assert_eq(check(rsa, "RS512", "r1", claims(), login_expect()), RC_EJWT_ALG);
}

Test(jwt, rejects_an_algorithm_that_does_not_fit_the_key)
{
    /* an ES256 signature claiming the RSA key's kid */
    cr_assert_eq(check(ec, "ES256", "r1", claims(), login_expect()), RC_EJWT_KID);
}

Test(jwt, unknown_kid_and_ambiguous_missing_kid)
{
    cr_assert_eq(check(rsa, "RS256", "nope", claims(), login_expect()), RC_EJWT_KID);
    load_jwks(json_pack("[o,o]", t_jwk(rsa, "a"), t_jwk(rsa_other, "b")));
    json_t *c = claims();
    char *payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    char *tok = t_sign_raw(rsa, "RS256", "{\"alg\":\"RS256\"}", payload);
    rc_idt_expect e = login_expect();
    cr_assert_eq(validate(tok, &e), RC_EJWT_KID, "two RSA keys and no kid: ambiguous");
    free(tok);
    load_jwks(json_pack("[o]", t_jwk(rsa, "only")));
    tok = t_sign_raw(rsa, "RS256", "{\"alg\":\"RS256\"}", payload);
    cr_assert_eq(validate(tok, &e), RC_OK, "a single key needs no kid");
    free(tok);
    free(payload);
}

Test(jwt, rejects_a_signature_by_another_key_and_a_tampered_payload)
{
    cr_assert_eq(check(rsa_other, "RS256", "r1", claims(), login_expect()), RC_EJWT_SIGNATURE);
    json_t *c = claims();
    char *tok = t_sign(ec, "ES256", "e1", c);
    json_decref(c);
    char *dot = strchr(tok, '.') + 1;
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    rc_idt_expect e = login_expect();
    int rc = validate(tok, &e);
    cr_assert(rc == RC_EJWT_SIGNATURE || rc == RC_EJWT_MALFORMED, "%s", rc_err_name(rc));
    free(tok);
}

Test(jwt, rejects_malformed_tokens)
{
    rc_idt_expect e = login_expect();
    const char *bad[] = {"", "a.b", "a.b.c.d", "!!.e30.", "eyJhbGciOiJSUzI1NiJ9.W10."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(validate(bad[i], &e), RC_EJWT_MALFORMED, "%s", bad[i]);
    cr_assert_eq(validate("e30.e30.e30", &e), RC_EJWT_ALG, "a header without alg");
    char *dup = t_sign_raw(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
                           "{\"sub\":\"alice\",\"sub\":\"mallory\"}");
    cr_assert_eq(validate(dup, &e), RC_EJWT_MALFORMED, "duplicate claim names");
    free(dup);
    json_t *c = claims();
    char *padded = t_sign(rsa, "RS256", "r1", c);
    json_decref(c);
    char *with_pad = malloc(strlen(padded) + 3);
    sprintf(with_pad, "%s==", padded);
    cr_assert_eq(validate(with_pad, &e), RC_EJWT_MALFORMED, "base64url has no padding");
    free(padded), free(with_pad);
    char *huge = malloc(RC_JWT_MAX_LEN + 2);
    memset(huge, 'a', RC_JWT_MAX_LEN + 1);
    huge[RC_JWT_MAX_LEN + 1] = '\0';
    huge[10] = '.', huge[20] = '.';
    cr_assert_eq(validate(huge, &e), RC_EJWT_MALFORMED, "oversized");
    free(huge);
}

Test(jwt, rejects_unknown_critical_headers)
{
    char *tok =
        t_sign_raw(rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"],\"exp\":1}",
                   "{\"sub\":\"alice\"}");
    rc_idt_expect e = login_expect();
    cr_assert_eq(validate(tok, &e), RC_EJWT_CRIT);
    free(tok);
}

#define CLAIM_CASE(name, key, value, expected)                                                     \
    Test(jwt, name)                                                                                \
    {                                                                                              \
        json_t *c = claims();                                                                      \
        json_object_set_new(c, key, value);                                                        \
        cr_assert_eq(check(rsa, "RS256", "r1", c, login_expect()), expected);                      \
    }

CLAIM_CASE(rejects_wrong_iss, "iss", json_string("https://evil.example"), RC_EJWT_ISS)
CLAIM_CASE(rejects_wrong_aud, "aud", json_string("other"), RC_EJWT_AUD)
CLAIM_CASE(rejects_several_audiences_without_azp, "aud", json_pack("[ss]", "app", "api"),
           RC_EJWT_AZP)
CLAIM_CASE(rejects_azp_of_another_client, "azp", json_string("other"), RC_EJWT_AZP)
CLAIM_CASE(rejects_expired, "exp", json_integer(NOW_MS / 1000 - 61), RC_EJWT_EXP)
CLAIM_CASE(accepts_expiry_within_skew, "exp", json_integer(NOW_MS / 1000 - 59), RC_OK)
CLAIM_CASE(rejects_iat_in_the_future, "iat", json_integer(NOW_MS / 1000 + 61), RC_EJWT_IAT)
CLAIM_CASE(rejects_wrong_nonce, "nonce", json_string("n-2"), RC_EJWT_NONCE)
CLAIM_CASE(rejects_empty_sub, "sub", json_string(""), RC_EJWT_SUB)

Test(jwt, accepts_several_audiences_with_our_azp)
{
    json_t *c = claims();
    json_object_set_new(c, "aud", json_pack("[ss]", "app", "api"));
    json_object_set_new(c, "azp", json_string("app"));
    cr_assert_eq(check(rsa, "RS256", "r1", c, login_expect()), RC_OK);
}

Test(jwt, checks_at_hash_when_present)
{
    unsigned char md[32];
    char h[64];
    SHA256((const unsigned char *)"the-access-token", 16, md);
    cm_b64url_encode(md, 16, h);
    json_t *c = claims();
    json_object_set_new(c, "at_hash", json_string(h));
    rc_idt_expect e = login_expect();
    e.access_token = "the-access-token";
    cr_assert_eq(check(rsa, "RS256", "r1", json_incref(c), e), RC_OK);
    e.access_token = "another-token";
    cr_assert_eq(check(rsa, "RS256", "r1", c, e), RC_EJWT_AT_HASH);
}

/* OIDC Core §12.2: the refreshed ID token against the login's claims */
static int refresh_check(json_t *refreshed)
{
    json_t *orig = claims();
    rc_idt_expect e = {
        .issuer = ISS, .client_id = "app", .original = orig, .now_ms = NOW_MS, .skew_ms = 60000};
    int rc = check(rsa, "RS256", "r1", refreshed, e);
    json_decref(orig);
    return rc;
}

static json_t *refreshed(void)
{
    json_t *c = claims();
    json_object_del(c, "nonce"); /* SHOULD NOT be present on refresh */
    json_object_set_new(c, "iat", json_integer(NOW_MS / 1000));
    return c;
}

Test(jwt, refresh_accepts_no_nonce_or_the_original_nonce)
{
    cr_assert_eq(refresh_check(refreshed()), RC_OK);
    json_t *c = refreshed();
    json_object_set_new(c, "nonce", json_string("n-1"));
    cr_assert_eq(refresh_check(c), RC_OK);
}

#define REFRESH_CASE(name, key, value, expected)                                                   \
    Test(jwt, name)                                                                                \
    {                                                                                              \
        json_t *c = refreshed();                                                                   \
        json_object_set_new(c, key, value);                                                        \
        cr_assert_eq(refresh_check(c), expected);                                                  \
    }

REFRESH_CASE(refresh_rejects_another_sub, "sub", json_string("bob"), RC_EJWT_SUB)
REFRESH_CASE(refresh_rejects_changed_auth_time, "auth_time", json_integer(NOW_MS / 1000),
             RC_EJWT_AUTH_TIME)
REFRESH_CASE(refresh_rejects_added_azp, "azp", json_string("app"), RC_EJWT_AZP)
REFRESH_CASE(refresh_rejects_another_nonce, "nonce", json_string("n-2"), RC_EJWT_NONCE)
REFRESH_CASE(refresh_accepts_the_same_audience_as_an_array, "aud", json_pack("[s]", "app"), RC_OK)

Test(jwt, refresh_rejects_changed_audiences)
{
    json_t *orig = claims();
    json_object_set_new(orig, "aud", json_pack("[ss]", "app", "api"));
    json_object_set_new(orig, "azp", json_string("app"));
    json_t *c = refreshed();
    json_object_set_new(c, "aud", json_pack("[ss]", "app", "other-api"));
    json_object_set_new(c, "azp", json_string("app"));
    rc_idt_expect e = {
        .issuer = ISS, .client_id = "app", .original = orig, .now_ms = NOW_MS, .skew_ms = 60000};
    cr_assert_eq(check(rsa, "RS256", "r1", c, e), RC_EJWT_AUD);
    json_decref(orig);
}

Test(jwt, jwks_skips_unusable_keys_and_refuses_small_rsa)
{
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    json_t *oct = json_pack("{s:s,s:s,s:s}", "kty", "oct", "kid", "h", "k", "c2VjcmV0");
    json_t *enc = t_jwk(ec, "enc");
    json_object_set_new(enc, "use", json_string("enc"));
    load_jwks(json_pack("[o,o,o,o]", t_jwk(small, "small"), oct, enc, t_jwk(rsa, "r1")));
    cr_assert_eq(jwks.n, 1);
    cr_assert_str_eq(jwks.keys[0].kid, "r1");
    EVP_PKEY_free(small);
    rc_jwks bad;
    cr_assert_eq(rc_jwks_parse("{\"keys\": 1}", 11, &bad), RC_EJWKS);
    rc_jwks_dispose(&bad);
    cr_assert_eq(rc_jwks_parse("nope", 4, &bad), RC_EJWKS);
    rc_jwks_dispose(&bad);
}
