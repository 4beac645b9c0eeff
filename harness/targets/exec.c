/* The exec target: the client under test is a child process speaking the line-delimited
 * JSON protocol of docs/exec-protocol.md on its stdin/stdout. In protocol 1 its HTTP goes
 * through the protocol (the harness performs each request against the in-process IdP)
 * and its time is the "now" of the last line it read, so the virtual clock stays exact:
 * the adapter counts as a request in flight from each line sent until its next "idle". */
#define _GNU_SOURCE
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cm_map.h"
#include "cm_strbuf.h"
#include "cm_virtclock.h"
#include "exec_faketime.h"
#include "exec_proto.h"
#include "harness.h"
#include "target.h"

#define STDERR_KEEP 20
/* Advances in a row for a wake_at already past that run nothing: a livelock, not time. */
#define PAST_WAKES_MAX 100

typedef struct hr_exec hr_exec;

struct hr_exec {
    hr_world *w;
    pid_t pid;
    struct bufferevent *in, *out, *err; /* its stdin, stdout, stderr */
    json_t *hello;                      /* its handshake, once received */
    json_t *stderr_tail;                /* its last stderr lines, for errors */
    int runnable;                       /* lines sent since its last idle */
    long seq;                           /* commands sent */
    char command[24];                   /* the type of the last one, for errors */
    long lines;                         /* lines read, for error messages */
    cm_timer *wake;
    cm_map http;     /* request id -> http_call in flight (for http_cancel) */
    long past_wakes; /* idles in a row with a wake_at already past and nothing else said */
    hr_faketime ft;  /* exec+faketime: its clock reads follow ft (ft.envp set) */
    char broken[400];
};

typedef struct http_call {
    hr_exec *x;
    json_int_t id;
    void *handle;
    char key[24];
} http_call;

static double adapter_now(hr_world *w)
{
    return (double)(cm_clock_now(w->clock) + w->client_offset_ms) / 1000.0;
}

static void fail(hr_exec *x, const char *what, const char *detail);

/* Send a line (@p msg taken), stamped with the adapter's time (and under exec+faketime its
 * clock set to it first); it is runnable until idle. */
static void send_line(hr_exec *x, json_t *msg)
{
    hr_world *w = x->w;
    double now = adapter_now(w);
    json_object_set_new(msg, "now", json_real(now));
    if (x->ft.envp && !*x->broken && hr_faketime_set(&x->ft, now) != 0)
        fail(x, "exec+faketime: cannot write its clock", x->ft.file);
    char *text = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(msg);
    if (text && !*x->broken) {
        bufferevent_write(x->in, text, strlen(text));
        bufferevent_write(x->in, "\n", 1);
        x->runnable++;
        if (!w->real_time)
            cm_virtclock_busy(w->clock, +1);
    }
    free(text);
}

/* The adapter broke the protocol or died: nothing more is waited for from it. */
static void fail(hr_exec *x, const char *what, const char *detail)
{
    hr_world *w = x->w;
    if (!*x->broken)
        snprintf(x->broken, sizeof x->broken, "adapter: %s%s%.300s", what, detail ? ": " : "",
                 detail ? detail : "");
    if (!w->real_time)
        cm_virtclock_busy(w->clock, -x->runnable);
    x->runnable = 0;
    w->pending = 0;
    event_base_loopbreak(w->base);
}

/* ---- HTTP on the adapter's behalf -------------------------------------------------------- */

/* Every header of the answer, its name in lower case; a name that comes twice has its
 * values joined with ", " (RFC 9110 §5.3). Without the list, the named ones. */
