/* renew_core: keep an OpenID Connect session alive — the shared C renewal library.
 *
 * Asynchronous on the caller's libevent event_base. Time comes only from the injected
 * cm_clock (so renewals and request timeouts are virtual under the harness), randomness
 * from the injected cm_rng, tokens live in an rc_store that several clients may share
 * (as browser tabs share storage), and HTTP goes through an rc_transport (libevent's
 * evhttp client by default, TLS with certificate verification).
 *
 * Conventions (as libuv): the caller owns what it passes unless a comment says "taken";
 * a `const char *` result is borrowed until the object next changes; errors are negative
 * RC_E* codes with rc_strerror(); if a function that takes a callback fails, the callback
 * is never called. */
#ifndef RENEW_CORE_H
#define RENEW_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "cm_clock.h"
#include "cm_rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the shared library exports: exactly the functions declared with RC_EXTERN here
 * (and CM_EXTERN in cm_clock.h and cm_rng.h); renew_core/exports.txt lists them. */
#define RC_EXTERN CM_EXTERN

struct event_base;

/** Errors. Codes only grow at the end. */
enum rc_status {
    RC_OK = 0,
    RC_ENOMEM = -1,
    RC_EINVAL = -2,          /* bad argument or configuration */
    RC_ETRANSPORT = -3,      /* connection failed, reset or closed */
    RC_ETIMEOUT = -4,        /* no answer within the request timeout */
    RC_EHTTP = -5,           /* unexpected HTTP status (5xx, 429, ...) */
    RC_EPROTOCOL = -6,       /* malformed answer (not JSON, missing fields, wrong types) */
    RC_EOAUTH = -7,          /* an OAuth error other than those below */
    RC_EINVALID_GRANT = -8,  /* the refresh token or code is dead (RFC 6749 §5.2) */
    RC_EINVALID_CLIENT = -9, /* the client is not accepted */
    RC_EDISCOVERY = -10,     /* discovery metadata unusable (issuer mismatch, ...) */
    RC_EJWKS = -11,          /* JWKS unusable */
    RC_EJWT_MALFORMED = -12, /* not a compact JWS, bad base64url, duplicate keys, too big */
    RC_EJWT_ALG = -13,       /* algorithm not allowed (none, HS* with a public key, ...) */
    RC_EJWT_KID = -14,       /* no key for the kid, even after refetching the JWKS */
    RC_EJWT_SIGNATURE = -15, /* signature does not verify */
    RC_EJWT_CRIT = -16,      /* unknown critical header */
    RC_EJWT_ISS = -17,
    RC_EJWT_AUD = -18,
    RC_EJWT_AZP = -19,
    RC_EJWT_EXP = -20,
    RC_EJWT_IAT = -21,
    RC_EJWT_NONCE = -22,
    RC_EJWT_AT_HASH = -23,
    RC_EJWT_SUB = -24,       /* missing, or changed on refresh (OIDC Core §12.2) */
    RC_EJWT_AUTH_TIME = -25, /* changed on refresh (§12.2) */
    RC_ENO_SESSION = -26,    /* no tokens: log in first */
    RC_EINTERACTION = -27,   /* renewal impossible without the user (login_required, ...) */
    RC_ELOGGED_OUT = -28,    /* the client logged out */
    RC_EGAVE_UP = -29,       /* transient failures exhausted the retries */
    RC_ESTATE = -30,         /* state or PKCE check failed in a silent renewal */
};

/** A short English description of an rc_status. */
RC_EXTERN const char *rc_strerror(int status);
/** The enum name ("RC_EINVALID_GRANT"), for logs and reports. */
RC_EXTERN const char *rc_err_name(int status);
/** Whether an error is transient (retry with backoff) rather than terminal. */
RC_EXTERN int rc_is_transient(int status);

/* ---- transport ------------------------------------------------------------------- */

/** One HTTP header (strings borrowed). */
typedef struct rc_header {
    const char *name, *value;
} rc_header;

typedef struct rc_http_request {
    const char *method, *url;
    const char *content_type; /* NULL when no body */
    const char *body;
    size_t body_len;
    const char *authorization; /* header value or NULL */
    const char *cookie;        /* header value or NULL */
    /* any other headers (Accept: application/json unless one is given); the transport sets
     * Host, Connection and Content-Length itself and leaves out hop-by-hop ones */
    const rc_header *headers;
    size_t n_headers;
} rc_http_request;

