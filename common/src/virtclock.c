/* The virtual clock and its discrete-event driver. */
#include "cm_virtclock.h"

#include <event2/event.h>
#include <stdlib.h>

struct cm_timer {
    int64_t deadline;
    uint64_t order; /* arming order: equal deadlines fire first-armed first */
    cm_timer_cb cb;
    void *arg;
    struct cm_timer *next;
};

typedef struct virtclock {
    cm_clock iface;
    int64_t now;
    int inflight;
    int busy; /* parties still working at this instant (cm_virtclock_busy) */
    uint64_t armed;
    cm_timer *timers; /* sorted by (deadline, order) */
} virtclock;

static int64_t v_now(void *ctx)
{
    return ((virtclock *)ctx)->now;
}

static int v_set(void *ctx, int64_t now_ms)
{
    virtclock *c = ctx;
    if (now_ms < c->now)
        return -1; /* virtual time never goes back: timers would fire out of order */
    c->now = now_ms;
    return 0;
}

static cm_timer *v_start(void *ctx, int64_t delay_ms, cm_timer_cb cb, void *arg)
{
    virtclock *c = ctx;
    cm_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->deadline = c->now + (delay_ms > 0 ? delay_ms : 0);
    t->order = c->armed++;
    t->cb = cb;
    t->arg = arg;
    cm_timer **p = &c->timers;
    while (*p && ((*p)->deadline < t->deadline ||
                  ((*p)->deadline == t->deadline && (*p)->order < t->order)))
        p = &(*p)->next;
    t->next = *p;
    *p = t;
    return t;
}

static void v_cancel(void *ctx, cm_timer *t)
{
    virtclock *c = ctx;
    for (cm_timer **p = &c->timers; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            free(t);
            return;
        }
    }
}

static void v_inflight(void *ctx, int delta)
{
    ((virtclock *)ctx)->inflight += delta;
}

cm_clock *cm_virtclock_new(int64_t start_ms)
{
    virtclock *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->now = start_ms;
    c->iface = (cm_clock){.now_ms = v_now,
                          .set_ms = v_set,
                          .timer_start = v_start,
                          .timer_cancel = v_cancel,
                          .inflight = v_inflight,
                          .ctx = c};
    return &c->iface;
}

void cm_virtclock_free(cm_clock *clock)
{
    if (!clock)
        return;
    virtclock *c = clock->ctx;
    while (c->timers) {
        cm_timer *t = c->timers;
        c->timers = t->next;
        free(t);
    }
    free(c);
}

int cm_virtclock_inflight(const cm_clock *clock)
{
    return ((const virtclock *)clock->ctx)->inflight;
}

void cm_virtclock_busy(cm_clock *clock, int delta)
{
    ((virtclock *)clock->ctx)->busy += delta;
}

/* Nothing in flight and nobody working. The in-flight count may dip below zero for a
 * moment (a cancelled request's server side notices the close later), so it must not
 * hide a busy party: the two are counted apart. */
static int quiet(const cm_clock *clock)
{
    const virtclock *c = clock->ctx;
    return c->inflight <= 0 && c->busy <= 0;
}

int64_t cm_virtclock_next_deadline(const cm_clock *clock)
{
    const virtclock *c = clock->ctx;
    return c->timers ? c->timers->deadline : INT64_MAX;
}

int cm_virtclock_fire_due(cm_clock *clock)
{
    virtclock *c = clock->ctx;
    int fired = 0;
    while (c->timers && c->timers->deadline <= c->now) {
        cm_timer *t = c->timers;
        c->timers = t->next;
        cm_timer_cb cb = t->cb;
        void *arg = t->arg;
        free(t);
        cb(arg); /* may arm or cancel timers */
        fired++;
    }
    return fired;
}

/* Let real loopback I/O run until nothing is in flight and no event is ready. Returns 0,
 * or -1 when requests stayed in flight past the real-time budget. */
static int settle(struct event_base *base, cm_clock *clock, int64_t stuck_real_ms)
{
    int64_t since = cm_wallclock_ms();
    for (;;) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (quiet(clock)) {
            /* one more pass: callbacks of the last answer may have queued more work */
            event_base_loop(base, EVLOOP_NONBLOCK);
            if (quiet(clock))
                return 0;
        }
        if (cm_wallclock_ms() - since > stuck_real_ms)
            return -1;
        struct timeval cap = {.tv_sec = 0, .tv_usec = 50 * 1000};
        event_base_loopexit(base, &cap); /* block for I/O, but never past the cap */
        event_base_loop(base, EVLOOP_ONCE);
    }
}

int cm_loop_run(struct event_base *base, cm_clock *clock, int (*done)(void *arg), void *arg,
                int64_t until_ms, int64_t stuck_real_ms)
{
    for (;;) {
        if (settle(base, clock, stuck_real_ms) != 0)
            return CM_LOOP_STUCK;
        if (done && done(arg))
            return CM_LOOP_DONE;
        if (cm_virtclock_fire_due(clock) > 0)
            continue;
        int64_t next = cm_virtclock_next_deadline(clock);
        if (next == INT64_MAX)
            return CM_LOOP_IDLE;
        if (next > until_ms)
            return CM_LOOP_LIMIT;
        clock->set_ms(clock->ctx, next);
    }
}
