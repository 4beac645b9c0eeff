/* Error names and descriptions, and small string helpers. */
#include "rc_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct err_info {
    int code;
    const char *name, *text;
} err_info;

static const err_info ERRORS[] = {
    {RC_OK, "RC_OK", "ok"},
    {RC_ENOMEM, "RC_ENOMEM", "out of memory"},
    {RC_EINVAL, "RC_EINVAL", "invalid argument or configuration"},
    {RC_ETRANSPORT, "RC_ETRANSPORT", "connection failed, reset or closed"},
    {RC_ETIMEOUT, "RC_ETIMEOUT", "request timed out"},
    {RC_EHTTP, "RC_EHTTP", "unexpected HTTP status"},
    {RC_EPROTOCOL, "RC_EPROTOCOL", "malformed answer"},
    {RC_EOAUTH, "RC_EOAUTH", "OAuth error"},
    {RC_EINVALID_GRANT, "RC_EINVALID_GRANT", "grant invalid, expired or revoked"},
    {RC_EINVALID_CLIENT, "RC_EINVALID_CLIENT", "client authentication failed"},
    {RC_EDISCOVERY, "RC_EDISCOVERY", "discovery metadata unusable"},
    {RC_EJWKS, "RC_EJWKS", "JWKS unusable"},
    {RC_EJWT_MALFORMED, "RC_EJWT_MALFORMED", "malformed JWT"},
    {RC_EJWT_ALG, "RC_EJWT_ALG", "JWT algorithm not allowed"},
    {RC_EJWT_KID, "RC_EJWT_KID", "no key for the JWT"},
    {RC_EJWT_SIGNATURE, "RC_EJWT_SIGNATURE", "JWT signature invalid"},
    {RC_EJWT_CRIT, "RC_EJWT_CRIT", "unknown critical JWT header"},
    {RC_EJWT_ISS, "RC_EJWT_ISS", "ID token issuer wrong"},
    {RC_EJWT_AUD, "RC_EJWT_AUD", "ID token audience wrong"},
    {RC_EJWT_AZP, "RC_EJWT_AZP", "ID token azp wrong or added"},
    {RC_EJWT_EXP, "RC_EJWT_EXP", "ID token expired"},
    {RC_EJWT_IAT, "RC_EJWT_IAT", "ID token issued in the future"},
    {RC_EJWT_NONCE, "RC_EJWT_NONCE", "ID token nonce wrong"},
    {RC_EJWT_AT_HASH, "RC_EJWT_AT_HASH", "ID token at_hash does not match"},
    {RC_EJWT_SUB, "RC_EJWT_SUB", "ID token subject missing or changed"},
    {RC_EJWT_AUTH_TIME, "RC_EJWT_AUTH_TIME", "ID token auth_time changed"},
    {RC_ENO_SESSION, "RC_ENO_SESSION", "no session"},
    {RC_EINTERACTION, "RC_EINTERACTION", "interaction required"},
    {RC_ELOGGED_OUT, "RC_ELOGGED_OUT", "logged out"},
    {RC_EGAVE_UP, "RC_EGAVE_UP", "gave up after transient failures"},
    {RC_ESTATE, "RC_ESTATE", "state or PKCE check failed"},
};

static const err_info *find(int code)
{
    for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++)
        if (ERRORS[i].code == code)
            return &ERRORS[i];
    return NULL;
}

const char *rc_strerror(int status)
{
    const err_info *e = find(status);
    return e ? e->text : "unknown error";
}

const char *rc_err_name(int status)
{
    const err_info *e = find(status);
    return e ? e->name : "RC_E?";
}

int rc_is_transient(int status)
{
    return status == RC_ETRANSPORT || status == RC_ETIMEOUT || status == RC_EHTTP ||
           status == RC_EPROTOCOL;
}

char *rc_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

void rc_set_str(char **dst, const char *src)
{
    char *copy = rc_strdup(src);
    free(*dst);
    *dst = copy;
}
