/* mock_idp: a mock OpenID Connect provider for token-renewal testing.
 * Runs on the caller's event_base and time interface, so the harness can embed it on
 * a virtual clock, and the `mock-idp` CLI can run it on real time. */
#ifndef MOCK_IDP_H
#define MOCK_IDP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_clock.h"
#include "cm_rng.h"

struct event_base;

typedef struct idp_server idp_server;
typedef struct idp_config idp_config;

/** Error codes (only ever grow at the end). */
enum idp_status {
    IDP_OK = 0,
    IDP_ENOMEM = -1,
    IDP_ECONFIG = -2, /* configuration file or value invalid */
    IDP_EKEY = -3,    /* signing key could not be made or loaded */
    IDP_ELISTEN = -4, /* could not bind the listening socket */
    IDP_ETLS = -5,    /* TLS certificate or key could not be loaded */
    IDP_EIO = -6,     /* a file could not be opened or written */
};

/** Options beyond the config file (from the command line). All strings borrowed. */
typedef struct idp_options {
    const char *issuer;         /* NULL: from the config, else from the listen address;
                                 * "{port}" is replaced by the bound port */
    const char *trace_out;      /* append each trace entry as a JSON line; NULL: none */
    const char *control_secret; /* NULL: control API on loopback only */
    const char *tls_cert, *tls_key;
    const char *const *presets; /* applied in order after the config */
    size_t n_presets;
    size_t trace_limit;       /* entries kept in memory (ring buffer); 0: 100000 */
    size_t trace_bytes;       /* ... and at most this much memory for them; 0: 8 MB */
    size_t state_limit;       /* grants, sessions, codes kept (oldest evicted); 0: 10000 */
    void *signing_key;        /* an EVP_PKEY to sign with (borrowed, reference taken); NULL: from
                               * the config (generated, or its signing_key file) */
    size_t grant_tokens_kept; /* per grant, the newest N access tokens and N rotated refresh
                               * tokens are kept (older ones are forgotten: reuse of one
                               * reads as unknown); 0: 64 */
    int trace_off;            /* no trace at all (the load model counts requests itself) */
    size_t workers;           /* event loops serving HTTP from one listening socket, each on its own
                               * thread but the caller's; 0 or 1: one loop, on the caller's base. Needs
                               * evthread_use_pthreads() before that event_base was made, and a real
                               * clock: the harness's virtual clock runs one loop */
    double header_timeout;    /* seconds from a request's first byte to the end of its head;
                               * 0: 10 */
    double body_timeout;      /* ... from the end of its head to the end of its body; 0: 30 */
    double idle_timeout;      /* ... a connection may idle between requests; 0: 120 */
} idp_options;

/* ---- in-process control -------------------------------------------------------------
 * What the control API (docs/control-api.md) does, as functions: for an embedding program
 * that drives the IdP on its own loop, as the harness does. They take no lock: call them
 * from the loop's thread of a server without worker loops. */

/** A session for configured user @p sub at the IdP's now; its cookie ("name=value") into
 * @p cookie. 0, or -1 (unknown user, no memory). */
int idp_server_login(idp_server *s, const char *sub, char *cookie, size_t n);
/** Revoke live grants as an administrator: the family labelled @p family, @p sub's, or
 * @p client_id's (NULL matches any). Returns the labels revoked (new array). */
json_t *idp_server_revoke_grants(idp_server *s, const char *family, const char *sub,
                                 const char *client_id);
/** End every session, or @p sub's ("logged out elsewhere"); returns their labels. */
json_t *idp_server_end_sessions(idp_server *s, const char *sub);
/** Add a fault rule (validated whole; nothing is added on error, the reason in @p err). */
int idp_server_add_fault(idp_server *s, json_t *rule, char *err, size_t n);
void idp_server_clear_faults(idp_server *s);
/** Rotate the signing key; the old one stays in /jwks for @p overlap_s seconds (< 0: the
 * config's key_overlap). */
int idp_server_rotate_keys(idp_server *s, double overlap_s);
int idp_server_apply_preset(idp_server *s, const char *name, char *err, size_t n);
/** Change a client's settings (config format); an invalid patch changes nothing. */
int idp_server_patch_client(idp_server *s, const char *client_id, json_t *patch, char *err,
                            size_t n);
/** The trace entries, oldest first (new array). */
json_t *idp_server_trace(idp_server *s);

/* ---- validation without a server (the scenario loader) --------------------------- */
/** The presets, as GET /_mock/presets answers (new reference). */
json_t *idp_presets(void);
/** 0 when @p rule is a valid fault rule, else -1 with "/pointer: reason" in @p err. */
int idp_fault_rule_check(json_t *rule, char *err, size_t n);
/** Apply top-level settings of the config format (issuer, cookie, lifetimes,
 * discovery_omit, ...; not clients, users or faults) to a config not yet served: 0, or an
 * idp_status with "/pointer: reason" in @p err (the config is then to be freed). */
