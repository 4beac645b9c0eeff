/* Renewal: single flight, the store lock shared with other instances, the refresh grant
 * with rotation, backoff on transient failures, terminal errors, and the fallback chain
 * refresh token -> prompt=none callback -> interaction required. */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>

struct rc_renewal {
    rc_opbase base; /* first: JWKS refetch continues through it */
    rc_client *c;
    rc_waiter *waiters;
    int attempt, waiting_lock, jwks_refetched, locked;
    cm_timer *retry;
    char *saved_body; /* the answer being validated across a JWKS refetch */
    size_t saved_len;
    char state[64], nonce[64], verifier[64]; /* silent renewal */
    int silent;                              /* the current attempt uses prompt=none */
    struct rc_renewal *next;
};

static void attempt(rc_renewal *r);

static void unlock(rc_renewal *r)
{
    if (r->locked)
        r->c->env.store.unlock(r->c->env.store.ctx, r->c);
    r->locked = 0;
}

static void complete(rc_renewal *r, int status)
{
    rc_client *c = r->c;
    for (rc_renewal **p = &c->renewals; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    unlock(r);
    rc_timer_cancel(c, &r->retry);
    rc_calls_cancel(c, r);
    rc_waiter *w = r->waiters;
    free(r->saved_body);
    free(r);
    while (w) { /* every caller that shared this renewal gets its outcome */
        rc_waiter *next = w->next;
        w->cb(w->arg, status, status == RC_OK ? c->tok.access_token : NULL);
        free(w);
        w = next;
    }
}

static void session_lost(rc_renewal *r, int status, const char *detail)
{
    rc_client *c = r->c;
    c->env.store.clear(c->env.store.ctx);
    c->has_session = 0;
    rc_timer_cancel(c, &c->renew_timer);
    rc_emit(c, status == RC_EINTERACTION ? RC_EV_INTERACTION_REQUIRED : RC_EV_SESSION_LOST, status,
            0, r->silent ? "silent" : "refresh_token", detail);
    if (status == RC_EINTERACTION)
        rc_emit(c, RC_EV_SESSION_LOST, status, 0, NULL, detail);
    complete(r, status);
}

static void succeeded(rc_renewal *r)
{
    rc_client *c = r->c;
    unlock(r);
    rc_emit(c, RC_EV_RENEWED, 0, 0, r->silent ? "silent" : "refresh_token", NULL);
    rc_schedule_renewal(c);
    complete(r, RC_OK);
}

static void on_retry(void *arg)
{
    rc_renewal *r = arg;
    r->retry = NULL;
    attempt(r);
}

/* Capped exponential backoff, at least what Retry-After asks for (none when misbehaving). */
static int64_t backoff_ms(const rc_client *c, int attempt_no, int64_t retry_after)
{
    if (c->cfg.misbehave & RC_BAD_NO_BACKOFF)
        return 0;
    return rc_backoff_ms(c, attempt_no, retry_after);
}

static void transient(rc_renewal *r, int status, const char *detail, int64_t retry_after)
{
    rc_client *c = r->c;
    unlock(r);
    if (++r->attempt > c->cfg.max_retries) {
        /* give up for now, keep the session: the next get_token tries again */
        rc_emit(c, RC_EV_RENEW_FAILED, RC_EGAVE_UP, 0, r->silent ? "silent" : "refresh_token",
                detail);
        if (r->silent) {
            session_lost(r, RC_EINTERACTION, "silent renewal never answered");
            return;
        }
        complete(r, RC_EGAVE_UP);
        return;
    }
    rc_emit(c, RC_EV_RENEW_FAILED, status, 1, r->silent ? "silent" : "refresh_token", detail);
    r->retry = c->env.clock->timer_start(c->env.clock->ctx, backoff_ms(c, r->attempt, retry_after),
                                         on_retry, r);
}

static void start_silent(rc_renewal *r);

static void grant_dead(rc_renewal *r, int status, const char *detail)
{
    rc_client *c = r->c;
    /* the refresh token is never sent again */
    free(c->tok.refresh_token);
    c->tok.refresh_token = NULL;
    if (c->env.store.save(c->env.store.ctx, &c->tok) == RC_OK) {
        rc_tokens_dispose(&c->tok); /* reload: the store's version is the one to compare */
        c->env.store.load(c->env.store.ctx, &c->tok);
    }
    rc_emit(c, RC_EV_RENEW_FAILED, status, 0, "refresh_token", detail);
    if ((c->cfg.methods & RC_METHOD_SILENT) && c->env.silent && status == RC_EINVALID_GRANT)
        start_silent(r);
    else
        session_lost(r, status, detail);
}

static void judge_answer(rc_renewal *r, const rc_http_response *resp);

static void after_jwks(rc_client *c, void *op, int status)
{
    rc_renewal *r = op;
    (void)c;
    if (status != RC_OK) {
        session_lost(r, RC_EJWT_KID, "JWKS refetch failed");
        return;
    }
    rc_http_response again = {.status = 200, .body = r->saved_body, .body_len = r->saved_len};
    judge_answer(r, &again);
}

static void judge_answer(rc_renewal *r, const rc_http_response *resp)
{
    rc_client *c = r->c;
    rc_token_answer a;
    int rc = rc_token_answer_parse(c, resp, NULL, &a);
    if (rc == RC_EJWT_KID && !r->jwks_refetched) { /* keys rotated: refetch once */
        r->jwks_refetched = 1;
        free(r->saved_body);
        r->saved_body = malloc(resp->body_len + 1);
        if (r->saved_body) {
            memcpy(r->saved_body, resp->body, resp->body_len);
            r->saved_len = resp->body_len;
            if (rc_jwks_refetch(c, &r->base) == RC_OK) {
                rc_token_answer_dispose(&a);
                return;
            }
        }
    }
    if (rc == RC_OK)
        rc = rc_session_commit(c, &a);
    rc_token_answer_dispose(&a);
    if (rc == RC_OK)
        succeeded(r);
    else if (rc == RC_EPROTOCOL) /* a broken body: the answer was lost on the way */
        transient(r, rc, "malformed token response", 0);
    else
        session_lost(r, rc, rc_err_name(rc)); /* never keep tokens that failed checks */
}

static void on_refresh(rc_client *c, void *op, int err, const rc_http_response *resp)
{
    rc_renewal *r = op;
    char error[64] = "";
    if (err) {
        transient(r, err, rc_strerror(err), 0);
        return;
    }
    if (resp->status == 200) {
        judge_answer(r, resp);
        return;
    }
    int rc = rc_classify_error(resp, error, sizeof error);
    if (rc_is_transient(rc) ||
        (rc == RC_EINVALID_GRANT && (c->cfg.misbehave & RC_BAD_RETRY_INVALID_GRANT)))
        transient(r, rc, *error ? error : "server error", rc_retry_after_ms(resp));
    else
        grant_dead(r, rc, *error ? error : rc_strerror(rc));
}

static void send_refresh(rc_renewal *r)
{
    rc_client *c = r->c;
    cm_strbuf b;
    cm_strbuf_init(&b);
    rc_form_add(&b, "grant_type", "refresh_token");
    rc_form_add(&b, "refresh_token", c->tok.refresh_token);
    rc_form_client(c, &b);
    r->silent = 0;
    int rc = rc_post_form(c, r, c->token_endpoint, &b, on_refresh);
    if (rc != RC_OK)
        transient(r, rc, rc_strerror(rc), 0);
}

static void on_silent_code(rc_client *c, void *op, int status, const char *error)
{
    (void)c;
    rc_renewal *r = op;
    if (status == RC_OK)
        succeeded(r);
    else if (rc_is_transient(status))
        transient(r, status, error, 0);
    else
        session_lost(r, status, error);
}

static void on_silent_done(void *arg, const char *callback_url, int err)
{
    rc_renewal *r = arg;
    if (err || !callback_url) {
        transient(r, err ? err : RC_ETIMEOUT, "silent renewal did not come back", 0);
        return;
    }
    int rc =
        rc_redeem_callback(r->c, r, callback_url, r->state, r->nonce, r->verifier, on_silent_code);
    if (rc != RC_OK)
        session_lost(r, rc, "cannot redeem the silent renewal");
}

static void start_silent(rc_renewal *r)
{
    rc_client *c = r->c;
    r->silent = 1;
    char *url = rc_authorize_url(c, 1, r->state, r->nonce, r->verifier);
    int rc = url ? c->env.silent(c->env.silent_arg, url, on_silent_done, r) : RC_ENOMEM;
    free(url);
    if (rc != 0)
        session_lost(r, RC_EINTERACTION, "silent renewal not possible");
}

static void on_store_changed(void *arg)
{
    rc_client *c = arg;
    for (rc_renewal *r = c->renewals; r; r = r->next) {
        if (r->waiting_lock) {
            r->waiting_lock = 0;
            c->env.store.watch(c->env.store.ctx, c, NULL, NULL);
            attempt(r);
            return; /* attempt() may have completed r: stop iterating */
        }
    }
}

/* Another instance (tab) may have renewed while we waited: adopt its tokens (1). An
 * empty store means another instance logged out or lost the session (-1). */
static int adopt_from_store(rc_client *c)
{
    rc_tokens t;
    int rc = c->env.store.load(c->env.store.ctx, &t);
    if (rc == RC_ENO_SESSION)
        return -1;
    if (rc != RC_OK)
        return 0;
    if (t.version == c->tok.version) {
        rc_tokens_dispose(&t);
        return 0;
    }
    rc_tokens_dispose(&c->tok);
    c->tok = t;
    c->last_renewal_ms = t.received_at_ms;
    return c->tok.access_token && c->tok.expires_at_ms > rc_now(c) + c->cfg.renew_before_ms;
}

static void attempt(rc_renewal *r)
{
    rc_client *c = r->c;
    int single = !(c->cfg.misbehave & RC_BAD_NO_SINGLE_FLIGHT);
    if (single && !c->env.store.try_lock(c->env.store.ctx, c)) {
        r->waiting_lock = 1;
        c->env.store.watch(c->env.store.ctx, c, on_store_changed, c);
        return;
    }
    r->locked = single;
    int adopted = single ? adopt_from_store(c) : 0;
    if (adopted < 0) { /* never revive a session another tab ended with its refresh token */
        unlock(r);
        c->has_session = 0;
        rc_timer_cancel(c, &c->renew_timer);
        rc_emit(c, RC_EV_SESSION_LOST, RC_ELOGGED_OUT, 0, NULL, "the shared session ended");
        complete(r, RC_ELOGGED_OUT);
    } else if (adopted) {
        unlock(r);
        rc_schedule_renewal(c);
        complete(r, RC_OK);
    } else if (c->tok.refresh_token && (c->cfg.methods & RC_METHOD_REFRESH)) {
        send_refresh(r);
    } else if ((c->cfg.methods & RC_METHOD_SILENT) && c->env.silent) {
        start_silent(r);
    } else {
        unlock(r);
        session_lost(r, RC_EINTERACTION, "no refresh token and no silent renewal");
    }
}

void rc_renew_start(rc_client *c, rc_waiter *w)
{
    if (c->logged_out || !c->has_session) {
        if (w) {
            w->cb(w->arg, c->logged_out ? RC_ELOGGED_OUT : RC_ENO_SESSION, NULL);
            free(w);
        }
        return;
    }
    int single = !(c->cfg.misbehave & RC_BAD_NO_SINGLE_FLIGHT);
    rc_renewal *r = single ? c->renewals : NULL;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) {
            if (w) {
                w->cb(w->arg, RC_ENOMEM, NULL);
                free(w);
            }
            return;
        }
        r->c = c;
        r->base.after_jwks = after_jwks;
        r->next = c->renewals;
        c->renewals = r;
        if (w) {
            w->next = r->waiters;
            r->waiters = w;
        }
        attempt(r);
        return;
    }
    if (w) { /* single flight: join the renewal under way */
        w->next = r->waiters;
        r->waiters = w;
    }
}

