/* The probe's plumbing: blocking HTTP over renew_core's transport on the wall clock,
 * fresh tokens from the login command, and the matrix rows (probe.h). */
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_b64url.h"
#include "cm_clock.h"
#include "cm_form.h"
#include "cm_strbuf.h"
#include "probe.h"

#define PROBE_HTTP_TIMEOUT_S 10

#include "probe_int.h"

/* ---- blocking HTTP ----------------------------------------------------------------------- */

typedef struct call {
    pb_resp *out;
    int done;
} call;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void on_answer(void *arg, int err, const rc_http_response *r)
{
    call *c = arg;
    c->done = 1;
    c->out->err = err;
    if (err || !r)
        return;
    c->out->status = r->status;
    c->out->body = malloc(r->body_len + 1);
    if (c->out->body) {
        memcpy(c->out->body, r->body ? r->body : "", r->body_len);
        c->out->body[r->body_len] = '\0';
        c->out->json = json_loadb(c->out->body, r->body_len, 0, NULL);
        if (!json_is_object(c->out->json)) {
            json_decref(c->out->json);
            c->out->json = NULL;
        }
    }
    c->out->content_type = dup_or_null(r->content_type);
    c->out->location = dup_or_null(r->location);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    ((call *)arg)->done = -1;
}

/* client_secret_basic: base64 of "id:secret" (both form-encoded, RFC 6749 §2.3.1) */
static void basic_auth(probe *p, char *out, size_t n)
{
    char *id = cm_form_encode(p->o.client_id), *sec = cm_form_encode(p->o.client_secret);
    char pair[600];
    snprintf(pair, sizeof pair, "%s:%s", id ? id : "", sec ? sec : "");
    free(id), free(sec);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(pair), o = (size_t)snprintf(out, n, "Basic ");
    for (size_t i = 0; i < len && o + 5 < n; i += 3) {
        unsigned v = (unsigned char)pair[i] << 16 |
                     (i + 1 < len ? (unsigned char)pair[i + 1] << 8 : 0) |
                     (i + 2 < len ? (unsigned char)pair[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    out[o] = '\0';
}

static void exchange(probe *p, const rc_http_request *rq, pb_resp *out)
{
    memset(out, 0, sizeof *out);
    call c = {.out = out};
    void *handle = NULL;
    if (p->http.send(p->http.ctx, rq, on_answer, &c, &handle) != RC_OK) {
        out->err = RC_ETRANSPORT;
        return;
    }
    struct event *deadline = evtimer_new(p->base, on_deadline, &c);
    struct timeval tv = {PROBE_HTTP_TIMEOUT_S, 0};
    evtimer_add(deadline, &tv);
    while (!c.done)
        event_base_loop(p->base, EVLOOP_ONCE);
    event_free(deadline);
    if (c.done < 0) {
        p->http.cancel(p->http.ctx, handle);
        out->err = RC_ETIMEOUT;
    }
}

void pb_http(probe *p, const char *url, const char *form, const char *bearer, int basic,
             pb_resp *out)
{
    char auth[1200] = "";
    if (bearer)
        snprintf(auth, sizeof auth, "Bearer %s", bearer);
    else if (basic && p->o.client_secret)
        basic_auth(p, auth, sizeof auth);
    rc_http_request rq = {.method = form ? "POST" : "GET",
                          .url = url,
                          .content_type = form ? "application/x-www-form-urlencoded" : NULL,
                          .body = form,
                          .body_len = form ? strlen(form) : 0,
                          .authorization = *auth ? auth : NULL};
    exchange(p, &rq, out);
}

void pb_navigate(probe *p, const char *url, const char *cookie, pb_resp *out)
{
    static const rc_header navigation[] = {{"Accept", RC_ACCEPT_NAVIGATION}};
    rc_http_request rq = {
        .method = "GET", .url = url, .cookie = cookie, .headers = navigation, .n_headers = 1};
    exchange(p, &rq, out);
}

void pb_resp_dispose(pb_resp *r)
{
    free(r->body), free(r->content_type), free(r->location);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

void pb_refresh(probe *p, const char *refresh_token, pb_resp *out)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    char *rt = cm_form_encode(refresh_token ? refresh_token : ""),
         *id = cm_form_encode(p->o.client_id);
    cm_strbuf_puts(&b, "grant_type=refresh_token");
    if (refresh_token) /* NULL: none at all, a counterfeit */
        cm_strbuf_printf(&b, "&refresh_token=%s", rt ? rt : "");
    if (!p->o.client_secret)
        cm_strbuf_printf(&b, "&client_id=%s", id ? id : "");
    free(rt), free(id);
    pb_http(p, json_string_value(json_object_get(p->meta, "token_endpoint")), b.data, NULL, 1, out);
    cm_strbuf_dispose(&b);
    if (!out->err && out->status == 200)
        pb_note_id_token(p, json_string_value(json_object_get(out->json, "id_token")));
}

/* ---- evidence ------------------------------------------------------------------------ */

const char *pb_meta_str(probe *p, const char *key)
{
    return json_string_value(json_object_get(p->meta, key));
}

const char *pb_jstr(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

const char *pb_answer(const pb_resp *r, char *buf, size_t n)
{
    const char *error = pb_jstr(r->json, "error");
    if (r->err)
        snprintf(buf, n, "%s", rc_strerror(r->err));
    else if (r->status < 400 || error)
        snprintf(buf, n, "%d%s%s", r->status, error ? " " : "", error ? error : "");
    else if (!r->body || !*r->body)
        snprintf(buf, n, "%d with an empty body (RFC 6749 §5.2 wants a JSON error)", r->status);
    else
        snprintf(buf, n, "%d, not an RFC 6749 §5.2 error: \"%.80s\"", r->status, r->body);
    return buf;
}

/* ---- the rest ------------------------------------------------------------------------- */

json_t *pb_meta(probe *p)
{
    return p->meta;
}

const char *pb_jwks_text(probe *p)
{
    return json_string_value(p->jwks);
}

const pb_opts *pb_options(probe *p)
{
    return &p->o;
}

void pb_wait(probe *p, double seconds)
{
    (void)p;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

static int fetch_discovery(probe *p, char *err, size_t n)
{
    char url[600];
    snprintf(url, sizeof url, "%s/.well-known/openid-configuration", p->o.issuer);
    pb_resp r;
    pb_http(p, url, NULL, NULL, 0, &r);
    if (r.err || r.status != 200 || !r.json) {
        snprintf(err, n, "discovery at %s: %s", url,
                 r.err ? rc_strerror(r.err) : "no JSON document with status 200");
        pb_resp_dispose(&r);
        return -1;
    }
    p->meta = json_incref(r.json);
    pb_resp_dispose(&r);
    const char *jwks_uri = json_string_value(json_object_get(p->meta, "jwks_uri"));
    if (jwks_uri) {
        pb_http(p, jwks_uri, NULL, NULL, 0, &r);
        if (!r.err && r.status == 200 && r.body)
            p->jwks = json_string(r.body);
        pb_resp_dispose(&r);
    }
    return 0;
}

probe *pb_open(const pb_opts *o, char *err, size_t errlen)
{
    probe *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->o = *o;
    p->base = event_base_new();
    p->clock = p->base ? cm_realclock_new(p->base) : NULL;
    p->rows = json_object();
    if (!p->clock || rc_transport_evhttp_new(p->base, p->clock, o->ca_file, &p->http) != RC_OK) {
        snprintf(err, errlen, "cannot set up HTTP (CA file %s?)", o->ca_file ? o->ca_file : "-");
    } else if (fetch_discovery(p, err, errlen) == 0) {
        return p;
    }
    pb_close(p);
    return NULL;
}

void pb_close(probe *p)
{
    if (!p)
        return;
    if (p->http.ctx)
        rc_transport_evhttp_free(&p->http);
    json_decref(p->meta), json_decref(p->jwks), json_decref(p->rows);
    free(p->latest_idt), free(p->login_failure), free(p->cookie);
    cm_realclock_free(p->clock);
    if (p->base)
        event_base_free(p->base);
    free(p);
}
