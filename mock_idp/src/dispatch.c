/* Routing: the route table, CORS, control-API access and the trace around each handler. */
#include "cm_clock.h"
#include "cm_form.h"
#include "cm_json.h"
#include "config.h"
#include "fault.h"
#include "handlers.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"

#include <string.h>
#include <strings.h>

enum cors_kind { CORS_NONE, CORS_PUBLIC, CORS_CLIENT };

typedef struct route {
    const char *path;
    const char *endpoint; /* name in the trace */
    idp_handler handler;
    enum cors_kind cors;
    int prefix;          /* match every path that starts with `path` */
    const char *methods; /* the Allow header: any other method gets 405 */
} route;

#define READ "GET, HEAD, OPTIONS"
#define FORM "GET, HEAD, POST, OPTIONS"
#define POST_ONLY "POST, OPTIONS"

static const route ROUTES[] = {
    {"/.well-known/openid-configuration", "discovery", Idp_h_discovery, CORS_PUBLIC, 0, READ},
    {"/jwks", "jwks", Idp_h_jwks, CORS_PUBLIC, 0, READ},
    {"/authorize", "authorize", Idp_h_authorize, CORS_NONE, 0, FORM},
    {"/login", "login", Idp_h_login_form, CORS_NONE, 0, FORM},
    {"/consent", "consent", Idp_h_consent_form, CORS_NONE, 0, FORM},
    {"/token", "token", Idp_h_token, CORS_CLIENT, 0, POST_ONLY},
    {"/revoke", "revoke", Idp_h_revoke, CORS_CLIENT, 0, POST_ONLY},
    {"/introspect", "introspect", Idp_h_introspect, CORS_CLIENT, 0, POST_ONLY},
    {"/userinfo", "userinfo", Idp_h_userinfo, CORS_CLIENT, 0, FORM},
    {"/end_session", "end_session", Idp_h_end_session, CORS_NONE, 0, FORM},
    {"/check_session", "check_session", Idp_h_check_session, CORS_NONE, 1, READ},
    {"/resource", "resource", Idp_h_resource, CORS_CLIENT, 1, FORM},
    {"/_mock/", "control", Idp_h_control, CORS_NONE, 1, NULL}, /* its own routes */
};

