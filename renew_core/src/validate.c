/* Token validation outside a client, for validators (renewlab probe): the same JWKS and
 * ID-token code a client runs, behind renew_core.h. */
#include <string.h>

#include "rc_int.h"

int rc_jwks_usable_keys(const char *text, size_t len)
{
    rc_jwks keys = {0};
    int rc = text ? rc_jwks_parse(text, len, &keys) : RC_EJWKS;
    int n = rc == RC_OK ? (int)keys.n : rc;
    rc_jwks_dispose(&keys);
    return n;
}

/* The check, with the JWKS parsed and the token split. */
static int check(const rc_jwt *jwt, const rc_jwks *keys, const rc_id_token_check *c,
                 json_t *original)
{
    int rc = rc_jwt_verify(jwt, keys);
    if (rc != RC_OK)
        return rc;
    rc_idt_expect e = {.issuer = c->issuer,
                       .client_id = c->client_id,
                       .nonce = c->nonce,
                       .access_token = c->access_token,
                       .original = original,
                       .now_ms = c->now_ms,
                       .skew_ms = c->skew_ms};
    return rc_idt_check_claims(jwt->claims, json_string_value(json_object_get(jwt->header, "alg")),
                               &e);
}

int rc_id_token_validate(const char *id_token, const char *jwks_text, const rc_id_token_check *c)
{
    if (!id_token || !jwks_text || !c || !c->issuer || !c->client_id)
        return RC_EINVAL;
    rc_jwt jwt = {0}, orig = {0};
    rc_jwks keys = {0};
    int rc = rc_jwt_parse(id_token, &jwt);
    if (rc == RC_OK)
        rc = rc_jwks_parse(jwks_text, strlen(jwks_text), &keys);
    int have_orig = c->original_id_token && rc_jwt_parse(c->original_id_token, &orig) == RC_OK;
    if (rc == RC_OK)
        rc = check(&jwt, &keys, c, have_orig ? orig.claims : NULL);
    rc_jwt_dispose(&jwt);
    rc_jwt_dispose(&orig);
    rc_jwks_dispose(&keys);
    return rc;
}
