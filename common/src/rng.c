/* RNG implementations: OpenSSL for production, xoshiro256** for seeded determinism. */
#include "cm_rng.h"
#include "cm_b64url.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

/* RAND_bytes costs about a microsecond however few bytes it gives, and the IdP draws a few
 * for every token: small draws come from a per-thread pool filled POOL bytes at a time,
 * each byte wiped once given. A forked child empties its pool: it must never repeat the
 * bytes its parent will give. */
#define POOL 256
static _Thread_local struct {
    uint8_t bytes[POOL];
    size_t left;
} pool;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_forget(void)
{
    OPENSSL_cleanse(pool.bytes, sizeof pool.bytes);
    pool.left = 0;
}

static void forget_in_children(void)
{
    pthread_atfork(NULL, NULL, pool_forget);
}

static int openssl_bytes(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    if (n > POOL / 4)
        return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
    pthread_once(&atfork_once, forget_in_children);
    if (pool.left < n) {
        if (RAND_bytes(pool.bytes, POOL) != 1)
            return -1;
        pool.left = POOL;
    }
    uint8_t *from = pool.bytes + POOL - pool.left;
    memcpy(out, from, n);
    OPENSSL_cleanse(from, n);
    pool.left -= n;
    return 0;
}

cm_rng cm_rng_openssl(void)
{
    return (cm_rng){.bytes = openssl_bytes, .ctx = NULL};
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(cm_seeded_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static int seeded_bytes(void *ctx, uint8_t *out, size_t n)
{
    while (n > 0) {
        uint64_t v = xoshiro_next(ctx);
        size_t k = n < 8 ? n : 8;
        memcpy(out, &v, k);
        out += k;
        n -= k;
    }
    return 0;
}

cm_rng cm_rng_seeded(cm_seeded_rng *state, uint64_t seed)
{
    /* splitmix64 expands the seed so that nearby seeds give unrelated streams */
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        state->s[i] = z ^ (z >> 31);
    }
    return (cm_rng){.bytes = seeded_bytes, .ctx = state};
}

double cm_rng_unit(const cm_rng *rng)
{
    uint64_t v;
    if (rng->bytes(rng->ctx, (uint8_t *)&v, sizeof v) != 0)
        return -1.0;
    return (double)(v >> 11) * (1.0 / 9007199254740992.0); /* 53 bits */
}

int cm_rng_token(const cm_rng *rng, size_t nbytes, char *out, size_t outsize)
{
    uint8_t raw[64];
    if (nbytes > sizeof raw || outsize < cm_b64url_encoded_size(nbytes))
        return -1;
    if (rng->bytes(rng->ctx, raw, nbytes) != 0)
        return -1;
    cm_b64url_encode(raw, nbytes, out);
    return 0;
}
