/* renewlab: run the scenario catalogue against targets and report.
 * Exit: 0 all passed, 1 some failed, 2 usage or scenario error, 3 infrastructure error. */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_format.h"
#include "cm_json.h"
#include "harness.h"
#include "target.h"
#include "reports.h"

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_INFRA = 3 };
#define MAX_TARGETS 8
#define MAX_PATHS 256

typedef struct opts {
    const char *targets[MAX_TARGETS];
    int ntargets;
    const char *paths[MAX_PATHS];
    int npaths;
    const char *filter, *junit, *json, *html, *matrix, *checks, *client, *group_by;
    uint64_t seed;
    int shard_k, shard_n, jobs;
    const char *findings[MAX_TARGETS]; /* --findings, --baseline: a user's records */
    const char *write_baseline;        /* --write-baseline FILE */
    const char *cmd;                   /* the subcommand, for --version */
    int nfindings;
    size_t trace_max;    /* judge: the largest trace file read */
    hr_severity fail_on; /* the mildest failed severity that counts for the exit */
} opts;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: renewlab run [--target T]... [SCENARIO|DIR ...] [--filter GLOB] [--seed N]\n"
        "                    [--shard K/N] [--jobs N] [--fail-on must|should|policy]\n"
        "                    [--findings|--baseline FILE]... [--write-baseline FILE]\n"
        "                    [--junit F] [--json F] [--html F] [--matrix F.md]\n"
        "       renewlab list [SCENARIO|DIR ...]\n"
        "       renewlab explain ID [SCENARIO|DIR ...]\n"
        "       renewlab judge [--checks A,B] [--client ID] [--group-by "
        "session|family|user|client|none]\n"
        "                      [--max-trace-mb N] [--fail-on must|should|policy]\n"
        "                      [--findings|--baseline FILE]... [--write-baseline FILE] [--json F]\n"
        "                      [--junit F] [--html F] TRACE\n"
        "       renewlab probe --issuer URL --client-id ID [...]   (renewlab probe --help)\n"
        "       renewlab load [--clients N] [--duration D] [...]   (renewlab load --help)\n"
        "       renewlab --version | --help; every subcommand takes --help and --version\n"
        "Targets (docs/targets.md): core (default), exec:COMMAND (a client speaking\n"
        "docs/exec-protocol.md; exec+faketime:COMMAND for one that reads the wall clock),\n"
        "page:DIR (a browser client folder, docs/page-protocol.md) or a built-in one's\n"
        "name (headless Chromium; docs/browser.md). Scenarios: scenarios/ by default.\n"
        "--fail-on (default should): the failures that make the exit 1: must only, must\n"
        "and should, or all three (docs/severity.md); a known finding never does.\n"
        "--findings, --baseline: records of runs known to fail, besides the shipped ones\n"
        "(docs/findings.md); --write-baseline writes one of this run's failures (judge too).\n"
        "With several targets the summary ends with the client matrix (scenarios x targets);\n"
        "--matrix F.md writes it as Markdown, as in docs/clients.md (make clients-matrix).\n"
        "Exit: 0 all passed, 1 findings or failures, 2 usage or input error, 3 infrastructure.\n");
}

/* Scenario files below @p path (a file, or a directory's *.json not starting with '_'),
 * every one of them, in name order. */
static void collect(const char *path, json_t *files)
{
    struct stat st;
    json_t *found = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? cm_json_files(path, 1) : NULL;
    if (found)
        json_array_extend(files, found);
    else
        json_array_append_new(files, json_string(path));
    json_decref(found);
}

static const char *default_dir(void)
{
    return hr_data_dir(HR_DATA_SCENARIOS);
}

/* Load every scenario; on any error print them all and return NULL. */
static json_t *load_all(const opts *o)
{
    json_t *files = json_array(), *scns = json_array(), *ids = json_object();
    if (o->npaths == 0)
        collect(default_dir(), files);
    for (int i = 0; i < o->npaths; i++)
        collect(o->paths[i], files);
    int errors = 0;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        char err[600];
        json_t *s = scn_load(json_string_value(f), err, sizeof err);
        const char *id = s ? json_string_value(json_object_get(s, "id")) : NULL;
        if (s && json_object_get(ids, id)) {
            snprintf(err, sizeof err, "%s: duplicate scenario id \"%s\" (also in %s)",
                     json_string_value(f), id, json_string_value(json_object_get(ids, id)));
            json_decref(s);
            s = NULL;
        }
        if (!s) {
            fprintf(stderr, "renewlab: %s\n", err);
            errors++;
            continue;
        }
        json_object_set(ids, id, f);
        json_array_append_new(scns, s);
    }
    if (json_array_size(files) == 0) {
        fprintf(stderr, "renewlab: no scenario files found\n");
        errors++;
    }
    json_decref(files);
    json_decref(ids);
    if (errors) {
        json_decref(scns);
        return NULL;
    }
    return scns;
}

