/* mock_idp internals: config model, state store, keys, trace and the request/response
 * structs every handler works on (so handlers can be unit-tested without a socket).
 * Naming: Idp_ for what one file offers the others, idp_ only for the public API of
 * include/mock_idp.h (docs/architecture.md). */
#ifndef IDP_INT_H
#define IDP_INT_H

#include <event2/util.h>

struct bufferevent;
struct evhttp_connection;
struct evhttp_request;
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>

#include "cm_clock.h"
#include "cm_form.h"
#include "cm_json.h"
#include "cm_map.h"
#include "cm_rng.h"
#include "cm_strbuf.h"
#include "fault.h"
#include "mock_idp.h"
#include "oidc_names.h"

#define IDP_B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* ---- configuration ---------------------------------------------------------------- */

enum { IDP_GT_CODE = 1, IDP_GT_REFRESH = 2, IDP_GT_CLIENT_CREDENTIALS = 4 };

typedef struct idp_refresh_policy {
    int issue;                  /* issue refresh tokens at all */
    int rotation;               /* a new refresh token on every refresh */
    int reuse_detection;        /* a rotated token presented again revokes the family */
    int64_t reuse_grace_ms;     /* a rotated token stays usable this long (0 = never) */
    int64_t absolute_ms;        /* family lifetime from the grant (0 = unlimited) */
    int64_t idle_ms;            /* expires when unused this long (0 = unlimited) */
    int require_offline_access; /* only when the grant includes offline_access */
    int id_token;               /* refresh responses carry an ID token (§12.2) */
} idp_refresh_policy;

typedef struct idp_strlist {
    char **items;
    size_t n;
} idp_strlist;

typedef struct idp_client {
    char *client_id;
    char *secret; /* NULL for a public client */
    idp_strlist redirect_uris, post_logout_redirect_uris, allowed_origins, scopes;
    unsigned grants;
    int require_consent, require_pkce, introspect_any, end_session_revokes;
    int opaque_access_tokens; /* random strings instead of RFC 9068 JWTs */
    int64_t access_token_ms, id_token_ms;
    idp_refresh_policy refresh;
} idp_client;

typedef struct idp_user {
    char *sub, *password, *name, *email;
} idp_user;

typedef struct idp_cookie_policy {
    char *name, *same_site;
    int secure;
    int64_t lifetime_ms;
} idp_cookie_policy;

struct idp_config {
    char *issuer, *signing_alg, *key_file;
    int64_t key_overlap_ms, code_ms, session_ms;
    idp_cookie_policy cookie;
    idp_client *clients;
    size_t n_clients;
    idp_user *users;
    size_t n_users;
    json_t *faults;             /* fault rules from the file (validated), or NULL */
    idp_strlist discovery_omit; /* metadata names left out of discovery (RFC 8414 §2 tests) */
};

/** Change a client's settings live (same keys as the config's client objects). On error,
 * nothing changes and @p err gets "/pointer: reason". */
int Idp_client_patch(idp_config *cfg, const char *client_id, json_t *patch, char *err,
                     size_t errlen);
/** Copies of every client's settings (restored by reset), and their release. */
idp_client *Idp_clients_snapshot(const idp_config *cfg);
void Idp_clients_restore(idp_config *cfg, const idp_client *snapshot);
void Idp_clients_snapshot_free(idp_client *snapshot, size_t n);
/** A client's effective settings as JSON (new reference; the secret is never shown). */
json_t *Idp_client_describe(const idp_client *c);

const idp_client *Idp_config_client(const idp_config *cfg, const char *client_id);
const idp_user *Idp_config_user(const idp_config *cfg, const char *sub);
int Idp_strlist_has(const idp_strlist *l, const char *s);
/** True when @p url holds no space, CR, LF or other control byte. */
int Idp_url_clean(const char *url);

/* ---- keys and JWS ----------------------------------------------------------------- */

typedef enum { IDP_ALG_RS256, IDP_ALG_ES256, IDP_ALG_EDDSA } idp_alg;

typedef struct idp_key {
    char kid[24];
    idp_alg alg;
    EVP_PKEY *pkey;
    int64_t retire_ms; /* 0: published until rotated; else removed from JWKS after this */
} idp_key;

typedef struct idp_keys {
    idp_key *items; /* items[n-1] is the signing key */
    size_t n;
} idp_keys;

