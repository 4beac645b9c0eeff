/* The virtual clock's timers: deadline order, ties in arming order, cancellation (also
 * from inside a callback), at the scale the load model arms them. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "cm_rng.h"
#include "cm_virtclock.h"

#define N 20000

typedef struct fired {
    int64_t deadline[N];
    int armed_as[N];
    int n;
} fired;

typedef struct slot {
    fired *log;
    cm_clock *clock;
    int id;
    int64_t deadline;
    cm_timer *timer;
    struct slot *victim; /* cancelled when this one fires */
} slot;

static void on_fire(void *arg)
{
    slot *s = arg;
    s->timer = NULL;
    s->log->deadline[s->log->n] = s->deadline;
    s->log->armed_as[s->log->n++] = s->id;
    if (s->victim && s->victim->timer) {
        s->clock->timer_cancel(s->clock->ctx, s->victim->timer);
        s->victim->timer = NULL;
    }
}

static slot *arm_random(cm_clock *clock, fired *log, uint64_t seed)
{
    cm_seeded_rng st;
    cm_rng rng = cm_rng_seeded(&st, seed);
    slot *slots = calloc(N, sizeof *slots);
    for (int i = 0; i < N; i++) {
        /* few distinct deadlines: many ties, which must fire in arming order */
        int64_t delay = (int64_t)(cm_rng_unit(&rng) * 500);
        slots[i] = (slot){.log = log, .clock = clock, .id = i, .deadline = 1000 + delay};
        slots[i].timer = clock->timer_start(clock->ctx, delay, on_fire, &slots[i]);
        cr_assert_not_null(slots[i].timer);
    }
    return slots;
}

static void run_all(cm_clock *clock)
{
    int64_t next;
    while ((next = cm_virtclock_next_deadline(clock)) != INT64_MAX) {
        cr_assert_eq(clock->set_ms(clock->ctx, next), 0);
        cr_assert_gt(cm_virtclock_fire_due(clock), 0);
    }
}

Test(virtclock, timers_fire_in_deadline_order_and_ties_in_arming_order)
{
    cm_clock *clock = cm_virtclock_new(1000);
    fired *log = calloc(1, sizeof *log);
    slot *slots = arm_random(clock, log, 7);
    run_all(clock);
    cr_assert_eq(log->n, N);
    for (int i = 1; i < N; i++) {
        cr_assert_leq(log->deadline[i - 1], log->deadline[i]);
        if (log->deadline[i - 1] == log->deadline[i])
            cr_assert_lt(log->armed_as[i - 1], log->armed_as[i]);
    }
    free(slots);
    free(log);
    cm_virtclock_free(clock);
}

Test(virtclock, cancelled_timers_never_fire_also_when_cancelled_by_a_callback)
{
    cm_clock *clock = cm_virtclock_new(1000);
    fired *log = calloc(1, sizeof *log);
    slot *slots = arm_random(clock, log, 11);
    int cancelled = 0;
    for (int i = 0; i < N; i += 3) { /* a third cancelled up front */
        clock->timer_cancel(clock->ctx, slots[i].timer);
        slots[i].timer = NULL;
        cancelled++;
    }
    for (int i = 1; i < N; i += 3) /* others cancelled by whichever fires first */
        slots[i].victim = &slots[(i * 7919) % N];
    run_all(clock);
    char *seen = calloc(N, 1);
    for (int i = 0; i < log->n; i++) {
        int id = log->armed_as[i];
        cr_assert_eq(seen[id], 0, "timer %d fired twice", id);
        seen[id] = 1;
        cr_assert_neq(id % 3, 0, "timer %d was cancelled but fired", id);
    }
    cr_assert_lt(log->n, N - cancelled); /* the callbacks cancelled some more */
    for (int i = 1; i < log->n; i++)
        cr_assert_leq(log->deadline[i - 1], log->deadline[i]);
    free(seen);
    free(slots);
    free(log);
    cm_virtclock_free(clock);
}

Test(virtclock, next_deadline_follows_cancellation_and_free_drops_pending_timers)
{
    cm_clock *clock = cm_virtclock_new(0);
    fired log = {0};
    slot a = {.log = &log, .clock = clock, .deadline = 10};
    slot b = {.log = &log, .clock = clock, .deadline = 20};
    a.timer = clock->timer_start(clock->ctx, 10, on_fire, &a);
    b.timer = clock->timer_start(clock->ctx, 20, on_fire, &b);
    cr_assert_eq(cm_virtclock_next_deadline(clock), 10);
    clock->timer_cancel(clock->ctx, a.timer);
    clock->timer_cancel(clock->ctx, NULL); /* a no-op */
    cr_assert_eq(cm_virtclock_next_deadline(clock), 20);
    cr_assert_eq(clock->set_ms(clock->ctx, 5), 0);
    cr_assert_eq(cm_virtclock_fire_due(clock), 0);
    cr_assert_eq(clock->set_ms(clock->ctx, 4), -1, "virtual time never goes back");
    cm_virtclock_free(clock); /* b is still pending: freed without firing (ASan checks) */
    cr_assert_eq(log.n, 0);
}
