/* Setting up a run (IdP, tabs, shared store, skewed clocks) and playing its steps. */
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

/* ---- a party's view of the shared clock (client clock skew) ------------------------ */

static int64_t tab_now(void *ctx)
{
    hr_tab *t = ctx;
    return cm_clock_now(t->w->clock) + t->w->client_offset_ms;
}

static int tab_set(void *ctx, int64_t now)
{
    hr_tab *t = ctx;
    return t->w->clock->set_ms(t->w->clock->ctx, now - t->w->client_offset_ms);
}

static cm_timer *tab_start(void *ctx, int64_t delay, cm_timer_cb cb, void *arg)
{
    cm_clock *c = ((hr_tab *)ctx)->w->clock;
    return c->timer_start(c->ctx, delay, cb, arg);
}

static void tab_cancel(void *ctx, cm_timer *t)
{
    cm_clock *c = ((hr_tab *)ctx)->w->clock;
    c->timer_cancel(c->ctx, t);
}

static void tab_inflight(void *ctx, int delta)
{
    cm_clock *c = ((hr_tab *)ctx)->w->clock;
    c->inflight(c->ctx, delta);
}

/* ---- waiting on the wall clock (browser and real-time exec targets) ----------------- */

#define REAL_POLL_MS 100

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

int hr_world_wait_real(hr_world *w, hr_wait_state state, void *arg, int64_t limit_ms)
{
    struct event *tick = evtimer_new(w->base, on_tick, NULL);
    if (!tick) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return -1;
    }
    int64_t deadline = cm_wallclock_ms() + limit_ms;
    int rc;
    while ((rc = state(w, arg)) == 0) {
        int64_t left = deadline - cm_wallclock_ms();
        if (left <= 0)
            break;
        if (left > REAL_POLL_MS) /* wake up to notice a child process that died */
            left = REAL_POLL_MS;
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
        evtimer_add(tick, &tv);
        event_base_loop(w->base, EVLOOP_ONCE);
    }
    event_free(tick);
    return rc;
}

/* ---- events ------------------------------------------------------------------------ */

void hr_world_event(hr_world *w, const char *name, json_t *fields)
{
    hr_world_event_at(w, name, fields, cm_clock_now(w->clock));
}