/** Whether the transport sets header @p name itself or leaves it out as hop-by-hop
 * (RFC 9110 §7.6.1): Host, Connection, Content-Length, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade. Case-insensitive. */
RC_EXTERN int rc_header_reserved(const char *name);
/** The Accept header of a browser's navigation (Chromium's), for the front-channel requests
 * an iframe or a redirect makes: some IdPs answer an API-style JSON instead of a redirect to
 * a request that accepts only application/json (LemonLDAP::NG does). */
#define RC_ACCEPT_NAVIGATION "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

typedef struct rc_http_response {
    int status;
    const char *body; /* borrowed for the callback's duration */
    size_t body_len;
    const char *content_type, *location, *retry_after, *www_authenticate; /* or NULL */
    const rc_header *headers; /* every header of the answer, as received; may be NULL */
    size_t n_headers;
} rc_http_response;

/** Completion: @p err is 0 with @p resp, or RC_ETRANSPORT / RC_ETIMEOUT with NULL. */
typedef void (*rc_http_done)(void *arg, int err, const rc_http_response *resp);

typedef struct rc_transport {
    /** Start a request; on success *handle identifies it for cancel and @p done will be
     * called exactly once (unless cancelled). Returns 0 or a negative RC_E*. */
    int (*send)(void *ctx, const rc_http_request *req, rc_http_done done, void *arg, void **handle);
    /** Cancel a pending request; its done callback is never called. */
    void (*cancel)(void *ctx, void *handle);
    void *ctx;
} rc_transport;

/** The default transport: libevent's evhttp client on @p base, counting requests in
 * flight on @p clock; https verified against the system CAs or @p ca_file (NULL = system;
 * the system bundle is loaded on the first https request, @p ca_file at once).
 * Returns a transport to free with rc_transport_evhttp_free, or RC_E* through *out. */
RC_EXTERN int rc_transport_evhttp_new(struct event_base *base, cm_clock *clock, const char *ca_file,
                                      rc_transport *out);
RC_EXTERN void rc_transport_evhttp_free(rc_transport *t);

/* ---- token store ------------------------------------------------------------------ */

/** The tokens of one session, as stored. All strings owned by the struct. */
typedef struct rc_tokens {
    char *access_token, *refresh_token, *id_token, *scope;
    int64_t expires_at_ms; /* from expires_in at receipt; 0 = unknown */
    int64_t received_at_ms;
    char *id_claims;  /* JSON of the login's validated ID-token claims (§12.2) */
    uint64_t version; /* bumped by every save */
} rc_tokens;

RC_EXTERN void rc_tokens_dispose(rc_tokens *t);
/** Deep copy @p src into @p dst. Returns 0 or RC_ENOMEM. */
RC_EXTERN int rc_tokens_copy(rc_tokens *dst, const rc_tokens *src);

typedef void (*rc_store_changed)(void *arg);

/** A token store several clients can share. The lock is advisory and non-blocking: a
 * client holding it is the only one that renews. */
typedef struct rc_store {
    int (*try_lock)(void *ctx, const void *owner); /* 1 acquired, 0 held by another */
    void (*unlock)(void *ctx, const void *owner);
    int (*load)(void *ctx, rc_tokens *out);      /* copy out; RC_ENO_SESSION when empty */
    int (*save)(void *ctx, const rc_tokens *in); /* replace all at once (atomic) */
    int (*clear)(void *ctx);
    /* call @p cb whenever the store is unlocked or changed (one watcher per owner) */
    void (*watch)(void *ctx, const void *owner, rc_store_changed cb, void *arg);
    void *ctx;
} rc_store;

typedef struct rc_memory_store rc_memory_store;
RC_EXTERN rc_memory_store *rc_memory_store_new(void);
RC_EXTERN void rc_memory_store_free(rc_memory_store *m);
/** The rc_store face of a memory store (borrowed; the store must outlive its users). */
RC_EXTERN rc_store rc_memory_store_iface(rc_memory_store *m);

/* ---- the client ------------------------------------------------------------------- */

enum rc_method { RC_METHOD_REFRESH = 1, RC_METHOD_SILENT = 2 };