/* The runs (scenario x target) selected by filter and shard, in a stable order. */
static json_t *plan(const opts *o, json_t *scns)
{
    json_t *runs = json_array();
    size_t i;
    json_t *s;
    long index = 0;
    json_array_foreach(scns, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        if (o->filter && fnmatch(o->filter, id, 0) != 0)
            continue;
        if (o->shard_n && index++ % o->shard_n != o->shard_k - 1)
            continue;
        for (int t = 0; t < o->ntargets; t++) /* only where the scenario applies */
            if (hr_scenario_applies(s, o->targets[t]))
                json_array_append_new(runs,
                                      json_pack("{s:O, s:s}", "scn", s, "target", o->targets[t]));
    }
    return runs;
}

static json_t *run_one(json_t *item, uint64_t seed)
{
    return hr_run(json_object_get(item, "scn"), json_string_value(json_object_get(item, "target")),
                  seed);
}

/* A worker runs every jobs-th run and writes one JSON line per result to its pipe. */
static void worker(json_t *runs, int k, int jobs, uint64_t seed, int fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed renewlab takes its workers (and browsers) */
    if (getppid() != parent)
        _exit(EXIT_INFRA);
    FILE *out = fdopen(fd, "w");
    for (size_t i = (size_t)k; i < json_array_size(runs); i += (size_t)jobs) {
        json_t *r = run_one(json_array_get(runs, i), seed);
        json_object_set_new(r, "index", json_integer((json_int_t)i));
        char *line = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(15));
        fprintf(out, "%s\n", line);
        fflush(out);
        free(line);
        json_decref(r);
    }
    fclose(out);
    hr_targets_release();
    _exit(0);
}

static void collect_line(char *line, json_t *results, int color, hr_severity fail_on)
{
    json_t *r = json_loads(line, 0, NULL);
    if (!r)
        return;
    size_t index = (size_t)json_integer_value(json_object_get(r, "index"));
    json_object_del(r, "index");
    hr_gate(r, fail_on);
    rpt_term_line(stdout, r, color);
    json_array_set_new(results, index, r);
}

/* Run in parallel worker processes (each with its own IdP instance and clock). */
static void run_parallel(json_t *runs, json_t *results, int jobs, const opts *o, int color)
{
    struct pollfd fds[64];
    FILE *in[64];
    pid_t pids[64];
    for (int k = 0; k < jobs; k++) {
        int p[2];
        if (pipe(p) != 0)
            break;
        pid_t parent = getpid();
        pids[k] = fork();
        if (pids[k] == 0) {
            close(p[0]);
            worker(runs, k, jobs, o->seed, p[1], parent);
        }
        close(p[1]);
        fds[k] = (struct pollfd){.fd = p[0], .events = POLLIN};
        in[k] = fdopen(p[0], "r");
    }
    int open_fds = jobs;
    char *line = NULL;
    size_t cap = 0;
    while (open_fds > 0 && poll(fds, (nfds_t)jobs, -1) > 0) {
        for (int k = 0; k < jobs; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP)))
                continue;
            if (getline(&line, &cap, in[k]) > 0) {
                collect_line(line, results, color, o->fail_on);
            } else {
                fclose(in[k]);
                fds[k].fd = -1;
                open_fds--;
            }
        }
    }
    free(line);
    for (int k = 0; k < jobs; k++)
        waitpid(pids[k], NULL, 0);
}

typedef int (*writer_fn)(const char *path, json_t *report, char *err, size_t errlen);

static int write_one(writer_fn fn, const char *path, json_t *report)
{
    char err[600];
    if (!path || fn(path, report, err, sizeof err) == RPT_OK)
        return 0;
    fprintf(stderr, "renewlab: %s\n", err);
    return -1;
}

/* A report that cannot be written is an infrastructure error; the others are still
 * written, and files already there are never left half-written. */
static int write_reports(const opts *o, json_t *report)
{
    int rc = write_one(rpt_json_write, o->json, report);
    rc |= write_one(rpt_junit_write, o->junit, report);
    rc |= write_one(rpt_matrix_write, o->matrix, report);
    int html = write_one(rpt_html_write, o->html, report);
    if (o->html && html == 0)
        printf("HTML report: %s\n", o->html);
    return rc | html;
}

