/* mock_idp internals: the request and response every handler works on (req.c), so handlers
 * are tested without a socket. */
#ifndef IDP_REQ_H
#define IDP_REQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_form.h"
#include "cm_strbuf.h"
#include "trace.h"

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
/** Add @p key: @p value (client text, made valid UTF-8) to the request's trace entry, when
 * there is one and @p value is not NULL. */
void Idp_resp_note(idp_resp *rs, const char *key, const char *value);
/** The grant a request touched in its trace entry: "family", and "session" (the IdP session
 * it was issued in) when it came from one. */
void Idp_resp_note_grant(idp_resp *rs, const char *family, const char *session);
/** Answer an HTML page; @p html is taken over (malloc'd). */
void Idp_resp_html(idp_resp *rs, int status, char *html);
/** Constant-time string equality (secrets, PKCE verifiers). */
int Idp_str_equal_ct(const char *a, const char *b);

#endif