static json_t *answer_headers(const rc_http_response *r)
{
    json_t *h = json_object();
    const rc_header named[] = {{"content-type", r->content_type},
                               {"location", r->location},
                               {"retry-after", r->retry_after},
                               {"www-authenticate", r->www_authenticate}};
    const rc_header *list = r->headers ? r->headers : named;
    size_t n = r->headers ? r->n_headers : sizeof named / sizeof named[0];
    for (size_t i = 0; i < n; i++) {
        if (!list[i].name || !list[i].value)
            continue;
        cm_strbuf name, value;
        cm_strbuf_init(&name), cm_strbuf_init(&value);
        cm_strbuf_lower(&name, list[i].name);
        const char *before = name.data ? json_string_value(json_object_get(h, name.data)) : NULL;
        if (before)
            cm_strbuf_printf(&value, "%s, ", before);
        cm_strbuf_puts(&value, list[i].value);
        if (name.data && value.data)
            json_object_set_new(h, name.data, json_string(value.data));
        cm_strbuf_dispose(&name), cm_strbuf_dispose(&value);
    }
    return h;
}

/* The request headers of an http line besides the three rc_http_request names (a new
 * array, the strings borrowed from @p h; NULL without memory). Reserved ones (the
 * transport's own, hop-by-hop) are left out, as docs/exec-protocol.md says. */
static rc_header *other_headers(json_t *h, size_t *n)
{
    rc_header *out = calloc(json_object_size(h) + 1, sizeof *out);
    const char *k;
    json_t *v;
    *n = 0;
    json_object_foreach(h, k, v)
    {
        if (out && strcmp(k, "content-type") && strcmp(k, "authorization") && strcmp(k, "cookie") &&
            !rc_header_reserved(k))
            out[(*n)++] = (rc_header){k, json_string_value(v)};
    }
    return out;
}

static void on_http_answer(void *arg, int err, const rc_http_response *r)
{
    http_call *c = arg;
    hr_exec *x = c->x;
    cm_map_remove(&x->http, c->key);
    json_t *msg = json_pack("{s:s, s:I}", "type", "http_response", "id", c->id);
    if (err || !r) {
        json_object_set_new(msg, "error",
                            json_string(err == RC_ETIMEOUT ? "timeout" : "transport"));
    } else {
        json_object_set_new(msg, "status", json_integer(r->status));
        json_object_set_new(msg, "headers", answer_headers(r));
        json_t *body = json_stringn(r->body ? r->body : "", r->body_len);
        json_object_set_new(msg, "body", body ? body : json_string(""));
    }
    free(c);
    send_line(x, msg);
}

static void start_http(hr_exec *x, json_t *m)
{
    json_t *h = json_object_get(m, "headers");
    const char *body = json_string_value(json_object_get(m, "body"));
    rc_http_request rq = {.method = json_string_value(json_object_get(m, "method")),
                          .url = json_string_value(json_object_get(m, "url")),
                          .content_type = json_string_value(json_object_get(h, "content-type")),
                          .body = body,
                          .body_len = body ? strlen(body) : 0,
                          .authorization = json_string_value(json_object_get(h, "authorization")),
                          .cookie = json_string_value(json_object_get(h, "cookie"))};
    rc_header *more = other_headers(h, &rq.n_headers);
    rq.headers = more;
    http_call *c = more ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        free(more);
        return fail(x, "out of memory", NULL);
    }
    c->x = x, c->id = json_integer_value(json_object_get(m, "id"));
    snprintf(c->key, sizeof c->key, "%lld", (long long)c->id);
    if (cm_map_get(&x->http, c->key)) {
        free(c);
        return fail(x, "http id reused while in flight",
                    json_string_value(json_object_get(m, "url")));
    }
    int rc = x->w->http.send(x->w->http.ctx, &rq, on_http_answer, c, &c->handle);
    free(more); /* the transport has taken its copy */
    if (rc != RC_OK)
        return on_http_answer(c, RC_ETRANSPORT, NULL);
    cm_map_put(&x->http, c->key, c);
}

static void cancel_http(hr_exec *x, json_t *m)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(m, "id")));
    http_call *c = cm_map_remove(&x->http, key);
    if (c) { /* an answer already sent is simply not expected any more */
        x->w->http.cancel(x->w->http.ctx, c->handle);
        free(c);
    }
}

/* ---- what the adapter says ------------------------------------------------------------- */

static void on_wake(void *arg)
{
    hr_exec *x = arg;
    x->wake = NULL;
    send_line(x, json_pack("{s:s}", "type", "advance"));
}

