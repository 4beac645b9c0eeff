/* Handlers driven in memory through Idp_dispatch: routing, access control, protocol. */
#include <criterion/criterion.h>

#include "cm_b64url.h"
#include "helpers.h"

static fake_clock clk;
static idp_server *srv;

static void setup(void)
{
    fake_clock_init(&clk, 1800000000000LL);
    srv = test_server(&clk);
}

static void teardown(void)
{
    idp_server_free(srv);
}

TestSuite(dispatch, .init = setup, .fini = teardown);

Test(dispatch, control_api_refuses_non_loopback_callers_without_a_secret)
{
    idp_resp rs;
    call(srv, &rs, "GET", "/_mock/clock", NULL, NULL, NULL, 0, 0);
    cr_assert_eq(rs.status, 403);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "GET", "/_mock/clock", NULL, NULL, NULL, 0, 1);
    cr_assert_eq(rs.status, 200);
    cr_assert_str_eq(rs.body.data, "{\"now\":1800000000}");
    Idp_resp_dispose(&rs);
}

Test(dispatch, control_secret_admits_remote_callers_and_refuses_loopback_without_it)
{
    srv->control_secret = strdup("k");
    idp_header good = {"X-Mock-Control-Secret", "k"}, bad = {"x-mock-control-secret", "K"};
    idp_resp rs;
    call(srv, &rs, "GET", "/_mock/clock", NULL, NULL, &good, 1, 0);
    cr_assert_eq(rs.status, 200);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "GET", "/_mock/clock", NULL, NULL, &bad, 1, 0);
    cr_assert_eq(rs.status, 401);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "GET", "/_mock/clock", NULL, NULL, NULL, 0, 1);
    cr_assert_eq(rs.status, 401);
    Idp_resp_dispose(&rs);
}

Test(dispatch, clock_advance_moves_the_injected_clock)
{
    idp_resp rs;
    call(srv, &rs, "POST", "/_mock/clock", NULL, "{\"advance\": 1.5}", NULL, 0, 1);
    cr_assert_eq(rs.status, 200);
    cr_assert_eq(clk.now, 1800000001500LL);
    Idp_resp_dispose(&rs);
}

Test(dispatch, every_non_control_request_is_traced_with_its_status)
{
    idp_resp rs;
    call(srv, &rs, "GET", "/nowhere", NULL, NULL, NULL, 0, 1);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "POST", "/token", NULL, "grant_type=x&grant_type=y", NULL, 0, 1);
    cr_assert_eq(rs.status, 400);
    Idp_resp_dispose(&rs);
    json_t *entries = Idp_trace_snapshot(&srv->trace);
    cr_assert_eq(json_array_size(entries), 2);
    json_t *e = json_array_get(entries, 1);
    cr_assert_str_eq(json_string_value(json_object_get(e, "endpoint")), "token");
    cr_assert_str_eq(json_string_value(json_object_get(e, "error")), "invalid_request");
    cr_assert_eq(json_integer_value(json_object_get(e, "status")), 400);
    cr_assert_eq(json_integer_value(json_object_get(e, "t")), 1800000000);
    json_decref(entries);
}

Test(dispatch, the_trace_keeps_the_newest_entries_and_counts_the_dropped)
{
    Idp_trace_clear(&srv->trace, 1);
    free(srv->trace.ring);
    srv->trace.ring = NULL;
    srv->trace.cap = 3;
    idp_resp rs;
    for (int i = 0; i < 5; i++) {
        call(srv, &rs, "GET", "/jwks", NULL, NULL, NULL, 0, 1);
        Idp_resp_dispose(&rs);
    }
    json_t *entries = Idp_trace_snapshot(&srv->trace);
    cr_assert_eq(json_array_size(entries), 3);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(entries, 0), "seq")), 3);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(entries, 2), "seq")), 5);
    cr_assert_eq(srv->trace.dropped, 2);
    json_decref(entries);
    call(srv, &rs, "GET", "/_mock/trace", NULL, NULL, NULL, 0, 1);
    json_t *body = body_json(&rs);
    cr_assert_eq(json_integer_value(json_object_get(body, "dropped")), 2);
    json_decref(body);
    Idp_resp_dispose(&rs);
}

Test(dispatch, prompt_none_without_session_redirects_login_required)
{
    idp_resp rs;
    call(srv, &rs, "GET", "/authorize",
         "client_id=demo-spa&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcallback"
         "&response_type=code&prompt=none&state=s&code_challenge="
         "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
         NULL, NULL, 0, 1);
    cr_assert_eq(rs.status, 302);
    const char *loc = NULL;
    for (size_t i = 0; i < rs.n_headers; i++)
        if (!strcmp(rs.headers[i].name, "Location"))
            loc = rs.headers[i].value;
    cr_assert_str_eq(loc, "http://127.0.0.1:8080/callback?error=login_required&error_description="
                          "no%20session&state=s&iss=http%3A%2F%2Fidp.test");
    Idp_resp_dispose(&rs);
}

