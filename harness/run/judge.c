/* The judge: expectations on the target's events and request counts, and trace checks —
 * functions over the IdP trace that grade any client, each stating its evidence. */
#include "harness.h"
#include "trace_access.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *const HR_CHECKS[] = {"renewed_before_expiry",
                                 "no_concurrent_refresh",
                                 "no_reuse_of_rotated_token",
                                 "no_retry_after_invalid_grant",
                                 "backoff_on_5xx",
                                 "revoked_on_logout",
                                 "session_dropped_on_terminal_error",
                                 "no_request_with_expired_token",
                                 "no_refresh_after_logout",
                                 "renewal_rate_bounded",
                                 NULL};

typedef struct judge_ctx {
    json_t *trace, *events, *steps;
    int wall;         /* the trace was recorded on the wall clock (observe mode): latency counts */
    json_t *evidence; /* the current check's evidence in words, for the reports */
    json_t *findings; /* ... and structured: {kind, seq: [the trace entries it cites]} */
} judge_ctx;

static long long seq_of(json_t *e)
{
    return (long long)json_integer_value(json_object_get(e, "seq"));
}

/* What the words add about a cited entry: the fault rule that made its answer, and on the
 * wall clock when it arrived, so that the evidence matches the client's own log. */
static int cite(judge_ctx *j, json_t *e, char *out, size_t n)
{
    const char *rule = hr_str(json_object_get(e, "fault"), "rule");
    json_t *real = json_object_get(e, "real_time");
    char when[64] = "";
    if (j->wall && real) {
        double r = json_number_value(real);
        time_t secs = (time_t)r;
        struct tm tm;
        gmtime_r(&secs, &tm);
        size_t len = strftime(when, sizeof when, " at %Y-%m-%d %H:%M:%S", &tm);
        snprintf(when + len, sizeof when - len, ".%03d UTC", (int)((r - (double)secs) * 1000));
    }
    char fault[200] = "";
    if (*rule)
        snprintf(fault, sizeof fault, "%sfault rule \"%s\" (%s)", *when ? "; " : ": ", rule,
                 hr_str(json_object_get(e, "fault"), "action"));
    if (!*fault && !*when)
        return 0;
    return snprintf(out, n, " [#%lld%s%s]", seq_of(e), when, fault);
}

/* One piece of evidence: its @p kind, the trace entries @p a and @p b it cites (either may
 * be NULL), and the words. The first ten of a check are kept: enough to see the pattern. */
