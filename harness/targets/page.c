/* The page target: a page client (page_clients.h: iframe, oidc-client-ts, ...) in the app
 * origin, a tab of the shared headless Chromium, and the steps played through the page on
 * virtual time (browser/page_clock.h: the IdP's virtual clock follows the page's). */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apphost.h"
#include "browser.h"
#include "cm_clock.h"
#include "cm_strbuf.h"
#include "harness.h"
#include "page_clients.h"
#include "page_settings.h"
#include "page_clock.h"
#include "target.h"

/* limits in virtual time */
#define LOAD_LIMIT_MS 15000  /* launch to the app page ready */
#define LOGIN_LIMIT_MS 15000 /* the whole code flow in the browser */
#define FINISH_LIMIT_MS 5000
typedef struct hr_page {
    hr_world *w;
    hr_page_client client;
    hr_apphost *app;
    hr_browser_tab tabs[HR_PAGE_TABS_MAX]; /* in the run's shared browser: the first, then a
                                            * multi-tab run's others, opened after login */
    int ntabs;                             /* the scenario's "tabs" */
    int opened;                            /* tabs open so far */
    int tab_ready[HR_PAGE_TABS_MAX];       /* app pages loaded in each tab */
    struct event *devtools_ev;             /* the browser's DevTools pipe has something to read */
    int hijacked;         /* the app page was navigated away (no page left to command) */
    json_int_t done_seq;  /* the last command the page finished */
    hr_page_clock clock;  /* the page's virtual time; the IdP's clock follows it */
    char page_error[400]; /* a script failure in the page */
    int launched;         /* this run launched the shared browser */
} hr_page;

/* The page target's state, from inside its world. */
#define PAGE(w) ((hr_page *)(w)->target)

static double num(json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return v ? json_number_value(v) : dflt;
}

/* When the page says it happened: its clock is the run's (virtual time from the run's
 * start), and finer than the IdP's slices; the post itself may arrive slices later. */
static int64_t event_time(hr_world *w, json_t *ev)
{
    json_t *at = json_object_get(ev, "at");
    int64_t now = cm_clock_now(w->clock);
    if (!json_is_number(at))
        return now;
    int64_t t = (int64_t)json_number_value(at);
    return t >= w->start_ms && t <= now + HR_PAGE_SLICE_MS ? t : now;
}

/* ---- what the page posts ------------------------------------------------------------ */

static void on_page_event(void *arg, json_t *ev)
{
    hr_world *w = arg;
    hr_page *p = PAGE(w);
    hr_page_clock_post(&p->clock);
    const char *name = json_string_value(json_object_get(ev, "event"));
    if (!name)
        return;
    json_int_t tab = json_integer_value(json_object_get(ev, "tab"));
    if (!strcmp(name, "ready")) {
        if (tab >= 0 && tab < HR_PAGE_TABS_MAX)
            p->tab_ready[tab]++;
    } else if (!strcmp(name, "step_done"))
        p->done_seq = json_integer_value(json_object_get(ev, "seq"));
    else if (!strcmp(name, "page_error"))
        snprintf(p->page_error, sizeof p->page_error, "the app page failed: %s",
                 json_string_value(json_object_get(ev, "detail")));
    else if (strcmp(name, "page_hijacked") != 0 || !p->hijacked++) /* once is enough */
        hr_world_event_at(w, name, ev, event_time(w, ev));
}

/* DevTools wrote: read it (budget expiries and Network events are noted for the waits). */
static void on_devtools(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    hr_page *p = arg;
    if (hr_browser_pump(p->tabs[0].browser) != 0)
        event_del(p->devtools_ev); /* the browser is gone: the waits notice */
}

/* ---- waiting on the page's virtual time ----------------------------------------------- */

typedef int (*page_cond)(hr_world *w, long arg);

/* The browser exited on its own: w->error says how, with the last line it logged. */
static int browser_gone(hr_world *w)
{
    hr_page *p = PAGE(w);
    int status = 0;
    if (!hr_browser_tab_gone(&p->tabs[0], &status))
        return 0;
    json_t *log = hr_browser_log_tail(p->tabs[0].browser);
    snprintf(w->error, sizeof w->error, "the browser exited during the run (%s %d): %.250s",
             WIFSIGNALED(status) ? "signal" : "status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
             json_string_value(log) ? json_string_value(log) : "no log");
    json_decref(log);
    return 1;
}

typedef struct page_wait {
    hr_world *w;
    page_cond cond;
    long arg;
} page_wait;

