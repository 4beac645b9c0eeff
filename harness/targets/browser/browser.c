/* Launching and ending headless Chromium (see browser.h and docs/browser.md). */
#define _GNU_SOURCE
#include "browser.h"

#include "cm_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLOSE_WAIT_MS 3000 /* Browser.close takes ~0.14 s here; SIGKILL after this */
#define MAX_LIVE 16
#define MAX_TMPDIR 32

/* Browsers launched and not yet closed, for hr_browser_kill_all() on exit paths and in
 * signal handlers, which have no other way to reach them. */
static volatile pid_t live[MAX_LIVE];

static void remember(pid_t pid, pid_t forget)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == forget) {
            live[i] = pid;
            return;
        }
}

void hr_browser_kill_all(void)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] > 0)
            kill(-live[i], SIGKILL); /* async-signal-safe */
}

const char *hr_browser_binary(void)
{
    const char *env = getenv("RENEWLAB_CHROMIUM");
    return env && *env ? env : "/usr/lib/chromium/chromium";
}

int hr_browser_latency_ms(void)
{
    const char *env = getenv("RENEWLAB_BROWSER_LATENCY_MS");
    char *end;
    long ms = env ? strtol(env, &end, 10) : 0;
    return env && *env && !*end && ms >= 0 && ms <= 60000 ? (int)ms : 0;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The run's folder: profile with the cookie mode written explicitly (a browser update must
 * not change a test's meaning), and its own TMPDIR and HOME so nothing lands elsewhere. */
static int make_dirs(hr_browser *b, int block)
{
    /* Chromium puts unix sockets in its TMPDIR (under this folder): their paths must fit in
     * 108 bytes, so a long $TMPDIR is not used (measured: 61 characters already fail) */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > MAX_TMPDIR)
        tmp = "/tmp";
    snprintf(b->dir, sizeof b->dir, "%s/renewlab-browser-XXXXXX", tmp);
    if (!mkdtemp(b->dir))
        return -1;
    char p[400];
    static const char *const sub[] = {"profile", "profile/Default", "tmp", "home"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", b->dir, sub[i]);
        if (mkdir(p, 0700) != 0)
            return -1;
    }
    snprintf(p, sizeof p, "%s/profile/Default/Preferences", b->dir);
    snprintf(b->log, sizeof b->log, "%s/browser.log", b->dir);
    return write_file(p, block ? "{\"profile\":{\"cookie_controls_mode\":1}}"
                               : "{\"profile\":{\"cookie_controls_mode\":0}}");
}

