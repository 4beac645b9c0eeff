/* The terminal report: a line per run as it finishes, then a summary with the evidence
 * of each failure. Colour only on a TTY (the caller decides). */
#include "reports.h"

#include <string.h>

static const char *colour(const char *verdict, int on)
{
    if (!on)
        return "";
    if (!strcmp(verdict, "pass"))
        return "\033[32m";
    if (!strcmp(verdict, "fail"))
        return "\033[31m";
    if (!strcmp(verdict, "error"))
        return "\033[35m";
    return "\033[33m";
}

/* A failed run's gravest severity, and why it does not count when it does not. */
static void gate_words(FILE *out, json_t *run)
{
    const char *sev = json_string_value(json_object_get(run, "severity"));
    if (!sev)
        return;
    if (json_is_true(json_object_get(run, "expected_finding")))
        fprintf(out, " [%s; known finding]", sev);
    else if (json_is_false(json_object_get(run, "blocking")))
        fprintf(out, " [%s; below --fail-on]", sev);
    else
        fprintf(out, " [%s]", sev);
}

void rpt_term_line(FILE *out, json_t *run, int color)
{
    const char *v = json_string_value(json_object_get(run, "verdict"));
    json_t *fig = json_object_get(run, "figures");
    fprintf(out, "%s%-5s%s %-40s %-6s", colour(v, color), v, color ? "\033[0m" : "",
            json_string_value(json_object_get(run, "scenario")),
            json_string_value(json_object_get(run, "target")));
    if (fig)
        fprintf(out, " renewals %-4lld refresh requests %-4lld",
                json_integer_value(json_object_get(fig, "renewals")),
                json_integer_value(json_object_get(fig, "refresh_requests")));
    json_t *reason = json_object_get(run, "reason");
    if (reason)
        fprintf(out, " (%s)", json_string_value(reason));
    gate_words(out, run);
    fprintf(out, " %lldms\n", json_integer_value(json_object_get(run, "wall_ms")));
    fflush(out);
}

void rpt_term_checks(FILE *out, json_t *run, int color)
{
    const char *v = json_string_value(json_object_get(run, "verdict"));
    fprintf(out, "%s%-5s%s %s\n", colour(v, color), v, color ? "\033[0m" : "",
            json_string_value(json_object_get(run, "scenario")));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(run, "checks"), i, c)
    {
        const char *cv = json_is_true(json_object_get(c, "passed")) ? "pass" : "fail";
        fprintf(out, "      %s%-4s%s %s\n", colour(cv, color), !strcmp(cv, "pass") ? "ok" : "FAIL",
                color ? "\033[0m" : "", json_string_value(json_object_get(c, "name")));
    }
    fflush(out);
}

void rpt_term_check_counts(FILE *out, json_t *report)
{
    long long checks = 0, failed = 0, runs = 0, bad_runs = 0;
    size_t i, k;
    json_t *run, *c;
    json_array_foreach(json_object_get(report, "runs"), i, run)
    {
        int bad = 0;
        json_array_foreach(json_object_get(run, "checks"), k, c)
        {
            checks++;
            bad |= !json_is_true(json_object_get(c, "passed"));
            failed += !json_is_true(json_object_get(c, "passed"));
        }
        runs++;
        bad_runs += bad;
    }
    fprintf(out,
            "%lld checks in %lld groups: %lld passed, %lld failed; %lld groups passed, "
            "%lld failed\n",
            checks, runs, checks - failed, failed, runs - bad_runs, bad_runs);
}

/* A third-party client's recorded finding: known (this version fails exactly so), or
 * recorded but not matching this run. */
static void finding(FILE *out, json_t *run)
{
    json_t *f = json_object_get(run, "finding");
    if (!f)
        return;
    int known = json_is_true(json_object_get(run, "expected_finding"));
    const char *version = json_string_value(json_object_get(f, "version"));
    fprintf(out, "  %s finding (%s) of %s %s: %s\n", known ? "known" : "RECORDED (does not match)",
            json_string_value(json_object_get(f, "kind")),
            json_string_value(json_object_get(f, "target")), version ? version : "(any version)",
            json_string_value(json_object_get(f, "reason")));
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(f, "upstream"), i, u)
        fprintf(out, "    upstream: %s\n", json_string_value(u));
}