/* Whether the wait is over (1), goes on (0) or failed (-1, w->error set). */
static int page_state(void *arg)
{
    page_wait *pw = arg;
    hr_world *w = pw->w;
    if (*PAGE(w)->page_error) {
        snprintf(w->error, sizeof w->error, "%s", PAGE(w)->page_error);
        return -1;
    }
    if (browser_gone(w))
        return -1;
    return pw->cond && pw->cond(w, pw->arg) ? 1 : 0;
}

/* Run the page until @p cond holds (1) or @p limit_ms of virtual time pass (0); -1 when
 * the browser died or the page failed (w->error set). */
static int wait_page(hr_world *w, page_cond cond, long arg, int64_t limit_ms)
{
    page_wait pw = {w, cond, arg};
    char err[300] = "";
    int rc = hr_page_clock_run(&PAGE(w)->clock, page_state, &pw, limit_ms, err, sizeof err);
    if (rc < 0 && *err && !browser_gone(w)) /* the clock's failure, not the page's */
        snprintf(w->error, sizeof w->error, "%s", err);
    return rc;
}

static int tabs_ready(hr_world *w, long n)
{
    for (long i = 0; i < n; i++)
        if (!PAGE(w)->tab_ready[i])
            return 0;
    return 1;
}

static int command_done(hr_world *w, long seq)
{
    return PAGE(w)->done_seq >= seq;
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

/* The run's configuration: the scenario's settings, the run's own, and what the
 * manifest gives the adapter (its settings map and fixed options, docs/page-protocol.md). */
static json_t *page_config(hr_world *w, const char *origin)
{
    json_t *m = PAGE(w)->client.manifest;
    json_t *config = hr_page_settings(json_object_get(w->scn, "client"));
    json_object_set_new(config, "target", json_string(PAGE(w)->client.name));
    json_object_set_new(config, "issuer", json_string(idp_server_issuer(w->idp)));
    json_object_set_new(config, "origin", json_string(origin));
    json_object_set_new(config, "client_id", json_string("demo-spa"));
    json_object_set_new(config, "scripts", hr_page_client_scripts(&PAGE(w)->client));
    json_object_set_new(config, "settings", json_deep_copy(json_object_get(m, "settings")));
    json_object_set_new(config, "options", json_deep_copy(json_object_get(m, "options")));
    json_t *app = json_object_get(w->scn, "app");
    json_object_set_new(config, "app", app ? json_deep_copy(app) : json_object());
    return config;
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
    int rc = idp_server_patch_client(w->idp, "demo-spa", patch, err, sizeof err);
    json_decref(patch);
    if (rc != 0)
        snprintf(w->error, sizeof w->error, "mock IdP: %s", err);
    return rc;
}

/* Answers the IdP holds: they wait on its clock, which follows the page's. */
static int held_answers(void *arg)
{
    return idp_server_holding(((hr_world *)arg)->idp);
}

/* Its npm files, each resolved once (a new reference), when they are there and its
 * library is the version its manifest pins; else NULL and the run's error says which. */
static json_t *library_installed(hr_world *w)
{
    char path[600], err[300];
    json_t *libs = hr_page_client_libraries(&PAGE(w)->client, path, sizeof path);
    if (!libs) {
        snprintf(w->error, sizeof w->error,
                 "%.60s is not installed (%.280s): run scripts/setup-deps.sh", PAGE(w)->client.name,
                 path);
        return NULL;
    }
    if (hr_page_client_pinned(&PAGE(w)->client, err, sizeof err) != 0) {
        snprintf(w->error, sizeof w->error, "%s: run scripts/setup-deps.sh", err);
        json_decref(libs);
        return NULL;
    }
    return libs;
}

/* A page that failed before it connected: say what it logged (its last console lines). */
static void append_page_log(hr_world *w, hr_page *p)
{
    json_t *lines =
        p->tabs[0].browser ? hr_browser_console(p->tabs[0].browser, p->tabs[0].log_from) : NULL;
    size_t n = json_array_size(lines), at = strlen(w->error);
    const char *sep = "; the page logged: ";
    for (size_t i = n > 3 ? n - 3 : 0; i < n && at < sizeof w->error - 1; i++, sep = " | ")
        at += (size_t)snprintf(w->error + at, sizeof w->error - at, "%s%.150s", sep,
                               json_string_value(json_array_get(lines, i)));
    if (!n && at < sizeof w->error - 1)
        snprintf(w->error + at, sizeof w->error - at, "; the page logged nothing");
    json_decref(lines);
}

/* The IdP's clock is the page's at each request (page_clock.h). */
static void on_idp_request(void *arg)
{
    hr_page_clock_request(&((hr_page *)arg)->clock);
}

static int page_open(hr_world *w, const char *spec, void **self)
{
    hr_page *p = calloc(1, sizeof *p);
    char err[300];
    *self = p;
    if (!p) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return -1;
    }
    p->w = w;
    if (hr_page_client_load(spec, &p->client, err, sizeof err) != 0) {
        snprintf(w->error, sizeof w->error, "%s", err);
        return -1;
    }
    json_t *libs = library_installed(w);
    if (!libs)
        return -1;
    if (hr_apphost_new(w->base, on_page_event, w, &p->app, err, sizeof err) != 0) {
        snprintf(w->error, sizeof w->error, "%s", err);
        json_decref(libs);
        return -1;
    }
    hr_apphost_set_client(p->app, hr_data_dir(HR_DATA_WEB), p->client.dir, libs);
    const char *origin = hr_apphost_origin(p->app);
    if (register_origin(w, origin) != 0)
        return -1;
    json_t *config = page_config(w, origin);
    p->ntabs = (int)json_integer_value(json_object_get(config, "tabs"));
    p->ntabs = p->ntabs < 1 ? 1 : p->ntabs > HR_PAGE_TABS_MAX ? HR_PAGE_TABS_MAX : p->ntabs;
    p->opened = 1;
    hr_apphost_set_config(p->app, config);
    char url[120];
    snprintf(url, sizeof url, "%s/", origin);
    int rc_open = hr_browser_tab_open(&p->tabs[0], url, w->cookies_blocked,
                                      cm_clock_now(w->clock) * 1000, err, sizeof err);
    p->launched = p->tabs[0].launched;
    if (rc_open != 0) {
        snprintf(w->error, sizeof w->error, "%s", err);
        return -1;
    }
    hr_page_clock_init(&p->clock, &p->tabs[0], w->base, w->clock, held_answers, w);
    idp_server_set_request_hook(w->idp, on_idp_request, p);
    snprintf(p->tabs[0].browser->net_untracked, sizeof p->tabs[0].browser->net_untracked,
             "%s/event", origin); /* the page's keepalive posts to the harness */
    p->devtools_ev =
        event_new(w->base, p->tabs[0].browser->cdp_out, EV_READ | EV_PERSIST, on_devtools, p);
    if (!p->devtools_ev || event_add(p->devtools_ev, NULL) != 0) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return -1;
    }
    int rc = wait_page(w, tabs_ready, 1, LOAD_LIMIT_MS);
    if (rc == 0)
        snprintf(w->error, sizeof w->error,
                 "the adapter did not connect to the harness within %d s of the page's time",
                 LOAD_LIMIT_MS / 1000);
    if (rc != 1)
        append_page_log(w, p);
    return rc == 1 ? 0 : -1;
}

