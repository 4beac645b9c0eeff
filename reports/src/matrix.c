/* The client matrix (reports.h): every scenario of a run against every target, one cell
 * each, in the terminal, at the top of the HTML report and as Markdown (docs/clients.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_strbuf.h"
#include "reports.h"
#include "xml.h"

static const char *S(json_t *e, const char *k)
{
    const char *s = json_string_value(json_object_get(e, k));
    return s ? s : "";
}

static void add_unique(json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (!strcmp(json_string_value(v), s)) return;
    json_array_append_new(list, json_string(s));
}

/* A cell's state: pass, fail, known (a known finding), skip, error. */
static const char *state_of(json_t *run)
{
    const char *v = S(run, "verdict");
    if (!strcmp(v, "fail") && json_is_true(json_object_get(run, "expected_finding")))
        return "known";
    return *v ? v : "error";
}

/* What a cell says besides its state: a skip's or an error's reason, a finding's first
 * upstream issue (or its first source line), a failure's failed expectations. */
static json_t *why_of(json_t *run, const char *state)
{
    json_t *f = json_object_get(run, "finding");
    if (!strcmp(state, "known")) {
        json_t *up = json_array_get(json_object_get(f, "upstream"), 0);
        json_t *src = json_array_get(json_object_get(f, "source"), 0);
        return json_pack("{s:s, s:s, s:s}", "kind", S(f, "kind"), "upstream",
                         up ? json_string_value(up) : "", "source",
                         src ? json_string_value(src) : "");
    }
    if (!strcmp(state, "fail")) {
        json_t *failed = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(run, "checks"), i,
                           c) if (!json_is_true(json_object_get(c, "passed")))
            json_array_append_new(failed, json_sprintf("%s %s", S(c, "kind"), S(c, "name")));
        return json_pack("{s:o}", "failed", failed);
    }
    return json_pack("{s:s}", "reason", S(run, "reason"));
}

json_t *rpt_matrix(json_t *runs)
{
    json_t *targets = json_array(), *scenarios = json_array(), *cells = json_object();
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        add_unique(targets, S(run, "target"));
        if (!json_object_get(cells, S(run, "scenario"))) {
            json_array_append_new(scenarios, json_pack("{s:s, s:s}", "scenario", S(run, "scenario"),
                                                       "title", S(run, "title")));
            json_object_set_new(cells, S(run, "scenario"), json_object());
        }
        const char *state = state_of(run);
        json_t *cell = why_of(run, state);
        json_object_set_new(cell, "state", json_string(state));
        json_object_set_new(json_object_get(cells, S(run, "scenario")), S(run, "target"), cell);
    }
    return json_pack("{s:o, s:o, s:o}", "targets", targets, "scenarios", scenarios, "cells", cells);
}

static json_t *cell_at(json_t *m, const char *scenario, const char *target)
{
    return json_object_get(json_object_get(json_object_get(m, "cells"), scenario), target);
}

/* The report's matrix when it has more than one target (new reference), else NULL: one
 * target has nothing to set side by side. */
static json_t *several(json_t *report)
{
    json_t *m = rpt_matrix(json_object_get(report, "runs"));
    if (json_array_size(json_object_get(m, "targets")) > 1)
        return m;
    json_decref(m);
    return NULL;
}

/* ---- terminal --------------------------------------------------------------------------- */

void rpt_matrix_term(FILE *out, json_t *report)
{
    json_t *m = several(report), *targets = json_object_get(m, "targets");
    if (m) {
        size_t i, k;
        json_t *s, *t;
        fprintf(out, "\n%-32s", "matrix");
        json_array_foreach(targets, k, t) fprintf(out, " %-14.14s", json_string_value(t));
        fputs("\n", out);
        json_array_foreach(json_object_get(m, "scenarios"), i, s)
        {
            fprintf(out, "%-32.32s", S(s, "scenario"));
            json_array_foreach(targets, k, t)
            {
                json_t *c = cell_at(m, S(s, "scenario"), json_string_value(t));
                fprintf(out, " %-14s", c ? S(c, "state") : "-");
            }
            fputs("\n", out);
        }
        fputs("(known: a known finding, the library's own behaviour, in the report; -: not in "
              "that target's catalogue)\n",
              out);
    }
    json_decref(m);
}

/* ---- HTML --------------------------------------------------------------------------------- */

static void html_cell(cm_strbuf *b, json_t *c, const char *scenario, const char *target)
{
    if (!c) {
        cm_strbuf_puts(b, "<td class=\"na\" title=\"not in this target's catalogue\">—</td>");
        return;
    }
    const char *st = S(c, "state");
    cm_strbuf_printf(b, "<td class=\"m-%s\" data-state=\"%s\">", st, st);
    if (strcmp(st, "skip") && strcmp(st, "error")) {
        cm_strbuf_printf(b, "<a href=\"#%s--%s\">", scenario, target);
        rpt_xml_escape(b, !strcmp(st, "known") ? "known finding" : st);
        cm_strbuf_puts(b, "</a>");
    } else {
        rpt_xml_escape(b, st);
    }
    const char *up = S(c, "upstream");
    if (*up) {
        cm_strbuf_puts(b, " <small>");
        rpt_xml_escape(b, up);
        cm_strbuf_puts(b, "</small>");
    } else if (*S(c, "reason")) {
        cm_strbuf_puts(b, " <small>");
        rpt_xml_escape(b, S(c, "reason"));
        cm_strbuf_puts(b, "</small>");
    }
    cm_strbuf_puts(b, "</td>");
}

