/* The HTML report: one self-contained file — summary, and per run its story, verdict,
 * evidence, figures and an SVG timeline (token lifetimes as bars, renewals, faults,
 * failures). Every timeline element carries data attributes, so tests and readers can
 * query what happened. */
#include <stdlib.h>
#include <string.h>

#include "html_parts.h"
#include "reports.h"
#include "xml.h"

#define W 960
#define LEFT 150
#define ROW 26

static const char *S(json_t *e, const char *k)
{
    const char *v = json_string_value(json_object_get(e, k));
    return v ? v : "";
}

static double T(json_t *e)
{
    return json_number_value(json_object_get(e, "t"));
}

static double run_end(json_t *run)
{
    double end = 60;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(run, "trace"), i, e) end = T(e) > end ? T(e) : end;
    json_array_foreach(json_object_get(run, "events"), i, e) end = T(e) > end ? T(e) : end;
    json_array_foreach(json_object_get(run, "steps"), i, e) end = T(e) > end ? T(e) : end;
    double stop = json_number_value(json_object_get(run, "end"));
    return (stop > end ? stop : end) * 1.02;
}

typedef struct scale {
    double end, px;
} scale;

static double X(const scale *s, double t)
{
    return LEFT + (t < 0 ? 0 : t > s->end ? s->end : t) * s->px;
}

static void axis(cm_strbuf *b, const scale *s, int height)
{
    for (int k = 0; k <= 5; k++) {
        double t = s->end * k / 5;
        cm_strbuf_printf(b,
                         "<line class=\"tick\" x1=\"%.1f\" y1=\"18\" x2=\"%.1f\" y2=\"%d\"/>"
                         "<text class=\"tick-label\" x=\"%.1f\" y=\"12\">%.0fs</text>",
                         X(s, t), X(s, t), height, X(s, t) - 10, t);
    }
    static const char *const rows[] = {"access tokens", "refresh requests", "other requests",
                                       "fault rules", "client events"};
    for (int r = 0; r < 5; r++)
        cm_strbuf_printf(b, "<text class=\"row-label\" x=\"4\" y=\"%d\">%s</text>", 40 + r * ROW,
                         rows[r]);
}

static void token_bars(cm_strbuf *b, const scale *s, json_t *trace)
{
    size_t i;
    json_t *e;
    json_array_foreach(trace, i, e)
    {
        const char *at = json_string_value(json_array_get(json_object_get(e, "issued"), 0));
        if (!at || strncmp(at, "at#", 3) || json_integer_value(json_object_get(e, "status")) != 200)
            continue;
        double exp = T(e) + json_number_value(json_object_get(e, "expires_in"));
        cm_strbuf_printf(b,
                         "<rect class=\"at\" data-token=\"%s\" data-issued=\"%g\" "
                         "data-expires=\"%g\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"12\">"
                         "<title>%s: %gs to %gs</title></rect>",
                         at, T(e), exp, X(s, T(e)), 28 + (int)(i % 2) * 3,
                         X(s, exp) - X(s, T(e)) < 1 ? 1 : X(s, exp) - X(s, T(e)), at, T(e), exp);
    }
}

static const char *request_class(json_t *e)
{
    long st = (long)json_integer_value(json_object_get(e, "status"));
    return st >= 200 && st < 400 ? "ok" : st == 0 || st >= 500 || st == 429 ? "transient" : "fail";
}

