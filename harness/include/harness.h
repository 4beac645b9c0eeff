/* The harness: scenario loading, running scenarios against targets on the virtual clock,
 * and judging what the target did from the IdP trace and the target's events. */
#ifndef HARNESS_H
#define HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/** Load and validate a scenario file. Returns the scenario (new reference) or NULL with
 * "file:line:column: reason" (syntax) or "file:line: /pointer: reason" in @p err. */
json_t *scn_load(const char *path, char *err, size_t errlen);
/** Validate an already parsed scenario; 0, or -1 with "/pointer: reason". */
int scn_validate(json_t *scn, char *err, size_t errlen);
/** The scenario's story and steps in words (malloc'd). */
char *scn_explain(json_t *scn);

/** Outcome of one scenario x target. */
enum hr_verdict { HR_PASS = 0, HR_FAIL = 1, HR_SKIP = 2, HR_ERROR = 3 };

/** A real-time exec adapter runs on the wall clock: the most its scenarios may advance. */
#define HR_REAL_TIME_MAX_SECONDS 30
/** Browser targets run on the page's virtual time, ~0.08 s of real time per virtual second
 * (docs/browser.md): the most a browser scenario may advance. */
#define HR_BROWSER_MAX_SECONDS 120

/** Whether @p scn names @p target among its targets. */
int hr_scenario_applies(json_t *scn, const char *target);
/** Run @p scn (borrowed) against @p target with @p seed. Returns the result object (new
 * reference): verdict, checks with evidence, events, deterministic trace, figures. */
json_t *hr_run(json_t *scn, const char *target, uint64_t seed);

/** The names of the trace checks the judge knows (NULL-ended). */
extern const char *const HR_CHECKS[];

/** How much an expectation or check weighs (docs/severity.md), gravest first. */
typedef enum hr_severity { HR_MUST = 0, HR_SHOULD = 1, HR_POLICY = 2 } hr_severity;
/** Their names, in hr_severity's order (NULL-ended). */
extern const char *const HR_SEVERITIES[];
/** "must", "should" or "policy". */
const char *hr_severity_name(hr_severity s);
/** The severity named @p name, or -1. */
int hr_severity_parse(const char *name);
/** A check's severity, or -1 for an unknown check; *@p ref (may be NULL) gets the key of
 * scenarios/_refs.json that justifies it, or NULL. */
int hr_check_severity(const char *name, const char **ref);
/** Mark a judged run: "severity", the gravest of its failed expectations, and "blocking",
 * whether it counts for the exit status: a failure at @p fail_on or graver that is not a
 * known finding (hr_findings_annotate first). Runs that did not fail are left alone. */
void hr_gate(json_t *run, hr_severity fail_on);
/** Judge a run: expectations of @p scn against @p trace and @p events (all borrowed).
 * Returns the checks array (new reference); *failed gets how many failed. */
json_t *hr_judge(json_t *scn, json_t *trace, json_t *events, json_t *steps, int *failed);
/** How observe mode grades a trace. */
typedef struct hr_observe_opts {
    size_t max_bytes;      /* the largest trace file read */
    json_t *checks;        /* borrowed array of check names */
    const char *client_id; /* only this client's requests, or NULL */
    const char *group_by;  /* session (NULL), family, user, client or none */
} hr_observe_opts;
/** Whether @p by is one of observe mode's groupings (hr_observe_opts.group_by). */
int hr_group_by_known(const char *by);
/** Observe mode: judge the trace file @p path (JSON lines from mock-idp --trace-out, or a
 * saved GET /_mock/trace) group by group. Returns an array of run results, one per group
 * (its "scenario" the group's name), or NULL with the reason in @p err (unreadable, too
 * large, or entries lost: a partial trace is never graded). */
json_t *hr_observe(const char *path, const hr_observe_opts *o, char *err, size_t errlen);
/** The default cap on a trace file for hr_observe. */
#define HR_TRACE_MAX_BYTES ((size_t)512 << 20)
/** renewlab's data folders (docs/install.md): under PREFIX/share/renewlab, PREFIX the folder
 * above the running binary's bin/ (a build tree has the same shape), each overridden by its
 * environment variable: $RENEWLAB_SHARE_DIR for the whole, $RENEWLAB_SCENARIO_DIR,
 * $RENEWLAB_WEB_DIR, $RENEWLAB_FINDINGS_DIR. */
enum hr_data { HR_DATA_SCENARIOS, HR_DATA_WEB, HR_DATA_FINDINGS, HR_DATA_SHARE };
/** The folder of @p which (a static string, resolved once). */
const char *hr_data_dir(enum hr_data which);
/** The shipped findings store (share/renewlab/findings, or $RENEWLAB_FINDINGS_DIR). */
const char *hr_findings_dir(void);
/** Add the records of a findings file, or of every *.json of a folder, in the format of
 * docs/findings.md. 0, or -1 with "file:line: /pointer: reason" in @p err (nothing of
 * that file is kept). */
int hr_findings_load(const char *path, char *err, size_t errlen);
/** Write a baseline to @p path (atomically): a record of kind "expected" for every failed
 * run of @p runs (the words of the record it matched, else @p why). 0, or -1 with the
 * reason in @p err. */
int hr_findings_write_baseline(json_t *runs, const char *path, const char *why, char *err,
                               size_t errlen);
/** Annotate a run with the record of its client (run.client.name, else its target) and
 * scenario, if any: "finding" (the record and the client's installed version) and
 * "expected_finding" (true only for the recorded version failing nothing the record does
 * not name); the finding lists what is "fixed" (recorded, no longer failing) and
 * "unexpected" (failing, not recorded). The verdict is never changed. */
void hr_findings_annotate(json_t *run);
/** Timing figures of a run (new reference). */
json_t *hr_figures(json_t *trace, json_t *events);

/** `renewlab probe ...` (docs/probe.md) and `renewlab load ...` (docs/load.md); argv[0]
 * is the command. Return the exit status. */
int hr_probe_main(int argc, char **argv);
int hr_load_main(int argc, char **argv);

#endif
