/* The core target: renew_core in process, one client per tab sharing a store, on the
 * run's event loop and virtual clock (each tab sees it with the client's clock offset).
 * Silent renewal goes to the IdP as an iframe's would: the session cookie, then the
 * redirect. */
#include <stdlib.h>
#include <string.h>

#include "target.h"

#define CORE_MAX_TABS 4

typedef struct core core;

typedef struct core_tab {
    core *c;
    int index;
    cm_clock clock; /* the shared clock seen with this party's offset */
    cm_seeded_rng rng;
    rc_client *client;
} core_tab;

struct core {
    hr_world *w;
    rc_memory_store *store;
    core_tab tabs[CORE_MAX_TABS];
    int ntabs;
};

/* ---- a party's view of the shared clock (client clock skew) ------------------------ */

static int64_t tab_now(void *ctx)
{
    hr_world *w = ((core_tab *)ctx)->c->w;
    return cm_clock_now(w->clock) + w->client_offset_ms;
}

static int tab_set(void *ctx, int64_t now)
{
    hr_world *w = ((core_tab *)ctx)->c->w;
    return w->clock->set_ms(w->clock->ctx, now - w->client_offset_ms);
}

static cm_timer *tab_start(void *ctx, int64_t delay, cm_timer_cb cb, void *arg)
{
    cm_clock *c = ((core_tab *)ctx)->c->w->clock;
    return c->timer_start(c->ctx, delay, cb, arg);
}

static void tab_cancel(void *ctx, cm_timer *t)
{
    cm_clock *c = ((core_tab *)ctx)->c->w->clock;
    c->timer_cancel(c->ctx, t);
}

static void tab_inflight(void *ctx, int delta)
{
    cm_clock *c = ((core_tab *)ctx)->c->w->clock;
    c->inflight(c->ctx, delta);
}

/* ---- events ------------------------------------------------------------------------ */

static const char *const EVENT_NAMES[] = {
    "logged_in",  "renewed", "renew_failed", "session_lost", "interaction_required",
    "logged_out", "request"};

static void on_event(void *arg, const rc_event *ev)
{
    core_tab *t = arg;
    hr_world *w = t->c->w;
    if (ev->type == RC_EV_REQUEST)
        return;
    json_t *e = json_pack("{s:o, s:i, s:s}", "t", hr_rel(w, cm_clock_now(w->clock)), "tab",
                          t->index, "event", EVENT_NAMES[ev->type]);
    if (ev->status)
        json_object_set_new(e, "reason", json_string(rc_err_name(ev->status)));
    if (ev->type == RC_EV_RENEW_FAILED)
        json_object_set_new(e, "transient", json_boolean(ev->transient));
    if (ev->method)
        json_object_set_new(e, "method", json_string(ev->method));
    if (ev->detail)
        json_object_set_new(e, "detail", json_string(ev->detail));
    json_array_append_new(w->events, e);
}

/* ---- prompt=none as an iframe does it: the IdP session cookie, then the redirect ----- */

/* The page's own timeout runs from the start, as an iframe's does: an answer after it (a
 * late redirect) is ignored; a page instead of a redirect (prompt=none ignored, framing
 * refused) is only noticed through it. */
typedef struct silent_call {
    hr_world *w;
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
        s->w->clock->timer_cancel(s->w->clock->ctx, s->timer);
        s->done(s->done_arg, r->location, 0);
        free(s);
    }
}

static int core_silent(void *arg, const char *url, rc_silent_done done, void *done_arg)
{
    hr_world *w = ((core_tab *)arg)->c->w;
    silent_call *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    *s = (silent_call){.w = w, .done = done, .done_arg = done_arg};
    int64_t timeout = (int64_t)(hr_client_num(w, "request_timeout", 0) * 1000);
    s->timer =
        w->clock->timer_start(w->clock->ctx, timeout > 0 ? timeout : 10000, silent_timeout, s);
    static const rc_header navigation[] = {{"Accept", RC_ACCEPT_NAVIGATION}};
    rc_http_request rq = {.method = "GET",
                          .url = url,
                          .cookie = w->cookies_blocked || !*w->cookie ? NULL : w->cookie,
                          .headers = navigation,
                          .n_headers = 1};
    void *handle;
    if (w->http.send(w->http.ctx, &rq, on_silent_answer, s, &handle) != RC_OK) {
        w->clock->timer_cancel(w->clock->ctx, s->timer);
        free(s);
        return -1;
    }
    return 0;
}

