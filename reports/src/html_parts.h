/* Parts of the HTML report beyond one run's timeline: the side-by-side comparison of
 * targets, a run's recorded finding, and what the browser logged. */
#ifndef RPT_HTML_PARTS_H
#define RPT_HTML_PARTS_H

#include <jansson.h>

#include "cm_strbuf.h"

/** A table of the scenarios that ran on more than one target, a column per target
 * (verdict, renewals and their method, failed expectations, known findings). Nothing
 * when every scenario ran on one target. */
void rpt_html_compare(cm_strbuf *b, json_t *runs);
/** The run's recorded finding of a third-party client, if any. */
void rpt_html_finding(cm_strbuf *b, json_t *run);
/** The strings of @p list, escaped and joined with ", ". */
void rpt_html_joined(cm_strbuf *b, json_t *list);
/** The client matrix (every scenario x every target), when the report has more than one
 * target: matrix.c. */
void rpt_matrix_html(cm_strbuf *b, json_t *report);
/** The browser's console lines of a browser run, if any. */
void rpt_html_console(cm_strbuf *b, json_t *run);

#endif