int Idp_alg_parse(const char *name, idp_alg *out);
const char *Idp_alg_name(idp_alg alg);
int Idp_keys_add_generated(idp_keys *k, idp_alg alg);
int Idp_keys_add_pem(idp_keys *k, const char *path, char *err, size_t errlen);
/** Sign with an existing EVP_PKEY (a reference is taken). */
int Idp_keys_add_pkey(idp_keys *k, void *pkey, char *err, size_t errlen);
/** Make a new signing key; the old ones leave the JWKS @p overlap_ms after @p now_ms. */
int Idp_keys_rotate(idp_keys *k, int64_t now_ms, int64_t overlap_ms);
void Idp_keys_dispose(idp_keys *k);
/** The JWKS document (new reference) of the keys still published at @p now_ms. */
json_t *Idp_keys_jwks(idp_keys *k, int64_t now_ms);
/** Sign @p claims (borrowed) as compact JWS with header typ @p typ. Caller frees. */
char *Idp_jws_sign(const idp_keys *k, const char *typ, json_t *claims);
/** As Idp_jws_sign, with a deliberate defect: @p mode "unknown_kid", "kid_absent",
 * "alg_none", "hs256_public_key" or "bad_signature" (NULL = none). */
char *Idp_jws_sign_mode(const idp_keys *k, const char *typ, json_t *claims, const char *mode);
/** As Idp_jws_sign, with the claims given as JSON text (@p payload). */
char *Idp_jws_sign_text(const idp_keys *k, const char *typ, const char *payload);
/** Verify a compact JWS made by one of our keys; returns its claims (new reference) or
 * NULL when malformed or not ours. Expiry is not checked. */
json_t *Idp_jws_verify(const idp_keys *k, const char *token);
/** at_hash / c_hash (OIDC Core §3.1.3.6) of @p value for @p alg into @p out (>= 64 bytes). */
void Idp_half_hash(idp_alg alg, const char *value, char *out);
/** SHA-256 of @p n bytes at @p data into @p md: 0, or -1. */
int Idp_sha256(const void *data, size_t n, unsigned char md[32]);
/** Free the calling thread's signing contexts (and the key references they hold): a worker
 * loop's thread on exit, and idp_server_free on its caller's. */
void Idp_sign_contexts_clear(void);

/* ---- state: sessions, codes, grants (families), tokens ---------------------------- */

typedef struct idp_session {
    char label[24];       /* "sess#N" */
    unsigned long serial; /* creation order, for eviction */
    char *cookie;         /* cookie value */
    char *sub;
    int64_t auth_time_ms, expires_ms;
    cm_map consents; /* client_id -> (void*)1 */
} idp_session;

typedef enum { IDP_TOK_ACCESS, IDP_TOK_REFRESH } idp_token_kind;

typedef struct idp_family idp_family;

typedef struct idp_token {
    idp_token_kind kind;
    char label[24];     /* "at#N" / "rt#N" */
    char key[48];       /* in the token map: the value, or "#" + SHA-256 of a longer one */
    char *value;        /* refresh tokens; access tokens only until answered (Idp_token_sent) */
    idp_family *family; /* NULL for client_credentials access tokens */
    char *client_id, *sub, *scope;
    int64_t issued_ms, expires_ms, last_used_ms;
    int64_t rotated_ms; /* refresh tokens: when superseded (0 = current) */
    int revoked;
    struct idp_token *next_in_family; /* the next older token of its family */
    struct idp_token *prev_in_family; /* the next newer one */
} idp_token;

struct idp_family {
    char label[24]; /* "f#N" */
    int evicted;    /* being freed by Idp_store_enforce_limits */
    char *client_id, *sub, *scope, *nonce, *session_label;
    int64_t auth_time_ms, created_ms, expires_ms; /* expires_ms 0 = no absolute limit */
    int revoked;
    char *revoked_why;
    idp_token *tokens;  /* newest first */
    idp_token *oldest;  /* the list's last */
    size_t n_tokens[2]; /* in the list, by kind */
    idp_token *current_rt;
};

typedef struct idp_code {
    char label[24];
    unsigned long serial;
    char *value, *client_id, *redirect_uri, *sub, *scope, *nonce, *challenge, *session_label;
    int64_t auth_time_ms, expires_ms;
    int used;
    idp_family *family; /* the grant it produced, revoked if the code is replayed */
} idp_code;

