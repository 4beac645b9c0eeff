/* The client: configuration, discovery and JWKS, tokens (events: env.c; renewal
 * scheduling: renew.c). */
#include "client_int.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

static void defaults(rc_config *cfg)
{
    if (!cfg->renew_before_ms)
        cfg->renew_before_ms = 60 * 1000;
    if (!cfg->min_interval_ms)
        cfg->min_interval_ms = 5 * 1000;
    if (!cfg->request_timeout_ms)
        cfg->request_timeout_ms = 10 * 1000;
    if (!cfg->max_retries)
        cfg->max_retries = 4;
    if (!cfg->backoff_initial_ms)
        cfg->backoff_initial_ms = 1000;
    if (!cfg->backoff_max_ms)
        cfg->backoff_max_ms = 60 * 1000;
    if (!cfg->clock_skew_ms)
        cfg->clock_skew_ms = 60 * 1000;
    cfg->revoke_on_logout = cfg->revoke_on_logout >= 0;
    cfg->id_token_hint = cfg->id_token_hint >= 0;
}

int rc_client_new(const rc_config *cfg, const rc_env *env, rc_client **out)
{
    if (!cfg || !env || !cfg->issuer || !cfg->client_id || !env->base || !env->clock ||
        !env->rng.bytes || !env->store.load)
        return RC_EINVAL;
    rc_client *c = calloc(1, sizeof *c);
    if (!c)
        return RC_ENOMEM;
    c->cfg = *cfg;
    defaults(&c->cfg);
    c->env = *env;
    c->events_tail = &c->events;
    c->issuer = rc_strdup(cfg->issuer);
    c->client_id = rc_strdup(cfg->client_id);
    c->client_secret = rc_strdup(cfg->client_secret);
    c->redirect_uri = rc_strdup(cfg->redirect_uri);
    c->scope = rc_strdup(cfg->scope ? cfg->scope : "openid offline_access");
    if (!c->cfg.methods)
        c->cfg.methods = RC_METHOD_REFRESH | (env->silent ? RC_METHOD_SILENT : 0);
    int rc = RC_OK;
    if (!env->transport.send) {
        rc = rc_transport_evhttp_new(env->base, env->clock, env->ca_file, &c->env.transport);
        c->own_transport = rc == RC_OK;
    }
    if (rc != RC_OK || !c->issuer || !c->client_id || !c->scope) {
        rc_client_free(c);
        return rc != RC_OK ? rc : RC_ENOMEM;
    }
    *out = c;
    return RC_OK;
}

void rc_client_free(rc_client *c)
{
    if (!c)
        return;
    rc_renewals_cancel(c, RC_ELOGGED_OUT);
    rc_calls_cancel(c, NULL);
    rc_timer_cancel(c, &c->renew_timer);
    rc_events_dispose(c);
    if (c->env.store.watch)
        c->env.store.watch(c->env.store.ctx, c, NULL, NULL);
    if (c->env.store.unlock)
        c->env.store.unlock(c->env.store.ctx, c);
    if (c->own_transport)
        rc_transport_evhttp_free(&c->env.transport);
    free(c->op);
    rc_jwks_dispose(&c->jwks);
    rc_tokens_dispose(&c->tok);
    json_decref(c->id_claims);
    free(c->issuer), free(c->client_id), free(c->client_secret), free(c->redirect_uri);
    free(c->scope), free(c->authorization_endpoint), free(c->token_endpoint), free(c->jwks_uri);
    free(c->revocation_endpoint), free(c->end_session_endpoint);
    free(c);
}

/* ---- start: discovery and JWKS ---------------------------------------------------- */

typedef struct start_op {
    rc_done_cb done;
    void *arg;
} start_op;

static void finish_op(rc_client *c, int status)
{
    start_op *op = c->op;
    c->op = NULL;
    op->done(op->arg, status);
    free(op);
}

static int get(rc_client *c, void *op, const char *url, rc_call_cb cb)
{
    rc_http_request rq = {.method = "GET", .url = url};
    return rc_call_start(c, op, &rq, cb);
}

static void on_jwks(rc_client *c, void *op, int err, const rc_http_response *r)
{
    (void)op;
    finish_op(c, rc_jwks_from_answer(c, err, r));
}

static const char *meta(json_t *d, const char *name)
{
    return json_string_value(json_object_get(d, name));
}

/* RFC 8414 §3.3 / OIDC Discovery §4.3: the issuer in the metadata must be exactly ours. */
static int use_discovery(rc_client *c, const rc_http_response *r)
{
    json_t *d = r->status == 200 ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    int rc = RC_EDISCOVERY;
    if (json_is_object(d) && meta(d, "issuer") && !strcmp(meta(d, "issuer"), c->issuer) &&
        meta(d, "token_endpoint") && meta(d, "jwks_uri")) {
        rc_set_str(&c->authorization_endpoint, meta(d, "authorization_endpoint"));
        rc_set_str(&c->token_endpoint, meta(d, "token_endpoint"));
        rc_set_str(&c->jwks_uri, meta(d, "jwks_uri"));
        rc_set_str(&c->revocation_endpoint, meta(d, "revocation_endpoint"));
        rc_set_str(&c->end_session_endpoint, meta(d, "end_session_endpoint"));
        rc = RC_OK;
    }
    json_decref(d);
    return rc;
}

