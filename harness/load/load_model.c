/* The load model: N renew_core clients and the mock IdP in one process on the virtual
 * clock. Requests go through an in-memory transport (the IdP's dispatch called directly,
 * the answer delivered after a virtual latency); access tokens are opaque and refresh
 * answers carry no ID token, so nothing is signed. Sessions are made with the IdP's code
 * flow (no openid scope) and adopted by renew_core; from then on renew_core renews them.
 * Outages are fault rules (503 on every OIDC endpoint) added and removed on time. */
#include <event2/event.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"
#include "cm_form.h"
#include "cm_virtclock.h"
#include "load.h"
#include "mock_idp.h"
#include "renew_core.h"

#define LOAD_ISSUER "http://idp.load.inproc"
#define LOAD_REDIRECT "http://app.load.inproc/callback"
#define LOAD_SCOPE "offline_access api"
#define LOAD_EPOCH_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

typedef struct model model;

typedef struct lclient {
    model *m;
    char client_id[24]; /* "load-client-N": the IdP client with its access-token lifetime */
    rc_client *c;
    rc_memory_store *store;
    cm_timer *timer; /* the next login attempt or app retry */
    int gave_up, lost;
} lclient;

typedef struct counts {
    uint64_t refresh, refused, logins, login_retries, renewed, gave_up;
    size_t clients_gave_up, clients_lost;
} counts;

struct model {
    const hr_load_params *p;
    struct event_base *base;
    cm_clock *clock;
    cm_seeded_rng idp_rng_state, rng_state;
    cm_rng rng;
    idp_server *idp;
    char cookie[256];
    lclient *clients;
    uint32_t *refresh, *refused, *logins; /* per bucket */
    size_t n_buckets;
    char outage_ids[HR_LOAD_MAX_OUTAGES][32];
    int64_t t0;
    counts n;
};

/* ---- the in-memory transport --------------------------------------------------------- */

typedef struct pending {
    cm_timer *timer;
    rc_http_done done;
    void *arg;
    idp_inproc_response resp;
} pending;

static size_t bucket(const model *m)
{
    size_t b = (size_t)((cm_clock_now(m->clock) - m->t0) / m->p->bucket_ms);
    return b < m->n_buckets ? b : m->n_buckets - 1;
}

static int serve(model *m, const char *method, const char *target, const char *ctype,
                 const char *cookie, const char *body, idp_inproc_response *out)
{
    idp_inproc_request in = {.method = method,
                             .target = target,
                             .content_type = ctype,
                             .cookie = cookie,
                             .body = body,
                             .body_len = body ? strlen(body) : 0};
    return idp_server_serve_inproc(m->idp, &in, out);
}

static void deliver(void *arg)
{
    pending *p = arg;
    idp_inproc_response *a = &p->resp;
    rc_http_response r = {.status = a->status,
                          .body = a->body,
                          .body_len = a->body_len,
                          .content_type = a->content_type,
                          .location = a->location,
                          .retry_after = a->retry_after,
                          .www_authenticate = a->www_authenticate};
    int err = a->status ? 0 : RC_ETRANSPORT;
    p->done(p->arg, err, err ? NULL : &r);
    idp_inproc_response_dispose(a);
    free(p);
}

static int mem_send(void *ctx, const rc_http_request *rq, rc_http_done done, void *arg,
                    void **handle)
{
    model *m = ctx;
    size_t n = strlen(LOAD_ISSUER);
    if (strncmp(rq->url, LOAD_ISSUER, n) != 0)
        return RC_ETRANSPORT; /* only the one IdP lives here */
    pending *p = calloc(1, sizeof *p);
    if (!p)
        return RC_ENOMEM;
    idp_inproc_request in = {.method = rq->method,
                             .target = rq->url + n,
                             .content_type = rq->content_type,
                             .authorization = rq->authorization,
                             .cookie = rq->cookie,
                             .body = rq->body,
                             .body_len = rq->body_len};
    if (idp_server_serve_inproc(m->idp, &in, &p->resp) != 0) {
        free(p);
        return RC_ENOMEM;
    }
    if (!strcmp(in.target, "/token") && rq->body &&
        strstr(rq->body, "grant_type=refresh_token")) { /* the rate the model is about */
        size_t b = bucket(m);
        m->refresh[b]++, m->n.refresh++;
        if (p->resp.status != 200)
            m->refused[b]++, m->n.refused++;
    }
    p->done = done;
    p->arg = arg;
    p->timer =
        m->clock->timer_start(m->clock->ctx, m->p->latency_ms + p->resp.delay_ms, deliver, p);
    if (!p->timer) {
        idp_inproc_response_dispose(&p->resp);
        free(p);
        return RC_ENOMEM;
    }
    *handle = p;
    return 0;
}

