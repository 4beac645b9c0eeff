/* The load model (`renewlab load`, docs/load.md): N renew_core clients against the mock
 * IdP on the virtual clock, through an in-memory transport; the token endpoint's request
 * rate over virtual time. */
#ifndef HR_LOAD_H
#define HR_LOAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define HR_LOAD_MAX_OUTAGES 8
#define HR_LOAD_MAX_LIFETIMES 8

typedef struct hr_outage {
    int64_t start_ms, length_ms; /* from the start of the run */
} hr_outage;

typedef struct hr_load_params {
    size_t clients;
    int64_t duration_ms;
    int64_t access_token_ms[HR_LOAD_MAX_LIFETIMES]; /* access-token lifetimes: client i gets */
    size_t n_lifetimes;                             /* the (i mod n)-th (one IdP client each) */
    int64_t renew_before_ms;                        /* renew this long before expiry ... */
    int64_t jitter_ms;       /* ... and up to this much earlier, drawn per renewal */
    int64_t login_spread_ms; /* logins spread evenly at random over this window */
    int64_t latency_ms;      /* each answer arrives this long after the request */
    int64_t app_retry_ms;    /* after renew_core gives up, the app asks again this late */
    int64_t bucket_ms;       /* rate series resolution */
    int max_retries;         /* renew_core's transient retries before giving up */
    hr_outage outages[HR_LOAD_MAX_OUTAGES];
    size_t n_outages;
    uint64_t seed;
} hr_load_params;

/** Run one model. Returns its result (new reference: parameters, the per-bucket series
 * and the summary; docs/load.md), or NULL with the reason in @p err. */
json_t *hr_load_run(const hr_load_params *p, char *err, size_t errlen);

#endif