static void on_discovery(rc_client *c, void *op, int err, const rc_http_response *r)
{
    if (!err)
        err = use_discovery(c, r);
    if (!err)
        err = get(c, op, c->jwks_uri, on_jwks);
    if (err)
        finish_op(c, err);
}

int rc_client_start(rc_client *c, rc_done_cb done, void *arg)
{
    if (c->op)
        return RC_EINVAL; /* one operation at a time */
    start_op *op = calloc(1, sizeof *op);
    if (!op)
        return RC_ENOMEM;
    *op = (start_op){done, arg};
    char url[1024];
    snprintf(url, sizeof url, "%s/.well-known/openid-configuration", c->issuer);
    int rc = get(c, op, url, on_discovery);
    if (rc != RC_OK) {
        free(op);
        return rc;
    }
    c->op = op;
    return RC_OK;
}

/* ---- tokens ------------------------------------------------------------------------- */

static int token_fresh(const rc_client *c)
{
    if (!c->tok.access_token)
        return 0;
    if (!c->tok.expires_at_ms)
        return 1;
    int64_t margin = (c->cfg.misbehave & RC_BAD_RENEW_AFTER_EXPIRY) ? 0 : c->cfg.renew_before_ms;
    return rc_now(c) < c->tok.expires_at_ms - margin;
}

int rc_client_get_token(rc_client *c, rc_token_cb cb, void *arg)
{
    if (c->logged_out)
        return RC_ELOGGED_OUT;
    if (!c->has_session)
        return RC_ENO_SESSION;
    if (token_fresh(c) || (c->renewals == NULL && c->tok.expires_at_ms &&
                           rc_now(c) < c->last_renewal_ms + c->cfg.min_interval_ms &&
                           rc_now(c) < c->tok.expires_at_ms)) {
        cb(arg, RC_OK, c->tok.access_token); /* fresh enough: answered at once */
        return RC_OK;
    }
    rc_waiter *w = calloc(1, sizeof *w);
    if (!w)
        return RC_ENOMEM;
    *w = (rc_waiter){.cb = cb, .arg = arg};
    rc_renew_start(c, w);
    return RC_OK;
}

static int bearer_invalid_token(const char *www_authenticate)
{
    return www_authenticate && strstr(www_authenticate, "invalid_token") != NULL;
}

int rc_client_resource_error(rc_client *c, int http_status, const char *www_authenticate)
{
    /* RFC 6750 §3.1: only invalid_token says the token is dead; insufficient_scope (403)
     * would get the same answer with a new token */
    if (http_status != 401 || !c->has_session || c->logged_out)
        return 0;
    if (www_authenticate && !bearer_invalid_token(www_authenticate))
        return 0;
    c->tok.expires_at_ms = rc_now(c); /* forces the next get_token to renew */
    c->last_renewal_ms = 0;
    rc_renew_start(c, NULL);
    return 1;
}

int rc_client_attach(rc_client *c)
{
    rc_tokens t;
    int rc = c->env.store.load(c->env.store.ctx, &t);
    if (rc != RC_OK)
        return rc;
    rc_tokens_dispose(&c->tok);
    c->tok = t;
    json_decref(c->id_claims);
    c->id_claims = t.id_claims ? json_loads(t.id_claims, 0, NULL) : NULL;
    c->has_session = 1;
    c->last_renewal_ms = t.received_at_ms;
    rc_schedule_renewal(c);
    return RC_OK;
}

const char *rc_client_access_token(const rc_client *c)
{
    return c->has_session ? c->tok.access_token : NULL;
}

int64_t rc_client_expires_at(const rc_client *c)
{
    return c->tok.expires_at_ms;
}

const char *rc_client_id_claims(const rc_client *c)
{
    return c->has_session ? c->tok.id_claims : NULL;
}

/* ---- blocking convenience -------------------------------------------------------------- */

typedef struct blocking {
    int done, status;
    char *token;
} blocking;

static void on_blocking_token(void *arg, int status, const char *token)
{
    blocking *b = arg;
    b->done = 1;
    b->status = status;
    b->token = status == RC_OK ? rc_strdup(token) : NULL;
}

int rc_fresh_token_blocking(rc_client *c, struct event_base *base, char **token_out)
{
    blocking b = {0};
    int rc = rc_client_get_token(c, on_blocking_token, &b);
    while (rc == RC_OK && !b.done)
        if (event_base_loop(base, EVLOOP_ONCE) < 0)
            rc = RC_ETRANSPORT;
    if (rc == RC_OK && b.status == RC_OK)
        *token_out = b.token;
    else
        free(b.token);
    return rc != RC_OK ? rc : b.status;
}