static void mem_cancel(void *ctx, void *handle)
{
    model *m = ctx;
    pending *p = handle;
    m->clock->timer_cancel(m->clock->ctx, p->timer);
    idp_inproc_response_dispose(&p->resp);
    free(p);
}

/* ---- clients ------------------------------------------------------------------------- */

static void login(void *arg);

static void later(lclient *lc, int64_t delay_ms, cm_timer_cb cb)
{
    cm_clock *clock = lc->m->clock;
    if (lc->timer)
        clock->timer_cancel(clock->ctx, lc->timer);
    lc->timer = clock->timer_start(clock->ctx, delay_ms, cb, lc);
}

static void on_token(void *arg, int status, const char *access_token)
{
    (void)arg, (void)status, (void)access_token; /* outcomes arrive as events */
}

/* The app needs a token again a while after renew_core gave up (its next API call). */
static void app_retry(void *arg)
{
    lclient *lc = arg;
    lc->timer = NULL;
    rc_client_get_token(lc->c, on_token, lc);
}

static void on_event(void *arg, const rc_event *ev)
{
    lclient *lc = arg;
    model *m = lc->m;
    if (ev->type == RC_EV_RENEWED)
        m->n.renewed++;
    else if (ev->type == RC_EV_RENEW_FAILED && ev->status == RC_EGAVE_UP) {
        m->n.gave_up++;
        m->n.clients_gave_up += !lc->gave_up;
        lc->gave_up = 1;
        later(lc, m->p->app_retry_ms, app_retry);
    } else if (ev->type == RC_EV_SESSION_LOST && !lc->lost) {
        lc->lost = 1;
        m->n.clients_lost++;
    }
}

/* The code flow with PKCE on the shared IdP session; the tokens go to the client's store. */
static int code_flow(lclient *lc, rc_tokens *out)
{
    model *m = lc->m;
    char verifier[64], challenge[64], target[1024], body[1024];
    unsigned char md[SHA256_DIGEST_LENGTH];
    cm_rng_token(&m->rng, 32, verifier, sizeof verifier);
    SHA256((const unsigned char *)verifier, strlen(verifier), md);
    cm_b64url_encode(md, sizeof md, challenge);
    snprintf(target, sizeof target,
             "/authorize?response_type=code&client_id=%s"
             "&redirect_uri=http%%3A%%2F%%2Fapp.load.inproc%%2Fcallback&scope=offline_access%%20api"
             "&state=s&prompt=none&code_challenge=%s&code_challenge_method=S256",
             lc->client_id, challenge);
    idp_inproc_response r;
    if (serve(m, "GET", target, NULL, m->cookie, NULL, &r) != 0)
        return -1;
    const char *code = r.status == 302 && r.location ? strstr(r.location, "code=") : NULL;
    size_t len = code ? strcspn(code + 5, "&#") : 0;
    if (code)
        snprintf(body, sizeof body,
                 "grant_type=authorization_code&code=%.*s&code_verifier=%s&client_id=%s"
                 "&redirect_uri=http%%3A%%2F%%2Fapp.load.inproc%%2Fcallback",
                 (int)len, code + 5, verifier, lc->client_id);
    idp_inproc_response_dispose(&r);
    if (!code || serve(m, "POST", "/token", "application/x-www-form-urlencoded", NULL, body, &r))
        return -1;
    json_t *t = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    int64_t now = cm_clock_now(m->clock);
    const char *at = json_string_value(json_object_get(t, "access_token"));
    const char *rt = json_string_value(json_object_get(t, "refresh_token"));
    json_int_t expires_in = json_integer_value(json_object_get(t, "expires_in"));
    int rc = at && rt && expires_in > 0 ? 0 : -1;
    if (rc == 0)
        *out = (rc_tokens){.access_token = strdup(at),
                           .refresh_token = strdup(rt),
                           .scope = strdup(LOAD_SCOPE),
                           .expires_at_ms = now + expires_in * 1000,
                           .received_at_ms = now};
    json_decref(t);
    idp_inproc_response_dispose(&r);
    return rc;
}

