/* The target interface (docs/architecture.md, "Targets"): the client under test behind
 * one set of operations, and the run (hr_world) it plays in. The runner (harness/run)
 * calls only these operations; a target calls only the run's services declared here.
 * This header is where the two meet: neither includes the other's files. */
#ifndef HR_TARGET_H
#define HR_TARGET_H

#include <jansson.h>

#include "cm_virtclock.h"
#include "mock_idp.h"
#include "renew_core.h"

#define HR_DEFAULT_START 1800000000LL /* epoch seconds: runs never depend on the date */

/* ---- capabilities: what a client can do (docs/targets.md, the one list) -------------- */
enum {
    HR_CAP_REFRESH = 1u << 0,         /* renews with a refresh token */
    HR_CAP_SILENT = 1u << 1,          /* renews with prompt=none in a hidden frame */
    HR_CAP_REVOKE = 1u << 2,          /* revokes its tokens on logout */
    HR_CAP_TABS = 1u << 3,            /* several instances sharing storage (tabs) */
    HR_CAP_MONITOR_SESSION = 1u << 4, /* watches the IdP session (check_session) */
    HR_CAP_MISBEHAVE = 1u << 5,       /* can be told to make renew_core's deliberate bugs */
    HR_CAP_VIRTUAL_CLOCK = 1u << 6,   /* reads its time from the harness */
    HR_CAP_REAL_CLOCK = 1u << 7,      /* reads the wall clock */
};
/** The capability named @p name (0: none such). */
unsigned hr_cap_of(const char *name);
/** The capabilities named in @p names (a JSON array of strings; unknown names ignored). */
unsigned hr_caps_of(json_t *names);
/** Why a target with @p caps cannot run @p scn, or NULL: static text or written into @p buf. */
const char *hr_caps_missing(unsigned caps, json_t *scn, char *buf, size_t n);

/* ---- the run a target plays in ---------------------------------------------------- */
typedef struct hr_world hr_world;
typedef struct hr_target_ops hr_target_ops;

/** The clock a target's client reads. */
typedef enum {
    HR_CLOCK_VIRTUAL, /* the harness's virtual clock, in process or over a protocol */
    HR_CLOCK_BROWSER, /* the page's virtual time in the browser, the IdP's following it */
    HR_CLOCK_WALL,    /* the wall clock (real-time adapters) */
} hr_clock_kind;

struct hr_world {
    json_t *scn;
    struct event_base *base;
    cm_clock *clock;
    int real_time;    /* the clock is the wall clock (HR_CLOCK_WALL) */
    int64_t start_ms; /* time of the run's start: times are reported from it */
    int64_t client_offset_ms;
    cm_seeded_rng idp_rng;
    uint64_t seed;
    idp_server *idp;
    rc_transport http;       /* the harness's own requests (resource calls, silent renewals) */
    char cookie[300];        /* the IdP session of the last login step */
    char client_issuer[400]; /* the issuer the client is given (issuer_suffix) */
    int last_status;         /* of the last client operation (start, login, logout) */
    int cookies_blocked;
    json_t *events, *steps;   /* what happened, for the judge and the reports */
    int pending;              /* operations still running in the current step */
    char error[400];          /* an infrastructure failure */
    char skip[200];           /* why the target cannot run this scenario */
    const hr_target_ops *ops; /* the target */
    void *target;             /* its state */
};

/** Seconds since the run's start as a JSON number. */
json_t *hr_rel(const hr_world *w, int64_t ms);
/** Record a client event @p name (tab 0, now) with the reason, method, transient and detail
 * of @p fields (borrowed), for the targets whose client reports in JSON (browser, exec). */
void hr_world_event(hr_world *w, const char *name, json_t *fields);
/** hr_world_event at @p at_ms (the client's own clock, when it is the run's). */
void hr_world_event_at(hr_world *w, const char *name, json_t *fields, int64_t at_ms);
/** Set the outcome of the step under way in the steps log (an rc_err name of @p status). */
void hr_world_outcome(hr_world *w, int status);
/** Run the virtual clock until w->pending is 0 (virtual time may pass: retries, backoff).
 * 0, or -1 with w->error. */