static void requests(cm_strbuf *b, const scale *s, json_t *trace)
{
    size_t i;
    json_t *e;
    json_array_foreach(trace, i, e)
    {
        int refresh = !strcmp(S(e, "grant_type"), "refresh_token");
        int y = refresh ? 60 : 86;
        cm_strbuf_printf(b,
                         "<circle class=\"req %s%s\" data-seq=\"%lld\" data-endpoint=\"%s\" "
                         "data-status=\"%lld\" data-t=\"%g\" cx=\"%.1f\" cy=\"%d\" r=\"5\">"
                         "<title>#%lld %s %s %s at %gs: %lld %s</title></circle>",
                         refresh ? "refresh " : "", request_class(e),
                         json_integer_value(json_object_get(e, "seq")), S(e, "endpoint"),
                         json_integer_value(json_object_get(e, "status")), T(e), X(s, T(e)), y,
                         json_integer_value(json_object_get(e, "seq")), S(e, "endpoint"),
                         S(e, "grant_type"), S(e, "presented"), T(e),
                         json_integer_value(json_object_get(e, "status")), S(e, "error"));
        json_t *fault = json_object_get(e, "fault");
        if (fault)
            cm_strbuf_printf(b,
                             "<polygon class=\"fault\" data-rule=\"%s\" data-action=\"%s\" "
                             "data-t=\"%g\" points=\"%.1f,%d %.1f,%d %.1f,%d\"><title>fault %s: "
                             "%s at %gs</title></polygon>",
                             S(fault, "rule"), S(fault, "action"), T(e), X(s, T(e)), 106,
                             X(s, T(e)) - 6, 118, X(s, T(e)) + 6, 118, S(fault, "rule"),
                             S(fault, "action"), T(e));
    }
}

static void events(cm_strbuf *b, const scale *s, json_t *evs)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        cm_strbuf_printf(
            b,
            "<rect class=\"event %s\" data-event=\"%s\" data-t=\"%g\" "
            "x=\"%.1f\" y=\"%d\" width=\"8\" height=\"8\" transform=\"rotate(45 %.1f %d)\">"
            "<title>%s at %gs %s</title></rect>",
            S(e, "event"), S(e, "event"), T(e), X(s, T(e)) - 4, 132, X(s, T(e)), 136, S(e, "event"),
            T(e), S(e, "reason"));
    }
}

static void timeline(cm_strbuf *b, json_t *run)
{
    scale s = {.end = run_end(run)};
    s.px = (W - LEFT - 40) / s.end; /* room for the last tick's label */
    int height = 40 + 5 * ROW;
    cm_strbuf_printf(b,
                     "<svg class=\"timeline\" data-scenario=\"%s\" data-target=\"%s\" "
                     "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                     "xmlns=\"http://www.w3.org/2000/svg\">",
                     S(run, "scenario"), S(run, "target"), W, height, W, height);
    axis(b, &s, height);
    token_bars(b, &s, json_object_get(run, "trace"));
    requests(b, &s, json_object_get(run, "trace"));
    events(b, &s, json_object_get(run, "events"));
    cm_strbuf_puts(b, "</svg>\n");
}

static void checks(cm_strbuf *b, json_t *run)
{
    size_t i, k;
    json_t *c, *ev;
    cm_strbuf_puts(b, "<table class=\"checks\"><tr><th>check</th><th>severity</th><th>result</th>"
                      "<th>evidence</th></tr>");
    json_array_foreach(json_object_get(run, "checks"), i, c)
    {
        int ok = json_is_true(json_object_get(c, "passed"));
        cm_strbuf_printf(b, "<tr class=\"%s\" data-check=\"", ok ? "passed" : "failed");
        rpt_xml_escape(b, S(c, "name"));
        cm_strbuf_puts(b, "\" data-severity=\"");
        rpt_xml_escape(b, S(c, "severity"));
        cm_strbuf_puts(b, "\"><td>");
        rpt_xml_escape(b, S(c, "kind"));
        cm_strbuf_puts(b, " ");
        rpt_xml_escape(b, S(c, "name"));
        cm_strbuf_puts(b, "</td><td class=\"severity\">");
        rpt_xml_escape(b, S(c, "severity"));
        cm_strbuf_printf(b, "</td><td>%s</td><td><ul>", ok ? "passed" : "FAILED");
        json_array_foreach(json_object_get(c, "evidence"), k, ev)
        {
            cm_strbuf_puts(b, "<li>");
            rpt_xml_escape(b, json_string_value(ev));
            cm_strbuf_puts(b, "</li>");
        }
        cm_strbuf_puts(b, "</ul></td></tr>");
    }
    cm_strbuf_puts(b, "</table>\n");
}

