/* Server lifecycle: configuration, keys, TLS, listening, draining and freeing. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "cm_clock.h"
#include "cm_format.h"
#include "cm_rng.h"
#include "cm_strbuf.h"
#include "config.h"
#include "handlers.h"
#include "keys.h"
#include "net.h"
#include "server_state.h"
#include "store.h"
#include "trace.h"

#include <arpa/inet.h>
#include <math.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

const char *idp_strerror(int status)
{
    switch (status) {
    case IDP_OK:
        return "ok";
    case IDP_ENOMEM:
        return "out of memory";
    case IDP_ECONFIG:
        return "invalid configuration";
    case IDP_EKEY:
        return "signing key error";
    case IDP_ELISTEN:
        return "cannot listen";
    case IDP_ETLS:
        return "TLS setup failed";
    case IDP_EIO:
        return "file error";
    }
    return "unknown error";
}

static int setup_tls(idp_server *s, const idp_options *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        unsigned long e = ERR_get_error();
        snprintf(err, errlen, "TLS: cannot use certificate %s with key %s: %s", o->tls_cert,
                 o->tls_key, e ? ERR_reason_error_string(e) : "unknown error");
        SSL_CTX_free(ctx);
        return IDP_ETLS;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    s->ssl_ctx = ctx;
    return 0;
}

static int setup_keys(idp_server *s, const idp_options *o, char *err, size_t errlen)
{
    if (o->signing_key)
        return Idp_keys_add_pkey(&s->keys, o->signing_key, err, errlen);
    if (s->cfg->key_file)
        return Idp_keys_add_pem(&s->keys, s->cfg->key_file, err, errlen);
    idp_alg alg;
    Idp_alg_parse(s->cfg->signing_alg, &alg);
    int rc = Idp_keys_add_generated(&s->keys, alg);
    if (rc != 0)
        snprintf(err, errlen, "cannot generate a %s signing key", s->cfg->signing_alg);
    return rc;
}

static char *make_issuer(const char *tmpl, int tls, const char *host, int port)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    if (!tmpl) {
        int v6 = strchr(host, ':') != NULL;
        cm_strbuf_printf(&b, "%s://%s%s%s:%d", tls ? "https" : "http", v6 ? "[" : "", host,
                         v6 ? "]" : "", port);
        return cm_strbuf_take(&b);
    }
    const char *p = tmpl, *hit;
    while ((hit = strstr(p, "{port}")) != NULL) {
        cm_strbuf_append(&b, p, (size_t)(hit - p));
        cm_strbuf_printf(&b, "%d", port);
        p = hit + 6;
    }
    cm_strbuf_puts(&b, p);
    char *issuer = cm_strbuf_take(&b);
    size_t n = issuer ? strlen(issuer) : 0;
    if (n > 1 && issuer[n - 1] == '/') /* issuer identifiers carry no trailing slash here */
        issuer[n - 1] = '\0';
    return issuer;
}

static int server_init(idp_server *s, const idp_options *o, char *err, size_t errlen)
{
    const char *issuer = o->issuer ? o->issuer : s->cfg->issuer;
    if (issuer && ((strncmp(issuer, "http://", 7) && strncmp(issuer, "https://", 8)) ||
                   !Idp_url_clean(issuer))) {
        snprintf(err, errlen,
                 "--issuer: must be an http(s) URL without spaces or control "
                 "characters");
        return IDP_ECONFIG;
    }
    if (issuer)
        s->issuer_template = strdup(issuer);
    if (s->issuer_template && !strstr(s->issuer_template, "{port}")) /* known before listen */
        s->issuer = make_issuer(s->issuer_template, 0, NULL, 0);
    if (o->control_secret)
        s->control_secret = strdup(o->control_secret);
    s->header_timeout_ms = o->header_timeout > 0 ? llround(o->header_timeout * 1000) : 10000;
    s->body_timeout_ms = o->body_timeout > 0 ? llround(o->body_timeout * 1000) : 30000;
    s->idle_timeout_ms = o->idle_timeout > 0 ? llround(o->idle_timeout * 1000) : 120000;
    s->trace.cap = o->trace_limit;
    s->trace.max_bytes = o->trace_bytes;
    s->store.limit = o->state_limit;
    s->store.grant_tokens_kept = o->grant_tokens_kept;
    s->trace_off = o->trace_off;
    if (o->trace_out && !(s->trace.out = fopen(o->trace_out, "a"))) {
        snprintf(err, errlen, "%s: cannot open trace file for writing", o->trace_out);
        return IDP_EIO;
    }
    /* each start heads its lines with the format (docs/formats.md): an entry has "seq" */
    if (s->trace.out &&
        (fprintf(s->trace.out, "{\"format_version\":\"%s\",\"trace\":\"mock-idp\"}\n",
                 CM_FORMAT_VERSION) < 0 ||
         fflush(s->trace.out) != 0)) {
        snprintf(err, errlen, "%s: cannot write the trace file", o->trace_out);
        return IDP_EIO;
    }
    if (o->tls_cert || o->tls_key) {
        if (!o->tls_cert || !o->tls_key) {
            snprintf(err, errlen, "--tls-cert and --tls-key go together");
            return IDP_ETLS;
        }
        int rc = setup_tls(s, o, err, errlen);
        if (rc != 0)
            return rc;
    }
    int rc = setup_keys(s, o, err, errlen);
    size_t i;
    json_t *rule;
    json_array_foreach(s->cfg->faults, i, rule)
    {
        if (rc == 0)
            rc = Idp_faults_add(s, rule, err, errlen, NULL) == 0 ? 0 : IDP_ECONFIG;
    }
    /* precedence: the config file, then presets in order, then live changes */
    for (size_t p = 0; rc == 0 && p < o->n_presets; p++)
        rc = Idp_preset_apply(s, o->presets[p], err, errlen);
    if (rc == 0) { /* the baseline that POST /_mock/reset returns to */
        s->startup_faults = json_array();
        for (size_t f = 0; f < s->n_faults; f++)
            json_array_append(s->startup_faults, s->faults[f]->spec);
        s->startup_clients = Idp_clients_snapshot(s->cfg);
    }
    return rc;
}