void hr_world_event_at(hr_world *w, const char *name, json_t *fields, int64_t at_ms)
{
    json_t *e = json_pack("{s:o, s:i, s:s}", "t", hr_rel(w, at_ms), "tab", 0, "event", name);
    static const char *const keep[] = {"reason", "method", "transient", "detail"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (json_object_get(fields, keep[i]))
            json_object_set(e, keep[i], json_object_get(fields, keep[i]));
    json_array_append_new(w->events, e);
}

static const char *const EVENT_NAMES[] = {
    "logged_in",  "renewed", "renew_failed", "session_lost", "interaction_required",
    "logged_out", "request"};

static void on_event(void *arg, const rc_event *ev)
{
    hr_tab *t = arg;
    if (ev->type == RC_EV_REQUEST)
        return;
    json_t *e = json_pack("{s:o, s:i, s:s}", "t", hr_rel(t->w, cm_clock_now(t->w->clock)), "tab",
                          t->index, "event", EVENT_NAMES[ev->type]);
    if (ev->status)
        json_object_set_new(e, "reason", json_string(rc_err_name(ev->status)));
    if (ev->type == RC_EV_RENEW_FAILED)
        json_object_set_new(e, "transient", json_boolean(ev->transient));
    if (ev->method)
        json_object_set_new(e, "method", json_string(ev->method));
    if (ev->detail)
        json_object_set_new(e, "detail", json_string(ev->detail));
    json_array_append_new(t->w->events, e);
}

/* ---- prompt=none as an iframe does it: the IdP session cookie, then the redirect ----- */

/* The page's own timeout runs from the start, as an iframe's does: an answer after it (a
 * late redirect) is ignored; a page instead of a redirect (prompt=none ignored, framing
 * refused) is only noticed through it. */
typedef struct silent_call {
    hr_tab *tab;
    rc_silent_done done;
    void *done_arg;
    cm_timer *timer;
    int answered, timed_out;
} silent_call;

static void silent_timeout(void *arg)
{
    silent_call *s = arg;
    s->timer = NULL;
    s->timed_out = 1;
    s->done(s->done_arg, NULL, RC_ETIMEOUT); /* the frame never posted back */
    if (s->answered)
        free(s);
}

static void on_silent_answer(void *arg, int err, const rc_http_response *r)
{
    silent_call *s = arg;
    s->answered = 1;
    if (s->timed_out) { /* too late: the client gave up on this frame */
        free(s);
        return;
    }
    if (!err && r->status == 302 && r->location) {
        cm_clock *c = s->tab->w->clock;
        c->timer_cancel(c->ctx, s->timer);
        s->done(s->done_arg, r->location, 0);
        free(s);
    }
}

static int core_silent(void *arg, const char *url, rc_silent_done done, void *done_arg)
{
    hr_tab *t = arg;
    silent_call *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    *s = (silent_call){.tab = t, .done = done, .done_arg = done_arg};
    int64_t timeout = (int64_t)(json_number_value(json_object_get(
                                    json_object_get(t->w->scn, "client"), "request_timeout")) *
                                1000);
    cm_clock *c = t->w->clock;
    s->timer = c->timer_start(c->ctx, timeout > 0 ? timeout : 10000, silent_timeout, s);
    rc_http_request rq = {.method = "GET",
                          .url = url,
                          .cookie = t->w->cookies_blocked || !*t->w->cookie ? NULL : t->w->cookie};
    void *handle;
    if (t->w->http.send(t->w->http.ctx, &rq, on_silent_answer, s, &handle) != RC_OK) {
        c->timer_cancel(c->ctx, s->timer);
        free(s);
        return -1;
    }
    return 0;
}

/* ---- setup ---------------------------------------------------------------------------- */

static double num(json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return v ? json_number_value(v) : dflt;
}

static unsigned misbehave_flags(json_t *list)
{
    static const struct {
        const char *name;
        unsigned flag;
    } map[] = {{"no_single_flight", RC_BAD_NO_SINGLE_FLIGHT},
               {"retry_invalid_grant", RC_BAD_RETRY_INVALID_GRANT},
               {"no_revoke", RC_BAD_NO_REVOKE},
               {"keep_old_refresh", RC_BAD_KEEP_OLD_REFRESH},
               {"renew_after_expiry", RC_BAD_RENEW_AFTER_EXPIRY},
               {"no_backoff", RC_BAD_NO_BACKOFF},
               {"skip_id_token_checks", RC_BAD_SKIP_ID_TOKEN_CHECKS}};
    unsigned flags = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) for (size_t k = 0; k < sizeof map / sizeof map[0];
                                        k++) if (!strcmp(json_string_value(v), map[k].name))
        flags |= map[k].flag;
    return flags;
}