/* ---- steps ------------------------------------------------------------------------------ */

/* Queue @p cmd (taken) for the page and hand it over at once (DevTools Runtime.evaluate
 * runs while the page's clock stands still: the command starts at this very instant of
 * its time); a page that is navigating fetches it when it boots, and the page also looks
 * every 250 ms of its time. */
static void page_command(hr_world *w, json_t *cmd)
{
    hr_apphost_command(PAGE(w)->app, cmd); /* numbers it; the page may also fetch it */
    char *text = json_dumps(cmd, JSON_COMPACT);
    cm_strbuf js;
    cm_strbuf_init(&js);
    cm_strbuf_printf(&js, "window.renewlab && window.renewlab.push(%s)", text ? text : "null");
    json_int_t tab = json_integer_value(json_object_get(cmd, "tab"));
    hr_page *p = PAGE(w);
    hr_browser_tab_eval(&p->tabs[tab > 0 && tab < p->opened ? tab : 0], js.data ? js.data : "");
    cm_strbuf_dispose(&js);
    free(text);
}

static int send_and_wait(hr_world *w, json_t *cmd, int64_t limit_ms, const char *what)
{
    page_command(w, cmd);
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

/* A multi-tab run's other tabs, once the first is logged in: the same app origin in the
 * same browser (its storage and the IdP's cookie shared), each loading the app as a user
 * opening another tab does, on the run's clock from this instant, in lockstep with it. */
static int open_other_tabs(hr_world *w)
{
    hr_page *p = PAGE(w);
    char url[160], err[300];
    for (; p->opened < p->ntabs; p->opened++) {
        snprintf(url, sizeof url, "%s/?tab=%d", hr_apphost_origin(p->app), p->opened);
        hr_browser_tab *t = &p->tabs[p->opened];
        if (hr_browser_tab_open_beside(t, &p->tabs[0], url, hr_page_clock_now_us(&p->clock), err,
                                       sizeof err) != 0 ||
            hr_page_clock_add_tab(&p->clock, t) != 0) {
            snprintf(w->error, sizeof w->error, "tab %d: %s", p->opened, err);
            return -1;
        }
    }
    int rc = wait_page(w, tabs_ready, p->ntabs, LOAD_LIMIT_MS);
    if (rc == 0)
        snprintf(w->error, sizeof w->error, "the other tabs did not load within %d s",
                 LOAD_LIMIT_MS / 1000);
    return rc == 1 ? 0 : -1;
}

static int page_login(hr_world *w, json_t *step)
{
    long from = (long)json_array_size(w->events);
    const char *sub = json_string_value(json_object_get(step, "sub"));
    page_command(w, json_pack("{s:s, s:s}", "do", "login", "sub", sub ? sub : "alice"));
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
    return open_other_tabs(w);
}

static int page_login_op(void *self, json_t *step)
{
    return page_login(((hr_page *)self)->w, step);
}

/* use, api_call, logout: the step itself is the page's command */
static int page_command_op(void *self, json_t *step)
{
    hr_world *w = ((hr_page *)self)->w;
    return send_and_wait(w, json_deep_copy(step), step_limit_ms(w),
                         json_string_value(json_object_get(step, "do")));
}

static int page_advance(void *self, int64_t ms) /* the page's virtual time, and the IdP's */
{
    return wait_page(((hr_page *)self)->w, NULL, 0, ms) < 0 ? -1 : 0;
}

static int page_finish(void *self)
{
    hr_page *p = self;
    if (p->hijacked) /* no app page is left to answer */
        return 0;
    p->clock.crawl = 1; /* the steps are over: flushing its events takes no time of its own */
    for (int i = 0; i < p->opened; i++) /* every tab's */
        if (send_and_wait(p->w, json_pack("{s:s, s:i}", "do", "finish", "tab", i), FINISH_LIMIT_MS,
                          "finish") != 0)
            return -1;
    return 0;
}

/* What the browser logged (console lines, refused frames), and whether this run launched
 * it. */
static void page_report(void *self, json_t *r)
{
    hr_page *p = self;
    json_t *console = p && p->tabs[0].browser
                          ? hr_browser_console(p->tabs[0].browser, p->tabs[0].log_from)
                          : NULL;
    json_object_set_new(r, "console", console ? console : json_array());
    json_object_set_new(r, "browser_launched", json_boolean(p && p->launched));
    if (p)
        json_object_set_new(r, "client", hr_page_client_identity(&p->client));
}

static void page_close(void *self)
{
    hr_page *p = self;
    if (!p)
        return;
    if (p->w->idp)
        idp_server_set_request_hook(p->w->idp, NULL, NULL);
    if (p->devtools_ev)
        event_free(p->devtools_ev);
    for (int i = p->opened - 1; i >= 0; i--)
        hr_browser_tab_close(&p->tabs[i]);
    hr_apphost_free(p->app);
    hr_page_client_dispose(&p->client);
    free(p);
}

static unsigned page_caps(void *self)
{
    return hr_caps_of(json_object_get(((hr_page *)self)->client.manifest, "capabilities"));
}

static hr_clock_kind page_clock(void *self)
{
    (void)self;
    return HR_CLOCK_BROWSER;
}

static int page_check(const char *spec, char *err, size_t n)
{
    hr_page_client c;
    if (hr_page_client_load(spec, &c, err, n) != 0)
        return -1;
    hr_page_client_dispose(&c);
    return 0;
}

/* A page client runs the scenarios that name it: a folder's name, or its manifest's. */
static const char *page_catalogue(const char *spec)
{
    const char *slash = strrchr(spec, '/');
    return slash ? slash + 1 : spec;
}

const hr_target_ops hr_target_page = {
    .name = "page",
    .arg = "DIR",
    .cross_site = 1,
    .check = page_check,
    .catalogue = page_catalogue,
    .group = "browser",
    .open = page_open,
    .caps = page_caps,
    .clock = page_clock,
    .login = page_login_op,
    .use = page_command_op,
    .api_call = page_command_op,
    .logout = page_command_op,
    .advance = page_advance,
    .finish = page_finish,
    .report = page_report,
    .close = page_close,
};
