/* The comparison table, findings and browser console of the HTML report (html_parts.h). */
#include "html_parts.h"

#include <string.h>

#include "reports.h"
#include "xml.h"

static const char *S(json_t *e, const char *k)
{
    const char *s = json_string_value(json_object_get(e, k));
    return s ? s : "";
}

static json_t *run_of(json_t *runs, const char *scenario, const char *target)
{
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run) if (!strcmp(S(run, "scenario"), scenario) &&
                                         !strcmp(S(run, "target"), target) &&
                                         strcmp(S(run, "verdict"), "skip")) return run;
    return NULL;
}

/* "silent", "refresh_token", or both, from the run's renewed events. */
static void methods(cm_strbuf *b, json_t *run)
{
    int silent = 0, refresh = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(run, "events"), i, e) if (!strcmp(S(e, "event"), "renewed"))
    {
        silent |= !strcmp(S(e, "method"), "silent");
        refresh |= !strcmp(S(e, "method"), "refresh_token");
    }
    if (silent || refresh)
        cm_strbuf_printf(b, " by %s%s%s", silent ? "iframe" : "", silent && refresh ? " + " : "",
                         refresh ? "refresh token" : "");
}

static void cell(cm_strbuf *b, json_t *run)
{
    if (!run) {
        cm_strbuf_puts(b, "<td class=\"na\">—</td>");
        return;
    }
    const char *v = S(run, "verdict");
    cm_strbuf_printf(b, "<td class=\"%s\"><span class=\"badge %s\">%s</span> ", v, v, v);
    json_t *fig = json_object_get(run, "figures");
    if (fig)
        cm_strbuf_printf(b, "%lld renewals", json_integer_value(json_object_get(fig, "renewals")));
    methods(b, run);
    size_t i;
    json_t *c;
    cm_strbuf_puts(b, "<ul>");
    json_array_foreach(json_object_get(run, "checks"), i,
                       c) if (!json_is_true(json_object_get(c, "passed")))
    {
        cm_strbuf_puts(b, "<li>");
        rpt_xml_escape(b, S(c, "kind"));
        cm_strbuf_puts(b, " ");
        rpt_xml_escape(b, S(c, "name"));
        cm_strbuf_puts(b, "</li>");
    }
    cm_strbuf_puts(b, "</ul>");
    if (json_is_true(json_object_get(run, "expected_finding")))
        cm_strbuf_puts(b, "<span class=\"finding\">known finding</span>");
    cm_strbuf_puts(b, "</td>");
}

static int runs_on_several(json_t *runs, json_t *targets, const char *scenario)
{
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t) n += run_of(runs, scenario, json_string_value(t)) != NULL;
    return n > 1;
}

void rpt_html_compare(cm_strbuf *b, json_t *runs)
{
    /* the targets in order of first appearance, as the matrix has them */
    json_t *m = rpt_matrix(runs), *targets = json_object_get(m, "targets"), *done = json_object();
    size_t i, k;
    json_t *run, *t;
    int rows = 0;
    json_array_foreach(runs, i, run)
    {
        const char *scn = S(run, "scenario");
        if (json_object_get(done, scn) || !runs_on_several(runs, targets, scn))
            continue;
        json_object_set_new(done, scn, json_true());
        if (!rows++) {
            cm_strbuf_puts(b,
                           "<h2>Side by side</h2><table class=\"compare\"><tr><th>scenario</th>");
            json_array_foreach(targets, k, t)
                cm_strbuf_printf(b, "<th>%s</th>", json_string_value(t));
            cm_strbuf_puts(b, "</tr>");
        }
        cm_strbuf_printf(b, "<tr data-scenario=\"%s\"><td><a href=\"#%s--%s\">%s</a></td>", scn,
                         scn, S(run, "target"), scn);
        json_array_foreach(targets, k, t) cell(b, run_of(runs, scn, json_string_value(t)));
        cm_strbuf_puts(b, "</tr>");
    }
    if (rows)
        cm_strbuf_puts(b, "</table>\n");
    json_decref(m);
    json_decref(done);
}

void rpt_html_joined(cm_strbuf *b, json_t *list)
{
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s)
    {
        cm_strbuf_puts(b, i ? ", " : "");
        rpt_xml_escape(b, json_string_value(s));
    }
}

void rpt_html_finding(cm_strbuf *b, json_t *run)
{
    json_t *f = json_object_get(run, "finding");
    if (!f)
        return;
    cm_strbuf_printf(b, "<div class=\"finding\" data-expected=\"%s\"><p><b>%s finding of ",
                     json_is_true(json_object_get(run, "expected_finding")) ? "true" : "false",
                     json_is_true(json_object_get(run, "expected_finding")) ? "Known" : "Recorded");
    rpt_xml_escape(b, S(f, "target"));
    cm_strbuf_puts(b, " ");
    rpt_xml_escape(b, json_is_string(json_object_get(f, "version")) ? S(f, "version")
                                                                    : "(any version)");
    cm_strbuf_puts(b, "</b> (");
    rpt_xml_escape(b, S(f, "kind"));
    cm_strbuf_puts(b, "): ");
    rpt_xml_escape(b, S(f, "reason"));
    cm_strbuf_puts(b, "</p><p>upstream: ");
    rpt_html_joined(b, json_object_get(f, "upstream"));
    if (!json_is_true(json_object_get(run, "expected_finding")))
        cm_strbuf_printf(b, " — <b>this run does not match the record</b> (installed %s)",
                         json_is_string(json_object_get(f, "installed_version"))
                             ? S(f, "installed_version")
                             : "nothing");
    cm_strbuf_puts(b, "</p></div>");
}

void rpt_html_console(cm_strbuf *b, json_t *run)
{
    json_t *lines = json_object_get(run, "console");
    if (!json_array_size(lines))
        return;
    cm_strbuf_puts(b, "<details class=\"console\"><summary>browser console</summary><pre>");
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        rpt_xml_escape(b, json_string_value(l));
        cm_strbuf_puts(b, "\n");
    }
    cm_strbuf_puts(b, "</pre></details>");
}