void rc_renewals_cancel(rc_client *c, int status)
{
    while (c->renewals)
        complete(c->renewals, status);
}

/* ---- scheduling --------------------------------------------------------------------- */

static void on_renew_timer(void *arg)
{
    rc_client *c = arg;
    c->renew_timer = NULL;
    rc_renew_start(c, NULL);
}

void rc_schedule_renewal(rc_client *c)
{
    rc_timer_cancel(c, &c->renew_timer);
    if (!c->has_session || c->logged_out || !c->tok.expires_at_ms)
        return; /* unknown lifetime: renew when a resource server answers 401 */
    int64_t now = rc_now(c), due;
    if (c->cfg.misbehave & RC_BAD_RENEW_AFTER_EXPIRY) {
        due = c->tok.expires_at_ms + 1000;
    } else {
        int64_t jitter = 0;
        if (c->cfg.jitter_ms > 0) {
            double u = cm_rng_unit(&c->env.rng);
            jitter = (int64_t)((u < 0 ? 0 : u) * (double)c->cfg.jitter_ms);
        }
        due = c->tok.expires_at_ms - c->cfg.renew_before_ms - jitter;
        /* a lifetime shorter than the margin must not turn into a renewal loop */
        if (due < c->last_renewal_ms + c->cfg.min_interval_ms)
            due = c->last_renewal_ms + c->cfg.min_interval_ms;
    }
    c->renew_timer =
        c->env.clock->timer_start(c->env.clock->ctx, due > now ? due - now : 0, on_renew_timer, c);
}
