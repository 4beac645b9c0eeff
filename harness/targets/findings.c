/* Known findings of third-party clients: harness/web/findings.json records, per library and
 * version, the scenarios the library fails because it really behaves that way, with the
 * exact expectations it fails and its upstream issue. A run is annotated, never re-graded:
 * its verdict stays "fail", and "expected_finding" is true only when the installed version
 * is the recorded one and the failed expectations are exactly the recorded ones. */
#include <stdio.h>
#include <string.h>

#include "apphost.h"
#include "harness.h"

static json_t *load_json(const char *dir, const char *file)
{
    char path[600];
    snprintf(path, sizeof path, "%.300s/%s", dir, file);
    return json_load_file(path, 0, NULL);
}

/* The version of the npm package @p name installed next to the pages, or NULL. */
static json_t *installed_version(const char *name)
{
    char file[200];
    snprintf(file, sizeof file, "node_modules/%.100s/package.json", name);
    json_t *pkg = load_json(hr_web_dir(), file);
    json_t *v = json_incref(json_object_get(pkg, "version"));
    json_decref(pkg);
    return v;
}

/* "kind name" of each failed expectation, sorted as the judge lists them. */
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

static int same_set(json_t *a, json_t *b)
{
    size_t i, k;
    json_t *x, *y;
    if (json_array_size(a) != json_array_size(b))
        return 0;
    json_array_foreach(a, i, x)
    {
        int found = 0;
        json_array_foreach(b, k, y) found |= json_equal(x, y);
        if (!found)
            return 0;
    }
    return 1;
}

static json_t *finding_for(json_t *lib, const char *scenario)
{
    size_t i;
    json_t *f;
    json_array_foreach(
        json_object_get(lib, "findings"), i,
        f) if (!strcmp(json_string_value(json_object_get(f, "scenario")), scenario)) return f;
    return NULL;
}

void hr_findings_annotate(json_t *run)
{
    const char *target = json_string_value(json_object_get(run, "target"));
    const char *verdict = json_string_value(json_object_get(run, "verdict"));
    const char *scenario = json_string_value(json_object_get(run, "scenario"));
    if (!target || !verdict || !scenario || (strcmp(verdict, "fail") && strcmp(verdict, "pass")))
        return;
    json_t *all = load_json(hr_web_dir(), "findings.json");
    json_t *lib = json_object_get(all, target);
    json_t *f = lib ? finding_for(lib, scenario) : NULL;
    if (f) {
        json_t *installed = installed_version(target), *failed = failed_names(run);
        int same_version = json_equal(installed, json_object_get(lib, "version"));
        int exact = !strcmp(verdict, "fail") && same_set(failed, json_object_get(f, "failed"));
        json_t *note = json_deep_copy(f);
        json_object_del(note, "scenario");
        json_object_set(note, "recorded_version", json_object_get(lib, "version"));
        json_object_set_new(note, "installed_version", installed ? installed : json_null());
        json_object_set_new(run, "finding", note);
        json_object_set_new(run, "expected_finding", json_boolean(same_version && exact));
        json_decref(failed);
    }
    json_decref(all);
}