/* ---- setup ---------------------------------------------------------------------------- */

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

static const char *str_or(json_t *obj, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : dflt;
}

static rc_config client_config(hr_world *w)
{
    json_t *cl = json_object_get(w->scn, "client");
    rc_config cfg = {
        .issuer = w->client_issuer,
        .client_id = str_or(cl, "client_id", "demo-spa"),
        .redirect_uri = "http://127.0.0.1:8080/callback",
        .scope = str_or(cl, "scope", "openid profile offline_access api"),
        .renew_before_ms = (int64_t)(hr_client_num(w, "renew_before", 60) * 1000),
        .jitter_ms = (int64_t)(hr_client_num(w, "jitter", 0) * 1000),
        .min_interval_ms = (int64_t)(hr_client_num(w, "min_interval", 5) * 1000),
        .request_timeout_ms = (int64_t)(hr_client_num(w, "request_timeout", 10) * 1000),
        .max_retries = (int)hr_client_num(w, "max_retries", 4),
        .backoff_initial_ms = (int64_t)(hr_client_num(w, "backoff_initial", 1) * 1000),
        .backoff_max_ms = (int64_t)(hr_client_num(w, "backoff_max", 60) * 1000),
        .clock_skew_ms = (int64_t)(hr_client_num(w, "clock_skew", 60) * 1000),
        .revoke_on_logout = json_is_false(json_object_get(cl, "revoke_on_logout")) ? -1 : 1,
        .id_token_hint = json_is_false(json_object_get(cl, "id_token_hint")) ? -1 : 1,
        .misbehave = misbehave_flags(json_object_get(cl, "misbehave")),
    };
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cl, "methods"), i, m) cfg.methods |=
        !strcmp(json_string_value(m), "refresh") ? RC_METHOD_REFRESH : RC_METHOD_SILENT;
    if (!cfg.methods) /* a scenario's client renews with refresh tokens unless it says so */
        cfg.methods = RC_METHOD_REFRESH;
    return cfg;
}

