/* HTTP calls with timeouts on the injected clock; token-endpoint forms and answers. */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_form.h"

static void call_unlink(rc_client *c, rc_call *call)
{
    for (rc_call **p = &c->calls; *p; p = &(*p)->next) {
        if (*p == call) {
            *p = call->next;
            break;
        }
    }
    rc_timer_cancel(c, &call->timeout);
    free(call);
}

static void call_done(void *arg, int err, const rc_http_response *r)
{
    rc_call *call = arg;
    rc_client *c = call->c;
    rc_call_cb cb = call->cb;
    void *op = call->op;
    call->handle = NULL;
    call_unlink(c, call);
    cb(c, op, err, r);
}

/* The request timeout runs on the client's clock, so it is virtual under the harness;
 * the client cancels the request itself. */
static void call_timeout(void *arg)
{
    rc_call *call = arg;
    rc_client *c = call->c;
    rc_call_cb cb = call->cb;
    void *op = call->op;
    call->timeout = NULL;
    c->env.transport.cancel(c->env.transport.ctx, call->handle);
    call_unlink(c, call);
    cb(c, op, RC_ETIMEOUT, NULL);
}

int rc_call_start(rc_client *c, void *op, const rc_http_request *rq, rc_call_cb cb)
{
    rc_call *call = calloc(1, sizeof *call);
    if (!call)
        return RC_ENOMEM;
    *call = (rc_call){.c = c, .op = op, .cb = cb};
    int rc = c->env.transport.send(c->env.transport.ctx, rq, call_done, call, &call->handle);
    if (rc != RC_OK) {
        free(call);
        return rc;
    }
    call->timeout =
        c->env.clock->timer_start(c->env.clock->ctx, c->cfg.request_timeout_ms, call_timeout, call);
    call->next = c->calls;
    c->calls = call;
    rc_emit(c, RC_EV_REQUEST, 0, 0, rq->url, NULL);
    return RC_OK;
}

void rc_calls_cancel(rc_client *c, void *op)
{
    for (rc_call **p = &c->calls; *p;) {
        rc_call *call = *p;
        if (op && call->op != op) {
            p = &call->next;
            continue;
        }
        *p = call->next;
        c->env.transport.cancel(c->env.transport.ctx, call->handle);
        rc_timer_cancel(c, &call->timeout);
        free(call);
    }
}

void rc_form_add(cm_strbuf *b, const char *name, const char *value)
{
    if (!value)
        return;
    char *enc = cm_form_encode(value);
    cm_strbuf_printf(b, "%s%s=%s", b->len ? "&" : "", name, enc ? enc : "");
    free(enc);
}

void rc_form_client(rc_client *c, cm_strbuf *b)
{
    rc_form_add(b, "client_id", c->client_id);
    rc_form_add(b, "client_secret", c->client_secret);
}

int rc_post_form(rc_client *c, void *op, const char *url, cm_strbuf *form, rc_call_cb cb)
{
    rc_http_request rq = {.method = "POST",
                          .url = url,
                          .content_type = "application/x-www-form-urlencoded",
                          .body = form->data,
                          .body_len = form->len};
    int rc = rc_call_start(c, op, &rq, cb);
    cm_strbuf_dispose(form);
    return rc;
}

int64_t rc_backoff_ms(const rc_client *c, int attempt_no, int64_t retry_after_ms)
{
    int64_t d = c->cfg.backoff_initial_ms;
    for (int i = 1; i < attempt_no && d < c->cfg.backoff_max_ms; i++)
        d *= 2;
    if (d > c->cfg.backoff_max_ms)
        d = c->cfg.backoff_max_ms;
    return retry_after_ms > d ? retry_after_ms : d;
}

int64_t rc_retry_after_ms(const rc_http_response *r)
{
    if (!r || !r->retry_after)
        return 0;
    char *end;
    long v = strtol(r->retry_after, &end, 10);
    return (*end == '\0' && v > 0 && v < 86400) ? (int64_t)v * 1000 : 0;
}

int rc_classify_error(const rc_http_response *r, char *error, size_t n)
{
    json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
    const char *code = json_string_value(json_object_get(body, "error"));
    snprintf(error, n, "%s", code ? code : "");
    int rc;
    if (code && (r->status == 400 || r->status == 401)) {
        if (!strcmp(code, "invalid_grant"))
            rc = RC_EINVALID_GRANT;
        else if (!strcmp(code, "invalid_client") || !strcmp(code, "unauthorized_client"))
            rc = RC_EINVALID_CLIENT;
        else
            rc = RC_EOAUTH; /* invalid_request, invalid_scope, ...: retrying will not help */
    } else if (r->status == 401) {
        rc = RC_EINVALID_CLIENT;
    } else {
        rc = (r->status >= 500 || r->status == 429 || r->status == 408) ? RC_EHTTP : RC_EPROTOCOL;
        if (r->status >= 400 && r->status < 500 && r->status != 429 && r->status != 408)
            rc = RC_EOAUTH;
    }
    json_decref(body);
    return rc;
}

static int parse_expires(json_t *v, int64_t *out_ms)
{
    if (!v) {
        *out_ms = -1; /* unknown: renew when a resource server says 401 */
        return RC_OK;
    }
    double secs;
    if (json_is_number(v)) {
        secs = json_number_value(v);
    } else if (json_is_string(v)) { /* tolerated: some IdPs send "3600" */
        char *end;
        secs = strtod(json_string_value(v), &end);
        if (*json_string_value(v) == '\0' || *end != '\0')
            return RC_EPROTOCOL;
    } else {
        return RC_EPROTOCOL;
    }
    if (secs < 0 || secs > 10.0 * 365 * 86400)
        return RC_EPROTOCOL;
    *out_ms = (int64_t)(secs * 1000.0);
    return RC_OK;
}

