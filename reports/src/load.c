/* The load model's reports: a terminal summary and an HTML page with the refresh rate over
 * virtual time as an SVG plot (one line per run, outages shaded). The document is
 * {"kind": "load", "runs": [model results]} (docs/load.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cm_strbuf.h"
#include "reports.h"
#include "xml.h"

static double num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void term_run(FILE *out, json_t *run)
{
    json_t *m = json_object_get(run, "model"), *s = json_object_get(run, "summary");
    fprintf(out, "load model: %.0f clients, %.0f h virtual, access tokens ", num(m, "clients"),
            num(m, "duration_s") / 3600);
    size_t k;
    json_t *lt;
    json_array_foreach(json_object_get(m, "access_tokens_s"), k, lt)
        fprintf(out, "%s%g", k ? "/" : "", json_number_value(lt));
    fprintf(out, " s, renew %.0f s early + 0-%.0f s jitter\n", num(m, "renew_before_s"),
            num(m, "jitter_s"));
    fprintf(out, "  refresh requests %.0f (refused %.0f), logins %.0f, renewals %.0f\n",
            num(s, "refresh_requests"), num(s, "refused"), num(s, "logins"), num(s, "renewed"));
    fprintf(out, "  rate: mean %.1f/s, peak %.1f/s at %.2f h (peak/mean %.2f)\n",
            num(s, "mean_per_s"), num(s, "peak_per_s"), num(s, "peak_at_s") / 3600,
            num(s, "peak_to_mean"));
    size_t i;
    json_t *o, *after = json_object_get(s, "after_outages");
    json_array_foreach(json_object_get(m, "outages"), i, o)
    {
        json_t *a = json_array_get(after, i);
        fprintf(out,
                "  outage at %.2f h for %.0f s: peak %.1f/s at %.2f h after it (%.1f x mean)\n",
                num(o, "start_s") / 3600, num(o, "length_s"), num(a, "peak_per_s"),
                num(a, "peak_at_s") / 3600,
                num(s, "mean_per_s") > 0 ? num(a, "peak_per_s") / num(s, "mean_per_s") : 0.0);
    }
    fprintf(out, "  renew_core gave up %.0f times (%.0f clients), sessions lost %.0f\n",
            num(s, "gave_up"), num(s, "clients_gave_up"), num(s, "clients_lost"));
    fprintf(out, "  %s; %s\n  wall time %.1f s\n",
            json_string_value(json_object_get(run, "tokens")),
            json_string_value(json_object_get(run, "transport")), num(s, "wall_s"));
}

void rpt_load_term(FILE *out, json_t *doc)
{
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(doc, "runs"), i, run) term_run(out, run);
}

/* ---- HTML ---------------------------------------------------------------------------- */

#define W 960.0
#define H 300.0
#define L 60.0 /* left margin: the rate axis */
#define B 30.0 /* bottom margin: the time axis */

static const char *const COLORS[] = {"#1f6feb", "#d97706", "#7c3aed", "#059669"};

static double max_rate(json_t *runs)
{
    double peak = 1;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        double p = num(json_object_get(run, "summary"), "peak_per_s");
        peak = p > peak ? p : peak;
    }
    return peak;
}

/* A "nice" axis top at or above @p v: 1, 2 or 5 times a power of ten. */
static double nice_top(double v)
{
    double p = pow(10, floor(log10(v)));
    return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

static void polyline(cm_strbuf *b, json_t *series, double bucket_s, double top, const char *color,
                     const char *extra)
{
    size_t n = json_array_size(series);
    cm_strbuf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" %s points=\"",
                     color, extra);
    for (size_t i = 0; i < n; i++) {
        double rate = json_number_value(json_array_get(series, i)) / bucket_s;
        double x = L + (W - L - 10) * ((double)i + 0.5) / (double)n;
        double y = (H - B) - (H - B - 10) * rate / top;
        cm_strbuf_printf(b, "%.1f,%.1f ", x, y);
    }
    cm_strbuf_puts(b, "\"/>");
}

static void axes(cm_strbuf *b, double duration_s, double top)
{
    for (int k = 0; k <= 4; k++) {
        double y = (H - B) - (H - B - 10) * k / 4.0;
        cm_strbuf_printf(b,
                         "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                         "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g/s</text>",
                         L, W - 10, y, y, L - 4, y + 4, top * k / 4.0);
    }
    double hours = duration_s / 3600, step = hours > 48   ? 12
                                             : hours > 12 ? 2
                                             : hours > 3  ? 1
                                                          : 0.25;
    for (double h = 0; h <= hours + 1e-9; h += step) {
        double x = L + (W - L - 10) * h / hours;
        cm_strbuf_printf(b, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%gh</text>", x,
                         H - 10, h);
    }
}

static void outages(cm_strbuf *b, json_t *model)
{
    double duration = num(model, "duration_s");
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(model, "outages"), i, o)
    {
        double x = L + (W - L - 10) * num(o, "start_s") / duration;
        double w = (W - L - 10) * num(o, "length_s") / duration;
        cm_strbuf_printf(b,
                         "<rect x=\"%.1f\" y=\"10\" width=\"%.1f\" height=\"%.0f\" "
                         "fill=\"#fee2e2\"><title>outage: 503 from every endpoint</title></rect>",
                         x, w < 1 ? 1 : w, H - B - 10);
    }
}