typedef struct idp_store {
    cm_map sessions;       /* cookie value -> idp_session */
    cm_map codes;          /* code value -> idp_code */
    cm_map tokens;         /* token value -> idp_token */
    cm_map pending;        /* interaction id -> json_t (authorize parameters) */
    idp_family **families; /* oldest first */
    size_t n_families, cap_families;
    idp_token **loose; /* tokens of no grant (client_credentials), oldest first */
    size_t n_loose, cap_loose;
    unsigned long next_session, next_code, next_family, next_at, next_rt;
    size_t limit;             /* grants, sessions, codes, loose tokens kept; 0 = 10000 */
    size_t grant_tokens_kept; /* per grant and kind (see idp_options); 0 = 64 */
    unsigned long evicted;    /* entries evicted to stay within the limit */
} idp_store;

void Idp_store_init(idp_store *st);
/** Whether Idp_store_enforce_limits has something to evict. */
int Idp_store_over_limits(const idp_store *st);
/** Evict the oldest grants, sessions, codes and loose tokens beyond the store's limit
 * (in batches of a tenth), so a long-running IdP's memory stays bounded. */
void Idp_store_enforce_limits(idp_server *s);
void Idp_store_dispose(idp_store *st);
/* Inside the store's part (store.c, mint.c, evict.c): freeing, keys, values. */
void Idp_store_token_free(idp_token *t);
void Idp_store_family_free(idp_family *f);
void Idp_store_session_free(idp_session *s);
void Idp_store_code_free(idp_code *c);
/** The token map's key of a long value from its SHA-256: "#" and its base64url
 * (values.c). */
void Idp_value_key_of_hash(const unsigned char md[32], char key[48]);
/** The token map's key for @p value: short values as they are, long ones (JWTs) hashed. */
void Idp_value_key(const char *value, char key[48]);
/** A fresh random token value (malloc'd), or NULL. */
char *Idp_value_random(idp_server *s);
/** An ID token to mint with an access token (its at_hash from it), in the same signing
 * window (mint.c). */
typedef struct id_companion {
    const char *nonce;
    char *jwt; /* out */
} id_companion;
/** The value of access token @p t (a signed JWT, or opaque), and @p idc's ID token when
 * given; t->key is set for a JWT (mint.c). NULL when out of memory. */
char *Idp_mint_access_value(idp_server *s, const idp_client *c, idp_token *t, id_companion *idc);

/* ---- trace ------------------------------------------------------------------------ */

/* A ring buffer of serialized entries (compact JSON, ~350 bytes each): the newest `cap`
 * entries within `max_bytes`; older ones are dropped and counted, never silently (the
 * --trace-out file, when given, keeps every entry). */
typedef struct idp_trace {
    struct idp_trace_item {
        unsigned long seq;
        char *line;
    } * ring;
    size_t cap, head, count; /* head: index of the oldest entry */
    size_t bytes, max_bytes; /* what the kept entries take; 0 = 8 MB */
    unsigned long dropped;
    unsigned long next_seq;  /* the last seq handed out (Idp_trace_begin, state lock) */
    unsigned long committed; /* entries up to this seq are in the ring and the file */
    struct idp_trace_early {
        unsigned long seq;
        char *line; /* NULL: the entry was lost (no memory); its seq still commits */
    } * early;      /* finished before an earlier seq (worker loops): waiting */
    size_t n_early, cap_early;
    FILE *out;            /* optional JSON-lines copy */
    pthread_mutex_t lock; /* worker loops finish entries outside the state lock */
} idp_trace;

/** Commit the entry numbered @p seq (its serialized @p line, taken over; NULL when it was
 * lost): entries reach the ring and the --trace-out file in seq order, whatever order
 * worker loops finish them in. */
void Idp_trace_commit(idp_trace *t, unsigned long seq, char *line);
/** Where a read of the trace stands: the next seq wanted, how many entries may follow. */
typedef struct idp_trace_cursor {
    unsigned long next;
    size_t left;
    size_t written; /* entries written so far (commas go between them) */
} idp_trace_cursor;

