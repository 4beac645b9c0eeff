/* GET /_mock/trace over a socket: the ring written out in chunks. */
#include "cm_strbuf.h"
#include "net.h"
#include "req.h"
#include "server_state.h"
#include "trace.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <stdlib.h>

/* GET /_mock/trace written in chunks of about 64 KB, the next one when the previous one
 * has left: memory stays small however large the ring, and the trace lock is held only
 * while a chunk is copied. */
typedef struct idp_stream {
    idp_loop *loop;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    idp_trace *trace;
    idp_trace_cursor cursor;
} idp_stream;

#define IDP_STREAM_CHUNK (64 * 1024)

static void stream_free(idp_stream *st)
{
    Idp_conn_on_close(st->loop, st->evcon, NULL, NULL);
    free(st);
}

static void stream_on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    free(arg); /* the client went away: libevent frees the request */
}

static void stream_next(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    idp_stream *st = arg;
    cm_strbuf b;
    cm_strbuf_init(&b);
    size_t n = Idp_trace_chunk(st->trace, &st->cursor, &b, IDP_STREAM_CHUNK);
    if (n == 0)
        Idp_trace_doc_tail(&b);
    struct evbuffer *buf = evbuffer_new();
    if (buf && b.data)
        evbuffer_add(buf, b.data, b.len);
    cm_strbuf_dispose(&b);
    if (n == 0) {
        struct evhttp_request *req = st->req;
        stream_free(st);
        if (buf)
            evhttp_send_reply_chunk(req, buf);
        evhttp_send_reply_end(req);
    } else if (buf) {
        evhttp_send_reply_chunk_with_cb(st->req, buf, stream_next, st);
    }
    if (buf)
        evbuffer_free(buf);
}

void Idp_stream_start(idp_loop *l, struct evhttp_request *req, idp_resp *rs)
{
    idp_stream *st = calloc(1, sizeof *st);
    if (!st) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    *st = (idp_stream){.loop = l,
                       .req = req,
                       .evcon = evhttp_request_get_connection(req),
                       .trace = rs->stream,
                       .cursor = rs->cursor};
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    for (size_t i = 0; i < rs->n_headers; i++)
        evhttp_add_header(out, rs->headers[i].name, rs->headers[i].value);
    Idp_conn_on_close(l, st->evcon, stream_on_close, st);
    if (req->major == 1 && req->minor > 1)
        req->minor = 1;
    evhttp_send_reply_start(req, 200, "OK");
    cm_strbuf head;
    cm_strbuf_init(&head);
    Idp_trace_doc_head(st->trace, &head);
    struct evbuffer *buf = evbuffer_new();
    if (buf && head.data)
        evbuffer_add(buf, head.data, head.len);
    cm_strbuf_dispose(&head);
    if (buf) {
        evhttp_send_reply_chunk_with_cb(req, buf, stream_next, st);
        evbuffer_free(buf);
    }
}
