/* The app origin's HTTP server (see apphost.h). The page polls /commands?after=N and posts
 * each outcome to /event: both on its own origin, which always arrives (docs/browser.md). */
#include "apphost.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENT_BODY_MAX 16384

struct hr_apphost {
    struct evhttp *http;
    char origin[64];
    json_t *config;
    json_t *commands; /* every command so far: [{seq, do, ...}] */
    hr_app_event_cb on_event;
    void *arg;
    char *web_dir;     /* the shared page files (harness-link.js, ...) */
    char *client_dir;  /* the page client's folder, served at /client/ */
    json_t *libraries; /* its npm files: name -> path (resolved by the page target) */
};

/* The app origin's own files. A page (own 1) is the client folder's when it has one, else
 * the shared one of the web folder. */
static const struct {
    const char *path, *file, *type;
    int own;
} FILES[] = {
    {"/", "app.html", "text/html; charset=utf-8", 1},
    {"/callback", "app.html", "text/html; charset=utf-8", 1},
    {"/silent-callback", "silent.html", "text/html; charset=utf-8", 1},
    {"/web/harness-link.js", "harness-link.js", "text/javascript", 0},
    {"/web/oidc-util.js", "oidc-util.js", "text/javascript", 0},
    {"/web/silent-link.js", "silent-link.js", "text/javascript", 0},
};

static const char *page_dir(const hr_apphost *h, const char *file)
{
    char path[1024];
    if (!h->client_dir ||
        snprintf(path, sizeof path, "%s/%s", h->client_dir, file) >= (int)sizeof path ||
        access(path, R_OK) != 0)
        return h->web_dir;
    return h->client_dir;
}

static void reply(struct evhttp_request *rq, int status, const char *type, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(rq);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(rq, status, status == 200 ? "OK" : "Error", body);
}

static void reply_json(struct evhttp_request *rq, int status, json_t *v)
{
    struct evbuffer *b = evbuffer_new();
    char *text = json_dumps(v, JSON_COMPACT);
    if (b && text)
        evbuffer_add(b, text, strlen(text));
    reply(rq, status, "application/json", b);
    free(text);
    if (b)
        evbuffer_free(b);
}

static void serve_file(struct evhttp_request *rq, const char *dir, const char *file,
                       const char *type)
{
    char path[1024];
    snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", file);
    FILE *f = fopen(path, "rb");
    struct evbuffer *b = evbuffer_new();
    char chunk[8192];
    size_t n;
    while (f && b && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        evbuffer_add(b, chunk, n);
    if (f) {
        reply(rq, 200, type, b);
        fclose(f);
    } else {
        evbuffer_add_printf(b, "missing %s (run scripts/setup-deps.sh)\n", path);
        reply(rq, 404, "text/plain", b);
    }
    evbuffer_free(b);
}

/* A file name of the client's folder: one component, no dot first. */
static int plain(const char *name)
{
    return *name && *name != '.' && !strchr(name, '/') && strlen(name) < 100;
}

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && !strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (dot && !strcmp(dot, ".json"))
        return "application/json";
    return "text/javascript";
}

static void serve_commands(hr_apphost *h, struct evhttp_request *rq, const char *query)
{
    long after = 0;
    const char *p = query ? strstr(query, "after=") : NULL;
    if (p)
        after = strtol(p + 6, NULL, 10);
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(h->commands, i, c) if (json_integer_value(json_object_get(c, "seq")) > after)
        json_array_append(out, c);
    reply_json(rq, 200, out);
    json_decref(out);
}

static void take_event(hr_apphost *h, struct evhttp_request *rq)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(rq);
    size_t n = evbuffer_get_length(in);
    json_error_t e;
    json_t *ev = NULL;
    if (n <= EVENT_BODY_MAX) {
        char *text = malloc(n + 1);
        if (text) {
            evbuffer_copyout(in, text, n);
            ev = json_loadb(text, n, 0, &e);
            free(text);
        }
    }
    if (!json_is_object(ev)) {
        json_t *err = json_pack("{s:s}", "error", "expected a JSON object");
        reply_json(rq, 400, err);
        json_decref(err);
        json_decref(ev);
        return;
    }
    h->on_event(h->arg, ev);
    json_decref(ev);
    json_t *ok = json_pack("{s:b}", "ok", 1);
    reply_json(rq, 200, ok);
    json_decref(ok);
}