/** Append the kept entries from @p c onwards to @p out, comma-separated, until about
 * @p max_bytes are written (at least one entry); advances @p c. Returns how many were
 * appended: 0 when the read is complete. The lock is held only while copying. */
size_t Idp_trace_chunk(idp_trace *t, idp_trace_cursor *c, cm_strbuf *out, size_t max_bytes);
/** The trace document {"dropped":N,"requests":[...]} in parts: its head (with the dropped
 * count as it stands), and its tail. */
void Idp_trace_doc_head(idp_trace *t, cm_strbuf *out);
void Idp_trace_doc_tail(cm_strbuf *out);
/** The whole document from @p c, into @p out (for transports that do not stream). */
void Idp_trace_doc(idp_trace *t, idp_trace_cursor *c, cm_strbuf *out);
/** The entries in order, oldest first (new reference to a new array). */
json_t *Idp_trace_snapshot(idp_trace *t);
/** Forget every entry (and the dropped count); sequence numbers go on unless @p restart. */
void Idp_trace_clear(idp_trace *t, int restart);
/** Entries dropped so far. */
unsigned long Idp_trace_dropped(idp_trace *t);

/* ---- requests and responses ------------------------------------------------------- */

typedef struct idp_header {
    char *name, *value;
} idp_header;

typedef struct idp_req {
    const char *method; /* "GET", "POST", "OPTIONS", ... */
    char *path;
    cm_form query;
    int query_status;
    const char *query_bad;
    cm_form form; /* parsed only for application/x-www-form-urlencoded bodies */
    int form_status;
    const char *form_bad;
    int form_parsed;
    const char *body;
    size_t body_len;
    idp_header *headers; /* borrowed from the transport */
    size_t n_headers;
    int peer_loopback;
    int can_stream; /* the transport writes idp_resp.stream in chunks (else: in the body) */
    int64_t now_ms; /* read once per request */
} idp_req;

/* How the transport finishes a request (fault rules can hold or drop the answer). */
typedef enum {
    IDP_SEND,  /* send the answer now */
    IDP_HOLD,  /* send it after delay_ms on the IdP clock */
    IDP_HANG,  /* never answer; the client gives up, or shutdown ends it */
    IDP_RESET, /* drop the connection with a TCP reset, no answer */
    IDP_CLOSE, /* close the connection without an answer */
} idp_disposition;

typedef struct idp_resp {
    int status;
    idp_disposition disposition;
    int64_t delay_ms;
    idp_header headers[16];
    size_t n_headers;
    cm_strbuf body;
    json_t *body_json;        /* a JSON answer not yet written into body (Idp_resp_json) */
    int body_pending;         /* ... is pending: Idp_resp_materialize writes it */
    const char *error;        /* OAuth error code of the answer, for the trace (static) */
    json_t *trace;            /* the request's trace entry; handlers add fields */
    json_t *trace_pending;    /* worker loops: the entry, to finish outside the state lock */
    int64_t trace_real_start; /* ... and when the request started (wall clock) */
    idp_trace *stream;        /* GET /_mock/trace: the transport writes the entries from
                               * `cursor` in chunks (idp_trace_doc_* ), not from body */
    idp_trace_cursor cursor;
} idp_resp;

const char *Idp_req_header(const idp_req *rq, const char *name);
/** A query parameter, or for POST a form parameter. */
const char *Idp_req_param(const idp_req *rq, const char *name);
/** The session cookie's value, or NULL. */
const char *Idp_req_cookie(const idp_req *rq, const char *cookie_name, char *buf, size_t n);

void Idp_resp_init(idp_resp *rs);
void Idp_resp_dispose(idp_resp *rs);
void Idp_resp_header(idp_resp *rs, const char *name, const char *value);
/** Answer @p status with @p body (taken over; reference stolen; NULL answers 500). The
 * text is written later, by Idp_resp_materialize: outside the state lock. */
void Idp_resp_json(idp_resp *rs, int status, json_t *body);
/** Write a pending JSON answer into rs->body: before anything reads rs->body. */
void Idp_resp_materialize(idp_resp *rs);
/** Drop the answer's body (text or pending JSON). */
void Idp_resp_clear_body(idp_resp *rs);
/** RFC 6749 §5.2 style error JSON with Cache-Control: no-store. */
void Idp_resp_oauth_error(idp_resp *rs, int status, const char *error, const char *desc);
/** RFC 6750 §3 Bearer error: 401/403 with WWW-Authenticate and a JSON body. */
void Idp_resp_bearer_error(idp_resp *rs, int status, const char *error, const char *desc);
void Idp_resp_redirect(idp_resp *rs, const char *url);
/** Answer an HTML page; @p html is taken over (malloc'd). */
void Idp_resp_html(idp_resp *rs, int status, char *html);

