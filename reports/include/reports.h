/* Report writers. They read results only: the report object is
 * {"renewlab": VERSION, "seed": N, "runs": [run results], "summary": {...}}. */
#ifndef REPORTS_H
#define REPORTS_H

#include <jansson.h>
#include <stdio.h>

enum rpt_status { RPT_OK = 0, RPT_EIO = -1 };

/** One line for a finished run (progress on long runs); colour only when @p color. */
void rpt_term_line(FILE *out, json_t *run, int color);
/** The summary table and the failures with their evidence. */
void rpt_term_summary(FILE *out, json_t *report, int color);
/** A run's verdict line, then each check that ran with pass or FAIL (observe mode: one
 * run per group). */
void rpt_term_checks(FILE *out, json_t *run, int color);
/** How many checks ran, passed and failed, in how many runs (groups). */
void rpt_term_check_counts(FILE *out, json_t *report);
/** The client matrix of @p runs (new reference): {"targets": [...], "scenarios":
 * [{scenario, title}], "cells": {scenario: {target: {state, ...}}}}; a state is pass,
 * fail, known (a known finding: kind, upstream, source), skip or error (reason). A
 * scenario a target did not run has no cell. */
json_t *rpt_matrix(json_t *runs);
/** The matrix in the terminal, when the report has more than one target. */
void rpt_matrix_term(FILE *out, json_t *report);
/** The matrix as a Markdown table (a string to free), or NULL without memory. */
char *rpt_matrix_markdown(json_t *report);
/** Fill report["summary"] from report["runs"]. */
void rpt_summarize(json_t *report);

/* File writers write to PATH.tmp and rename, so an existing report is never left
 * half-written; on failure @p err says why. */
int rpt_json_write(const char *path, json_t *report, char *err, size_t errlen);
int rpt_junit_write(const char *path, json_t *report, char *err, size_t errlen);
int rpt_html_write(const char *path, json_t *report, char *err, size_t errlen);
/** The matrix as Markdown (docs/clients.md). */
int rpt_matrix_write(const char *path, json_t *report, char *err, size_t errlen);

/** The load model's document {"kind": "load", "runs": [...]} (docs/load.md): a summary
 * per run, and an HTML page with the refresh rate over virtual time as an SVG plot. */
void rpt_load_term(FILE *out, json_t *doc);
int rpt_load_html_write(const char *path, json_t *doc, char *err, size_t errlen);

/** Write @p text to @p path through a temporary file and rename. */
int rpt_write_file(const char *path, const char *text, char *err, size_t errlen);

#endif