int rc_check_id_token(rc_client *c, const char *id_token, const rc_idt_expect *e, json_t **claims)
{
    rc_jwt jwt;
    int rc = rc_jwt_parse(id_token, &jwt);
    if (rc == RC_OK)
        rc = rc_jwt_verify(&jwt, &c->jwks);
    const char *alg = json_string_value(json_object_get(jwt.header, "alg"));
    if (rc == RC_OK)
        rc = rc_idt_check_claims(jwt.claims, alg, e);
    if (rc == RC_OK)
        *claims = json_incref(jwt.claims);
    rc_jwt_dispose(&jwt);
    return rc;
}

static int answer_fields(rc_client *c, json_t *body, int64_t now, rc_token_answer *out)
{
    json_t *at = json_object_get(body, "access_token"), *tt = json_object_get(body, "token_type");
    json_t *rt = json_object_get(body, "refresh_token"), *sc = json_object_get(body, "scope");
    int64_t expires;
    if (!json_is_string(at) || !*json_string_value(at) || !json_is_string(tt) ||
        strcasecmp(json_string_value(tt), "Bearer") != 0 || (rt && !json_is_string(rt)) ||
        (sc && !json_is_string(sc)) || parse_expires(json_object_get(body, "expires_in"), &expires))
        return RC_EPROTOCOL;
    rc_tokens *n = &out->next;
    n->access_token = rc_strdup(json_string_value(at));
    n->received_at_ms = now;
    n->expires_at_ms = expires < 0 ? 0 : now + expires;
    /* rotation: a new refresh token replaces the old one; none returned keeps the old */
    int keep_old = !rt || ((c->cfg.misbehave & RC_BAD_KEEP_OLD_REFRESH) && c->tok.refresh_token);
    n->refresh_token = rc_strdup(keep_old ? c->tok.refresh_token : json_string_value(rt));
    n->scope = rc_strdup(sc ? json_string_value(sc) : c->tok.scope ? c->tok.scope : c->scope);
    return RC_OK;
}

int rc_token_answer_parse(rc_client *c, const rc_http_response *r, const char *nonce,
                          rc_token_answer *out)
{
    memset(out, 0, sizeof *out);
    out->from_code = nonce != NULL;
    int64_t now = rc_now(c);
    json_t *body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
    int rc = json_is_object(body) ? answer_fields(c, body, now, out) : RC_EPROTOCOL;
    json_t *idt = json_object_get(body, "id_token");
    if (rc == RC_OK && idt && !json_is_string(idt))
        rc = RC_EPROTOCOL;
    if (rc == RC_OK && !idt && nonce) /* a login must come with an ID token */
        rc = RC_EPROTOCOL;
    if (rc == RC_OK && idt && !(!nonce && (c->cfg.misbehave & RC_BAD_SKIP_ID_TOKEN_CHECKS))) {
        rc_idt_expect e = {.issuer = c->issuer,
                           .client_id = c->client_id,
                           .nonce = nonce,
                           .access_token = out->next.access_token,
                           .original = nonce ? NULL : c->id_claims,
                           .now_ms = now,
                           .skew_ms = c->cfg.clock_skew_ms};
        rc = rc_check_id_token(c, json_string_value(idt), &e, &out->claims);
    }
    if (rc == RC_OK) { /* no ID token on refresh: keep the old one (OIDC Core §12.2) */
        out->next.id_token = rc_strdup(idt ? json_string_value(idt) : c->tok.id_token);
        json_t *orig = nonce ? out->claims : c->id_claims;
        out->next.id_claims = orig ? json_dumps(orig, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    }
    json_decref(body);
    return rc;
}

void rc_token_answer_dispose(rc_token_answer *a)
{
    rc_tokens_dispose(&a->next);
    json_decref(a->claims);
    a->claims = NULL;
}

int rc_session_commit(rc_client *c, rc_token_answer *a)
{
    int rc = c->env.store.save(c->env.store.ctx, &a->next);
    if (rc != RC_OK)
        return rc;
    rc_tokens_dispose(&c->tok);
    c->env.store.load(c->env.store.ctx, &c->tok); /* with the store's version */
    if (a->from_code && a->claims) { /* a new authentication: the new §12.2 reference */
        json_decref(c->id_claims);
        c->id_claims = json_incref(a->claims);
    }
    c->has_session = 1;
    c->last_renewal_ms = rc_now(c);
    return RC_OK;
}

int rc_jwks_from_answer(rc_client *c, int err, const rc_http_response *r)
{
    rc_jwks fresh;
    if (!err && r->status != 200)
        err = RC_EJWKS;
    if (!err && (err = rc_jwks_parse(r->body, r->body_len, &fresh)) == RC_OK) {
        rc_jwks_dispose(&c->jwks);
        c->jwks = fresh;
    }
    return err;
}

static void on_jwks_refetched(rc_client *c, void *op, int err, const rc_http_response *r)
{
    ((rc_opbase *)op)->after_jwks(c, op, rc_jwks_from_answer(c, err, r));
}

int rc_jwks_refetch(rc_client *c, rc_opbase *op)
{
    rc_http_request rq = {.method = "GET", .url = c->jwks_uri};
    return c->jwks_uri ? rc_call_start(c, op, &rq, on_jwks_refetched) : RC_EJWKS;
}
