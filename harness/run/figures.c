/* Timing figures of a run: renewal lead time, requests per renewal, time without a valid
 * access token, retries and their spacing. */
#include "harness.h"
#include "trace_access.h"

#include <string.h>

/* Silent renewals that succeeded: codes from a prompt=none authorize, redeemed with 200,
 * after the first code redeemed (the login, which may use prompt=none with a cookie too). */
static int silent_renewals(json_t *trace)
{
    int n = 0, first = 1;
    size_t i, k;
    json_t *e, *a;
    json_array_foreach(trace, i, e)
    {
        const char *code = hr_str(e, "presented");
        if (strcmp(hr_str(e, "grant_type"), "authorization_code") || hr_status(e) != 200)
            continue;
        if (first) {
            first = 0;
            continue;
        }
        json_array_foreach(trace, k, a) if (k < i && !strcmp(hr_str(a, "endpoint"), "authorize") &&
                                            !strcmp(hr_str(a, "prompt"), "none") &&
                                            !strcmp(hr_str(a, "issued"), code))
        {
            n++;
            break;
        }
    }
    return n;
}

json_t *hr_figures(json_t *trace, json_t *events)
{
    double lead_min = -1, lead_sum = 0, expiry = -1, first = -1, uncovered = 0, end = 0;
    double latency_sum = 0;
    int leads = 0, refreshes = 0, ok = 0, retries = 0;
    json_t *spacing = json_array(), *prev_refresh = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(trace, i, e)
    {
        end = hr_t(e) > end ? hr_t(e) : end;
        if (hr_is_refresh(e)) {
            refreshes++;
            int st = (int)json_integer_value(json_object_get(e, "status"));
            if (prev_refresh &&
                json_integer_value(json_object_get(prev_refresh, "status")) != 200) {
                retries++;
                json_array_append_new(spacing, json_real(hr_t(e) - hr_t(prev_refresh)));
            }
            ok += st == 200;
            /* virtual latency: how long the IdP held the answer (0 unless a rule delays it) */
            latency_sum += st == 200 ? json_number_value(json_object_get(e, "held_for")) : 0;
            prev_refresh = e;
        }
        if (!hr_issued_at(e))
            continue;
        if (first < 0)
            first = hr_t(e);
        if (expiry >= 0 && hr_is_refresh(e)) {
            double lead = expiry - hr_t(e);
            lead_min = lead_min < 0 || lead < lead_min ? lead : lead_min;
            lead_sum += lead;
            leads++;
        }
        if (expiry >= 0 && hr_t(e) > expiry)
            uncovered += hr_t(e) - expiry;
        expiry = hr_t(e) + json_number_value(json_object_get(e, "expires_in"));
    }
    json_array_foreach(events, i, e) end = hr_t(e) > end ? hr_t(e) : end;
    (void)first;
    int silent = silent_renewals(trace);
    return json_pack("{s:i, s:i, s:i, s:o, s:o, s:o, s:f, s:i, s:o, s:o}", "refresh_requests",
                     refreshes, "renewals", ok + silent, "silent_renewals", silent, "lead_time_min",
                     lead_min < 0 ? json_null() : json_real(lead_min), "lead_time_mean",
                     leads ? json_real(lead_sum / leads) : json_null(), "requests_per_renewal",
                     ok ? json_real((double)refreshes / ok) : json_null(),
                     "seconds_without_valid_token", uncovered, "retries", retries, "retry_spacing",
                     spacing, "renewal_latency_mean",
                     ok ? json_real(latency_sum / ok) : json_null());
}
