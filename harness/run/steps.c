/* Playing a scenario's steps: the client's through the target's operations, the IdP's
 * directly; and the virtual-clock waits the targets share. */
#include "world.h"

#include <stdlib.h>
#include <string.h>

#define STUCK_REAL_MS 5000
#define WAIT_LIMIT_MS (8LL * 86400 * 1000)

static int no_pending(void *arg)
{
    return ((hr_world *)arg)->pending == 0;
}

/* Run until the step's operations completed (virtual time may pass: retries, backoff). */
int hr_world_wait_ops(hr_world *w, const char *what)
{
    int rc = cm_loop_run(w->base, w->clock, no_pending, w, cm_clock_now(w->clock) + WAIT_LIMIT_MS,
                         STUCK_REAL_MS);
    if (rc == CM_LOOP_DONE) /* and what is due at this instant (events) */
        rc = cm_loop_run(w->base, w->clock, NULL, NULL, cm_clock_now(w->clock), STUCK_REAL_MS);
    if (rc == CM_LOOP_STUCK) {
        snprintf(w->error, sizeof w->error, "%s: requests stayed in flight (no progress)", what);
        return -1;
    }
    if (w->pending) {
        snprintf(w->error, sizeof w->error, "%s did not complete within 8 virtual days", what);
        return -1;
    }
    return 0;
}

int hr_world_advance(hr_world *w, int64_t ms)
{
    int64_t until = cm_clock_now(w->clock) + ms;
    int rc = cm_loop_run(w->base, w->clock, NULL, NULL, until, STUCK_REAL_MS);
    if (rc == CM_LOOP_STUCK) {
        snprintf(w->error, sizeof w->error, "advance: requests stayed in flight");
        return -1;
    }
    w->clock->set_ms(w->clock->ctx, until);
    return 0;
}

void hr_world_outcome(hr_world *w, int status)
{
    json_t *step = json_array_get(w->steps, json_array_size(w->steps) - 1);
    json_object_set_new(step, "outcome", json_string(rc_err_name(status)));
}

/* Steps that act on the IdP directly, as its control API would. */
static int do_idp_step(hr_world *w, const char *what, json_t *step)
{
    char err[300] = "";
    int rc = 0;
    const char *sub = json_string_value(json_object_get(step, "sub"));
    if (!strcmp(what, "fault"))
        rc = idp_server_add_fault(w->idp, json_object_get(step, "rule"), err, sizeof err);
    else if (!strcmp(what, "clear_faults"))
        idp_server_clear_faults(w->idp);
    else if (!strcmp(what, "rotate_keys")) {
        json_t *ov = json_object_get(step, "overlap");
        rc = idp_server_rotate_keys(w->idp, ov ? json_number_value(ov) : -1);
    } else if (!strcmp(what, "revoke_grant"))
        json_decref(idp_server_revoke_grants(w->idp, NULL, sub, NULL));
    else if (!strcmp(what, "end_sessions"))
        json_decref(idp_server_end_sessions(w->idp, sub));
    else if (!strcmp(what, "preset"))
        rc = idp_server_apply_preset(w->idp, json_string_value(json_object_get(step, "name")), err,
                                     sizeof err);
    else if (!strcmp(what, "client"))
        rc = idp_server_patch_client(w->idp, "demo-spa", json_object_get(step, "settings"), err,
                                     sizeof err);
    if (rc != 0)
        snprintf(w->error, sizeof w->error, "%s step: %s", what, err);
    return rc ? -1 : 0;
}

static int play_step(hr_world *w, json_t *step)
{
    const hr_target_ops *t = w->ops;
    const char *what = json_string_value(json_object_get(step, "do"));
    json_t *logged = json_deep_copy(step);
    json_object_set_new(logged, "t", hr_rel(w, cm_clock_now(w->clock)));
    json_array_append_new(w->steps, logged);
    if (!strcmp(what, "login"))
        return t->login(w->target, step);
    if (!strcmp(what, "advance"))
        return t->advance(w->target,
                          (int64_t)(json_number_value(json_object_get(step, "seconds")) * 1000.0));
    if (!strcmp(what, "use"))
        return t->use(w->target, step);
    if (!strcmp(what, "api_call"))
        return t->api_call(w->target, step);
    if (!strcmp(what, "logout"))
        return t->logout(w->target, step);
    if (!strcmp(what, "note"))
        return 0;
    return do_idp_step(w, what, step);
}

int hr_world_play(hr_world *w)
{
    size_t i;
    json_t *step;
    json_array_foreach(json_object_get(w->scn, "steps"), i, step)
    {
        if (play_step(w, step) != 0)
            return -1;
    }
    if (w->ops->finish)
        return w->ops->finish(w->target);
    return w->ops->advance(w->target, 0); /* what is due at the end still happens */
}
