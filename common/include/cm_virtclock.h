/* A virtual clock for deterministic runs: time moves only when the driver jumps it to
 * the next timer deadline, after real I/O has settled (docs/architecture.md, "The virtual clock and
 * its quiescence rule"). */
#ifndef CM_VIRTCLOCK_H
#define CM_VIRTCLOCK_H

#include <stdint.h>

#include "cm_clock.h"

struct event_base;

/** A virtual clock starting at @p start_ms. Returns a clock to own, or NULL. */
cm_clock *cm_virtclock_new(int64_t start_ms);
/** Free it; pending timers are dropped without firing. NULL is a no-op. */
void cm_virtclock_free(cm_clock *clock);
/** Requests in flight (the sum of inflight(+1/-1) calls). */
int cm_virtclock_inflight(const cm_clock *clock);
/** A party outside the request accounting (an exec adapter) starts (+1) or ends (-1) work
 * at the current instant; time does not move while any party is busy. */
void cm_virtclock_busy(cm_clock *clock, int delta);
/** The earliest pending deadline, or INT64_MAX when no timer is pending. */
int64_t cm_virtclock_next_deadline(const cm_clock *clock);
/** Fire every timer due at the current time, in deadline order (ties: arming order).
 * Returns how many fired. */
int cm_virtclock_fire_due(cm_clock *clock);

/** Why cm_loop_run stopped. */
enum cm_loop_status { CM_LOOP_DONE = 0, CM_LOOP_IDLE = 1, CM_LOOP_LIMIT = 2, CM_LOOP_STUCK = 3 };

/** The discrete-event driver: run @p base without blocking until no request is in flight
 * and no event is ready, then jump the clock to the next deadline and fire it; repeat
 * until @p done(arg) is true (CM_LOOP_DONE), nothing is left to do (CM_LOOP_IDLE), the
 * clock would pass @p until_ms (CM_LOOP_LIMIT), or requests stay in flight without
 * progress for @p stuck_real_ms of real time (CM_LOOP_STUCK). */
int cm_loop_run(struct event_base *base, cm_clock *clock, int (*done)(void *arg), void *arg,
                int64_t until_ms, int64_t stuck_real_ms);

/** Serve @p base on the wall clock until @p state(arg) is nonzero (returned: 1 done, -1
 * failed) or @p limit_ms of real time pass (0). It wakes at least every 100 ms to look
 * again (a child process that died says so only when looked at). */
int cm_loop_wait_real(struct event_base *base, int (*state)(void *arg), void *arg,
                      int64_t limit_ms);

#endif
