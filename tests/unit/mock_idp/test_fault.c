/* Fault rules in memory: parsing errors, matching, lifetimes. */
#include <criterion/criterion.h>

#include "fault.h"

static idp_fault *parse(const char *text, char *err, size_t n)
{
    json_t *spec = json_loads(text, 0, NULL);
    cr_assert_not_null(spec, "test JSON must parse: %s", text);
    idp_fault *f = Idp_fault_parse(spec, "fault#1", err, n);
    json_decref(spec);
    return f;
}

Test(fault, parses_and_names_a_rule)
{
    char err[200];
    idp_fault *f = parse("{\"action\": {\"type\": \"status\", \"status\": 503}, \"times\": 2}", err,
                         sizeof err);
    cr_assert_not_null(f, "%s", err);
    cr_assert_str_eq(f->id, "fault#1");
    cr_assert_eq(f->kind, FA_STATUS);
    cr_assert_eq(f->times, 2);
    Idp_fault_free(f);
}

Test(fault, reports_the_pointer_of_the_first_problem)
{
    char err[200];
    cr_assert_null(
        parse("{\"action\": {\"type\": \"latency\", \"seconds\": \"5\"}}", err, sizeof err));
    cr_assert_str_eq(err, "/action/seconds: expected a number");
    cr_assert_null(
        parse("{\"match\": {\"nth\": 1.5}, \"action\": {\"type\": \"hang\"}}", err, sizeof err));
    cr_assert_str_eq(err, "/match/nth: expected an integer");
    cr_assert_null(parse("{\"action\": {\"type\": \"cors\", \"mode\": \"odd\"}}", err, sizeof err));
    cr_assert_str_eq(err, "/action/mode: \"odd\" is not one of the allowed values");
    cr_assert_null(parse("{\"action\": {\"type\": \"hang\"}, \"extra\": 1}", err, sizeof err));
    cr_assert_str_eq(err, "/extra: unknown key");
}

Test(fault, clock_skew_may_be_negative_latency_may_not)
{
    char err[200];
    idp_fault *f =
        parse("{\"action\": {\"type\": \"clock_skew\", \"seconds\": -60}}", err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    Idp_fault_free(f);
    cr_assert_null(
        parse("{\"action\": {\"type\": \"latency\", \"seconds\": -1}}", err, sizeof err));
}

Test(fault, matches_every_condition_and_counts_matches)
{
    char err[200];
    idp_fault *f = parse("{\"match\": {\"endpoint\": \"token\", \"grant_type\": \"refresh_token\","
                         " \"user\": \"bob\", \"nth\": 2},"
                         " \"action\": {\"type\": \"status\", \"status\": 500}}",
                         err, sizeof err);
    idp_fault_subject s = {.endpoint = "token", .grant_type = "refresh_token", .user = "bob"};
    idp_fault_subject other = s;
    other.user = "alice";
    cr_assert_not(Idp_fault_fires(f, &other, 0.0));
    cr_assert_not(Idp_fault_fires(f, &s, 0.0)); /* first match: nth is 2 */
    cr_assert(Idp_fault_fires(f, &s, 0.0));
    cr_assert_not(Idp_fault_fires(f, &s, 0.0));
    cr_assert_eq(f->matched, 3);
    Idp_fault_free(f);
}

Test(fault, probability_uses_the_draw)
{
    char err[200];
    idp_fault *f = parse("{\"match\": {\"probability\": 0.25}, \"action\": {\"type\": \"hang\"}}",
                         err, sizeof err);
    idp_fault_subject s = {.endpoint = "jwks"};
    cr_assert(Idp_fault_fires(f, &s, 0.24));
    cr_assert_not(Idp_fault_fires(f, &s, 0.25));
    Idp_fault_free(f);
}

Test(fault, lifetime_by_hits_and_by_time)
{
    char err[200];
    idp_fault *f =
        parse("{\"action\": {\"type\": \"hang\"}, \"times\": 1, \"until\": 10}", err, sizeof err);
    cr_assert_not(Idp_fault_retired(f, 0));
    f->hits = 1;
    cr_assert(Idp_fault_retired(f, 0));
    f->hits = 0;
    cr_assert(Idp_fault_retired(f, 10000));
    idp_fault_subject s = {.endpoint = "jwks", .now_ms = 10000};
    cr_assert_not(Idp_fault_fires(f, &s, 0.0));
    Idp_fault_free(f);
}