/* ---- the server ------------------------------------------------------------------- */

/* One event loop serving HTTP: loop 0 runs on the caller's event_base (the harness's
 * virtual clock, or mock-idp's main thread); standalone mock-idp adds worker loops, each
 * on its own thread, accepting from the same listening socket. */
#define IDP_MAX_LOOPS 257 /* loop 0 and up to 256 workers (--workers) */

typedef struct idp_loop {
    idp_server *s;
    struct event_base *base;
    cm_clock *clock; /* timers for held answers; loop 0: the IdP clock */
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct idp_held *held;   /* answers held or hung by fault rules on this loop */
    struct idp_conn *conns;  /* connections that have sent a byte (conn.c) */
    struct event *resume_ev; /* worker loops: accept again after a turn (loop.c) */
    int draining;            /* report to the server when no held answer is left */
    struct event *accept_ev; /* out of descriptors: accept again after a pause */
    int accept_paused;
    int64_t accept_logged_ms; /* the last "cannot accept" line (one a second at most) */
    /* worker loops only */
    pthread_t thread;
    int started;
    struct event *command_ev; /* activated by the main thread: look at `command` */
    atomic_int command;       /* IDP_LOOP_DRAIN / IDP_LOOP_STOP */
} idp_loop;

enum { IDP_LOOP_RUN, IDP_LOOP_DRAIN, IDP_LOOP_STOP };

struct idp_server {
    idp_config *cfg;
    char *issuer;
    struct event_base *base;
    cm_clock *clock;
    cm_rng rng;
    idp_loop loop0;
    idp_loop *workers; /* worker loops (standalone, --workers N > 1) */
    size_t n_workers;
    size_t workers_wanted;                                       /* from idp_options.workers */
    int64_t header_timeout_ms, body_timeout_ms, idle_timeout_ms; /* connections (conn.c) */
    /* Shared state is guarded by `lock`. Every request holds `gate` shared; the control
     * API and eviction hold it exclusively. Signing (the costly part) runs with `lock`
     * released but `gate` held, so nothing a signer points to can be freed meanwhile. */
    pthread_mutex_t lock;
    pthread_rwlock_t gate;
    int threaded;                 /* worker loops run: sign outside `lock` */
    int trace_off;                /* idp_options.trace_off */
    struct event *drained_ev;     /* on loop 0: a worker loop finished draining */
    atomic_size_t loops_draining; /* loops still holding answers while draining */
    int port;
    void *ssl_ctx; /* SSL_CTX when serving HTTPS */
    char *control_secret;
    char *issuer_template;
    idp_keys keys;
    idp_store store;
    idp_trace trace;
    idp_fault **faults; /* in order of addition; the first that fires applies */
    size_t n_faults;
    unsigned long next_fault;
    const idp_fault *active_fault; /* the rule applied to the request being handled */
    json_t *startup_faults;        /* rules from the config and presets, for reset */
    idp_client *startup_clients;   /* client settings after config and presets, for reset */
    void (*drained)(void *arg);    /* draining: called once when no held answer is left */
    void *drained_arg;
};

/** The fault rule applied to the request being handled when it is of @p kind, else NULL
 * (inline: minting reads it without depending on fault_apply.c). */
static inline const idp_fault *Idp_fault_active(const idp_server *s, idp_fault_kind kind)
{
    return s->active_fault && s->active_fault->kind == kind ? s->active_fault : NULL;
}

/* loop.c: the libevent adapter of one loop */
/** Serve HTTP on @p l from the listening socket @p fd (taken over). */
int Idp_loop_serve(idp_loop *l, evutil_socket_t fd);
void Idp_loop_stop_accepting(idp_loop *l);
/** Answers held or hung on @p l. */
int Idp_loop_held_count(const idp_loop *l);
/** End held and hung answers with 503; returns how many. */
int Idp_loop_end_held(idp_loop *l);
/** Free the loop's HTTP server (closing connections) and forget its held answers. */
void Idp_loop_dispose(idp_loop *l);
/** A listening socket on @p host:@p port (-1 and @p err on failure). */
evutil_socket_t Idp_listen_socket(const char *host, int port, char *err, size_t errlen);
/** A loop's held answers are all out while draining (called on that loop's thread). */
void Idp_loop_drained(idp_loop *l);

