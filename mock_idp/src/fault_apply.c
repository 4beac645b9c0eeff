/* Applying fault rules to requests: which rule fires, and what it does before and after
 * the handler. In-handler effects (ID-token faults, clock skew, prompt=none ignored, ...)
 * are read by the handlers through Idp_fault_active(). */
#include "cm_form.h"
#include "cm_map.h"
#include "cm_rng.h"
#include "cm_strbuf.h"
#include "fault.h"
#include "handlers.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_json.h"

int Idp_faults_add(idp_server *s, json_t *spec, char *err, size_t errlen, const char **id)
{
    char hint[32];
    snprintf(hint, sizeof hint, "fault#%lu", s->next_fault + 1);
    idp_fault *f = Idp_fault_parse(spec, hint, err, errlen);
    if (!f)
        return -1;
    for (size_t i = 0; i < s->n_faults; i++) {
        if (strcmp(s->faults[i]->id, f->id) == 0) {
            snprintf(err, errlen, "/id: a rule \"%s\" exists already", f->id);
            Idp_fault_free(f);
            return -1;
        }
    }
    idp_fault **grown = realloc(s->faults, (s->n_faults + 1) * sizeof *grown);
    if (!grown) {
        Idp_fault_free(f);
        snprintf(err, errlen, "/: out of memory");
        return -1;
    }
    s->faults = grown;
    s->faults[s->n_faults++] = f;
    s->next_fault++;
    if (id)
        *id = f->id;
    return 0;
}

int Idp_faults_remove(idp_server *s, const char *id)
{
    for (size_t i = 0; i < s->n_faults; i++) {
        if (strcmp(s->faults[i]->id, id) == 0) {
            Idp_fault_free(s->faults[i]);
            memmove(&s->faults[i], &s->faults[i + 1], (s->n_faults - i - 1) * sizeof *s->faults);
            s->n_faults--;
            return 0;
        }
    }
    return -1;
}

void Idp_faults_clear(idp_server *s)
{
    for (size_t i = 0; i < s->n_faults; i++)
        Idp_fault_free(s->faults[i]);
    free(s->faults);
    s->faults = NULL;
    s->n_faults = 0;
    s->next_fault = 0;
}

json_t *Idp_faults_list(idp_server *s, int64_t now_ms)
{
    json_t *list = json_array();
    for (size_t i = 0; i < s->n_faults; i++)
        json_array_append_new(list, Idp_fault_describe(s->faults[i], now_ms));
    return json_pack("{s:o}", "faults", list);
}

/* The token a request carries: a refresh token or a revoked/introspected one in the form,
 * or a bearer access token; NULL when none is known. */
static idp_token *carried_token(idp_server *s, const idp_req *rq)
{
    const char *tok = rq->form_parsed ? cm_form_get(&rq->form, "refresh_token") : NULL;
    if (!tok && rq->form_parsed)
        tok = cm_form_get(&rq->form, "token");
    const char *auth = Idp_req_header(rq, "Authorization");
    if (!tok && auth && strncasecmp(auth, "Bearer ", 7) == 0)
        tok = auth + 7;
    return Idp_token_find(s, tok);
}

static idp_code *carried_code(idp_server *s, const idp_req *rq)
{
    const char *code = rq->form_parsed ? cm_form_get(&rq->form, "code") : NULL;
    return code ? cm_map_get(&s->store.codes, code) : NULL;
}

static idp_session *request_session(idp_server *s, const idp_req *rq)
{
    char buf[256];
    const char *cookie = Idp_req_cookie(rq, s->cfg->cookie.name, buf, sizeof buf);
    return Idp_session_find(s, cookie, rq->now_ms);
}

/* The user a request concerns: its session, or the owner of the token or code it carries. */
static const char *request_user(idp_server *s, const idp_req *rq)
{
    idp_session *sess = request_session(s, rq);
    idp_token *t = sess ? NULL : carried_token(s, rq);
    idp_code *c = sess || t ? NULL : carried_code(s, rq);
    return sess ? sess->sub : t ? t->sub : c ? c->sub : NULL;
}

/* What a request a rule fired on carries, in its trace entry, as its handler would say it:
 * a rule may answer in its place, and observe mode still groups the request by its grant
 * and session. Read only. */
