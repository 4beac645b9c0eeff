/* The control API under /_mock/ (docs/control-api.md): clock, login, trace, state,
 * key rotation and reset. JSON in and out; times in seconds. */
#include "cm_clock.h"
#include "cm_form.h"
#include "cm_json.h"
#include "cm_map.h"
#include "config.h"
#include "fault.h"
#include "handlers.h"
#include "keys.h"
#include "req.h"
#include "server_state.h"
#include "store.h"
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct control_route {
    const char *method, *path; /* a path ending in '/' takes an id after it */
    void (*fn)(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body);
} control_route;

static void fail(idp_resp *rs, int status, const char *msg)
{
    Idp_resp_json(rs, status, json_pack("{s:o}", "error", cm_json_text(msg)));
}

static void clock_get(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)body;
    (void)s;
    Idp_resp_json(rs, 200, json_pack("{s:o}", "now", Idp_seconds(rq->now_ms)));
}

static void clock_post(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    json_t *adv = json_object_get(body, "advance"), *set = json_object_get(body, "set");
    double v = adv ? json_number_value(adv) : json_number_value(set);
    double base = adv ? (double)rq->now_ms / 1000.0 : 0;
    if (!adv == !set || !json_is_number(adv ? adv : set)) {
        fail(rs, 400, "expected {\"advance\": seconds} or {\"set\": epoch seconds}");
        return;
    }
    if (!(v >= 0 && base + v <= IDP_MAX_EPOCH_SECONDS)) { /* also NaN */
        fail(rs, 400,
             adv ? "\"advance\": must be seconds >= 0 that keep the clock at or before "
                   "9999-12-31T23:59:59Z"
                 : "\"set\": must be epoch seconds from 0 to 253402300799 "
                   "(9999-12-31T23:59:59Z)");
        return;
    }
    int64_t target = adv ? rq->now_ms + llround(v * 1000.0) : llround(v * 1000.0);
    if (s->clock->set_ms(s->clock->ctx, target) != 0) {
        fail(rs, 409, "this clock cannot be moved there");
        return;
    }
    Idp_resp_json(rs, 200, json_pack("{s:o}", "now", Idp_seconds(cm_clock_now(s->clock))));
}

static idp_session *login_session(idp_server *s, idp_req *rq, idp_resp *rs, const char *sub)
{
    if (!Idp_config_user(s->cfg, sub)) {
        fail(rs, 400, "unknown user (\"sub\" must name a configured user)");
        return NULL;
    }
    idp_session *sess = Idp_session_create(s, sub, rq->now_ms);
    if (!sess)
        fail(rs, 500, "cannot create a session");
    return sess;
}

static void login_post(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    json_t *consent = json_object_get(body, "consent");
    if (consent && !json_is_array(consent)) {
        fail(rs, 400, "\"consent\" must be an array of client ids");
        return;
    }
    idp_session *sess = login_session(s, rq, rs, json_string_value(json_object_get(body, "sub")));
    if (!sess)
        return;
    size_t i;
    json_t *cid;
    json_array_foreach(consent, i, cid)
    {
        if (json_is_string(cid))
            cm_map_put(&sess->consents, json_string_value(cid), (void *)1);
    }
    char cookie[256];
    snprintf(cookie, sizeof cookie, "%s=%s", s->cfg->cookie.name, sess->cookie);
    Idp_resp_json(
        rs, 200,
        json_pack("{s:s, s:s, s:s}", "cookie", cookie, "session", sess->label, "sub", sess->sub));
}

static void login_get(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)body;
    const char *ret = cm_form_get(&rq->query, "return_to");
    if (!ret || (strncmp(ret, "http://", 7) && strncmp(ret, "https://", 8)) ||
        !Idp_return_to_allowed(s, ret)) {
        fail(rs, 400,
             "return_to must be an absolute http(s) URL on the issuer's origin or the "
             "origin of a registered redirect URI");
        return;
    }
    idp_session *sess = login_session(s, rq, rs, cm_form_get(&rq->query, "sub"));
    if (!sess)
        return;
    Idp_resp_redirect(rs, ret);
    Idp_set_session_cookie(s, rs, sess);
}

/* A whole number from @p lo to @p hi in query parameter @p name (absent: @p dflt). */
static int query_count(const idp_req *rq, const char *name, unsigned long long lo,
                       unsigned long long hi, unsigned long long dflt, unsigned long long *out)
{
    const char *v = cm_form_get(&rq->query, name);
    *out = dflt;
    if (!v)
        return 0;
    size_t n = strlen(v);
    if (n == 0 || n > 19 || strspn(v, "0123456789") != n)
        return -1;
    *out = strtoull(v, NULL, 10);
    return *out >= lo && *out <= hi ? 0 : -1;
}

