/* The listening socket: opening it, and accepting when descriptors run out. */
#include "cm_clock.h"
#include "net.h"
#include "server_state.h"

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Out of file descriptors: libevent would retry at once, forever, logging every time
 * (100 % CPU). Pause accepting instead, and say so once a second at most. */
static void accept_again(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    idp_loop *l = arg;
    l->accept_paused = 0;
    if (l->bound)
        evconnlistener_enable(evhttp_bound_socket_get_listener(l->bound));
}

/* The listener's error callback gets evhttp's argument, not ours, and a connection's
 * first bytes only its bufferevent: which loop a listener (and an evhttp) belongs to is
 * kept here (a loop for each worker thread at most). */
static struct {
    pthread_mutex_t lock;
    struct evconnlistener *lev[IDP_MAX_LOOPS];
    idp_loop *loop[IDP_MAX_LOOPS];
} listeners = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Keep @p l as @p lev's loop (@p l NULL: forget @p lev). */
static void listener_register(struct evconnlistener *lev, idp_loop *l)
{
    pthread_mutex_lock(&listeners.lock);
    struct evconnlistener *want = l ? NULL : lev; /* a free slot, or lev's own */
    for (size_t i = 0; i < IDP_MAX_LOOPS; i++) {
        if (listeners.lev[i] != want)
            continue;
        listeners.lev[i] = l ? lev : NULL;
        listeners.loop[i] = l;
        break;
    }
    pthread_mutex_unlock(&listeners.lock);
}

idp_loop *Idp_loop_of_http(const struct evhttp *http)
{
    idp_loop *l = NULL;
    pthread_mutex_lock(&listeners.lock);
    for (size_t i = 0; i < IDP_MAX_LOOPS && !l; i++)
        if (listeners.loop[i] && listeners.loop[i]->http == http)
            l = listeners.loop[i];
    pthread_mutex_unlock(&listeners.lock);
    return l;
}

static idp_loop *listener_loop(struct evconnlistener *lev)
{
    idp_loop *l = NULL;
    pthread_mutex_lock(&listeners.lock);
    for (size_t i = 0; i < IDP_MAX_LOOPS && !l; i++)
        if (listeners.lev[i] == lev)
            l = listeners.loop[i];
    pthread_mutex_unlock(&listeners.lock);
    return l;
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    (void)arg;
    idp_loop *l = listener_loop(lev);
    if (!l)
        return;
    int err = EVUTIL_SOCKET_ERROR();
    int64_t now = cm_wallclock_ms();
    if (now - l->accept_logged_ms >= 1000) {
        l->accept_logged_ms = now;
        fprintf(stderr, "mock-idp: cannot accept a connection (%s); pausing accept for 100 ms\n",
                strerror(err));
    }
    struct timeval pause = {.tv_sec = 0, .tv_usec = 100000};
    if (l->accept_ev && evtimer_add(l->accept_ev, &pause) == 0) {
        l->accept_paused = 1;
        evconnlistener_disable(lev);
    }
}

int Idp_accept_watch(idp_loop *l)
{
    if (!(l->accept_ev = evtimer_new(l->base, accept_again, l)))
        return IDP_ENOMEM;
    struct evconnlistener *lev = evhttp_bound_socket_get_listener(l->bound);
    listener_register(lev, l);
    evconnlistener_set_error_cb(lev, on_accept_error);
    return 0;
}

void Idp_accept_unwatch(idp_loop *l)
{
    if (l->bound)
        listener_register(evhttp_bound_socket_get_listener(l->bound), NULL);
    if (l->accept_ev)
        event_free(l->accept_ev);
    l->accept_ev = NULL;
}

evutil_socket_t Idp_listen_socket(const char *host, int port, char *err, size_t errlen)
{
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC,
                                    .ai_socktype = SOCK_STREAM,
                                    .ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG};
    struct evutil_addrinfo *ai = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    evutil_socket_t fd = -1;
    if (evutil_getaddrinfo(host, portstr, &hints, &ai) == 0 && ai) {
        int one = 1;
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
                        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0)) {
            evutil_closesocket(fd);
            fd = -1;
        }
    }
    if (ai)
        evutil_freeaddrinfo(ai);
    if (fd < 0)
        snprintf(err, errlen, "cannot listen on %s:%d", host, port);
    return fd;
}