static void note_carried(idp_server *s, const idp_req *rq, idp_resp *rs)
{
    idp_token *t = carried_token(s, rq);
    idp_code *c = t ? NULL : carried_code(s, rq);
    idp_session *sess = request_session(s, rq);
    if (t || c)
        Idp_resp_note(rs, "presented", t ? t->label : c->label);
    idp_family *f = t ? t->family : c ? c->family : NULL;
    if (f)
        Idp_resp_note_grant(rs, f->label, f->session_label);
    if (sess && !f)
        Idp_resp_note(rs, "session", sess->label);
}

static int request_has_param(const void *req, const char *name)
{
    return Idp_req_param(req, name) != NULL;
}

const idp_fault *Idp_faults_select(idp_server *s, idp_req *rq, idp_resp *rs, const char *endpoint)
{
    if (!s->n_faults)
        return NULL;
    idp_fault_subject subj = {
        .endpoint = endpoint,
        .method = rq->method,
        .grant_type = rq->form_parsed ? cm_form_get(&rq->form, "grant_type") : NULL,
        .client_id = Idp_req_param(rq, "client_id"),
        .user = request_user(s, rq),
        .now_ms = rq->now_ms,
        .has_param = request_has_param,
        .req = rq,
    };
    idp_fault *chosen = NULL;
    for (size_t i = 0; i < s->n_faults; i++) {
        idp_fault *f = s->faults[i];
        int has_p = json_object_get(f->match, "probability") != NULL;
        /* a draw only for rules with a probability, so adding one rule does not shift
         * the random stream (token values) of runs that have none */
        double unit = has_p ? cm_rng_unit(&s->rng) : 0.0;
        if (Idp_fault_fires(f, &subj, unit) && !chosen)
            chosen = f;
    }
    if (chosen) {
        chosen->hits++;
        note_carried(s, rq, rs);
        if (rs->trace)
            json_object_set_new(
                rs->trace, "fault",
                json_pack("{s:s, s:s}", "rule", chosen->id, "action",
                          json_string_value(json_object_get(chosen->action, "type"))));
    }
    return chosen;
}

static void answer_status(idp_resp *rs, const idp_fault *f)
{
    int status = (int)Idp_fault_num(f, "status", 500);
    const char *error = Idp_fault_str(f, "error");
    if (error) {
        /* rs->error points into the rule, which outlives this request */
        Idp_resp_oauth_error(rs, status, error, Idp_fault_str(f, "error_description"));
    } else {
        Idp_resp_clear_body(rs);
        rs->status = status;
    }
    json_t *ra = json_object_get(f->action, "retry_after");
    if (ra) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)llround(json_number_value(ra)));
        Idp_resp_header(rs, "Retry-After", v);
    }
}

static void proxy_502(idp_resp *rs)
{
    Idp_resp_html(rs, 502,
                  strdup("<html><head><title>502 Bad Gateway</title></head><body>"
                         "<center><h1>502 Bad Gateway</h1></center><hr>"
                         "<center>nginx</center></body></html>"));
}

/* Revoke the grant behind the request's refresh token, or every grant of its user. */
static void revoke_grants(idp_server *s, const idp_req *rq)
{
    idp_token *t =
        rq->form_parsed ? Idp_token_find(s, cm_form_get(&rq->form, "refresh_token")) : NULL;
    if (t && t->family) {
        Idp_family_revoke(t->family, "grant revoked by an administrator");
        return;
    }
    const char *user = request_user(s, rq);
    for (size_t i = 0; user && i < s->store.n_families; i++)
        if (strcmp(s->store.families[i]->sub, user) == 0)
            Idp_family_revoke(s->store.families[i], "grant revoked by an administrator");
}

static void session_fault(idp_server *s, const idp_req *rq, const idp_fault *f)
{
    char buf[256];
    idp_session *sess =
        Idp_session_find(s, Idp_req_cookie(rq, s->cfg->cookie.name, buf, sizeof buf), rq->now_ms);
    if (!sess)
        return;
    if (f->kind == FA_SESSION_LOST) {
        Idp_session_end(s, sess);
        return;
    }
    char *sub = strdup(Idp_fault_str(f, "sub"));
    if (sub) {
        free(sess->sub);
        sess->sub = sub;
    }
}

