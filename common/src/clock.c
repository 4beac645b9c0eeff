/* The production clock: wall time plus an adjustable offset, timers on libevent.
 * This is the only file that reads the wall clock. */
#include "cm_clock.h"

#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

struct cm_timer {
    struct event *ev;
    cm_timer_cb cb;
    void *arg;
    struct cm_timer *prev, *next;
    struct realclock *owner;
};

typedef struct realclock {
    cm_clock iface; /* first: the public face */
    struct event_base *base;
    int64_t offset_ms;
    cm_timer *timers; /* pending, for cleanup */
} realclock;

int64_t cm_wallclock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_now(void *ctx)
{
    return cm_wallclock_ms() + ((realclock *)ctx)->offset_ms;
}

static int real_set(void *ctx, int64_t now_ms)
{
    realclock *c = ctx;
    c->offset_ms = now_ms - cm_wallclock_ms();
    return 0;
}

static void unlink_timer(cm_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        t->owner->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    event_free(t->ev);
    free(t);
}

static void real_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cm_timer *t = arg;
    cm_timer_cb cb = t->cb;
    void *cbarg = t->arg;
    unlink_timer(t);
    cb(cbarg);
}

static cm_timer *real_start(void *ctx, int64_t delay_ms, cm_timer_cb cb, void *arg)
{
    realclock *c = ctx;
    cm_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ev = evtimer_new(c->base, real_fire, t);
    if (!t->ev) {
        free(t);
        return NULL;
    }
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = {.tv_sec = delay_ms / 1000, .tv_usec = (delay_ms % 1000) * 1000};
    t->cb = cb;
    t->arg = arg;
    t->owner = c;
    t->next = c->timers;
    if (c->timers)
        c->timers->prev = t;
    c->timers = t;
    evtimer_add(t->ev, &tv);
    return t;
}

static void real_cancel(void *ctx, cm_timer *t)
{
    (void)ctx;
    if (t)
        unlink_timer(t);
}

cm_clock *cm_realclock_new(struct event_base *base)
{
    realclock *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->iface = (cm_clock){.now_ms = real_now,
                          .set_ms = real_set,
                          .timer_start = real_start,
                          .timer_cancel = real_cancel,
                          .inflight = NULL,
                          .ctx = c};
    return &c->iface;
}

void cm_realclock_free(cm_clock *clock)
{
    if (!clock)
        return;
    realclock *c = clock->ctx;
    while (c->timers)
        unlink_timer(c->timers);
    free(c);
}