static void on_started(void *arg, int status)
{
    lclient *lc = arg;
    model *m = lc->m;
    rc_tokens t;
    rc_store st = rc_memory_store_iface(lc->store);
    if (status == RC_OK && code_flow(lc, &t) == 0) {
        int saved = st.save(st.ctx, &t);
        rc_tokens_dispose(&t);
        if (saved == RC_OK && rc_client_attach(lc->c) == RC_OK) {
            m->logins[bucket(m)]++, m->n.logins++;
            return;
        }
    }
    m->n.login_retries++; /* an outage: the user tries again later */
    later(lc, m->p->app_retry_ms, login);
}

static void login(void *arg)
{
    lclient *lc = arg;
    lc->timer = NULL;
    if (rc_client_start(lc->c, on_started, lc) != RC_OK)
        later(lc, lc->m->p->app_retry_ms, login);
}

static int client_init(model *m, lclient *lc, size_t index)
{
    const hr_load_params *p = m->p;
    snprintf(lc->client_id, sizeof lc->client_id, "load-client-%u",
             (unsigned)(index % p->n_lifetimes));
    rc_config cfg = {.issuer = LOAD_ISSUER,
                     .client_id = lc->client_id,
                     .redirect_uri = LOAD_REDIRECT,
                     .scope = LOAD_SCOPE,
                     .renew_before_ms = p->renew_before_ms,
                     .jitter_ms = p->jitter_ms,
                     .max_retries = p->max_retries,
                     .methods = RC_METHOD_REFRESH};
    lc->m = m;
    lc->store = rc_memory_store_new();
    rc_env env = {.base = m->base,
                  .clock = m->clock,
                  .rng = m->rng,
                  .store = rc_memory_store_iface(lc->store),
                  .transport = {.send = mem_send, .cancel = mem_cancel, .ctx = m},
                  .on_event = on_event,
                  .event_arg = lc};
    if (!lc->store || rc_client_new(&cfg, &env, &lc->c) != RC_OK)
        return -1;
    int64_t at = (int64_t)(cm_rng_unit(&m->rng) * (double)p->login_spread_ms);
    later(lc, at, login);
    return lc->timer ? 0 : -1;
}

/* ---- outages ------------------------------------------------------------------------- */

typedef struct outage_arg {
    model *m;
    size_t i;
} outage_arg;

static void outage_toggle(model *m, size_t i, int begin)
{
    idp_inproc_response r;
    char target[64];
    if (begin) {
        const char *rule = "{\"action\": {\"type\": \"status\", \"status\": 503,"
                           " \"error\": \"temporarily_unavailable\"}}";
        if (serve(m, "POST", "/_mock/faults", "application/json", NULL, rule, &r) != 0)
            return;
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        snprintf(m->outage_ids[i], sizeof m->outage_ids[i], "%s", id ? id : "");
        json_decref(j);
    } else {
        snprintf(target, sizeof target, "/_mock/faults/%s", m->outage_ids[i]);
        if (serve(m, "DELETE", target, NULL, NULL, NULL, &r) != 0)
            return;
    }
    idp_inproc_response_dispose(&r);
}

static void outage_begin(void *arg)
{
    outage_arg *a = arg;
    outage_toggle(a->m, a->i, 1);
}

static void outage_end(void *arg)
{
    outage_arg *a = arg;
    outage_toggle(a->m, a->i, 0);
}

/* ---- the run ------------------------------------------------------------------------- */

/* One IdP client per access-token lifetime: opaque tokens, rotation with reuse detection,
 * no ID token on refresh, no absolute lifetime (the model may run for days). */
static json_t *idp_clients(const hr_load_params *p)
{
    json_t *clients = json_array();
    for (size_t i = 0; i < p->n_lifetimes; i++) {
        char id[24];
        snprintf(id, sizeof id, "load-client-%u", (unsigned)i);
        json_array_append_new(clients,
                              json_pack("{s:s, s:[s], s:[s, s], s:f, s:b, s:{s:b, s:b, s:i, s:b}}",
                                        "client_id", id, "redirect_uris", LOAD_REDIRECT, "scopes",
                                        "offline_access", "api", "access_token_lifetime",
                                        p->access_token_ms[i] / 1000.0, "opaque_access_tokens", 1,
                                        "refresh", "rotation", 1, "reuse_detection", 1,
                                        "absolute_lifetime", 0, "id_token", 0));
    }
    return clients;
}