static void figures(cm_strbuf *b, json_t *run)
{
    json_t *f = json_object_get(run, "figures");
    if (!f)
        return;
    cm_strbuf_puts(b, "<table class=\"figures\"><tr><th colspan=\"2\">timing</th></tr>");
    const char *key;
    json_t *v;
    json_object_foreach(f, key, v)
    {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(6));
        cm_strbuf_printf(b, "<tr data-figure=\"%s\"><td>", key);
        rpt_xml_escape(b, key);
        cm_strbuf_puts(b, "</td><td>");
        rpt_xml_escape(b, text);
        cm_strbuf_puts(b, "</td></tr>");
        free(text);
    }
    cm_strbuf_puts(b, "</table>\n");
}

/* A failed run's gravest severity, and whether it counts for the exit status. */
static void gate_badge(cm_strbuf *b, json_t *run)
{
    const char *sev = json_string_value(json_object_get(run, "severity"));
    if (!sev)
        return;
    const char *why = json_is_true(json_object_get(run, "expected_finding")) ? "known finding"
                      : json_is_false(json_object_get(run, "blocking"))      ? "below --fail-on"
                                                                             : "counts";
    cm_strbuf_printf(b, " <span class=\"severity\" data-blocking=\"%s\">",
                     json_is_false(json_object_get(run, "blocking")) ? "false" : "true");
    rpt_xml_escape(b, sev);
    cm_strbuf_printf(b, " · %s</span>", why);
}

static void section(cm_strbuf *b, json_t *run)
{
    const char *v = S(run, "verdict");
    cm_strbuf_printf(b,
                     "<section class=\"run %s\" id=\"%s--%s\" data-scenario=\"%s\" "
                     "data-target=\"%s\" data-verdict=\"%s\"><h2>",
                     v, S(run, "scenario"), S(run, "target"), S(run, "scenario"), S(run, "target"),
                     v);
    rpt_xml_escape(b, S(run, "title"));
    cm_strbuf_printf(b, " <span class=\"badge %s\">%s</span>", v, v);
    gate_badge(b, run);
    cm_strbuf_printf(b, "</h2><p class=\"id\">%s · target %s</p><p class=\"teaches\">",
                     S(run, "scenario"), S(run, "target"));
    rpt_xml_escape(b, S(run, "teaches"));
    cm_strbuf_puts(b, "</p><p class=\"refs\">references: ");
    rpt_html_joined(b, json_object_get(run, "refs"));
    cm_strbuf_puts(b, "</p>");
    if (json_object_get(run, "reason")) {
        cm_strbuf_puts(b, "<p class=\"reason\">");
        rpt_xml_escape(b, S(run, "reason"));
        cm_strbuf_puts(b, "</p>");
    }
    size_t i;
    json_t *l;
    if (json_array_size(json_object_get(run, "stderr"))) { /* a broken adapter's last words */
        cm_strbuf_puts(b, "<pre class=\"stderr\">");
        json_array_foreach(json_object_get(run, "stderr"), i, l)
        {
            rpt_xml_escape(b, json_string_value(l));
            cm_strbuf_puts(b, "\n");
        }
        cm_strbuf_puts(b, "</pre>");
    }
    rpt_html_finding(b, run);
    if (json_object_get(run, "trace"))
        timeline(b, run);
    checks(b, run);
    figures(b, run);
    rpt_html_console(b, run);
    cm_strbuf_puts(b, "</section>\n");
}

/* An index of every run, linking to its section. */
static void index_table(cm_strbuf *b, json_t *runs)
{
    cm_strbuf_puts(b, "<table class=\"index\"><tr><th>scenario</th><th>title</th><th>target</th>"
                      "<th>verdict</th><th>renewals</th></tr>");
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        const char *v = S(run, "verdict");
        cm_strbuf_printf(b, "<tr class=\"%s\"><td><a href=\"#%s--%s\">%s</a></td><td>", v,
                         S(run, "scenario"), S(run, "target"), S(run, "scenario"));
        rpt_xml_escape(b, S(run, "title"));
        cm_strbuf_printf(
            b, "</td><td>%s</td><td><span class=\"badge %s\">%s</span></td><td>%lld</td></tr>",
            S(run, "target"), v, v,
            json_integer_value(json_object_get(json_object_get(run, "figures"), "renewals")));
    }
    cm_strbuf_puts(b, "</table>\n");
}