/* accept.c */
/** Pause accepting when descriptors run out, instead of spinning (after the listener is
 * bound); and forget the listener again. */
int Idp_accept_watch(idp_loop *l);
void Idp_accept_unwatch(idp_loop *l);

/* stream.c */
/** Answer @p req with the trace document of @p rs->stream, in chunks. */
void Idp_stream_start(idp_loop *l, struct evhttp_request *req, idp_resp *rs);

/* conn.c */
struct bufferevent;
struct evhttp_connection;
typedef struct idp_conn idp_conn;
typedef void Idp_conn_close_fn(struct evhttp_connection *evcon, void *arg);
/** New connections of @p l may idle for the idle timeout before their first byte. */
void Idp_conn_defaults(idp_loop *l);
/** Watch a new connection's bytes (its framing and deadlines); returns @p bev. */
struct bufferevent *Idp_conn_watch(struct bufferevent *bev);
/** A request came in: no deadline runs until its answer is out. */
void Idp_conn_busy(idp_loop *l, struct evhttp_request *req);
/** Call @p fn when @p evcon closes (NULL: no longer); evhttp's close callback is conn.c's. */
void Idp_conn_on_close(idp_loop *l, struct evhttp_connection *evcon, Idp_conn_close_fn *fn,
                       void *arg);
/** The loop serving @p http (accept.c), or NULL. */
idp_loop *Idp_loop_of_http(const struct evhttp *http);

/* workers.c (and sync.c: the locks, the drain report) */
/** Start @p n - 1 worker loops beside loop 0, accepting from its listening socket. */
int Idp_workers_start(idp_server *s, size_t n);
/** Tell every worker loop to drain / stop (from the main thread). */
void Idp_workers_command(idp_server *s, int command);
/** Stop and join the worker loops and free them. */
void Idp_workers_free(idp_server *s);
/** Take the locks for one request (exclusive for the control API and eviction). */
void Idp_lock(idp_server *s, int exclusive);
void Idp_unlock(idp_server *s);
/** Idp_unlock in two steps: the state lock, then (after the trace entry is committed) the
 * gate. */
void Idp_unlock_state(idp_server *s);
void Idp_unlock_gate(idp_server *s);
/** On loop 0 (an event's callback, @p arg the server): no loop holds answers any longer. */
void Idp_loops_drained(evutil_socket_t fd, short what, void *arg);

typedef void (*idp_handler)(idp_server *s, idp_req *rq, idp_resp *rs);

/** Whether GET /_mock/login may send the browser to @p url: the issuer's own origin, or
 * the origin of a registered redirect URI (no open redirect). */
int Idp_return_to_allowed(const idp_server *s, const char *url);
/** Route one request: CORS, control-API access, handler, trace. Always fills @p rs. */
void Idp_dispatch(idp_server *s, idp_req *rq, idp_resp *rs);

