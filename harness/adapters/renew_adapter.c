/* renew-adapter: the reference exec adapter in C, on renew_core (docs/exec-protocol.md).
 * Purely reactive: it reads a line, lets renew_core act at that line's "now", writes what
 * follows (HTTP requests, events, "done") and one "idle" with its next timer. Its clock is
 * a virtual clock moved to each line's "now"; its HTTP goes through the protocol. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cm_map.h"
#include "cm_strbuf.h"
#include "cm_rng.h"
#include "cm_virtclock.h"
#include "renew_core.h"

typedef struct adapter {
    cm_clock *clock;
    cm_seeded_rng rng;
    struct event_base *base;
    rc_memory_store *store;
    rc_client *client;
    rc_config cfg;
    json_t *settings; /* the hello's client settings (strings of cfg point into it) */
    char issuer[512], cookie[512];
    int silent_cookie;
    cm_map http; /* id -> pending request */
    long next_id;
    json_int_t seq; /* the command under way */
    int waiting;    /* callbacks the command still waits for */
    int http_status;
} adapter;

typedef struct pending {
    adapter *a;
    long id;
    char key[24];
    rc_http_done done;
    void *arg;
} pending;

static void emit(json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (text)
        printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(msg);
}

/* ---- transport: each request is a protocol line ---------------------------------------- */

static int http_send(void *ctx, const rc_http_request *rq, rc_http_done done, void *arg,
                     void **handle)
{
    adapter *a = ctx;
    pending *p = calloc(1, sizeof *p);
    if (!p)
        return RC_ENOMEM;
    *p = (pending){.a = a, .id = ++a->next_id, .done = done, .arg = arg};
    snprintf(p->key, sizeof p->key, "%ld", p->id);
    cm_map_put(&a->http, p->key, p);
    json_t *h = json_object();
    if (rq->content_type)
        json_object_set_new(h, "content-type", json_string(rq->content_type));
    if (rq->authorization)
        json_object_set_new(h, "authorization", json_string(rq->authorization));
    if (rq->cookie)
        json_object_set_new(h, "cookie", json_string(rq->cookie));
    for (size_t i = 0; i < rq->n_headers; i++) { /* names in lower case, as the protocol has */
        cm_strbuf name;
        cm_strbuf_init(&name);
        cm_strbuf_lower(&name, rq->headers[i].name);
        if (name.data)
            json_object_set_new(h, name.data, json_string(rq->headers[i].value));
        cm_strbuf_dispose(&name);
    }
    json_t *m = json_pack("{s:s, s:i, s:s, s:s, s:o}", "type", "http", "id", (int)p->id, "method",
                          rq->method, "url", rq->url, "headers", h);
    if (rq->body)
        json_object_set_new(m, "body", json_stringn(rq->body, rq->body_len));
    emit(m);
    *handle = p;
    return RC_OK;
}

static void http_cancel(void *ctx, void *handle)
{
    adapter *a = ctx;
    pending *p = handle;
    cm_map_remove(&a->http, p->key);
    emit(json_pack("{s:s, s:i}", "type", "http_cancel", "id", (int)p->id));
    free(p);
}

static const char *header(json_t *m, const char *name)
{
    return json_string_value(json_object_get(json_object_get(m, "headers"), name));
}

static void http_response(adapter *a, json_t *m)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(m, "id")));
    pending *p = cm_map_remove(&a->http, key);
    if (!p) /* cancelled meanwhile */
        return;
    json_t *body = json_object_get(m, "body");
    rc_http_response r = {.status = (int)json_integer_value(json_object_get(m, "status")),
                          .body = json_string_value(body),
                          .body_len = json_string_length(body),
                          .content_type = header(m, "content-type"),
                          .location = header(m, "location"),
                          .retry_after = header(m, "retry-after"),
                          .www_authenticate = header(m, "www-authenticate")};
    json_t *hs = json_object_get(m, "headers"), *v;
    rc_header *all = calloc(json_object_size(hs) + 1, sizeof *all);
    const char *k;
    json_object_foreach(hs, k, v) if (all) all[r.n_headers++] =
        (rc_header){k, json_string_value(v)};
    r.headers = all;
    const char *err = json_string_value(json_object_get(m, "error"));
    if (err)
        p->done(p->arg, !strcmp(err, "timeout") ? RC_ETIMEOUT : RC_ETRANSPORT, NULL);
    else
        p->done(p->arg, 0, &r);
    free(all);
    free(p);
}