static char *idp_config_text(const hr_load_params *p)
{
    char *text = NULL;
    json_int_t session_s = (json_int_t)((p->duration_ms + p->login_spread_ms) / 1000 + 60);
    json_t *cfg = json_pack("{s:s, s:s, s:{s:I, s:I}, s:{s:I}, s:o, s:[{s:s}]}", "issuer",
                            LOAD_ISSUER, "signing_alg", "EdDSA", "lifetimes", "session", session_s,
                            "code", (json_int_t)60, "cookie", "lifetime", session_s, "clients",
                            idp_clients(p), "users", "sub", "alice");
    if (cfg)
        text = json_dumps(cfg, 0);
    json_decref(cfg);
    return text;
}

static int start_idp(model *m, char *err, size_t errlen)
{
    char *text = idp_config_text(m->p);
    idp_config *cfg = NULL;
    int rc = text ? idp_config_parse("load-model", text, strlen(text), &cfg, err, errlen) : -1;
    free(text);
    if (rc != 0)
        return -1;
    idp_options opts = {
        .state_limit = m->p->clients * 2 + 100, .grant_tokens_kept = 2, .trace_off = 1};
    if (idp_server_new(m->base, m->clock, cm_rng_seeded(&m->idp_rng_state, m->p->seed), cfg, &opts,
                       &m->idp, err, errlen) != 0)
        return -1;
    idp_inproc_response r;
    if (serve(m, "POST", "/_mock/login", "application/json", NULL, "{\"sub\": \"alice\"}", &r))
        return -1;
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    const char *cookie = json_string_value(json_object_get(j, "cookie"));
    snprintf(m->cookie, sizeof m->cookie, "%s", cookie ? cookie : "");
    json_decref(j);
    idp_inproc_response_dispose(&r);
    if (!*m->cookie)
        snprintf(err, errlen, "the mock IdP made no session");
    return *m->cookie ? 0 : -1;
}

static json_t *series_json(const uint32_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

static json_t *params_json(const hr_load_params *p)
{
    json_t *outages = json_array();
    for (size_t i = 0; i < p->n_outages; i++)
        json_array_append_new(outages,
                              json_pack("{s:f, s:f}", "start_s", p->outages[i].start_ms / 1000.0,
                                        "length_s", p->outages[i].length_ms / 1000.0));
    json_t *lifetimes = json_array();
    for (size_t i = 0; i < p->n_lifetimes; i++)
        json_array_append_new(lifetimes, json_real(p->access_token_ms[i] / 1000.0));
    return json_pack("{s:I, s:f, s:f, s:o, s:f, s:f, s:f, s:f, s:f, s:i, s:o, s:I}", "clients",
                     (json_int_t)p->clients, "duration_s", p->duration_ms / 1000.0,
                     "access_token_s", p->access_token_ms[0] / 1000.0, "access_tokens_s", lifetimes,
                     "renew_before_s", p->renew_before_ms / 1000.0, "jitter_s",
                     p->jitter_ms / 1000.0, "login_spread_s", p->login_spread_ms / 1000.0,
                     "latency_s", p->latency_ms / 1000.0, "app_retry_s", p->app_retry_ms / 1000.0,
                     "max_retries", p->max_retries, "outages", outages, "seed",
                     (json_int_t)p->seed);
}

/* The highest rate in buckets [from, to), per second, and where it was. */
static double peak_rate(const model *m, size_t from, size_t to, size_t *at)
{
    uint32_t best = 0;
    *at = from;
    for (size_t b = from; b < to && b < m->n_buckets; b++)
        if (m->refresh[b] > best)
            best = m->refresh[b], *at = b;
    return best * 1000.0 / (double)m->p->bucket_ms;
}

static json_t *summary_json(const model *m, double wall_s)
{
    const hr_load_params *p = m->p;
    size_t at;
    double peak = peak_rate(m, 0, m->n_buckets, &at);
    double mean = m->n.refresh * 1000.0 / (double)p->duration_ms;
    json_t *after = json_array();
    for (size_t i = 0; i < p->n_outages; i++) { /* the herd: the 10 minutes after each end */
        int64_t end = p->outages[i].start_ms + p->outages[i].length_ms;
        size_t from = (size_t)(end / p->bucket_ms), to = (size_t)((end + 600000) / p->bucket_ms);
        size_t pat;
        double pk = peak_rate(m, from, to + 1, &pat);
        json_array_append_new(after, json_pack("{s:f, s:f}", "peak_per_s", pk, "peak_at_s",
                                               pat * p->bucket_ms / 1000.0));
    }
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:o, s:f}",
        "refresh_requests", (json_int_t)m->n.refresh, "refused", (json_int_t)m->n.refused,
        "renewed", (json_int_t)m->n.renewed, "logins", (json_int_t)m->n.logins, "login_retries",
        (json_int_t)m->n.login_retries, "gave_up", (json_int_t)m->n.gave_up, "clients_gave_up",
        (json_int_t)m->n.clients_gave_up, "clients_lost", (json_int_t)m->n.clients_lost,
        "peak_per_s", peak, "peak_at_s", at * p->bucket_ms / 1000.0, "mean_per_s", mean,
        "peak_to_mean", mean > 0 ? peak / mean : 0.0, "after_outages", after, "wall_s", wall_s);
}

