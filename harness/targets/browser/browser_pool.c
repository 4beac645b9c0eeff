/* One headless Chromium per cookie mode per process, shared by the scenarios it runs:
 * each scenario gets a new tab, and starts with no cookies (browser.h). Launching a
 * browser per scenario cost ~0.5 s of start and close each time. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "browser.h"
#include "cm_clock.h"

#define CALL_LIMIT_MS 5000
/* asking a page its time: one that does not answer at once is left for the next time */
#define NOW_LIMIT_MS 200

static hr_browser pool[2]; /* [block_third_party_cookies] */
static int running[2];

static void drop(int mode)
{
    if (running[mode])
        hr_browser_close(&pool[mode]);
    running[mode] = 0;
}

void hr_browser_pool_close(void)
{
    drop(0);
    drop(1);
}

static long log_size(const hr_browser *b)
{
    struct stat st;
    return stat(b->log, &st) == 0 ? (long)st.st_size : 0;
}

/* The shared browser of @p mode, launched on about:blank (a tab that stays open: headless
 * Chromium exits when its last tab closes) when there is none or it died. */
static hr_browser *shared(int mode, int *launched, char *err, size_t errlen)
{
    hr_browser *b = &pool[mode];
    if (running[mode] && (b->reaped || waitpid(b->pid, NULL, WNOHANG) == b->pid)) {
        hr_browser_forget(b);
        drop(mode);
    }
    if (!running[mode]) {
        if (hr_browser_launch(b, "about:blank", mode, err, errlen) != 0)
            return NULL;
        running[mode] = 1;
        *launched = 1;
    }
    return b;
}

/* The tab's requests take $RENEWLAB_BROWSER_LATENCY_MS of real time (none by default). */
static int throttle(hr_browser *b, const char *session, char *err, size_t errlen)
{
    int ms = hr_browser_latency_ms();
    json_t *res = NULL;
    if (ms == 0)
        return 0;
    int rc = hr_browser_call_in(b, session, "Network.emulateNetworkConditions",
                                json_pack("{s:b, s:i, s:i, s:i}", "offline", 0, "latency", ms,
                                          "downloadThroughput", -1, "uploadThroughput", -1),
                                &res, CALL_LIMIT_MS, err, errlen);
    json_decref(res);
    return rc;
}

/* A new tab at about:blank, attached, paused on virtual time from @p start_us (epoch
 * microseconds), then
 * navigated to @p url (a navigation the browser starts: the page's own timers wait). The
 * first tab of a run starts with no cookies and no requests followed; a run's next tabs
 * share them. */
static int open_paused(hr_browser_tab *t, const char *url, int64_t start_us, int first, char *err,
                       size_t errlen)
{
    hr_browser *b = t->browser;
    json_t *res = NULL;
    int rc =
        first ? hr_browser_call(b, "Storage.clearCookies", NULL, &res, CALL_LIMIT_MS, err, errlen)
              : 0;
    json_decref(res);
    res = NULL;
    if (rc != 0 ||
        hr_browser_call(b, "Target.createTarget", json_pack("{s:s}", "url", "about:blank"), &res,
                        CALL_LIMIT_MS, err, errlen) != 0)
        return -1;
    snprintf(t->target_id, sizeof t->target_id, "%s",
             json_string_value(json_object_get(res, "targetId")));
    json_decref(res);
    rc = hr_browser_call(b, "Target.attachToTarget",
                         json_pack("{s:s, s:b}", "targetId", t->target_id, "flatten", 1), &res,
                         CALL_LIMIT_MS, err, errlen);
    snprintf(t->session, sizeof t->session, "%s",
             rc == 0 ? json_string_value(json_object_get(res, "sessionId")) : "");
    json_decref(res);
    if (first) {
        b->n_inflight = 0;
        b->net_untracked_sent = 0;
    }
    if (rc != 0 || hr_browser_call_in(b, t->session, "Network.enable", NULL, &res, CALL_LIMIT_MS,
                                      err, errlen) != 0)
        return -1;
    json_decref(res);
    if (throttle(b, t->session, err, errlen) != 0)
        return -1;
    if (hr_browser_call_in(b, t->session, "Emulation.setVirtualTimePolicy",
                           json_pack("{s:s, s:f}", "policy", "pause", "initialVirtualTime",
                                     (double)start_us / 1e6),
                           &res, CALL_LIMIT_MS, err, errlen) != 0)
        return -1;
    json_decref(res);
    return hr_browser_send_in(b, t->session, "Page.navigate", json_pack("{s:s}", "url", url), err,
                              errlen);
}

