/* The judge's checks as data (tests/unit/harness/judge/CHECK/CASE/): each case a trace,
 * the client's events and the run's steps, and the expected verdict with its structured
 * evidence (the kind of failure, the trace entries it cites and the fault rule that made
 * one of them, never the words, which may change); judge.json, optional, how the trace was
 * recorded. One parameterized test runs every case; every check has a passing and a
 * failing case. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#ifndef JUDGE_CASES_DIR
#error "JUDGE_CASES_DIR: the folder of the cases"
#endif

typedef struct judge_case {
    char check[64];
    char name[256];
} judge_case;

static size_t list_cases(judge_case *out, size_t cap)
{
    size_t n = 0;
    for (size_t c = 0; HR_CHECKS[c]; c++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", JUDGE_CASES_DIR, HR_CHECKS[c]);
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.' && n < cap && strlen(e->d_name) < sizeof out->name) {
                snprintf(out[n].check, sizeof out[n].check, "%s", HR_CHECKS[c]);
                snprintf(out[n].name, sizeof out[n].name, "%s", e->d_name);
                n++;
            }
        if (d)
            closedir(d);
    }
    return n;
}

ParameterizedTestParameters(judge, cases)
{
    judge_case *all = cr_malloc(sizeof(judge_case) * 256);
    size_t n = list_cases(all, 256);
    return cr_make_param_array(judge_case, all, n);
}

static json_t *load(const judge_case *c, const char *file)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s/%s/%s", JUDGE_CASES_DIR, c->check, c->name, file);
    json_error_t e;
    json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    cr_assert_not_null(v, "%s:%d: %s", path, e.line, e.text);
    return v;
}

static json_t *optional(const judge_case *c, const char *file)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s/%s/%s", JUDGE_CASES_DIR, c->check, c->name, file);
    return access(path, F_OK) == 0 ? load(c, file) : json_object();
}

static json_t *check_result(json_t *checks, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(
        checks, i, c) if (!strcmp(json_string_value(json_object_get(c, "name")), name)) return c;
    return NULL;
}

ParameterizedTest(judge_case *c, judge, cases)
{
    json_t *trace = load(c, "trace.json"), *events = load(c, "events.json");
    json_t *steps = load(c, "steps.json"), *expect = load(c, "expect.json");
    /* judge.json, when the case has one, says how the trace was recorded: {"clock": "wall"}
     * for observe mode (latency counts), else the virtual clock of a scenario run */
    json_t *scn = optional(c, "judge.json");
    json_object_set_new(scn, "expect", json_pack("{s:[s]}", "checks", c->check));
    int failed = 0;
    json_t *checks = hr_judge(scn, trace, events, steps, &failed);
    json_t *got = check_result(checks, c->check);
    cr_assert_not_null(got, "%s/%s: the judge ran no %s", c->check, c->name, c->check);
    int want_pass = json_is_true(json_object_get(expect, "passed"));
    cr_expect_eq(json_is_true(json_object_get(got, "passed")), want_pass, "%s/%s: passed", c->check,
                 c->name);
    char *want = json_dumps(json_object_get(expect, "findings"), JSON_COMPACT);
    char *saw = json_dumps(json_object_get(got, "findings"), JSON_COMPACT);
    cr_expect_str_eq(saw, want, "%s/%s: findings %s, expected %s", c->check, c->name, saw, want);
    cr_expect_eq(json_array_size(json_object_get(got, "evidence")),
                 json_array_size(json_object_get(got, "findings")),
                 "%s/%s: each finding has its words", c->check, c->name);
    free(want);
    free(saw);
    json_decref(checks);
    json_decref(scn);
    json_decref(trace), json_decref(events), json_decref(steps), json_decref(expect);
}

/* Every check has at least one passing and one failing case. */
Test(judge, every_check_has_a_passing_and_a_failing_case)
{
    judge_case all[256];
    size_t n = list_cases(all, 256);
    for (size_t k = 0; HR_CHECKS[k]; k++) {
        int pass = 0, fail = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(all[i].check, HR_CHECKS[k]))
                continue;
            json_t *e = load(&all[i], "expect.json");
            json_is_true(json_object_get(e, "passed")) ? pass++ : fail++;
            json_decref(e);
        }
        cr_expect(pass > 0 && fail > 0, "%s: %d passing, %d failing cases", HR_CHECKS[k], pass,
                  fail);
    }
}

/* A session that never began says why: the client's words on its failed login. */
Test(judge, a_session_never_begun_names_the_failed_login)
{
    json_t *scn = json_pack("{s:{s:{s:s}}}", "expect", "final", "session", "lost");
    json_t *events = json_pack("[{s:s, s:s, s:s}]", "event", "login_failed", "reason",
                               "RC_ETIMEOUT", "detail", "the token request timed out");
    json_t *trace = json_array(), *steps = json_array();
    int failed = 0;
    json_t *checks = hr_judge(scn, trace, events, steps, &failed);
    json_t *got = check_result(checks, "session");
    cr_assert_not_null(got);
    const char *words = json_string_value(json_array_get(json_object_get(got, "evidence"), 0));
    cr_expect_eq(failed, 1);
    cr_expect(words && strstr(words, "it is none (the login failed: RC_ETIMEOUT the token "
                                     "request timed out)"),
              "%s", words ? words : "no evidence");
    json_decref(checks), json_decref(scn), json_decref(events), json_decref(trace),
        json_decref(steps);
}
