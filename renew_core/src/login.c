/* Logging in with the IdP session cookie: the authorization request (authorize.c), its
 * callback redeemed, then the first renewal scheduled. */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct login_op {
    rc_done_cb done;
    void *arg;
    char state[64], nonce[64], verifier[64];
} login_op;

static void login_finish(rc_client *c, void *opv, int status, const char *error)
{
    login_op *op = opv;
    c->op = NULL;
    if (status == RC_OK) {
        rc_emit(c, RC_EV_LOGGED_IN, 0, 0, "code", NULL);
        rc_schedule_renewal(c);
    } else {
        rc_emit(c, RC_EV_SESSION_LOST, status, 0, "code", error);
    }
    rc_done_cb done = op->done;
    void *arg = op->arg;
    free(op);
    done(arg, status);
}

static void on_authorize(rc_client *c, void *opv, int err, const rc_http_response *r)
{
    login_op *op = opv;
    if (err || r->status != 302 || !r->location) {
        login_finish(c, op, err ? err : RC_EINTERACTION, "authorize did not redirect");
        return;
    }
    rc_redeem_callback(c, op, r->location, op->state, op->nonce, op->verifier, login_finish);
}

int rc_client_login_with_cookie(rc_client *c, const char *cookie, rc_done_cb done, void *arg)
{
    if (c->op || !c->token_endpoint || !c->authorization_endpoint || !c->redirect_uri)
        return RC_EINVAL; /* start first, one operation at a time */
    login_op *op = calloc(1, sizeof *op);
    if (!op)
        return RC_ENOMEM;
    op->done = done;
    op->arg = arg;
    char *url = rc_authorize_url(c, 0, op->state, op->nonce, op->verifier);
    rc_http_request rq = {.method = "GET", .url = url, .cookie = cookie};
    int rc = url ? rc_call_start(c, op, &rq, on_authorize) : RC_ENOMEM;
    free(url);
    if (rc != RC_OK) {
        free(op);
        return rc;
    }
    c->logged_out = 0;
    c->op = op;
    return RC_OK;
}
