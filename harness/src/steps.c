/* Playing a scenario's steps on the virtual clock. */
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
static int wait_ops(hr_world *w, const char *what)
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

static int advance(hr_world *w, double seconds)
{
    if (w->exec && w->real_time) /* a real-time adapter: the wall clock passes */
        return hr_exec_wait_real(w, (int64_t)(seconds * 1000.0), 0) < 0 ? -1 : 0;
    int64_t until = cm_clock_now(w->clock) + (int64_t)(seconds * 1000.0);
    int rc = cm_loop_run(w->base, w->clock, NULL, NULL, until, STUCK_REAL_MS);
    if (hr_exec_broken(w))
        return -1;
    if (rc == CM_LOOP_STUCK) {
        snprintf(w->error, sizeof w->error, "advance: requests stayed in flight");
        return -1;
    }
    w->clock->set_ms(w->clock->ctx, until);
    return 0;
}

static void op_done(void *arg, int status)
{
    hr_world *w = arg;
    w->pending--;
    if (status != RC_OK || !w->last_status)
        w->last_status = status;
}

/* What the step's operations ended with, on its entry in the steps log. */
static void note_outcome(hr_world *w, int status)
{
    json_t *step = json_array_get(w->steps, json_array_size(w->steps) - 1);
    json_object_set_new(step, "outcome", json_string(rc_err_name(status)));
}

static void token_done(void *arg, int status, const char *token)
{
    (void)status, (void)token;
    ((hr_world *)arg)->pending--;
}

static hr_tab *tab_of(hr_world *w, json_t *step)
{
    json_t *t = json_object_get(step, "tab");
    return &w->tabs[t ? json_integer_value(t) : 0];
}

static int do_login(hr_world *w, json_t *step)
{
    const char *sub = json_string_value(json_object_get(step, "sub"));
    if (idp_server_login(w->idp, sub ? sub : "alice", w->cookie, sizeof w->cookie) != 0)
        return -1;
    for (int i = 0; i < w->ntabs; i++) { /* the first start also fetches discovery */
        w->pending++;
        if (rc_client_start(w->tabs[i].client, op_done, w) != RC_OK)
            w->pending--;
    }
    w->last_status = RC_OK;
    if (wait_ops(w, "discovery") != 0)
        return -1;
    if (w->last_status != RC_OK) { /* discovery refused: no login is possible */
        note_outcome(w, w->last_status);
        return 0;
    }
    w->pending++;
    int rc = rc_client_login_with_cookie(tab_of(w, step)->client, w->cookie, op_done, w);
    if (rc != RC_OK) {
        w->pending--;
        w->last_status = rc;
    }
    if (wait_ops(w, "login") != 0)
        return -1;
    note_outcome(w, w->last_status);
    for (int i = 0; i < w->ntabs; i++) /* the other tabs see the session in the store */
        if (&w->tabs[i] != tab_of(w, step))
            rc_client_attach(w->tabs[i].client);
    return 0;
}

static int do_use(hr_world *w, json_t *step)
{
    json_t *count = json_object_get(step, "count");
    int n = count ? (int)json_integer_value(count) : 1;
    for (int i = 0; i < n; i++) { /* all at once: concurrent callers */
        w->pending++;
        if (rc_client_get_token(tab_of(w, step)->client, token_done, w) != RC_OK)
            w->pending--;
    }
    return wait_ops(w, "use");
}

typedef struct api_call {
    hr_world *w;
    hr_tab *tab;
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

static int do_api_call(hr_world *w, json_t *step)
{
    api_call *a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    const char *path = json_string_value(json_object_get(step, "path"));
    a->w = w;
    a->tab = tab_of(w, step);
    snprintf(a->url, sizeof a->url, "%s%s", idp_server_issuer(w->idp), path ? path : "/resource");
    w->pending++;
    if (rc_client_get_token(a->tab->client, on_api_token, a) != RC_OK) {
        w->pending--;
        free(a);
    }
    return wait_ops(w, "api_call");
}

static int do_logout(hr_world *w, json_t *step)
{
    w->pending++;
    if (rc_client_logout(tab_of(w, step)->client, op_done, w) != RC_OK)
        w->pending--;
    return wait_ops(w, "logout");
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

/* Exec targets: the client steps become protocol commands. */
static int exec_step(hr_world *w, const char *what, json_t *step)
{
    json_t *msg;
    if (!strcmp(what, "login")) {
        const char *sub = json_string_value(json_object_get(step, "sub"));
        if (idp_server_login(w->idp, sub ? sub : "alice", w->cookie, sizeof w->cookie) != 0)
            return -1;
        msg = json_pack("{s:s, s:s, s:b}", "type", "login", "cookie", w->cookie, "silent_cookie",
                        !w->cookies_blocked);
    } else if (!strcmp(what, "use")) {
        json_t *count = json_object_get(step, "count");
        msg = json_pack("{s:s, s:I}", "type", "use_token", "count",
                        count ? json_integer_value(count) : (json_int_t)1);
    } else if (!strcmp(what, "api_call")) {
        const char *path = json_string_value(json_object_get(step, "path"));
        char url[600];
        snprintf(url, sizeof url, "%s%s", idp_server_issuer(w->idp), path ? path : "/resource");
        msg = json_pack("{s:s, s:s}", "type", "api_call", "url", url);
    } else {
        msg = json_pack("{s:s}", "type", "logout");
    }
    hr_exec_command(w, msg);
    if (w->real_time) {
        json_t *t = json_object_get(json_object_get(w->scn, "client"), "request_timeout");
        int64_t limit = (int64_t)((t ? json_number_value(t) : 10) * 1000) * 8 + 5000;
        int rc = hr_exec_wait_real(w, limit, 1);
        if (rc == 0)
            snprintf(w->error, sizeof w->error, "%s did not complete within %lld s", what,
                     (long long)(limit / 1000));
        return rc == 1 ? 0 : -1;
    }
    int rc = wait_ops(w, what);
    return hr_exec_broken(w) ? -1 : rc;
}

static int play_step(hr_world *w, json_t *step)
{
    const char *what = json_string_value(json_object_get(step, "do"));
    json_t *logged = json_deep_copy(step);
    json_object_set_new(logged, "t", hr_rel(w, cm_clock_now(w->clock)));
    json_array_append_new(w->steps, logged);
    if (w->page && (!strcmp(what, "login") || !strcmp(what, "advance") || !strcmp(what, "use") ||
                    !strcmp(what, "api_call") || !strcmp(what, "logout")))
        return hr_page_step(w, what, step);
    if (w->exec && (!strcmp(what, "login") || !strcmp(what, "use") || !strcmp(what, "api_call") ||
                    !strcmp(what, "logout")))
        return exec_step(w, what, step);
    if (!strcmp(what, "login"))
        return do_login(w, step);
    if (!strcmp(what, "advance"))
        return advance(w, json_number_value(json_object_get(step, "seconds")));
    if (!strcmp(what, "use"))
        return do_use(w, step);
    if (!strcmp(what, "api_call"))
        return do_api_call(w, step);
    if (!strcmp(what, "logout"))
        return do_logout(w, step);
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
    if (w->page)
        return hr_page_finish(w);
    return advance(w, 0); /* what is due at the end still happens */
}