/* handlers (one area per file) */
void Idp_h_discovery(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_jwks(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_authorize(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_login_form(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_consent_form(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_token(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_revoke(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_introspect(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_userinfo(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_resource(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_end_session(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_control(idp_server *s, idp_req *rq, idp_resp *rs);
void Idp_h_check_session(idp_server *s, idp_req *rq, idp_resp *rs);
/** OIDC Session Management session_state for a code response (malloc'd; NULL on error). */
char *Idp_session_state(idp_server *s, const char *client_id, const char *redirect_uri,
                        const idp_session *sess);

/* shared protocol pieces */
/** Authenticate the client of a token/revoke/introspect request (RFC 6749 §2.3). On
 * failure the error answer is already in @p rs and NULL is returned. */
const idp_client *Idp_client_authenticate(idp_server *s, idp_req *rq, idp_resp *rs,
                                          int require_confidential);
/** Look up a live access token from an Authorization: Bearer header; on failure the
 * RFC 6750 error is already in @p rs. */
idp_token *Idp_bearer_token(idp_server *s, idp_req *rq, idp_resp *rs);
/** Token lifecycle (store.c; tokens are minted in mint.c). */
idp_session *Idp_session_create(idp_server *s, const char *sub, int64_t now_ms);
idp_session *Idp_session_find(idp_server *s, const char *cookie, int64_t now_ms);
void Idp_session_end(idp_server *s, idp_session *sess);
idp_family *Idp_family_create(idp_server *s, const idp_code *code, int64_t now_ms);
idp_token *Idp_token_issue(idp_server *s, idp_token_kind kind, idp_family *fam, const idp_client *c,
                           const char *sub, const char *scope, int64_t now_ms);
/** An access token for @p fam and the ID token that goes with it (at_hash of the access
 * token; @p nonce NULL = none), signed together: *id_token gets it (caller frees). */
idp_token *Idp_token_issue_with_id_token(idp_server *s, idp_family *fam, const idp_client *c,
                                         const char *scope, const char *nonce, int64_t now_ms,
                                         char **id_token);
idp_token *Idp_token_find(idp_server *s, const char *value);
/** The token's value is in the answer: forget it (a JWT access token is ~1 KB; the map
 * keeps its hash). Refresh tokens keep theirs (a fault rule may send one again). */
void Idp_token_sent(idp_token *t);
/** Revoke a family and every token in it; @p why is recorded in the state. */
void Idp_family_revoke(idp_family *fam, const char *why);
/** Whether a token is usable now (not revoked, not expired, family alive). */
int Idp_token_live(const idp_token *t, int64_t now_ms);
json_t *Idp_store_state(idp_server *s, int64_t now_ms);
void Idp_store_reset(idp_server *s);
/** Build a signed ID token for @p fam at @p now_ms; @p access_token for at_hash (may be
 * NULL); @p nonce NULL = none. Caller frees. */
char *Idp_id_token(idp_server *s, const idp_family *fam, const idp_client *c,
                   const char *access_token, const char *nonce, int64_t now_ms);
/** Scope helpers (space-separated lists; scope.c). */
int Idp_scope_has(const char *scope, const char *item);
int Idp_scope_subset(const char *sub, const char *super);
/** Whether every item of @p scope is among the client's allowed scopes. */
int Idp_scope_allowed(const idp_client *c, const char *scope);

/** Set-Cookie for a session / for ending it, with the configured attributes. */
void Idp_set_session_cookie(idp_server *s, idp_resp *rs, const idp_session *sess);
void Idp_clear_session_cookie(idp_server *s, idp_resp *rs);

/* fault_apply.c */
/** Add a rule (spec borrowed); 0, or -1 with "/pointer: reason" in err. */
int Idp_faults_add(idp_server *s, json_t *spec, char *err, size_t errlen, const char **id);
int Idp_faults_remove(idp_server *s, const char *id);
void Idp_faults_clear(idp_server *s);
json_t *Idp_faults_list(idp_server *s, int64_t now_ms);
/** The rule that fires for this request (counters updated, trace noted), or NULL. */
const idp_fault *Idp_faults_select(idp_server *s, idp_req *rq, idp_resp *rs, const char *endpoint);
/** Apply the parts of @p f that act before the handler; 1 when the answer is complete. */
int Idp_fault_before(idp_server *s, idp_req *rq, idp_resp *rs, const idp_fault *f);
/** Apply the parts of @p f that act on the handler's answer. */
void Idp_fault_after(idp_server *s, idp_req *rq, idp_resp *rs, const idp_fault *f);

/* presets.c */
json_t *Idp_presets_list(void);
/** Apply a preset to every client (and add its rule). Returns 0 or IDP_ECONFIG. */
int Idp_preset_apply(idp_server *s, const char *name, char *err, size_t errlen);

/* trace.c */
json_t *Idp_trace_begin(idp_server *s, const idp_req *rq, const char *endpoint);
void Idp_trace_end(idp_server *s, json_t *entry, const idp_resp *rs, int64_t real_start_ms);
void Idp_trace_dispose(idp_trace *t);
/** Seconds as a JSON number from milliseconds. */
json_t *Idp_seconds(int64_t ms);
/** Constant-time string equality (secrets, PKCE verifiers). */
int Idp_str_equal_ct(const char *a, const char *b);

#endif
