/* Observe mode: judge a trace recorded by mock-idp --trace-out (JSON lines) or saved from
 * GET /_mock/trace, for clients the harness cannot drive. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"
#include "harness.h"

/* Entries of a JSON-lines file, or of a {"requests": [...]} document. */
static json_t *read_entries(const char *path, char *err, size_t n)
{
    size_t len;
    char *text = cm_file_read(path, &len);
    if (!text) {
        snprintf(err, n, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    json_t *doc = json_loadb(text, len, 0, NULL), *entries = NULL;
    if (doc && json_is_array(json_object_get(doc, "requests"))) {
        if (json_integer_value(json_object_get(doc, "dropped")) > 0) {
            snprintf(err, n,
                     "%s: the trace lost %lld entries (a full ring buffer); refusing to "
                     "grade part of it",
                     path, json_integer_value(json_object_get(doc, "dropped")));
            json_decref(doc);
            free(text);
            return NULL;
        }
        entries = json_incref(json_object_get(doc, "requests"));
    } else if (!doc) {
        entries = json_array();
        int line = 0;
        for (char *p = text, *nl; entries && *p; p = nl ? nl + 1 : p + strlen(p)) {
            nl = strchr(p, '\n');
            line++;
            size_t l = nl ? (size_t)(nl - p) : strlen(p);
            if (l == 0)
                continue;
            json_error_t jerr;
            json_t *e = json_loadb(p, l, 0, &jerr);
            if (!json_is_object(e)) {
                snprintf(err, n, "%s:%d: not a trace entry: %s", path, line, e ? "" : jerr.text);
                json_decref(e);
                json_decref(entries);
                entries = NULL;
                break;
            }
            json_array_append_new(entries, e);
        }
    } else {
        snprintf(err, n, "%s: neither JSON lines nor {\"requests\": [...]}", path);
    }
    json_decref(doc);
    free(text);
    return entries;
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
        if (json_object_get(e, "dropped") || (i > 0 && seq != prev + 1)) {
            snprintf(err, n,
                     "%s: the trace lost entries (after seq %lld); refusing to grade part of it",
                     path, (long long)prev);
            return -1;
        }
        prev = seq;
    }
    return 0;
}

json_t *hr_observe(const char *path, json_t *checks, const char *client_id, char *err, size_t n)
{
    json_t *all = read_entries(path, err, n);
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
