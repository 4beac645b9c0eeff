/* The trace: one JSON entry per request, the judge's evidence. Token ids only, never
 * raw token values. Fields t and seq are deterministic; real_time and latency are not. */
#include "cm_clock.h"
#include "cm_format.h"
#include "cm_strbuf.h"
#include "handlers.h"
#include "req.h"
#include "server_state.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_json.h"

json_t *Idp_seconds(int64_t ms)
{
    if (ms % 1000 == 0)
        return json_integer(ms / 1000);
    return json_real((double)ms / 1000.0);
}

json_t *Idp_trace_begin(idp_server *s, const idp_req *rq, const char *endpoint)
{
    char buf[256];
    const char *origin = Idp_req_header(rq, "Origin");
    unsigned long seq = ++s->trace.next_seq;
    /* the path and Origin are the peer's bytes: cm_json_text keeps them valid JSON */
    json_t *e = json_pack("{s:I, s:o, s:o, s:o, s:s, s:o, s:b}", "seq", (json_int_t)seq, "t",
                          Idp_seconds(rq->now_ms), "real_time", Idp_seconds(cm_wallclock_ms()),
                          "method", cm_json_text(rq->method), "endpoint", endpoint, "path",
                          cm_json_text(rq->path), "session_cookie",
                          Idp_req_cookie(rq, s->cfg->cookie.name, buf, sizeof buf) != NULL);
    if (e && origin)
        json_object_set_new(e, "origin", cm_json_text(origin));
    if (!e) /* a seq handed out is always committed, or the trace would show a gap */
        Idp_trace_commit(&s->trace, seq, NULL);
    return e;
}

void Idp_trace_end(idp_server *s, json_t *entry, const idp_resp *rs, int64_t real_start_ms)
{
    if (!entry)
        return;
    static const char *const outcome[] = {"sent", "held", "hung", "reset", "closed"};
    json_object_set_new(entry, "status", json_integer(rs->status));
    if (rs->disposition != IDP_SEND)
        json_object_set_new(entry, "delivery", json_string(outcome[rs->disposition]));
    if (rs->disposition == IDP_HOLD)
        json_object_set_new(entry, "held_for", Idp_seconds(rs->delay_ms));
    for (size_t i = 0; i < rs->n_headers; i++)
        if (rs->headers[i].value && !strcasecmp(rs->headers[i].name, "Retry-After"))
            json_object_set_new(entry, "retry_after", json_integer(atol(rs->headers[i].value)));
    if (rs->error)
        json_object_set_new(entry, "error", json_string(rs->error));
    json_object_set_new(entry, "latency", Idp_seconds(cm_wallclock_ms() - real_start_ms));
    unsigned long seq = (unsigned long)json_integer_value(json_object_get(entry, "seq"));
    char *line = cm_json_dumps_sorted(entry, 15);
    json_decref(entry);
    Idp_trace_commit(&s->trace, seq, line);
}

static void trace_push(idp_trace *t, unsigned long seq, char *line);

/* The next entry in seq order: to the file and the ring (trace lock held). */
static void emit(idp_trace *t, char *line)
{
    unsigned long seq = ++t->committed;
    if (!line) {
        t->dropped++;
        return;
    }
    if (t->out) {
        fprintf(t->out, "%s\n", line);
        fflush(t->out);
    }
    trace_push(t, seq, line);
}

/* Emit the entries that waited for the one just committed. */
static void emit_early(idp_trace *t)
{
    for (size_t i = 0; i < t->n_early;) {
        if (t->early[i].seq != t->committed + 1) {
            i++;
            continue;
        }
        emit(t, t->early[i].line);
        t->early[i] = t->early[--t->n_early];
        i = 0;
    }
}

static int keep_early(idp_trace *t, unsigned long seq, char *line)
{
    if (t->n_early == t->cap_early) {
        size_t cap = t->cap_early ? t->cap_early * 2 : 16;
        struct idp_trace_early *e = realloc(t->early, cap * sizeof *e);
        if (!e)
            return -1;
        t->early = e;
        t->cap_early = cap;
    }
    t->early[t->n_early++] = (struct idp_trace_early){.seq = seq, .line = line};
    return 0;
}

