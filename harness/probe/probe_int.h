/* The probe's state, shared by its plumbing (probe_http.c), the login command (login.c)
 * and the matrix (rows.c). */
#ifndef HR_PROBE_INT_H
#define HR_PROBE_INT_H

#include "probe.h"

struct probe {
    pb_opts o;
    struct event_base *base;
    cm_clock *clock;
    rc_transport http;
    json_t *meta, *jwks;
    json_t *rows;                /* capability -> row */
    int given_used;              /* the --refresh-token was handed out already */
    char *latest_idt;            /* the newest ID token the IdP gave (login or refresh) */
    char *login_failure;         /* how the login command first failed, or NULL */
    char *cookie;                /* a session cookie a login printed (session_cookie) */
    const char *garbage_seen[2]; /* how introspection and userinfo answered a garbage
                                  * token, once asked (probe_revoke.c) */
};

/* A discovery member (borrowed), or NULL. */
const char *pb_meta_str(probe *p, const char *key);
/* A string member of @p obj (borrowed), or NULL. */
const char *pb_jstr(json_t *obj, const char *key);
/* An answer as evidence: the transport error, or the status with the OAuth error, and the
 * body when it is not an RFC 6749 §5.2 error object (an empty one says so). */
const char *pb_answer(const pb_resp *r, char *buf, size_t n);

/* The probes (probe_checks.c, probe_revoke.c, probe_prompt.c). */
void pb_probe_refresh(probe *p);
void pb_probe_lifetime(probe *p);
void pb_probe_offline_access(probe *p);
void pb_probe_revocation(probe *p);
void pb_probe_introspection(probe *p);
void pb_probe_prompt_none(probe *p);
/* Is @p at accepted? "active", "inactive" or "unknown" (introspection with a client
 * secret, else userinfo); @p why says how it was asked. */
const char *pb_token_state(probe *p, const char *at, char *why, size_t n);

#endif
