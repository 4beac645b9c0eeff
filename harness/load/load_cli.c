/* renewlab load: options, one model run (and a second with other jitter, to compare),
 * the terminal summary and the JSON and HTML reports (docs/load.md). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "load.h"
#include "reports.h"

enum { LOAD_OK = 0, LOAD_USAGE = 2, LOAD_INFRA = 3 };

static void load_usage(FILE *out)
{
    fprintf(
        out,
        "usage: renewlab load [--clients N] [--duration D] [--access-token D]\n"
        "                     [--renew-before D] [--jitter D] [--compare-jitter D]\n"
        "                     [--login-spread D] [--outage START+LENGTH]... [--latency D]\n"
        "                     [--max-retries N] [--app-retry D] [--bucket D] [--seed N]\n"
        "                     [--json F] [--html F]\n"
        "Simulates N renew_core clients against the mock IdP on the virtual clock and\n"
        "reports the token endpoint's refresh rate over time. D is a duration: 90, 90s,\n"
        "500ms, 15m, 24h; --access-token takes a list (30m,1h,2h: clients split evenly).\n"
        "Defaults: 1000 clients, 24h, 1h access tokens renewed 60s early\n"
        "with 0-30s jitter, logins spread over the first access-token lifetime, 20ms\n"
        "latency, 4 retries, app retry 60s, buckets of 60s. --outage 6h+10m: every OIDC\n"
        "endpoint answers 503 for 10 minutes from 6 hours in (repeatable). See docs/load.md.\n");
}

/* "90", "90s", "500ms", "15m", "24h" -> milliseconds; -1 when malformed. */
static int64_t parse_duration(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || v > 1e9)
        return -1;
    double unit = !strcmp(end, "ms")           ? 1
                  : !strcmp(end, "s") || !*end ? 1000
                  : !strcmp(end, "m")          ? 60000
                  : !strcmp(end, "h")          ? 3600000
                                               : -1;
    return unit < 0 ? -1 : (int64_t)(v * unit);
}

static int parse_outage(const char *s, hr_outage *o)
{
    const char *plus = strchr(s, '+');
    char start[64];
    if (!plus || (size_t)(plus - s) >= sizeof start)
        return -1;
    memcpy(start, s, (size_t)(plus - s));
    start[plus - s] = '\0';
    o->start_ms = parse_duration(start);
    o->length_ms = parse_duration(plus + 1);
    return o->start_ms < 0 || o->length_ms <= 0 ? -1 : 0;
}

typedef struct load_opts {
    hr_load_params p;
    int64_t compare_jitter_ms; /* -1: no second run */
    const char *json, *html;
} load_opts;

static int bad(const char *opt, const char *why)
{
    fprintf(stderr, "renewlab load: %s %s\n", opt, why);
    return -1;
}

static int set_duration(const char *opt, const char *v, int64_t *out, int positive)
{
    int64_t d = parse_duration(v);
    if (d < 0 || (positive && d == 0))
        return bad(opt, positive ? "needs a positive duration (90, 90s, 500ms, 15m, 24h)"
                                 : "needs a duration (90, 90s, 500ms, 15m, 24h)");
    *out = d;
    return 0;
}

static int set_count(const char *opt, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *v == '-' || *end || n < lo || n > hi) {
        char why[96];
        snprintf(why, sizeof why, "needs a whole number from %llu to %llu", (unsigned long long)lo,
                 (unsigned long long)hi);
        return bad(opt, why);
    }
    *out = n;
    return 0;
}

/* "1h" or "30m,1h,2h": the clients are split evenly among the lifetimes. */
static int set_lifetimes(const char *v, hr_load_params *p)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    p->n_lifetimes = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (p->n_lifetimes == HR_LOAD_MAX_LIFETIMES)
            return bad("--access-token", "takes at most 8 lifetimes");
        int64_t d = parse_duration(tok);
        if (d < 1000)
            return bad("--access-token", "needs lifetimes of at least 1 s (1h or 30m,1h,2h)");
        p->access_token_ms[p->n_lifetimes++] = d;
    }
    return p->n_lifetimes ? 0 : bad("--access-token", "needs a lifetime (1h or 30m,1h,2h)");
}

/* The shortest (or with @p longest, the longest) access-token lifetime. */
static int64_t lifetime_bound(const hr_load_params *p, int longest)
{
    int64_t v = p->access_token_ms[0];
    for (size_t i = 1; i < p->n_lifetimes; i++)
        if (longest ? p->access_token_ms[i] > v : p->access_token_ms[i] < v)
            v = p->access_token_ms[i];
    return v;
}