static const char CSS[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{margin:0 0 .3em}section.run{border-top:1px solid #ccc;padding:.8em 0}"
    ".badge{font-size:.7em;padding:.1em .5em;border-radius:.3em;color:#fff}"
    ".badge.pass{background:#2a7}.badge.fail{background:#c33}.badge.error{background:#939}"
    ".badge.skip{background:#888}.teaches{max-width:60em}.refs,.id{color:#666;font-size:.9em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em "
    ".5em;vertical-align:top}"
    "tr.failed td{background:#fee}ul{margin:0;padding-left:1.2em}table.figures{margin-top:.5em}"
    ".legend{color:#555;max-width:60em}table.index{margin:1em 0}table.index td{padding:.1em .5em}"
    "svg .at{fill:#9cd9b0;stroke:#2a7}svg .req.ok{fill:#2a7}svg .req.fail{fill:#c33}"
    "svg .req.transient{fill:#e90}svg .fault{fill:#939}svg .event{fill:#36c}"
    "svg .event.session_lost,svg .event.interaction_required{fill:#c33}"
    "svg .tick{stroke:#eee}svg text{font-size:11px;fill:#555}"
    "table.compare td ul{font-size:.85em;color:#a22}.finding{background:#fff4d6;padding:.1em .4em}"
    "div.finding{border-left:4px solid #e90;margin:.5em 0}.console pre{font-size:.8em;"
    "white-space:pre-wrap;max-width:80em}"
    "table.matrix td.m-pass{background:#e3f6ea}table.matrix td.m-fail{background:#fcdede}"
    "table.matrix td.m-known{background:#fff4d6}table.matrix td.m-skip,td.na{color:#888}";

int rpt_html_write(const char *path, json_t *report, char *err, size_t errlen)
{
    json_t *s = json_object_get(report, "summary");
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_printf(&b,
                     "<!doctype html><html><head><meta charset=\"utf-8\"><title>renewlab "
                     "report</title><style>%s</style></head><body>",
                     CSS);
    cm_strbuf_printf(&b,
                     "<h1>renewlab report</h1><p id=\"summary\" data-total=\"%lld\" "
                     "data-pass=\"%lld\" data-fail=\"%lld\" data-skip=\"%lld\" "
                     "data-error=\"%lld\">%lld runs: %lld passed, %lld failed, %lld skipped, "
                     "%lld errors (seed %lld)</p>\n",
                     json_integer_value(json_object_get(s, "total")),
                     json_integer_value(json_object_get(s, "pass")),
                     json_integer_value(json_object_get(s, "fail")),
                     json_integer_value(json_object_get(s, "skip")),
                     json_integer_value(json_object_get(s, "error")),
                     json_integer_value(json_object_get(s, "total")),
                     json_integer_value(json_object_get(s, "pass")),
                     json_integer_value(json_object_get(s, "fail")),
                     json_integer_value(json_object_get(s, "skip")),
                     json_integer_value(json_object_get(s, "error")),
                     json_integer_value(json_object_get(report, "seed")));
    size_t i;
    json_t *run;
    cm_strbuf_puts(&b,
                   "<p class=\"legend\">Timeline: green bars are access-token lifetimes; "
                   "dots are requests (green answered, orange transient failure, red "
                   "refused); purple triangles mark requests a fault rule changed; blue "
                   "diamonds are the client's events (red: session lost). Hover for "
                   "details. Times are seconds from the run's start: virtual for the core target, "
                   "real (wall clock) for the browser targets.</p>\n");
    rpt_matrix_html(&b, report);
    index_table(&b, json_object_get(report, "runs"));
    rpt_html_compare(&b, json_object_get(report, "runs"));
    json_array_foreach(json_object_get(report, "runs"), i, run) section(&b, run);
    cm_strbuf_puts(&b, "</body></html>\n");
    int rc = b.failed ? RPT_EIO : rpt_write_file(path, b.data, err, errlen);
    cm_strbuf_dispose(&b);
    return rc;
}