/* A command can never finish: say so at once, naming it and the virtual time, rather than
 * waiting out the days a step may take (docs/exec-protocol.md, "Stalls"). */
static void stalled(hr_exec *x, const char *why)
{
    char what[200], cmd[80] = "between commands";
    if (x->w->pending > 0)
        snprintf(cmd, sizeof cmd, "with \"%s\" (seq %ld) unanswered", x->command, x->seq);
    snprintf(what, sizeof what, "stalled at virtual second %.3f %s",
             (double)(cm_clock_now(x->w->clock) - x->w->start_ms) / 1000.0, cmd);
    fail(x, what, why);
}

static void on_idle(hr_exec *x, json_t *m)
{
    hr_world *w = x->w;
    if (w->real_time) /* its own clock and timers: nothing to schedule for it */
        return;
    if (x->runnable <= 0)
        return fail(x, "\"idle\" without a line to answer", NULL);
    x->runnable--;
    w->clock->timer_cancel(w->clock->ctx, x->wake);
    x->wake = NULL;
    json_t *at = json_object_get(m, "wake_at");
    if (json_is_number(at)) {
        int64_t due = (int64_t)(json_number_value(at) * 1000.0 + 0.5) - w->client_offset_ms;
        int64_t delay = due - cm_clock_now(w->clock);
        x->past_wakes = delay < 0 ? x->past_wakes + 1 : 0;
        if (x->past_wakes <= PAST_WAKES_MAX)
            x->wake = w->clock->timer_start(w->clock->ctx, delay > 0 ? delay : 0, on_wake, x);
    }
    cm_virtclock_busy(w->clock, -1);
    if (x->past_wakes > PAST_WAKES_MAX)
        return stalled(x, "each advance runs nothing and its next idle names a \"wake_at\" "
                          "already past again: it reads a clock other than the lines' "
                          "\"now\" (the wall clock? exec+faketime: gives it the virtual one)");
    /* more output already read: the line after this idle tells the story (below) */
    int more = evbuffer_get_length(bufferevent_get_input(x->out)) > 0;
    if (!x->runnable && w->pending > 0 && !x->wake && x->http.count == 0 && !more)
        stalled(x, "it is idle with nothing to wake it (\"wake_at\": null) and no request "
                   "of its own in flight (if work of its own was still under way, a promise "
                   "or a digest, its idle came too early)");
}

static void on_done(hr_exec *x, json_t *m)
{
    hr_world *w = x->w;
    if (json_integer_value(json_object_get(m, "seq")) != x->seq || w->pending <= 0)
        return fail(x, "\"done\" for a command that is not under way", NULL);
    w->pending--;
    json_t *step = json_array_get(w->steps, json_array_size(w->steps) - 1);
    json_object_set(step, "outcome", json_object_get(m, "status"));
}

static void on_hello(hr_exec *x, json_t *m)
{
    if (x->hello)
        return fail(x, "a second \"hello\"", NULL);
    json_int_t protocol = json_integer_value(json_object_get(m, "protocol"));
    if (protocol > HR_PROTO_VERSION) {
        char why[120];
        snprintf(why, sizeof why,
                 "its hello says protocol %lld; this renewlab speaks %d: upgrade renewlab",
                 (long long)protocol, HR_PROTO_VERSION);
        return fail(x, "speaks a newer exec protocol than this renewlab", why);
    }
    if (protocol != HR_PROTO_VERSION)
        return fail(x, "speaks another exec protocol than this renewlab",
                    "its hello must say \"protocol\": 1 (docs/exec-protocol.md)");
    x->hello = json_incref(m);
    if (!x->w->real_time && !hr_proto_has(m, "virtual_clock")) {
        /* it keeps its own time: no "idle" will come; the run starts again in real time */
        cm_virtclock_busy(x->w->clock, -x->runnable);
        x->runnable = 0;
    }
}

