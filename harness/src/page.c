/* Browser targets (iframe, oidc-client-ts): the app origin, one headless Chromium per run
 * with a fresh profile, and the steps played on the wall clock through the page. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apphost.h"
#include "browser.h"
#include "cm_clock.h"
#include "world.h"

#define LOAD_LIMIT_MS 15000  /* launch to the app page ready: ~0.4 s measured here */
#define LOGIN_LIMIT_MS 15000 /* the whole code flow in the browser: < 1 s measured */
#define FINISH_LIMIT_MS 5000

struct hr_page {
    hr_apphost *app;
    hr_browser_tab tab;   /* in the run's shared browser */
    int ready;            /* app pages loaded so far */
    int hijacked;         /* the app page was navigated away (no page left to command) */
    json_int_t done_seq;  /* the last command the page finished */
    char page_error[400]; /* a script failure in the page */
};

static double num(json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return v ? json_number_value(v) : dflt;
}

/* ---- what the page posts ------------------------------------------------------------ */

static void on_page_event(void *arg, json_t *ev)
{
    hr_world *w = arg;
    hr_page *p = w->page;
    const char *name = json_string_value(json_object_get(ev, "event"));
    if (!name)
        return;
    if (!strcmp(name, "ready"))
        p->ready++;
    else if (!strcmp(name, "step_done"))
        p->done_seq = json_integer_value(json_object_get(ev, "seq"));
    else if (!strcmp(name, "page_error"))
        snprintf(p->page_error, sizeof p->page_error, "the app page failed: %s",
                 json_string_value(json_object_get(ev, "detail")));
    else if (strcmp(name, "page_hijacked") != 0 || !p->hijacked++) /* once is enough */
        hr_world_event(w, name, ev);
    event_base_loopbreak(w->base); /* let the waiting step look again */
}

/* ---- waiting on the wall clock -------------------------------------------------------- */

typedef int (*page_cond)(hr_world *w, long arg);

/* The browser exited on its own: w->error says how, with the last line it logged. */
static int browser_gone(hr_world *w)
{
    hr_page *p = w->page;
    int status = 0;
    if (!hr_browser_tab_gone(&p->tab, &status))
        return 0;
    json_t *log = hr_browser_log_tail(p->tab.browser);
    snprintf(w->error, sizeof w->error, "the browser exited during the run (%s %d): %.250s",
             WIFSIGNALED(status) ? "signal" : "status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
             json_string_value(log) ? json_string_value(log) : "no log");
    json_decref(log);
    return 1;
}

typedef struct page_wait {
    page_cond cond;
    long arg;
} page_wait;

static int page_state(hr_world *w, void *arg)
{
    page_wait *pw = arg;
    if (*w->page->page_error) {
        snprintf(w->error, sizeof w->error, "%s", w->page->page_error);
        return -1;
    }
    if (browser_gone(w))
        return -1;
    return pw->cond && pw->cond(w, pw->arg) ? 1 : 0;
}

/* Run the loop until @p cond holds (1) or @p limit_ms pass (0); -1 when the browser died
 * or the page failed (w->error set). */
static int wait_page(hr_world *w, page_cond cond, long arg, int64_t limit_ms)
{
    page_wait pw = {cond, arg};
    return hr_world_wait_real(w, page_state, &pw, limit_ms);
}

static int page_ready(hr_world *w, long n)
{
    return w->page->ready >= n;
}

static int command_done(hr_world *w, long seq)
{
    return w->page->done_seq >= seq;
}

static int event_since(hr_world *w, long from)
{
    for (size_t i = (size_t)from; i < json_array_size(w->events); i++) {
        const char *e = json_string_value(json_object_get(json_array_get(w->events, i), "event"));
        if (!strcmp(e, "logged_in") || !strcmp(e, "login_failed"))
            return 1;
    }
    return 0;
}

/* ---- setup ---------------------------------------------------------------------------- */

static json_t *page_config(hr_world *w, const char *origin)
{
    json_t *cl = json_object_get(w->scn, "client");
    const char *scope = json_string_value(json_object_get(cl, "scope"));
    json_t *methods = json_object_get(cl, "methods");
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:f, s:f, s:i, s:f, s:f, s:f, s:f, s:b, s:b, s:f}",
        "target", w->target, "issuer", idp_server_issuer(w->idp), "origin", origin, "client_id",
        "demo-spa", "scope", scope ? scope : "openid profile offline_access api", "methods",
        methods ? json_incref(methods) : json_pack("[s]", "refresh"), "renew_before",
        num(cl, "renew_before", 60), "request_timeout", num(cl, "request_timeout", 10),
        "max_retries", (int)num(cl, "max_retries", 4), "backoff_initial",
        num(cl, "backoff_initial", 1), "backoff_max", num(cl, "backoff_max", 60), "min_interval",
        num(cl, "min_interval", 5), "clock_skew", num(cl, "clock_skew", 60), "revoke_on_logout",
        !json_is_false(json_object_get(cl, "revoke_on_logout")), "monitor_session",
        json_is_true(json_object_get(cl, "monitor_session")), "check_interval",
        num(cl, "check_interval", 1));
}

