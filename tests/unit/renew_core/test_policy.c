/* Renewal policy with an injected transport (a scripted IdP) on a virtual clock: shared
 * store across instances, fallback chain, rate bound, jitter, token-response shapes. */
#include <criterion/criterion.h>
#include <event2/event.h>

#include "cm_form.h"
#include "cm_virtclock.h"
#include "renew_core.h"
#include "signer.h"

#define T0 1800000000000LL
#define ISSUER "https://idp.test"

typedef struct fake_idp {
    cm_clock *clock;
    EVP_PKEY *key;
    int refreshes, codes, silent_calls;
    const char *token_body; /* the next refresh answer (printf format: %s = id_token) */
    int token_status;
    char last_silent_url[2048];
    char *hints[4]; /* id_token_hint of each silent renewal (NULL: none sent) */
} fake_idp;

typedef struct delivery {
    rc_http_done done;
    void *arg;
    int status;
    char *body;
    cm_timer *timer;
} delivery;

static fake_idp F;
static struct event_base *base;
static cm_clock *clock_;
static rc_memory_store *store;

static char *id_token_with(const char *sub, const char *nonce);

static char *id_token(const char *sub)
{
    return id_token_with(sub, NULL);
}

/* The nonce of the last silent authorization request, for the code exchange's ID token. */
static char *silent_nonce(void)
{
    const char *q = strchr(F.last_silent_url, '?');
    cm_form f;
    char *nonce = NULL;
    if (q && cm_form_parse(q + 1, strlen(q + 1), &f, NULL) == CM_FORM_OK &&
        cm_form_get(&f, "nonce"))
        nonce = strdup(cm_form_get(&f, "nonce"));
    if (q)
        cm_form_dispose(&f);
    return nonce;
}

static char *id_token_with(const char *sub, const char *nonce)
{
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "iss", ISSUER, "sub", sub, "aud", "app",
                          "iat", (json_int_t)(cm_clock_now(clock_) / 1000), "exp",
                          (json_int_t)(cm_clock_now(clock_) / 1000 + 300), "auth_time",
                          (json_int_t)(T0 / 1000));
    if (nonce)
        json_object_set_new(c, "nonce", json_string(nonce));
    char *tok = t_sign(F.key, "ES256", "k1", c);
    json_decref(c);
    return tok;
}

static void deliver(void *arg)
{
    delivery *d = arg;
    rc_http_response r = {.status = d->status, .body = d->body, .body_len = strlen(d->body)};
    d->done(d->arg, RC_OK, &r);
    free(d->body);
    free(d);
}

static char *answer(const rc_http_request *rq, int *status)
{
    *status = 200;
    if (strstr(rq->url, "openid-configuration"))
        return strdup("{\"issuer\":\"" ISSUER "\",\"token_endpoint\":\"" ISSUER "/token\","
                      "\"jwks_uri\":\"" ISSUER "/jwks\",\"authorization_endpoint\":\"" ISSUER
                      "/authorize\",\"revocation_endpoint\":\"" ISSUER "/revoke\"}");
    if (strstr(rq->url, "/jwks")) {
        json_t *doc = json_pack("{s:[o]}", "keys", t_jwk(F.key, "k1"));
        char *text = json_dumps(doc, 0);
        json_decref(doc);
        return text;
    }
    if (strstr(rq->url, "/token") && strstr(rq->body, "grant_type=refresh_token")) {
        F.refreshes++;
        *status = F.token_status ? F.token_status : 200;
    } else if (strstr(rq->url, "/token")) {
        F.codes++;
    }
    char *nonce = strstr(rq->body, "grant_type=authorization_code") ? silent_nonce() : NULL;
    char *idt = id_token_with("alice", nonce), *body = malloc(4096);
    free(nonce);
    snprintf(body, 4096,
             F.token_body && strstr(rq->body, "refresh_token")
                 ? F.token_body
                 : "{\"access_token\":\"at-%d\",\"token_type\":\"Bearer\",\"expires_in\":300,"
                   "\"refresh_token\":\"rt-next\",\"id_token\":\"%s\"}",
             F.refreshes + F.codes, idt);
    free(idt);
    return body;
}