static int core_open(hr_world *w, const char *arg, void **self)
{
    (void)arg;
    core *c = calloc(1, sizeof *c);
    *self = c;
    if (!c || !(c->store = rc_memory_store_new())) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return -1;
    }
    c->w = w;
    rc_config cfg = client_config(w);
    json_t *tabs = json_object_get(json_object_get(w->scn, "client"), "tabs");
    c->ntabs = tabs ? (int)json_integer_value(tabs) : 1;
    for (int i = 0; i < c->ntabs && i < CORE_MAX_TABS; i++) {
        core_tab *t = &c->tabs[i];
        *t = (core_tab){.c = c, .index = i};
        t->clock = (cm_clock){tab_now, tab_set, tab_start, tab_cancel, tab_inflight, t};
        rc_env env = {.base = w->base,
                      .clock = &t->clock,
                      .rng = cm_rng_seeded(&t->rng, w->seed * 31 + (uint64_t)i + 1),
                      .store = rc_memory_store_iface(c->store),
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

static void core_close(void *self)
{
    core *c = self;
    if (!c)
        return;
    for (int i = 0; i < c->ntabs && i < CORE_MAX_TABS; i++)
        rc_client_free(c->tabs[i].client);
    rc_memory_store_free(c->store);
    free(c);
}

static unsigned core_caps(void *self)
{
    (void)self;
    return HR_CAP_REFRESH | HR_CAP_SILENT | HR_CAP_REVOKE | HR_CAP_TABS | HR_CAP_MONITOR_SESSION |
           HR_CAP_MISBEHAVE | HR_CAP_VIRTUAL_CLOCK;
}

static hr_clock_kind core_clock(void *self)
{
    (void)self;
    return HR_CLOCK_VIRTUAL;
}

static const char *core_catalogue(const char *arg)
{
    (void)arg;
    return "core";
}

/* ---- steps ---------------------------------------------------------------------------- */

static void op_done(void *arg, int status)
{
    hr_world *w = arg;
    w->pending--;
    if (status != RC_OK || !w->last_status)
        w->last_status = status;
}

static void token_done(void *arg, int status, const char *token)
{
    (void)status, (void)token;
    ((hr_world *)arg)->pending--;
}

static core_tab *tab_of(core *c, json_t *step)
{
    json_t *t = json_object_get(step, "tab");
    return &c->tabs[t ? json_integer_value(t) : 0];
}

static int core_login(void *self, json_t *step)
{
    core *c = self;
    hr_world *w = c->w;
    const char *sub = str_or(step, "sub", "alice");
    if (idp_server_login(w->idp, sub, w->cookie, sizeof w->cookie) != 0)
        return -1;
    for (int i = 0; i < c->ntabs; i++) { /* the first start also fetches discovery */
        w->pending++;
        if (rc_client_start(c->tabs[i].client, op_done, w) != RC_OK)
            w->pending--;
    }
    w->last_status = RC_OK;
    if (hr_world_wait_ops(w, "discovery") != 0)
        return -1;
    if (w->last_status != RC_OK) { /* discovery refused: no login is possible */
        hr_world_outcome(w, w->last_status);
        return 0;
    }
    w->pending++;
    int rc = rc_client_login_with_cookie(tab_of(c, step)->client, w->cookie, op_done, w);
    if (rc != RC_OK) {
        w->pending--;
        w->last_status = rc;
    }
    if (hr_world_wait_ops(w, "login") != 0)
        return -1;
    hr_world_outcome(w, w->last_status);
    for (int i = 0; i < c->ntabs; i++) /* the other tabs see the session in the store */
        if (&c->tabs[i] != tab_of(c, step))
            rc_client_attach(c->tabs[i].client);
    return 0;
}

static int core_use(void *self, json_t *step)
{
    core *c = self;
    json_t *count = json_object_get(step, "count");
    int n = count ? (int)json_integer_value(count) : 1;
    for (int i = 0; i < n; i++) { /* all at once: concurrent callers */
        c->w->pending++;
        if (rc_client_get_token(tab_of(c, step)->client, token_done, c->w) != RC_OK)
            c->w->pending--;
    }
    return hr_world_wait_ops(c->w, "use");
}

typedef struct api_call {
    hr_world *w;
    core_tab *tab;
    char url[600];
    int retried;
} api_call;

static void on_api_token(void *arg, int status, const char *token);

static void on_resource(void *arg, int err, const rc_http_response *r)
{
    api_call *a = arg;
    /* a 401 invalid_token makes the client renew once; the call is then repeated once */
    if (!err && !a->retried &&
        rc_client_resource_error(a->tab->client, r->status, r->www_authenticate)) {
        a->retried = 1;
        if (rc_client_get_token(a->tab->client, on_api_token, a) == RC_OK)
            return;
    }
    a->w->pending--;
    free(a);
}

static void call_resource(api_call *a, const char *token)
{
    char auth[4200];
    snprintf(auth, sizeof auth, "Bearer %s", token ? token : "");
    rc_http_request rq = {.method = "GET", .url = a->url, .authorization = auth};
    void *handle;
    if (a->w->http.send(a->w->http.ctx, &rq, on_resource, a, &handle) != RC_OK) {
        a->w->pending--;
        free(a);
    }
}

static void on_api_token(void *arg, int status, const char *token)
{
    api_call *a = arg;
    if (status != RC_OK) { /* no token: no call */
        a->w->pending--;
        free(a);
        return;
    }
    call_resource(a, token);
}

static int core_api_call(void *self, json_t *step)
{
    core *c = self;
    hr_world *w = c->w;
    api_call *a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    a->w = w;
    a->tab = tab_of(c, step);
    snprintf(a->url, sizeof a->url, "%s%s", idp_server_issuer(w->idp),
             str_or(step, "path", "/resource"));
    w->pending++;
    if (rc_client_get_token(a->tab->client, on_api_token, a) != RC_OK) {
        w->pending--;
        free(a);
    }
    return hr_world_wait_ops(w, "api_call");
}

static int core_logout(void *self, json_t *step)
{
    core *c = self;
    c->w->pending++;
    if (rc_client_logout(tab_of(c, step)->client, op_done, c->w) != RC_OK)
        c->w->pending--;
    return hr_world_wait_ops(c->w, "logout");
}

static int core_advance(void *self, int64_t ms)
{
    return hr_world_advance(((core *)self)->w, ms);
}

const hr_target_ops hr_target_core = {
    .name = "core",
    .catalogue = core_catalogue,
    .open = core_open,
    .caps = core_caps,
    .clock = core_clock,
    .login = core_login,
    .use = core_use,
    .api_call = core_api_call,
    .logout = core_logout,
    .advance = core_advance,
    .close = core_close,
};