static void evidence(judge_ctx *j, const char *kind, json_t *a, json_t *b, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void evidence(judge_ctx *j, const char *kind, json_t *a, json_t *b, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (json_array_size(j->evidence) >= 10)
        return;
    json_t *seq = json_array(), *finding = json_pack("{s:s, s:o}", "kind", kind, "seq", seq);
    json_t *cited[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (!cited[k])
            continue;
        json_array_append(seq, json_object_get(cited[k], "seq"));
        const char *rule = hr_str(json_object_get(cited[k], "fault"), "rule");
        if (n >= 0 && (size_t)n < sizeof buf)
            n += cite(j, cited[k], buf + n, sizeof buf - (size_t)n);
        if (*rule && !json_object_get(finding, "fault"))
            json_object_set_new(finding, "fault", json_string(rule));
    }
    json_array_append_new(j->evidence, json_string(buf));
    json_array_append_new(j->findings, finding);
}

/* Time of the first step of kind @p what, or -1. */
static double step_time(judge_ctx *j, const char *what)
{
    size_t i;
    json_t *s;
    json_array_foreach(j->steps, i, s) if (!strcmp(hr_str(s, "do"), what)) return hr_t(s);
    return -1;
}

/* The first event of @p name at or after @p t, or -1. */
static double event_time(judge_ctx *j, const char *name, double after)
{
    size_t i;
    json_t *e;
    json_array_foreach(j->events, i,
                       e) if (!strcmp(hr_str(e, "event"), name) && hr_t(e) >= after) return hr_t(e);
    return -1;
}

static double session_end(judge_ctx *j)
{
    double lost = event_time(j, "session_lost", 0), out = step_time(j, "logout");
    if (lost < 0)
        return out;
    return out < 0 || lost < out ? lost : out;
}

static void renewed_before_expiry(judge_ctx *j)
{
    double end = session_end(j);
    json_t *prev = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(j->trace, i, e)
    {
        if (!hr_issued_at(e))
            continue;
        if (prev) {
            double expiry = hr_t(prev) + json_number_value(json_object_get(prev, "expires_in"));
            if (hr_t(e) >= expiry && (end < 0 || expiry <= end))
                evidence(j, "expired_before_renewal", prev, e,
                         "%s issued at %gs expired at %gs; the next token (%s) came only at %gs",
                         hr_issued_at(prev), hr_t(prev), expiry, hr_issued_at(e), hr_t(e));
        }
        prev = e;
    }
}

/* When the answer to @p e reached the client: its arrival, a fault rule's hold, and on the
 * wall clock the time spent answering, less the trace's resolution (1 ms: `t` and
 * `latency` are whole milliseconds read from two clocks), so that a client that waited for
 * the answer is never taken for one that did not (docs/control-api.md, "Send and answer
 * time"). */
static double answered(judge_ctx *j, json_t *e)
{
    double t = hr_t(e) + json_number_value(json_object_get(e, "held_for"));
    return j->wall ? t + json_number_value(json_object_get(e, "latency")) - 0.001 : t;
}

/* The milliseconds between @p t and @p since, for evidence. */
static double ms(double t, double since)
{
    return (double)(long long)((t - since) * 1000 + 0.5);
}

static int transient_status(int s)
{
    return s >= 500 || s == 429 || s == 0;
}

/* Concurrent: the next refresh of the same grant was sent while the first was held, or
 * at the same virtual instant after an answer that was not a transient failure (a retry
 * at once after a failure is sequential; backoff_on_5xx judges those). */
static void no_concurrent_refresh(judge_ctx *j)
{
    size_t i, k;
    json_t *a, *b;
    json_array_foreach(j->trace, i, a)
    {
        if (!hr_is_refresh(a))
            continue;
        double done = answered(j, a);
        json_array_foreach(j->trace, k, b)
        {
            if (k <= i || !hr_is_refresh(b) || strcmp(hr_str(a, "family"), hr_str(b, "family")))
                continue;
            if (hr_t(b) < done || (hr_t(b) == hr_t(a) && !transient_status(hr_status(a))))
                evidence(j, "concurrent_refresh", a, b,
                         "refresh #%lld (%s) sent at %gs while #%lld (%s, sent at %gs, answered "
                         "at %gs) was under way",
                         seq_of(b), hr_str(b, "presented"), hr_t(b), seq_of(a),
                         hr_str(a, "presented"), hr_t(a), done);
        }
    }
}

static void no_reuse_of_rotated_token(judge_ctx *j)
{
    size_t i;
    json_t *e;
    json_array_foreach(j->trace, i, e)
    {
        if (json_is_true(json_object_get(e, "reuse_detected")))
            evidence(j, "rotated_token_reused", e, NULL,
                     "at %gs %s was presented again after rotation; the IdP revoked %s", hr_t(e),
                     hr_str(e, "presented"), hr_str(e, "family"));
    }
}

static void no_retry_after_invalid_grant(judge_ctx *j)
{
    size_t i, k;
    json_t *a, *b;
    json_array_foreach(j->trace, i, a)
    {
        if (!hr_is_refresh(a) || strcmp(hr_str(a, "error"), "invalid_grant"))
            continue;
        /* one sent while #a was under way is concurrent (no_concurrent_refresh), not a
         * retry: only what was sent once the invalid_grant had reached the client counts */
        double done = answered(j, a);
        json_array_foreach(j->trace, k,
                           b) if (k > i && hr_is_refresh(b) && hr_t(b) >= done &&
                                  !strcmp(hr_str(a, "presented"), hr_str(b, "presented")))
        {
            evidence(j, "invalid_grant_retried", a, b,
                     "%s got invalid_grant (#%lld, answered at %gs) and was sent again (#%lld) "
                     "at %gs, %g ms after that answer reached the client",
                     hr_str(a, "presented"), seq_of(a), done, seq_of(b), hr_t(b),
                     ms(hr_t(b), done));
        }
    }
}

static void backoff_on_5xx(judge_ctx *j)
{
    double last_gap = -1;
    json_t *prev = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(j->trace, i, e)
    {
        if (!hr_is_refresh(e))
            continue;
        if (prev && transient_status(hr_status(prev))) {
            double gap = hr_t(e) - answered(j, prev);
            double ra = json_number_value(json_object_get(prev, "retry_after"));
            if (gap < 1.0)
                evidence(j, "retry_within_1s", prev, e,
                         "retry %gs after a %d at %gs (less than 1 s)", gap, hr_status(prev),
                         hr_t(prev));
            else if (ra > 0 && gap < ra)
                evidence(j, "retry_before_retry_after", prev, e,
                         "retry after %gs, but Retry-After asked for %gs (at %gs)", gap, ra,
                         hr_t(prev));
            else if (last_gap > 0 && gap < last_gap)
                evidence(j, "retry_gaps_shrank", prev, e,
                         "retry gaps shrank: %gs after %gs (at %gs)", gap, last_gap, hr_t(e));
            last_gap = gap;
        } else {
            last_gap = -1;
        }
        prev = e;
    }
}

/* The refresh token issued last before @p t, or NULL; *@p by: the entry that issued it. */
static const char *live_refresh_token(judge_ctx *j, double t, json_t **by)
{
    const char *rt = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(j->trace, i, e)
    {
        json_t *issued = json_object_get(e, "issued");
        const char *second = json_string_value(json_array_get(issued, 1));
        if (hr_t(e) <= t && hr_status(e) == 200 && second && !strncmp(second, "rt#", 3)) {
            rt = second;
            *by = e;
        }
    }
    return rt;
}

static void revoked_on_logout(judge_ctx *j)
{
    double out = step_time(j, "logout");
    if (out < 0) {
        evidence(j, "no_logout_step", NULL, NULL, "the scenario has no logout step");
        return;
    }
    json_t *issuer = NULL;
    const char *rt = live_refresh_token(j, out, &issuer);
    int revoked = 0;
    size_t i;
    json_t *e;
    json_array_foreach(
        j->trace, i, e) if (hr_t(e) >= out && !strcmp(hr_str(e, "endpoint"), "revoke") && rt &&
                            !strcmp(hr_str(e, "presented"), rt) && hr_status(e) == 200) revoked = 1;
    if (rt && !revoked)
        evidence(j, "not_revoked", issuer, NULL,
                 "logout at %gs, but the refresh token %s was never revoked", out, rt);
}

static void no_refresh_after_logout(judge_ctx *j)
{
    double out = step_time(j, "logout");
    size_t i;
    json_t *e;
    json_array_foreach(j->trace, i, e) if (out >= 0 && hr_t(e) >= out && hr_is_refresh(e)) evidence(
        j, "refresh_after_logout", e, NULL, "logout at %gs, then %s was sent to refresh at %gs",
        out, hr_str(e, "presented"), hr_t(e));
}

static int terminal_answer(json_t *e)
{
    const char *err = hr_str(e, "error");
    return hr_is_refresh(e) && (!strcmp(err, "invalid_grant") || !strcmp(err, "invalid_client"));
}

static void session_dropped_on_terminal_error(judge_ctx *j)
{
    size_t i, k;
    json_t *e, *later;
    json_array_foreach(j->trace, i, e)
    {
        if (!terminal_answer(e))
            continue;
        double lost = event_time(j, "session_lost", hr_t(e));
        double inter = event_time(j, "interaction_required", hr_t(e));
        /* without the client's events (observe mode) only its requests can be judged */
        if (j->events && lost < 0 && inter < 0)
            evidence(j, "session_kept", e, NULL, "%s at %gs, but the client kept its session",
                     hr_str(e, "error"), hr_t(e));
        double done = answered(j, e);
        json_array_foreach(j->trace, k,
                           later) if (k > i && hr_is_refresh(later) && hr_t(later) >= done &&
                                      !strcmp(hr_str(later, "family"), hr_str(e, "family")))
        {
            evidence(j, "refreshed_after_terminal_error", e, later,
                     "after %s (#%lld, answered at %gs) the client still refreshed (#%lld) at "
                     "%gs, %g ms after that answer reached it",
                     hr_str(e, "error"), seq_of(e), done, seq_of(later), hr_t(later),
                     ms(hr_t(later), done));
            break;
        }
        break; /* the first terminal answer decides */
    }
}

static void no_request_with_expired_token(judge_ctx *j)
{
    size_t i, k;
    json_t *e, *iss;
    json_array_foreach(j->trace, i, e)
    {
        const char *ep = hr_str(e, "endpoint");
        if (strcmp(ep, "resource") && strcmp(ep, "userinfo"))
            continue;
        json_array_foreach(j->trace, k, iss) if (hr_issued_at(iss) &&
                                                 !strcmp(hr_issued_at(iss), hr_str(e, "presented")))
        {
            double expiry = hr_t(iss) + json_number_value(json_object_get(iss, "expires_in"));
            if (hr_t(e) >= expiry)
                evidence(j, "expired_token_sent", iss, e, "%s sent to %s at %gs, expired at %gs",
                         hr_str(e, "presented"), ep, hr_t(e), expiry);
        }
    }
}

static void renewal_rate_bounded(judge_ctx *j)
{
    /* at most 20 refresh requests in any 60 s: a tight loop shows up as hundreds */
    size_t i, k;
    json_t *a, *b;
    json_array_foreach(j->trace, i, a)
    {
        if (!hr_is_refresh(a))
            continue;
        int n = 0;
        json_array_foreach(j->trace, k, b) n +=
            k >= i && hr_is_refresh(b) && hr_t(b) < hr_t(a) + 60;
        if (n > 20) {
            evidence(j, "renewal_storm", a, NULL, "%d refresh requests within 60 s from %gs", n,
                     hr_t(a));
            return;
        }
    }
}

typedef void (*check_fn)(judge_ctx *);
/* Each check with its severity (docs/severity.md): must only where a checked quote of
 * scenarios/_refs.json obliges the client (@c ref); renewal_rate_bounded's 20 in 60 s is
 * renewlab's own number. In the order of HR_CHECKS. */
static const struct {
    check_fn fn;
    hr_severity severity;
    const char *ref;
} CHECK_TABLE[] = {
    {renewed_before_expiry, HR_SHOULD, NULL},
    {no_concurrent_refresh, HR_SHOULD, "rfc9700-4.14.2"},
    {no_reuse_of_rotated_token, HR_MUST, "rfc6749-6"},
    {no_retry_after_invalid_grant, HR_SHOULD, "rfc6749-5.2"},
    {backoff_on_5xx, HR_SHOULD, "rfc9110-10.2.3"},
    {revoked_on_logout, HR_SHOULD, "rfc7009-2.1"},
    {session_dropped_on_terminal_error, HR_SHOULD, "rfc6749-5.2"},
    {no_request_with_expired_token, HR_SHOULD, "rfc6750-3.1"},
    {no_refresh_after_logout, HR_SHOULD, "rfc7009-2.1"},
    {renewal_rate_bounded, HR_POLICY, NULL},
};

static int check_index(const char *name)
{
    for (int i = 0; HR_CHECKS[i]; i++)
        if (!strcmp(HR_CHECKS[i], name))
            return i;
    return -1;
}

int hr_check_severity(const char *name, const char **ref)
{
    int i = check_index(name);
    if (i < 0)
        return -1;
    if (ref)
        *ref = CHECK_TABLE[i].ref;
    return (int)CHECK_TABLE[i].severity;
}

static json_t *run_check(judge_ctx *j, const char *name)
{
    j->evidence = json_array();
    j->findings = json_array();
    int i = check_index(name);
    if (i >= 0)
        CHECK_TABLE[i].fn(j);
    json_t *r = json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "kind", "trace", "name", name,
                          "severity", hr_severity_name(i >= 0 ? CHECK_TABLE[i].severity : 0),
                          "passed", json_array_size(j->evidence) == 0, "evidence", j->evidence,
                          "findings", j->findings);
    j->evidence = j->findings = NULL;
    return r;
}

