/* Requests served in-process, without a socket: the load model's transport. The same
 * dispatch, handlers, fault rules and store as over HTTP; only the bytes on the wire and
 * the connection handling (held answers are returned with their delay) are left out. */
#include "cm_clock.h"
#include "cm_form.h"
#include "handlers.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fill(idp_req *rq, const idp_inproc_request *in, idp_header *headers)
{
    const char *q = strchr(in->target, '?');
    size_t plen = q ? (size_t)(q - in->target) : strlen(in->target);
    rq->method = in->method;
    rq->path = plen ? strndup(in->target, plen) : strdup("/");
    if (!rq->path)
        return IDP_ENOMEM;
    rq->query_status =
        cm_form_parse(q ? q + 1 : "", q ? strlen(q + 1) : 0, &rq->query, &rq->query_bad);
    const char *names[] = {"Content-Type", "Authorization", "Cookie"};
    const char *values[] = {in->content_type, in->authorization, in->cookie};
    for (size_t i = 0; i < 3; i++)
        if (values[i])
            headers[rq->n_headers++] = (idp_header){(char *)names[i], (char *)values[i]};
    rq->headers = headers;
    rq->body = in->body ? in->body : "";
    rq->body_len = in->body ? in->body_len : 0;
    static const char FORM[] = "application/x-www-form-urlencoded";
    if (in->content_type && !strncasecmp(in->content_type, FORM, sizeof FORM - 1)) {
        rq->form_parsed = 1;
        rq->form_status = cm_form_parse(rq->body, rq->body_len, &rq->form, &rq->form_bad);
    }
    rq->peer_loopback = 1;
    return 0;
}

static char *copy_header(const idp_resp *rs, const char *name)
{
    for (size_t i = 0; i < rs->n_headers; i++)
        if (rs->headers[i].value && !strcasecmp(rs->headers[i].name, name))
            return strdup(rs->headers[i].value);
    return NULL;
}

static void take(idp_inproc_response *out, idp_resp *rs)
{
    *out = (idp_inproc_response){.status = rs->status};
    if (rs->disposition == IDP_HOLD)
        out->delay_ms = rs->delay_ms;
    else if (rs->disposition != IDP_SEND)
        out->status = 0; /* hung, reset or closed: no answer */
    out->body_len = rs->body.len;
    out->body = malloc(rs->body.len + 1);
    if (out->body) {
        if (rs->body.len)
            memcpy(out->body, rs->body.data, rs->body.len);
        out->body[rs->body.len] = '\0';
    }
    out->content_type = copy_header(rs, "Content-Type");
    out->location = copy_header(rs, "Location");
    out->retry_after = copy_header(rs, "Retry-After");
    out->www_authenticate = copy_header(rs, "WWW-Authenticate");
    out->set_cookie = copy_header(rs, "Set-Cookie");
}

int idp_server_serve_inproc(idp_server *s, const idp_inproc_request *in, idp_inproc_response *out)
{
    idp_req rq = {0};
    idp_header headers[3];
    idp_resp rs;
    Idp_resp_init(&rs);
    *out = (idp_inproc_response){0};
    if (s->threaded) /* no locks here: worker loops would race with it */
        return IDP_ECONFIG;
    int rc = fill(&rq, in, headers);
    if (rc == 0) {
        rq.now_ms = cm_clock_now(s->clock);
        Idp_dispatch(s, &rq, &rs);
        Idp_resp_materialize(&rs);
        if (Idp_store_over_limits(&s->store))
            Idp_store_enforce_limits(s);
        take(out, &rs);
        if (!out->body)
            rc = IDP_ENOMEM;
    }
    Idp_resp_dispose(&rs);
    cm_form_dispose(&rq.query);
    cm_form_dispose(&rq.form);
    free(rq.path);
    return rc;
}

void idp_inproc_response_dispose(idp_inproc_response *r)
{
    free(r->body);
    free(r->content_type);
    free(r->location);
    free(r->retry_after);
    free(r->www_authenticate);
    free(r->set_cookie);
    *r = (idp_inproc_response){0};
}
