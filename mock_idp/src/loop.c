/* The thin libevent adapter of one event loop: evhttp request -> idp_req, dispatch,
 * idp_resp -> exactly one reply; answers held by fault rules; the listening socket. */
#include "cm_clock.h"
#include "cm_form.h"
#include "handlers.h"
#include "net.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netdb.h>
#include <pthread.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bodies beyond this get libevent's own 413; OAuth requests are a few hundred bytes. */
#define IDP_MAX_BODY (64 * 1024)
#define IDP_MAX_HEADERS (16 * 1024)

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
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    default: /* libevent keeps no name for a method it does not know */
        return "UNKNOWN";
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

static void fill_req(struct evhttp_request *req, idp_req *rq)
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
    if (is_form(Idp_req_header(rq, "Content-Type"))) {
        rq->form_parsed = 1;
        rq->form_status = cm_form_parse(rq->body, rq->body_len, &rq->form, &rq->form_bad);
    }
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
    rq->peer_loopback = addr && is_loopback(addr);
    rq->can_stream = 1;
}

static void send_resp(struct evhttp_request *req, idp_resp *rs)
{
    if (req->major == 1 && req->minor > 1) /* libevent echoes HTTP/1.2 in the status line */
        req->minor = 1;
    if (req->type == EVHTTP_REQ_CONNECT) { /* else libevent answers as if opening a tunnel: */
        req->type = EVHTTP_REQ_GET;        /* no Content-Length, and the connection stays */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    }
    Idp_resp_materialize(rs); /* an answer made after the request's own (held, ended) */
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
    idp_loop *loop;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    cm_timer *timer;
    struct event *drop; /* the deferred drop, owned so unlinking can cancel it */
    struct event *gone; /* watches for the client hanging up while its answer is held */
    idp_resp rs;
    struct idp_held *prev, *next;
} idp_held;

/* A held answer waits on the IdP clock, not on I/O: while held it does not count as in
 * flight, so a virtual clock can jump to its deadline (cm_loop_run). */
static void held_inflight(idp_held *h, int delta)
{
    cm_clock *c = h->loop->clock;
    if (c->inflight)
        c->inflight(c->ctx, delta);
}

static void held_unlink(idp_held *h)
{
    idp_loop *l = h->loop;
    held_inflight(h, +1);
    if (h->prev)
        h->prev->next = h->next;
    else
        l->held = h->next;
    if (h->next)
        h->next->prev = h->prev;
    Idp_conn_on_close(l, h->evcon, NULL, NULL);
    if (h->timer)
        l->clock->timer_cancel(l->clock->ctx, h->timer);
    if (h->drop)
        event_free(h->drop);
    if (h->gone)
        event_free(h->gone);
    Idp_resp_dispose(&h->rs);
    free(h);
    if (l->draining && !l->held) { /* draining, and the last held answer is out */
        l->draining = 0;
        Idp_loop_drained(l);
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

/* The client hung up on an answer still held: libevent reads nothing from a connection
 * whose request is being answered, so without this watch it would never notice, and the
 * connection, its descriptor and its in-flight debt would stay until shutdown. */
static void held_gone(evutil_socket_t fd, short what, void *arg)
{
    idp_held *h = arg;
    if (!(what & EV_CLOSED)) { /* no early-close support: peek at what came */
        char c;
        ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) /* the bytes of a next request: the client is still there */
            event_del(h->gone);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
            return;
    }
    struct evhttp_connection *evcon = h->evcon;
    held_unlink(h);
    evhttp_connection_free(evcon);
}

static void watch_hangup(idp_loop *l, idp_held *h)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(h->evcon);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    short how = (event_base_get_features(l->base) & EV_FEATURE_EARLY_CLOSE) ? EV_CLOSED : EV_READ;
    if (fd >= 0 && (h->gone = event_new(l->base, fd, how | EV_PERSIST, held_gone, h)))
        event_add(h->gone, NULL);
}

static void hold(idp_loop *l, struct evhttp_request *req, idp_resp *rs)
{
    idp_held *h = calloc(1, sizeof *h);
    if (!h) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    h->loop = l;
    h->req = req;
    h->evcon = evhttp_request_get_connection(req);
    h->rs = *rs; /* takes over headers and body */
    Idp_resp_init(rs);
    h->next = l->held;
    if (l->held)
        l->held->prev = h;
    l->held = h;
    Idp_conn_on_close(l, h->evcon, held_on_close, h);
    held_inflight(h, -1);
    if (h->rs.disposition == IDP_HOLD || h->rs.disposition == IDP_HANG)
        watch_hangup(l, h);
    if (h->rs.disposition == IDP_HOLD) {
        h->timer = l->clock->timer_start(l->clock->ctx, h->rs.delay_ms, held_on_timer, h);
    } else if (h->rs.disposition != IDP_HANG) {
        struct timeval now = {0, 0};
        h->drop = evtimer_new(l->base, held_drop, h);
        if (h->drop)
            evtimer_add(h->drop, &now);
    }
}