static void handle_line(hr_exec *x, const char *line, size_t len)
{
    char err[300], what[64];
    x->lines++;
    json_t *m = hr_proto_parse(line, len, err, sizeof err);
    snprintf(what, sizeof what, "line %ld of its output", x->lines);
    if (!m)
        return fail(x, what, err);
    const char *type = json_string_value(json_object_get(m, "type"));
    if (strcmp(type, "idle") && strcmp(type, "log"))
        x->past_wakes = 0; /* it did something */
    if (!x->hello && strcmp(type, "hello") && strcmp(type, "idle") && strcmp(type, "log"))
        fail(x, what, "the first message must be \"hello\"");
    else if (x->hello && !x->w->real_time && !x->runnable && strcmp(type, "log")) {
        char why[300];
        snprintf(why, sizeof why,
                 "it wrote \"%.20s\" (%s) after its \"idle\", with no line to answer: the idle "
                 "came before its work was done",
                 type, what);
        stalled(x, why);
    } else if (!strcmp(type, "hello"))
        on_hello(x, m);
    else if (!strcmp(type, "http"))
        start_http(x, m);
    else if (!strcmp(type, "http_cancel"))
        cancel_http(x, m);
    else if (!strcmp(type, "event"))
        hr_world_event(x->w, json_string_value(json_object_get(m, "event")), m);
    else if (!strcmp(type, "done"))
        on_done(x, m);
    else if (!strcmp(type, "idle"))
        on_idle(x, m);
    json_decref(m);
}

static void on_out_read(struct bufferevent *bev, void *arg)
{
    hr_exec *x = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len;
    char *line;
    while (!*x->broken && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
        handle_line(x, line, len);
        free(line);
    }
    if (evbuffer_get_length(in) > HR_PROTO_MAX_LINE)
        fail(x, "a line without end", "longer than the protocol allows");
}

static void on_err_read(struct bufferevent *bev, void *arg)
{
    hr_exec *x = arg;
    size_t len;
    char *line;
    while ((line = evbuffer_readln(bufferevent_get_input(bev), &len, EVBUFFER_EOL_LF)) != NULL) {
        if (!len) { /* blank lines say nothing */
            free(line);
            continue;
        }
        json_t *s = json_stringn(line, len);
        json_array_append_new(x->stderr_tail, s ? s : json_string("?"));
        if (json_array_size(x->stderr_tail) > STDERR_KEEP)
            json_array_remove(x->stderr_tail, 0);
        free(line);
    }
}

static void on_out_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    hr_exec *x = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        /* its last words may still sit in the stderr pipe: take them now */
        struct evbuffer *err = bufferevent_get_input(x->err);
        while (evbuffer_read(err, bufferevent_getfd(x->err), 4096) > 0)
            ;
        if (evbuffer_get_length(err))
            evbuffer_add(err, "\n", 1);
        on_err_read(x->err, x);
        json_t *last = json_array_get(x->stderr_tail, json_array_size(x->stderr_tail) - 1);
        fail(x, "it exited or closed its output", json_string_value(last));
    }
}

/* ---- the child process --------------------------------------------------------------- */

static void child(const char *cmd, int fds[3], pid_t parent, char **envp)
{
    setpgid(0, 0); /* its own group: one kill reaches what it starts */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int hi[3];
    for (int i = 0; i < 3; i++) /* above 2 first: no dup2 below overwrites another */
        hi[i] = fcntl(fds[i], F_DUPFD, 10);
    for (int i = 0; i < 3; i++)
        if (hi[i] < 0 || dup2(hi[i], i) < 0)
            _exit(127);
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    if (envp)
        execve("/bin/sh", argv, envp);
    else
        execv("/bin/sh", argv);
    _exit(127);
}

static struct bufferevent *pipe_bev(hr_exec *x, int fd)
{
    evutil_make_socket_nonblocking(fd);
    return bufferevent_socket_new(x->w->base, fd, BEV_OPT_CLOSE_ON_FREE);
}