static void plot(cm_strbuf *b, json_t *runs)
{
    json_t *first = json_array_get(runs, 0), *model = json_object_get(first, "model");
    double top = nice_top(max_rate(runs)), bucket_s = num(first, "bucket_s");
    cm_strbuf_printf(b,
                     "<svg viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" role=\"img\" "
                     "aria-label=\"token endpoint refresh rate over virtual time\">",
                     W, H);
    outages(b, model);
    axes(b, num(model, "duration_s"), top);
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        json_t *series = json_object_get(run, "series");
        const char *color = COLORS[i % 4];
        polyline(b, json_object_get(series, "refresh"), bucket_s, top, color, "");
        polyline(b, json_object_get(series, "refused"), bucket_s, top, "#dc2626",
                 "stroke-dasharray=\"3 2\"");
    }
    cm_strbuf_puts(b, "</svg><p class=\"legend\">");
    json_array_foreach(runs, i, run)
    {
        cm_strbuf_printf(b,
                         "<span style=\"color:%s\">&#9632;</span> refresh requests/s, jitter "
                         "0-%g s &nbsp; ",
                         COLORS[i % 4], num(json_object_get(run, "model"), "jitter_s"));
    }
    cm_strbuf_puts(b, "<span style=\"color:#dc2626\">- -</span> refused (503) &nbsp; "
                      "<span style=\"color:#f87171\">&#9632;</span> outage</p>");
}

static void table(cm_strbuf *b, json_t *runs)
{
    cm_strbuf_puts(b, "<table><tr><th>jitter</th><th>refresh requests</th><th>refused</th>"
                      "<th>mean /s</th><th>peak /s</th><th>peak at</th><th>peak/mean</th>"
                      "<th>after each outage: peak /s</th><th>gave up</th><th>sessions lost</th>"
                      "<th>wall s</th></tr>");
    size_t i, k;
    json_t *run, *a;
    json_array_foreach(runs, i, run)
    {
        json_t *s = json_object_get(run, "summary");
        cm_strbuf_printf(b,
                         "<tr><td>0-%g s</td><td>%.0f</td><td>%.0f</td><td>%.1f</td><td>%.1f</td>"
                         "<td>%.2f h</td><td>%.2f</td><td>",
                         num(json_object_get(run, "model"), "jitter_s"), num(s, "refresh_requests"),
                         num(s, "refused"), num(s, "mean_per_s"), num(s, "peak_per_s"),
                         num(s, "peak_at_s") / 3600, num(s, "peak_to_mean"));
        json_array_foreach(json_object_get(s, "after_outages"), k, a)
            cm_strbuf_printf(b, "%s%.1f", k ? ", " : "", num(a, "peak_per_s"));
        cm_strbuf_printf(b, "</td><td>%.0f</td><td>%.0f</td><td>%.1f</td></tr>",
                         num(s, "clients_gave_up"), num(s, "clients_lost"), num(s, "wall_s"));
    }
    cm_strbuf_puts(b, "</table>");
}

static const char *const STYLE =
    "body{font:14px system-ui,sans-serif;margin:24px;max-width:1000px}"
    "svg text{font-size:11px;fill:#444}table{border-collapse:collapse;margin:12px 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}.legend{font-size:13px}"
    "dt{font-weight:600}";

int rpt_load_html_write(const char *path, json_t *doc, char *err, size_t errlen)
{
    json_t *runs = json_object_get(doc, "runs"), *first = json_array_get(runs, 0);
    json_t *m = json_object_get(first, "model");
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_printf(&b,
                     "<!doctype html><html><head><meta charset=\"utf-8\"><title>renewlab load "
                     "model</title><style>%s</style></head><body><h1>Token endpoint load</h1>"
                     "<p>%.0f renew_core clients over %g virtual hours; access tokens live ",
                     STYLE, num(m, "clients"), num(m, "duration_s") / 3600);
    size_t k;
    json_t *lt;
    json_array_foreach(json_object_get(m, "access_tokens_s"), k, lt)
        cm_strbuf_printf(&b, "%s%g", k ? "/" : "", json_number_value(lt));
    cm_strbuf_printf(&b,
                     " s (clients split evenly), renewed %g s before expiry and up to the run's "
                     "jitter earlier (drawn at random for each renewal); logins spread over the "
                     "first %g s; %g ms latency. Refresh requests per second, in buckets of "
                     "%g s:</p>",
                     num(m, "renew_before_s"), num(m, "login_spread_s"), num(m, "latency_s") * 1000,
                     num(first, "bucket_s"));
    plot(&b, runs);
    table(&b, runs);
    cm_strbuf_puts(&b, "<dl><dt>Tokens</dt><dd>");
    rpt_xml_escape(&b, json_string_value(json_object_get(first, "tokens")));
    cm_strbuf_puts(&b, "</dd><dt>Transport</dt><dd>");
    rpt_xml_escape(&b, json_string_value(json_object_get(first, "transport")));
    cm_strbuf_puts(&b, "</dd><dt>Sessions</dt><dd>");
    rpt_xml_escape(&b, json_string_value(json_object_get(first, "sessions")));
    cm_strbuf_puts(&b, "</dd></dl></body></html>\n");
    char *text = cm_strbuf_take(&b);
    int rc = text ? rpt_write_file(path, text, err, errlen) : RPT_EIO;
    if (!text)
        snprintf(err, errlen, "%s: out of memory", path);
    free(text);
    return rc;
}
