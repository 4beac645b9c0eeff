/* One run of one scenario against the core target: the IdP in process, renew_core tabs
 * sharing a store, all on one event loop and one virtual clock. */
#ifndef HR_WORLD_H
#define HR_WORLD_H

#include <jansson.h>

#include "cm_virtclock.h"
#include "mock_idp.h"
#include "renew_core.h"

#define HR_MAX_TABS 4
#define HR_DEFAULT_START 1800000000LL /* epoch seconds: runs never depend on the date */

typedef struct hr_world hr_world;
typedef struct hr_page hr_page; /* browser targets: app origin, browser (page.c) */
typedef struct hr_exec hr_exec; /* exec targets: the adapter process (exec.c) */

typedef struct hr_tab {
    hr_world *w;
    int index;
    cm_clock clock; /* the shared clock seen with this party's offset */
    cm_seeded_rng rng;
    rc_client *client;
} hr_tab;

struct hr_world {
    json_t *scn;
    struct event_base *base;
    cm_clock *clock;
    int64_t start_ms; /* virtual time of the run's start: times are reported from it */
    int64_t client_offset_ms;
    cm_seeded_rng idp_rng;
    idp_server *idp;
    rc_memory_store *store;
    rc_transport http; /* the harness's own requests (resource calls, silent renewals) */
    hr_tab tabs[HR_MAX_TABS];
    int ntabs;
    char cookie[300]; /* the IdP session of the last login step */
    char client_issuer[400];
    int last_status; /* of the last client operation (start, login, logout) */
    int cookies_blocked;
    int real_time;          /* the wall clock (real-time exec) instead of the virtual one */
    int browser;            /* a browser target (iframe, oidc-client-ts) */
    int want_real;          /* exec: the adapter reads the wall clock: start again in real time */
    json_t *events, *steps; /* what happened, for the judge and the reports */
    int pending;            /* operations still running in the current step */
    char error[400];        /* an infrastructure failure */
    const char *target;     /* core, iframe or oidc-client-ts */
    hr_page *page;          /* browser targets only: the page on virtual time */
    json_t *console;        /* browser targets: what the browser logged */
    int browser_launched;   /* browser targets: this run launched the shared browser */
    hr_exec *exec;          /* exec targets only */
    char skip[200];         /* why the target cannot run this scenario (exec capabilities) */
};

/** Set up a run; @p exec_real: an exec target whose adapter reads the wall clock. */
int hr_world_init(hr_world *w, json_t *scn, const char *target, uint64_t seed, int exec_real);
void hr_world_dispose(hr_world *w);
/** Run the scenario's steps. 0, or -1 with w->error set (infrastructure). */
int hr_world_play(hr_world *w);
/** What a real-time wait asks after each turn of the loop: 1 done, 0 go on, -1 broken
 * (w->error set). */
typedef int (*hr_wait_state)(hr_world *w, void *arg);
/** Run the loop on the wall clock until @p state is not 0 (its value) or @p limit_ms pass
 * (0). It wakes at least every 100 ms, so @p state notices a child process that died. */
int hr_world_wait_real(hr_world *w, hr_wait_state state, void *arg, int64_t limit_ms);
/** Record a client event @p name (tab 0, now) with the reason, method, transient and detail
 * of @p fields (borrowed), for the targets whose client reports in JSON (browser, exec). */
void hr_world_event(hr_world *w, const char *name, json_t *fields);
/** hr_world_event at @p at_ms (the client's own clock, when it is the run's). */
void hr_world_event_at(hr_world *w, const char *name, json_t *fields, int64_t at_ms);
/** Seconds since the run's start as a JSON number. */
json_t *hr_rel(const hr_world *w, int64_t ms);

/* Browser targets (page.c): open after the IdP is set up; steps that involve the client
 * (login, advance, use, api_call, logout) go through the page; finish flushes its events;
 * close keeps the browser's console in w->console. 0, or -1 with w->error. */
int hr_page_open(hr_world *w);
int hr_page_step(hr_world *w, const char *what, json_t *step);
int hr_page_finish(hr_world *w);
void hr_page_close(hr_world *w);

/* Exec targets (exec.c): open starts the adapter and shakes hands (w->skip set when it
 * lacks a capability); commands (@p msg taken) count in w->pending until "done"; broken
 * copies a protocol failure into w->error (1) or returns 0; close stops the process. */
int hr_exec_open(hr_world *w, const char *cmd);
void hr_exec_command(hr_world *w, json_t *msg);
int hr_exec_broken(hr_world *w);
/** Real-time exec: run the loop until the commands under way are done (1), @p limit_ms
 * passes (0; with @p until_done 0 this is a plain wait), or the adapter broke (-1). */
int hr_exec_wait_real(hr_world *w, int64_t limit_ms, int until_done);
void hr_exec_close(hr_world *w);

#endif