int idp_config_set(idp_config *cfg, json_t *settings, char *err, size_t n);
/** idp_server_patch_client on a config not yet served. */
int idp_config_patch_client(idp_config *cfg, const char *client_id, json_t *patch, char *err,
                            size_t n);

/** A short English description of an idp_status. */
const char *idp_strerror(int status);
/** A PEM private key from the regular file @p path (at most 1 MiB): an EVP_PKEY to free,
 * or NULL with "path: reason" in @p err. */
void *idp_pem_key_load(const char *path, char *err, size_t errlen);

/** Load and validate a JSON config file; on error, @p err gets "file:line: reason".
 * Returns 0 and a config to own in *out, or a negative idp_status. */
int idp_config_load(const char *path, idp_config **out, char *err, size_t errlen);
/** As idp_config_load, from @p len bytes of @p text; @p name stands for the file in errors. */
int idp_config_parse(const char *name, const char *text, size_t len, idp_config **out, char *err,
                     size_t errlen);
/** The built-in demo config (README "Demo configuration"). Returns 0 or IDP_ENOMEM. */
int idp_config_demo(idp_config **out);
/** The config's signing algorithm ("RS256", "ES256", "EdDSA"; borrowed). */
const char *idp_config_signing_alg(const idp_config *cfg);
/** Whether the config names a signing key file. */
int idp_config_has_key_file(const idp_config *cfg);
/** Free a config. NULL is a no-op. */
void idp_config_free(idp_config *cfg);

/** Make a server. Takes over @p cfg (even on failure); borrows @p base and @p clock,
 * which must outlive the server; copies @p rng. Returns 0 and the server in *out. */
int idp_server_new(struct event_base *base, cm_clock *clock, cm_rng rng, idp_config *cfg,
                   const idp_options *opts, idp_server **out, char *err, size_t errlen);
/** Bind @p host:@p port (0 = any free port) and start serving. */
int idp_server_listen(idp_server *s, const char *host, int port, char *err, size_t errlen);
/** The issuer URL (borrowed; valid after listen, or at once when the issuer given has no
 * "{port}"). */
const char *idp_server_issuer(const idp_server *s);
/** The bound port, or -1 before listen. */
int idp_server_port(const idp_server *s);
/** Called on the caller's loop (loop 0) when a request arrives, before the request reads
 * the IdP's clock: an embedder whose clock follows another party's (a browser page on its
 * own virtual time) may move the clock forward to that party's time there. */
typedef void (*idp_request_hook)(void *arg);
/** Install @p hook (NULL removes it). Requests of worker loops do not call it. */
void idp_server_set_request_hook(idp_server *s, idp_request_hook hook, void *arg);
/** How many answers fault rules hold or hang on the caller's loop (loop 0). */
int idp_server_holding(const idp_server *s);
/** Begin a graceful stop: no new connections; answers a fault rule holds still go out
 * when due. @p drained is called once when none is left (at once if there is none). The
 * caller ends the rest at its drain deadline with idp_server_shutdown. */
void idp_server_drain(idp_server *s, void (*drained)(void *arg), void *arg);
/** Stop accepting connections and end every answer a fault rule holds or hangs with
 * 503. Returns how many were ended; the caller then runs the loop a little longer (a
 * drain) to flush them. */
int idp_server_shutdown(idp_server *s);
/** One request served in-process, without a socket (the load model's transport). All
 * strings borrowed. */
typedef struct idp_inproc_request {
    const char *method; /* "GET", "POST", ... */
    const char *target; /* path and query: "/token", "/authorize?client_id=..." */
    const char *content_type, *authorization, *cookie; /* header values, or NULL */
    const char *body;
    size_t body_len;
} idp_inproc_request;

typedef struct idp_inproc_response {
    int status;       /* 0: a fault rule dropped the request, there is no answer */
    int64_t delay_ms; /* a fault rule holds the answer back this long */
    char *body;       /* NUL-terminated; owned */
    size_t body_len;
    char *content_type, *location, *retry_after, *www_authenticate, *set_cookie; /* or NULL */
} idp_inproc_response;

/** Serve @p rq as if it came from loopback, at the IdP clock's now, on the caller's thread
 * (not with worker loops: IDP_ECONFIG). Returns 0, or IDP_ENOMEM (then @p out is empty).
 * Free the answer with idp_inproc_response_dispose. */
int idp_server_serve_inproc(idp_server *s, const idp_inproc_request *rq, idp_inproc_response *out);
void idp_inproc_response_dispose(idp_inproc_response *r);

/** Stop serving and free everything. NULL is a no-op. */
void idp_server_free(idp_server *s);

#endif