Test(dispatch, client_credentials_token_then_introspection)
{
    idp_resp rs;
    call(srv, &rs, "POST", "/token", NULL,
         "grant_type=client_credentials&client_id=demo-backend&client_secret=demo-secret", NULL, 0,
         1);
    cr_assert_eq(rs.status, 200, "%s", rs.body.data);
    json_t *tok = body_json(&rs);
    Idp_resp_dispose(&rs);
    char body[4096];
    snprintf(body, sizeof body, "token=%s&client_id=demo-backend&client_secret=demo-secret",
             json_string_value(json_object_get(tok, "access_token")));
    call(srv, &rs, "POST", "/introspect", NULL, body, NULL, 0, 1);
    json_t *info = body_json(&rs);
    cr_assert(json_is_true(json_object_get(info, "active")));
    cr_assert_str_eq(json_string_value(json_object_get(info, "sub")), "demo-backend");
    Idp_resp_dispose(&rs);
    clk.now += 301 * 1000;
    call(srv, &rs, "POST", "/introspect", NULL, body, NULL, 0, 1);
    cr_assert_str_eq(rs.body.data, "{\"active\":false}");
    Idp_resp_dispose(&rs);
    json_decref(tok);
    json_decref(info);
}

/* The part @p i of a compact JWS, decoded (malloc'd). */
static char *jws_part(const char *jwt, int i)
{
    const char *p = jwt;
    for (; i > 0 && p; i--)
        p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL;
    cr_assert(p);
    size_t n = strchr(p, '.') ? (size_t)(strchr(p, '.') - p) : strlen(p);
    char *out = calloc(1, n + 1);
    cr_assert(cm_b64url_decode(p, n, (uint8_t *)out, n) >= 0);
    return out;
}

Test(dispatch, an_access_token_is_written_as_jansson_would_write_it)
{
    idp_resp rs;
    call(srv, &rs, "POST", "/token", NULL,
         "grant_type=client_credentials&client_id=demo-backend&client_secret=demo-secret", NULL, 0,
         1);
    json_t *tok = body_json(&rs);
    const char *at = json_string_value(json_object_get(tok, "access_token"));
    for (int i = 0; i < 2; i++) { /* header and claims: compact, members sorted */
        char *text = jws_part(at, i);
        json_t *parsed = json_loads(text, 0, NULL);
        char *canonical = json_dumps(parsed, JSON_COMPACT | JSON_SORT_KEYS);
        cr_assert_str_eq(text, canonical);
        if (i == 1) {
            cr_assert_str_eq(json_string_value(json_object_get(parsed, "sub")), "demo-backend");
            cr_assert_str_eq(json_string_value(json_object_get(parsed, "iss")), "http://idp.test");
            cr_assert(json_integer_value(json_object_get(parsed, "exp")) >
                      json_integer_value(json_object_get(parsed, "iat")));
        } else {
            cr_assert_str_eq(json_string_value(json_object_get(parsed, "typ")), "at+jwt");
        }
        free(text);
        free(canonical);
        json_decref(parsed);
    }
    json_decref(tok);
    Idp_resp_dispose(&rs);
}

Test(dispatch, cors_preflight_answers_registered_origin_only)
{
    idp_header ok[] = {{"Origin", "http://127.0.0.1:8080"},
                       {"Access-Control-Request-Method", "POST"}};
    idp_header no[] = {{"Origin", "http://other.test"}, {"Access-Control-Request-Method", "POST"}};
    idp_resp rs;
    call(srv, &rs, "OPTIONS", "/token", NULL, NULL, ok, 2, 1);
    cr_assert_eq(rs.status, 204);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "OPTIONS", "/token", NULL, NULL, no, 2, 1);
    cr_assert_eq(rs.status, 403);
    Idp_resp_dispose(&rs);
}

Test(dispatch, the_trace_stays_within_its_memory_budget)
{
    Idp_trace_clear(&srv->trace, 1);
    free(srv->trace.ring);
    srv->trace.ring = NULL;
    srv->trace.cap = 1000;
    srv->trace.max_bytes = 2000; /* a few entries of ~200 bytes */
    idp_resp rs;
    for (int i = 0; i < 50; i++) {
        call(srv, &rs, "GET", "/jwks", NULL, NULL, NULL, 0, 1);
        Idp_resp_dispose(&rs);
    }
    cr_assert_leq(srv->trace.bytes, 2000);
    cr_assert_gt(srv->trace.count, 3);
    cr_assert_eq(srv->trace.count + srv->trace.dropped, 50, "every entry kept or counted");
    json_t *entries = Idp_trace_snapshot(&srv->trace);
    json_t *last = json_array_get(entries, json_array_size(entries) - 1);
    cr_assert_eq(json_integer_value(json_object_get(last, "seq")), 50, "the newest are kept");
    json_decref(entries);
}