/* The control API changes what other requests point to: it runs alone. */
static int is_control(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    return path && strncmp(path, "/_mock/", 7) == 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    idp_loop *l = arg;
    idp_server *s = l->s;
    idp_req rq = {0};
    idp_resp rs;
    Idp_conn_busy(l, req);
    Idp_resp_init(&rs);
    fill_req(req, &rq);
    if (s->request_hook && l == &s->loop0)
        s->request_hook(s->request_hook_arg);
    Idp_lock(s, is_control(req));
    rq.now_ms = cm_clock_now(s->clock); /* the control API may move the IdP clock */
    Idp_dispatch(s, &rq, &rs);
    int evict = Idp_store_over_limits(&s->store);
    Idp_unlock_state(s);
    Idp_resp_materialize(&rs);
    if (rs.trace_pending) { /* before the gate opens: the control API sees whole traces */
        Idp_trace_end(s, rs.trace_pending, &rs, rs.trace_real_start);
        rs.trace_pending = NULL;
    }
    Idp_unlock_gate(s);
    if (evict) { /* eviction frees grants other requests may be signing for */
        Idp_lock(s, 1);
        Idp_store_enforce_limits(s);
        Idp_unlock(s);
    }
    if (rs.stream)
        Idp_stream_start(l, req, &rs);
    else if (rs.disposition == IDP_SEND)
        send_resp(req, &rs);
    else
        hold(l, req, &rs);
    Idp_resp_dispose(&rs);
    cm_form_dispose(&rq.query);
    cm_form_dispose(&rq.form);
    free(rq.headers);
    free(rq.path);
}

void Idp_loop_stop_accepting(idp_loop *l)
{
    if (l->bound) {
        Idp_accept_unwatch(l);
        evhttp_del_accept_socket(l->http, l->bound);
        l->bound = NULL;
    }
}

int Idp_loop_held_count(const idp_loop *l)
{
    int n = 0;
    for (const idp_held *h = l->held; h; h = h->next)
        n++;
    return n;
}

int Idp_loop_end_held(idp_loop *l)
{
    int ended = 0;
    l->draining = 0;
    while (l->held) {
        idp_held *h = l->held;
        if (h->rs.disposition == IDP_HOLD || h->rs.disposition == IDP_HANG) {
            Idp_resp_oauth_error(&h->rs, 503, OIDC_ERR_TEMPORARILY_UNAVAILABLE,
                                 "server shutting down");
            send_resp(h->req, &h->rs);
            ended++;
        }
        held_unlink(h);
    }
    return ended;
}

/* Worker loops all accept from one socket, and libevent accepts until the queue is empty:
 * the loop that woke first would take a whole burst of new connections (a load generator
 * opening 32 at once) and leave the other loops idle. So a loop takes one connection per
 * turn: its listener pauses after an accept and resumes at the end of the turn. */
static void resume_accepting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    idp_loop *l = arg;
    if (l->bound && !l->accept_paused)
        evconnlistener_enable(evhttp_bound_socket_get_listener(l->bound));
}

/* evhttp's bufferevent for a new connection (called from inside the accept loop). */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    idp_loop *l = arg;
    if (l->resume_ev && l->bound) {
        evconnlistener_disable(evhttp_bound_socket_get_listener(l->bound));
        event_active(l->resume_ev, 0, 0);
    }
    if (!l->s->ssl_ctx)
        return Idp_conn_watch(bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE));
    SSL *ssl = SSL_new(l->s->ssl_ctx);
    return Idp_conn_watch(bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                         BEV_OPT_CLOSE_ON_FREE));
}

int Idp_loop_serve(idp_loop *l, evutil_socket_t fd)
{
    l->http = evhttp_new(l->base);
    if (!l->http) {
        evutil_closesocket(fd);
        return IDP_ENOMEM;
    }
    /* every method reaches the dispatcher, which answers 405 with Allow; libevent's own
     * answer would be a bare 501 (its unknown-method bit is 1 << 15 in 2.1) */
    evhttp_set_allowed_methods(l->http, 0xffff);
    evhttp_set_max_body_size(l->http, IDP_MAX_BODY);
    evhttp_set_max_headers_size(l->http, IDP_MAX_HEADERS);
    evhttp_set_gencb(l->http, on_request, l);
    Idp_conn_defaults(l);
    /* an answer without a body (revocation's 200, a 204 preflight) has no Content-Type:
     * libevent's default "text/html; charset=ISO-8859-1" made oidc-client-ts reject the
     * RFC 7009 answer and skip revoking the refresh token */
    evhttp_set_default_content_type(l->http, NULL);
    if (l->s->workers_wanted > 1 &&
        !(l->resume_ev = event_new(l->base, -1, 0, resume_accepting, l))) {
        evutil_closesocket(fd);
        return IDP_ENOMEM;
    }
    evhttp_set_bevcb(l->http, make_bev, l);
    l->bound = evhttp_accept_socket_with_handle(l->http, fd);
    if (!l->bound) {
        evutil_closesocket(fd);
        return IDP_ELISTEN;
    }
    return Idp_accept_watch(l);
}

void Idp_loop_dispose(idp_loop *l)
{
    if (l->bound)
        Idp_accept_unwatch(l);
    if (l->http)
        evhttp_free(l->http); /* closes connections: held answers are forgotten */
    l->http = NULL;
    l->bound = NULL;
    if (l->resume_ev)
        event_free(l->resume_ev);
    l->resume_ev = NULL;
    while (l->held)
        held_unlink(l->held);
}