int Idp_fault_before(idp_server *s, idp_req *rq, idp_resp *rs, const idp_fault *f)
{
    int after_effect = Idp_fault_bool(f, "after_effect");
    if ((f->kind == FA_HANG || f->kind == FA_RESET || f->kind == FA_CLOSE) && !after_effect)
        rs->status = 0; /* the trace says: no answer was produced */
    switch (f->kind) {
    case FA_STATUS:
        answer_status(rs, f);
        return 1;
    case FA_HTML_502:
        proxy_502(rs);
        return 1;
    case FA_HANG:
        rs->disposition = IDP_HANG;
        return !after_effect;
    case FA_RESET:
        rs->disposition = IDP_RESET;
        return !after_effect;
    case FA_CLOSE:
        rs->disposition = IDP_CLOSE;
        return !after_effect;
    case FA_REVOKE_GRANT:
        revoke_grants(s, rq);
        return 0;
    case FA_SESSION_LOST:
    case FA_SESSION_SWITCH:
        session_fault(s, rq, f);
        return 0;
    default:
        return 0;
    }
}

static void truncate_body(idp_resp *rs)
{
    if (rs->body.len > 1) {
        rs->body.len /= 2;
        rs->body.data[rs->body.len] = '\0';
    }
}

/* Remove and set members of a successful token response. */
static void reshape_token_response(idp_resp *rs, const idp_fault *f)
{
    json_t *body = rs->status == 200 ? json_loads(rs->body.data, 0, NULL) : NULL;
    if (!body)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(f->action, "omit"), i, v)
    {
        json_object_del(body, json_string_value(v));
    }
    json_object_update(body, json_object_get(f->action, "set"));
    char *text = cm_json_dumps_sorted(body, 0);
    json_decref(body);
    if (text) {
        cm_strbuf_dispose(&rs->body);
        cm_strbuf_init(&rs->body);
        cm_strbuf_puts(&rs->body, text);
        free(text);
    }
}

static int is_html(const idp_resp *rs)
{
    for (size_t i = 0; i < rs->n_headers; i++)
        if (!strcasecmp(rs->headers[i].name, "Content-Type") &&
            !strncmp(rs->headers[i].value, "text/html", 9))
            return 1;
    return 0;
}

static void frame_deny(idp_resp *rs, const idp_fault *f)
{
    int redirect_only = Idp_fault_bool(f, "only_redirect");
    if (redirect_only ? rs->status != 302 : !is_html(rs))
        return;
    if (strcmp(Idp_fault_str(f, "header"), "xfo") == 0)
        Idp_resp_header(rs, "X-Frame-Options", "DENY");
    else
        Idp_resp_header(rs, "Content-Security-Policy", "frame-ancestors 'none'");
}

static void cors_fault(idp_resp *rs, const idp_fault *f)
{
    int wrong = strcmp(Idp_fault_str(f, "mode"), "wrong") == 0;
    for (size_t i = 0; i < rs->n_headers; i++) {
        if (strncasecmp(rs->headers[i].name, "Access-Control-", 15) != 0)
            continue;
        if (wrong && !strcasecmp(rs->headers[i].name, "Access-Control-Allow-Origin")) {
            free(rs->headers[i].value);
            rs->headers[i].value = strdup("http://wrong-origin.invalid");
        } else if (!wrong) {
            free(rs->headers[i].value);
            rs->headers[i].value = NULL; /* the adapter skips headers without a value */
        }
    }
}

void Idp_fault_after(idp_server *s, idp_req *rq, idp_resp *rs, const idp_fault *f)
{
    (void)s, (void)rq;
    Idp_resp_materialize(rs); /* the rules below read or rewrite the text */
    switch (f->kind) {
    case FA_LATENCY:
        rs->disposition = IDP_HOLD;
        rs->delay_ms = llround(Idp_fault_num(f, "seconds", 0) * 1000.0);
        break;
    case FA_TRUNCATE:
        truncate_body(rs);
        break;
    case FA_CONTENT_TYPE:
        Idp_resp_header(rs, "Content-Type", Idp_fault_str(f, "value"));
        break;
    case FA_TOKEN_RESPONSE:
        reshape_token_response(rs, f);
        break;
    case FA_FRAME_DENY:
        frame_deny(rs, f);
        break;
    case FA_CORS:
        cors_fault(rs, f);
        break;
    default:
        break;
    }
}