static int fake_send(void *ctx, const rc_http_request *rq, rc_http_done done, void *arg,
                     void **handle)
{
    (void)ctx;
    delivery *d = calloc(1, sizeof *d);
    d->done = done;
    d->arg = arg;
    d->body = answer(rq, &d->status);
    d->timer = clock_->timer_start(clock_->ctx, 100, deliver, d); /* 100 ms of latency */
    *handle = d;
    return RC_OK;
}

static void fake_cancel(void *ctx, void *handle)
{
    (void)ctx;
    delivery *d = handle;
    clock_->timer_cancel(clock_->ctx, d->timer);
    free(d->body);
    free(d);
}

static int events[16];

static void on_event(void *arg, const rc_event *ev)
{
    (void)arg;
    events[ev->type]++;
}

static int started;

static void on_started(void *arg, int status)
{
    (void)arg;
    cr_assert_eq(status, RC_OK);
    started++;
}

static void run_for(int64_t ms)
{
    int64_t until = cm_clock_now(clock_) + ms;
    cm_loop_run(base, clock_, NULL, NULL, until, 1000);
    clock_->set_ms(clock_->ctx, until);
}

static rc_client *make_client(const rc_config *extra, rc_silent_cb silent)
{
    rc_config cfg = extra ? *extra : (rc_config){0};
    cfg.issuer = ISSUER;
    cfg.client_id = "app";
    cfg.redirect_uri = "https://app.test/cb";
    static cm_seeded_rng rng_state;
    rc_env env = {.base = base,
                  .clock = clock_,
                  .rng = cm_rng_seeded(&rng_state, 5),
                  .store = rc_memory_store_iface(store),
                  .transport = {.send = fake_send, .cancel = fake_cancel},
                  .on_event = on_event,
                  .silent = silent};
    rc_client *c;
    cr_assert_eq(rc_client_new(&cfg, &env, &c), RC_OK);
    cr_assert_eq(rc_client_start(c, on_started, NULL), RC_OK);
    run_for(1000);
    return c;
}

/* A session as if logged in at T0 with a 300 s token. */
static void seed_session(const char *refresh_token)
{
    char *idt = id_token("alice");
    rc_tokens t = {.access_token = "at-0",
                   .refresh_token = (char *)refresh_token,
                   .id_token = idt,
                   .scope = "openid offline_access",
                   .expires_at_ms = cm_clock_now(clock_) + 300000,
                   .received_at_ms = cm_clock_now(clock_),
                   .id_claims = "{\"iss\":\"" ISSUER "\",\"sub\":\"alice\",\"aud\":\"app\","
                                "\"auth_time\":1800000000}"};
    rc_store s = rc_memory_store_iface(store);
    cr_assert_eq(s.save(s.ctx, &t), RC_OK);
    free(idt);
}

static void setup(void)
{
    memset(&F, 0, sizeof F);
    memset(events, 0, sizeof events);
    base = event_base_new();
    clock_ = cm_virtclock_new(T0);
    store = rc_memory_store_new();
    F.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    started = 0;
}

static void teardown(void)
{
    for (int i = 0; i < 4; i++)
        free(F.hints[i]);
    rc_memory_store_free(store);
    cm_virtclock_free(clock_);
    event_base_free(base);
    EVP_PKEY_free(F.key);
}

TestSuite(policy, .init = setup, .fini = teardown);

Test(policy, two_instances_sharing_a_store_refresh_once)
{
    rc_client *tab1 = make_client(NULL, NULL), *tab2 = make_client(NULL, NULL);
    seed_session("rt-0");
    cr_assert_eq(rc_client_attach(tab1), RC_OK);
    cr_assert_eq(rc_client_attach(tab2), RC_OK);
    run_for(250 * 1000); /* both tabs' timers fire at 240 s */
    cr_assert_eq(F.refreshes, 1, "the second tab waits for the lock and adopts the result");
    cr_assert_str_eq(rc_client_access_token(tab1), rc_client_access_token(tab2));
    rc_client_free(tab1);
    rc_client_free(tab2);
}

static int silent_mode; /* 0: returns a code, 1: login_required, 2: wrong state */

