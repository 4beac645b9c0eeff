/* Bad input through Idp_dispatch (run under ASan in make asan-test): malformed Basic
 * credentials, bytes that are not UTF-8, values out of range, and the trace's order. */
#include <criterion/criterion.h>

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

TestSuite(bad_input, .init = setup, .fini = teardown);

/* The padding-only credentials once drove the decoded length negative: memchr then read
 * and wrote the heap. */
Test(bad_input, padding_only_basic_credentials_are_invalid_client)
{
    const char *creds[] = {"Basic ====", "Basic ========", "Basic =",    "Basic Zg=",
                           "Basic Z===", "Basic =Zm9",     "Basic Og==", "basic ===="};
    const char *paths[] = {"/token", "/revoke", "/introspect"};
    for (size_t p = 0; p < 3; p++)
        for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++) {
            idp_header h[] = {{"Authorization", (char *)creds[i]}};
            idp_resp rs;
            call(srv, &rs, "POST", paths[p], NULL, "grant_type=client_credentials&token=x", h, 1,
                 1);
            cr_assert_eq(rs.status, 401, "%s %s: %d", paths[p], creds[i], rs.status);
            cr_assert(strstr(rs.body.data, "invalid_client"), "%s", rs.body.data);
            Idp_resp_dispose(&rs);
        }
}

static void assert_valid_json_4xx(idp_resp *rs, const char *what)
{
    cr_assert(rs->status >= 400 && rs->status < 500, "%s: %d", what, rs->status);
    json_t *j = body_json(rs);
    cr_assert(j, "%s: the answer is not JSON: %s", what, rs->body.data);
    json_decref(j);
}

/* The error description repeats the name: the answer must still be valid JSON. */
Test(bad_input, names_that_are_not_utf8_get_400_with_valid_json)
{
    const char *names[] = {"%80=1",       "%FF=1",          "%C0%AF=1",
                           "%ED%A0%80=1", "%F4%90%80%80=1", "%E2%82=1"};
    const char *paths[] = {"/jwks",        "/.well-known/openid-configuration",
                           "/authorize",   "/token",
                           "/_mock/clock", "/_mock/trace",
                           "/userinfo"};
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            idp_resp rs;
            call(srv, &rs, "GET", paths[p], names[i], NULL, NULL, 0, 1);
            Idp_resp_materialize(&rs);
            assert_valid_json_4xx(&rs, paths[p]);
            Idp_resp_dispose(&rs);
            call(srv, &rs, "POST", "/token", NULL, names[i], NULL, 0, 1);
            Idp_resp_materialize(&rs);
            assert_valid_json_4xx(&rs, "/token form");
            Idp_resp_dispose(&rs);
        }
}

/* A fixed-size buffer cut a two-byte character in half. */
Test(bad_input, a_description_cut_inside_a_character_is_still_valid_json)
{
    char body[1300] = ""; /* 201 × 6 bytes */
    for (int i = 0; i < 201; i++)
        strcat(body, "%C3%A9");
    char twice[2700];
    snprintf(twice, sizeof twice, "%s=1&%s=2", body, body);
    idp_resp rs;
    call(srv, &rs, "POST", "/token", NULL, twice, NULL, 0, 1);
    Idp_resp_materialize(&rs);
    assert_valid_json_4xx(&rs, "duplicate long name");
    Idp_resp_dispose(&rs);
}

Test(bad_input, a_path_that_is_not_utf8_is_traced_without_losing_its_seq)
{
    idp_resp rs;
    call(srv, &rs, "GET", "/ab\xff", NULL, NULL, NULL, 0, 1);
    cr_assert_eq(rs.status, 404);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "GET", "/jwks", NULL, NULL, NULL, 0, 1);
    Idp_resp_dispose(&rs);
    json_t *entries = Idp_trace_snapshot(&srv->trace);
    cr_assert_eq(json_array_size(entries), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(entries, 0), "seq")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(entries, 0), "path")),
                     "/ab\xef\xbf\xbd");
    cr_assert_eq(Idp_trace_dropped(&srv->trace), 0);
    json_decref(entries);
}

/* Worker loops finish entries in any order; the ring and the file get them in seq order. */
Test(bad_input, trace_entries_committed_out_of_order_come_out_in_seq_order)
{
    Idp_trace_clear(&srv->trace, 1);
    unsigned long order[] = {3, 1, 5, 2, 4, 7, 6};
    srv->trace.next_seq = 7;
    for (size_t i = 0; i < 7; i++) {
        char line[32];
        snprintf(line, sizeof line, "{\"seq\":%lu}", order[i]);
        Idp_trace_commit(&srv->trace, order[i], i == 3 ? NULL : strdup(line)); /* 2 is lost */
    }
    json_t *entries = Idp_trace_snapshot(&srv->trace);
    cr_assert_eq(json_array_size(entries), 6);
    unsigned long want[] = {1, 3, 4, 5, 6, 7};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(json_integer_value(json_object_get(json_array_get(entries, i), "seq")),
                     (json_int_t)want[i]);
    cr_assert_eq(Idp_trace_dropped(&srv->trace), 1, "the lost entry is counted");
    json_decref(entries);
}