static int parse(int argc, char **argv, load_opts *o)
{
    static const struct option longopts[] = {{"clients", required_argument, 0, 'c'},
                                             {"duration", required_argument, 0, 'd'},
                                             {"access-token", required_argument, 0, 'a'},
                                             {"renew-before", required_argument, 0, 'r'},
                                             {"jitter", required_argument, 0, 'j'},
                                             {"compare-jitter", required_argument, 0, 'J'},
                                             {"login-spread", required_argument, 0, 'L'},
                                             {"outage", required_argument, 0, 'o'},
                                             {"latency", required_argument, 0, 'l'},
                                             {"max-retries", required_argument, 0, 'm'},
                                             {"app-retry", required_argument, 0, 'A'},
                                             {"bucket", required_argument, 0, 'b'},
                                             {"seed", required_argument, 0, 's'},
                                             {"json", required_argument, 0, 'O'},
                                             {"html", required_argument, 0, 'H'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    int ch, rc = 0, spread_given = 0;
    uint64_t n = 0;
    opterr = 0;
    optind = 1;
    while (rc == 0 && (ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const char *opt = argv[optind - 1];
        switch (ch) {
        case 'c':
            rc = set_count("--clients", optarg, 1, 10000000, &n);
            o->p.clients = (size_t)n;
            break;
        case 'd':
            rc = set_duration("--duration", optarg, &o->p.duration_ms, 1);
            break;
        case 'a':
            rc = set_lifetimes(optarg, &o->p);
            break;
        case 'r':
            rc = set_duration("--renew-before", optarg, &o->p.renew_before_ms, 0);
            break;
        case 'j':
            rc = set_duration("--jitter", optarg, &o->p.jitter_ms, 0);
            break;
        case 'J':
            rc = set_duration("--compare-jitter", optarg, &o->compare_jitter_ms, 0);
            break;
        case 'L':
            rc = set_duration("--login-spread", optarg, &o->p.login_spread_ms, 0);
            spread_given = 1;
            break;
        case 'l':
            rc = set_duration("--latency", optarg, &o->p.latency_ms, 0);
            break;
        case 'A':
            rc = set_duration("--app-retry", optarg, &o->p.app_retry_ms, 1);
            break;
        case 'b':
            rc = set_duration("--bucket", optarg, &o->p.bucket_ms, 1);
            break;
        case 'm':
            rc = set_count("--max-retries", optarg, 0, 100, &n);
            o->p.max_retries = (int)n;
            break;
        case 's':
            rc = set_count("--seed", optarg, 0, UINT64_MAX, &o->p.seed);
            break;
        case 'o':
            if (o->p.n_outages == HR_LOAD_MAX_OUTAGES)
                rc = bad("--outage", "is allowed at most 8 times");
            else if (parse_outage(optarg, &o->p.outages[o->p.n_outages++]) != 0)
                rc = bad("--outage", "needs START+LENGTH, e.g. 6h+10m");
            break;
        case 'O':
            o->json = optarg;
            break;
        case 'H':
            o->html = optarg;
            break;
        case 'h':
            load_usage(stdout);
            exit(LOAD_OK);
        case 'V':
            printf("renewlab load %s\n", RENEWLAB_VERSION);
            exit(LOAD_OK);
        default:
            fprintf(stderr, "renewlab load: unknown or incomplete option \"%s\"\n", opt);
            rc = -1;
        }
    }
    if (rc == 0 && optind < argc)
        rc = bad("", "takes no arguments besides options");
    if (!spread_given)
        o->p.login_spread_ms = lifetime_bound(&o->p, 1);
    if (rc == 0 && o->p.renew_before_ms + o->p.jitter_ms >= lifetime_bound(&o->p, 0))
        rc = bad("--renew-before", "plus --jitter must stay below every --access-token");
    if (rc == 0 && o->p.duration_ms / o->p.bucket_ms > 1000000)
        rc = bad("--bucket", "gives more than a million buckets; make it longer");
    return rc;
}

static int write_reports(const load_opts *o, json_t *doc)
{
    char err[300];
    if (o->json && rpt_json_write(o->json, doc, err, sizeof err) != 0) {
        fprintf(stderr, "renewlab load: %s\n", err);
        return LOAD_INFRA;
    }
    if (o->html && rpt_load_html_write(o->html, doc, err, sizeof err) != 0) {
        fprintf(stderr, "renewlab load: %s\n", err);
        return LOAD_INFRA;
    }
    return LOAD_OK;
}

int hr_load_main(int argc, char **argv)
{
    load_opts o = {.p = {.clients = 1000,
                         .duration_ms = 24 * 3600000LL,
                         .access_token_ms = {3600000},
                         .n_lifetimes = 1,
                         .renew_before_ms = 60000,
                         .jitter_ms = 30000,
                         .latency_ms = 20,
                         .app_retry_ms = 60000,
                         .bucket_ms = 60000,
                         .max_retries = 4,
                         .seed = 1},
                   .compare_jitter_ms = -1};
    if (parse(argc, argv, &o) != 0) {
        load_usage(stderr);
        return LOAD_USAGE;
    }
    char err[300] = "";
    json_t *runs = json_array();
    json_t *run = hr_load_run(&o.p, err, sizeof err);
    if (run && o.compare_jitter_ms >= 0) {
        json_array_append_new(runs, run);
        hr_load_params other = o.p;
        other.jitter_ms = o.compare_jitter_ms;
        run = hr_load_run(&other, err, sizeof err);
    }
    if (!run) {
        fprintf(stderr, "renewlab load: %s\n", *err ? err : "the model did not run");
        json_decref(runs);
        return LOAD_INFRA;
    }
    json_array_append_new(runs, run);
    json_t *doc = json_pack("{s:s, s:o}", "kind", "load", "runs", runs);
    rpt_load_term(stdout, doc);
    int rc = write_reports(&o, doc);
    json_decref(doc);
    return rc;
}