int idp_server_new(struct event_base *base, cm_clock *clock, cm_rng rng, idp_config *cfg,
                   const idp_options *opts, idp_server **out, char *err, size_t errlen)
{
    static const idp_options none = {0};
    idp_server *s = calloc(1, sizeof *s);
    if (!s) {
        idp_config_free(cfg);
        return IDP_ENOMEM;
    }
    s->cfg = cfg;
    s->base = base;
    s->clock = clock;
    s->rng = rng;
    s->port = -1;
    s->loop0 = (idp_loop){.s = s, .base = base, .clock = clock};
    s->workers_wanted = opts ? opts->workers : 0;
    pthread_mutexattr_t mattr; /* critical sections are short: spin a little first */
    pthread_mutexattr_init(&mattr);
    pthread_mutexattr_settype(&mattr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&s->lock, &mattr);
    pthread_mutex_init(&s->trace.lock, NULL);
    pthread_mutexattr_destroy(&mattr);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr); /* the control API must not wait forever under load */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->gate, &attr);
    pthread_rwlockattr_destroy(&attr);
    Idp_store_init(&s->store);
    int rc = server_init(s, opts ? opts : &none, err, errlen);
    if (rc != 0) {
        idp_server_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int bound_port(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int idp_server_listen(idp_server *s, const char *host, int port, char *err, size_t errlen)
{
    size_t workers = s->workers_wanted > 1 ? s->workers_wanted : 1;
    evutil_socket_t fd = Idp_listen_socket(host, port, err, errlen);
    if (fd < 0)
        return IDP_ELISTEN;
    s->port = bound_port(fd);
    free(s->issuer);
    s->issuer = make_issuer(s->issuer_template, s->ssl_ctx != NULL, host, s->port);
    if (!s->issuer) {
        evutil_closesocket(fd);
        return IDP_ENOMEM;
    }
    int rc = Idp_loop_serve(&s->loop0, fd);
    if (rc == IDP_ELISTEN)
        snprintf(err, errlen, "cannot listen on %s:%d", host, port);
    if (rc == 0 && workers > 1) /* last: from here on other threads serve requests */
        rc = Idp_workers_start(s, workers);
    return rc;
}

const char *idp_server_issuer(const idp_server *s)
{
    return s->issuer;
}

void idp_server_set_request_hook(idp_server *s, idp_request_hook hook, void *arg)
{
    s->request_hook = hook;
    s->request_hook_arg = arg;
}

int idp_server_holding(const idp_server *s)
{
    return Idp_loop_held_count(&s->loop0);
}

int idp_server_port(const idp_server *s)
{
    return s->port;
}

void idp_server_drain(idp_server *s, void (*drained)(void *arg), void *arg)
{
    s->drained = drained; /* held answers due before the deadline still go out normally */
    s->drained_arg = arg;
    s->loops_draining = 1 + s->n_workers;
    Idp_workers_command(s, IDP_LOOP_DRAIN);
    Idp_loop_stop_accepting(&s->loop0);
    if (s->loop0.held)
        s->loop0.draining = 1;
    else
        Idp_loop_drained(&s->loop0);
}

int idp_server_shutdown(idp_server *s)
{
    s->drained = NULL;
    Idp_workers_command(s, IDP_LOOP_STOP);
    Idp_loop_stop_accepting(&s->loop0);
    /* held and hung answers end now, with 503, so clients are not left waiting */
    return Idp_loop_end_held(&s->loop0);
}

void idp_server_free(idp_server *s)
{
    if (!s)
        return;
    Idp_workers_free(s);
    Idp_loop_dispose(&s->loop0);
    if (s->drained_ev)
        event_free(s->drained_ev);
    Idp_faults_clear(s);
    json_decref(s->startup_faults);
    if (s->cfg)
        Idp_clients_snapshot_free(s->startup_clients, s->cfg->n_clients);
    if (s->ssl_ctx)
        SSL_CTX_free(s->ssl_ctx);
    Idp_store_dispose(&s->store);
    Idp_trace_dispose(&s->trace);
    Idp_keys_dispose(&s->keys);
    Idp_sign_contexts_clear(); /* they hold references to the keys */
    idp_config_free(s->cfg);
    free(s->issuer);
    free(s->issuer_template);
    free(s->control_secret);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->trace.lock);
    pthread_rwlock_destroy(&s->gate);
    free(s);
}
