/* What the loops share besides the state: the locks every request takes (the state lock
 * and the gate, idp_int.h's idp_server), and the report of a loop that finished
 * draining. */
#include "net.h"
#include "server_state.h"

#include <event2/event.h>

void Idp_lock(idp_server *s, int exclusive)
{
    if (exclusive)
        pthread_rwlock_wrlock(&s->gate);
    else
        pthread_rwlock_rdlock(&s->gate);
    pthread_mutex_lock(&s->lock);
}

void Idp_unlock_state(idp_server *s)
{
    pthread_mutex_unlock(&s->lock);
}

void Idp_unlock_gate(idp_server *s)
{
    pthread_rwlock_unlock(&s->gate);
}

void Idp_unlock(idp_server *s)
{
    Idp_unlock_state(s);
    Idp_unlock_gate(s);
}

/* On loop 0: the last draining loop was a worker. */
void Idp_loops_drained(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    idp_server *s = arg;
    if (s->drained && atomic_load(&s->loops_draining) == 0) {
        void (*drained)(void *) = s->drained;
        s->drained = NULL;
        drained(s->drained_arg);
    }
}

void Idp_loop_drained(idp_loop *l)
{
    idp_server *s = l->s;
    if (atomic_fetch_sub(&s->loops_draining, 1) != 1)
        return;
    if (l == &s->loop0)
        Idp_loops_drained(-1, 0, s);
    else
        event_active(s->drained_ev, EV_TIMEOUT, 0);
}
