/* Randomness through one interface: OpenSSL in production, a seeded generator in tests. */
#ifndef CM_RNG_H
#define CM_RNG_H

#include "cm_export.h"
#include <stddef.h>
#include <stdint.h>

typedef struct cm_rng {
    /** Fill @p out with @p n random bytes. Returns 0, or -1 on failure. */
    int (*bytes)(void *ctx, uint8_t *out, size_t n);
    void *ctx;
} cm_rng;

/** State of the deterministic generator (xoshiro256**, seeded through splitmix64). */
typedef struct cm_seeded_rng {
    uint64_t s[4];
} cm_seeded_rng;

/** An RNG backed by OpenSSL RAND_bytes. */
CM_EXTERN cm_rng cm_rng_openssl(void);
/** Initialise @p state from @p seed and return an RNG that uses it (state is borrowed). */
CM_EXTERN cm_rng cm_rng_seeded(cm_seeded_rng *state, uint64_t seed);
/** A uniformly distributed double in [0, 1). Returns -1.0 when the RNG fails. */
CM_EXTERN double cm_rng_unit(const cm_rng *rng);
/** Random bytes as unpadded base64url text of @p nbytes bytes of entropy into @p out
 * (size >= 4*nbytes/3+4). Returns 0 or -1. */
CM_EXTERN int cm_rng_token(const cm_rng *rng, size_t nbytes, char *out, size_t outsize);

#endif
