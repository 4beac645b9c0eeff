/* mock_idp internals: dispatching a request (dispatch.c, trace.c), the handlers (h_*.c),
 * the protocol pieces they share, fault rules applied (fault_apply.c), presets. */
#ifndef IDP_HANDLERS_H
#define IDP_HANDLERS_H

#include "req.h"
#include "server_state.h"

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
json_t *Idp_trace_begin(idp_server *s, const idp_req *rq, const char *endpoint);
void Idp_trace_end(idp_server *s, json_t *entry, const idp_resp *rs, int64_t real_start_ms);

#endif