static int spawn(hr_exec *x, const char *cmd)
{
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
        return -1;
    pid_t parent = getpid();
    x->pid = fork();
    if (x->pid == 0) {
        int fds[3] = {in[0], out[1], err[1]};
        child(cmd, fds, parent, x->ft.envp);
    }
    close(in[0]), close(out[1]), close(err[1]);
    if (x->pid < 0) {
        close(in[1]), close(out[0]), close(err[0]);
        return -1;
    }
    x->in = pipe_bev(x, in[1]);
    x->out = pipe_bev(x, out[0]);
    x->err = pipe_bev(x, err[0]);
    if (!x->in || !x->out || !x->err)
        return -1;
    bufferevent_setcb(x->out, on_out_read, NULL, on_out_event, x);
    bufferevent_setcb(x->err, on_err_read, NULL, NULL, x);
    bufferevent_enable(x->out, EV_READ);
    bufferevent_enable(x->err, EV_READ);
    return 0;
}

/* ---- the world's side ------------------------------------------------------------------ */

static json_t *client_settings(hr_world *w)
{
    json_t *cl = json_object_get(w->scn, "client"), *out = json_object();
    static const char *const copy[] = {"renew_before",    "jitter",           "min_interval",
                                       "request_timeout", "max_retries",      "backoff_initial",
                                       "backoff_max",     "clock_skew",       "methods",
                                       "scope",           "revoke_on_logout", "id_token_hint"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++)
        if (json_object_get(cl, copy[i]))
            json_object_set(out, copy[i], json_object_get(cl, copy[i]));
    json_object_set_new(out, "client_id", json_string("demo-spa"));
    json_object_set_new(out, "redirect_uri", json_string("http://127.0.0.1:8080/callback"));
    return out;
}

static int settled(void *arg)
{
    hr_exec *x = arg;
    return *x->broken || (x->hello && x->runnable == 0);
}

/* The adapter broke: its reason becomes the run's error (1), or 0. */
static int broken(hr_exec *x)
{
    if (!*x->broken)
        return 0;
    snprintf(x->w->error, sizeof x->w->error, "%s", x->broken);
    return 1;
}

/* Real-time waits: until the adapter said hello, or until its commands are done. */
static int hello_state(hr_world *w, void *arg)
{
    (void)w;
    hr_exec *x = arg;
    return broken(x) ? -1 : x->hello != NULL;
}

static int done_state(hr_world *w, void *arg)
{
    return broken(arg) ? -1 : w->pending == 0;
}

static int broken_state(hr_world *w, void *arg)
{
    (void)w;
    return broken(arg) ? -1 : 0;
}

/* Real-time exec: run the loop until the commands under way are done (1), @p limit_ms
 * passes (0; with @p until_done 0 this is a plain wait), or the adapter broke (-1). */
static int wait_real(hr_exec *x, int64_t limit_ms, int until_done)
{
    return hr_world_wait_real(x->w, until_done ? done_state : broken_state, x, limit_ms);
}

/* Whether the adapter can run this scenario on this clock: HR_OPEN_SKIP with the reason
 * in w->skip, HR_OPEN_REAL for an adapter that reads the wall clock, or 0. (Missing
 * capabilities the runner tells from exec_caps.) */
static int decide(hr_world *w, hr_exec *x)
{
    char buf[160];
    const char *why = NULL;
    double total = 0;
    size_t i;
    json_t *step;
    json_array_foreach(json_object_get(w->scn, "steps"), i, step) total +=
        json_number_value(json_object_get(step, "seconds"));
    if (x->ft.envp && !hr_proto_has(x->hello, "virtual_clock")) {
        why = "exec+faketime needs capability virtual_clock (its HTTP through the protocol)";
    } else if (!w->real_time && !hr_proto_has(x->hello, "virtual_clock")) {
        if (hr_proto_has(x->hello, "real_clock"))
            return HR_OPEN_REAL;
        why = "needs capability virtual_clock or real_clock";
    } else if (w->real_time && total > HR_REAL_TIME_MAX_SECONDS) {
        snprintf(buf, sizeof buf,
                 "the scenario advances %.0f s; a real-time adapter runs scenarios of at most "
                 "%d s (capability virtual_clock for the rest)",
                 total, HR_REAL_TIME_MAX_SECONDS);
        why = buf;
    }
    if (!why)
        return 0;
    snprintf(w->skip, sizeof w->skip, "%s", why);
    return HR_OPEN_SKIP;
}