void rpt_matrix_html(cm_strbuf *b, json_t *report)
{
    json_t *m = several(report), *targets = json_object_get(m, "targets");
    if (m) {
        size_t i, k;
        json_t *s, *t;
        cm_strbuf_puts(b, "<h2>Client matrix</h2><table class=\"matrix\"><tr><th>scenario</th>");
        json_array_foreach(targets, k, t)
        {
            cm_strbuf_puts(b, "<th>");
            rpt_xml_escape(b, json_string_value(t));
            cm_strbuf_puts(b, "</th>");
        }
        cm_strbuf_puts(b, "</tr>");
        json_array_foreach(json_object_get(m, "scenarios"), i, s)
        {
            cm_strbuf_printf(b, "<tr data-scenario=\"%s\"><td title=\"", S(s, "scenario"));
            rpt_xml_escape(b, S(s, "title"));
            cm_strbuf_printf(b, "\">%s</td>", S(s, "scenario"));
            json_array_foreach(targets, k, t)
                html_cell(b, cell_at(m, S(s, "scenario"), json_string_value(t)), S(s, "scenario"),
                          json_string_value(t));
            cm_strbuf_puts(b, "</tr>");
        }
        cm_strbuf_puts(b, "</table>\n");
    }
    json_decref(m);
}

/* ---- Markdown ------------------------------------------------------------------------------ */

/* "owner/repo#123" as a link to the issue; anything else as it is. */
static void md_upstream(cm_strbuf *b, const char *up)
{
    const char *hash = strchr(up, '#');
    if (hash && strchr(up, '/') && strchr(up, '/') < hash && !strchr(up, ' ')) {
        cm_strbuf_printf(b, "[%s](https://github.com/%.*s/issues/%s)", up, (int)(hash - up), up,
                         hash + 1);
        return;
    }
    cm_strbuf_puts(b, up);
}

/* Text in a table cell: a "|" would end it, a newline the row. */
static void md_text(cm_strbuf *b, const char *s)
{
    for (; *s; s++)
        if (*s == '|')
            cm_strbuf_puts(b, "\\|");
        else
            cm_strbuf_append(b, *s == '\n' ? " " : s, 1);
}

static void md_cell(cm_strbuf *b, json_t *c)
{
    const char *st = c ? S(c, "state") : "";
    if (!c)
        cm_strbuf_puts(b, " — |");
    else if (!strcmp(st, "known")) {
        cm_strbuf_printf(b, " known finding (%s", S(c, "kind"));
        if (*S(c, "upstream")) {
            cm_strbuf_puts(b, ", ");
            md_upstream(b, S(c, "upstream"));
        }
        cm_strbuf_puts(b, ") |");
    } else if (!strcmp(st, "skip") || !strcmp(st, "error")) {
        cm_strbuf_printf(b, " %s (", st);
        md_text(b, S(c, "reason"));
        cm_strbuf_puts(b, ") |");
    } else
        cm_strbuf_printf(b, " %s |", !strcmp(st, "fail") ? "**fail**" : st);
}

char *rpt_matrix_markdown(json_t *report)
{
    json_t *m = rpt_matrix(json_object_get(report, "runs"));
    json_t *targets = json_object_get(m, "targets");
    cm_strbuf b;
    cm_strbuf_init(&b);
    size_t i, k;
    json_t *s, *t;
    cm_strbuf_puts(&b, "| scenario |");
    json_array_foreach(targets, k, t) cm_strbuf_printf(&b, " `%s` |", json_string_value(t));
    cm_strbuf_puts(&b, "\n|---|");
    json_array_foreach(targets, k, t) cm_strbuf_puts(&b, "---|");
    cm_strbuf_puts(&b, "\n");
    json_array_foreach(json_object_get(m, "scenarios"), i, s)
    {
        cm_strbuf_printf(&b, "| `%s` |", S(s, "scenario"));
        json_array_foreach(targets, k, t)
            md_cell(&b, cell_at(m, S(s, "scenario"), json_string_value(t)));
        cm_strbuf_puts(&b, "\n");
    }
    json_decref(m);
    if (b.failed) {
        cm_strbuf_dispose(&b);
        return NULL;
    }
    return b.data;
}

int rpt_matrix_write(const char *path, json_t *report, char *err, size_t errlen)
{
    char *text = rpt_matrix_markdown(report);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return RPT_EIO;
    }
    int rc = rpt_write_file(path, text, err, errlen);
    free(text);
    return rc;
}