/* Whether @p method is one of the comma-separated @p list. */
static int method_listed(const char *list, const char *method)
{
    size_t n = strlen(method);
    if (n == 0) /* strstr finds "" everywhere */
        return 0;
    for (const char *p = list; (p = strstr(p, method)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

/* 405 with Allow for a method the route does not take (unknown methods included, RFC
 * 9110 §15.5.6), and OPTIONS that is no CORS preflight answered with Allow; returns 1
 * when the request is answered. */
static int method_answered(const route *r, const idp_req *rq, idp_resp *rs)
{
    if (!method_listed(r->methods, rq->method)) {
        Idp_resp_oauth_error(rs, 405, OIDC_ERR_INVALID_REQUEST, "method not allowed here");
        Idp_resp_header(rs, "Allow", r->methods);
        return 1;
    }
    if (strcmp(rq->method, "OPTIONS") == 0) {
        Idp_resp_header(rs, "Allow", r->methods);
        rs->status = 204;
        return 1;
    }
    return 0;
}

/* A prefix route "/resource" matches "/resource" and "/resource/..."; "/_mock/" matches
 * everything below it. */
static int path_matches(const route *r, const char *path)
{
    size_t n = strlen(r->path);
    if (!r->prefix)
        return strcmp(path, r->path) == 0;
    return strncmp(path, r->path, n) == 0 &&
           (r->path[n - 1] == '/' || path[n] == '\0' || path[n] == '/');
}

static const route *find_route(const char *path)
{
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++)
        if (path_matches(&ROUTES[i], path))
            return &ROUTES[i];
    return NULL;
}

static int origin_allowed(const idp_server *s, const char *origin)
{
    for (size_t i = 0; i < s->cfg->n_clients; i++)
        if (Idp_strlist_has(&s->cfg->clients[i].allowed_origins, origin))
            return 1;
    return 0;
}

/* Adds CORS headers; returns 1 when the request was a preflight and is answered. */
static int apply_cors(idp_server *s, const route *r, const idp_req *rq, idp_resp *rs)
{
    const char *origin = Idp_req_header(rq, "Origin");
    if (!origin || r->cors == CORS_NONE)
        return 0;
    int allowed = r->cors == CORS_PUBLIC || origin_allowed(s, origin);
    int preflight = strcmp(rq->method, "OPTIONS") == 0 &&
                    Idp_req_header(rq, "Access-Control-Request-Method") != NULL;
    if (allowed) {
        /* public metadata is readable by any origin; client endpoints echo one allowed
         * origin and never combine a wildcard with credentials (Fetch standard) */
        Idp_resp_header(rs, "Access-Control-Allow-Origin", r->cors == CORS_PUBLIC ? "*" : origin);
        if (r->cors == CORS_CLIENT)
            Idp_resp_header(rs, "Vary", "Origin");
    }
    if (!preflight)
        return 0;
    if (!allowed) {
        Idp_resp_oauth_error(rs, 403, OIDC_ERR_INVALID_REQUEST, "origin not allowed by any client");
        return 1;
    }
    Idp_resp_header(rs, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    Idp_resp_header(rs, "Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP");
    Idp_resp_header(rs, "Access-Control-Max-Age", "600");
    rs->status = 204;
    return 1;
}

/* The origin (scheme://host[:port]) @p url starts with, into @p out; 0, or -1. */
static int origin_of(const char *url, char *out, size_t n)
{
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p)
        return -1;
    size_t len = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
    if (len >= n)
        return -1;
    memcpy(out, url, len);
    out[len] = '\0';
    return 0;
}

/* The host of a Host header or an origin's authority, without port or brackets. */
static size_t host_part(const char *authority, const char **start)
{
    if (*authority == '[') {
        *start = authority + 1;
        return strcspn(authority + 1, "]");
    }
    *start = authority;
    return strcspn(authority, ":");
}

static int host_is(const char *host, size_t n, const char *name)
{
    return n == strlen(name) && strncasecmp(host, name, n) == 0;
}

/* DNS rebinding: a name that resolves to us but is neither ours nor a loopback name. */
static int host_allowed(const idp_server *s, const char *hdr)
{
    const char *h, *ih;
    size_t n = host_part(hdr, &h);
    if (host_is(h, n, "localhost") || host_is(h, n, "::1") ||
        (n >= 4 && strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == n) ||
        (n > 10 && strncasecmp(h + n - 10, ".localhost", 10) == 0))
        return 1;
    const char *auth = s->issuer ? strstr(s->issuer, "://") : NULL;
    if (!auth)
        return 0;
    size_t in = host_part(auth + 3, &ih);
    return n == in && strncasecmp(h, ih, n) == 0;
}

/* CSRF: a control write must be JSON, and not sent by another site's page. */
static const char *write_problem(const idp_server *s, const idp_req *rq)
{
    const char *origin = Idp_req_header(rq, "Origin");
    const char *site = Idp_req_header(rq, "Sec-Fetch-Site");
    const char *ctype = Idp_req_header(rq, "Content-Type");
    char own[256];
    if (origin && (origin_of(s->issuer, own, sizeof own) != 0 || strcasecmp(origin, own) != 0))
        return "control writes from another origin are refused";
    if (site && strcasecmp(site, "cross-site") == 0)
        return "control writes from another site are refused";
    if (rq->body_len && (!ctype || strncasecmp(ctype, "application/json", 16) != 0 ||
                         (ctype[16] != '\0' && ctype[16] != ';')))
        return "a control write with a body needs Content-Type: application/json";
    return NULL;
}

/* The control API answers loopback callers, or anyone with the configured secret; a
 * browser page of another site can neither write to it nor reach it through DNS
 * rebinding (docs/hardening.md). */
static int control_allowed(idp_server *s, const idp_req *rq, idp_resp *rs)
{
    const char *host = Idp_req_header(rq, "Host");
    int write = strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0;
    const char *why = write ? write_problem(s, rq) : NULL;
    if (why) {
        Idp_resp_json(rs, strstr(why, "Content-Type") ? 415 : 403,
                      json_pack("{s:s}", "error", why));
        return 0;
    }
    if (s->control_secret) {
        if (Idp_str_equal_ct(Idp_req_header(rq, "X-Mock-Control-Secret"), s->control_secret))
            return 1;
        Idp_resp_json(rs, 401, json_pack("{s:s}", "error", "control secret missing or wrong"));
        return 0;
    }
    if (host && !host_allowed(s, host)) {
        Idp_resp_json(rs, 403,
                      json_pack("{s:s}", "error",
                                "control API: Host is neither the issuer's nor a "
                                "loopback name (set --control-secret to allow it)"));
        return 0;
    }
    if (rq->peer_loopback)
        return 1;
    Idp_resp_json(rs, 403, json_pack("{s:s}", "error", "control API answers loopback only"));
    return 0;
}

int Idp_return_to_allowed(const idp_server *s, const char *url)
{
    char want[256], own[256];
    if (!url || origin_of(url, want, sizeof want) != 0 || strchr(url, '\r') || strchr(url, '\n'))
        return 0;
    const char *rest = url + strlen(want);
    if (*rest && *rest != '/' && *rest != '?' && *rest != '#')
        return 0;
    if (origin_of(s->issuer, own, sizeof own) == 0 && strcasecmp(want, own) == 0)
        return 1;
    for (size_t i = 0; i < s->cfg->n_clients; i++) {
        const idp_strlist *l = &s->cfg->clients[i].redirect_uris;
        for (size_t k = 0; k < l->n; k++)
            if (origin_of(l->items[k], own, sizeof own) == 0 && strcasecmp(want, own) == 0)
                return 1;
    }
    return 0;
}

static int params_ok(const idp_req *rq, idp_resp *rs)
{
    char desc[200];
    int status = rq->query_status ? rq->query_status : rq->form_status;
    const char *bad = rq->query_status ? rq->query_bad : rq->form_bad;
    if (status == 0)
        return 1;
    snprintf(desc, sizeof desc, "%s%s%s", cm_form_strerror(status), bad ? ": " : "",
             bad ? bad : "");
    Idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_REQUEST, desc);
    return 0;
}

/* An OIDC route: fault rule, CORS, parameters, handler. */
static void note_param(const idp_req *rq, idp_resp *rs, const char *name)
{
    const char *v = rq->form_parsed ? cm_form_get(&rq->form, name) : NULL;
    if (!v)
        v = cm_form_get(&rq->query, name);
    if (v && rs->trace)
        json_object_set_new(rs->trace, name, cm_json_text(v));
}

static void serve(idp_server *s, const route *r, idp_req *rq, idp_resp *rs)
{
    /* recorded for every request, also those a fault rule answers without the handler */
    note_param(rq, rs, "grant_type");
    note_param(rq, rs, "client_id");
    const idp_fault *f = Idp_faults_select(s, rq, rs, r->endpoint);
    if (apply_cors(s, r, rq, rs) || method_answered(r, rq, rs))
        ; /* preflight, or a method the route does not take, answered */
    else if (f && Idp_fault_before(s, rq, rs, f))
        ; /* the rule answered (or dropped) before the handler */
    else if (params_ok(rq, rs)) {
        s->active_fault = f;
        r->handler(s, rq, rs);
        s->active_fault = NULL;
    }
    if (f)
        Idp_fault_after(s, rq, rs, f);
}

void Idp_dispatch(idp_server *s, idp_req *rq, idp_resp *rs)
{
    int64_t real_start = cm_wallclock_ms();
    const route *r = find_route(rq->path);
    int control = r && r->handler == Idp_h_control;
    json_t *entry =
        control || s->trace_off ? NULL : Idp_trace_begin(s, rq, r ? r->endpoint : "unknown");
    rs->trace = entry;
    if (!r)
        Idp_resp_json(rs, 404, json_pack("{s:s}", "error", "not_found"));
    else if (control) {
        if (control_allowed(s, rq, rs) && params_ok(rq, rs))
            r->handler(s, rq, rs);
    } else
        serve(s, r, rq, rs);
    rs->trace = NULL;
    if (s->threaded) { /* serializing both can wait until the state lock is released */
        rs->trace_pending = entry;
        rs->trace_real_start = real_start;
    } else {
        Idp_resp_materialize(rs);
        Idp_trace_end(s, entry, rs, real_start);
    }
}
