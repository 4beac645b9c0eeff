/* The findings store (docs/findings.md): records of runs known to fail, each keyed by the
 * target's client (a page client's library, an exec adapter's hello name, core:STRATEGY)
 * and optionally its version, with the expectations it fails and why. The shipped records
 * are the *.json files of harness/findings; --findings or --baseline FILE adds a user's. A
 * run is annotated, never re-graded: its verdict stays "fail", and "expected_finding" is
 * true only when the client's version is the recorded one and it fails no expectation the
 * record does not name; the gate (severity.c) then leaves it out of the exit status. What
 * the record names and the run no longer fails is "fixed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cm_json.h"
#include "cm_schema.h"
#include "harness.h"
#include "trace_access.h"

#define FINDINGS_FORMAT 1

static json_t *store; /* every record loaded, each with "file" added */

static const char *const KINDS[] = {"bug", "by design", "expected", NULL};
static const cm_param TOP[] = {{"renewlab_findings", CM_T_INT, 1, NULL},
                               {"_about", CM_T_STR, 0, NULL},
                               {"records", CM_T_ARRAY, 1, NULL},
                               {NULL, 0, 0, NULL}};
static const cm_param RECORD[] = {{"target", CM_T_STR, 1, NULL},
                                  {"version", CM_T_STR, 0, NULL},
                                  {"scenario", CM_T_STR, 1, NULL},
                                  {"kind", CM_T_STR, 1, KINDS},
                                  {"failed", CM_T_STRARRAY, 1, NULL},
                                  {"reason", CM_T_STR, 1, NULL},
                                  {"upstream", CM_T_STRARRAY, 0, NULL},
                                  {"source", CM_T_STRARRAY, 0, NULL},
                                  {NULL, 0, 0, NULL}};
static const char *const FAILED_KINDS[] = {"events ", "requests ", "final ", "trace ", NULL};

/* A failed expectation is named "KIND NAME", as the judge's results are. */
static int check_failed(json_t *failed, const char *ptr, char *err, size_t n)
{
    size_t i;
    json_t *f;
    if (json_array_size(failed) == 0)
        return cm_errf(err, n, "%s/failed: at least one expectation", ptr);
    json_array_foreach(failed, i, f)
    {
        const char *s = json_string_value(f);
        int ok = 0;
        for (int k = 0; FAILED_KINDS[k]; k++)
            ok |= !strncmp(s, FAILED_KINDS[k], strlen(FAILED_KINDS[k])) &&
                  s[strlen(FAILED_KINDS[k])] != '\0';
        if (!ok)
            return cm_errf(err, n,
                           "%s/failed/%zu: expected \"events|requests|final|trace NAME\", as the "
                           "report names a failed expectation",
                           ptr, i);
    }
    return 0;
}

static int validate(json_t *doc, void *arg, char *err, size_t n)
{
    (void)arg;
    if (cm_schema_check(doc, TOP, "", NULL, err, n) != 0)
        return -1;
    json_int_t format = json_integer_value(json_object_get(doc, "renewlab_findings"));
    if (format != FINDINGS_FORMAT)
        return cm_errf(err, n,
                       "/renewlab_findings: format %lld, this renewlab reads format %d (a newer "
                       "renewlab wrote it?)",
                       (long long)format, FINDINGS_FORMAT);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(doc, "records"), i, r)
    {
        char ptr[40];
        snprintf(ptr, sizeof ptr, "/records/%zu", i);
        if (!json_is_object(r))
            return cm_errf(err, n, "%s: expected an object", ptr);
        if (cm_schema_check(r, RECORD, ptr, NULL, err, n) != 0 ||
            check_failed(json_object_get(r, "failed"), ptr, err, n) != 0)
            return -1;
    }
    return 0;
}

static int load_file(const char *path, char *err, size_t n)
{
    json_t *doc = cm_json_load_checked(path, validate, NULL, err, n);
    if (!doc)
        return -1;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(doc, "records"), i, r)
    {
        json_object_set_new(r, "file", json_string(path));
        json_array_append(store, r);
    }
    json_decref(doc);
    return 0;
}

/* Every *.json of the folder @p dir, in name order. */
static int load_dir(const char *dir, char *err, size_t n)
{
    json_t *paths = cm_json_files(dir, 0);
    if (!paths)
        return cm_errf(err, n, "%s: cannot read the folder", dir);
    int rc = 0;
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p) if (rc == 0) rc = load_file(json_string_value(p), err, n);
    json_decref(paths);
    return rc;
}

const char *hr_findings_dir(void)
{
    return hr_data_dir(HR_DATA_FINDINGS);
}

