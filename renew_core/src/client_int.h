/* The rc_client object and the pieces its modules share (client.c, exchange.c,
 * renew.c, login.c, logout.c). */
#ifndef RC_CLIENT_INT_H
#define RC_CLIENT_INT_H

#include "cm_strbuf.h"
#include "rc_int.h"

typedef struct rc_call rc_call;
typedef void (*rc_call_cb)(rc_client *c, void *op, int err, const rc_http_response *r);

/* One HTTP request with its timeout on the injected clock. */
struct rc_call {
    rc_client *c;
    void *op;
    rc_call_cb cb;
    void *handle;
    cm_timer *timeout;
    struct rc_call *next;
};

typedef struct rc_waiter {
    rc_token_cb cb;
    void *arg;
    struct rc_waiter *next;
} rc_waiter;

typedef struct rc_renewal rc_renewal;

struct rc_client {
    rc_config cfg; /* strings below are owned copies */
    char *issuer, *client_id, *client_secret, *redirect_uri, *scope;
    rc_env env;
    int own_transport;
    /* discovery */
    char *authorization_endpoint, *token_endpoint, *jwks_uri, *revocation_endpoint,
        *end_session_endpoint;
    rc_jwks jwks;
    /* session */
    rc_tokens tok;
    int has_session, logged_out;
    json_t *id_claims; /* the login's validated claims */
    int64_t last_renewal_ms;
    /* renewal */
    rc_renewal *renewals; /* in flight: one with single flight, more when misbehaving */
    cm_timer *renew_timer;
    rc_call *calls; /* HTTP calls under way, cancelled on free */
    void *op;       /* start/login/logout operation under way */
    /* events wait here and are delivered from their own timer, never from inside a
     * state change: a callback may then call back into the client safely */
    struct rc_queued_event *events, **events_tail;
    cm_timer *event_timer;
};

/* env.c: clock, randomness, events */
void rc_emit(rc_client *c, rc_event_type type, int status, int transient, const char *method,
             const char *detail);
int64_t rc_now(const rc_client *c);
void rc_random_token(rc_client *c, char *out, size_t n); /* 32 random bytes, base64url */
void rc_timer_cancel(rc_client *c, cm_timer **t);
/** Drop the events not yet delivered (the client is freed). */
void rc_events_dispose(rc_client *c);

/* exchange.c */
/** Send a request; @p cb gets the answer, RC_ETIMEOUT or RC_ETRANSPORT. Returns 0 or an
 * error (then @p cb is never called). */
int rc_call_start(rc_client *c, void *op, const rc_http_request *rq, rc_call_cb cb);
void rc_calls_cancel(rc_client *c, void *op); /* op NULL: all */
/** Append "name=value" (percent-encoded) to a form or query. */
void rc_form_add(cm_strbuf *b, const char *name, const char *value);
/** Client authentication on a token/revocation form (client_secret_post) or public id. */
void rc_form_client(rc_client *c, cm_strbuf *b);
/** POST @p form (application/x-www-form-urlencoded) to @p url as rc_call_start does;
 * the form is disposed in every case. */
int rc_post_form(rc_client *c, void *op, const char *url, cm_strbuf *form, rc_call_cb cb);
/** Take a JWKS answer: on success the client's key set is replaced. Returns @p err, or
 * RC_EJWKS / the parse error, or RC_OK. */
int rc_jwks_from_answer(rc_client *c, int err, const rc_http_response *r);
/** Capped exponential backoff before retry @p attempt_no (1, 2, ...): initial, doubled
 * each time up to the maximum, and at least @p retry_after_ms. */
int64_t rc_backoff_ms(const rc_client *c, int attempt_no, int64_t retry_after_ms);
/** Classify a non-200 answer: RC_EINVALID_GRANT, RC_EINVALID_CLIENT, RC_EOAUTH (terminal)
 * or RC_EHTTP/RC_EPROTOCOL (transient); @p error gets the OAuth error code or NULL. */
int rc_classify_error(const rc_http_response *r, char *error, size_t n);
/** Milliseconds from a Retry-After header (seconds), or 0. */
int64_t rc_retry_after_ms(const rc_http_response *r);

typedef struct rc_token_answer {
    rc_tokens next; /* the tokens to store when accepted */
    json_t *claims; /* the new ID token's claims */
    int from_code;  /* a code exchange: its claims become the new §12.2 reference */
} rc_token_answer;

/* Every operation that may need a JWKS refetch starts with this. */
typedef struct rc_opbase {
    void (*after_jwks)(rc_client *c, void *op, int status);
} rc_opbase;

/** Fetch the JWKS again (once per validation, on an unknown kid), then call
 * op->after_jwks. Returns 0 or an error (then after_jwks is never called). */
int rc_jwks_refetch(rc_client *c, rc_opbase *op);

/** Parse and validate a 200 token response against the current session (@p nonce at
 * login, NULL on refresh). Fills @p out; RC_OK or the reason it was rejected. */
int rc_token_answer_parse(rc_client *c, const rc_http_response *r, const char *nonce,
                          rc_token_answer *out);
void rc_token_answer_dispose(rc_token_answer *a);
/** Make @p a the session: store it (atomically) and keep the claims. */
int rc_session_commit(rc_client *c, rc_token_answer *a);
/** Validate an ID token (signature, with one JWKS refetch handled by the caller). */
int rc_check_id_token(rc_client *c, const char *id_token, const rc_idt_expect *e, json_t **claims);

/* renew.c */
void rc_renew_start(rc_client *c, rc_waiter *w); /* w may be NULL */
void rc_renewals_cancel(rc_client *c, int status);
/** Arm the renewal timer from the token's expiry and the policy (none without a session). */
void rc_schedule_renewal(rc_client *c);

/* authorize.c */
/** Build an authorization URL with fresh state, nonce and PKCE; @p silent: a renewal,
 * with prompt=none and the session's latest ID token as id_token_hint (unless the
 * config leaves it out). */
char *rc_authorize_url(rc_client *c, int silent, char *state, char *nonce, char *verifier);
/** Handle the callback URL of an authorization: checks state, exchanges the code. */
typedef void (*rc_code_done)(rc_client *c, void *op, int status, const char *error);
int rc_redeem_callback(rc_client *c, void *op, const char *callback_url, const char *state,
                       const char *nonce, const char *verifier, rc_code_done done);

#endif
