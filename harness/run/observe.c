/* Observe mode: judge a trace recorded by mock-idp --trace-out (JSON lines) or saved from
 * GET /_mock/trace, for clients the harness cannot drive. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_format.h"
#include "cm_json.h"
#include "groups.h"
#include "harness.h"
#include "trace_access.h"

/* A JSON-lines trace, one entry per line. */
static json_t *read_lines(const char *path, char *text, char *err, size_t n)
{
    json_t *entries = json_array();
    int line = 0;
    for (char *p = text, *nl; entries && *p; p = nl ? nl + 1 : p + strlen(p)) {
        nl = strchr(p, '\n');
        line++;
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == 0)
            continue;
        json_error_t jerr;
        json_t *e = json_loadb(p, l, 0, &jerr), *version = json_object_get(e, "format_version");
        if (json_is_object(e) && version && !json_object_get(e, "seq")) {
            /* a start's header line (docs/formats.md) */
            char why[200];
            int rc = cm_format_check(version, "trace", why, sizeof why);
            json_decref(e);
            if (rc >= 0)
                continue;
            snprintf(err, n, "%s:%d: %s", path, line, why);
            json_decref(entries);
            return NULL;
        }
        if (!json_is_object(e) || !json_is_integer(json_object_get(e, "seq"))) {
            snprintf(err, n, "%s:%d: not a trace entry%s%s", path, line, e ? " (no \"seq\")" : ": ",
                     e ? "" : jerr.text);
            json_decref(e);
            json_decref(entries);
            return NULL;
        }
        json_array_append_new(entries, e);
    }
    return entries;
}

/* Entries of a JSON-lines file, or of a {"requests": [...]} document. */
static json_t *read_entries(const char *path, size_t max, char *err, size_t n)
{
    size_t len;
    char *text = cm_file_read(path, max, &len, err, n);
    if (!text)
        return NULL;
    json_t *doc = json_loadb(text, len, 0, NULL), *entries = NULL;
    json_t *requests = json_object_get(doc, "requests");
    char why[200];
    if (json_is_array(requests) &&
        cm_format_check(json_object_get(doc, "format_version"), "trace", why, sizeof why) < 0)
        snprintf(err, n, "%s: %s", path, why);
    else if (json_is_array(requests) && json_integer_value(json_object_get(doc, "dropped")) > 0)
        snprintf(err, n,
                 "%s: the trace lost %lld entries (a full ring buffer); refusing to grade part "
                 "of it",
                 path, json_integer_value(json_object_get(doc, "dropped")));
    else if (json_is_array(requests))
        entries = json_incref(requests);
    else /* a one-line file parses as one JSON document too */
        entries = read_lines(path, text, err, n);
    json_decref(doc);
    free(text);
    return entries;
}

/* Where the sequence numbers break, into @p err: the missing ones, or a step back. */
static void describe_gap(const char *path, json_int_t prev, json_int_t seq, char *err, size_t n)
{
    if (seq <= prev) /* sorted: only a repeat */
        snprintf(err, n,
                 "%s: seq %lld appears twice: the file holds more than one run (an IdP "
                 "restarted onto the same file) or a repeated entry; refusing to grade it",
                 path, (long long)seq);
    else if (seq == prev + 2)
        snprintf(err, n,
                 "%s: the trace lost entries (seq %lld is missing); refusing to grade "
                 "part of it",
                 path, (long long)prev + 1);
    else
        snprintf(err, n,
                 "%s: the trace lost entries (seq %lld to %lld are missing); refusing to grade "
                 "part of it",
                 path, (long long)prev + 1, (long long)seq - 1);
}

static int by_seq(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "seq"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "seq"));
    return x < y ? -1 : x > y;
}

/* The entries in seq order: a file written in completion order (an older mock-idp, or
 * lines gathered from several places) is complete all the same. */