static int open_adapter(hr_world *w, const char *cmd, void **self, int faked)
{
    hr_exec *x = calloc(1, sizeof *x);
    *self = x;
    if (x)
        x->w = w;
    if (!x || !(x->stderr_tail = json_array())) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return -1;
    }
    x->w = w;
    cm_map_init(&x->http);
    if (faked && hr_faketime_open(&x->ft, adapter_now(w), w->error, sizeof w->error) != 0)
        return -1;
    if (spawn(x, cmd) != 0) {
        snprintf(w->error, sizeof w->error, "cannot start the adapter \"%.200s\"", cmd);
        return -1;
    }
    send_line(x, json_pack("{s:s, s:i, s:s, s:o, s:s}", "type", "hello", "protocol",
                           HR_PROTO_VERSION, "issuer", w->client_issuer, "client",
                           client_settings(w), "clock", w->real_time ? "real" : "virtual"));
    if (w->real_time) {
        if (hr_world_wait_real(w, hello_state, x, 5000) == 0)
            fail(x, "no \"hello\" within 5 s", NULL);
    } else {
        int rc = cm_loop_run(w->base, w->clock, settled, x, cm_clock_now(w->clock), 5000);
        if (!*x->broken && (rc == CM_LOOP_STUCK || !x->hello))
            fail(x, "no \"hello\" and \"idle\" within 5 s", NULL);
    }
    if (broken(x))
        return -1;
    return decide(w, x);
}

static int exec_open(hr_world *w, const char *cmd, void **self)
{
    return open_adapter(w, cmd, self, 0);
}

static int exec_faketime_open(hr_world *w, const char *cmd, void **self)
{
    return open_adapter(w, cmd, self, 1);
}

static unsigned exec_caps(void *self)
{
    hr_exec *x = self;
    return hr_caps_of(json_object_get(x->hello, "capabilities"));
}

static hr_clock_kind exec_clock(void *self)
{
    return ((hr_exec *)self)->w->real_time ? HR_CLOCK_WALL : HR_CLOCK_VIRTUAL;
}

static const char *exec_catalogue(const char *arg)
{
    (void)arg;
    return "core"; /* a client under test runs the core catalogue */
}

/* ---- steps: protocol commands, counted in w->pending until "done" ---------------------- */

static void command(hr_exec *x, json_t *msg)
{
    json_object_set_new(msg, "seq", json_integer(++x->seq));
    const char *type = json_string_value(json_object_get(msg, "type"));
    snprintf(x->command, sizeof x->command, "%s", type ? type : "?");
    x->w->pending++;
    send_line(x, msg);
}

static int command_and_wait(hr_exec *x, json_t *msg, const char *what)
{
    hr_world *w = x->w;
    command(x, msg);
    if (w->real_time) {
        int64_t limit = (int64_t)(hr_client_num(w, "request_timeout", 10) * 1000) * 8 + 5000;
        int rc = wait_real(x, limit, 1);
        if (rc == 0)
            snprintf(w->error, sizeof w->error, "%s did not complete within %lld s", what,
                     (long long)(limit / 1000));
        return rc == 1 ? 0 : -1;
    }
    int rc = hr_world_wait_ops(w, what);
    return broken(x) ? -1 : rc;
}

static int exec_login(void *self, json_t *step)
{
    hr_exec *x = self;
    hr_world *w = x->w;
    const char *sub = json_string_value(json_object_get(step, "sub"));
    if (idp_server_login(w->idp, sub ? sub : "alice", w->cookie, sizeof w->cookie) != 0)
        return -1;
    return command_and_wait(x,
                            json_pack("{s:s, s:s, s:b}", "type", "login", "cookie", w->cookie,
                                      "silent_cookie", !w->cookies_blocked),
                            "login");
}

