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
    if (!strncmp(target, "exec:", 5)) /* a client under test runs the core catalogue */
        target = "core";
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(scn, "targets"), i,
                       t) if (!strcmp(json_string_value(t), target)) return 1;
    return 0;
}

json_t *hr_run(json_t *scn, const char *target, uint64_t seed)
{
    json_t *r = base_result(scn, target);
    int64_t wall = cm_wallclock_ms();
    if (!hr_scenario_applies(scn, target)) {
        json_object_set_new(r, "verdict", json_string("skip"));
        json_object_set_new(r, "reason", json_string("the scenario does not apply to it"));
        return r;
    }
    hr_world w;
    int rc = hr_world_init(&w, scn, target, seed, 0);
    if (rc == 0 && w.want_real) { /* the adapter reads the wall clock: again, in real time */
        hr_world_dispose(&w);
        rc = hr_world_init(&w, scn, target, seed, 1);
    }
    if (rc == 0 && *w.skip) {
        json_object_set_new(r, "verdict", json_string("skip"));
        json_object_set_new(r, "reason", json_string(w.skip));
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
        json_t *trace = deterministic_trace(&w);
        int failed;
        json_t *checks = hr_judge(scn, trace, w.events, w.steps, &failed);
        json_object_set_new(r, "verdict", json_string(failed ? "fail" : "pass"));
        json_object_set_new(r, "checks", checks);
        json_object_set_new(r, "figures", hr_figures(trace, w.events));
        json_object_set_new(r, "trace", trace);
        json_object_set(r, "events", w.events);
        json_object_set(r, "steps", w.steps);
        json_object_set_new(r, "end", hr_rel(&w, cm_clock_now(w.clock)));
    }
    if (w.browser) {
        hr_page_close(&w); /* keeps the browser's console for the report */
        json_object_set_new(r, "console", w.console ? json_incref(w.console) : json_array());
        json_object_set_new(r, "browser_launched", json_boolean(w.browser_launched));
    }
    if (w.real_time || w.browser)
        json_object_set_new(r, "clock", json_string(w.browser ? "browser-virtual" : "wall"));
    hr_world_dispose(&w);
    hr_findings_annotate(r);
    json_object_set_new(r, "wall_ms", json_integer(cm_wallclock_ms() - wall));
    return r;
}