static void on_request(struct evhttp_request *rq, void *arg)
{
    hr_apphost *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(rq);
    const char *path = evhttp_uri_get_path(uri);
    path = path && *path ? path : "/";
    enum evhttp_cmd_type m = evhttp_request_get_command(rq);
    if (m == EVHTTP_REQ_POST && !strcmp(path, "/event"))
        return take_event(h, rq);
    if (m == EVHTTP_REQ_GET && !strcmp(path, "/commands"))
        return serve_commands(h, rq, evhttp_uri_get_query(uri));
    if (m == EVHTTP_REQ_GET && !strcmp(path, "/config.json"))
        return reply_json(rq, 200, h->config ? h->config : json_null());
    for (size_t i = 0; m == EVHTTP_REQ_GET && i < sizeof FILES / sizeof FILES[0]; i++)
        if (!strcmp(path, FILES[i].path))
            return serve_file(rq, FILES[i].own ? page_dir(h, FILES[i].file) : h->web_dir,
                              FILES[i].file, FILES[i].type);
    const char *name = strrchr(path, '/') + 1;
    if (m == EVHTTP_REQ_GET && h->client_dir && !strncmp(path, "/client/", 8) && plain(name))
        return serve_file(rq, h->client_dir, name, type_of(name));
    const char *lib = json_string_value(json_object_get(h->libraries, name));
    if (m == EVHTTP_REQ_GET && lib && !strncmp(path, "/lib/", 5) && plain(name))
        return serve_file(rq, NULL, lib, type_of(name));
    evhttp_send_error(rq, 404, NULL);
}

int hr_apphost_new(struct event_base *base, hr_app_event_cb on_event, void *arg, hr_apphost **out,
                   char *err, size_t errlen)
{
    hr_apphost *h = calloc(1, sizeof *h);
    struct evhttp_bound_socket *bound = NULL;
    if (!h || !(h->http = evhttp_new(base)) || !(h->commands = json_array())) {
        snprintf(err, errlen, "out of memory");
        hr_apphost_free(h);
        return -1;
    }
    h->on_event = on_event, h->arg = arg;
    evhttp_set_gencb(h->http, on_request, h);
    evhttp_set_max_body_size(h->http, EVENT_BODY_MAX);
    bound = evhttp_bind_socket_with_handle(h->http, "127.0.0.1", 0);
    if (!bound) {
        snprintf(err, errlen, "app origin: cannot listen on 127.0.0.1");
        hr_apphost_free(h);
        return -1;
    }
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof ss;
    getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len);
    snprintf(h->origin, sizeof h->origin, "http://127.0.0.1:%d",
             ntohs(((struct sockaddr_in *)&ss)->sin_port));
    *out = h;
    return 0;
}

const char *hr_apphost_origin(const hr_apphost *h)
{
    return h->origin;
}

void hr_apphost_set_config(hr_apphost *h, json_t *config)
{
    json_decref(h->config);
    h->config = config;
}

void hr_apphost_command(hr_apphost *h, json_t *cmd)
{
    json_object_set_new(cmd, "seq", json_integer((json_int_t)json_array_size(h->commands) + 1));
    json_array_append_new(h->commands, cmd);
}

void hr_apphost_set_client(hr_apphost *h, const char *web_dir, const char *dir, json_t *libraries)
{
    free(h->web_dir);
    h->web_dir = strdup(web_dir);
    free(h->client_dir);
    h->client_dir = strdup(dir);
    json_decref(h->libraries);
    h->libraries = libraries;
}

void hr_apphost_free(hr_apphost *h)
{
    if (!h)
        return;
    free(h->web_dir);
    free(h->client_dir);
    json_decref(h->libraries);
    if (h->http)
        evhttp_free(h->http);
    json_decref(h->config);
    json_decref(h->commands);
    free(h);
}