int hr_world_wait_ops(hr_world *w, const char *what);
/** Let @p ms of virtual time pass. 0, or -1 with w->error. */
int hr_world_advance(hr_world *w, int64_t ms);
/** What a real-time wait asks after each turn of the loop: 1 done, 0 go on, -1 broken
 * (w->error set). */
typedef int (*hr_wait_state)(hr_world *w, void *arg);
/** Run the loop on the wall clock until @p state is not 0 (its value) or @p limit_ms pass
 * (0). It wakes at least every 100 ms, so @p state notices a child process that died. */
int hr_world_wait_real(hr_world *w, hr_wait_state state, void *arg, int64_t limit_ms);
/** A number of the scenario's client settings, or @p dflt. */
double hr_client_num(const hr_world *w, const char *key, double dflt);

/* ---- the operations ------------------------------------------------------------------ */
/** What open returns besides 0 and -1 (w->error). */
enum { HR_OPEN_SKIP = 1, /* w->skip says why */ HR_OPEN_REAL = 2 /* again, on the wall clock */ };

struct hr_target_ops {
    const char *name; /* in --target NAME or NAME:ARG */
    const char *arg;  /* what its ARG is ("COMMAND"), required; NULL: it takes none */
    int cross_site;   /* the IdP on another site than the app (browsers: cookies, frames) */
    /** Check @p arg before any run (a page client's manifest): 0, or -1 with @p err
     * ("file:line: reason"). NULL: any. */
    int (*check)(const char *arg, char *err, size_t n);
    /** The catalogue name whose scenarios it runs (a scenario's "targets"). */
    const char *(*catalogue)(const char *arg);
    /** A catalogue every target of its kind runs besides its own ("browser": every page
     * client), or NULL. */
    const char *group;
    /** Open after the IdP is set up: 0, HR_OPEN_*, or -1 with w->error. *self is set
     * even on failure, for report and close. */
    int (*open)(hr_world *w, const char *arg, void **self);
    /** Its declared capabilities (after open). */
    unsigned (*caps)(void *self);
    /** The clock its client reads (after open). */
    hr_clock_kind (*clock)(void *self);
    /* the client steps: 0, or -1 with w->error */
    int (*login)(void *self, json_t *step);
    int (*use)(void *self, json_t *step);
    int (*api_call)(void *self, json_t *step);
    int (*logout)(void *self, json_t *step);
    /** Let @p ms pass for the client. */
    int (*advance)(void *self, int64_t ms);
    /** The steps are over: what is due, and the client's last events. */
    int (*finish)(void *self);
    /** Add what the target keeps for the report to @p result (may be NULL). */
    void (*report)(void *self, json_t *result);
    /** Stop it and free @p self (NULL: a no-op). */
    void (*close)(void *self);
};

/* ---- the registry (registry.c) ------------------------------------------------------- */
typedef struct hr_target_ref {
    const hr_target_ops *ops;
    const char *arg; /* borrowed from the spec, or a page client's name */
} hr_target_ref;

/** Resolve a --target spec: NAME or NAME:ARG of a registered target, or the name of a page
 * client folder (harness/web/clients/NAME: the page target loads it). 0, or -1 with the
 * reason in @p err. It reads no file: the runs resolve their target each time. */
int hr_target_resolve(const char *spec, hr_target_ref *out, char *err, size_t n);
/** Check a resolved target's argument once, before any run (a page client's manifest). */
int hr_target_check(const hr_target_ref *ref, char *err, size_t n);
/** Whether @p name may appear in a scenario's "targets": 1 (*browser: a page client's, or
 * the browser group), or 0. */
int hr_catalogue_known(const char *name, int *browser);
/** The catalogue names ("core, browser, iframe, oidc-client-ts"), for messages. */
void hr_catalogue_names(char *buf, size_t n);
/** The registered names, for usage lines ("core, exec:CMD, page:DIR, iframe, ..."). */
void hr_target_names(char *buf, size_t n);
/** Close what targets keep between runs (the shared browsers), when a process is done
 * with runs. */
void hr_targets_release(void);
/** Kill whatever targets started that outlives a run (browsers), on signals. */
void hr_targets_kill_all(void);

#endif
