/* renewlab probe: options, the run, and the capability matrix as terminal text, JSON and
 * HTML (docs/probe.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_strbuf.h"
#include "probe.h"
#include "reports.h"

enum { PROBE_OK = 0, PROBE_PROBLEMS = 1, PROBE_USAGE = 2, PROBE_INFRA = 3 };

static void probe_usage(FILE *out)
{
    fprintf(out,
            "usage: renewlab probe --issuer URL --client-id ID [--client-secret S]\n"
            "                      [--refresh-token RT | --login-command CMD]\n"
            "                      [--session-cookie 'NAME=VALUE[; ...]'] [--redirect-uri URI]\n"
            "                      [--login-timeout S] [--grace-wait S] [--ca-file F]\n"
            "                      [--json F] [--html F]\n"
            "Probes an external issuer with the C core and prints its capability matrix.\n"
            "Each row goes to stderr as soon as it is known; the matrix to stdout at the end.\n"
            "Exit: 0 no problem found, 1 some capability is a problem, 2 usage, 3 the issuer\n"
            "cannot be reached or the login command failed. The rows, the login command's\n"
            "contract and which probes consume refresh tokens: docs/probe.md.\n");
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0.1 && v <= 3600))
        return -1;
    *out = v;
    return 0;
}

static void escape(cm_strbuf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '<')
            cm_strbuf_puts(b, "&lt;");
        else if (*s == '>')
            cm_strbuf_puts(b, "&gt;");
        else if (*s == '&')
            cm_strbuf_puts(b, "&amp;");
        else if (*s == '"')
            cm_strbuf_puts(b, "&quot;");
        else
            cm_strbuf_append(b, s, 1);
    }
}

static const char *mark(json_t *row)
{
    json_t *ok = json_object_get(row, "ok");
    return json_is_true(ok) ? "ok" : json_is_false(ok) ? "PROBLEM" : "-";
}

static char *html_matrix(json_t *m)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_puts(&b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>renewlab probe"
                       "</title><style>body{font:14px system-ui,sans-serif;margin:2em}"
                       "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em"
                       " .5em}tr.PROBLEM td{background:#fee}tr.ok td:nth-child(2){color:#2a7}"
                       "</style></head><body><h1>IdP capabilities: ");
    escape(&b, json_string_value(json_object_get(m, "issuer")));
    cm_strbuf_puts(&b, "</h1><table id=\"matrix\"><tr><th>capability</th><th>value</th>"
                       "<th>evidence</th></tr>");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(m, "capabilities"), i, row)
    {
        cm_strbuf_printf(&b, "<tr class=\"%s\" data-capability=\"", mark(row));
        escape(&b, json_string_value(json_object_get(row, "capability")));
        cm_strbuf_puts(&b, "\"><td>");
        escape(&b, json_string_value(json_object_get(row, "capability")));
        cm_strbuf_puts(&b, "</td><td>");
        escape(&b, json_string_value(json_object_get(row, "value")));
        cm_strbuf_puts(&b, "</td><td>");
        escape(&b, json_string_value(json_object_get(row, "evidence")));
        cm_strbuf_puts(&b, "</td></tr>");
    }
    cm_strbuf_puts(&b, "</table></body></html>\n");
    return cm_strbuf_take(&b);
}

static int write_outputs(json_t *m, const char *json_path, const char *html_path)
{
    char err[600];
    int rc = 0;
    char *text = json_path ? json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    if (json_path && (!text || rpt_write_file(json_path, text, err, sizeof err) != RPT_OK))
        rc = -1, fprintf(stderr, "renewlab: %s\n", text ? err : "out of memory");
    free(text);
    text = html_path ? html_matrix(m) : NULL;
    if (html_path && (!text || rpt_write_file(html_path, text, err, sizeof err) != RPT_OK))
        rc = -1, fprintf(stderr, "renewlab: %s\n", text ? err : "out of memory");
    free(text);
    return rc;
}

static int print_matrix(json_t *m)
{
    int problems = 0;
    size_t i;
    json_t *row;
    printf("%-30s %-26s %s\n", "capability", "value", "evidence");
    json_array_foreach(json_object_get(m, "capabilities"), i, row)
    {
        problems += json_is_false(json_object_get(row, "ok"));
        printf("%-30s %-26s %s%s\n", json_string_value(json_object_get(row, "capability")),
               json_string_value(json_object_get(row, "value")),
               json_is_false(json_object_get(row, "ok")) ? "PROBLEM: " : "",
               json_string_value(json_object_get(row, "evidence")));
    }
    return problems;
}

int hr_probe_main(int argc, char **argv)
{
    pb_opts o = {.grace_wait = 0};
    const char *json_path = NULL, *html_path = NULL;
    static const struct option longopts[] = {
        {"issuer", 1, 0, 'i'},        {"client-id", 1, 0, 'c'},     {"client-secret", 1, 0, 's'},
        {"refresh-token", 1, 0, 'r'}, {"login-command", 1, 0, 'l'}, {"session-cookie", 1, 0, 'k'},
        {"redirect-uri", 1, 0, 'u'},  {"grace-wait", 1, 0, 'g'},    {"ca-file", 1, 0, 'a'},
        {"json", 1, 0, 'j'},          {"html", 1, 0, 'h'},          {"help", 0, 0, 'H'},
        {"login-timeout", 1, 0, 't'}, {"version", 0, 0, 'V'},       {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const char **slot[] = {
            ['i'] = &o.issuer,        ['c'] = &o.client_id,     ['s'] = &o.client_secret,
            ['r'] = &o.refresh_token, ['l'] = &o.login_command, ['k'] = &o.session_cookie,
            ['u'] = &o.redirect_uri,  ['a'] = &o.ca_file,       ['j'] = &json_path,
            ['h'] = &html_path};
        if (ch == 'H')
            return probe_usage(stdout), PROBE_OK;
        if (ch == 'V')
            return printf("renewlab probe %s\n", RENEWLAB_VERSION), PROBE_OK;
        if (ch == 'g')
            o.grace_wait = atof(optarg);
        else if (ch == 't' && parse_seconds(optarg, &o.login_timeout) != 0)
            return fprintf(stderr, "renewlab: --login-timeout needs seconds from 0.1 to 3600\n"),
                   PROBE_USAGE;
        else if (ch == 't')
            continue;
        else if (ch > 0 && ch < (int)(sizeof slot / sizeof slot[0]) && slot[ch])
            *slot[ch] = optarg;
        else
            return probe_usage(stderr), PROBE_USAGE;
    }
    if (!o.issuer || !o.client_id || optind != argc || (o.refresh_token && o.login_command))
        return probe_usage(stderr), PROBE_USAGE;
    size_t n = strlen(o.issuer);
    if (n && o.issuer[n - 1] == '/')
        return fprintf(stderr, "renewlab: give the issuer without a trailing slash\n"), PROBE_USAGE;
    char err[600];
    json_t *m = hr_probe(&o, err, sizeof err);
    if (!m)
        return fprintf(stderr, "renewlab: %s\n", err), PROBE_INFRA;
    int problems = print_matrix(m);
    int rc = write_outputs(m, json_path, html_path);
    const char *login = json_string_value(json_object_get(m, "login_failure"));
    if (login) /* the rows it left unmeasured say so too */
        fprintf(stderr, "renewlab: %s\n", login);
    json_decref(m);
    return rc || login ? PROBE_INFRA : problems ? PROBE_PROBLEMS : PROBE_OK;
}
