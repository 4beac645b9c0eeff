/* Routing: the route table, CORS, control-API access and the trace around each handler. */
#include "idp_int.h"

#include <string.h>

enum cors_kind { CORS_NONE, CORS_PUBLIC, CORS_CLIENT };

typedef struct route {
    const char *path;
    const char *endpoint; /* name in the trace */
    idp_handler handler;
    enum cors_kind cors;
    int prefix; /* match every path that starts with `path` */
} route;

static const route ROUTES[] = {
    {"/.well-known/openid-configuration", "discovery", idp_h_discovery, CORS_PUBLIC, 0},
    {"/jwks", "jwks", idp_h_jwks, CORS_PUBLIC, 0},
    {"/authorize", "authorize", idp_h_authorize, CORS_NONE, 0},
    {"/login", "login", idp_h_login_form, CORS_NONE, 0},
    {"/consent", "consent", idp_h_consent_form, CORS_NONE, 0},
    {"/token", "token", idp_h_token, CORS_CLIENT, 0},
    {"/revoke", "revoke", idp_h_revoke, CORS_CLIENT, 0},
    {"/introspect", "introspect", idp_h_introspect, CORS_CLIENT, 0},
    {"/userinfo", "userinfo", idp_h_userinfo, CORS_CLIENT, 0},
    {"/end_session", "end_session", idp_h_end_session, CORS_NONE, 0},
    {"/check_session", "check_session", idp_h_check_session, CORS_NONE, 1},
    {"/resource", "resource", idp_h_resource, CORS_CLIENT, 1},
    {"/_mock/", "control", idp_h_control, CORS_NONE, 1},
};

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
        if (idp_strlist_has(&s->cfg->clients[i].allowed_origins, origin))
            return 1;
    return 0;
}

/* Adds CORS headers; returns 1 when the request was a preflight and is answered. */
static int apply_cors(idp_server *s, const route *r, const idp_req *rq, idp_resp *rs)
{
    const char *origin = idp_req_header(rq, "Origin");
    if (!origin || r->cors == CORS_NONE)
        return 0;
    int allowed = r->cors == CORS_PUBLIC || origin_allowed(s, origin);
    int preflight = strcmp(rq->method, "OPTIONS") == 0 &&
                    idp_req_header(rq, "Access-Control-Request-Method") != NULL;
    if (allowed) {
        /* public metadata is readable by any origin; client endpoints echo one allowed
         * origin and never combine a wildcard with credentials (Fetch standard) */
        idp_resp_header(rs, "Access-Control-Allow-Origin", r->cors == CORS_PUBLIC ? "*" : origin);
        if (r->cors == CORS_CLIENT)
            idp_resp_header(rs, "Vary", "Origin");
    }
    if (!preflight)
        return 0;
    if (!allowed) {
        idp_resp_oauth_error(rs, 403, OIDC_ERR_INVALID_REQUEST, "origin not allowed by any client");
        return 1;
    }
    idp_resp_header(rs, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    idp_resp_header(rs, "Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP");
    idp_resp_header(rs, "Access-Control-Max-Age", "600");
    rs->status = 204;
    return 1;
}

/* The control API answers loopback callers, or anyone with the configured secret. */
static int control_allowed(idp_server *s, const idp_req *rq, idp_resp *rs)
{
    if (s->control_secret) {
        if (idp_str_equal_ct(idp_req_header(rq, "X-Mock-Control-Secret"), s->control_secret))
            return 1;
        idp_resp_json(rs, 401, json_pack("{s:s}", "error", "control secret missing or wrong"));
        return 0;
    }
    if (rq->peer_loopback)
        return 1;
    idp_resp_json(rs, 403, json_pack("{s:s}", "error", "control API answers loopback only"));
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
    idp_resp_oauth_error(rs, 400, OIDC_ERR_INVALID_REQUEST, desc);
    return 0;
}

/* An OIDC route: fault rule, CORS, parameters, handler. */
static void note_param(const idp_req *rq, idp_resp *rs, const char *name)
{
    const char *v = rq->form_parsed ? cm_form_get(&rq->form, name) : NULL;
    if (!v)
        v = cm_form_get(&rq->query, name);
    if (v && rs->trace)
        json_object_set_new(rs->trace, name, json_string(v));
}

static void serve(idp_server *s, const route *r, idp_req *rq, idp_resp *rs)
{
    /* recorded for every request, also those a fault rule answers without the handler */
    note_param(rq, rs, "grant_type");
    note_param(rq, rs, "client_id");
    const idp_fault *f = idp_faults_select(s, rq, rs, r->endpoint);
    if (apply_cors(s, r, rq, rs))
        ; /* preflight answered */
    else if (f && idp_fault_before(s, rq, rs, f))
        ; /* the rule answered (or dropped) before the handler */
    else if (params_ok(rq, rs)) {
        s->active_fault = f;
        r->handler(s, rq, rs);
        s->active_fault = NULL;
    }
    if (f)
        idp_fault_after(s, rq, rs, f);
}

void idp_dispatch(idp_server *s, idp_req *rq, idp_resp *rs)
{
    int64_t real_start = cm_wallclock_ms();
    const route *r = find_route(rq->path);
    int control = r && r->handler == idp_h_control;
    json_t *entry =
        control || s->trace_off ? NULL : idp_trace_begin(s, rq, r ? r->endpoint : "unknown");
    rs->trace = entry;
    if (!r)
        idp_resp_json(rs, 404, json_pack("{s:s}", "error", "not_found"));
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
        idp_resp_materialize(rs);
        idp_trace_end(s, entry, rs, real_start);
    }
}
