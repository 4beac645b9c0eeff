/* renew_core against the real mock IdP over loopback HTTP, on one virtual clock. */
#include "world.h"

static world W;

static void fini(void)
{
    w_free(&W);
}

TestSuite(integration, .fini = fini, .timeout = 30);

Test(integration, logs_in_and_renews_before_expiry_for_a_virtual_day)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    cr_assert_eq(w_events(&W, RC_EV_LOGGED_IN), 1);
    w_advance(&W, 86400LL * 1000 - 120 * 1000); /* a day, less the last refresh window */
    /* 300 s tokens renewed 60 s early: one refresh every 240 s */
    int refreshes = w_count(&W, "token", "refresh_token");
    cr_assert(refreshes >= 358 && refreshes <= 360, "refreshes: %d", refreshes);
    cr_assert_eq(w_events(&W, RC_EV_RENEWED), refreshes);
    cr_assert_not(w_reuse_detected(&W), "the core never reuses a rotated refresh token");
    for (int i = 0; i < W.n_events; i++)
        if (W.events[i].type == RC_EV_RENEWED)
            cr_assert_eq((W.events[i].t - WORLD_START_MS) % 240000, 0, "renewed on schedule");
}

Test(integration, refresh_token_absolute_lifetime_ends_the_session_without_retries)
{
    w_init(&W, NULL);
    w_patch_client(&W, "{\"refresh\": {\"absolute_lifetime\": 1000}}");
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    w_advance(&W, 3600 * 1000);
    cr_assert_eq(w_events(&W, RC_EV_SESSION_LOST), 1);
    int refreshes = w_count(&W, "token", "refresh_token");
    /* 4 good refreshes (240 s apart) then one invalid_grant, and nothing after it */
    cr_assert_eq(refreshes, 5, "refreshes: %d", refreshes);
    cr_assert_null(rc_client_access_token(W.client));
}

Test(integration, logout_revokes_refresh_then_access_token)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    cr_assert_eq(rc_client_logout(W.client, w_done, &W), RC_OK);
    cr_assert_eq(w_wait(&W), RC_OK);
    cr_assert_eq(w_count(&W, "revoke", NULL), 2);
    json_t *trace = w_trace(&W);
    json_t *first = json_array_get(trace, json_array_size(trace) - 2);
    cr_assert_str_eq(json_string_value(json_object_get(first, "presented")), "rt#1");
    json_decref(trace);
    cr_assert(W.idp->store.families[0]->revoked);
    int before = w_count(&W, "token", NULL);
    w_advance(&W, 3600 * 1000);
    cr_assert_eq(w_count(&W, "token", NULL), before, "never used again after logout");
    cr_assert_eq(rc_client_get_token(W.client, NULL, NULL), RC_ELOGGED_OUT);
}

Test(integration, revocation_503_is_retried_with_backoff)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    w_fault(&W, "{\"match\": {\"endpoint\": \"revoke\"}, \"times\": 2, \"action\": "
                "{\"type\": \"status\", \"status\": 503, \"error\": \"temporarily_unavailable\"}}");
    int64_t start = cm_clock_now(W.clock);
    cr_assert_eq(rc_client_logout(W.client, w_done, &W), RC_OK);
    cr_assert_eq(w_wait(&W), RC_OK);
    cr_assert_eq(w_count(&W, "revoke", NULL), 4); /* 503, 503, 200 (rt), 200 (at) */
    cr_assert_eq(cm_clock_now(W.clock) - start, 1000 + 2000, "backoff 1 s then 2 s");
    cr_assert(W.idp->store.families[0]->revoked);
}

Test(integration, server_errors_then_recovery_with_backoff)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    w_fault(&W, "{\"match\": {\"grant_type\": \"refresh_token\"}, \"times\": 3, \"action\": "
                "{\"type\": \"status\", \"status\": 503}}");
    w_advance(&W, 300 * 1000);
    cr_assert_eq(w_events(&W, RC_EV_RENEW_FAILED), 3);
    cr_assert_eq(w_events(&W, RC_EV_RENEWED), 1);
    cr_assert_eq(w_events(&W, RC_EV_SESSION_LOST), 0, "transient errors keep the session");
    /* attempts at 240 s, then 1, 2 and 4 s later */
    int64_t times[4];
    int k = 0;
    size_t i;
    json_t *e;
    json_t *trace = w_trace(&W);
    json_array_foreach(trace, i, e)
    {
        const char *gt = json_string_value(json_object_get(e, "grant_type"));
        if (gt && !strcmp(gt, "refresh_token") && k < 4)
            times[k++] = (int64_t)(json_number_value(json_object_get(e, "t")) * 1000);
    }
    json_decref(trace);
    cr_assert_eq(k, 4);
    cr_assert_eq(times[1] - times[0], 1000);
    cr_assert_eq(times[2] - times[1], 2000);
    cr_assert_eq(times[3] - times[2], 4000);
}

Test(integration, retry_after_is_respected)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    w_fault(&W, "{\"match\": {\"grant_type\": \"refresh_token\"}, \"times\": 1, \"action\": "
                "{\"type\": \"status\", \"status\": 429, \"retry_after\": 30}}");
    w_advance(&W, 280 * 1000);
    cr_assert_eq(w_count(&W, "token", "refresh_token"), 2);
    json_t *trace = w_trace(&W);
    json_t *last = json_array_get(trace, json_array_size(trace) - 1);
    cr_assert_eq((int64_t)json_number_value(json_object_get(last, "t")) * 1000 - WORLD_START_MS,
                 270 * 1000);
    json_decref(trace);
}

