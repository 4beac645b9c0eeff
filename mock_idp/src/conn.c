/* Connections (docs/hardening.md, "Connections"). A request's head must arrive within the
 * header timeout of its first byte, its body within the body timeout of the head's end,
 * and a connection may idle for the idle timeout between requests. While a request is
 * answered nothing is read from it and no deadline runs, so an answer a fault rule holds
 * or hangs is never cut; writing an answer may stall for the longest of the three.
 *
 * A connection's bytes pass the framing scanner (frame.h) as they arrive, before libevent
 * reads them. Its state (idp_conn) is made at its first byte, when evhttp's connection
 * is known, and freed by evhttp's close callback, which this file owns: the held-answer
 * and trace-stream code register theirs here (Idp_conn_on_close). */
#include "frame.h"
#include "net.h"
#include "server_state.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>

struct idp_conn {
    idp_loop *l;
    struct evhttp_connection *evcon;
    struct event *deadline; /* the header or body deadline */
    idp_frame frame;
    int busy; /* a request is being answered */
    Idp_conn_close_fn *on_close;
    void *on_close_arg;
    struct idp_conn *prev, *next; /* l->conns */
};

static struct timeval tv_of(int64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

static int64_t longest(const idp_server *s)
{
    int64_t ms = s->header_timeout_ms;
    ms = s->body_timeout_ms > ms ? s->body_timeout_ms : ms;
    return s->idle_timeout_ms > ms ? s->idle_timeout_ms : ms;
}

/* libevent's own bound: silence while reading (or stalling while writing) */
static void set_bound(struct evhttp_connection *evcon, int64_t ms)
{
    struct timeval tv = tv_of(ms);
    evhttp_connection_set_timeout_tv(evcon, &tv);
}

void Idp_conn_defaults(idp_loop *l)
{
    struct timeval tv = tv_of(l->s->idle_timeout_ms); /* until a first byte */
    evhttp_set_timeout_tv(l->http, &tv);
}

static idp_conn *conn_find(idp_loop *l, struct evhttp_connection *evcon)
{
    idp_conn *c = l->conns;
    while (c && c->evcon != evcon)
        c = c->next;
    return c;
}

static void conn_free(idp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    event_free(c->deadline);
    free(c);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    idp_conn *c = arg;
    if (c->on_close)
        c->on_close(evcon, c->on_close_arg);
    conn_free(c);
}

/* Past a deadline: drop the connection (libevent's own timeouts do the same). */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    idp_conn *c = arg;
    evhttp_connection_free(c->evcon); /* on_close frees c */
}

static void arm(idp_conn *c, int64_t ms)
{
    struct timeval tv = tv_of(ms);
    evtimer_add(c->deadline, &tv);
}

static void on_events(idp_conn *c, int events)
{
    if (events & IDP_FRAME_START) {
        set_bound(c->evcon, longest(c->l->s)); /* the deadlines are the tighter bound */
        arm(c, c->l->s->header_timeout_ms);
    }
    if (events & IDP_FRAME_HEAD)
        arm(c, c->l->s->body_timeout_ms);
    if (events & IDP_FRAME_END)
        evtimer_del(c->deadline);
}

/* Scan the bytes of @p buf from @p from on: they have arrived and libevent has not read
 * them yet. */
static void scan(idp_conn *c, struct evbuffer *buf, size_t from)
{
    struct evbuffer_ptr pos;
    size_t left = evbuffer_get_length(buf) - from;
    int events = 0;
    if (evbuffer_ptr_set(buf, &pos, from, EVBUFFER_PTR_SET) != 0)
        return;
    while (left > 0) {
        struct evbuffer_iovec v[8];
        int n = evbuffer_peek(buf, (ev_ssize_t)left, &pos, v, 8);
        for (int i = 0; i < n && i < 8 && left > 0; i++) {
            size_t len = v[i].iov_len < left ? v[i].iov_len : left;
            events |= Idp_frame_scan(&c->frame, v[i].iov_base, len);
            left -= len;
            evbuffer_ptr_set(buf, &pos, len, EVBUFFER_PTR_ADD);
        }
        if (n <= 0)
            break;
    }
    on_events(c, events);
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    idp_conn *c = arg;
    if (info->n_added > 0 && !c->busy)
        scan(c, buf, evbuffer_get_length(buf) - info->n_added);
}

/* A connection's first bytes: evhttp's connection is known by now (it is the
 * bufferevent's callback argument), so its state can be made, freed when it closes. */
static void on_first_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *bev = arg;
    void *cbarg = NULL;
    if (info->n_added == 0)
        return;
    bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
    struct evhttp_connection *evcon = cbarg;
    idp_loop *l = evcon ? Idp_loop_of_http(evhttp_connection_get_server(evcon)) : NULL;
    idp_conn *c = l ? calloc(1, sizeof *c) : NULL;
    if (c && !(c->deadline = evtimer_new(l->base, on_deadline, c))) {
        free(c);
        c = NULL;
    }
    evbuffer_remove_cb(buf, on_first_input, bev);
    if (!c)
        return; /* out of memory: libevent's bounds alone */
    *c = (idp_conn){.l = l, .evcon = evcon, .deadline = c->deadline, .next = l->conns};
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    Idp_frame_reset(&c->frame);
    evhttp_connection_set_closecb(evcon, on_close, c);
    evbuffer_add_cb(buf, on_input, c);
    on_input(buf, info, c);
}

struct bufferevent *Idp_conn_watch(struct bufferevent *bev)
{
    if (bev)
        evbuffer_add_cb(bufferevent_get_input(bev), on_first_input, bev);
    return bev;
}

/* The answer is out: the connection may idle until its next request, whose bytes may
 * already be here. */
static void on_answered(struct evhttp_request *req, void *arg)
{
    idp_conn *c = arg;
    (void)req;
    c->busy = 0;
    Idp_frame_reset(&c->frame);
    set_bound(c->evcon, c->l->s->idle_timeout_ms);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
    if (bev && evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        scan(c, bufferevent_get_input(bev), 0);
}

static void on_answered_untracked(struct evhttp_request *req, void *arg)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon)
        set_bound(evcon, *(const int64_t *)arg);
}

void Idp_conn_busy(idp_loop *l, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    idp_conn *c = evcon ? conn_find(l, evcon) : NULL;
    if (evcon)
        set_bound(evcon, longest(l->s)); /* for writing the answer */
    if (!c) {
        evhttp_request_set_on_complete_cb(req, on_answered_untracked, &l->s->idle_timeout_ms);
        return;
    }
    c->busy = 1;
    evtimer_del(c->deadline);
    evhttp_request_set_on_complete_cb(req, on_answered, c);
}

void Idp_conn_on_close(idp_loop *l, struct evhttp_connection *evcon, Idp_conn_close_fn *fn,
                       void *arg)
{
    idp_conn *c = conn_find(l, evcon);
    if (!c) {
        evhttp_connection_set_closecb(evcon, fn, arg);
        return;
    }
    c->on_close = fn;
    c->on_close_arg = arg;
}