/* The client's redirect URIs point at this run's app origin. */
static int register_origin(hr_world *w, const char *origin)
{
    char cb[100], silent[100], home[100], err[300];
    snprintf(cb, sizeof cb, "%s/callback", origin);
    snprintf(silent, sizeof silent, "%s/silent-callback", origin);
    snprintf(home, sizeof home, "%s/", origin);
    json_t *patch = json_pack("{s:[s,s], s:[s], s:[s]}", "redirect_uris", cb, silent,
                              "post_logout_redirect_uris", home, "allowed_origins", origin);
    int rc = idp_client_patch(w->idp->cfg, "demo-spa", patch, err, sizeof err);
    json_decref(patch);
    if (rc != 0)
        snprintf(w->error, sizeof w->error, "mock IdP: %s", err);
    return rc;
}

static int library_installed(hr_world *w)
{
    char path[300];
    snprintf(path, sizeof path, "%.200s/node_modules/oidc-client-ts/dist/browser/oidc-client-ts.js",
             hr_web_dir());
    if (strcmp(w->target, "oidc-client-ts") != 0 || access(path, R_OK) == 0)
        return 1;
    snprintf(w->error, sizeof w->error,
             "oidc-client-ts is not installed (%s): run scripts/setup-deps.sh", path);
    return 0;
}

int hr_page_open(hr_world *w)
{
    hr_page *p = calloc(1, sizeof *p);
    char err[300];
    if (!p) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return -1;
    }
    w->page = p;
    if (!library_installed(w))
        return -1;
    if (hr_apphost_new(w->base, on_page_event, w, &p->app, err, sizeof err) != 0) {
        snprintf(w->error, sizeof w->error, "%s", err);
        return -1;
    }
    const char *origin = hr_apphost_origin(p->app);
    if (register_origin(w, origin) != 0)
        return -1;
    hr_apphost_set_config(p->app, page_config(w, origin));
    char url[120];
    snprintf(url, sizeof url, "%s/", origin);
    int rc_open = hr_browser_tab_open(&p->tab, url, w->cookies_blocked, err, sizeof err);
    w->browser_launched = p->tab.launched;
    if (rc_open != 0) {
        snprintf(w->error, sizeof w->error, "%s", err);
        return -1;
    }
    int rc = wait_page(w, page_ready, 1, LOAD_LIMIT_MS);
    if (rc == 0)
        snprintf(w->error, sizeof w->error, "the browser did not load the app page within %d s",
                 LOAD_LIMIT_MS / 1000);
    return rc == 1 ? 0 : -1;
}

/* ---- steps ------------------------------------------------------------------------------ */

static int send_and_wait(hr_world *w, json_t *cmd, int64_t limit_ms, const char *what)
{
    hr_apphost_command(w->page->app, cmd);
    long seq = (long)json_integer_value(json_object_get(cmd, "seq"));
    int rc = wait_page(w, command_done, seq, limit_ms);
    if (rc == 0)
        snprintf(w->error, sizeof w->error, "%s did not complete in the browser within %lld s",
                 what, (long long)(limit_ms / 1000));
    return rc == 1 ? 0 : -1;
}

/* A step that renews may retry with backoff: allow the client's own worst case. */
static int64_t step_limit_ms(hr_world *w)
{
    json_t *cl = json_object_get(w->scn, "client");
    double per = num(cl, "request_timeout", 10) + num(cl, "backoff_max", 60);
    return (int64_t)((num(cl, "max_retries", 4) + 2) * per * 1000) + 5000;
}

static int page_login(hr_world *w, json_t *step)
{
    long from = (long)json_array_size(w->events);
    const char *sub = json_string_value(json_object_get(step, "sub"));
    hr_apphost_command(w->page->app,
                       json_pack("{s:s, s:s}", "do", "login", "sub", sub ? sub : "alice"));
    int rc = wait_page(w, event_since, from, LOGIN_LIMIT_MS);
    if (rc == 0)
        snprintf(w->error, sizeof w->error, "login did not complete in the browser within %d s",
                 LOGIN_LIMIT_MS / 1000);
    if (rc != 1)
        return -1;
    json_t *last = json_array_get(w->events, json_array_size(w->events) - 1);
    json_t *reason = json_object_get(last, "reason");
    json_t *step_log = json_array_get(w->steps, json_array_size(w->steps) - 1);
    json_object_set_new(step_log, "outcome", reason ? json_incref(reason) : json_string("RC_OK"));
    return 0;
}

int hr_page_step(hr_world *w, const char *what, json_t *step)
{
    if (!strcmp(what, "login"))
        return page_login(w, step);
    if (!strcmp(what, "advance")) /* real seconds: the browser's timers run on the wall clock */
        return wait_page(w, NULL, 0,
                         (int64_t)(json_number_value(json_object_get(step, "seconds")) * 1000)) < 0
                   ? -1
                   : 0;
    json_t *cmd = json_deep_copy(step);
    return send_and_wait(w, cmd, step_limit_ms(w), what);
}

int hr_page_finish(hr_world *w)
{
    if (w->page->hijacked) /* no app page is left to answer */
        return 0;
    return send_and_wait(w, json_pack("{s:s}", "do", "finish"), FINISH_LIMIT_MS, "finish");
}

void hr_page_close(hr_world *w)
{
    hr_page *p = w->page;
    if (!p)
        return;
    json_decref(w->console);
    w->console = p->tab.browser ? hr_browser_console(p->tab.browser, p->tab.log_from) : NULL;
    hr_browser_tab_close(&p->tab);
    hr_apphost_free(p->app);
    free(p);
    w->page = NULL;
}
