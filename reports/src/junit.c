/* JUnit XML: one testsuite per target, one testcase per scenario; a failing client is a
 * <failure> with the evidence, an infrastructure problem an <error>, a skip <skipped>. A
 * failure that does not count for the exit status (docs/severity.md) is no <failure>: a
 * known finding is <skipped> with the record's words, one below --fail-on passes, and
 * both keep their evidence as <system-out>. */
#include <string.h>

#include "reports.h"
#include "xml.h"

void rpt_xml_escape(cm_strbuf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            cm_strbuf_puts(b, "&lt;");
        else if (c == '>')
            cm_strbuf_puts(b, "&gt;");
        else if (c == '&')
            cm_strbuf_puts(b, "&amp;");
        else if (c == '"')
            cm_strbuf_puts(b, "&quot;");
        else if (c < 0x20 && c != '\n' && c != '\t')
            continue; /* not allowed in XML 1.0 */
        else
            cm_strbuf_append(b, s, 1);
    }
}

static void evidence_text(cm_strbuf *b, json_t *run)
{
    size_t i, k;
    json_t *c, *ev;
    json_array_foreach(json_object_get(run, "checks"), i, c)
    {
        if (json_is_true(json_object_get(c, "passed")))
            continue;
        const char *sev = json_string_value(json_object_get(c, "severity"));
        cm_strbuf_printf(b, "[%s] %s %s failed\n", sev ? sev : "must",
                         json_string_value(json_object_get(c, "kind")),
                         json_string_value(json_object_get(c, "name")));
        json_array_foreach(json_object_get(c, "evidence"), k, ev)
        {
            cm_strbuf_puts(b, "  - ");
            rpt_xml_escape(b, json_string_value(ev));
            cm_strbuf_puts(b, "\n");
        }
    }
}

/* A broken adapter's last stderr lines, as the testcase's system-err. */
static void stderr_text(cm_strbuf *b, json_t *lines)
{
    size_t i;
    json_t *l;
    if (!json_array_size(lines))
        return;
    cm_strbuf_puts(b, "  <system-err>");
    json_array_foreach(lines, i, l)
    {
        rpt_xml_escape(b, json_string_value(l));
        cm_strbuf_puts(b, "\n");
    }
    cm_strbuf_puts(b, "</system-err>\n    ");
}

/* 1 when the run's failure counts for the exit status (unset: nothing gated it). */
static int blocking(json_t *run)
{
    return !strcmp(json_string_value(json_object_get(run, "verdict")), "fail") &&
           !json_is_false(json_object_get(run, "blocking"));
}

static int known(json_t *run)
{
    return !strcmp(json_string_value(json_object_get(run, "verdict")), "fail") &&
           json_is_true(json_object_get(run, "expected_finding"));
}

/* A failure that does not count: known finding (skipped) or below --fail-on (passed). */
static void excused(cm_strbuf *b, json_t *run)
{
    json_t *f = json_object_get(run, "finding");
    if (known(run)) {
        cm_strbuf_puts(b, "\n      <skipped message=\"known finding (");
        rpt_xml_escape(b, json_string_value(json_object_get(f, "kind")));
        cm_strbuf_puts(b, "): ");
        rpt_xml_escape(b, json_string_value(json_object_get(f, "reason")));
        cm_strbuf_puts(b, "\"/>");
    }
    cm_strbuf_puts(b, "\n      <system-out>");
    if (!known(run))
        cm_strbuf_printf(b, "failed below --fail-on (%s), not counted:\n",
                         json_string_value(json_object_get(run, "severity")));
    evidence_text(b, run);
    cm_strbuf_puts(b, "</system-out>\n    ");
}

static void testcase(cm_strbuf *b, json_t *run)
{
    const char *v = json_string_value(json_object_get(run, "verdict"));
    cm_strbuf_puts(b, "    <testcase classname=\"renewlab.");
    rpt_xml_escape(b, json_string_value(json_object_get(run, "target")));
    cm_strbuf_puts(b, "\" name=\"");
    rpt_xml_escape(b, json_string_value(json_object_get(run, "scenario")));
    cm_strbuf_printf(b, "\" time=\"%.3f\">",
                     (double)json_integer_value(json_object_get(run, "wall_ms")) / 1000.0);
    const char *reason = json_string_value(json_object_get(run, "reason"));
    if (!strcmp(v, "fail") && !blocking(run)) {
        excused(b, run);
    } else if (!strcmp(v, "fail")) {
        cm_strbuf_puts(b, "\n      <failure message=\"the client did not behave as expected\" "
                          "type=\"renewal\">");
        evidence_text(b, run);
        cm_strbuf_puts(b, "</failure>\n    ");
    } else if (!strcmp(v, "error")) {
        cm_strbuf_puts(b, "\n      <error message=\"");
        rpt_xml_escape(b, reason);
        cm_strbuf_puts(b, "\" type=\"infrastructure\"/>\n    ");
        stderr_text(b, json_object_get(run, "stderr"));
    } else if (!strcmp(v, "skip")) {
        cm_strbuf_puts(b, "\n      <skipped message=\"");
        rpt_xml_escape(b, reason);
        cm_strbuf_puts(b, "\"/>\n    ");
    }
    cm_strbuf_puts(b, "</testcase>\n");
}

static void suite(cm_strbuf *b, json_t *runs, const char *target)
{
    long n = 0, f = 0, e = 0, s = 0;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        if (strcmp(json_string_value(json_object_get(run, "target")), target))
            continue;
        const char *v = json_string_value(json_object_get(run, "verdict"));
        n++, f += blocking(run), e += !strcmp(v, "error"), s += !strcmp(v, "skip") + known(run);
    }
    cm_strbuf_puts(b, "  <testsuite name=\"renewlab.");
    rpt_xml_escape(b, target);
    cm_strbuf_printf(b, "\" tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\">\n", n, f,
                     e, s);
    json_array_foreach(runs, i, run) if (!strcmp(json_string_value(json_object_get(run, "target")),
                                                 target)) testcase(b, run);
    cm_strbuf_puts(b, "  </testsuite>\n");
}

int rpt_junit_write(const char *path, json_t *report, char *err, size_t errlen)
{
    json_t *runs = json_object_get(report, "runs"), *seen = json_object();
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_puts(&b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"renewlab\">\n");
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        const char *t = json_string_value(json_object_get(run, "target"));
        if (!json_object_get(seen, t)) {
            json_object_set_new(seen, t, json_true());
            suite(&b, runs, t);
        }
    }
    json_decref(seen);
    cm_strbuf_puts(&b, "</testsuites>\n");
    int rc = b.failed ? RPT_EIO : rpt_write_file(path, b.data, err, errlen);
    cm_strbuf_dispose(&b);
    return rc;
}