/** Deliberate misbehaviours, for proving that the harness's checks can fail. Never set
 * them in a real client. */
enum rc_misbehave {
    RC_BAD_NO_SINGLE_FLIGHT = 1,     /* concurrent callers each refresh */
    RC_BAD_RETRY_INVALID_GRANT = 2,  /* treat invalid_grant as transient */
    RC_BAD_NO_REVOKE = 4,            /* logout without revocation */
    RC_BAD_KEEP_OLD_REFRESH = 8,     /* ignore a rotated refresh token */
    RC_BAD_RENEW_AFTER_EXPIRY = 16,  /* renew only after the access token expired */
    RC_BAD_NO_BACKOFF = 32,          /* retry transient failures at once */
    RC_BAD_SKIP_ID_TOKEN_CHECKS = 64 /* accept refreshed ID tokens unchecked */
};

typedef struct rc_config {
    const char *issuer;         /* required; discovery must report exactly this */
    const char *client_id;      /* required */
    const char *client_secret;  /* NULL for a public client */
    const char *redirect_uri;   /* for code flows (login, silent renewal) */
    const char *scope;          /* requested at login; default "openid offline_access" */
    int64_t renew_before_ms;    /* default 60 s (oidc-client-ts, AppAuth) */
    int64_t jitter_ms;          /* renew up to this much earlier, drawn from the RNG */
    int64_t min_interval_ms;    /* rate bound between renewals; default 5 s */
    int64_t request_timeout_ms; /* default 10 s */
    int max_retries;            /* transient failures before giving up; default 4 */
    int64_t backoff_initial_ms, backoff_max_ms; /* default 1 s, 60 s */
    int64_t clock_skew_ms;                      /* allowance on iat/exp; default 60 s */
    unsigned methods;                           /* RC_METHOD_*; default refresh then silent when a
                                                 * silent callback is given */
    int revoke_on_logout;                       /* default on (pass -1 to turn off) */
    int id_token_hint;  /* prompt=none renewals send the session's latest ID token as
                         * id_token_hint (OIDC Core §3.1.2.1: SHOULD; some IdPs insist);
                         * default on (pass -1 to leave it out) */
    unsigned misbehave; /* RC_BAD_*; 0 */
} rc_config;

typedef enum {
    RC_EV_LOGGED_IN,
    RC_EV_RENEWED,
    RC_EV_RENEW_FAILED, /* detail: transient or terminal, the reason */
    RC_EV_SESSION_LOST,
    RC_EV_INTERACTION_REQUIRED,
    RC_EV_LOGGED_OUT,
    RC_EV_REQUEST /* an HTTP request went out (for timing figures) */
} rc_event_type;

typedef struct rc_event {
    rc_event_type type;
    int64_t time_ms;
    int status;            /* RC_E* for failures, else 0 */
    int transient;         /* RENEW_FAILED: will retry */
    const char *method;    /* "refresh_token", "silent", "code", "revoke", ... or NULL */
    const char *detail;    /* OAuth error or other words, or NULL (borrowed) */
    int64_t expires_at_ms; /* RENEWED / LOGGED_IN: the new access token's expiry */
} rc_event;

typedef void (*rc_event_cb)(void *arg, const rc_event *ev);

/** The silent (prompt=none) renewal a browser or an app performs: open @p authorize_url
 * (it carries prompt=none, state, nonce, a PKCE challenge and id_token_hint) and call @p done with
 * the callback URL the IdP redirected to (or NULL with an error when it never came back: a frame
 * refused, a timeout). Return 0 when started; non-zero = not possible now. */
typedef void (*rc_silent_done)(void *done_arg, const char *callback_url, int err);
typedef int (*rc_silent_cb)(void *arg, const char *authorize_url, rc_silent_done done,
                            void *done_arg);

typedef struct rc_env {
    struct event_base *base; /* required */
    cm_clock *clock;         /* required */
    cm_rng rng;              /* required */
    rc_store store;          /* required (rc_memory_store_iface for one process) */
    rc_transport transport;  /* .send NULL: the default evhttp transport */
    const char *ca_file;     /* for the default transport */
    rc_event_cb on_event;    /* optional */
    void *event_arg;
    rc_silent_cb silent; /* optional: enables RC_METHOD_SILENT */
    void *silent_arg;
} rc_env;