/* Gate every run at --fail-on, summarize, and decide the exit: an error is 3, a blocking
 * failure 1 (docs/severity.md). */
static int gate_and_summarize(const opts *o, json_t *report)
{
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(report, "runs"), i, run) hr_gate(run, o->fail_on);
    rpt_summarize(report); /* gating twice is harmless: the same marks */
    json_t *s = json_object_get(report, "summary");
    if (json_integer_value(json_object_get(s, "error")))
        return EXIT_INFRA;
    return json_integer_value(json_object_get(s, "blocking")) ? EXIT_FAIL : EXIT_PASS;
}

/* The report object every writer gets (docs/formats.md), @p runs taken over. */
static json_t *new_report(const opts *o, uint64_t seed, json_t *runs)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:o}", "format_version", CM_FORMAT_VERSION, "renewlab",
                     RENEWLAB_VERSION, "seed", (json_int_t)seed, "fail_on",
                     hr_severity_name(o->fail_on), "runs", runs);
}

/* --write-baseline: the run's failures as records; a file that cannot be written is an
 * infrastructure error. */
static int baseline_out(const opts *o, json_t *report)
{
    if (!o->write_baseline)
        return 0;
    char why[200], err[1200];
    snprintf(why, sizeof why, "failing when this baseline was written (renewlab %s, seed %llu)",
             RENEWLAB_VERSION, (unsigned long long)o->seed);
    if (hr_findings_write_baseline(json_object_get(report, "runs"), o->write_baseline, why, err,
                                   sizeof err) == 0)
        return 0;
    fprintf(stderr, "renewlab: %s\n", err);
    return -1;
}

/* The shipped findings store, then the user's files: a bad one is a usage error. */
static int load_findings(const opts *o)
{
    char err[700];
    int rc = hr_findings_load(hr_findings_dir(), err, sizeof err);
    for (int i = 0; rc == 0 && i < o->nfindings; i++)
        rc = hr_findings_load(o->findings[i], err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "renewlab: %s\n", err);
    return rc;
}

static int cmd_run(opts *o)
{
    json_t *scns = load_findings(o) == 0 ? load_all(o) : NULL;
    if (!scns)
        return EXIT_USAGE;
    json_t *runs = plan(o, scns), *results = json_array();
    for (size_t i = 0; i < json_array_size(runs); i++)
        json_array_append_new(results, json_null());
    int color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    int jobs = o->jobs > (int)json_array_size(runs) ? (int)json_array_size(runs) : o->jobs;
    if (jobs > 1) {
        run_parallel(runs, results, jobs, o, color);
    } else {
        for (size_t i = 0; i < json_array_size(runs); i++) {
            json_t *r = run_one(json_array_get(runs, i), o->seed);
            hr_gate(r, o->fail_on);
            rpt_term_line(stdout, r, color);
            json_array_set_new(results, i, r);
        }
        hr_targets_release();
    }
    for (size_t i = 0; i < json_array_size(results); i++) /* a worker that died */
        if (json_is_null(json_array_get(results, i)))
            json_array_set_new(results, i,
                               json_pack("{s:s, s:s, s:s}", "scenario", "?", "verdict", "error",
                                         "reason", "worker process died"));
    json_t *report = new_report(o, o->seed, results);
    int verdict = gate_and_summarize(o, report);
    rpt_term_summary(stdout, report, color);
    rpt_matrix_term(stdout, report);
    int rc = write_reports(o, report) != 0 || baseline_out(o, report) != 0 ? EXIT_INFRA : verdict;
    json_decref(report);
    json_decref(runs);
    json_decref(scns);
    return rc;
}

static int cmd_list(opts *o)
{
    json_t *scns = load_all(o);
    if (!scns)
        return EXIT_USAGE;
    size_t i, k;
    json_t *s, *t;
    json_array_foreach(scns, i, s)
    {
        printf("%-36s %-8s", json_string_value(json_object_get(s, "id")),
               json_string_value(json_object_get(s, "catalogue")));
        json_array_foreach(json_object_get(s, "targets"), k, t)
            printf("%s%s", k ? "," : "", json_string_value(t));
        printf("  %s\n", json_string_value(json_object_get(s, "title")));
    }
    json_decref(scns);
    return EXIT_PASS;
}

