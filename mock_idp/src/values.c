/* Token values and the keys the store finds them by (token values are never kept in
 * the trace or the state; long ones, JWTs, are kept as their hash). */
#include "cm_rng.h"
#include "keys.h"
#include "server_state.h"
#include "store.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"

void Idp_value_key_of_hash(const unsigned char md[32], char key[48])
{
    key[0] = '#';
    cm_b64url_encode(md, SHA256_DIGEST_LENGTH, key + 1);
}

void Idp_value_key(const char *value, char key[48])
{
    size_t n = strlen(value);
    if (n < 48) {
        memcpy(key, value, n + 1);
        return;
    }
    unsigned char md[SHA256_DIGEST_LENGTH];
    Idp_sha256(value, n, md);
    Idp_value_key_of_hash(md, key);
}

char *Idp_value_random(idp_server *s)
{
    char buf[64];
    if (cm_rng_token(&s->rng, 32, buf, sizeof buf) != 0)
        return NULL;
    return strdup(buf);
}