/* ---- prompt=none as an iframe does it: the session cookie, then the redirect ------------ */

typedef struct silent_call {
    adapter *a;
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
    s->done(s->done_arg, NULL, RC_ETIMEOUT); /* the frame never came back */
    if (s->answered)
        free(s);
}

static void silent_answer(void *arg, int err, const rc_http_response *r)
{
    silent_call *s = arg;
    s->answered = 1;
    if (s->timed_out) {
        free(s);
        return;
    }
    if (!err && r->status == 302 && r->location) { /* anything else: only the timeout tells */
        s->a->clock->timer_cancel(s->a->clock->ctx, s->timer);
        s->done(s->done_arg, r->location, 0);
        free(s);
    }
}

static int silent(void *arg, const char *url, rc_silent_done done, void *done_arg)
{
    adapter *a = arg;
    silent_call *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    *s = (silent_call){.a = a, .done = done, .done_arg = done_arg};
    int64_t timeout = a->cfg.request_timeout_ms ? a->cfg.request_timeout_ms : 10000;
    s->timer = a->clock->timer_start(a->clock->ctx, timeout, silent_timeout, s);
    static const rc_header navigation[] = {{"Accept", RC_ACCEPT_NAVIGATION}};
    rc_http_request rq = {.method = "GET",
                          .url = url,
                          .cookie = a->silent_cookie ? a->cookie : NULL,
                          .headers = navigation,
                          .n_headers = 1};
    void *handle;
    if (http_send(a, &rq, silent_answer, s, &handle) != RC_OK) {
        a->clock->timer_cancel(a->clock->ctx, s->timer);
        free(s);
        return -1;
    }
    return 0;
}

/* ---- events and commands ----------------------------------------------------------------- */

static const char *const EVENT_NAMES[] = {
    "logged_in",  "renewed", "renew_failed", "session_lost", "interaction_required",
    "logged_out", "request"};

static void on_event(void *arg, const rc_event *ev)
{
    (void)arg;
    if (ev->type == RC_EV_REQUEST)
        return;
    json_t *m = json_pack("{s:s, s:s}", "type", "event", "event", EVENT_NAMES[ev->type]);
    if (ev->status)
        json_object_set_new(m, "reason", json_string(rc_err_name(ev->status)));
    if (ev->type == RC_EV_RENEW_FAILED)
        json_object_set_new(m, "transient", json_boolean(ev->transient));
    if (ev->method)
        json_object_set_new(m, "method", json_string(ev->method));
    if (ev->detail)
        json_object_set_new(m, "detail", json_string(ev->detail));
    emit(m);
}

static void finish(adapter *a, int status)
{
    if (--a->waiting > 0)
        return;
    json_t *m =
        json_pack("{s:s, s:I, s:s}", "type", "done", "seq", a->seq, "status", rc_err_name(status));
    if (a->http_status)
        json_object_set_new(m, "http_status", json_integer(a->http_status));
    emit(m);
}

static void on_op(void *arg, int status)
{
    finish(arg, status);
}

static void on_token(void *arg, int status, const char *token)
{
    (void)token;
    finish(arg, status);
}

static void on_started(void *arg, int status)
{
    adapter *a = arg;
    if (status != RC_OK || rc_client_login_with_cookie(a->client, a->cookie, on_op, a) != RC_OK)
        finish(a, status != RC_OK ? status : RC_EINVAL);
}

/* api_call: the resource with the token; a 401 invalid_token renews once and repeats. */
typedef struct api_call {
    adapter *a;
    char url[1024];
    int retried;
} api_call;

static void api_token(void *arg, int status, const char *token);

static void api_answer(void *arg, int err, const rc_http_response *r)
{
    api_call *c = arg;
    adapter *a = c->a;
    a->http_status = err ? 0 : r->status;
    if (!err && !c->retried &&
        rc_client_resource_error(a->client, r->status, r->www_authenticate)) {
        c->retried = 1;
        if (rc_client_get_token(a->client, api_token, c) == RC_OK)
            return;
    }
    free(c);
    finish(a, err ? err : RC_OK);
}

static void api_token(void *arg, int status, const char *token)
{
    api_call *c = arg;
    if (status != RC_OK) {
        adapter *a = c->a;
        free(c);
        finish(a, status);
        return;
    }
    char auth[4200];
    snprintf(auth, sizeof auth, "Bearer %s", token);
    rc_http_request rq = {.method = "GET", .url = c->url, .authorization = auth};
    void *handle;
    if (http_send(c->a, &rq, api_answer, c, &handle) != RC_OK)
        api_answer(c, RC_ETRANSPORT, NULL);
}