void Idp_trace_commit(idp_trace *t, unsigned long seq, char *line)
{
    pthread_mutex_lock(&t->lock);
    if (seq != t->committed + 1 && keep_early(t, seq, line) == 0) {
        pthread_mutex_unlock(&t->lock);
        return;
    }
    emit(t, line); /* in order (or, out of memory, at once rather than never) */
    emit_early(t);
    pthread_mutex_unlock(&t->lock);
}

static void drop_oldest(idp_trace *t)
{
    t->bytes -= strlen(t->ring[t->head].line) + 1;
    free(t->ring[t->head].line);
    t->head = (t->head + 1) % t->cap;
    t->count--;
    t->dropped++;
}

/* Keep @p line (taken over) as the newest entry, dropping the oldest beyond the limits. */
static void trace_push(idp_trace *t, unsigned long seq, char *line)
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
    t->ring[(t->head + t->count) % t->cap] = (struct idp_trace_item){.seq = seq, .line = line};
    t->count++;
    t->bytes += n;
}

json_t *Idp_trace_snapshot(idp_trace *t)
{
    json_t *a = json_array();
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->count; i++)
        json_array_append_new(a, json_loads(t->ring[(t->head + i) % t->cap].line, 0, NULL));
    pthread_mutex_unlock(&t->lock);
    return a;
}

/* The ring index of the oldest kept entry with seq >= @p seq, or count (none). */
static size_t first_at_or_after(const idp_trace *t, unsigned long seq)
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ring[(t->head + mid) % t->cap].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t Idp_trace_chunk(idp_trace *t, idp_trace_cursor *c, cm_strbuf *out, size_t max_bytes)
{
    size_t n = 0, start = out->len;
    pthread_mutex_lock(&t->lock);
    for (size_t i = first_at_or_after(t, c->next); i < t->count && c->left > 0; i++) {
        const struct idp_trace_item *it = &t->ring[(t->head + i) % t->cap];
        if (n > 0 && out->len - start + strlen(it->line) > max_bytes)
            break;
        if (c->written++)
            cm_strbuf_puts(out, ",");
        cm_strbuf_puts(out, it->line);
        c->next = it->seq + 1;
        c->left--;
        n++;
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

void Idp_trace_doc_head(idp_trace *t, cm_strbuf *out)
{
    cm_strbuf_printf(out, "{\"format_version\":\"%s\",\"dropped\":%lu,\"requests\":[",
                     CM_FORMAT_VERSION, Idp_trace_dropped(t));
}

void Idp_trace_doc_tail(cm_strbuf *out)
{
    cm_strbuf_puts(out, "]}");
}

void Idp_trace_doc(idp_trace *t, idp_trace_cursor *c, cm_strbuf *out)
{
    Idp_trace_doc_head(t, out);
    while (Idp_trace_chunk(t, c, out, (size_t)1 << 20) > 0)
        ;
    Idp_trace_doc_tail(out);
}

unsigned long Idp_trace_dropped(idp_trace *t)
{
    pthread_mutex_lock(&t->lock);
    unsigned long n = t->dropped;
    pthread_mutex_unlock(&t->lock);
    return n;
}

void Idp_trace_clear(idp_trace *t, int restart)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->count; i++)
        free(t->ring[(t->head + i) % t->cap].line);
    t->count = t->head = 0;
    t->bytes = 0;
    t->dropped = 0;
    for (size_t i = 0; i < t->n_early; i++) /* none: callers hold the gate exclusively */
        free(t->early[i].line);
    t->n_early = 0;
    if (restart)
        t->next_seq = t->committed = 0;
    pthread_mutex_unlock(&t->lock);
}

void Idp_trace_dispose(idp_trace *t)
{
    Idp_trace_clear(t, 1);
    free(t->ring);
    free(t->early);
    if (t->out)
        fclose(t->out);
    t->ring = NULL;
    t->out = NULL;
}
