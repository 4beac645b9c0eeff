/* mock-idp: the command-line front of the mock OpenID Connect provider. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_idp.h"

#define EXIT_USAGE 2

#define MAX_PRESETS 16

typedef struct cli {
    const char *listen, *config, *signing_key;
    int no_key_cache;
    const char *presets[MAX_PRESETS];
    idp_options opts;
    uint64_t seed;
    int seeded;
} cli;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: mock-idp [--listen HOST:PORT] [--issuer URL] [--config FILE] [--preset NAME]...\n"
        "                [--seed N] [--trace-out FILE] [--control-secret S]\n"
        "                [--tls-cert F --tls-key F] [--workers N] [--header-timeout S]\n"
        "                [--body-timeout S] [--idle-timeout S]\n"
        "\n"
        "A mock OpenID Connect provider for token-renewal testing.\n"
        "  --listen HOST:PORT   address to bind (default 127.0.0.1:9400; port 0 = any free)\n"
        "  --issuer URL         issuer identifier; \"{port}\" becomes the bound port\n"
        "                       (default: the config's, else http://HOST:PORT)\n"
        "  --config FILE        JSON config (default: the built-in demo config)\n"
        "  --preset NAME        apply a preset to every client (repeatable): dex-no-prompt-none,\n"
        "                       non-rotating, strict-rotation, rotation-with-grace,\n"
        "                       short-idle-lifetime, offline-access-required, no-refresh-tokens\n"
        "  --seed N             seed token values and ids (deterministic runs)\n"
        "  --trace-out FILE     append every trace entry to FILE as JSON lines\n"
        "  --trace-limit N      keep the newest N entries in memory (default 100000);\n"
        "                       older ones are dropped and counted in GET /_mock/trace\n"
        "  --trace-memory MB    ... and at most MB megabytes for them (default 8)\n"
        "  --state-limit N      keep at most N grants, sessions and codes (default 10000);\n"
        "                       the oldest are evicted (counted in GET /_mock/state)\n"
        "  --control-secret S   allow /_mock/ from anywhere with header\n"
        "                       X-Mock-Control-Secret: S (default: loopback only)\n"
        "  --tls-cert F --tls-key F   serve HTTPS with this PEM certificate and key\n"
        "  --signing-key FILE   sign with this PEM private key (RSA, EC P-256, Ed25519)\n"
        "  --no-key-cache       generate a fresh signing key instead of reusing the cached\n"
        "                       one ($RENEWLAB_KEY_CACHE, else $XDG_CACHE_HOME/renewlab,\n"
        "                       else ~/.cache/renewlab)\n"
        "  --workers N          event loops serving requests, each on its own thread\n"
        "                       (default: one per core); state and trace are shared\n"
        "  --header-timeout S   seconds from a request's first byte to the end of its\n"
        "                       head (10)\n"
        "  --body-timeout S     ... from there to the end of its body (30)\n"
        "  --idle-timeout S     ... a connection may idle between requests (120); an answer\n"
        "                       a fault rule holds is never cut by these\n"
        "  --help, --version\n"
        "Once listening it prints \"mock-idp listening issuer=URL\". On SIGINT/SIGTERM it\n"
        "stops accepting, lets answers held by fault rules finish for 2 s (then 503) and\n"
        "exits 0; a second signal stops at once. Exit 2 on bad arguments or config.\n");
}

/* Seconds from 0.1 to a day, for a connection timeout. */
static int parse_timeout(const char *flag, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0.1 && v <= 86400)) {
        fprintf(stderr, "mock-idp: %s needs seconds from 0.1 to 86400, got \"%s\"\n", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *s == '\0' || *s == '-' || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, cli *c)
{
    static const struct option longopts[] = {{"listen", required_argument, 0, 'l'},
                                             {"issuer", required_argument, 0, 'i'},
                                             {"config", required_argument, 0, 'c'},
                                             {"seed", required_argument, 0, 's'},
                                             {"trace-out", required_argument, 0, 't'},
                                             {"control-secret", required_argument, 0, 'S'},
                                             {"tls-cert", required_argument, 0, 'C'},
                                             {"tls-key", required_argument, 0, 'K'},
                                             {"help", no_argument, 0, 'h'},
                                             {"preset", required_argument, 0, 'P'},
                                             {"signing-key", required_argument, 0, 'k'},
                                             {"no-key-cache", no_argument, 0, 'n'},
                                             {"trace-limit", required_argument, 0, 'L'},
                                             {"state-limit", required_argument, 0, 'M'},
                                             {"version", no_argument, 0, 'V'},
                                             {"workers", required_argument, 0, 'W'},
                                             {"trace-memory", required_argument, 0, 'B'},
                                             {"header-timeout", required_argument, 0, 'T'},
                                             {"body-timeout", required_argument, 0, 'Y'},
                                             {"idle-timeout", required_argument, 0, 'I'},
                                             {0, 0, 0, 0}};
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            c->listen = optarg;
            break;
        case 'i':
            c->opts.issuer = optarg;
            break;
        case 'c':
            c->config = optarg;
            break;
        case 't':
            c->opts.trace_out = optarg;
            break;
        case 'S':
            c->opts.control_secret = optarg;
            break;
        case 'C':
            c->opts.tls_cert = optarg;
            break;
        case 'K':
            c->opts.tls_key = optarg;
            break;
        case 'k':
            c->signing_key = optarg;
            break;
        case 'n':
            c->no_key_cache = 1;
            break;
        case 'L': {
            uint64_t limit;
            if (parse_u64(optarg, &limit) != 0 || limit < 1 || limit > 100000000) {
                fprintf(stderr, "mock-idp: --trace-limit needs 1 to 100000000 entries\n");
                return -1;
            }
            c->opts.trace_limit = (size_t)limit;
            break;
        }
        case 'M': {
            uint64_t limit;
            if (parse_u64(optarg, &limit) != 0 || limit < 10 || limit > 100000000) {
                fprintf(stderr, "mock-idp: --state-limit needs 10 to 100000000\n");
                return -1;
            }
            c->opts.state_limit = (size_t)limit;
            break;
        }
        case 'B': {
            uint64_t mb;
            if (parse_u64(optarg, &mb) != 0 || mb < 1 || mb > 65536) {
                fprintf(stderr, "mock-idp: --trace-memory needs 1 to 65536 (megabytes)\n");
                return -1;
            }
            c->opts.trace_bytes = (size_t)mb << 20;
            break;
        }
        case 'W': {
            uint64_t n;
            if (parse_u64(optarg, &n) != 0 || n < 1 || n > 256) {
                fprintf(stderr, "mock-idp: --workers needs 1 to 256\n");
                return -1;
            }
            c->opts.workers = (size_t)n;
            break;
        }
        case 'T':
            if (parse_timeout("--header-timeout", optarg, &c->opts.header_timeout) != 0)
                return -1;
            break;
        case 'Y':
            if (parse_timeout("--body-timeout", optarg, &c->opts.body_timeout) != 0)
                return -1;
            break;
        case 'I':
            if (parse_timeout("--idle-timeout", optarg, &c->opts.idle_timeout) != 0)
                return -1;
            break;
        case 'P':
            if (c->opts.n_presets == MAX_PRESETS) {
                fprintf(stderr, "mock-idp: at most %d presets\n", MAX_PRESETS);
                return -1;
            }
            c->presets[c->opts.n_presets++] = optarg;
            c->opts.presets = c->presets;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("mock-idp %s\n", RENEWLAB_VERSION);
            exit(0);
        case 's':
            if (parse_u64(optarg, &c->seed) != 0) {
                fprintf(stderr, "mock-idp: --seed needs a non-negative integer, got \"%s\"\n",
                        optarg);
                return -1;
            }
            c->seeded = 1;
            break;
        default:
            fprintf(stderr, "mock-idp: unknown or incomplete option \"%s\"\n", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mock-idp: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* "HOST:PORT" or "[V6]:PORT" into host (in buf) and port. */
static int split_listen(const char *spec, char *host, size_t n, int *port)
{
    const char *colon = strrchr(spec, ':');
    const char *h = spec;
    size_t hlen = colon ? (size_t)(colon - spec) : 0;
    if (!colon || hlen == 0)
        return -1;
    if (h[0] == '[' && h[hlen - 1] == ']')
        h++, hlen -= 2;
    uint64_t p;
    if (hlen == 0 || hlen >= n || parse_u64(colon + 1, &p) != 0 || p > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

#define DRAIN_SECONDS 2 /* in-flight answers get this long after SIGTERM */

typedef struct running {
    struct event_base *base;
    idp_server *server;
    struct event *deadline;
    int stopping;
} running;

static void flush_and_exit(running *r, long usec)
{
    struct timeval flush = {.tv_sec = 0, .tv_usec = usec};
    event_base_loopexit(r->base, &flush);
}

static void on_drained(void *arg)
{
    flush_and_exit(arg, 100 * 1000); /* let the last answers be written */
}

/* The drain deadline: whatever is still held or hung ends with 503. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    running *r = arg;
    idp_server_shutdown(r->server);
    flush_and_exit(r, 300 * 1000);
}

/* Stop accepting, end held answers, then let the loop flush them for a short drain. */
/* The cache folder for generated signing keys, or NULL. */
static int key_cache_dir(char *out, size_t n)
{
    const char *env = getenv("RENEWLAB_KEY_CACHE"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (env)
        snprintf(out, n, "%s", env);
    else if (xdg)
        snprintf(out, n, "%s/renewlab", xdg);
    else if (home)
        snprintf(out, n, "%s/.cache/renewlab", home);
    else
        return -1;
    return 0;
}

static EVP_PKEY *generate_key(const char *alg)
{
    if (!strcmp(alg, "ES256"))
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!strcmp(alg, "EdDSA"))
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

/* RS256 keys take ~100 ms to generate: one is generated once per algorithm into the
 * cache folder (mode 0600) and reused, so start-up stays in milliseconds. A key that
 * cannot be cached is still generated and used. */
static EVP_PKEY *cached_key(const char *alg)
{
    char dir[3500], path[4096], tmp[4200];
    EVP_PKEY *key = NULL;
    if (key_cache_dir(dir, sizeof dir) == 0) {
        snprintf(path, sizeof path, "%s/signing-%s.pem", dir, alg);
        char ignored[256];
        key = idp_pem_key_load(path, ignored, sizeof ignored); /* absent: generated below */
    }
    if (key)
        return key;
    key = generate_key(alg);
    if (!key || key_cache_dir(dir, sizeof dir) != 0)
        return key;
    char parent[3600];
    snprintf(parent, sizeof parent, "%s", dir);
    for (char *p = parent + 1; *p; p++) { /* mkdir -p */
        if (*p == '/') {
            *p = '\0';
            mkdir(parent, 0700);
            *p = '/';
        }
    }
    mkdir(parent, 0700);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    mode_t old = umask(077);
    FILE *f = fopen(tmp, "w");
    umask(old);
    if (f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 && fclose(f) == 0)
        rename(tmp, path); /* atomic: concurrent starts never read half a key */
    else {
        if (f)
            fclose(f);
        remove(tmp);
    }
    return key;
}

/* SIGINT/SIGTERM: stop accepting and drain: answers due within DRAIN_SECONDS still go
 * out, the rest end with 503 at the deadline. A second signal stops at once. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig, (void)what;
    running *r = arg;
    if (r->stopping++) {
        idp_server_shutdown(r->server);
        flush_and_exit(r, 0);
        return;
    }
    struct timeval deadline = {.tv_sec = DRAIN_SECONDS, .tv_usec = 0};
    r->deadline = evtimer_new(r->base, on_deadline, r);
    if (r->deadline)
        evtimer_add(r->deadline, &deadline);
    idp_server_drain(r->server, on_drained, r);
}

static int serve(cli *c, idp_config *cfg, const char *host, int port)
{
    char err[512] = "";
    EVP_PKEY *key = NULL;
    if (c->signing_key) {
        key = idp_pem_key_load(c->signing_key, err, sizeof err);
        if (!key) {
            fprintf(stderr, "mock-idp: %s\n", err);
            idp_config_free(cfg);
            return EXIT_USAGE;
        }
    } else if (!idp_config_has_key_file(cfg) && !c->no_key_cache) {
        key = cached_key(idp_config_signing_alg(cfg));
    }
    c->opts.signing_key = key;
    struct event_base *base = event_base_new();
    cm_clock *clock = base ? cm_realclock_new(base) : NULL;
    cm_seeded_rng state;
    cm_rng rng = c->seeded ? cm_rng_seeded(&state, c->seed) : cm_rng_openssl();
    idp_server *s = NULL;
    int rc =
        clock ? idp_server_new(base, clock, rng, cfg, &c->opts, &s, err, sizeof err) : IDP_ENOMEM;
    if (rc == 0)
        rc = idp_server_listen(s, host, port, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "mock-idp: %s\n", *err ? err : idp_strerror(rc));
    } else {
        running r = {.base = base, .server = s, .deadline = NULL, .stopping = 0};
        struct event *sigint = evsignal_new(base, SIGINT, on_signal, &r);
        struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, &r);
        event_add(sigint, NULL);
        event_add(sigterm, NULL);
        printf("mock-idp listening issuer=%s\n", idp_server_issuer(s));
        fflush(stdout);
        event_base_dispatch(base);
        event_free(sigint);
        event_free(sigterm);
        if (r.deadline)
            event_free(r.deadline);
    }
    idp_server_free(s);
    EVP_PKEY_free(key);
    cm_realclock_free(clock);
    if (base)
        event_base_free(base);
    return rc == 0 ? 0 : EXIT_USAGE;
}

int main(int argc, char **argv)
{
    cli c = {.listen = "127.0.0.1:9400"};
    char host[256], err[512];
    int port;
    if (parse_args(argc, argv, &c) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (split_listen(c.listen, host, sizeof host, &port) != 0) {
        fprintf(stderr, "mock-idp: --listen needs HOST:PORT, got \"%s\"\n", c.listen);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!c.opts.workers) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        c.opts.workers = cores > 1 ? (size_t)(cores > 256 ? 256 : cores) : 1;
    }
    if (c.opts.workers > 1 && evthread_use_pthreads() != 0) {
        fprintf(stderr, "mock-idp: libevent has no thread support; use --workers 1\n");
        return EXIT_USAGE;
    }
    idp_config *cfg = NULL;
    int rc = c.config ? idp_config_load(c.config, &cfg, err, sizeof err) : idp_config_demo(&cfg);
    if (rc != 0) {
        fprintf(stderr, "mock-idp: %s\n", c.config ? err : "cannot build the demo config");
        return EXIT_USAGE;
    }
    return serve(&c, cfg, host, port);
}
