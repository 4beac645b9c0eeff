/* mock_idp internals: the server instance every part works on, its event loops and
 * everything it holds (set up in server.c). */
#ifndef IDP_SERVER_STATE_H
#define IDP_SERVER_STATE_H

#include <event2/util.h>
#include <pthread.h>
#include <stdatomic.h>

#include "cm_clock.h"
#include "cm_rng.h"
#include "config.h"
#include "fault.h"
#include "keys.h"
#include "mock_idp.h"
#include "store.h"
#include "trace.h"

/* ---- the server ------------------------------------------------------------------- */

/* One event loop serving HTTP: loop 0 runs on the caller's event_base (the harness's
 * virtual clock, or mock-idp's main thread); standalone mock-idp adds worker loops, each
 * on its own thread, accepting from the same listening socket. */
#define IDP_MAX_LOOPS 257 /* loop 0 and up to 256 workers (--workers) */

typedef struct idp_loop {
    idp_server *s;
    struct event_base *base;
    cm_clock *clock; /* timers for held answers; loop 0: the IdP clock */
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct idp_held *held;   /* answers held or hung by fault rules on this loop */
    struct idp_conn *conns;  /* connections that have sent a byte (conn.c) */
    struct event *resume_ev; /* worker loops: accept again after a turn (loop.c) */
    int draining;            /* report to the server when no held answer is left */
    struct event *accept_ev; /* out of descriptors: accept again after a pause */
    int accept_paused;
    int64_t accept_logged_ms; /* the last "cannot accept" line (one a second at most) */
    /* worker loops only */
    pthread_t thread;
    int started;
    struct event *command_ev; /* activated by the main thread: look at `command` */
    atomic_int command;       /* IDP_LOOP_DRAIN / IDP_LOOP_STOP */
} idp_loop;

enum { IDP_LOOP_RUN, IDP_LOOP_DRAIN, IDP_LOOP_STOP };

struct idp_server {
    idp_config *cfg;
    char *issuer;
    struct event_base *base;
    cm_clock *clock;
    cm_rng rng;
    idp_loop loop0;
    idp_loop *workers; /* worker loops (standalone, --workers N > 1) */
    size_t n_workers;
    size_t workers_wanted;                                       /* from idp_options.workers */
    int64_t header_timeout_ms, body_timeout_ms, idle_timeout_ms; /* connections (conn.c) */
    /* Shared state is guarded by `lock`. Every request holds `gate` shared; the control
     * API and eviction hold it exclusively. Signing (the costly part) runs with `lock`
     * released but `gate` held, so nothing a signer points to can be freed meanwhile. */
    pthread_mutex_t lock;
    pthread_rwlock_t gate;
    int threaded;                 /* worker loops run: sign outside `lock` */
    int trace_off;                /* idp_options.trace_off */
    struct event *drained_ev;     /* on loop 0: a worker loop finished draining */
    atomic_size_t loops_draining; /* loops still holding answers while draining */
    int port;
    void *ssl_ctx; /* SSL_CTX when serving HTTPS */
    char *control_secret;
    char *issuer_template;
    idp_keys keys;
    idp_store store;
    idp_trace trace;
    idp_fault **faults; /* in order of addition; the first that fires applies */
    size_t n_faults;
    unsigned long next_fault;
    const idp_fault *active_fault; /* the rule applied to the request being handled */
    json_t *startup_faults;        /* rules from the config and presets, for reset */
    idp_client *startup_clients;   /* client settings after config and presets, for reset */
    void (*drained)(void *arg);    /* draining: called once when no held answer is left */
    void *drained_arg;
    idp_request_hook request_hook; /* loop 0: before each request reads the clock */
    void *request_hook_arg;
};

/** The fault rule applied to the request being handled when it is of @p kind, else NULL
 * (inline: minting reads it without depending on fault_apply.c). */
static inline const idp_fault *Idp_fault_active(const idp_server *s, idp_fault_kind kind)
{
    return s->active_fault && s->active_fault->kind == kind ? s->active_fault : NULL;
}

#endif