/* The whole ring, or a page of it (?after=SEQ&limit=N), written in chunks by a streaming
 * transport: a full 8 MB ring is never copied whole (docs/control-api.md). */
static void trace_get(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)body;
    unsigned long long after, limit;
    if (query_count(rq, "after", 0, 1ULL << 62, 0, &after) != 0 ||
        query_count(rq, "limit", 1, 100000000, 100000000, &limit) != 0) {
        fail(rs, 400, "after must be a seq (0 or more) and limit 1 to 100000000");
        return;
    }
    idp_trace_cursor c = {.next = (unsigned long)after + 1, .left = (size_t)limit};
    Idp_resp_clear_body(rs);
    rs->status = 200;
    Idp_resp_header(rs, "Content-Type", "application/json");
    if (rq->can_stream) {
        rs->stream = &s->trace;
        rs->cursor = c;
    } else
        Idp_trace_doc(&s->trace, &c, &rs->body);
}

static void trace_delete(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)rq, (void)body;
    Idp_trace_clear(&s->trace, 0);
    Idp_resp_json(rs, 200, json_pack("{s:b}", "cleared", 1));
}

static void state_get(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)body;
    Idp_resp_json(rs, 200, Idp_store_state(s, rq->now_ms));
}

static void keys_rotate(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    json_t *ov = json_object_get(body, "overlap");
    if (ov && (!json_is_number(ov) || !(json_number_value(ov) >= 0) ||
               json_number_value(ov) > IDP_FAULT_MAX_SECONDS)) {
        fail(rs, 400, "\"overlap\" must be seconds from 0 to 31536000 (a year)");
        return;
    }
    int64_t overlap = ov ? llround(json_number_value(ov) * 1000.0) : s->cfg->key_overlap_ms;
    if (Idp_keys_rotate(&s->keys, rq->now_ms, overlap) != 0) {
        fail(rs, 500, "cannot generate a new key");
        return;
    }
    json_t *jwks = Idp_keys_jwks(&s->keys, rq->now_ms);
    json_object_set_new(jwks, "kid", json_string(s->keys.items[s->keys.n - 1].kid));
    Idp_resp_json(rs, 200, jwks);
}

static void reset_post(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)rq;
    json_t *clock = json_object_get(body, "clock");
    if (clock && !json_is_boolean(clock)) {
        fail(rs, 400, "\"clock\" must be true or false");
        return;
    }
    Idp_store_reset(s);
    Idp_trace_clear(&s->trace, 1);
    Idp_faults_clear(s);
    size_t i;
    json_t *rule;
    json_array_foreach(s->startup_faults, i, rule)
    {
        Idp_faults_add(s, rule, NULL, 0, NULL);
    }
    Idp_clients_restore(s->cfg, s->startup_clients);
    if (json_is_true(clock))
        s->clock->set_ms(s->clock->ctx, cm_wallclock_ms());
    Idp_resp_json(rs, 200, json_pack("{s:b, s:b}", "reset", 1, "clock", json_is_true(clock)));
}

/* The id after a prefix route's path ("/_mock/faults/ID" -> "ID"), percent-decoded
 * (malloc'd), or NULL with the answer given when it does not decode. */
static char *route_id(const idp_req *rq, const char *prefix, idp_resp *rs)
{
    const char *raw = rq->path + strlen(prefix);
    char *id = NULL;
    size_t n;
    int rc = cm_form_decode(raw, strlen(raw), &id, &n);
    if (rc == CM_FORM_OK)
        return id;
    free(id);
    fail(rs, 400, cm_form_strerror(rc));
    return NULL;
}

static void faults_get(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)body;
    Idp_resp_json(rs, 200, Idp_faults_list(s, rq->now_ms));
}

static void faults_post(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)rq;
    char err[300];
    const char *id;
    if (Idp_faults_add(s, body, err, sizeof err, &id) != 0) {
        fail(rs, 400, err);
        return;
    }
    Idp_resp_json(rs, 201, json_pack("{s:o}", "id", cm_json_text(id)));
}

static void faults_delete(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)rq, (void)body;
    size_t n = s->n_faults;
    Idp_faults_clear(s);
    Idp_resp_json(rs, 200, json_pack("{s:I}", "removed", (json_int_t)n));
}

static void fault_delete(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)body;
    char *id = route_id(rq, "/_mock/faults/", rs);
    if (id && Idp_faults_remove(s, id) != 0)
        fail(rs, 404, "no fault rule with that id");
    else if (id)
        Idp_resp_json(rs, 200, json_pack("{s:I}", "removed", (json_int_t)1));
    free(id);
}