int hr_findings_load(const char *path, char *err, size_t n)
{
    struct stat st;
    if (!store)
        store = json_array();
    if (stat(path, &st) != 0)
        return cm_errf(err, n, "%s: no such file or folder", path);
    return S_ISDIR(st.st_mode) ? load_dir(path, err, n) : load_file(path, err, n);
}

/* "kind name" of each failed expectation. */
static json_t *failed_names(json_t *run)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(run, "checks"), i, c)
    {
        if (json_is_true(json_object_get(c, "passed")))
            continue;
        char name[160];
        snprintf(name, sizeof name, "%s %s", json_string_value(json_object_get(c, "kind")),
                 json_string_value(json_object_get(c, "name")));
        json_array_append_new(out, json_string(name));
    }
    return out;
}

static int contains(json_t *set, json_t *x)
{
    size_t k;
    json_t *y;
    json_array_foreach(set, k, y) if (json_equal(x, y)) return 1;
    return 0;
}

/* The members of @p a that @p b lacks (new reference). */
static json_t *minus(json_t *a, json_t *b)
{
    json_t *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) if (!contains(b, x)) json_array_append(out, x);
    return out;
}

/* The record of @p scenario for the client @p name: the one of @p version (or one with no
 * version) when there is one, else any other version's, or NULL. */
static json_t *record_for(const char *name, const char *version, const char *scenario)
{
    json_t *other = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(store, i, r)
    {
        if (strcmp(hr_str(r, "target"), name) || strcmp(hr_str(r, "scenario"), scenario))
            continue;
        const char *v = json_string_value(json_object_get(r, "version"));
        if (!v || (version && !strcmp(v, version)))
            return r;
        other = other ? other : r;
    }
    return other;
}

void hr_findings_annotate(json_t *run)
{
    const char *verdict = hr_str(run, "verdict"), *scenario = hr_str(run, "scenario");
    json_t *client = json_object_get(run, "client");
    const char *name = json_string_value(json_object_get(client, "name"));
    const char *version = json_string_value(json_object_get(client, "version"));
    name = name ? name : hr_str(run, "target");
    if (!store || (strcmp(verdict, "fail") && strcmp(verdict, "pass")))
        return;
    json_t *r = record_for(name, version, scenario);
    if (!r)
        return;
    const char *want = json_string_value(json_object_get(r, "version"));
    int same_version = !want || (version && !strcmp(want, version));
    json_t *failed = failed_names(run), *recorded = json_object_get(r, "failed");
    json_t *unexpected = minus(failed, recorded);
    int expected = !strcmp(verdict, "fail") && json_array_size(unexpected) == 0;
    json_t *note = json_deep_copy(r);
    json_object_del(note, "scenario");
    json_object_set_new(note, "installed_version", version ? json_string(version) : json_null());
    json_object_set_new(note, "fixed", minus(recorded, failed));
    json_object_set_new(note, "unexpected", unexpected);
    json_object_set_new(run, "finding", note);
    json_object_set_new(run, "expected_finding", json_boolean(same_version && expected));
    json_decref(failed);
}

/* A record of a failed run for a baseline: the record it matched keeps its words. */
static json_t *baseline_record(json_t *run, const char *why)
{
    json_t *client = json_object_get(run, "client"), *f = json_object_get(run, "finding");
    const char *name = json_string_value(json_object_get(client, "name"));
    json_t *rec = json_pack("{s:s, s:O, s:s, s:o}", "target", name ? name : hr_str(run, "target"),
                            "scenario", json_object_get(run, "scenario"), "kind", "expected",
                            "failed", failed_names(run));
    if (json_is_string(json_object_get(client, "version")))
        json_object_set(rec, "version", json_object_get(client, "version"));
    if (f && !json_array_size(json_object_get(f, "unexpected"))) {
        json_object_set(rec, "kind", json_object_get(f, "kind"));
        json_object_set(rec, "reason", json_object_get(f, "reason"));
    } else {
        json_object_set_new(rec, "reason", json_string(why));
    }
    return rec;
}

int hr_findings_write_baseline(json_t *runs, const char *path, const char *why, char *err, size_t n)
{
    json_t *records = json_array();
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run) if (!strcmp(hr_str(run, "verdict"), "fail"))
        json_array_append_new(records, baseline_record(run, why));
    json_t *doc =
        json_pack("{s:i, s:s, s:o}", "renewlab_findings", FINDINGS_FORMAT, "_about",
                  "A baseline: the failures known when it was written (docs/findings.md). "
                  "renewlab run --baseline FILE counts only new ones.",
                  "records", records);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int rc = json_dump_file(doc, tmp, JSON_INDENT(2)) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    if (rc != 0) {
        remove(tmp);
        cm_errf(err, n, "%s: cannot write the baseline", path);
    }
    json_decref(doc);
    return rc;
}