static int silent(void *arg, const char *url, rc_silent_done done, void *done_arg)
{
    (void)arg;
    F.silent_calls++;
    snprintf(F.last_silent_url, sizeof F.last_silent_url, "%s", url);
    const char *q = strchr(url, '?') + 1;
    cm_form f;
    cr_assert_eq(cm_form_parse(q, strlen(q), &f, NULL), CM_FORM_OK);
    char cb[1024];
    snprintf(cb, sizeof cb, "https://app.test/cb?%s&state=%s",
             silent_mode == 1 ? "error=login_required" : "code=c-1",
             silent_mode == 2 ? "forged" : cm_form_get(&f, "state"));
    cr_assert_str_eq(cm_form_get(&f, "prompt"), "none");
    cr_assert_str_eq(cm_form_get(&f, "code_challenge_method"), "S256");
    cr_assert_not_null(cm_form_get(&f, "nonce"));
    const char *hint = cm_form_get(&f, "id_token_hint");
    if (F.silent_calls <= 4)
        F.hints[F.silent_calls - 1] = hint ? strdup(hint) : NULL;
    cm_form_dispose(&f);
    done(done_arg, cb, 0);
    return 0;
}

Test(policy, invalid_grant_falls_back_to_silent_renewal)
{
    silent_mode = 0;
    rc_client *c = make_client(NULL, silent);
    seed_session("rt-0");
    rc_client_attach(c);
    F.token_status = 400;
    F.token_body = "{\"error\":\"invalid_grant\"}";
    run_for(250 * 1000);
    cr_assert_eq(F.refreshes, 1);
    cr_assert_eq(F.silent_calls, 1);
    cr_assert_eq(F.codes, 1);
    cr_assert_eq(events[RC_EV_RENEWED], 1, "renewed through prompt=none");
    cr_assert_eq(events[RC_EV_SESSION_LOST], 0);
    cr_assert_str_eq(rc_client_access_token(c), "at-2");
    rc_client_free(c);
}

Test(policy, silent_login_required_means_interaction_required)
{
    silent_mode = 1;
    rc_client *c = make_client(&(rc_config){.methods = RC_METHOD_SILENT}, silent);
    seed_session(NULL);
    rc_client_attach(c);
    run_for(250 * 1000);
    cr_assert_eq(F.refreshes, 0, "silent only: no refresh grant");
    cr_assert_eq(F.silent_calls, 1);
    cr_assert_eq(events[RC_EV_INTERACTION_REQUIRED], 1);
    cr_assert_eq(events[RC_EV_SESSION_LOST], 1);
    rc_client_free(c);
}

Test(policy, silent_answer_with_a_forged_state_is_refused)
{
    silent_mode = 2;
    rc_client *c = make_client(&(rc_config){.methods = RC_METHOD_SILENT}, silent);
    seed_session(NULL);
    rc_client_attach(c);
    run_for(250 * 1000);
    cr_assert_eq(F.codes, 0, "no code exchange for an answer to someone else's request");
    cr_assert_eq(events[RC_EV_SESSION_LOST], 1);
    rc_client_free(c);
}

Test(policy, no_refresh_token_and_no_silent_is_interaction_required)
{
    rc_client *c = make_client(NULL, NULL);
    seed_session(NULL);
    rc_client_attach(c);
    run_for(250 * 1000);
    cr_assert_eq(events[RC_EV_INTERACTION_REQUIRED], 1);
    rc_client_free(c);
}

Test(policy, lifetime_shorter_than_the_margin_is_rate_bound)
{
    rc_client *c = make_client(NULL, NULL);
    seed_session("rt-0");
    rc_client_attach(c);
    F.token_body = "{\"access_token\":\"short\",\"token_type\":\"Bearer\",\"expires_in\":30}";
    run_for(300 * 1000 + 60 * 1000);
    /* first renewal at 240 s; then 30 s tokens, renewed every 5 s (min_interval), not in a loop */
    cr_assert(F.refreshes >= 20 && F.refreshes <= 25, "refreshes: %d", F.refreshes);
    rc_client_free(c);
}

Test(policy, jitter_renews_earlier_within_its_bound)
{
    rc_client *c = make_client(&(rc_config){.jitter_ms = 30000}, NULL);
    seed_session("rt-0");
    rc_client_attach(c);
    run_for(209 * 1000);
    int before = F.refreshes;
    run_for(31 * 1000); /* up to 240 s */
    cr_assert_eq(before, 0, "not earlier than margin + jitter");
    cr_assert_eq(F.refreshes, 1, "renewed within [210 s, 240 s]");
    rc_client_free(c);
}

