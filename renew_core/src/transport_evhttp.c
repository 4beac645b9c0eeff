/* The default transport: libevent's evhttp client, one connection per request,
 * TLS through libevent_openssl with certificate and host name verification. */
#include "rc_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct evt {
    struct event_base *base;
    cm_clock *clock;
    SSL_CTX *ssl;
    int system_cas;       /* the system CAs are loaded on the first https request (1 = not yet) */
    struct pending *live; /* requests under way, and connections waiting to be freed */
} evt;

typedef struct pending {
    evt *t;
    struct evhttp_connection *conn;
    struct evhttp_request *req;
    rc_http_done done;
    void *arg;
    int completed;
    struct event *defer; /* frees the connection after its callback has returned */
    struct pending *prev, *next;
} pending;

static void unlink_pending(pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        p->t->live = p->next;
    if (p->next)
        p->next->prev = p->prev;
}

static void set_inflight(evt *t, int delta)
{
    if (t->clock && t->clock->inflight)
        t->clock->inflight(t->clock->ctx, delta);
}

/* Connections are freed from their own event: freeing one inside its request callback is
 * unsafe in libevent 2.1. */
static void release(pending *p)
{
    unlink_pending(p);
    if (p->defer)
        event_free(p->defer);
    evhttp_connection_free(p->conn);
    free(p);
}

static void free_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    release(arg);
}

static const char *header(struct evhttp_request *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

/* Every header of the answer (a new array of borrowed strings), or NULL and *@p n 0 without
 * memory: the named ones of rc_http_response still come through. */
static rc_header *headers_of(struct evhttp_request *req, size_t *n)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    size_t count = 0;
    for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next)
        count++;
    rc_header *all = calloc(count ? count : 1, sizeof *all);
    *n = 0;
    for (struct evkeyval *kv = in->tqh_first; all && kv; kv = kv->next.tqe_next)
        all[(*n)++] = (rc_header){kv->key, kv->value};
    return all;
}

static void on_done(struct evhttp_request *req, void *arg)
{
    pending *p = arg;
    struct timeval now = {0, 0};
    p->completed = 1;
    set_inflight(p->t, -1);
    int status = req ? evhttp_request_get_response_code(req) : 0;
    if (status <= 0) {
        p->done(p->arg, RC_ETRANSPORT, NULL);
    } else {
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(b);
        size_t n;
        rc_header *all = headers_of(req, &n);
        rc_http_response r = {.status = status,
                              .body = len ? (const char *)evbuffer_pullup(b, -1) : "",
                              .body_len = len,
                              .content_type = header(req, "Content-Type"),
                              .location = header(req, "Location"),
                              .retry_after = header(req, "Retry-After"),
                              .www_authenticate = header(req, "WWW-Authenticate"),
                              .headers = all,
                              .n_headers = n};
        p->done(p->arg, RC_OK, &r);
        free(all);
    }
    p->defer = evtimer_new(p->t->base, free_later, p);
    if (p->defer)
        evtimer_add(p->defer, &now);
}

static struct evhttp_connection *connect_to(evt *t, const struct evhttp_uri *u, const char *host,
                                            int port)
{
    const char *scheme = evhttp_uri_get_scheme(u);
    if (scheme && strcmp(scheme, "https") == 0) {
        /* loading the system CA bundle decodes every certificate in it: only when needed */
        if (t->ssl && t->system_cas && SSL_CTX_set_default_verify_paths(t->ssl) == 1)
            t->system_cas = 0;
        if (!t->ssl || t->system_cas)
            return NULL;
        SSL *ssl = SSL_new(t->ssl);
        if (!ssl)
            return NULL;
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host); /* the certificate must name the host */
        struct bufferevent *bev = bufferevent_openssl_socket_new(
            t->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
        return bev ? evhttp_connection_base_bufferevent_new(t->base, NULL, bev, host,
                                                            (unsigned short)port)
                   : NULL;
    }
    return evhttp_connection_base_new(t->base, NULL, host, (unsigned short)port);
}

int rc_header_reserved(const char *name)
{
    static const char *const set_here[] = {"Host", "Connection", "Content-Length",    "Keep-Alive",
                                           "TE",   "Trailer",    "Transfer-Encoding", "Upgrade",
                                           NULL};
    if (!name || !strncasecmp(name, "Proxy-", 6))
        return 1;
    for (size_t i = 0; set_here[i]; i++)
        if (!strcasecmp(name, set_here[i]))
            return 1;
    return 0;
}

