/* The trace: one JSON entry per request, the judge's evidence. Token ids only, never
 * raw token values. Fields t and seq are deterministic; real_time and latency are not. */
#include "idp_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_json.h"

json_t *idp_seconds(int64_t ms)
{
    if (ms % 1000 == 0)
        return json_integer(ms / 1000);
    return json_real((double)ms / 1000.0);
}

static void trace_push(idp_trace *t, char *line);

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
    char *line = cm_json_dumps_sorted(entry, 15);
    json_decref(entry);
    pthread_mutex_lock(&s->trace.lock);
    if (!line)
        s->trace.dropped++;
    else if (s->trace.out) {
        fprintf(s->trace.out, "%s\n", line);
        fflush(s->trace.out);
    }
    if (line)
        trace_push(&s->trace, line);
    pthread_mutex_unlock(&s->trace.lock);
}

static void drop_oldest(idp_trace *t)
{
    t->bytes -= strlen(t->ring[t->head]) + 1;
    free(t->ring[t->head]);
    t->head = (t->head + 1) % t->cap;
    t->count--;
    t->dropped++;
}

/* Keep @p line (taken over) as the newest entry, dropping the oldest beyond the limits. */
static void trace_push(idp_trace *t, char *line)
{
    if (!t->ring) {
        t->cap = t->cap ? t->cap : 100000;
        t->max_bytes = t->max_bytes ? t->max_bytes : (size_t)8 << 20;
        t->ring = calloc(t->cap, sizeof *t->ring);
        if (!t->ring) {
            free(line);
            t->dropped++;
            return;
        }
    }
    size_t n = strlen(line) + 1;
    while (t->count && (t->count == t->cap || t->bytes + n > t->max_bytes))
        drop_oldest(t);
    t->ring[(t->head + t->count) % t->cap] = line;
    t->count++;
    t->bytes += n;
}

json_t *idp_trace_snapshot(idp_trace *t)
{
    json_t *a = json_array();
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->count; i++)
        json_array_append_new(a, json_loads(t->ring[(t->head + i) % t->cap], 0, NULL));
    pthread_mutex_unlock(&t->lock);
    return a;
}

unsigned long idp_trace_dropped(idp_trace *t)
{
    pthread_mutex_lock(&t->lock);
    unsigned long n = t->dropped;
    pthread_mutex_unlock(&t->lock);
    return n;
}

void idp_trace_clear(idp_trace *t, int restart)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->count; i++)
        free(t->ring[(t->head + i) % t->cap]);
    t->count = t->head = 0;
    t->bytes = 0;
    t->dropped = 0;
    if (restart)
        t->next_seq = 0;
    pthread_mutex_unlock(&t->lock);
}

void idp_trace_dispose(idp_trace *t)
{
    idp_trace_clear(t, 1);
    free(t->ring);
    if (t->out)
        fclose(t->out);
    t->ring = NULL;
    t->out = NULL;
}
