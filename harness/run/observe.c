/* Observe mode: judge a trace recorded by mock-idp --trace-out (JSON lines) or saved from
 * GET /_mock/trace, for clients the harness cannot drive. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"
#include "harness.h"

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
        json_t *e = json_loadb(p, l, 0, &jerr);
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
    if (json_is_array(requests) && json_integer_value(json_object_get(doc, "dropped")) > 0)
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
    if (seq <= prev)
        snprintf(err, n,
                 "%s: seq %lld follows seq %lld: the entries are out of order or the file holds "
                 "more than one run; refusing to grade it",
                 path, (long long)seq, (long long)prev);
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

/* A trace with lost entries cannot be graded: checks over part of it could pass a client
 * that failed in the missing part. Sequence numbers must be consecutive. */
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

json_t *hr_observe(const char *path, size_t max_bytes, json_t *checks, const char *client_id,
                   char *err, size_t n)
{
    json_t *all = read_entries(path, max_bytes, err, n);
    if (all && json_array_size(all) == 0)
        snprintf(err, n, "%s: the trace has no entries", path);
    if (!all || json_array_size(all) == 0 || complete(all, path, err, n) != 0) {
        json_decref(all);
        return NULL;
    }
    double t0 = json_number_value(json_object_get(json_array_get(all, 0), "t"));
    json_t *trace = json_array(), *steps = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        const char *cid = json_string_value(json_object_get(e, "client_id"));
        if (client_id && cid && strcmp(cid, client_id))
            continue;
        json_t *c = json_deep_copy(e);
        json_object_del(c, "real_time");
        json_object_del(c, "latency");
        double t = json_number_value(json_object_get(e, "t")) - t0;
        json_object_set_new(c, "t", json_real((double)(long long)(t * 1000 + 0.5) / 1000.0));
        const char *ep = json_string_value(json_object_get(e, "endpoint"));
        /* a client's logout shows as its first end_session (or, without one, revocation) */
        if (ep && (!strcmp(ep, "end_session") || !strcmp(ep, "revoke")) &&
            json_array_size(steps) == 0)
            json_array_append_new(
                steps, json_pack("{s:s, s:O}", "do", "logout", "t", json_object_get(c, "t")));
        json_array_append_new(trace, c);
    }
    json_decref(all);
    json_t *scn = json_pack("{s:{s:O}}", "expect", "checks", checks);
    int failed;
    json_t *results = hr_judge(scn, trace, NULL, steps, &failed);
    json_t *run = json_pack("{s:s, s:s, s:s, s:s, s:[], s:s, s:o, s:o, s:o, s:I}", "scenario", path,
                            "title", "observed trace", "target", "observed", "teaches",
                            "A trace recorded from a client the harness did not drive, graded "
                            "with the same checks.",
                            "refs", "verdict", failed ? "fail" : "pass", "checks", results, "trace",
                            trace, "steps", steps, "wall_ms", (json_int_t)0);
    json_t *no_events = json_array(); /* borrowed by hr_figures */
    json_object_set_new(run, "figures", hr_figures(trace, no_events));
    json_decref(no_events);
    json_decref(scn);
    return run;
}
