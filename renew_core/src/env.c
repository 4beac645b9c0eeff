/* The client's environment as its modules use it: the injected clock, randomness, and
 * events, queued and delivered from a timer so a callback never runs inside a caller. */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>

int64_t rc_now(const rc_client *c)
{
    return cm_clock_now(c->env.clock);
}

void rc_timer_cancel(rc_client *c, cm_timer **t)
{
    if (*t)
        c->env.clock->timer_cancel(c->env.clock->ctx, *t);
    *t = NULL;
}

void rc_random_token(rc_client *c, char *out, size_t n)
{
    if (cm_rng_token(&c->env.rng, 32, out, n) != 0)
        snprintf(out, n, "rng-failed");
}

typedef struct rc_queued_event {
    rc_event ev;
    char *method, *detail; /* owned copies */
    struct rc_queued_event *next;
} rc_queued_event;

static void free_queued(rc_queued_event *q)
{
    free(q->method);
    free(q->detail);
    free(q);
}

static void deliver_events(void *arg)
{
    rc_client *c = arg;
    c->event_timer = NULL;
    while (c->events) {
        rc_queued_event *q = c->events;
        c->events = q->next;
        if (!c->events)
            c->events_tail = &c->events;
        c->env.on_event(c->env.event_arg, &q->ev);
        free_queued(q);
    }
}

void rc_emit(rc_client *c, rc_event_type type, int status, int transient, const char *method,
             const char *detail)
{
    if (!c->env.on_event)
        return;
    rc_queued_event *q = calloc(1, sizeof *q);
    if (!q)
        return;
    q->method = rc_strdup(method);
    q->detail = rc_strdup(detail);
    q->ev = (rc_event){.type = type,
                       .time_ms = rc_now(c),
                       .status = status,
                       .transient = transient,
                       .method = q->method,
                       .detail = q->detail,
                       .expires_at_ms = c->tok.expires_at_ms};
    if (!c->events_tail)
        c->events_tail = &c->events;
    *c->events_tail = q;
    c->events_tail = &q->next;
    if (!c->event_timer)
        c->event_timer = c->env.clock->timer_start(c->env.clock->ctx, 0, deliver_events, c);
}

void rc_events_dispose(rc_client *c)
{
    rc_timer_cancel(c, &c->event_timer);
    while (c->events) {
        rc_queued_event *q = c->events;
        c->events = q->next;
        free_queued(q);
    }
}
