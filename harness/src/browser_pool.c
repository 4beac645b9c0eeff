/* One headless Chromium per cookie mode per process, shared by the scenarios it runs:
 * each scenario gets a new tab, and starts with no cookies (browser.h). Launching a
 * browser per scenario cost ~0.5 s of start and close each time. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "browser.h"

#define CALL_LIMIT_MS 5000

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

int hr_browser_tab_open(hr_browser_tab *t, const char *url, int block, char *err, size_t errlen)
{
    int mode = block ? 1 : 0;
    memset(t, 0, sizeof *t);
    for (int attempt = 0; attempt < 2; attempt++) { /* a browser that stopped answering:
                                                     * once more with a fresh one */
        hr_browser *b = shared(mode, &t->launched, err, errlen);
        if (!b)
            return -1;
        json_t *res = NULL;
        t->browser = b;
        t->log_from = log_size(b);
        int rc = hr_browser_call(b, "Storage.clearCookies", NULL, &res, CALL_LIMIT_MS, err, errlen);
        json_decref(res);
        res = NULL;
        if (rc == 0 && hr_browser_call(b, "Target.createTarget", json_pack("{s:s}", "url", url),
                                       &res, CALL_LIMIT_MS, err, errlen) == 0) {
            snprintf(t->target_id, sizeof t->target_id, "%s",
                     json_string_value(json_object_get(res, "targetId")));
            json_decref(res);
            return 0;
        }
        json_decref(res);
        drop(mode);
    }
    t->browser = NULL;
    return -1;
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