/* ---- expectations ----------------------------------------------------------------------- */

/* An expectation's severity: its own, else the scenario's (expect.severity), else should. */
static const char *severity_of(json_t *want, json_t *expect)
{
    const char *own = json_string_value(json_object_get(want, "severity"));
    const char *dflt = json_string_value(json_object_get(expect, "severity"));
    return own ? own : dflt ? dflt : "should";
}

static json_t *range_check(const char *kind, const char *name, json_t *want, long got,
                           const char *severity)
{
    long min = json_is_integer(want) ? (long)json_integer_value(want)
               : json_object_get(want, "min")
                   ? (long)json_integer_value(json_object_get(want, "min"))
                   : 0;
    long max = json_is_integer(want) ? min
               : json_object_get(want, "max")
                   ? (long)json_integer_value(json_object_get(want, "max"))
                   : -1;
    int ok = got >= min && (max < 0 || got <= max);
    char msg[200];
    if (max < 0)
        snprintf(msg, sizeof msg, "expected at least %ld, saw %ld", min, got);
    else if (min == max)
        snprintf(msg, sizeof msg, "expected %ld, saw %ld", min, got);
    else
        snprintf(msg, sizeof msg, "expected %ld to %ld, saw %ld", min, max, got);
    json_t *ev = ok ? json_array() : json_pack("[s]", msg);
    return json_pack("{s:s, s:s, s:s, s:b, s:o}", "kind", kind, "name", name, "severity", severity,
                     "passed", ok, "evidence", ev);
}

