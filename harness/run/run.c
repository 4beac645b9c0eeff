/* One scenario against one target: play, collect, judge. */
#include <stdlib.h>
#include <string.h>

#include "cm_clock.h"
#include "harness.h"
#include "world.h"

/* The deterministic part of the trace, times relative to the run's start. */
static json_t *deterministic_trace(hr_world *w)
{
    json_t *out = json_array(), *entries = idp_server_trace(w->idp);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        json_t *c = json_deep_copy(e);
        json_object_del(c, "real_time");
        json_object_del(c, "latency");
        json_object_set_new(
            c, "t",
            hr_rel(w, (int64_t)(json_number_value(json_object_get(e, "t")) * 1000.0 + 0.5)));
        json_array_append_new(out, c);
    }
    json_decref(entries);
    return out;
}

static json_t *base_result(json_t *scn, const char *target)
{
    return json_pack("{s:O, s:O, s:s, s:O, s:O}", "scenario", json_object_get(scn, "id"), "title",
                     json_object_get(scn, "title"), "target", target, "teaches",
                     json_object_get(scn, "teaches"), "refs", json_object_get(scn, "refs"));
}

int hr_scenario_applies(json_t *scn, const char *target)
{
    hr_target_ref ref;
    char err[300];
    if (hr_target_resolve(target, &ref, err, sizeof err) != 0)
        return 0;
    const char *name = ref.ops->catalogue(ref.arg), *group = ref.ops->group;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(scn, "targets"), i, t)
    {
        const char *s = json_string_value(t);
        if (!strcmp(s, name) || (group && !strcmp(s, group)))
            return 1;
    }
    return 0;
}

static json_t *skipped(json_t *r, const char *why)
{
    json_object_set_new(r, "verdict", json_string("skip"));
    json_object_set_new(r, "reason", json_string(why));
    return r;
}

/* Open the world against the target: 0 ready, 1 skipped (w->skip), -1 broken. A target
 * whose client reads the wall clock is opened again on it. */
static int open_world(hr_world *w, json_t *scn, const hr_target_ref *ref, uint64_t seed)
{
    int real = 0;
    for (;;) {
        int rc = hr_world_init(w, scn, ref, seed, real);
        if (rc < 0)
            return -1;
        char buf[200];
        const char *why = hr_caps_missing(w->ops->caps(w->target), scn, buf, sizeof buf);
        if (why)
            snprintf(w->skip, sizeof w->skip, "%s", why);
        if (why || rc == HR_OPEN_SKIP)
            return 1;
        if (rc != HR_OPEN_REAL || real)
            return 0;
        hr_world_dispose(w);
        real = 1;
    }
}

static void judged(hr_world *w, json_t *scn, json_t *r)
{
    json_t *trace = deterministic_trace(w);
    int failed;
    json_t *checks = hr_judge(scn, trace, w->events, w->steps, &failed);
    json_object_set_new(r, "verdict", json_string(failed ? "fail" : "pass"));
    json_object_set_new(r, "checks", checks);
    json_object_set_new(r, "figures", hr_figures(trace, w->events));
    json_object_set_new(r, "trace", trace);
    json_object_set(r, "events", w->events);
    json_object_set(r, "steps", w->steps);
    json_object_set_new(r, "end", hr_rel(w, cm_clock_now(w->clock)));
}

static const char *const CLOCK_NAMES[] = {NULL, "browser-virtual", "wall"};

json_t *hr_run(json_t *scn, const char *target, uint64_t seed)
{
    json_t *r = base_result(scn, target);
    int64_t wall = cm_wallclock_ms();
    hr_target_ref ref;
    char err[300];
    if (!hr_scenario_applies(scn, target) || hr_target_resolve(target, &ref, err, sizeof err))
        return skipped(r, "the scenario does not apply to it");
    hr_world w;
    int rc = open_world(&w, scn, &ref, seed);
    if (rc == 1) {
        skipped(r, w.skip);
        hr_world_dispose(&w);
        return r;
    }
    if (rc == 0)
        rc = hr_world_play(&w);
    if (rc != 0) {
        json_object_set_new(r, "verdict", json_string("error"));
        json_object_set_new(r, "reason", json_string(w.error));
        json_object_set(r, "events", w.events); /* what happened up to the failure */
        json_object_set(r, "steps", w.steps);
    } else {
        judged(&w, scn, r);
    }
    if (w.ops->report)
        w.ops->report(w.target, r);
    hr_clock_kind clock = w.target ? w.ops->clock(w.target) : HR_CLOCK_VIRTUAL;
    if (CLOCK_NAMES[clock])
        json_object_set_new(r, "clock", json_string(CLOCK_NAMES[clock]));
    hr_world_dispose(&w);
    hr_findings_annotate(r);
    json_object_set_new(r, "wall_ms", json_integer(cm_wallclock_ms() - wall));
    return r;
}