static int control(const char *method, const char *path, const char *body)
{
    idp_resp rs;
    call(srv, &rs, method, path, NULL, body, NULL, 0, 1);
    int status = rs.status;
    Idp_resp_dispose(&rs);
    return status;
}

Test(bad_input, clock_values_out_of_range_are_refused_and_change_nothing)
{
    const char *bodies[] = {"{\"set\": 1e18}",
                            "{\"advance\": 1e300}",
                            "{\"set\": -1}",
                            "{\"advance\": -0.5}",
                            "{\"set\": 253402300800}",
                            "{\"advance\": 1, \"set\": 1}",
                            "{}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        cr_assert_eq(control("POST", "/_mock/clock", bodies[i]), 400, "%s", bodies[i]);
        cr_assert_eq(clk.now, 1800000000000LL, "%s moved the clock", bodies[i]);
    }
    cr_assert_eq(control("POST", "/_mock/clock", "{\"set\": 253402300799}"), 200);
}

Test(bad_input, fault_rules_out_of_range_or_with_long_ids_are_not_installed)
{
    const char *rules[] = {
        "{\"action\": {\"type\": \"latency\", \"seconds\": 1e300}}",
        "{\"action\": {\"type\": \"clock_skew\", \"seconds\": -1e300}}",
        "{\"action\": {\"type\": \"status\", \"status\": 503, \"retry_after\": 1e300}}",
        "{\"until\": 1e300, \"action\": {\"type\": \"latency\", \"seconds\": 1}}",
        "{\"id\": \"\", \"action\": {\"type\": \"latency\", \"seconds\": 1}}",
        "{\"id\": \"" /* 65 bytes */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", "
        "\"action\": {\"type\": \"latency\", \"seconds\": 1}}",
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        cr_assert_eq(control("POST", "/_mock/faults", rules[i]), 400, "%s", rules[i]);
        cr_assert_eq(srv->n_faults, 0, "%s was installed", rules[i]);
    }
    cr_assert_eq(control("POST", "/_mock/faults",
                         "{\"id\": \"\xc3\xa9\xc3\xa9\", \"action\": {\"type\": \"latency\", "
                         "\"seconds\": 1}}"),
                 201);
    cr_assert_eq(control("DELETE", "/_mock/faults/%C3%A9%C3%A9", NULL), 200);
    cr_assert_eq(srv->n_faults, 0);
}

Test(bad_input, control_writes_need_json_and_our_own_origin)
{
    idp_header text[] = {{"Content-Type", "text/plain"}};
    idp_header evil[] = {{"Origin", "https://evil.example"}};
    idp_header cross[] = {{"Sec-Fetch-Site", "cross-site"}};
    idp_header rebind[] = {{"Host", "evil.example"}};
    idp_resp rs;
    call(srv, &rs, "POST", "/_mock/clock", NULL, "{\"advance\": 5}", text, 1, 1);
    cr_assert_eq(rs.status, 415);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "POST", "/_mock/clock", NULL, "{\"advance\": 5}", evil, 1, 1);
    cr_assert_eq(rs.status, 403);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "POST", "/_mock/reset", NULL, NULL, cross, 1, 1);
    cr_assert_eq(rs.status, 403);
    Idp_resp_dispose(&rs);
    call(srv, &rs, "GET", "/_mock/trace", NULL, NULL, rebind, 1, 1);
    cr_assert_eq(rs.status, 403);
    Idp_resp_dispose(&rs);
    cr_assert_eq(clk.now, 1800000000000LL);
}

Test(bad_input, unknown_methods_get_405_with_allow)
{
    const char *methods[] = {"TRACE", "CONNECT", "UNKNOWN", "get", "PUT"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        idp_resp rs;
        call(srv, &rs, methods[i], "/token", NULL, NULL, NULL, 0, 1);
        cr_assert_eq(rs.status, 405, "%s", methods[i]);
        int allow = 0;
        for (size_t h = 0; h < rs.n_headers; h++)
            allow |= !strcmp(rs.headers[h].name, "Allow");
        cr_assert(allow, "%s: no Allow header", methods[i]);
        Idp_resp_dispose(&rs);
        call(srv, &rs, methods[i], "/_mock/clock", NULL, NULL, NULL, 0, 1);
        cr_assert_eq(rs.status, 405, "%s", methods[i]);
        Idp_resp_dispose(&rs);
    }
}