static long count_events(judge_ctx *j, const char *name)
{
    long n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(j->events, i, e) n += !strcmp(hr_str(e, "event"), name);
    return n;
}

static long count_requests(judge_ctx *j, const char *kind)
{
    long n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(j->trace, i, e)
    {
        const char *ep = hr_str(e, "endpoint"), *gt = hr_str(e, "grant_type");
        if (!strcmp(kind, "refresh"))
            n += hr_is_refresh(e);
        else if (!strcmp(kind, "code"))
            n += !strcmp(ep, "token") && !strcmp(gt, "authorization_code");
        else
            n += !strcmp(ep, kind);
    }
    return n;
}

static const char *final_session(judge_ctx *j)
{
    const char *state = "none"; /* never logged in */
    size_t i;
    json_t *e;
    json_array_foreach(j->events, i, e)
    {
        const char *name = hr_str(e, "event");
        if (!strcmp(name, "logged_out"))
            state = "logged_out";
        else if (!strcmp(name, "session_lost"))
            state = "lost";
        else if (!strcmp(name, "logged_in") || !strcmp(name, "renewed"))
            state = "alive";
    }
    return state;
}

/* "expected the session S, it is T", and when it never began, why: the client's own
 * words on its failed login. */
static void session_words(judge_ctx *j, const char *want, const char *got, char *msg, size_t len)
{
    size_t i;
    json_t *e, *failed = NULL;
    json_array_foreach(j->events, i, e) if (!strcmp(hr_str(e, "event"), "login_failed")) failed = e;
    int n = snprintf(msg, len, "expected the session %s, it is %s", want, got);
    if (failed && !strcmp(got, "none") && n > 0 && (size_t)n < len)
        snprintf(msg + n, len - (size_t)n, " (the login failed: %.40s %.200s)",
                 hr_str(failed, "reason"), hr_str(failed, "detail"));
}

