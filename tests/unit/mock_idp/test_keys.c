/* Keys and JWS: sign and verify per algorithm, tampering and foreign keys rejected. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "idp_int.h"

ParameterizedTestParameters(keys, sign_verify_round_trip)
{
    static idp_alg algs[] = {IDP_ALG_RS256, IDP_ALG_ES256, IDP_ALG_EDDSA};
    return cr_make_param_array(idp_alg, algs, 3);
}

ParameterizedTest(idp_alg *alg, keys, sign_verify_round_trip)
{
    idp_keys k = {0}, other = {0};
    cr_assert_eq(Idp_keys_add_generated(&k, *alg), 0);
    cr_assert_eq(Idp_keys_add_generated(&other, *alg), 0);
    json_t *claims = json_pack("{s:s, s:i}", "sub", "alice", "iat", 1);
    char *jws = Idp_jws_sign(&k, "JWT", claims);
    cr_assert_not_null(jws);
    json_t *back = Idp_jws_verify(&k, jws);
    cr_assert(json_equal(back, claims));
    json_decref(back);
    cr_assert_null(Idp_jws_verify(&other, jws), "another key set must not verify it");
    char *dot = strrchr(jws, '.');
    dot[1] = dot[1] == 'A' ? 'B' : 'A'; /* flip the signature */
    cr_assert_null(Idp_jws_verify(&k, jws));
    free(jws);
    json_decref(claims);
    Idp_keys_dispose(&k);
    Idp_keys_dispose(&other);
}

Test(keys, es256_signatures_verify_whatever_their_integers_look_like)
{
    /* r or s has a leading zero byte (31 significant bytes) or a high bit (33 in DER) in
     * about one signature in a hundred: 1500 signatures meet every case */
    idp_keys k = {0};
    cr_assert_eq(Idp_keys_add_generated(&k, IDP_ALG_ES256), 0);
    json_t *claims = json_pack("{s:s}", "sub", "alice");
    for (int i = 0; i < 1500; i++) {
        char *jws = Idp_jws_sign(&k, "JWT", claims);
        json_t *back = Idp_jws_verify(&k, jws);
        cr_assert(back && json_equal(back, claims), "signature %d: %s", i, jws);
        json_decref(back);
        free(jws);
    }
    json_decref(claims);
    Idp_keys_dispose(&k);
}

Test(keys, rotation_publishes_old_key_until_the_overlap_ends)
{
    idp_keys k = {0};
    Idp_keys_add_generated(&k, IDP_ALG_ES256);
    json_t *claims = json_pack("{s:s}", "sub", "a");
    char *old = Idp_jws_sign(&k, "JWT", claims);
    cr_assert_eq(Idp_keys_rotate(&k, 1000, 500), 0);
    json_t *jwks = Idp_keys_jwks(&k, 1499);
    cr_assert_eq(json_array_size(json_object_get(jwks, "keys")), 2);
    json_decref(jwks);
    jwks = Idp_keys_jwks(&k, 1500);
    cr_assert_eq(json_array_size(json_object_get(jwks, "keys")), 1);
    json_decref(jwks);
    json_t *v = Idp_jws_verify(&k, old);
    cr_assert_not_null(v, "tokens of a retired key still verify for id_token_hint");
    json_decref(v);
    free(old);
    json_decref(claims);
    Idp_keys_dispose(&k);
}

Test(keys, verify_rejects_malformed_and_alg_none)
{
    idp_keys k = {0};
    Idp_keys_add_generated(&k, IDP_ALG_ES256);
    const char *bad[] = {"", "a.b", "a.b.c.d", "eyJhbGciOiJub25lIn0.e30.", "!!.!!.!!"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_null(Idp_jws_verify(&k, bad[i]), "%s", bad[i]);
    Idp_keys_dispose(&k);
}
