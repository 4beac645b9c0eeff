/* Worker loops for standalone mock-idp: one event loop per thread, all accepting from
 * the one listening socket (each on its own dup: SO_REUSEPORT would let a second process
 * bind the port unnoticed), all serving one idp_server whose state sits behind its locks.
 * The main thread (loop 0) commands them: drain, stop. */
#include "cm_clock.h"
#include "keys.h"
#include "net.h"
#include "server_state.h"

#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdlib.h>

/* On a worker: the main thread set `command`. */
static void on_command(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    idp_loop *l = arg;
    int command = atomic_load(&l->command);
    Idp_loop_stop_accepting(l);
    if (command == IDP_LOOP_DRAIN) {
        if (l->held)
            l->draining = 1;
        else
            Idp_loop_drained(l);
        return;
    }
    Idp_loop_end_held(l);
    struct timeval flush = {.tv_sec = 0, .tv_usec = 300 * 1000}; /* write the last answers */
    event_base_loopexit(l->base, &flush);
}

static void *worker_main(void *arg)
{
    idp_loop *l = arg;
    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    Idp_sign_contexts_clear();
    return NULL;
}

static int worker_init(idp_server *s, idp_loop *l)
{
    *l = (idp_loop){.s = s};
    l->base = event_base_new();
    l->clock = l->base ? cm_realclock_new(l->base) : NULL;
    l->command_ev = l->clock ? event_new(l->base, -1, 0, on_command, l) : NULL;
    if (!l->command_ev)
        return IDP_ENOMEM;
    evutil_socket_t fd = fcntl(evhttp_bound_socket_get_fd(s->loop0.bound), F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return IDP_ELISTEN;
    int rc = Idp_loop_serve(l, fd);
    if (rc == 0 && pthread_create(&l->thread, NULL, worker_main, l) != 0)
        rc = IDP_ENOMEM;
    l->started = rc == 0;
    return rc;
}

int Idp_workers_start(idp_server *s, size_t n)
{
    s->drained_ev = event_new(s->base, -1, 0, Idp_loops_drained, s);
    s->workers = calloc(n - 1, sizeof *s->workers);
    if (!s->drained_ev || !s->workers)
        return IDP_ENOMEM;
    s->threaded = 1;
    for (size_t i = 0; i < n - 1; i++) {
        s->n_workers++;
        int rc = worker_init(s, &s->workers[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void Idp_workers_command(idp_server *s, int command)
{
    for (size_t i = 0; i < s->n_workers; i++) {
        idp_loop *l = &s->workers[i];
        if (!l->started)
            continue;
        atomic_store(&l->command, command);
        event_active(l->command_ev, EV_TIMEOUT, 0);
    }
}

void Idp_workers_free(idp_server *s)
{
    Idp_workers_command(s, IDP_LOOP_STOP);
    for (size_t i = 0; i < s->n_workers; i++) {
        idp_loop *l = &s->workers[i];
        if (l->started)
            pthread_join(l->thread, NULL);
        Idp_loop_dispose(l);
        if (l->command_ev)
            event_free(l->command_ev);
        cm_realclock_free(l->clock);
        if (l->base)
            event_base_free(l->base);
    }
    free(s->workers);
    s->workers = NULL;
    s->n_workers = 0;
}