json_t *hr_judge(json_t *scn, json_t *trace, json_t *events, json_t *steps, int *failed)
{
    const char *clock = json_string_value(json_object_get(scn, "clock"));
    judge_ctx j = {
        .trace = trace, .events = events, .steps = steps, .wall = clock && !strcmp(clock, "wall")};
    json_t *expect = json_object_get(scn, "expect"), *out = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(expect, "events"), key, v)
    {
        json_array_append_new(
            out, range_check("events", key, v, count_events(&j, key), severity_of(v, expect)));
    }
    json_object_foreach(json_object_get(expect, "requests"), key, v)
    {
        json_array_append_new(
            out, range_check("requests", key, v, count_requests(&j, key), severity_of(v, expect)));
    }
    json_t *final = json_object_get(expect, "final");
    const char *want = json_string_value(json_object_get(final, "session"));
    if (want) {
        const char *got = final_session(&j);
        char msg[400];
        session_words(&j, want, got, msg, sizeof msg);
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:b, s:o}", "kind", "final", "name", "session",
                           "severity", severity_of(final, expect), "passed", !strcmp(want, got),
                           "evidence", strcmp(want, got) ? json_pack("[s]", msg) : json_array()));
    }
    size_t i;
    json_array_foreach(json_object_get(expect, "checks"), i, v)
    {
        json_array_append_new(out, run_check(&j, json_string_value(v)));
    }
    *failed = 0;
    json_array_foreach(out, i, v) *failed += !json_is_true(json_object_get(v, "passed"));
    return out;
}
