/* The trace: one JSON entry per request, the judge's evidence. Token ids only, never
 * raw token values. Fields t and seq are deterministic; real_time and latency are not. */
#include "idp_int.h"

#include <stdlib.h>
#include <strings.h>

json_t *idp_seconds(int64_t ms)
{
    if (ms % 1000 == 0)
        return json_integer(ms / 1000);
    return json_real((double)ms / 1000.0);
}

json_t *idp_trace_begin(idp_server *s, const idp_req *rq, const char *endpoint)
{
    char buf[256];
    const char *origin = idp_req_header(rq, "Origin");
    json_t *e =
        json_pack("{s:I, s:o, s:o, s:s, s:s, s:s, s:b}", "seq", (json_int_t)++s->trace.next_seq,
                  "t", idp_seconds(rq->now_ms), "real_time", idp_seconds(cm_wallclock_ms()),
                  "method", rq->method, "endpoint", endpoint, "path", rq->path, "session_cookie",
                  idp_req_cookie(rq, s->cfg->cookie.name, buf, sizeof buf) != NULL);
    if (e && origin)
        json_object_set_new(e, "origin", json_string(origin));
    return e;
}

void idp_trace_end(idp_server *s, json_t *entry, const idp_resp *rs, int64_t real_start_ms)
{
    if (!entry)
        return;
    static const char *const outcome[] = {"sent", "held", "hung", "reset", "closed"};
    json_object_set_new(entry, "status", json_integer(rs->status));
    if (rs->disposition != IDP_SEND)
        json_object_set_new(entry, "delivery", json_string(outcome[rs->disposition]));
    if (rs->disposition == IDP_HOLD)
        json_object_set_new(entry, "held_for", idp_seconds(rs->delay_ms));
    for (size_t i = 0; i < rs->n_headers; i++)
        if (rs->headers[i].value && !strcasecmp(rs->headers[i].name, "Retry-After"))
            json_object_set_new(entry, "retry_after", json_integer(atol(rs->headers[i].value)));
    if (rs->error)
        json_object_set_new(entry, "error", json_string(rs->error));
    json_object_set_new(entry, "latency", idp_seconds(cm_wallclock_ms() - real_start_ms));
    if (s->trace.out) {
        char *line = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
        if (line) {
            fprintf(s->trace.out, "%s\n", line);
            fflush(s->trace.out);
            free(line);
        }
    }
    json_array_append_new(s->trace.entries, entry);
}

void idp_trace_dispose(idp_trace *t)
{
    json_decref(t->entries);
    if (t->out)
        fclose(t->out);
    t->entries = NULL;
    t->out = NULL;
}