Test(policy, answer_without_refresh_or_id_token_keeps_the_old_ones)
{
    rc_client *c = make_client(NULL, NULL);
    seed_session("rt-0");
    rc_client_attach(c);
    F.token_body = "{\"access_token\":\"at-new\",\"token_type\":\"bearer\",\"expires_in\":\"300\"}";
    run_for(250 * 1000);
    cr_assert_eq(events[RC_EV_RENEWED], 1, "lower-case bearer and a numeric string are fine");
    rc_tokens t;
    rc_store s = rc_memory_store_iface(store);
    s.load(s.ctx, &t);
    cr_assert_str_eq(t.access_token, "at-new");
    cr_assert_str_eq(t.refresh_token, "rt-0");
    cr_assert_not_null(t.id_token);
    rc_tokens_dispose(&t);
    rc_client_free(c);
}

Test(policy, non_bearer_token_type_is_not_accepted)
{
    rc_client *c = make_client(&(rc_config){.max_retries = 1}, NULL);
    seed_session("rt-0");
    rc_client_attach(c);
    F.token_body = "{\"access_token\":\"x\",\"token_type\":\"mac\",\"expires_in\":300}";
    run_for(250 * 1000);
    cr_assert_eq(events[RC_EV_RENEWED], 0);
    cr_assert_str_eq(rc_client_access_token(c), "at-0");
    rc_client_free(c);
}

Test(policy, gives_up_after_max_retries_but_keeps_the_session)
{
    rc_client *c = make_client(&(rc_config){.max_retries = 3}, NULL);
    seed_session("rt-0");
    rc_client_attach(c);
    F.token_status = 503;
    F.token_body = "{}";
    run_for(260 * 1000);
    cr_assert_eq(F.refreshes, 4, "one try and three retries");
    cr_assert_eq(events[RC_EV_RENEW_FAILED], 4);
    cr_assert_eq(events[RC_EV_SESSION_LOST], 0);
    cr_assert_str_eq(rc_client_access_token(c), "at-0");
    rc_client_free(c);
}

/* The ID token in the store (a copy), the session's latest. */
static char *stored_id_token(void)
{
    rc_store s = rc_memory_store_iface(store);
    rc_tokens t;
    cr_assert_eq(s.load(s.ctx, &t), RC_OK);
    char *idt = strdup(t.id_token);
    rc_tokens_dispose(&t);
    return idt;
}

/* OIDC Core §3.1.2.1: id_token_hint with every prompt=none, the session's latest ID token
 * (some IdPs accept no other), and the login's no more once a renewal brought a new one. */
Test(policy, every_silent_renewal_sends_the_latest_id_token_as_hint)
{
    silent_mode = 0;
    rc_client *c = make_client(&(rc_config){.methods = RC_METHOD_SILENT}, silent);
    seed_session(NULL);
    char *login = stored_id_token();
    rc_client_attach(c);
    run_for(250 * 1000); /* 300 s tokens renewed 60 s early */
    cr_assert_eq(F.silent_calls, 1);
    cr_assert_not_null(F.hints[0], "no id_token_hint with prompt=none");
    cr_assert_str_eq(F.hints[0], login);
    char *renewed = stored_id_token();
    cr_assert_str_neq(renewed, login, "the renewal brought a new ID token");
    run_for(240 * 1000);
    cr_assert_eq(F.silent_calls, 2);
    cr_assert_str_eq(F.hints[1], renewed, "the latest ID token, not the login's");
    free(login), free(renewed);
    rc_client_free(c);
}

Test(policy, the_id_token_hint_can_be_left_out)
{
    silent_mode = 0;
    rc_client *c =
        make_client(&(rc_config){.methods = RC_METHOD_SILENT, .id_token_hint = -1}, silent);
    seed_session(NULL);
    rc_client_attach(c);
    run_for(250 * 1000);
    cr_assert_eq(F.silent_calls, 1);
    cr_assert_null(F.hints[0]);
    cr_assert_eq(events[RC_EV_RENEWED], 1);
    rc_client_free(c);
}