static void child_exec(const hr_browser *b, const char *url, int cmd_rd, int ans_wr, int report)
{
    setsid(); /* its own process group: one kill reaches every browser process */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char dir[400], tmp[400], home[400];
    snprintf(dir, sizeof dir, "--user-data-dir=%s/profile", b->dir);
    snprintf(tmp, sizeof tmp, "%s/tmp", b->dir);
    snprintf(home, sizeof home, "%s/home", b->dir);
    setenv("TMPDIR", tmp, 1);
    setenv("HOME", home, 1);
    /* move every fd we keep above the ones we set, so no dup2 below overwrites another
     * (a pipe end that happens to be fd 3 or 4 would otherwise end up as the wrong one) */
    cmd_rd = fcntl(cmd_rd, F_DUPFD, 10);
    ans_wr = fcntl(ans_wr, F_DUPFD, 10);
    report = fcntl(report, F_DUPFD_CLOEXEC, 10);
    int devnull = open("/dev/null", O_RDWR);
    int log = open(b->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (cmd_rd < 0 || ans_wr < 0 || report < 0 || devnull < 0 || log < 0)
        goto fail;
    devnull = fcntl(devnull, F_DUPFD, 10);
    log = fcntl(log, F_DUPFD, 10);
    if (devnull < 0 || log < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 ||
        dup2(log, 2) < 0 || dup2(cmd_rd, 3) < 0 || dup2(ans_wr, 4) < 0)
        goto fail;
    for (int fd = 5; fd < 1024; fd++)
        if (fd != report)
            close(fd);
    const char *bin = hr_browser_binary();
    char *const argv[] = {
        (char *)bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps",
        /* a run's other tabs hide the first: a hidden page's timers would be aligned to
         * whole seconds and its renderer deprioritised */
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        /* cross-site frames in the page's renderer: they share its
         * virtual time (an out-of-process frame runs on the wall clock) */
        "--disable-site-isolation-trials", "--disable-features=IsolateOrigins,site-per-process",
        "--remote-debugging-pipe", "--enable-logging=stderr", "--v=0", dir, (char *)url, NULL};
    execv(bin, argv);
fail:;
    int e = errno;
    if (write(report, &e, sizeof e) < 0)
        _exit(126);
    _exit(127);
}

/* exec failed when the report pipe carries an errno; EOF means exec succeeded (CLOEXEC). */
static int exec_failed(int report_rd, char *err, size_t errlen)
{
    int e = 0;
    ssize_t n;
    do
        n = read(report_rd, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(report_rd);
    if (n == (ssize_t)sizeof e) {
        snprintf(err, errlen, "cannot start the browser %s: %s", hr_browser_binary(), strerror(e));
        return 1;
    }
    return 0;
}

int hr_browser_launch(hr_browser *b, const char *url, int block_third_party_cookies, char *err,
                      size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->pid = -1, b->cdp_in = b->cdp_out = -1;
    int cmd[2] = {-1, -1}, ans[2] = {-1, -1}, rep[2] = {-1, -1};
    if (access(hr_browser_binary(), X_OK) != 0) {
        snprintf(err, errlen, "no browser at %s (install Debian's chromium: scripts/setup-deps.sh)",
                 hr_browser_binary());
        return -1;
    }
    if (make_dirs(b, block_third_party_cookies) != 0 || pipe2(cmd, O_CLOEXEC) != 0 ||
        pipe2(ans, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot prepare the browser's folder %s: %s", b->dir,
                 strerror(errno));
        goto fail;
    }
    pid_t parent = getpid();
    b->pid = fork();
    if (b->pid == 0) {
        if (getppid() != parent) /* the harness died before PDEATHSIG was armed */
            _exit(1);
        child_exec(b, url, cmd[0], ans[1], rep[1]);
    }
    if (b->pid < 0) {
        snprintf(err, errlen, "cannot fork the browser: %s", strerror(errno));
        goto fail;
    }
    remember(b->pid, 0);
    close(cmd[0]), close(ans[1]), close(rep[1]);
    b->cdp_in = cmd[1], b->cdp_out = ans[0];
    if (exec_failed(rep[0], err, errlen)) {
        hr_browser_close(b);
        return -1;
    }
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (cmd[i] >= 0)
            close(cmd[i]);
        if (ans[i] >= 0)
            close(ans[i]);
        if (rep[i] >= 0)
            close(rep[i]);
    }
    hr_browser_close(b);
    return -1;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reap the browser process within @p ms; 1 when it is gone. */
static int reap(pid_t pid, long ms)
{
    for (long waited = 0;; waited += 5) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        if (waited >= ms)
            return 0;
        pause_ms(5);
    }
}

/* Every process of the group gone (its helpers outlive the main process briefly). */
static void wait_group_gone(pid_t pgid)
{
    for (long waited = 0; kill(-pgid, 0) == 0; waited += 5) {
        if (waited == CLOSE_WAIT_MS)
            kill(-pgid, SIGKILL);
        if (waited > 2 * CLOSE_WAIT_MS)
            return; /* unkillable (zombies of another parent): nothing more to do */
        pause_ms(5);
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

static const char *log_text(const char *line);

void hr_browser_forget(hr_browser *b)
{
    b->reaped = 1;
}

json_t *hr_browser_log_tail(const hr_browser *b)
{
    FILE *f = *b->log ? fopen(b->log, "r") : NULL;
    char line[1024], last[1024] = "";
    while (f && fgets(line, sizeof line, f))
        if (line[0] != '\n')
            snprintf(last, sizeof last, "%s", line);
    if (f)
        fclose(f);
    last[strcspn(last, "\n")] = '\0';
    return *last ? json_string(log_text(last)) : NULL;
}

void hr_browser_close(hr_browser *b)
{
    if (b->pid > 0 && b->reaped) { /* gone already: end its helpers */
        kill(-b->pid, SIGKILL);
        wait_group_gone(b->pid);
        remember(0, b->pid);
        b->pid = -1;
    }
    if (b->pid > 0) {
        static const char close_cmd[] = "{\"id\":1,\"method\":\"Browser.close\"}";
        void (*old)(int) = signal(SIGPIPE, SIG_IGN); /* the browser may be gone already */
        if (b->cdp_in < 0 || write(b->cdp_in, close_cmd, sizeof close_cmd) != sizeof close_cmd ||
            !reap(b->pid, CLOSE_WAIT_MS)) {
            kill(-b->pid, SIGKILL);
            reap(b->pid, CLOSE_WAIT_MS);
        }
        signal(SIGPIPE, old);
        /* the browser proper has exited (profile written); its helpers would linger ~1 s
         * waiting to notice: end them now */
        kill(-b->pid, SIGKILL);
        wait_group_gone(b->pid);
        remember(0, b->pid);
        b->pid = -1;
    }
    if (b->cdp_in >= 0)
        close(b->cdp_in);
    if (b->cdp_out >= 0)
        close(b->cdp_out);
    b->cdp_in = b->cdp_out = -1;
    free(b->answers);
    b->answers = NULL;
    b->n_answers = 0;
    if (*b->dir)
        nftw(b->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    *b->dir = '\0';
}

/* ---- DevTools over the pipe ------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n)
{
    void (*old)(int) = signal(SIGPIPE, SIG_IGN); /* the browser may be gone */
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w, n -= (size_t)w;
    }
    signal(SIGPIPE, old);
    return n == 0 ? 0 : -1;
}

/* A request of the page starts (@p start 1), has news (0) or ends (-1). */
static void note_request(hr_browser *b, const char *id, int start)
{
    int i = 0;
    while (i < b->n_inflight && strcmp(b->net_inflight[i].id, id) != 0)
        i++;
    if (i == b->n_inflight && start == 1 && i < HR_NET_TRACKED &&
        strlen(id) < sizeof b->net_inflight[i].id) {
        snprintf(b->net_inflight[i].id, sizeof b->net_inflight[i].id, "%s", id);
        b->n_inflight++;
    }
    if (i < b->n_inflight)
        b->net_news++;
    if (i < b->n_inflight && start >= 0)
        b->net_inflight[i].seen_ms = cm_wallclock_ms();
    else if (i < b->n_inflight)
        b->net_inflight[i] = b->net_inflight[--b->n_inflight], b->net_ends++;
}

/* A document's request ends with its response (a frame removed while its document loads
 * never reports the load's end); other requests when loaded or failed. */
static int request_ends(const char *method, json_t *params)
{
    const char *type = json_string_value(json_object_get(params, "type"));
    if (!strcmp(method, "Network.responseReceived"))
        return type && !strcmp(type, "Document");
    return !strcmp(method, "Network.loadingFinished") || !strcmp(method, "Network.loadingFailed");
}

/* A frame loading (Page events) counts as a request under way: between a document's
 * response and its load the browser commits it and the frame parses it. */
static void note_frame(hr_browser *b, const char *method, json_t *params)
{
    const char *frame = json_string_value(json_object_get(params, "frameId"));
    char id[40];
    if (!frame || snprintf(id, sizeof id, "frame:%s", frame) >= (int)sizeof id)
        return;
    if (!strcmp(method, "Page.frameStartedLoading"))
        note_request(b, id, 1);
    else if (!strcmp(method, "Page.frameStoppedLoading") || !strcmp(method, "Page.frameDetached"))
        note_request(b, id, -1);
}

/* An event: budget expiries are counted, the page's requests and loading frames followed. */
static void note_event(hr_browser *b, json_t *m)
{
    const char *method = json_string_value(json_object_get(m, "method"));
    json_t *params = json_object_get(m, "params");
    if (!method)
        return;
    if (!strcmp(method, "Emulation.virtualTimeBudgetExpired")) {
        b->budgets_expired++;
        return;
    }
    if (!strncmp(method, "Page.", 5)) {
        note_frame(b, method, params);
        return;
    }
    if (strncmp(method, "Network.", 8) != 0)
        return;
    const char *id = json_string_value(json_object_get(params, "requestId"));
    if (!id)
        return;
    if (!strcmp(method, "Network.requestWillBeSent")) {
        const char *url =
            json_string_value(json_object_get(json_object_get(params, "request"), "url"));
        if (url && *b->net_untracked && !strcmp(url, b->net_untracked))
            b->net_untracked_sent++, b->net_news++;
        else if (url)
            note_request(b, id, 1);
    } else
        note_request(b, id, request_ends(method, params) ? -1 : 0);
}

/* The answer to command @p id among the complete messages read so far: 1 with *msg (new
 * reference), or 0. Events are noted (note_event); other answers are dropped. */
static int take_answer(hr_browser *b, long id, json_t **msg)
{
    size_t start = 0;
    int found = 0;
    for (size_t i = 0; i < b->n_answers && !found; i++) {
        if (b->answers[i] != '\0')
            continue;
        json_t *m = json_loads(b->answers + start, 0, NULL);
        if (m && id > 0 && json_integer_value(json_object_get(m, "id")) == id) {
            *msg = m;
            found = 1;
        } else {
            note_event(b, m);
            json_decref(m);
        }
        start = i + 1;
    }
    if (start) {
        memmove(b->answers, b->answers + start, b->n_answers - start);
        b->n_answers -= start;
    }
    return found;
}

static int read_some(hr_browser *b, int wait_ms)
{
    struct pollfd pfd = {.fd = b->cdp_out, .events = POLLIN};
    if (poll(&pfd, 1, wait_ms) <= 0)
        return 0;
    char *grown = realloc(b->answers, b->n_answers + 65536);
    if (!grown)
        return -1;
    b->answers = grown;
    ssize_t n = read(b->cdp_out, b->answers + b->n_answers, 65536);
    if (n <= 0)
        return n < 0 && errno == EINTR ? 0 : -1;
    b->n_answers += (size_t)n;
    return 0;
}

int hr_browser_pump(hr_browser *b)
{
    if (b->cdp_out < 0 || read_some(b, 0) != 0)
        return -1;
    take_answer(b, 0, NULL);
    return 0;
}

int hr_browser_call(hr_browser *b, const char *method, json_t *params, json_t **result,
                    int limit_ms, char *err, size_t errlen)
{
    return hr_browser_call_in(b, NULL, method, params, result, limit_ms, err, errlen);
}

/* Write command @p method: its id, or -1 with @p err. */
static long send_command(hr_browser *b, const char *session, const char *method, json_t *params,
                         char *err, size_t errlen)
{
    long id = 1000 + ++b->next_id; /* 1 is Browser.close's */
    json_t *cmd = json_pack("{s:I, s:s}", "id", (json_int_t)id, "method", method);
    if (params)
        json_object_set_new(cmd, "params", params);
    if (session)
        json_object_set_new(cmd, "sessionId", json_string(session));
    char *text = json_dumps(cmd, JSON_COMPACT);
    json_decref(cmd);
    int rc = !text || b->cdp_in < 0 ? -1 : write_all(b->cdp_in, text, strlen(text) + 1);
    free(text);
    if (rc != 0)
        snprintf(err, errlen, "the browser does not take DevTools commands (%s)", method);
    return rc != 0 ? -1 : id;
}

int hr_browser_send_in(hr_browser *b, const char *session, const char *method, json_t *params,
                       char *err, size_t errlen)
{
    return send_command(b, session, method, params, err, errlen) < 0 ? -1 : 0;
}

int hr_browser_call_in(hr_browser *b, const char *session, const char *method, json_t *params,
                       json_t **result, int limit_ms, char *err, size_t errlen)
{
    *result = NULL;
    long id = send_command(b, session, method, params, err, errlen);
    if (id < 0)
        return -1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *msg = NULL;
    for (;;) {
        if (take_answer(b, id, &msg))
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= limit_ms || read_some(b, (int)(limit_ms - spent)) != 0) {
            snprintf(err, errlen, "the browser did not answer %s within %d ms", method, limit_ms);
            return -1;
        }
    }
    json_t *e = json_object_get(msg, "error");
    if (e)
        snprintf(err, errlen, "the browser refused %s: %.200s", method,
                 json_string_value(json_object_get(e, "message")));
    else
        *result = json_incref(json_object_get(msg, "result"));
    json_decref(msg);
    return e ? -1 : 0;
}

/* "[123:456:1125/001.234:INFO:CONSOLE:7] "text", source: URL (7)" → the part after "] " */
static const char *log_text(const char *line)
{
    const char *p = strstr(line, "] ");
    return p ? p + 2 : line;
}

json_t *hr_browser_console(const hr_browser *b, long from)
{
    json_t *out = json_array();
    FILE *f = *b->log ? fopen(b->log, "r") : NULL;
    char line[1024];
    if (f && from > 0)
        fseek(f, from, SEEK_SET);
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strstr(line, ":CONSOLE") || strstr(line, "Refused to display") ||
            strstr(line, "Framing '"))
            json_array_append_new(out, json_string(log_text(line)));
        if (json_array_size(out) > 60)
            json_array_remove(out, 0);
    }
    if (f)
        fclose(f);
    return out;
}
