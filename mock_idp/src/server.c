/* Server lifecycle and the thin libevent adapter: evhttp request -> idp_req, dispatch,
 * idp_resp -> exactly one reply. */
#include "idp_int.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bodies beyond this get libevent's own 413; OAuth requests are a few hundred bytes. */
#define IDP_MAX_BODY (64 * 1024)
#define IDP_MAX_HEADERS (16 * 1024)

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

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

static int is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
           strncmp(addr, "::ffff:127.", 11) == 0;
}

static int is_form(const char *ctype)
{
    static const char FORM[] = "application/x-www-form-urlencoded";
    size_t n = sizeof FORM - 1;
    return ctype && strncasecmp(ctype, FORM, n) == 0 && (ctype[n] == '\0' || ctype[n] == ';');
}

static void fill_req(idp_server *s, struct evhttp_request *req, idp_req *rq)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    rq->method = method_name(evhttp_request_get_command(req));
    rq->path = strdup(path && *path ? path : "/");
    rq->query_status =
        cm_form_parse(query ? query : "", query ? strlen(query) : 0, &rq->query, &rq->query_bad);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    size_t n = 0;
    for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next)
        n++;
    rq->headers = calloc(n + 1, sizeof *rq->headers);
    for (struct evkeyval *kv = in->tqh_first; rq->headers && kv; kv = kv->next.tqe_next)
        rq->headers[rq->n_headers++] = (idp_header){.name = kv->key, .value = kv->value};
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    rq->body_len = evbuffer_get_length(body);
    rq->body = rq->body_len ? (const char *)evbuffer_pullup(body, -1) : "";
    if (is_form(idp_req_header(rq, "Content-Type"))) {
        rq->form_parsed = 1;
        rq->form_status = cm_form_parse(rq->body, rq->body_len, &rq->form, &rq->form_bad);
    }
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
    rq->peer_loopback = addr && is_loopback(addr);
    rq->now_ms = cm_clock_now(s->clock);
}

static void send_resp(struct evhttp_request *req, idp_resp *rs)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    for (size_t i = 0; i < rs->n_headers; i++)
        if (rs->headers[i].name && rs->headers[i].value)
            evhttp_add_header(out, rs->headers[i].name, rs->headers[i].value);
    struct evbuffer *buf = evbuffer_new();
    if (buf && rs->body.len)
        evbuffer_add(buf, rs->body.data, rs->body.len);
    evhttp_send_reply(req, rs->status, NULL, buf);
    if (buf)
        evbuffer_free(buf);
}

/* An answer a fault rule holds back, or a connection it drops. */
typedef struct idp_held {
    idp_server *s;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    cm_timer *timer;
    struct event *drop; /* the deferred drop, owned so unlinking can cancel it */
    idp_resp rs;
    struct idp_held *prev, *next;
} idp_held;

/* A held answer waits on the IdP clock, not on I/O: while held it does not count as in
 * flight, so a virtual clock can jump to its deadline (cm_loop_run). */
static void held_inflight(idp_held *h, int delta)
{
    if (h->s->clock->inflight)
        h->s->clock->inflight(h->s->clock->ctx, delta);
}

static void held_unlink(idp_held *h)
{
    held_inflight(h, +1);
    if (h->prev)
        h->prev->next = h->next;
    else
        h->s->held = h->next;
    if (h->next)
        h->next->prev = h->prev;
    evhttp_connection_set_closecb(h->evcon, NULL, NULL);
    if (h->timer)
        h->s->clock->timer_cancel(h->s->clock->ctx, h->timer);
    if (h->drop)
        event_free(h->drop);
    idp_resp_dispose(&h->rs);
    idp_server *s = h->s;
    free(h);
    if (s->drained && !s->held) { /* draining, and the last held answer is out */
        void (*drained)(void *) = s->drained;
        s->drained = NULL;
        drained(s->drained_arg);
    }
}

/* The client went away (or the server is freed): forget the answer; libevent frees the
 * request with its connection, so it is never touched again. */
