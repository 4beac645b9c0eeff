/* The virtual clock and its discrete-event driver. */
#include "cm_virtclock.h"

#include <event2/event.h>
#include <stdlib.h>

struct cm_timer {
    int64_t deadline;
    uint64_t order; /* arming order: equal deadlines fire first-armed first */
    cm_timer_cb cb;
    void *arg;
    size_t index; /* in the heap */
};

typedef struct virtclock {
    cm_clock iface;
    int64_t now;
    int inflight;
    int busy; /* parties still working at this instant (cm_virtclock_busy) */
    uint64_t armed;
    cm_timer **heap; /* a binary min-heap on (deadline, order): the load model arms millions */
    size_t n, cap;
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

static int earlier(const cm_timer *a, const cm_timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->order < b->order);
}

static void place(virtclock *c, size_t i, cm_timer *t)
{
    c->heap[i] = t;
    t->index = i;
}

static void sift_up(virtclock *c, size_t i)
{
    cm_timer *t = c->heap[i];
    while (i > 0 && earlier(t, c->heap[(i - 1) / 2])) {
        place(c, i, c->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    place(c, i, t);
}

static void sift_down(virtclock *c, size_t i)
{
    cm_timer *t = c->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= c->n)
            break;
        if (child + 1 < c->n && earlier(c->heap[child + 1], c->heap[child]))
            child++;
        if (!earlier(c->heap[child], t))
            break;
        place(c, i, c->heap[child]);
        i = child;
    }
    place(c, i, t);
}

/* Take @p t out of the heap (not freed). */
static void heap_remove(virtclock *c, cm_timer *t)
{
    size_t i = t->index;
    cm_timer *last = c->heap[--c->n];
    if (last == t)
        return;
    place(c, i, last);
    if (i > 0 && earlier(last, c->heap[(i - 1) / 2]))
        sift_up(c, i);
    else
        sift_down(c, i);
}

static cm_timer *v_start(void *ctx, int64_t delay_ms, cm_timer_cb cb, void *arg)
{
    virtclock *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cm_timer **grown = realloc(c->heap, cap * sizeof *grown);
        if (!grown)
            return NULL;
        c->heap = grown;
        c->cap = cap;
    }
    cm_timer *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    *t = (cm_timer){.deadline = c->now + (delay_ms > 0 ? delay_ms : 0),
                    .order = c->armed++,
                    .cb = cb,
                    .arg = arg};
    place(c, c->n++, t);
    sift_up(c, t->index);
    return t;
}

static void v_cancel(void *ctx, cm_timer *t)
{
    if (!t)
        return;
    heap_remove(ctx, t);
    free(t);
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
    for (size_t i = 0; i < c->n; i++)
        free(c->heap[i]);
    free(c->heap);
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
    return c->n ? c->heap[0]->deadline : INT64_MAX;
}

int cm_virtclock_fire_due(cm_clock *clock)
{
    virtclock *c = clock->ctx;
    int fired = 0;
    while (c->n && c->heap[0]->deadline <= c->now) {
        cm_timer *t = c->heap[0];
        heap_remove(c, t);
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

#define REAL_POLL_MS 100

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

int cm_loop_wait_real(struct event_base *base, int (*state)(void *arg), void *arg, int64_t limit_ms)
{
    struct event *tick = evtimer_new(base, on_tick, NULL);
    if (!tick)
        return -1;
    int64_t deadline = cm_wallclock_ms() + limit_ms;
    int rc;
    while ((rc = state(arg)) == 0) {
        int64_t left = deadline - cm_wallclock_ms();
        if (left <= 0)
            break;
        if (left > REAL_POLL_MS)
            left = REAL_POLL_MS;
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
        evtimer_add(tick, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(tick);
    return rc;
}