static int exec_use(void *self, json_t *step)
{
    json_t *count = json_object_get(step, "count");
    return command_and_wait(self,
                            json_pack("{s:s, s:I}", "type", "use_token", "count",
                                      count ? json_integer_value(count) : (json_int_t)1),
                            "use");
}

static int exec_api_call(void *self, json_t *step)
{
    hr_exec *x = self;
    const char *path = json_string_value(json_object_get(step, "path"));
    char url[600];
    snprintf(url, sizeof url, "%s%s", idp_server_issuer(x->w->idp), path ? path : "/resource");
    return command_and_wait(x, json_pack("{s:s, s:s}", "type", "api_call", "url", url), "api_call");
}

static int exec_logout(void *self, json_t *step)
{
    (void)step;
    return command_and_wait(self, json_pack("{s:s}", "type", "logout"), "logout");
}

static int exec_advance(void *self, int64_t ms)
{
    hr_exec *x = self;
    if (x->w->real_time) /* a real-time adapter: the wall clock passes */
        return wait_real(x, ms, 0) < 0 ? -1 : 0;
    int rc = hr_world_advance(x->w, ms);
    return broken(x) ? -1 : rc;
}

/* Reap within @p ms; 1 when gone. */
static int reap(pid_t pid, int ms)
{
    for (int waited = 0; waited <= ms; waited += 5) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return 1;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void exec_close(void *self)
{
    hr_exec *x = self;
    if (!x)
        return;
    hr_world *w = x->w;
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&x->http, &pos, &key, &v)) {
        http_call *c = v;
        w->http.cancel(w->http.ctx, c->handle);
        free(c);
    }
    cm_map_dispose(&x->http);
    if (x->wake)
        w->clock->timer_cancel(w->clock->ctx, x->wake);
    static const char stop[] = "{\"type\":\"stop\"}\n";
    if (x->in && write(bufferevent_getfd(x->in), stop, sizeof stop - 1) < 0) {
        /* gone already: reaped below */
    }
    if (x->in)
        bufferevent_free(x->in);
    if (x->out)
        bufferevent_free(x->out);
    if (x->err)
        bufferevent_free(x->err);
    if (x->pid > 0 && !reap(x->pid, 2000)) {
        kill(-x->pid, SIGKILL);
        kill(x->pid, SIGKILL);
        waitpid(x->pid, NULL, 0);
    }
    json_decref(x->hello);
    json_decref(x->stderr_tail);
    hr_faketime_close(&x->ft); /* nothing when it was never opened */
    free(x);
}

/* A broken adapter's last stderr lines (up to STDERR_KEEP) go into the run's result as
 * "stderr": the one line the reason quotes is often only the runtime's signature; and its
 * hello's name and version as "client". */
static void exec_report(void *self, json_t *result)
{
    hr_exec *x = self;
    if (!result || !x)
        return;
    if (*x->broken && json_array_size(x->stderr_tail))
        json_object_set(result, "stderr", x->stderr_tail);
    json_t *name = json_object_get(x->hello, "name"),
           *version = json_object_get(x->hello, "version");
    if (json_is_string(name)) /* who it is, for the findings store */
        json_object_set_new(result, "client",
                            json_is_string(version)
                                ? json_pack("{s:O, s:O}", "name", name, "version", version)
                                : json_pack("{s:O}", "name", name));
}

/* exec: and exec+faketime: differ only in how the child starts. */
#define EXEC_OPS(NAME, OPEN)                                                                       \
    {                                                                                              \
        .name = NAME, .arg = "COMMAND", .catalogue = exec_catalogue, .open = OPEN,                 \
        .caps = exec_caps, .clock = exec_clock, .login = exec_login, .use = exec_use,              \
        .api_call = exec_api_call, .logout = exec_logout, .advance = exec_advance,                 \
        .report = exec_report, .close = exec_close,                                                \
    }

const hr_target_ops hr_target_exec = EXEC_OPS("exec", exec_open);
/* The same adapter under libfaketime, its clock reads on the virtual clock. */
const hr_target_ops hr_target_exec_faketime = EXEC_OPS("exec+faketime", exec_faketime_open);
