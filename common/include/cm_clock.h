/* The one time interface of renewlab: "now", timers and in-flight accounting.
 * Nothing else reads the wall clock or arms a libevent timer directly (docs/architecture.md). */
#ifndef CM_CLOCK_H
#define CM_CLOCK_H

#include <stdint.h>

#include "cm_export.h"

struct event_base;

typedef struct cm_timer cm_timer;
typedef void (*cm_timer_cb)(void *arg);

/** A clock implementation: function table plus its context (borrowed by users). */
typedef struct cm_clock {
    /** Current time in milliseconds since the Unix epoch (virtual or real). */
    int64_t (*now_ms)(void *ctx);
    /** Move the clock to @p now_ms. Returns 0, or -1 when the clock cannot go there. */
    int (*set_ms)(void *ctx, int64_t now_ms);
    /** Arm a one-shot timer firing @p delay_ms from now. Returns NULL on allocation failure;
     * then @p cb is never called. The timer frees itself after firing. */
    cm_timer *(*timer_start)(void *ctx, int64_t delay_ms, cm_timer_cb cb, void *arg);
    /** Cancel a timer that has not fired yet; @p cb is then never called. NULL is a no-op. */
    void (*timer_cancel)(void *ctx, cm_timer *timer);
    /** Count requests in flight (+1 when one starts, -1 when it ends); a virtual clock
     * only jumps forward when nothing is in flight. May be NULL. */
    void (*inflight)(void *ctx, int delta);
    void *ctx;
} cm_clock;

static inline int64_t cm_clock_now(const cm_clock *c)
{
    return c->now_ms(c->ctx);
}

/** The production clock: real time plus an adjustable offset; timers on @p base.
 * Returns a clock to own (free with cm_realclock_free), or NULL on allocation failure. */
CM_EXTERN cm_clock *cm_realclock_new(struct event_base *base);
/** Free a clock made by cm_realclock_new; pending timers are cancelled. NULL is a no-op. */
CM_EXTERN void cm_realclock_free(cm_clock *clock);

/** The wall clock in milliseconds; only for real-time fields (trace latency, logs). */
CM_EXTERN int64_t cm_wallclock_ms(void);

#endif
