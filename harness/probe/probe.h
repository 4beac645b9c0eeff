/* renewlab probe: IdP-compatibility probes against an external issuer with the C core's
 * HTTP and JWT code, and the capability matrix they fill (docs/probe.md). */
#ifndef HR_PROBE_H
#define HR_PROBE_H

#include <jansson.h>
#include <stddef.h>

#include "renew_core.h"

typedef struct pb_opts {
    const char *issuer, *client_id, *client_secret;
    const char *refresh_token;  /* one token to work with (and its descendants) */
    const char *login_command;  /* prints fresh tokens (JSON) on each run */
    const char *session_cookie; /* for prompt=none */
    const char *redirect_uri, *scope, *ca_file;
    double grace_wait;    /* seconds to wait before asking again about an old refresh token */
    double login_timeout; /* seconds the login command may take (0: 60) */
} pb_opts;

typedef struct pb_resp {
    int err; /* 0, or RC_ETRANSPORT / RC_ETIMEOUT */
    int status;
    char *body, *content_type, *location;
    json_t *json; /* the body parsed, when it is a JSON object */
} pb_resp;

typedef struct probe probe;

/** One back-channel HTTP exchange, blocking (10 s). @p form: a urlencoded body for POST, or
 * NULL for GET. Client authentication is added to token/revocation/introspection calls by
 * the caller through @p basic (1: client_secret_basic). The response is the caller's. */
void pb_http(probe *p, const char *url, const char *form, const char *bearer, int basic,
             pb_resp *out);
/** One front-channel request, as a browser's navigation makes it (its Accept header, the
 * IdP session's @p cookie or none), not followed: the answer is the caller's. */
void pb_navigate(probe *p, const char *url, const char *cookie, pb_resp *out);
void pb_resp_dispose(pb_resp *r);
/* The scope a login asks for unless a probe says otherwise. */
#define PB_DEFAULT_SCOPE "openid offline_access"
/** Fresh tokens (login.c): from the login command (a JSON object with access_token and,
 * when the IdP issues them, refresh_token, id_token and session_cookie), run for
 * @p purpose (one of the documented list) with @p scope (NULL: PB_DEFAULT_SCOPE), or the
 * given refresh token the first time (never for another scope). NULL when none is left
 * (the reason in @p why). New reference. */
json_t *pb_tokens(probe *p, const char *purpose, const char *scope, char *why, size_t n);
/** The IdP session for prompt=none: --session-cookie, or the session_cookie a login
 * printed (one login for "prompt_none" when none has yet); NULL when there is none. */
const char *pb_session_cookie(probe *p);
/** The newest ID token the IdP gave the probe (login or refresh: the id_token_hint of
 * prompt=none), or NULL; pb_note_id_token records one. */
const char *pb_latest_id_token(probe *p);
void pb_note_id_token(probe *p, const char *id_token);
/** How the login command first failed (naming it and its exit code), or NULL. */
const char *pb_login_failure(probe *p);
/** A refresh grant (@p refresh_token NULL: the grant without one); the response is the
 * caller's. */
void pb_refresh(probe *p, const char *refresh_token, pb_resp *out);
/** The discovery document (borrowed), the JWKS text as fetched (borrowed; NULL when it
 * could not be fetched), the options. */
json_t *pb_meta(probe *p);
const char *pb_jwks_text(probe *p);
const pb_opts *pb_options(probe *p);
/** Sleep on the wall clock (the probe talks to a real IdP in real time). */
void pb_wait(probe *p, double seconds);

/** Record a capability (rows.c): @p name (a documented row), @p value ("yes", "no",
 * "supported", …), @p ok (1 good, 0 a problem, -1 neutral, not applicable or not
 * measured), evidence as printf text; told on stderr at once. */
void pb_row(probe *p, const char *name, const char *value, int ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** The same row value (neutral) and evidence for each of @p names (NULL-terminated): for
 * "not applicable" and "not measured". */
void pb_rows_say(probe *p, const char *const *names, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** The value of an earlier row (borrowed), or NULL. */
const char *pb_value(probe *p, const char *name);
/** The probes, in order (probe_checks.c). */
void pb_run_all(probe *p);
/** A probe of @p o's IdP with its discovery document and JWKS fetched, or NULL with the
 * reason in @p err (probe_http.c). */
probe *pb_open(const pb_opts *o, char *err, size_t errlen);
/** The matrix: every documented row in order (new reference); a row no probe reached
 * reads "not measured". */
json_t *pb_rows(probe *p);
void pb_close(probe *p);

/** Run every probe against @p o; returns the matrix (new reference) or NULL with the
 * reason (an infrastructure failure: the issuer cannot be reached at all). */
json_t *hr_probe(const pb_opts *o, char *err, size_t errlen);

/** Run @p cmd through the shell within @p timeout_s, its standard output into @p out
 * (command.c): its wait status, or PB_CMD_TIMEOUT (it was killed with its process group)
 * or PB_CMD_START (it could not be started). */
enum { PB_CMD_TIMEOUT = -2, PB_CMD_START = -1 };
struct cm_strbuf;
int pb_command_run(const char *cmd, double timeout_s, struct cm_strbuf *out);

#endif
