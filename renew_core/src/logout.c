/* Logout: revoke the refresh token, then the access token (RFC 7009) when the IdP
 * advertises revocation; retry 503 with backoff; never use the refresh token again. */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct logout_op {
    rc_done_cb done;
    void *arg;
    char *tokens[2]; /* still to revoke: refresh first (it kills the grant), then access */
    const char *hints[2];
    int next, attempt;
    cm_timer *retry;
} logout_op;

static void revoke_next(rc_client *c, logout_op *op);

static void logout_finish(rc_client *c, logout_op *op, int status)
{
    c->op = NULL;
    c->env.store.clear(c->env.store.ctx);
    c->has_session = 0;
    rc_emit(c, RC_EV_LOGGED_OUT, status, 0, "revoke", status ? rc_strerror(status) : NULL);
    rc_done_cb done = op->done;
    void *arg = op->arg;
    rc_timer_cancel(c, &op->retry);
    free(op->tokens[0]), free(op->tokens[1]);
    free(op);
    done(arg, status);
}

static void on_retry(void *arg)
{
    rc_client *c = arg;
    logout_op *op = c->op;
    op->retry = NULL;
    revoke_next(c, op);
}

static void on_revoked(rc_client *c, void *opv, int err, const rc_http_response *r)
{
    logout_op *op = opv;
    int transient = err || r->status >= 500 || r->status == 429;
    if (!transient) { /* 200, or a 4xx that retrying will not fix */
        op->next++;
        op->attempt = 0;
        revoke_next(c, op);
        return;
    }
    if (++op->attempt > c->cfg.max_retries) {
        logout_finish(c, op, RC_EGAVE_UP);
        return;
    }
    int64_t delay = rc_backoff_ms(c, op->attempt, rc_retry_after_ms(r));
    op->retry = c->env.clock->timer_start(c->env.clock->ctx, delay, on_retry, c);
}

static void revoke_next(rc_client *c, logout_op *op)
{
    while (op->next < 2 && !op->tokens[op->next])
        op->next++;
    if (op->next >= 2) {
        logout_finish(c, op, RC_OK);
        return;
    }
    cm_strbuf b;
    cm_strbuf_init(&b);
    rc_form_add(&b, "token", op->tokens[op->next]);
    rc_form_add(&b, "token_type_hint", op->hints[op->next]);
    rc_form_client(c, &b);
    int rc = rc_post_form(c, op, c->revocation_endpoint, &b, on_revoked);
    if (rc != RC_OK)
        logout_finish(c, op, rc);
}

int rc_client_logout(rc_client *c, rc_done_cb done, void *arg)
{
    if (c->op)
        return RC_EINVAL;
    logout_op *op = calloc(1, sizeof *op);
    if (!op)
        return RC_ENOMEM;
    op->done = done;
    op->arg = arg;
    c->logged_out = 1; /* from now on the refresh token is never used */
    rc_renewals_cancel(c, RC_ELOGGED_OUT);
    rc_timer_cancel(c, &c->renew_timer);
    int revoke =
        c->revocation_endpoint && c->cfg.revoke_on_logout && !(c->cfg.misbehave & RC_BAD_NO_REVOKE);
    if (revoke) {
        op->tokens[0] = rc_strdup(c->tok.refresh_token);
        op->hints[0] = "refresh_token";
        op->tokens[1] = rc_strdup(c->tok.access_token);
        op->hints[1] = "access_token";
    }
    c->op = op;
    revoke_next(c, op); /* with nothing to revoke this finishes at once */
    return RC_OK;
}