static void held_on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    held_unlink(arg);
}

static void held_on_timer(void *arg)
{
    idp_held *h = arg;
    h->timer = NULL;
    send_resp(h->req, &h->rs);
    held_unlink(h);
}

/* Abort a TCP connection with RST. evhttp_connection_free() shuts the socket down for
 * writing (a FIN) before closing it, so the client would see a clean end first. Instead:
 * linger 0, then dup2 an unconnected socket over the descriptor, which closes the real
 * socket at once (sending RST); libevent's later shutdown and close hit the stand-in. */
static void reset_socket(evutil_socket_t fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int stand_in = socket(AF_INET, SOCK_STREAM, 0);
    if (stand_in >= 0) {
        dup2(stand_in, fd);
        close(stand_in);
    }
}

/* Drop a connection without an answer. Runs from its own event, never inside the request
 * callback: freeing the connection there can double-free (libevent issue 997). */
static void held_drop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    idp_held *h = arg;
    struct evhttp_connection *evcon = h->evcon;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (h->rs.disposition == IDP_RESET && bev)
        reset_socket(bufferevent_getfd(bev));
    held_unlink(h);
    evhttp_connection_free(evcon);
}

static void hold(idp_server *s, struct evhttp_request *req, idp_resp *rs)
{
    idp_held *h = calloc(1, sizeof *h);
    if (!h) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    h->s = s;
    h->req = req;
    h->evcon = evhttp_request_get_connection(req);
    h->rs = *rs; /* takes over headers and body */
    idp_resp_init(rs);
    h->next = s->held;
    if (s->held)
        s->held->prev = h;
    s->held = h;
    evhttp_connection_set_closecb(h->evcon, held_on_close, h);
    held_inflight(h, -1);
    if (h->rs.disposition == IDP_HOLD) {
        h->timer = s->clock->timer_start(s->clock->ctx, h->rs.delay_ms, held_on_timer, h);
    } else if (h->rs.disposition != IDP_HANG) {
        struct timeval now = {0, 0};
        h->drop = evtimer_new(s->base, held_drop, h);
        if (h->drop)
            evtimer_add(h->drop, &now);
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    idp_server *s = arg;
    idp_req rq = {0};
    idp_resp rs;
    idp_resp_init(&rs);
    fill_req(s, req, &rq);
    idp_dispatch(s, &rq, &rs);
    if (rs.disposition == IDP_SEND)
        send_resp(req, &rs);
    else
        hold(s, req, &rs);
    idp_resp_dispose(&rs);
    cm_form_dispose(&rq.query);
    cm_form_dispose(&rq.form);
    free(rq.headers);
    free(rq.path);
}

static void stop_accepting(idp_server *s)
{
    if (s->bound) {
        evhttp_del_accept_socket(s->http, s->bound);
        s->bound = NULL;
    }
}

void idp_server_drain(idp_server *s, void (*drained)(void *arg), void *arg)
{
    stop_accepting(s);
    if (!s->held) {
        drained(arg);
        return;
    }
    s->drained = drained; /* held answers due before the deadline still go out normally */
    s->drained_arg = arg;
}

int idp_server_shutdown(idp_server *s)
{
    int ended = 0;
    s->drained = NULL;
    stop_accepting(s);
    /* held and hung answers end now, with 503, so clients are not left waiting */
    while (s->held) {
        idp_held *h = s->held;
        if (h->rs.disposition == IDP_HOLD || h->rs.disposition == IDP_HANG) {
            idp_resp_oauth_error(&h->rs, 503, OIDC_ERR_TEMPORARILY_UNAVAILABLE,
                                 "server shutting down");
            send_resp(h->req, &h->rs);
            ended++;
        }
        held_unlink(h);
    }
    return ended;
}

static struct bufferevent *make_tls_bev(struct event_base *base, void *arg)
{
    SSL *ssl = SSL_new(arg);
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
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
        return idp_keys_add_pkey(&s->keys, o->signing_key, err, errlen);
    if (s->cfg->key_file)
        return idp_keys_add_pem(&s->keys, s->cfg->key_file, err, errlen);
    idp_alg alg;
    idp_alg_parse(s->cfg->signing_alg, &alg);
    int rc = idp_keys_add_generated(&s->keys, alg);
    if (rc != 0)
        snprintf(err, errlen, "cannot generate a %s signing key", s->cfg->signing_alg);
    return rc;
}

static int server_init(idp_server *s, const idp_options *o, char *err, size_t errlen)
{
    if (o->issuer || s->cfg->issuer)
        s->issuer_template = strdup(o->issuer ? o->issuer : s->cfg->issuer);
    if (o->control_secret)
        s->control_secret = strdup(o->control_secret);
    s->trace.cap = o->trace_limit;
    s->store.limit = o->state_limit;
    if (o->trace_out && !(s->trace.out = fopen(o->trace_out, "a"))) {
        snprintf(err, errlen, "%s: cannot open trace file for writing", o->trace_out);
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
            rc = idp_faults_add(s, rule, err, errlen, NULL) == 0 ? 0 : IDP_ECONFIG;
    }
    /* precedence: the config file, then presets in order, then live changes */
    for (size_t p = 0; rc == 0 && p < o->n_presets; p++)
        rc = idp_preset_apply(s, o->presets[p], err, errlen);
    if (rc == 0) { /* the baseline that POST /_mock/reset returns to */
        s->startup_faults = json_array();
        for (size_t f = 0; f < s->n_faults; f++)
            json_array_append(s->startup_faults, s->faults[f]->spec);
        s->startup_clients = idp_clients_snapshot(s->cfg);
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
    idp_store_init(&s->store);
    int rc = server_init(s, opts ? opts : &none, err, errlen);
    if (rc != 0) {
        idp_server_free(s);
        return rc;
    }
    *out = s;
    return 0;
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

static int bound_port(struct evhttp_bound_socket *bound)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int idp_server_listen(idp_server *s, const char *host, int port, char *err, size_t errlen)
{
    s->http = evhttp_new(s->base);
    if (!s->http)
        return IDP_ENOMEM;
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(s->http, IDP_MAX_BODY);
    evhttp_set_max_headers_size(s->http, IDP_MAX_HEADERS);
    evhttp_set_gencb(s->http, on_request, s);
    /* an answer without a body (revocation's 200, a 204 preflight) has no Content-Type:
     * libevent's default "text/html; charset=ISO-8859-1" made oidc-client-ts reject the
     * RFC 7009 answer and skip revoking the refresh token */
    evhttp_set_default_content_type(s->http, NULL);
    if (s->ssl_ctx)
        evhttp_set_bevcb(s->http, make_tls_bev, s->ssl_ctx);
    s->bound = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
    if (!s->bound) {
        snprintf(err, errlen, "cannot listen on %s:%d", host, port);
        return IDP_ELISTEN;
    }
    s->port = bound_port(s->bound);
    s->issuer = make_issuer(s->issuer_template, s->ssl_ctx != NULL, host, s->port);
    return s->issuer ? 0 : IDP_ENOMEM;
}

const char *idp_server_issuer(const idp_server *s)
{
    return s->issuer;
}

int idp_server_port(const idp_server *s)
{
    return s->port;
}

void idp_server_free(idp_server *s)
{
    if (!s)
        return;
    if (s->http)
        evhttp_free(s->http); /* closes connections: held answers are forgotten */
    while (s->held)
        held_unlink(s->held);
    idp_faults_clear(s);
    json_decref(s->startup_faults);
    if (s->cfg)
        idp_clients_snapshot_free(s->startup_clients, s->cfg->n_clients);
    if (s->ssl_ctx)
        SSL_CTX_free(s->ssl_ctx);
    idp_store_dispose(&s->store);
    idp_trace_dispose(&s->trace);
    idp_keys_dispose(&s->keys);
    idp_config_free(s->cfg);
    free(s->issuer);
    free(s->issuer_template);
    free(s->control_secret);
    free(s);
}