static void presets_get(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)s, (void)rq, (void)body;
    Idp_resp_json(rs, 200, Idp_presets_list());
}

static void presets_post(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)rq;
    char err[300];
    const char *name = json_string_value(json_object_get(body, "name"));
    if (Idp_preset_apply(s, name, err, sizeof err) != 0) {
        fail(rs, 400, err);
        return;
    }
    Idp_resp_json(rs, 200, json_pack("{s:s}", "applied", name));
}

static void clients_get(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)rq, (void)body;
    json_t *list = json_array();
    for (size_t i = 0; i < s->cfg->n_clients; i++)
        json_array_append_new(list, Idp_client_describe(&s->cfg->clients[i]));
    Idp_resp_json(rs, 200, json_pack("{s:o}", "clients", list));
}

static void client_patch(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    char err[300];
    char *id = route_id(rq, "/_mock/clients/", rs);
    if (!id)
        return;
    if (!Idp_config_client(s->cfg, id))
        fail(rs, 404, "unknown client");
    else if (Idp_client_patch(s->cfg, id, body, err, sizeof err) != 0)
        fail(rs, 400, err);
    else
        Idp_resp_json(rs, 200, Idp_client_describe(Idp_config_client(s->cfg, id)));
    free(id);
}

/* An administrator revokes grants: one family, a user's, a client's, or all. */
static void grants_revoke(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)rq;
    const char *fam = json_string_value(json_object_get(body, "family"));
    const char *sub = json_string_value(json_object_get(body, "sub"));
    const char *cid = json_string_value(json_object_get(body, "client_id"));
    Idp_resp_json(rs, 200,
                  json_pack("{s:o}", "revoked", idp_server_revoke_grants(s, fam, sub, cid)));
}

/* "Logged out elsewhere": end every session, or a user's. */
static void sessions_end(idp_server *s, idp_req *rq, idp_resp *rs, json_t *body)
{
    (void)rq;
    const char *sub = json_string_value(json_object_get(body, "sub"));
    Idp_resp_json(rs, 200, json_pack("{s:o}", "ended", idp_server_end_sessions(s, sub)));
}

static const control_route ROUTES[] = {
    {"GET", "/_mock/clock", clock_get},
    {"POST", "/_mock/clock", clock_post},
    {"POST", "/_mock/login", login_post},
    {"GET", "/_mock/login", login_get},
    {"GET", "/_mock/trace", trace_get},
    {"DELETE", "/_mock/trace", trace_delete},
    {"GET", "/_mock/state", state_get},
    {"POST", "/_mock/keys/rotate", keys_rotate},
    {"POST", "/_mock/reset", reset_post},
    {"GET", "/_mock/faults", faults_get},
    {"POST", "/_mock/faults", faults_post},
    {"DELETE", "/_mock/faults", faults_delete},
    {"DELETE", "/_mock/faults/", fault_delete},
    {"GET", "/_mock/presets", presets_get},
    {"POST", "/_mock/presets", presets_post},
    {"GET", "/_mock/clients", clients_get},
    {"PATCH", "/_mock/clients/", client_patch},
    {"POST", "/_mock/grants/revoke", grants_revoke},
    {"POST", "/_mock/sessions/end", sessions_end},
};

static int path_matches(const control_route *r, const char *path)
{
    size_t n = strlen(r->path);
    if (r->path[n - 1] == '/') /* an id must follow */
        return strncmp(path, r->path, n) == 0 && path[n] != '\0' && !strchr(path + n, '/');
    return strcmp(path, r->path) == 0;
}

static json_t *parse_body(idp_req *rq, idp_resp *rs)
{
    if (rq->body_len == 0)
        return json_object();
    json_error_t err;
    json_t *body = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!body || !json_is_object(body)) {
        char msg[300];
        snprintf(msg, sizeof msg, "body must be a JSON object: %s",
                 body ? "not an object" : err.text);
        json_decref(body);
        fail(rs, 400, msg);
        return NULL;
    }
    return body;
}

void Idp_h_control(idp_server *s, idp_req *rq, idp_resp *rs)
{
    char allow[64] = "";
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (!path_matches(&ROUTES[i], rq->path))
            continue;
        if (strcmp(rq->method, ROUTES[i].method) != 0) {
            size_t n = strlen(allow);
            snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", ROUTES[i].method);
            continue;
        }
        json_t *body = parse_body(rq, rs);
        if (body)
            ROUTES[i].fn(s, rq, rs, body);
        json_decref(body);
        return;
    }
    fail(rs, *allow ? 405 : 404, *allow ? "method not allowed here" : "unknown control endpoint");
    if (*allow)
        Idp_resp_header(rs, "Allow", allow);
}