static void failures(FILE *out, json_t *run)
{
    size_t i, k;
    json_t *c, *ev;
    fprintf(out, "\n%s [%s] %s\n", json_string_value(json_object_get(run, "scenario")),
            json_string_value(json_object_get(run, "target")),
            json_string_value(json_object_get(run, "title")));
    if (json_object_get(run, "reason"))
        fprintf(out, "  error: %s\n", json_string_value(json_object_get(run, "reason")));
    json_t *err = json_object_get(run, "stderr"); /* a broken adapter's last words */
    if (json_array_size(err))
        fprintf(out, "  its stderr, the last %zu lines:\n", json_array_size(err));
    json_array_foreach(err, i, c) fprintf(out, "    | %s\n", json_string_value(c));
    json_array_foreach(json_object_get(run, "checks"), i, c)
    {
        if (json_is_true(json_object_get(c, "passed")))
            continue;
        const char *sev = json_string_value(json_object_get(c, "severity"));
        fprintf(out, "  FAILED [%s] %s %s\n", sev ? sev : "must",
                json_string_value(json_object_get(c, "kind")),
                json_string_value(json_object_get(c, "name")));
        json_array_foreach(json_object_get(c, "evidence"), k, ev)
            fprintf(out, "    - %s\n", json_string_value(ev));
    }
    finding(out, run);
}

/* A record that names expectations the run no longer fails: say it can go. */
static void fixed(FILE *out, json_t *run)
{
    json_t *f = json_object_get(run, "finding"), *gone = json_object_get(f, "fixed");
    if (!json_array_size(gone))
        return;
    fprintf(out, "fixed: %s [%s] no longer fails",
            json_string_value(json_object_get(run, "scenario")),
            json_string_value(json_object_get(run, "target")));
    size_t i;
    json_t *g;
    json_array_foreach(gone, i, g) fprintf(out, "%s %s", i ? "," : "", json_string_value(g));
    fprintf(out, ": remove %s from the record (%s)\n",
            json_array_size(gone) == json_array_size(json_object_get(f, "failed")) ? "it" : "them",
            json_string_value(json_object_get(f, "file")));
}

void rpt_term_summary(FILE *out, json_t *report, int color)
{
    json_t *s = json_object_get(report, "summary");
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(report, "runs"), i, run)
    {
        const char *v = json_string_value(json_object_get(run, "verdict"));
        if (!strcmp(v, "fail") || !strcmp(v, "error"))
            failures(out, run);
    }
    int any = 0;
    json_array_foreach(json_object_get(report, "runs"), i, run)
    {
        json_t *gone = json_object_get(json_object_get(run, "finding"), "fixed");
        if (json_array_size(gone) && !any++)
            fputs("\n", out);
        fixed(out, run);
    }
    fprintf(out, "\n%-8s %-8s %-8s %-8s %-8s\n", "total", "passed", "failed", "skipped", "errors");
    fprintf(out, "%-8lld %s%-8lld%s %s%-8lld%s %-8lld %-8lld\n",
            json_integer_value(json_object_get(s, "total")), colour("pass", color),
            json_integer_value(json_object_get(s, "pass")), color ? "\033[0m" : "",
            colour("fail", color), json_integer_value(json_object_get(s, "fail")),
            color ? "\033[0m" : "", json_integer_value(json_object_get(s, "skip")),
            json_integer_value(json_object_get(s, "error")));
    fprintf(out, "%lld passed, %lld failed\n", json_integer_value(json_object_get(s, "pass")),
            json_integer_value(json_object_get(s, "fail")) +
                json_integer_value(json_object_get(s, "error")));
    json_t *by = json_object_get(s, "by_severity");
    if (json_integer_value(json_object_get(s, "fail")))
        fprintf(out,
                "failed at must %lld, should %lld, policy %lld; known findings %lld; counting for "
                "the exit (--fail-on %s): %lld\n",
                json_integer_value(json_object_get(by, "must")),
                json_integer_value(json_object_get(by, "should")),
                json_integer_value(json_object_get(by, "policy")),
                json_integer_value(json_object_get(s, "known")),
                json_string_value(json_object_get(report, "fail_on"))
                    ? json_string_value(json_object_get(report, "fail_on"))
                    : "should",
                json_integer_value(json_object_get(s, "blocking")));
}
