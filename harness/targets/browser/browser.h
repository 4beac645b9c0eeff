/* Headless Chromium for the browser targets: launched in its own process group with a
 * fresh profile, closed over the DevTools pipe, and never left behind (docs/browser.md). */
#ifndef HR_BROWSER_H
#define HR_BROWSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HR_NET_TRACKED 64 /* in-flight requests of a page tracked (more: not waited for) */

typedef struct hr_browser {
    pid_t pid;     /* the browser process, also its process group */
    int reaped;    /* the process was reaped (exited early); its group may remain */
    int cdp_in;    /* --remote-debugging-pipe: we write commands here (its fd 3) */
    int cdp_out;   /* and read NUL-terminated answers here (its fd 4) */
    char dir[256]; /* the run's private folder: profile, TMPDIR, HOME, stderr log */
    char log[300]; /* the browser's stderr (console lines, framing refusals) */
    char *answers; /* DevTools answers read but not yet taken (NUL-separated) */
    size_t n_answers;
    long next_id;         /* of the next DevTools command */
    long budgets_expired; /* Emulation.virtualTimeBudgetExpired events read so far */
    struct hr_request {
        char id[40];
        int64_t seen_ms;            /* wall-clock time of its last Network event */
    } net_inflight[HR_NET_TRACKED]; /* requests started and not yet finished */
    int n_inflight;
    char net_untracked[120]; /* a URL whose requests are only counted (keepalive posts,
                              * whose end DevTools never reports) */
    long net_untracked_sent; /* requests to it the page started */
    long net_news;           /* Network events of the page's requests read so far: its
                              * network is making progress while this grows */
    long net_ends;           /* of those, ends of requests and frame loads */
} hr_browser;

/** The Chromium binary: $RENEWLAB_CHROMIUM, else Debian's /usr/lib/chromium/chromium. */
const char *hr_browser_binary(void);
/** Real-time latency every request of a tab is given (DevTools network emulation), from
 * $RENEWLAB_BROWSER_LATENCY_MS (0 to 60000; else 0, none): a slow network, to check
 * that a browser run's verdicts do not depend on how fast the network really is. */
int hr_browser_latency_ms(void);
/** Launch headless Chromium at @p url with a fresh profile; @p block_third_party_cookies
 * is written into the profile (cookie_controls_mode 1, else 0). 0, or -1 with the reason
 * in @p err (an infrastructure failure). @p b is the caller's. */
int hr_browser_launch(hr_browser *b, const char *url, int block_third_party_cookies, char *err,
                      size_t errlen);
/** Close the browser (Browser.close, then SIGKILL to its group if it lingers), wait until
 * every process of its group is gone and remove its folder. Safe to call twice. */
void hr_browser_close(hr_browser *b);
/** Lines of the browser's log from byte @p from on that explain a failure (console output,
 * refused frames), newest last, as a JSON array (new reference). */
struct json_t;
struct json_t *hr_browser_console(const hr_browser *b, long from);
/** The last line the browser logged (new reference: a JSON string, or NULL). */
struct json_t *hr_browser_log_tail(const hr_browser *b);
/** Call DevTools @p method with @p params (stolen; NULL = none) over the pipe and wait up
 * to @p limit_ms for its answer: 0 and the result in *result (new reference; may be NULL),
 * or -1 with the reason in @p err. */
int hr_browser_call(hr_browser *b, const char *method, struct json_t *params,
                    struct json_t **result, int limit_ms, char *err, size_t errlen);
/** hr_browser_call for the DevTools session @p session (a tab's; NULL: the browser). */
int hr_browser_call_in(hr_browser *b, const char *session, const char *method,
                       struct json_t *params, struct json_t **result, int limit_ms, char *err,
                       size_t errlen);
/** Send a command without waiting for its answer (it is dropped when read): for commands
 * whose answer waits on this process (Page.navigate answers once our app host served the
 * page). 0, or -1 with @p err. */
int hr_browser_send_in(hr_browser *b, const char *session, const char *method,
                       struct json_t *params, char *err, size_t errlen);
/** Read what the browser sent without waiting (events: budget expiries are counted).
 * 0, or -1 when the pipe is closed (the browser is gone). */
int hr_browser_pump(hr_browser *b);
/** The browser process was reaped by the caller: hr_browser_close only ends its group. */
void hr_browser_forget(hr_browser *b);
/** Kill every browser this process launched and has not closed (exit paths, signals). */
void hr_browser_kill_all(void);

/* ---- one browser per run (browser_pool.c) --------------------------------------------- */

/** A scenario's tab in the process's shared browser for its cookie mode: one headless
 * Chromium per mode, launched on first use and kept for the following scenarios. A tab
 * starts with no cookies (the IdP's port changes per scenario, but cookies ignore ports),
 * and the app's origin is new each time, so nothing else carries over. */
typedef struct hr_browser_tab {
    hr_browser *browser; /* the shared browser (borrowed) */
    char target_id[64];
    char session[64]; /* the DevTools session attached to the tab */
    long log_from;    /* the browser's log size when the tab opened: this tab's lines follow */
    int launched;     /* opening it launched the browser (the first tab of a run, or after a
                       * browser died) */
} hr_browser_tab;

/** Open @p url in a new tab of the shared browser with this cookie mode (launching it
 * when there is none or it died). The tab runs on virtual time starting at @p start_ms
 * (epoch microseconds), paused: it moves only by hr_browser_tab_budget. 0, or -1 with the
 * reason in @p err. */
int hr_browser_tab_open(hr_browser_tab *t, const char *url, int block_third_party_cookies,
                        int64_t start_us, char *err, size_t errlen);
/** Open @p url in another tab of @p first's browser, for the same run: it shares the first
 * tab's cookies and storage (one app origin, one IdP session), starts paused at @p start_us
 * (the run's instant now, epoch microseconds) and is followed with it. 0, or -1 with the
 * reason in @p err. */
int hr_browser_tab_open_beside(hr_browser_tab *t, const hr_browser_tab *first, const char *url,
                               int64_t start_us, char *err, size_t errlen);
/** Let the tab's virtual time run @p us microseconds (its timers fire, fast-forwarded when
 * it has no immediate work); the tab is paused again when its expiry has been read: the
 * browser's budgets_expired counts those of all its tabs. */
int hr_browser_tab_budget(hr_browser_tab *t, int64_t us, char *err, size_t errlen);
/** The tab's own clock, Date.now() in its page (epoch ms, into @p ms). It runs ahead of the
 * budgets given: Chromium counts at least 10 ms of virtual time for every request of the
 * page, from its start (WebScopedVirtualTimePauser, kNonInstant), whatever the budget.
 * 0, or -1 (the page has no context to ask, as between two documents). */
int hr_browser_tab_now_ms(hr_browser_tab *t, int64_t *ms);
/** The page's requests under way (DevTools Network events), or -1 when the browser is
 * gone. A request with no news for @p stale_ms of real time is forgotten: some ends are
 * never reported (a frame removed while it loads). */
int hr_browser_tab_requests(hr_browser_tab *t, int64_t stale_ms);
/** Evaluate @p expression in the tab's page, not waiting (errors ignored: the page may be
 * leaving). */
void hr_browser_tab_eval(hr_browser_tab *t, const char *expression);
/** Close the tab; a browser that does not answer is closed (the next tab relaunches). */
void hr_browser_tab_close(hr_browser_tab *t);
/** The browser of the tab exited: reap it (its status in *status) and forget it. */
int hr_browser_tab_gone(hr_browser_tab *t, int *status);
/** Close the shared browsers (the end of a run, or of a worker process). */
void hr_browser_pool_close(void);

#endif
