/* Shared by the writers: atomic file writes and the summary. */
#include "reports.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rpt_write_file(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    size_t len = strlen(text);
    int ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
        return RPT_EIO;
    }
    return RPT_OK;
}

/* Failed runs by the gravest severity they failed, how many a known finding explains, and
 * how many count for the exit status ("blocking" unset counts: nothing gated it). */
static json_t *failure_counts(json_t *runs)
{
    json_int_t must = 0, should = 0, policy = 0, known = 0, blocking = 0;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        const char *v = json_string_value(json_object_get(run, "verdict"));
        if (!v || strcmp(v, "fail"))
            continue;
        const char *sev = json_string_value(json_object_get(run, "severity"));
        must += !sev || !strcmp(sev, "must");
        should += sev && !strcmp(sev, "should");
        policy += sev && !strcmp(sev, "policy");
        known += json_is_true(json_object_get(run, "expected_finding"));
        blocking += !json_is_false(json_object_get(run, "blocking"));
    }
    return json_pack("{s:I, s:I, s:{s:I, s:I, s:I}}", "blocking", blocking, "known", known,
                     "by_severity", "must", must, "should", should, "policy", policy);
}

void rpt_summarize(json_t *report)
{
    long n[4] = {0};
    static const char *const names[] = {"pass", "fail", "skip", "error"};
    size_t i;
    json_t *run, *runs = json_object_get(report, "runs");
    json_array_foreach(runs, i, run)
    {
        const char *v = json_string_value(json_object_get(run, "verdict"));
        for (int k = 0; k < 4; k++)
            n[k] += v && !strcmp(v, names[k]);
    }
    json_t *summary = json_pack("{s:I, s:I, s:I, s:I, s:I}", "pass", (json_int_t)n[0], "fail",
                                (json_int_t)n[1], "skip", (json_int_t)n[2], "error",
                                (json_int_t)n[3], "total", (json_int_t)json_array_size(runs));
    json_t *failures = failure_counts(runs);
    json_object_update(summary, failures);
    json_decref(failures);
    json_object_set_new(report, "summary", summary);
}