/* ---- hello: the client settings, seconds in the protocol, milliseconds in renew_core --- */

static const struct {
    const char *key;
    size_t offset;
} MS_FIELDS[] = {{"renew_before", offsetof(rc_config, renew_before_ms)},
                 {"jitter", offsetof(rc_config, jitter_ms)},
                 {"min_interval", offsetof(rc_config, min_interval_ms)},
                 {"request_timeout", offsetof(rc_config, request_timeout_ms)},
                 {"backoff_initial", offsetof(rc_config, backoff_initial_ms)},
                 {"backoff_max", offsetof(rc_config, backoff_max_ms)},
                 {"clock_skew", offsetof(rc_config, clock_skew_ms)}};

static int configure(adapter *a, json_t *hello)
{
    json_t *cl = json_object_get(hello, "client");
    a->settings = json_incref(cl);
    snprintf(a->issuer, sizeof a->issuer, "%s",
             json_string_value(json_object_get(hello, "issuer")));
    a->cfg.issuer = a->issuer;
    a->cfg.client_id = json_string_value(json_object_get(cl, "client_id"));
    a->cfg.redirect_uri = json_string_value(json_object_get(cl, "redirect_uri"));
    a->cfg.scope = json_string_value(json_object_get(cl, "scope"));
    if (!a->cfg.scope)
        a->cfg.scope = "openid profile offline_access api";
    for (size_t i = 0; i < sizeof MS_FIELDS / sizeof MS_FIELDS[0]; i++) {
        json_t *v = json_object_get(cl, MS_FIELDS[i].key);
        if (json_is_number(v))
            *(int64_t *)((char *)&a->cfg + MS_FIELDS[i].offset) =
                (int64_t)(json_number_value(v) * 1000.0 + 0.5);
    }
    if (json_is_integer(json_object_get(cl, "max_retries")))
        a->cfg.max_retries = (int)json_integer_value(json_object_get(cl, "max_retries"));
    a->cfg.revoke_on_logout = json_is_false(json_object_get(cl, "revoke_on_logout")) ? -1 : 1;
    a->cfg.id_token_hint = json_is_false(json_object_get(cl, "id_token_hint")) ? -1 : 1;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cl, "methods"), i, m) a->cfg.methods |=
        !strcmp(json_string_value(m), "silent") ? RC_METHOD_SILENT : RC_METHOD_REFRESH;
    if (!a->cfg.methods) /* the protocol's default, as the harness's scenarios */
        a->cfg.methods = RC_METHOD_REFRESH;
    rc_env env = {.base = a->base,
                  .clock = a->clock,
                  .rng = cm_rng_seeded(&a->rng, 2718281828u), /* not the IdP's seed */
                  .store = rc_memory_store_iface(a->store),
                  .transport = {http_send, http_cancel, a},
                  .on_event = on_event,
                  .silent = silent,
                  .silent_arg = a};
    return rc_client_new(&a->cfg, &env, &a->client);
}

static void command(adapter *a, json_t *m, const char *type)
{
    a->seq = json_integer_value(json_object_get(m, "seq"));
    a->waiting = 1;
    a->http_status = 0;
    int rc = RC_OK;
    if (!strcmp(type, "login")) {
        snprintf(a->cookie, sizeof a->cookie, "%s",
                 json_string_value(json_object_get(m, "cookie")));
        a->silent_cookie = !json_is_false(json_object_get(m, "silent_cookie"));
        rc = rc_client_start(a->client, on_started, a);
    } else if (!strcmp(type, "use_token")) {
        json_int_t n = json_integer_value(json_object_get(m, "count"));
        a->waiting = n > 0 ? (int)n : 1;
        for (int k = a->waiting; k > 0 && rc == RC_OK; k--) /* at the same instant */
            rc = rc_client_get_token(a->client, on_token, a);
    } else if (!strcmp(type, "api_call")) {
        api_call *c = calloc(1, sizeof *c);
        if (!c)
            rc = RC_ENOMEM;
        else {
            c->a = a;
            snprintf(c->url, sizeof c->url, "%s", json_string_value(json_object_get(m, "url")));
            rc = rc_client_get_token(a->client, api_token, c);
            if (rc != RC_OK)
                free(c);
        }
    } else if (!strcmp(type, "logout")) {
        rc = rc_client_logout(a->client, on_op, a);
    }
    if (rc != RC_OK) { /* the callback will not come: answer now */
        a->waiting = 1;
        finish(a, rc);
    }
}

