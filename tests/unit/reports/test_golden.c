/* Golden files for every report writer: a fixed report (data/report.json: passes, a
 * failure with its evidence and a known finding, a skip, errors) and a fixed load document
 * (data/load.json) rendered by each writer and compared byte for byte with golden/. A
 * deliberate change of a report: RENEWLAB_UPDATE_GOLDEN=1 rewrites the golden files, to
 * be reviewed in the diff. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports.h"

#ifndef REPORTS_TEST_DIR
#error "REPORTS_TEST_DIR: the folder with data/ and golden/"
#endif

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static json_t *input(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data/%s", REPORTS_TEST_DIR, name);
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    cr_assert_not_null(doc, "%s: %s", path, e.text);
    return doc;
}

/* The line where @p a and @p b first differ, for the failure message. */
static int first_difference(const char *a, const char *b)
{
    int line = 1;
    for (; *a && *a == *b; a++, b++)
        line += *a == '\n';
    return line;
}

static void compare(const char *produced_path, const char *golden_name)
{
    char golden[512];
    snprintf(golden, sizeof golden, "%s/golden/%s", REPORTS_TEST_DIR, golden_name);
    size_t n = 0, m = 0;
    char *got = slurp(produced_path, &n);
    cr_assert_not_null(got, "the writer made no %s", produced_path);
    if (getenv("RENEWLAB_UPDATE_GOLDEN")) {
        FILE *f = fopen(golden, "wb");
        cr_assert_not_null(f, "cannot write %s", golden);
        fwrite(got, 1, n, f);
        fclose(f);
    }
    char *want = slurp(golden, &m);
    cr_assert_not_null(want, "no golden file %s (RENEWLAB_UPDATE_GOLDEN=1 makes it)", golden);
    cr_expect(n == m && memcmp(got, want, n) == 0, "%s differs from %s from line %d on",
              golden_name, produced_path, first_difference(got, want));
    free(got);
    free(want);
}

static void out_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/renewlab-golden-%d-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid(), name);
}

typedef int (*writer)(const char *path, json_t *doc, char *err, size_t errlen);

static void file_writer(writer w, const char *input_name, const char *golden_name)
{
    json_t *doc = input(input_name);
    char path[512], err[300] = "";
    out_path(path, sizeof path, golden_name);
    cr_assert_eq(w(path, doc, err, sizeof err), 0, "%s", err);
    compare(path, golden_name);
    remove(path);
    json_decref(doc);
}

Test(golden, json)
{
    file_writer(rpt_json_write, "report.json", "report.json");
}

Test(golden, junit)
{
    file_writer(rpt_junit_write, "report.json", "junit.xml");
}

Test(golden, html)
{
    file_writer(rpt_html_write, "report.json", "report.html");
}

Test(golden, load_html)
{
    file_writer(rpt_load_html_write, "load.json", "load.html");
}

typedef void (*printer)(FILE *out, json_t *doc);

static void summary_plain(FILE *out, json_t *doc)
{
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(doc, "runs"), i, run) rpt_term_line(out, run, 0);
    rpt_term_summary(out, doc, 0);
}

static void summary_colour(FILE *out, json_t *doc)
{
    rpt_term_summary(out, doc, 1);
}

static void term_writer(printer p, const char *input_name, const char *golden_name)
{
    json_t *doc = input(input_name);
    char path[512];
    out_path(path, sizeof path, golden_name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    p(f, doc);
    fclose(f);
    compare(path, golden_name);
    remove(path);
    json_decref(doc);
}

Test(golden, terminal)
{
    term_writer(summary_plain, "report.json", "term.txt");
}

Test(golden, terminal_in_colour)
{
    term_writer(summary_colour, "report.json", "term-colour.txt");
}

Test(golden, load_terminal)
{
    term_writer(rpt_load_term, "load.json", "load.txt");
}

static void matrix_term(FILE *out, json_t *doc)
{
    rpt_matrix_term(out, doc);
}

Test(golden, matrix_terminal)
{
    term_writer(matrix_term, "report.json", "matrix.txt");
}

Test(golden, matrix_markdown)
{
    file_writer(rpt_matrix_write, "report.json", "matrix.md");
}

/* Beyond the bytes: each (scenario, target) of the report is one cell in the state its run
 * says, with the reason, the finding or the failed expectations; a pair that did not run
 * has no cell. */
Test(matrix, every_state_and_what_it_says)
{
    json_t *doc = input("report.json");
    json_t *m = rpt_matrix(json_object_get(doc, "runs"));
    json_t *cells = json_object_get(m, "cells");
    cr_expect_eq(json_array_size(json_object_get(m, "targets")), 4);
    cr_expect_eq(json_array_size(json_object_get(m, "scenarios")), 3);
#define CELL(s, t) json_object_get(json_object_get(cells, s), t)
#define STATE(s, t) json_string_value(json_object_get(CELL(s, t), "state"))
    cr_expect_str_eq(STATE("rt_rotating_happy", "core"), "pass");
    cr_expect_str_eq(STATE("rt_rotating_happy_policy", "core"), "fail");
    cr_expect_gt(
        json_array_size(json_object_get(CELL("rt_rotating_happy_policy", "core"), "failed")), 0);
    cr_expect_str_eq(STATE("sr_login_required", "oidc-client-ts"), "known");
    cr_expect_str_eq(
        json_string_value(json_object_get(CELL("sr_login_required", "oidc-client-ts"), "upstream")),
        "bjerkio/oidc-react#966");
    const char *py = "exec:/usr/bin/python3 harness/adapters/py_adapter.py";
    cr_expect_str_eq(STATE("sr_login_required", py), "skip");
    cr_expect_str_eq(json_string_value(json_object_get(CELL("sr_login_required", py), "reason")),
                     "needs capability silent");
    cr_expect_str_eq(STATE("rt_rotating_happy", "exec:/nonexistent"), "error");
    cr_expect_null(CELL("rt_rotating_happy_policy", "oidc-client-ts"), "it did not run there");
    json_decref(m);
    json_decref(doc);
}

/* One target: nothing to compare, so the terminal shows no matrix. */
Test(matrix, a_single_target_prints_none)
{
    json_t *doc = json_pack("{s:[{s:s, s:s, s:s}]}", "runs", "scenario", "a", "target", "core",
                            "verdict", "pass");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rpt_matrix_term(f, doc);
    fclose(f);
    cr_expect_eq(len, 0, "%s", text);
    free(text);
    json_decref(doc);
}