static int cmd_explain(opts *o, const char *id)
{
    json_t *scns = load_all(o);
    if (!scns)
        return EXIT_USAGE;
    int rc = EXIT_USAGE;
    size_t i;
    json_t *s;
    json_array_foreach(scns, i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "id")), id) != 0)
            continue;
        char *text = scn_explain(s);
        fputs(text, stdout);
        free(text);
        rc = EXIT_PASS;
    }
    if (rc != EXIT_PASS)
        fprintf(stderr, "renewlab: no scenario with id \"%s\"\n", id);
    json_decref(scns);
    return rc;
}

/* renewlab judge [--checks a,b] [--client ID] TRACE: observe mode. */
static int cmd_judge(opts *o)
{
    if (o->npaths != 1) {
        fprintf(stderr, "renewlab: judge takes one trace file\n");
        return EXIT_USAGE;
    }
    if (load_findings(o) != 0)
        return EXIT_USAGE;
    json_t *checks = json_array();
    char list[1024];
    snprintf(list, sizeof list, "%s",
             o->checks
                 ? o->checks
                 : "renewed_before_expiry,"
                   "no_concurrent_refresh,no_reuse_of_rotated_token,no_retry_after_invalid_grant,"
                   "backoff_on_5xx,session_dropped_on_terminal_error,no_request_with_expired_token,"
                   "no_refresh_after_logout,renewal_rate_bounded");
    for (char *save, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int known = 0;
        for (size_t i = 0; HR_CHECKS[i]; i++)
            known |= !strcmp(HR_CHECKS[i], name);
        if (!known) {
            fprintf(stderr, "renewlab: unknown check \"%s\"\n", name);
            json_decref(checks);
            return EXIT_USAGE;
        }
        json_array_append_new(checks, json_string(name));
    }
    char err[600];
    if (json_array_size(checks) == 0) {
        fprintf(stderr, "renewlab: --checks names no check\n");
        json_decref(checks);
        return EXIT_USAGE;
    }
    hr_observe_opts oo = {o->trace_max, checks, o->client, o->group_by};
    json_t *runs = hr_observe(o->paths[0], &oo, err, sizeof err);
    json_decref(checks);
    if (!runs) {
        fprintf(stderr, "renewlab: %s\n", err);
        return EXIT_USAGE;
    }
    int color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        hr_findings_annotate(run);
        rpt_term_checks(stdout, run, color);
    }
    json_t *report = new_report(o, 0, runs);
    int verdict = gate_and_summarize(o, report);
    rpt_term_summary(stdout, report, color);
    rpt_term_check_counts(stdout, report);
    int rc = write_reports(o, report) != 0 || baseline_out(o, report) != 0 ? EXIT_INFRA : verdict;
    json_decref(report);
    return rc;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {{"target", required_argument, 0, 't'},
                                             {"filter", required_argument, 0, 'f'},
                                             {"seed", required_argument, 0, 's'},
                                             {"shard", required_argument, 0, 'S'},
                                             {"jobs", required_argument, 0, 'j'},
                                             {"junit", required_argument, 0, 'J'},
                                             {"json", required_argument, 0, 'o'},
                                             {"html", required_argument, 0, 'H'},
                                             {"matrix", required_argument, 0, 'M'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {"checks", required_argument, 0, 'c'},
                                             {"client", required_argument, 0, 'C'},
                                             {"group-by", required_argument, 0, 'G'},
                                             {"max-trace-mb", required_argument, 0, 'm'},
                                             {"fail-on", required_argument, 0, 'F'},
                                             {"findings", required_argument, 0, 'R'},
                                             {"baseline", required_argument, 0, 'R'},
                                             {"write-baseline", required_argument, 0, 'W'},
                                             {0, 0, 0, 0}};
    int ch;
    char *end;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 't': {
            hr_target_ref ref;
            char err[400];
            if (o->ntargets == MAX_TARGETS) {
                fprintf(stderr, "renewlab: at most %d targets\n", MAX_TARGETS);
                return -1;
            }
            if (hr_target_resolve(optarg, &ref, err, sizeof err) != 0 ||
                hr_target_check(&ref, err, sizeof err) != 0) {
                fprintf(stderr, "renewlab: %s\n", err);
                return -1;
            }
            o->targets[o->ntargets++] = optarg;
            break;
        }
        case 'f':
            o->filter = optarg;
            break;
        case 'c':
            o->checks = optarg;
            break;
        case 'C':
            o->client = optarg;
            break;
        case 'G':
            if (!hr_group_by_known(optarg)) {
                fprintf(stderr,
                        "renewlab: --group-by takes session, family, user, client or "
                        "none, not \"%s\"\n",
                        optarg);
                return -1;
            }
            o->group_by = optarg;
            break;
        case 'F': {
            int s = hr_severity_parse(optarg);
            if (s < 0) {
                fprintf(stderr, "renewlab: --fail-on takes must, should or policy, not \"%s\"\n",
                        optarg);
                return -1;
            }
            o->fail_on = (hr_severity)s;
            break;
        }
        case 'R':
            if (o->nfindings == MAX_TARGETS) {
                fprintf(stderr, "renewlab: at most %d --findings files\n", MAX_TARGETS);
                return -1;
            }
            o->findings[o->nfindings++] = optarg;
            break;
        case 'W':
            o->write_baseline = optarg;
            break;
        case 'J':
            o->junit = optarg;
            break;
        case 'o':
            o->json = optarg;
            break;
        case 'H':
            o->html = optarg;
            break;
        case 'M':
            o->matrix = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("renewlab %s %s\n", o->cmd, RENEWLAB_VERSION);
            exit(0);
        case 's':
            o->seed = strtoull(optarg, &end, 10);
            if (*optarg == '-' || *end) {
                fprintf(stderr, "renewlab: --seed needs a non-negative integer\n");
                return -1;
            }
            break;
        case 'S':
            if (sscanf(optarg, "%d/%d", &o->shard_k, &o->shard_n) != 2 || o->shard_n < 1 ||
                o->shard_k < 1 || o->shard_k > o->shard_n) {
                fprintf(stderr, "renewlab: --shard needs K/N with 1 <= K <= N\n");
                return -1;
            }
            break;
        case 'm': {
            long mb = strtol(optarg, &end, 10);
            if (*end || mb < 1 || mb > 65536) {
                fprintf(stderr, "renewlab: --max-trace-mb needs 1 to 65536\n");
                return -1;
            }
            o->trace_max = (size_t)mb << 20;
            break;
        }
        case 'j':
            o->jobs = (int)strtol(optarg, &end, 10);
            if (*end || o->jobs < 1 || o->jobs > 64) {
                fprintf(stderr, "renewlab: --jobs needs 1 to 64\n");
                return -1;
            }
            break;
        default:
            fprintf(stderr, "renewlab: unknown or incomplete option \"%s\"\n", argv[optind - 1]);
            return -1;
        }
    }
    for (; optind < argc; optind++) {
        if (o->npaths == MAX_PATHS) {
            fprintf(stderr, "renewlab: at most %d paths (name a directory instead)\n", MAX_PATHS);
            return -1;
        }
        o->paths[o->npaths++] = argv[optind];
    }
    if (!o->ntargets)
        o->targets[o->ntargets++] = "core";
    return 0;
}