static json_t *sorted(json_t *entries)
{
    size_t n = json_array_size(entries);
    json_t **v = malloc((n ? n : 1) * sizeof *v), *out = v ? json_array() : NULL;
    if (!out) { /* no memory to sort: graded as written, or refused if out of order */
        free(v);
        return entries;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(entries, i);
    qsort(v, n, sizeof *v, by_seq);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    json_decref(entries);
    return out;
}

/* A trace with lost entries cannot be graded: checks over part of it could pass a client
 * that failed in the missing part. Sorted by seq, the numbers must be consecutive. */
static int complete(json_t *entries, const char *path, char *err, size_t n)
{
    size_t i;
    json_t *e;
    json_int_t prev = 0;
    json_array_foreach(entries, i, e)
    {
        json_int_t seq = json_integer_value(json_object_get(e, "seq"));
        if (json_object_get(e, "dropped")) {
            snprintf(err, n,
                     "%s: the trace lost entries (before seq %lld); refusing to grade "
                     "part of it",
                     path, (long long)seq);
            return -1;
        }
        if (i > 0 && seq != prev + 1) {
            describe_gap(path, prev, seq, err, n);
            return -1;
        }
        prev = seq;
    }
    return 0;
}

/* Recorded on the wall clock: the IdP clock kept pace with real time (within 50 ms) from
 * the first entry to the last. A virtual clock advanced by the control API does not. */
static int on_wall_clock(json_t *all)
{
    json_t *a = json_array_get(all, 0), *b = json_array_get(all, json_array_size(all) - 1);
    json_t *ra = json_object_get(a, "real_time"), *rb = json_object_get(b, "real_time");
    if (!ra || !rb)
        return 0;
    double drift = (json_number_value(rb) - json_number_value(ra)) - (hr_t(b) - hr_t(a));
    return drift < 0.05 && drift > -0.05;
}

/* A group's trace: times from the trace's first entry, the rest as recorded; and its
 * steps: the client's logout shows as its first end_session (or, without one,
 * revocation). */
static json_t *group_trace(json_t *entries, double t0, json_t *steps)
{
    json_t *trace = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        json_t *c = json_deep_copy(e);
        /* to the microsecond, which only takes off the noise of subtracting two epoch
         * times: to the millisecond, a sequential client's next request, a fraction of a
         * millisecond after the answer, could look as if it overlapped */
        double t = (double)(long long)((hr_t(e) - t0) * 1e6 + 0.5) / 1e6;
        json_object_set_new(c, "t", json_real(t));
        const char *ep = hr_str(e, "endpoint");
        if ((!strcmp(ep, "end_session") || !strcmp(ep, "revoke")) && json_array_size(steps) == 0)
            json_array_append_new(
                steps, json_pack("{s:s, s:O}", "do", "logout", "t", json_object_get(c, "t")));
        json_array_append_new(trace, c);
    }
    return trace;
}

static json_t *judge_group(json_t *g, json_t *scn, double t0, const char *path)
{
    json_t *steps = json_array();
    json_t *trace = group_trace(json_object_get(g, "entries"), t0, steps);
    int failed;
    json_t *results = hr_judge(scn, trace, NULL, steps, &failed);
    json_t *run = json_pack(
        "{s:O, s:s, s:s, s:s, s:s, s:[], s:s, s:o, s:o, s:o, s:I}", "scenario",
        json_object_get(g, "name"), "title", path, "target", "observed", "group", hr_str(g, "key"),
        "teaches",
        "A trace recorded from a client the harness did not drive, graded with the same checks.",
        "refs", "verdict", failed ? "fail" : "pass", "checks", results, "trace", trace, "steps",
        steps, "wall_ms", (json_int_t)0);
    json_t *no_events = json_array(); /* borrowed by hr_figures */
    json_object_set_new(run, "figures", hr_figures(trace, no_events));
    json_decref(no_events);
    return run;
}

static json_t *only_client(json_t *all, const char *client_id)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        const char *cid = json_string_value(json_object_get(e, "client_id"));
        if (!client_id || !cid || !strcmp(cid, client_id))
            json_array_append(out, e);
    }
    return out;
}

json_t *hr_observe(const char *path, const hr_observe_opts *o, char *err, size_t n)
{
    json_t *all = read_entries(path, o->max_bytes, err, n);
    if (all && json_array_size(all) == 0)
        snprintf(err, n, "%s: the trace has no entries", path);
    if (all)
        all = sorted(all);
    if (!all || json_array_size(all) == 0 || complete(all, path, err, n) != 0) {
        json_decref(all);
        return NULL;
    }
    double t0 = hr_t(json_array_get(all, 0));
    json_t *scn = json_pack("{s:s, s:{s:O}}", "clock", on_wall_clock(all) ? "wall" : "virtual",
                            "expect", "checks", o->checks);
    json_t *mine = only_client(all, o->client_id);
    json_t *groups = hr_groups(mine, o->group_by ? o->group_by : "session");
    json_t *runs = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) json_array_append_new(runs, judge_group(g, scn, t0, path));
    json_decref(groups), json_decref(mine), json_decref(all), json_decref(scn);
    return runs;
}