int hr_browser_tab_open(hr_browser_tab *t, const char *url, int block, int64_t start_us, char *err,
                        size_t errlen)
{
    int mode = block ? 1 : 0;
    memset(t, 0, sizeof *t);
    for (int attempt = 0; attempt < 2; attempt++) { /* a browser that stopped answering:
                                                     * once more with a fresh one */
        hr_browser *b = shared(mode, &t->launched, err, errlen);
        if (!b)
            return -1;
        t->browser = b;
        t->log_from = log_size(b);
        if (open_paused(t, url, start_us, 1, err, errlen) == 0)
            return 0;
        drop(mode);
    }
    t->browser = NULL;
    return -1;
}

int hr_browser_tab_open_beside(hr_browser_tab *t, const hr_browser_tab *first, const char *url,
                               int64_t start_us, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->browser = first->browser;
    t->log_from = first->log_from;
    if (open_paused(t, url, start_us, 0, err, errlen) == 0)
        return 0;
    t->browser = NULL;
    return -1;
}

int hr_browser_tab_budget(hr_browser_tab *t, int64_t us, char *err, size_t errlen)
{
    /* not waiting: while a navigation is under way the answer waits on our app host */
    return hr_browser_send_in(
        t->browser, t->session, "Emulation.setVirtualTimePolicy",
        json_pack("{s:s, s:f}", "policy", "advance", "budget", (double)us / 1000.0), err, errlen);
}

/* The tab's page is between documents or loading one (its main frame, whose id is the
 * tab's, is followed as a request): it may have no context to evaluate in. */
static int tab_loading(const hr_browser_tab *t)
{
    char id[80];
    snprintf(id, sizeof id, "frame:%s", t->target_id);
    for (int i = 0; i < t->browser->n_inflight; i++)
        if (!strcmp(t->browser->net_inflight[i].id, id))
            return 1;
    return 0;
}

int hr_browser_tab_now_ms(hr_browser_tab *t, int64_t *ms)
{
    json_t *res = NULL;
    char err[200];
    if (tab_loading(t))
        return -1;
    int rc =
        hr_browser_call_in(t->browser, t->session, "Runtime.evaluate",
                           json_pack("{s:s, s:b}", "expression", "Date.now()", "returnByValue", 1),
                           &res, NOW_LIMIT_MS, err, sizeof err);
    json_t *v = json_object_get(json_object_get(res, "result"), "value");
    if (rc == 0 && json_is_number(v))
        *ms = (int64_t)json_number_value(v);
    else
        rc = -1;
    json_decref(res);
    return rc;
}

int hr_browser_tab_requests(hr_browser_tab *t, int64_t stale_ms)
{
    hr_browser *b = t->browser;
    if (hr_browser_pump(b) != 0)
        return -1;
    int64_t now = cm_wallclock_ms();
    for (int i = 0; i < b->n_inflight;)
        if (now - b->net_inflight[i].seen_ms >= stale_ms)
            b->net_inflight[i] = b->net_inflight[--b->n_inflight];
        else
            i++;
    return b->n_inflight;
}

void hr_browser_tab_eval(hr_browser_tab *t, const char *expression)
{
    char err[200];
    hr_browser_send_in(t->browser, t->session, "Runtime.evaluate",
                       json_pack("{s:s}", "expression", expression), err, sizeof err);
}

void hr_browser_tab_close(hr_browser_tab *t)
{
    hr_browser *b = t->browser;
    if (!b)
        return;
    int mode = b == &pool[1];
    char err[200];
    json_t *res = NULL;
    if (b->reaped)
        drop(mode); /* it died during the run */
    else if (running[mode] && *t->target_id &&
             hr_browser_call(b, "Target.closeTarget", json_pack("{s:s}", "targetId", t->target_id),
                             &res, CALL_LIMIT_MS, err, sizeof err) != 0)
        drop(mode); /* it does not answer: the next tab gets a fresh browser */
    json_decref(res);
    t->browser = NULL;
}

int hr_browser_tab_gone(hr_browser_tab *t, int *status)
{
    hr_browser *b = t->browser;
    if (!b || b->pid <= 0 || b->reaped || waitpid(b->pid, status, WNOHANG) != b->pid)
        return 0;
    hr_browser_forget(b); /* reaped: its group and folder go when the pool drops it */
    return 1;
}