/* --wall-clock: the time is the machine's, read with clock_gettime() and time() as a
 * client that reads the wall clock does (the line's "now" unread); under exec+faketime
 * both follow the virtual clock. The two must agree, and the clock never go back. */
static int64_t wall_clock_ms(void)
{
    static int64_t last;
    struct timespec ts, mono;
    clock_gettime(CLOCK_REALTIME, &ts);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    time_t secs = time(NULL);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + (ts.tv_nsec + 500000) / 1000000;
    if (secs != ts.tv_sec || ms < last) {
        fprintf(stderr,
                "renew-adapter: the wall clock is inconsistent: time() %lld, "
                "clock_gettime %lld.%09ld, before %lld ms\n",
                (long long)secs, (long long)ts.tv_sec, ts.tv_nsec, (long long)last);
        exit(1);
    }
    return last = ms;
}

/* One input line; returns 0 to go on, 1 on stop, -1 on a line it cannot use. */
static int handle(adapter *a, json_t *m, int wall)
{
    const char *type = json_string_value(json_object_get(m, "type"));
    json_t *now = json_object_get(m, "now");
    if (type && !strcmp(type, "stop"))
        return 1;
    if (!type || !json_is_number(now))
        return -1;
    int64_t now_ms = wall ? wall_clock_ms() : (int64_t)(json_number_value(now) * 1000.0 + 0.5);
    if (now_ms > cm_clock_now(a->clock))
        a->clock->set_ms(a->clock->ctx, now_ms);
    while (cm_virtclock_fire_due(a->clock) > 0) /* what was due before this line */
        ;
    if (!strcmp(type, "hello")) {
        if (a->client || configure(a, m) != RC_OK)
            return -1;
        emit(json_pack("{s:s, s:i, s:s, s:s, s:[ssss]}", "type", "hello", "protocol", 1, "name",
                       "renew-adapter", "version", RENEWLAB_VERSION, "capabilities", "refresh",
                       "silent", "virtual_clock", "revoke"));
    } else if (!a->client) {
        return -1;
    } else if (!strcmp(type, "http_response")) {
        http_response(a, m);
    } else if (strcmp(type, "advance") != 0) {
        command(a, m, type);
    }
    while (cm_virtclock_fire_due(a->clock) > 0) /* events are delivered from 0-delay timers */
        ;
    int64_t next = cm_virtclock_next_deadline(a->clock);
    emit(json_pack("{s:s, s:o}", "type", "idle", "wake_at",
                   next == INT64_MAX ? json_null() : json_real((double)next / 1000.0)));
    return 0;
}

int main(int argc, char **argv)
{
    int wall = argc > 1 && !strcmp(argv[1], "--wall-clock");
    if (argc > 1 && !strcmp(argv[1], "--version"))
        return printf("renew-adapter %s\n", RENEWLAB_VERSION) < 0;
    if (argc > 1 && !wall) {
        int help = !strcmp(argv[1], "--help");
        fprintf(help ? stdout : stderr,
                "usage: renew-adapter [--wall-clock]\n"
                "renew_core behind the exec protocol (docs/exec-protocol.md), on its stdin and\n"
                "stdout: renewlab run --target exec:renew-adapter. --wall-clock: its time from\n"
                "clock_gettime() and time(), not the lines' \"now\" (for exec+faketime:).\n");
        return help ? 0 : 2;
    }
    adapter a = {0};
    a.base = event_base_new();
    a.clock = cm_virtclock_new(0);
    a.store = rc_memory_store_new();
    cm_map_init(&a.http);
    int rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (rc == 0 && (len = getline(&line, &cap, stdin)) > 0) {
        json_error_t e;
        json_t *m = json_loadb(line, (size_t)len, 0, &e);
        rc = m ? handle(&a, m, wall) : -1;
        if (rc < 0)
            fprintf(stderr, "renew-adapter: cannot use the line: %.200s\n", line);
        json_decref(m);
    }
    free(line);
    rc_client_free(a.client);
    size_t pos = 0;
    const char *key;
    void *p;
    while (cm_map_next(&a.http, &pos, &key, &p))
        free(p);
    cm_map_dispose(&a.http);
    rc_memory_store_free(a.store);
    cm_virtclock_free(a.clock);
    event_base_free(a.base);
    json_decref(a.settings);
    return rc < 0 ? 1 : 0;
}
