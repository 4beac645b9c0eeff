/* Severities: every check has one, a must check rests on a checked quote that obliges the
 * client, and the gate counts a failure for the exit only at --fail-on or graver and never
 * for a known finding. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

Test(severity, every_check_has_one_and_must_rests_on_a_checked_must)
{
    json_t *doc = json_load_file(REFS_FILE, 0, NULL), *refs = json_object_get(doc, "refs");
    cr_assert(refs, "cannot read %s", REFS_FILE);
    int musts = 0;
    for (size_t i = 0; HR_CHECKS[i]; i++) {
        const char *ref = NULL;
        int s = hr_check_severity(HR_CHECKS[i], &ref);
        cr_expect(s >= HR_MUST && s <= HR_POLICY, "%s", HR_CHECKS[i]);
        if (ref)
            cr_expect(json_object_get(refs, ref), "%s: ref %s not in _refs.json", HR_CHECKS[i],
                      ref);
        if (s != HR_MUST)
            continue;
        musts++;
        json_t *entry = json_object_get(refs, ref ? ref : "");
        cr_expect(json_is_true(json_object_get(entry, "checked")), "%s: %s", HR_CHECKS[i], ref);
        cr_expect(strstr(json_string_value(json_object_get(entry, "quote")), "client MUST"),
                  "%s: its quote does not oblige the client", HR_CHECKS[i]);
    }
    cr_expect(musts >= 1);
    cr_expect_eq(hr_check_severity("no_such_check", NULL), -1);
    cr_expect_eq(hr_check_severity("renewal_rate_bounded", NULL), HR_POLICY);
    json_decref(doc);
}

static json_t *run_failing(const char *sev_a, const char *sev_b)
{
    return json_pack("{s:s, s:[{s:b, s:s}, {s:b, s:s}, {s:b, s:s}]}", "verdict", "fail", "checks",
                     "passed", 0, "severity", sev_a, "passed", 0, "severity", sev_b, "passed", 1,
                     "severity", "must");
}

Test(severity, the_gate)
{
    struct {
        const char *a, *b;
        hr_severity fail_on;
        const char *worst;
        int blocking;
    } cases[] = {
        {"policy", "policy", HR_SHOULD, "policy", 0}, {"policy", "policy", HR_POLICY, "policy", 1},
        {"policy", "should", HR_SHOULD, "should", 1}, {"should", "policy", HR_MUST, "should", 0},
        {"must", "policy", HR_MUST, "must", 1},       {"bogus", "policy", HR_MUST, "must", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *run = run_failing(cases[i].a, cases[i].b);
        hr_gate(run, cases[i].fail_on);
        cr_expect_str_eq(json_string_value(json_object_get(run, "severity")), cases[i].worst,
                         "case %zu", i);
        cr_expect_eq(json_is_true(json_object_get(run, "blocking")), cases[i].blocking, "case %zu",
                     i);
        json_object_set_new(run, "expected_finding", json_true());
        hr_gate(run, cases[i].fail_on);
        cr_expect(json_is_false(json_object_get(run, "blocking")), "known: case %zu", i);
        json_decref(run);
    }
    json_t *pass = json_pack("{s:s, s:[]}", "verdict", "pass", "checks");
    hr_gate(pass, HR_POLICY);
    cr_expect(!json_object_get(pass, "blocking") && !json_object_get(pass, "severity"));
    json_decref(pass);
    cr_expect_eq(hr_severity_parse("should"), HR_SHOULD);
    cr_expect_eq(hr_severity_parse("often"), -1);
    cr_expect_eq(hr_severity_parse(NULL), -1);
}