typedef struct rc_client rc_client;

/** Make a client. @p cfg strings are copied; @p env is copied, its pointers borrowed.
 * Returns 0 and the client in *out. */
RC_EXTERN int rc_client_new(const rc_config *cfg, const rc_env *env, rc_client **out);
/** Free a client: pending requests are cancelled, no callback fires afterwards. */
RC_EXTERN void rc_client_free(rc_client *c);

typedef void (*rc_done_cb)(void *arg, int status);
/** Fetch and check discovery and the JWKS. */
RC_EXTERN int rc_client_start(rc_client *c, rc_done_cb done, void *arg);
/** Log in with an IdP session cookie ("NAME=VALUE"): authorization code flow with PKCE
 * (the IdP must redirect with a code at once: the session is live, consent given), code
 * exchange, ID-token validation, tokens saved to the store. */
RC_EXTERN int rc_client_login_with_cookie(rc_client *c, const char *cookie, rc_done_cb done,
                                          void *arg);
/** Adopt the session already in the store (another instance logged in), and keep it fresh. */
RC_EXTERN int rc_client_attach(rc_client *c);

typedef void (*rc_token_cb)(void *arg, int status, const char *access_token);
/** "Use the token now": a valid access token, renewed first if it expires within the
 * renewal margin. Concurrent callers share one renewal. @p access_token is borrowed for
 * the callback's duration. */
RC_EXTERN int rc_client_get_token(rc_client *c, rc_token_cb cb, void *arg);
/** Tell the client a resource server answered @p http_status with @p www_authenticate:
 * 401 invalid_token forces one renewal (returns 1: retry the call once); 403 and others
 * return 0 (do not renew). */
RC_EXTERN int rc_client_resource_error(rc_client *c, int http_status, const char *www_authenticate);
/** Log out: revoke the refresh token (then the access token) when the IdP advertises a
 * revocation endpoint; 503 is retried with backoff. The refresh token is never used again. */
RC_EXTERN int rc_client_logout(rc_client *c, rc_done_cb done, void *arg);

/** The current access token (borrowed), or NULL. */
RC_EXTERN const char *rc_client_access_token(const rc_client *c);
/** Its expiry (ms), 0 when unknown. */
RC_EXTERN int64_t rc_client_expires_at(const rc_client *c);
/** The ID token's validated claims as JSON text (borrowed), or NULL. */
RC_EXTERN const char *rc_client_id_claims(const rc_client *c);

/** Blocking convenience for simple programs: run @p base until a fresh access token is
 * at hand (renewing if needed). *token_out gets a malloc'd copy. */
RC_EXTERN int rc_fresh_token_blocking(rc_client *c, struct event_base *base, char **token_out);

/* ---- validation outside a client ---------------------------------------------------
 * The checks a client runs, for validators (renewlab probe checks an IdP's tokens with
 * them): the same code, so a validator's verdict is the library's. */

/** How many keys of the JWKS document @p text (@p len bytes) renew_core can use (RSA,
 * P-256, Ed25519 public keys), or RC_EJWKS when it is not a JWKS at all. */
RC_EXTERN int rc_jwks_usable_keys(const char *text, size_t len);

typedef struct rc_id_token_check {
    const char *issuer, *client_id; /* required */
    const char *nonce;              /* the nonce the login sent; NULL: none expected */
    const char *access_token;       /* checked against at_hash when the token has one */
    const char *original_id_token;  /* on refresh: the login's ID token, for OIDC Core §12.2
                                     * (same sub, azp, auth_time...); NULL: none to compare */
    int64_t now_ms, skew_ms;        /* the time to check exp and iat against, and the slack */
} rc_id_token_check;

/** Validate @p id_token as a client would: the signature with a key of the JWKS document
 * @p jwks_text (RS256, ES256 or EdDSA matching the key; never none or HS*), then the claims
 * of OIDC Core §3.1.3.7 and, with original_id_token, §12.2. RC_OK, or the RC_E* code of the
 * first failure (rc_err_name names it). */
RC_EXTERN int rc_id_token_validate(const char *id_token, const char *jwks_text,
                                   const rc_id_token_check *c);

#ifdef __cplusplus
}
#endif

#endif