static rc_config client_config(hr_world *w, json_t *cl)
{
    /* issuer_suffix: the client is configured with another issuer than the IdP reports */
    const char *suffix = json_string_value(json_object_get(cl, "issuer_suffix"));
    snprintf(w->client_issuer, sizeof w->client_issuer, "%s%s", idp_server_issuer(w->idp),
             suffix ? suffix : "");
    rc_config cfg = {
        .issuer = w->client_issuer,
        .client_id = json_string_value(json_object_get(cl, "client_id"))
                         ? json_string_value(json_object_get(cl, "client_id"))
                         : "demo-spa",
        .redirect_uri = "http://127.0.0.1:8080/callback",
        .scope = json_string_value(json_object_get(cl, "scope"))
                     ? json_string_value(json_object_get(cl, "scope"))
                     : "openid profile offline_access api",
        .renew_before_ms = (int64_t)(num(cl, "renew_before", 60) * 1000),
        .jitter_ms = (int64_t)(num(cl, "jitter", 0) * 1000),
        .min_interval_ms = (int64_t)(num(cl, "min_interval", 5) * 1000),
        .request_timeout_ms = (int64_t)(num(cl, "request_timeout", 10) * 1000),
        .max_retries = (int)num(cl, "max_retries", 4),
        .backoff_initial_ms = (int64_t)(num(cl, "backoff_initial", 1) * 1000),
        .backoff_max_ms = (int64_t)(num(cl, "backoff_max", 60) * 1000),
        .clock_skew_ms = (int64_t)(num(cl, "clock_skew", 60) * 1000),
        .revoke_on_logout = json_is_false(json_object_get(cl, "revoke_on_logout")) ? -1 : 1,
        .misbehave = misbehave_flags(json_object_get(cl, "misbehave")),
    };
    json_t *methods = json_object_get(cl, "methods");
    size_t i;
    json_t *m;
    json_array_foreach(methods, i, m) cfg.methods |=
        !strcmp(json_string_value(m), "refresh") ? RC_METHOD_REFRESH : RC_METHOD_SILENT;
    if (!cfg.methods) /* a scenario's client renews with refresh tokens unless it says so */
        cfg.methods = RC_METHOD_REFRESH;
    return cfg;
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
                        .issuer = w->browser ? "http://localhost:{port}" : NULL};
    json_t *top = json_pack("{s:O*}", "discovery_omit", json_object_get(idp, "discovery_omit"));
    if (w->browser)
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

static int setup_tabs(hr_world *w, json_t *cl, uint64_t seed)
{
    rc_config cfg = client_config(w, cl);
    json_t *tabs = json_object_get(cl, "tabs");
    w->ntabs = tabs ? (int)json_integer_value(tabs) : 1;
    for (int i = 0; i < w->ntabs; i++) {
        hr_tab *t = &w->tabs[i];
        t->w = w;
        t->index = i;
        t->clock = (cm_clock){tab_now, tab_set, tab_start, tab_cancel, tab_inflight, t};
        rc_env env = {.base = w->base,
                      .clock = &t->clock,
                      .rng = cm_rng_seeded(&t->rng, seed * 31 + (uint64_t)i + 1),
                      .store = rc_memory_store_iface(w->store),
                      .on_event = on_event,
                      .event_arg = t,
                      .silent = core_silent,
                      .silent_arg = t};
        if (rc_client_new(&cfg, &env, &t->client) != RC_OK) {
            snprintf(w->error, sizeof w->error, "cannot make renew_core client %d", i);
            return -1;
        }
    }
    return 0;
}

int hr_world_init(hr_world *w, json_t *scn, const char *target, uint64_t seed, int exec_real)
{
    memset(w, 0, sizeof *w);
    w->scn = scn;
    w->target = target;
    w->browser = strcmp(target, "core") != 0 && strncmp(target, "exec:", 5) != 0;
    w->real_time = exec_real; /* browsers run on virtual time too (page.c) */
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
    w->store = rc_memory_store_new();
    if (!w->clock || !w->store ||
        rc_transport_evhttp_new(w->base, w->clock, NULL, &w->http) != RC_OK) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return -1;
    }
    if (w->real_time)
        w->start_ms = cm_clock_now(w->clock);
    if (setup_idp(w, scn, seed) != 0)
        return -1;
    if (w->browser)
        return hr_page_open(w);
    if (!strncmp(target, "exec:", 5)) {
        client_config(w, cl); /* the issuer the client is given (issuer_suffix) */
        return hr_exec_open(w, target + 5);
    }
    return setup_tabs(w, cl, seed);
}

void hr_world_dispose(hr_world *w)
{
    hr_page_close(w); /* the browser first: it talks to the IdP */
    hr_exec_close(w);
    for (int i = 0; i < w->ntabs; i++)
        rc_client_free(w->tabs[i].client);
    if (w->http.ctx)
        rc_transport_evhttp_free(&w->http);
    idp_server_free(w->idp);
    rc_memory_store_free(w->store);
    if (w->clock && w->real_time)
        cm_realclock_free(w->clock);
    else
        cm_virtclock_free(w->clock);
    json_decref(w->console);
    if (w->base)
        event_base_free(w->base);
    json_decref(w->events);
    json_decref(w->steps);
}