/* SIGINT/SIGTERM: end this process's browsers at once, then die of the signal as usual
 * (browsers also have PR_SET_PDEATHSIG, which covers SIGKILL). */
static void on_stop_signal(int sig)
{
    hr_targets_kill_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv)
{
    opts o = {.jobs = 1, .seed = 1, .trace_max = HR_TRACE_MAX_BYTES, .fail_on = HR_SHOULD};
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    o.cmd = cmd;
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return EXIT_PASS;
    }
    if (!strcmp(cmd, "--version")) {
        printf("renewlab %s\n", RENEWLAB_VERSION);
        return EXIT_PASS;
    }
    if (!strcmp(cmd, "probe"))
        return hr_probe_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "load"))
        return hr_load_main(argc - 1, argv + 1);
    const char *id = NULL;
    if (!strcmp(cmd, "explain")) {
        if (argc >= 3 && argv[2][0] == '-') { /* an option where the ID goes */
            if (parse_opts(argc - 1, argv + 1, &o) == 0)
                fprintf(stderr, "renewlab: explain takes the scenario's ID first\n");
            usage(stderr);
            return EXIT_USAGE;
        }
        if (argc < 3) {
            usage(stderr);
            return EXIT_USAGE;
        }
        id = argv[2];
        argv++, argc--;
    }
    if (parse_opts(argc - 1, argv + 1, &o) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(&o);
    if (!strcmp(cmd, "list"))
        return cmd_list(&o);
    if (!strcmp(cmd, "explain"))
        return cmd_explain(&o, id);
    if (!strcmp(cmd, "judge"))
        return cmd_judge(&o);
    fprintf(stderr, "renewlab: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