static json_t *result_json(const model *m, double wall_s)
{
    return json_pack(
        "{s:o, s:s, s:s, s:s, s:f, s:{s:o, s:o, s:o}, s:o}", "model", params_json(m->p), "tokens",
        "opaque access tokens (random strings); refresh answers carry no ID token: nothing "
        "is signed",
        "transport",
        "in-memory: the mock IdP's dispatch called in-process, each answer delivered after the "
        "virtual latency",
        "sessions",
        "made with the IdP's code flow and PKCE (no openid scope), then adopted by renew_core "
        "(rc_client_attach); renew_core renews them with its own policy",
        "bucket_s", m->p->bucket_ms / 1000.0, "series", "refresh",
        series_json(m->refresh, m->n_buckets), "refused", series_json(m->refused, m->n_buckets),
        "logins", series_json(m->logins, m->n_buckets), "summary", summary_json(m, wall_s));
}

static int schedule(model *m, outage_arg *args)
{
    for (size_t i = 0; i < m->p->n_outages; i++) {
        args[i] = (outage_arg){m, i};
        const hr_outage *o = &m->p->outages[i];
        if (!m->clock->timer_start(m->clock->ctx, o->start_ms, outage_begin, &args[i]) ||
            !m->clock->timer_start(m->clock->ctx, o->start_ms + o->length_ms, outage_end, &args[i]))
            return -1;
    }
    for (size_t i = 0; i < m->p->clients; i++)
        if (client_init(m, &m->clients[i], i) != 0)
            return -1;
    return 0;
}

static void run_clock(model *m)
{
    int64_t until = m->t0 + m->p->duration_ms, next;
    while ((next = cm_virtclock_next_deadline(m->clock)) <= until) {
        m->clock->set_ms(m->clock->ctx, next);
        cm_virtclock_fire_due(m->clock);
    }
}

static void model_dispose(model *m)
{
    for (size_t i = 0; m->clients && i < m->p->clients; i++) {
        lclient *lc = &m->clients[i];
        rc_client_free(lc->c); /* cancels its requests: their answers are freed */
        if (lc->timer)
            m->clock->timer_cancel(m->clock->ctx, lc->timer);
        rc_memory_store_free(lc->store);
    }
    free(m->clients);
    free(m->refresh), free(m->refused), free(m->logins);
    idp_server_free(m->idp);
    cm_virtclock_free(m->clock);
    if (m->base)
        event_base_free(m->base);
}

json_t *hr_load_run(const hr_load_params *p, char *err, size_t errlen)
{
    model m = {.p = p, .t0 = LOAD_EPOCH_MS};
    outage_arg args[HR_LOAD_MAX_OUTAGES];
    int64_t wall = cm_wallclock_ms();
    m.n_buckets = (size_t)((p->duration_ms + p->bucket_ms - 1) / p->bucket_ms);
    m.rng = cm_rng_seeded(&m.rng_state, p->seed ^ 0x9e3779b97f4a7c15ULL);
    m.base = event_base_new(); /* renew_core wants one; the in-memory transport needs none */
    m.clock = cm_virtclock_new(LOAD_EPOCH_MS);
    m.clients = calloc(p->clients, sizeof *m.clients);
    m.refresh = calloc(m.n_buckets, sizeof *m.refresh);
    m.refused = calloc(m.n_buckets, sizeof *m.refused);
    m.logins = calloc(m.n_buckets, sizeof *m.logins);
    json_t *result = NULL;
    if (!m.base || !m.clock || !m.clients || !m.refresh || !m.refused || !m.logins)
        snprintf(err, errlen, "out of memory");
    else if (start_idp(&m, err, errlen) == 0) {
        if (schedule(&m, args) != 0)
            snprintf(err, errlen, "out of memory starting %zu clients", p->clients);
        else {
            run_clock(&m);
            result = result_json(&m, (cm_wallclock_ms() - wall) / 1000.0);
        }
    }
    model_dispose(&m);
    return result;
}
