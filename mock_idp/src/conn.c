/* Connection timeouts (docs/hardening.md). libevent 2.1 keeps one inactivity timer per
 * connection, for reading and for writing: a connection may be silent for at most the
 * request timeout while it sends a request (its headers and its body) or reads an answer,
 * and for at most the idle timeout between requests. While a request is being answered
 * libevent reads nothing from it, so an answer a fault rule holds or hangs is never cut. */
#include "idp_int.h"

#include <event2/http.h>

static struct timeval tv_of(int64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

void idp_conn_defaults(idp_loop *l)
{
    struct timeval tv = tv_of(l->s->request_timeout_ms);
    evhttp_set_timeout_tv(l->http, &tv);
}

/* The answer is out: the connection may idle until its next request. */
static void on_answered(struct evhttp_request *req, void *arg)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct timeval tv = tv_of(*(const int64_t *)arg);
    if (evcon)
        evhttp_connection_set_timeout_tv(evcon, &tv);
}

void idp_conn_busy(idp_loop *l, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct timeval tv = tv_of(l->s->request_timeout_ms);
    if (evcon) /* the next request (and this answer) get the request timeout again */
        evhttp_connection_set_timeout_tv(evcon, &tv);
    evhttp_request_set_on_complete_cb(req, on_answered, &l->s->idle_timeout_ms);
}
