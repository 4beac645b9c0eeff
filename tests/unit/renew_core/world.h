/* An in-process world for renew_core integration tests: the real mock IdP serving HTTP on
 * loopback and one or more renew_core clients, all on one event loop and one virtual
 * clock driven by cm_loop_run (the harness's model). */
#ifndef TEST_WORLD_H
#define TEST_WORLD_H

#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "cm_virtclock.h"
#include "idp_int.h"
#include "renew_core.h"

#define WORLD_START_MS 1800000000000LL
#define MAX_EVENTS 4096

typedef struct recorded {
    rc_event_type type;
    int64_t t;
    int status, transient;
} recorded;

typedef struct world {
    struct event_base *base;
    cm_clock *clock;
    cm_seeded_rng idp_rng, rc_rng;
    idp_server *idp;
    rc_memory_store *store;
    rc_client *client;
    recorded events[MAX_EVENTS];
    int n_events;
    int done, status; /* completion of the last operation */
} world;

static void w_record(void *arg, const rc_event *ev)
{
    world *w = arg;
    if (ev->type == RC_EV_REQUEST || w->n_events >= MAX_EVENTS)
        return;
    w->events[w->n_events++] = (recorded){ev->type, ev->time_ms, ev->status, ev->transient};
}

static void w_done(void *arg, int status)
{
    world *w = arg;
    w->done = 1;
    w->status = status;
}

static int w_is_done(void *arg)
{
    return ((world *)arg)->done;
}

/* Run until the last operation completed; its status. */
static inline int w_wait(world *w)
{
    int rc = cm_loop_run(w->base, w->clock, w_is_done, w, INT64_MAX, 5000);
    cr_assert_eq(rc, CM_LOOP_DONE, "the operation never completed (loop status %d)", rc);
    /* and whatever is due at this instant (events are delivered from a 0-delay timer) */
    cm_loop_run(w->base, w->clock, NULL, NULL, cm_clock_now(w->clock), 5000);
    w->done = 0;
    return w->status;
}

/* Let @p ms of virtual time pass, with everything due in it happening. */
static inline void w_advance(world *w, int64_t ms)
{
    int64_t until = cm_clock_now(w->clock) + ms;
    int rc = cm_loop_run(w->base, w->clock, NULL, NULL, until, 5000);
    cr_assert_neq(rc, CM_LOOP_STUCK, "requests stayed in flight");
    w->clock->set_ms(w->clock->ctx, until);
}

static inline void w_patch_client(world *w, const char *json)
{
    char err[256];
    json_t *patch = json_loads(json, 0, NULL);
    cr_assert_eq(Idp_client_patch(w->idp->cfg, "demo-spa", patch, err, sizeof err), 0, "%s", err);
    json_decref(patch);
}

static inline void w_fault(world *w, const char *json)
{
    char err[256];
    json_t *rule = json_loads(json, 0, NULL);
    cr_assert_not_null(rule, "rule JSON: %s", json);
    cr_assert_eq(Idp_faults_add(w->idp, rule, err, sizeof err, NULL), 0, "%s", err);
    json_decref(rule);
}

static inline void w_init(world *w, const rc_config *overrides)
{
    memset(w, 0, sizeof *w);
    w->base = event_base_new();
    w->clock = cm_virtclock_new(WORLD_START_MS);
    idp_config *cfg;
    char err[256];
    cr_assert_eq(idp_config_demo(&cfg), 0);
    cr_assert_eq(idp_server_new(w->base, w->clock, cm_rng_seeded(&w->idp_rng, 1), cfg, NULL,
                                &w->idp, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(idp_server_listen(w->idp, "127.0.0.1", 0, err, sizeof err), 0, "%s", err);
    w->store = rc_memory_store_new();
    rc_config rc = overrides ? *overrides : (rc_config){0};
    rc.issuer = idp_server_issuer(w->idp);
    rc.client_id = rc.client_id ? rc.client_id : "demo-spa";
    rc.redirect_uri = "http://127.0.0.1:8080/callback";
    rc_env env = {.base = w->base,
                  .clock = w->clock,
                  .rng = cm_rng_seeded(&w->rc_rng, 2),
                  .store = rc_memory_store_iface(w->store),
                  .on_event = w_record,
                  .event_arg = w};
    cr_assert_eq(rc_client_new(&rc, &env, &w->client), RC_OK);
    cr_assert_eq(rc_client_start(w->client, w_done, w), RC_OK);
    cr_assert_eq(w_wait(w), RC_OK, "discovery and JWKS");
}

/* A session at the IdP (as /_mock/login makes) and the code flow with it. */
static inline int w_login(world *w, const char *sub)
{
    idp_session *sess = Idp_session_create(w->idp, sub, cm_clock_now(w->clock));
    char cookie[300];
    snprintf(cookie, sizeof cookie, "%s=%s", w->idp->cfg->cookie.name, sess->cookie);
    cr_assert_eq(rc_client_login_with_cookie(w->client, cookie, w_done, w), RC_OK);
    return w_wait(w);
}

static inline void w_free(world *w)
{
    rc_client_free(w->client);
    rc_memory_store_free(w->store);
    idp_server_free(w->idp);
    cm_virtclock_free(w->clock);
    event_base_free(w->base);
}

/* Trace entries of the IdP for @p endpoint (and grant type, when given). */
static inline int w_count(world *w, const char *endpoint, const char *grant)
{
    int n = 0;
    size_t i;
    json_t *e, *entries = Idp_trace_snapshot(&w->idp->trace);
    json_array_foreach(entries, i, e)
    {
        const char *ep = json_string_value(json_object_get(e, "endpoint"));
        const char *gt = json_string_value(json_object_get(e, "grant_type"));
        if (ep && !strcmp(ep, endpoint) && (!grant || (gt && !strcmp(gt, grant))))
            n++;
    }
    json_decref(entries);
    return n;
}

static inline int w_events(world *w, rc_event_type type)
{
    int n = 0;
    for (int i = 0; i < w->n_events; i++)
        n += w->events[i].type == type;
    return n;
}

static inline int w_reuse_detected(world *w)
{
    size_t i;
    json_t *e, *entries = Idp_trace_snapshot(&w->idp->trace);
    int found = 0;
    json_array_foreach(entries, i, e) found |= json_object_get(e, "reuse_detected") != NULL;
    json_decref(entries);
    return found;
}

/* The IdP trace so far (new reference). */
static inline json_t *w_trace(world *w)
{
    return Idp_trace_snapshot(&w->idp->trace);
}

/* For failure messages: the IdP trace and the client events, on stderr. */
static inline void w_dump(world *w)
{
    size_t i;
    json_t *e, *entries = Idp_trace_snapshot(&w->idp->trace);
    json_array_foreach(entries, i, e)
    {
        fprintf(stderr, "  t=%+.3f %s %s %s %lld %s\n",
                json_number_value(json_object_get(e, "t")) - WORLD_START_MS / 1000.0,
                json_string_value(json_object_get(e, "endpoint")),
                json_string_value(json_object_get(e, "grant_type")) ?: "",
                json_string_value(json_object_get(e, "presented")) ?: "",
                (long long)json_integer_value(json_object_get(e, "status")),
                json_string_value(json_object_get(e, "error")) ?: "");
    }
    json_decref(entries);
    for (int k = 0; k < w->n_events; k++)
        fprintf(stderr, "  event %d at %+.3f status %s transient %d\n", w->events[k].type,
                (w->events[k].t - WORLD_START_MS) / 1000.0, rc_err_name(w->events[k].status),
                w->events[k].transient);
}

#endif