Test(integration, signing_key_rotation_is_followed_by_one_jwks_refetch)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    Idp_keys_rotate(&W.idp->keys, cm_clock_now(W.clock), 0);
    w_advance(&W, 250 * 1000);
    cr_assert_eq(w_events(&W, RC_EV_RENEWED), 1);
    cr_assert_eq(w_count(&W, "jwks", NULL), 2, "the start, then one refetch for the new kid");
}

Test(integration, invalid_grant_after_admin_revocation_ends_the_session)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    Idp_family_revoke(W.idp->store.families[0], "grant revoked by an administrator");
    w_advance(&W, 3600 * 1000);
    cr_assert_eq(w_count(&W, "token", "refresh_token"), 1, "no retry after invalid_grant");
    cr_assert_eq(w_events(&W, RC_EV_SESSION_LOST), 1);
    cr_assert_eq(W.events[W.n_events - 1].status, RC_EINVALID_GRANT);
}

Test(integration, a_hung_request_is_a_virtual_timeout_then_a_retry)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    w_fault(&W, "{\"match\": {\"grant_type\": \"refresh_token\"}, \"times\": 1, \"action\": "
                "{\"type\": \"hang\"}}");
    w_advance(&W, 260 * 1000);
    /* at 240 s it hangs; the client gives up after its 10 s timeout, retries 1 s later */
    cr_assert_eq(w_events(&W, RC_EV_RENEW_FAILED), 1);
    cr_assert_eq(W.events[1].status, RC_ETIMEOUT);
    cr_assert_eq(W.events[1].t - WORLD_START_MS, 250 * 1000);
    cr_assert_eq(w_events(&W, RC_EV_RENEWED), 1);
    cr_assert_eq(W.events[2].t - WORLD_START_MS, 251 * 1000);
}

Test(integration, latency_past_the_timeout_after_rotation_is_the_lost_response_case)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    w_fault(&W, "{\"match\": {\"grant_type\": \"refresh_token\"}, \"times\": 1, \"action\": "
                "{\"type\": \"latency\", \"seconds\": 30}}");
    w_advance(&W, 300 * 1000);
    /* the IdP rotated at 240 s and holds the answer; the client times out at 250 s and
     * retries with the old token: invalid_grant, family revoked (RFC 9700 §4.14.2) */
    cr_assert_eq(W.events[1].status, RC_ETIMEOUT);
    cr_assert(w_reuse_detected(&W));
    cr_assert_eq(w_events(&W, RC_EV_SESSION_LOST), 1);
    cr_assert_eq(w_count(&W, "token", "refresh_token"), 2, "no loop after invalid_grant");
}

Test(integration, lost_response_after_rotation_is_terminal_not_a_loop)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    w_fault(&W, "{\"match\": {\"grant_type\": \"refresh_token\"}, \"times\": 1, \"action\": "
                "{\"type\": \"reset\", \"after_effect\": true}}");
    w_advance(&W, 3600 * 1000);
    /* reset -> retry with the old token -> invalid_grant (family revoked) -> session lost */
    cr_assert_eq(w_count(&W, "token", "refresh_token"), 2);
    cr_assert(w_reuse_detected(&W));
    cr_assert_eq(w_events(&W, RC_EV_SESSION_LOST), 1);
}

Test(integration, non_rotating_idp_keeps_the_refresh_token)
{
    w_init(&W, NULL);
    w_patch_client(&W, "{\"refresh\": {\"rotation\": false}}");
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    w_advance(&W, 1000 * 1000);
    cr_assert_eq(w_events(&W, RC_EV_RENEWED), 4);
    cr_assert_eq(w_events(&W, RC_EV_SESSION_LOST), 0);
}

Test(integration, resource_401_forces_one_renewal_403_does_not)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    cr_assert_eq(rc_client_resource_error(W.client, 403, "Bearer error=\"insufficient_scope\""), 0);
    w_advance(&W, 10 * 1000);
    cr_assert_eq(w_count(&W, "token", "refresh_token"), 0);
    cr_assert_eq(rc_client_resource_error(W.client, 401, "Bearer error=\"invalid_token\""), 1);
    w_advance(&W, 10 * 1000);
    cr_assert_eq(w_count(&W, "token", "refresh_token"), 1);
}

static int tokens_got;

static void on_token(void *arg, int status, const char *token)
{
    (void)arg;
    cr_assert_eq(status, RC_OK);
    cr_assert_not_null(token);
    tokens_got++;
}

Test(integration, concurrent_callers_share_one_refresh)
{
    w_init(&W, NULL);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    W.clock->set_ms(W.clock->ctx, cm_clock_now(W.clock) + 250 * 1000); /* inside the margin */
    tokens_got = 0;
    for (int i = 0; i < 5; i++)
        cr_assert_eq(rc_client_get_token(W.client, on_token, NULL), RC_OK);
    w_advance(&W, 1000);
    cr_assert_eq(tokens_got, 5);
    cr_assert_eq(w_count(&W, "token", "refresh_token"), 1);
}

static void on_any_outcome(void *arg, int status, const char *token)
{
    (void)arg, (void)status, (void)token;
}

Test(integration, misbehaving_client_without_single_flight_trips_reuse_detection)
{
    rc_config bad = {.misbehave = RC_BAD_NO_SINGLE_FLIGHT};
    w_init(&W, &bad);
    cr_assert_eq(w_login(&W, "alice"), RC_OK);
    W.clock->set_ms(W.clock->ctx, cm_clock_now(W.clock) + 250 * 1000);
    for (int i = 0; i < 2; i++)
        rc_client_get_token(W.client, on_any_outcome, NULL);
    w_advance(&W, 1000);
    cr_assert(w_count(&W, "token", "refresh_token") >= 2);
    cr_assert(w_reuse_detected(&W), "the negative configuration must be caught");
}
