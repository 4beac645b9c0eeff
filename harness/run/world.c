/* Setting up a run (the IdP, the target) and the services targets use (target.h). */
#include "world.h"

#include <event2/event.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

json_t *hr_rel(const hr_world *w, int64_t ms)
{
    int64_t rel = ms - w->start_ms;
    return rel % 1000 ? json_real((double)rel / 1000.0) : json_integer(rel / 1000);
}

/* ---- waiting on the wall clock (browser and real-time exec targets) ----------------- */

typedef struct real_wait {
    hr_world *w;
    hr_wait_state state;
    void *arg;
} real_wait;

static int real_state(void *arg)
{
    real_wait *r = arg;
    return r->state(r->w, r->arg);
}

int hr_world_wait_real(hr_world *w, hr_wait_state state, void *arg, int64_t limit_ms)
{
    real_wait r = {w, state, arg};
    int rc = cm_loop_wait_real(w->base, real_state, &r, limit_ms);
    if (rc < 0 && !*w->error)
        snprintf(w->error, sizeof w->error, "out of memory");
    return rc;
}

/* ---- events ------------------------------------------------------------------------ */

void hr_world_event(hr_world *w, const char *name, json_t *fields)
{
    hr_world_event_at(w, name, fields, cm_clock_now(w->clock));
}

void hr_world_event_at(hr_world *w, const char *name, json_t *fields, int64_t at_ms)
{
    json_t *tab = json_object_get(fields, "tab"); /* a browser tab's events say which */
    json_t *e =
        json_pack("{s:o, s:I, s:s}", "t", hr_rel(w, at_ms), "tab",
                  json_is_integer(tab) ? json_integer_value(tab) : (json_int_t)0, "event", name);
    static const char *const keep[] = {"reason", "method", "transient", "detail"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (json_object_get(fields, keep[i]))
            json_object_set(e, keep[i], json_object_get(fields, keep[i]));
    json_array_append_new(w->events, e);
}

/* ---- setup ---------------------------------------------------------------------------- */

static double num(json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return v ? json_number_value(v) : dflt;
}

double hr_client_num(const hr_world *w, const char *key, double dflt)
{
    return num(json_object_get(w->scn, "client"), key, dflt);
}

/* issuer_suffix: the client is configured with another issuer than the IdP reports */
static void set_client_issuer(hr_world *w)
{
    const char *suffix =
        json_string_value(json_object_get(json_object_get(w->scn, "client"), "issuer_suffix"));
    snprintf(w->client_issuer, sizeof w->client_issuer, "%s%s", idp_server_issuer(w->idp),
             suffix ? suffix : "");
}

/* One RSA key per process: generating one per run would cost more than the run. */
static EVP_PKEY *shared_signing_key(void)
{
    static EVP_PKEY *key;
    if (!key)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return key;
}

static int setup_idp(hr_world *w, json_t *scn, uint64_t seed)
{
    idp_config *cfg = NULL;
    char err[300];
    json_t *idp = json_object_get(scn, "idp");
    /* browsers: the IdP on another site than the app (localhost vs 127.0.0.1), with a
     * cookie a cross-site iframe may carry (docs/browser.md) */
    idp_options opts = {.signing_key = shared_signing_key(),
                        .issuer = w->ops->cross_site ? "http://localhost:{port}" : NULL};
    json_t *top = json_pack("{s:O*}", "discovery_omit", json_object_get(idp, "discovery_omit"));
    if (w->ops->cross_site)
        json_object_set_new(top, "cookie",
                            json_pack("{s:s, s:b}", "same_site", "None", "secure", 1));
    if (idp_config_demo(&cfg) == 0 && idp_config_set(cfg, top, err, sizeof err) != 0) {
        idp_config_free(cfg);
        cfg = NULL;
    }
    json_decref(top);
    if (!cfg ||
        idp_server_new(w->base, w->clock, cm_rng_seeded(&w->idp_rng, seed), cfg, &opts, &w->idp,
                       err, sizeof err) != 0 ||
        idp_server_listen(w->idp, "127.0.0.1", 0, err, sizeof err) != 0) {
        snprintf(w->error, sizeof w->error, "mock IdP: %s", err);
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(idp, "presets"), i, v)
    {
        idp_server_apply_preset(w->idp, json_string_value(v), err, sizeof err);
    }
    json_t *settings = json_object_get(idp, "client");
    if (settings)
        idp_server_patch_client(w->idp, "demo-spa", settings, err, sizeof err);
    json_array_foreach(json_object_get(scn, "faults"), i, v)
    {
        idp_server_add_fault(w->idp, v, err, sizeof err);
    }
    return 0;
}

int hr_world_init(hr_world *w, json_t *scn, const hr_target_ref *ref, uint64_t seed, int real)
{
    memset(w, 0, sizeof *w);
    w->scn = scn;
    w->seed = seed;
    w->ops = ref->ops;
    w->real_time = real;
    w->events = json_array();
    w->steps = json_array();
    json_t *cl = json_object_get(scn, "client");
    int64_t start = (int64_t)(num(scn, "start", (double)HR_DEFAULT_START) * 1000);
    w->start_ms = start;
    w->client_offset_ms = (int64_t)(num(cl, "clock_offset", 0) * 1000);
    const char *cookies = json_string_value(json_object_get(cl, "silent_cookies"));
    w->cookies_blocked = cookies && !strcmp(cookies, "blocked");
    w->base = event_base_new();
    w->clock = !w->base ? NULL : w->real_time ? cm_realclock_new(w->base) : cm_virtclock_new(start);
    if (!w->clock || rc_transport_evhttp_new(w->base, w->clock, NULL, &w->http) != RC_OK) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return -1;
    }
    if (w->real_time)
        w->start_ms = cm_clock_now(w->clock);
    if (setup_idp(w, scn, seed) != 0)
        return -1;
    set_client_issuer(w);
    return w->ops->open(w, ref->arg, &w->target);
}

void hr_world_dispose(hr_world *w)
{
    if (w->ops) /* the target first: it talks to the IdP */
        w->ops->close(w->target);
    w->target = NULL;
    if (w->http.ctx)
        rc_transport_evhttp_free(&w->http);
    idp_server_free(w->idp);
    if (w->clock && w->real_time)
        cm_realclock_free(w->clock);
    else
        cm_virtclock_free(w->clock);
    if (w->base)
        event_base_free(w->base);
    json_decref(w->events);
    json_decref(w->steps);
}
