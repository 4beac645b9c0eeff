/* mock_idp internals: serving HTTP with libevent: loops (loop.c), the listening socket
 * (accept.c), connections (conn.c), trace streams (stream.c), worker threads
 * (workers.c) and what they share (sync.c). */
#ifndef IDP_NET_H
#define IDP_NET_H

#include <event2/util.h>

#include "req.h"
#include "server_state.h"

struct bufferevent;
struct evhttp;
struct evhttp_connection;
struct evhttp_request;

/* loop.c: the libevent adapter of one loop */
/** Serve HTTP on @p l from the listening socket @p fd (taken over). */
int Idp_loop_serve(idp_loop *l, evutil_socket_t fd);
void Idp_loop_stop_accepting(idp_loop *l);
/** Answers held or hung on @p l. */
int Idp_loop_held_count(const idp_loop *l);
/** End held and hung answers with 503; returns how many. */
int Idp_loop_end_held(idp_loop *l);
/** Free the loop's HTTP server (closing connections) and forget its held answers. */
void Idp_loop_dispose(idp_loop *l);
/** A listening socket on @p host:@p port (-1 and @p err on failure). */
evutil_socket_t Idp_listen_socket(const char *host, int port, char *err, size_t errlen);
/** A loop's held answers are all out while draining (called on that loop's thread). */
void Idp_loop_drained(idp_loop *l);

/* accept.c */
/** Pause accepting when descriptors run out, instead of spinning (after the listener is
 * bound); and forget the listener again. */
int Idp_accept_watch(idp_loop *l);
void Idp_accept_unwatch(idp_loop *l);

/* stream.c */
/** Answer @p req with the trace document of @p rs->stream, in chunks. */
void Idp_stream_start(idp_loop *l, struct evhttp_request *req, idp_resp *rs);

/* conn.c */
struct bufferevent;
struct evhttp_connection;
typedef struct idp_conn idp_conn;
typedef void Idp_conn_close_fn(struct evhttp_connection *evcon, void *arg);
/** New connections of @p l may idle for the idle timeout before their first byte. */
void Idp_conn_defaults(idp_loop *l);
/** Watch a new connection's bytes (its framing and deadlines); returns @p bev. */
struct bufferevent *Idp_conn_watch(struct bufferevent *bev);
/** A request came in: no deadline runs until its answer is out. */
void Idp_conn_busy(idp_loop *l, struct evhttp_request *req);
/** Call @p fn when @p evcon closes (NULL: no longer); evhttp's close callback is conn.c's. */
void Idp_conn_on_close(idp_loop *l, struct evhttp_connection *evcon, Idp_conn_close_fn *fn,
                       void *arg);
/** The loop serving @p http (accept.c), or NULL. */
idp_loop *Idp_loop_of_http(const struct evhttp *http);

/* workers.c (and sync.c: the locks, the drain report) */
/** Start @p n - 1 worker loops beside loop 0, accepting from its listening socket. */
int Idp_workers_start(idp_server *s, size_t n);
/** Tell every worker loop to drain / stop (from the main thread). */
void Idp_workers_command(idp_server *s, int command);
/** Stop and join the worker loops and free them. */
void Idp_workers_free(idp_server *s);
/** Take the locks for one request (exclusive for the control API and eviction). */
void Idp_lock(idp_server *s, int exclusive);
void Idp_unlock(idp_server *s);
/** Idp_unlock in two steps: the state lock, then (after the trace entry is committed) the
 * gate. */
void Idp_unlock_state(idp_server *s);
void Idp_unlock_gate(idp_server *s);
/** On loop 0 (an event's callback, @p arg the server): no loop holds answers any longer. */
void Idp_loops_drained(evutil_socket_t fd, short what, void *arg);

#endif