static int add_headers(struct evhttp_request *req, const rc_http_request *rq, const char *host,
                       int port)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%d", host, port);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "Connection", "close");
    for (size_t i = 0; i < rq->n_headers; i++)
        if (rq->headers[i].name && rq->headers[i].value && !rc_header_reserved(rq->headers[i].name))
            evhttp_add_header(h, rq->headers[i].name, rq->headers[i].value);
    if (!evhttp_find_header(h, "Accept")) /* case-insensitive */
        evhttp_add_header(h, "Accept", "application/json");
    if (rq->content_type)
        evhttp_add_header(h, "Content-Type", rq->content_type);
    if (rq->authorization)
        evhttp_add_header(h, "Authorization", rq->authorization);
    if (rq->cookie)
        evhttp_add_header(h, "Cookie", rq->cookie);
    if (rq->body_len)
        return evbuffer_add(evhttp_request_get_output_buffer(req), rq->body, rq->body_len);
    return 0;
}

static int ev_send(void *ctx, const rc_http_request *rq, rc_http_done done, void *arg,
                   void **handle)
{
    evt *t = ctx;
    struct evhttp_uri *u = evhttp_uri_parse(rq->url);
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    if (!host) {
        evhttp_uri_free(u);
        return RC_EINVAL;
    }
    const char *scheme = evhttp_uri_get_scheme(u);
    int https = scheme && strcmp(scheme, "https") == 0;
    int port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : https ? 443 : 80;
    char target[2048];
    const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
    snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    pending *p = calloc(1, sizeof *p);
    int rc = p ? RC_OK : RC_ENOMEM;
    if (p) {
        p->t = t, p->done = done, p->arg = arg;
        p->conn = connect_to(t, u, host, port);
        p->req = p->conn ? evhttp_request_new(on_done, p) : NULL;
        rc = p->req && add_headers(p->req, rq, host, port) == 0 ? RC_OK : RC_ETRANSPORT;
    }
    enum evhttp_cmd_type cmd = strcmp(rq->method, "POST") == 0 ? EVHTTP_REQ_POST : EVHTTP_REQ_GET;
    if (rc == RC_OK && evhttp_make_request(p->conn, p->req, cmd, target) != 0) {
        p->req = NULL; /* evhttp_make_request frees it on failure */
        rc = RC_ETRANSPORT;
    }
    evhttp_uri_free(u);
    if (rc != RC_OK) {
        if (p && p->req)
            evhttp_request_free(p->req);
        if (p && p->conn)
            evhttp_connection_free(p->conn);
        free(p);
        return rc;
    }
    p->next = t->live;
    if (t->live)
        t->live->prev = p;
    t->live = p;
    set_inflight(t, +1);
    *handle = p;
    return RC_OK;
}

static void ev_cancel(void *ctx, void *handle)
{
    (void)ctx;
    pending *p = handle;
    if (!p || p->completed)
        return;
    p->completed = 1;
    set_inflight(p->t, -1);
    evhttp_cancel_request(p->req);
    release(p);
}

int rc_transport_evhttp_new(struct event_base *base, cm_clock *clock, const char *ca_file,
                            rc_transport *out)
{
    evt *t = calloc(1, sizeof *t);
    if (!t)
        return RC_ENOMEM;
    t->base = base;
    t->clock = clock;
    t->ssl = SSL_CTX_new(TLS_client_method());
    if (t->ssl) {
        SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_min_proto_version(t->ssl, TLS1_2_VERSION);
        int ok = ca_file ? SSL_CTX_load_verify_locations(t->ssl, ca_file, NULL) : 1;
        t->system_cas = !ca_file;
        if (ok != 1) {
            SSL_CTX_free(t->ssl);
            free(t);
            return RC_EINVAL;
        }
    }
    *out = (rc_transport){.send = ev_send, .cancel = ev_cancel, .ctx = t};
    return RC_OK;
}

void rc_transport_evhttp_free(rc_transport *tr)
{
    evt *t = tr ? tr->ctx : NULL;
    if (!t)
        return;
    while (t->live) { /* requests under way are cancelled; deferred frees happen now */
        pending *p = t->live;
        if (!p->completed) {
            set_inflight(t, -1);
            evhttp_cancel_request(p->req);
        }
        release(p);
    }
    SSL_CTX_free(t->ssl);
    free(t);
    tr->ctx = NULL;
}
