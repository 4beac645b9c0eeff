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

static int latest_key(const char *client_id, const char *sub, char *key, size_t n)
{
    int len = snprintf(key, n, "%s %s", client_id ? client_id : "", sub ? sub : "");
    return len > 0 && (size_t)len < n ? 0 : -1;
}

void Idp_value_note_id_token(idp_store *st, const char *client_id, const char *sub, const char *jwt)
{
    char key[600], value[48];
    size_t limit = st->limit ? st->limit : 10000; /* bounded as the store is */
    if (!jwt || latest_key(client_id, sub, key, sizeof key) != 0 ||
        (st->latest_idt.count >= limit && !cm_map_get(&st->latest_idt, key)))
        return; /* not remembered: a hint of it is refused as not the latest */
    Idp_value_key(jwt, value);
    char *copy = strdup(value);
    free(cm_map_remove(&st->latest_idt, key));
    if (copy && cm_map_put(&st->latest_idt, key, copy) != 0)
        free(copy);
}

int Idp_value_is_latest_id_token(const idp_store *st, const char *client_id, const char *sub,
                                 const char *jwt)
{
    char key[600], value[48];
    if (latest_key(client_id, sub, key, sizeof key) != 0)
        return 0;
    const char *latest = cm_map_get(&st->latest_idt, key);
    Idp_value_key(jwt, value);
    return latest && !strcmp(latest, value);
}
