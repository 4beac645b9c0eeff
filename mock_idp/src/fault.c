/* Fault rules: parsing with precise errors, and matching. Applying them is in
 * fault_apply.c; the rule schema is documented in docs/control-api.md. */
#include "fault.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_STR, T_INT, T_NUM, T_BOOL, T_STRARRAY, T_OBJ } ptype;

typedef struct param {
    const char *name;
    ptype type;
    int required;
    const char *const *choices; /* T_STR: allowed values, NULL = any */
} param;

static const char *const ID_TOKEN_FAULTS[] = {
    "unknown_kid", "alg_none",    "hs256_public_key", "bad_signature",     "wrong_aud",
    "wrong_iss",   "other_sub",   "add_azp",          "auth_time_changed", "expired",
    "iat_future",  "nonce_wrong", "nonce_original",   "bad_at_hash",       NULL};
static const char *const AUTHZ_ERRORS[] = {"interaction_required", "consent_required",
                                           "account_selection_required", "login_required", NULL};
static const char *const FRAME_HEADERS[] = {"xfo", "csp", NULL};
static const char *const CORS_MODES[] = {"missing", "wrong", NULL};

typedef struct action_def {
    const char *type;
    idp_fault_kind kind;
    param params[5];
} action_def;

static const action_def ACTIONS[] = {
    {"status",
     FA_STATUS,
     {{"status", T_INT, 1, NULL},
      {"error", T_STR, 0, NULL},
      {"error_description", T_STR, 0, NULL},
      {"retry_after", T_NUM, 0, NULL}}},
    {"latency", FA_LATENCY, {{"seconds", T_NUM, 1, NULL}}},
    {"hang", FA_HANG, {{"after_effect", T_BOOL, 0, NULL}}},
    {"reset", FA_RESET, {{"after_effect", T_BOOL, 0, NULL}}},
    {"close", FA_CLOSE, {{"after_effect", T_BOOL, 0, NULL}}},
    {"truncate", FA_TRUNCATE, {{NULL, 0, 0, NULL}}},
    {"html_502", FA_HTML_502, {{NULL, 0, 0, NULL}}},
    {"content_type", FA_CONTENT_TYPE, {{"value", T_STR, 1, NULL}}},
    {"token_response",
     FA_TOKEN_RESPONSE,
     {{"omit", T_STRARRAY, 0, NULL},
      {"set", T_OBJ, 0, NULL},
      {"same_refresh_token", T_BOOL, 0, NULL}}},
    {"id_token", FA_ID_TOKEN, {{"fault", T_STR, 1, ID_TOKEN_FAULTS}}},
    {"prompt_none_ignored", FA_PROMPT_NONE_IGNORED, {{NULL, 0, 0, NULL}}},
    {"authorize_error", FA_AUTHORIZE_ERROR, {{"error", T_STR, 1, AUTHZ_ERRORS}}},
    {"frame_deny",
     FA_FRAME_DENY,
     {{"header", T_STR, 1, FRAME_HEADERS}, {"only_redirect", T_BOOL, 0, NULL}}},
    {"error_page_top", FA_ERROR_PAGE_TOP, {{NULL, 0, 0, NULL}}},
    {"session_lost", FA_SESSION_LOST, {{NULL, 0, 0, NULL}}},
    {"session_switch", FA_SESSION_SWITCH, {{"sub", T_STR, 1, NULL}}},
    {"revoke_grant", FA_REVOKE_GRANT, {{NULL, 0, 0, NULL}}},
    {"clock_skew", FA_CLOCK_SKEW, {{"seconds", T_NUM, 1, NULL}}},
    {"cors", FA_CORS, {{"mode", T_STR, 1, CORS_MODES}}},
};

static const param MATCH_PARAMS[] = {{"endpoint", T_STR, 0, NULL},    {"method", T_STR, 0, NULL},
                                     {"grant_type", T_STR, 0, NULL},  {"client_id", T_STR, 0, NULL},
                                     {"user", T_STR, 0, NULL},        {"nth", T_INT, 0, NULL},
                                     {"probability", T_NUM, 0, NULL}, {"after", T_NUM, 0, NULL},
                                     {"before", T_NUM, 0, NULL},      {NULL, 0, 0, NULL}};

static const param RULE_PARAMS[] = {{"id", T_STR, 0, NULL},     {"match", T_OBJ, 0, NULL},
                                    {"action", T_OBJ, 1, NULL}, {"times", T_INT, 0, NULL},
                                    {"until", T_NUM, 0, NULL},  {"description", T_STR, 0, NULL},
                                    {NULL, 0, 0, NULL}};

static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int type_ok(json_t *v, const param *p)
{
    switch (p->type) {
    case T_STR:
        return json_is_string(v);
    case T_INT:
        return json_is_integer(v);
    case T_NUM:
        return json_is_number(v);
    case T_BOOL:
        return json_is_boolean(v);
    case T_OBJ:
        return json_is_object(v);
    case T_STRARRAY: {
        size_t i;
        json_t *item;
        if (!json_is_array(v))
            return 0;
        json_array_foreach(v, i, item) if (!json_is_string(item)) return 0;
        return 1;
    }
    }
    return 0;
}

static const char *type_name(ptype t)
{
    static const char *const names[] = {"a string",      "an integer",          "a number",
                                        "true or false", "an array of strings", "an object"};
    return names[t];
}

static int choice_ok(const param *p, json_t *v)
{
    if (!p->choices)
        return 1;
    for (const char *const *c = p->choices; *c; c++)
        if (strcmp(*c, json_string_value(v)) == 0)
            return 1;
    return 0;
}

/* Every key known, of the right type and value; required keys present. */
static int check_object(json_t *obj, const param *params, const char *ptr, char *err, size_t n,
                        const char *skip)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const param *p = params;
        while (p->name && strcmp(p->name, key) != 0)
            p++;
        if (skip && strcmp(key, skip) == 0)
            continue;
        if (!p->name)
            return fail(err, n, "%s/%s: unknown key", ptr, key);
        if (!type_ok(v, p))
            return fail(err, n, "%s/%s: expected %s", ptr, key, type_name(p->type));
        if (p->type == T_STR && !choice_ok(p, v))
            return fail(err, n, "%s/%s: \"%s\" is not one of the allowed values", ptr, key,
                        json_string_value(v));
    }
    for (const param *p = params; p->name; p++)
        if (p->required && !json_object_get(obj, p->name))
            return fail(err, n, "%s/%s: required", ptr, p->name);
    return 0;
}

static const action_def *find_action(const char *type)
{
    for (size_t i = 0; type && i < sizeof ACTIONS / sizeof ACTIONS[0]; i++)
        if (strcmp(ACTIONS[i].type, type) == 0)
            return &ACTIONS[i];
    return NULL;
}

static int check_ranges(json_t *spec, char *err, size_t n)
{
    json_t *m = json_object_get(spec, "match"), *a = json_object_get(spec, "action");
    json_t *v;
    if ((v = json_object_get(m, "nth")) && json_integer_value(v) < 1)
        return fail(err, n, "/match/nth: must be 1 or more");
    if ((v = json_object_get(m, "probability")) &&
        (json_number_value(v) < 0 || json_number_value(v) > 1))
        return fail(err, n, "/match/probability: must be between 0 and 1");
    if ((v = json_object_get(spec, "times")) && json_integer_value(v) < 1)
        return fail(err, n, "/times: must be 1 or more");
    if ((v = json_object_get(a, "status")) &&
        (json_integer_value(v) < 100 || json_integer_value(v) > 599))
        return fail(err, n, "/action/status: must be an HTTP status (100-599)");
    if ((v = json_object_get(a, "seconds")) && json_number_value(v) < 0 &&
        strcmp(json_string_value(json_object_get(a, "type")), "clock_skew") != 0)
        return fail(err, n, "/action/seconds: must be 0 or more");
    return 0;
}

idp_fault *idp_fault_parse(json_t *spec, const char *id_hint, char *err, size_t errlen)
{
    if (!json_is_object(spec) || check_object(spec, RULE_PARAMS, "", err, errlen, NULL) != 0) {
        if (!json_is_object(spec))
            fail(err, errlen, "/: a fault rule must be a JSON object");
        return NULL;
    }
    json_t *match = json_object_get(spec, "match"), *action = json_object_get(spec, "action");
    const char *type = json_string_value(json_object_get(action, "type"));
    const action_def *def = find_action(type);
    if (!def) {
        fail(err, errlen, "/action/type: %s", type ? "unknown action type" : "required");
        return NULL;
    }
    if ((match && check_object(match, MATCH_PARAMS, "/match", err, errlen, NULL) != 0) ||
        check_object(action, def->params, "/action", err, errlen, "type") != 0 ||
        check_ranges(spec, err, errlen) != 0)
        return NULL;
    idp_fault *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->spec = json_deep_copy(spec);
    const char *id = json_string_value(json_object_get(spec, "id"));
    snprintf(f->id, sizeof f->id, "%s", id ? id : id_hint);
    json_object_set_new(f->spec, "id", json_string(f->id));
    f->match = json_object_get(f->spec, "match");
    f->action = json_object_get(f->spec, "action");
    f->kind = def->kind;
    f->times = (long)json_integer_value(json_object_get(spec, "times"));
    json_t *until = json_object_get(spec, "until");
    f->until_ms = until ? llround(json_number_value(until) * 1000.0) : 0;
    return f;
}

void idp_fault_free(idp_fault *f)
{
    if (!f)
        return;
    json_decref(f->spec);
    free(f);
}

int idp_fault_retired(const idp_fault *f, int64_t now_ms)
{
    return (f->times && f->hits >= f->times) || (f->until_ms && now_ms >= f->until_ms);
}

static int str_matches(json_t *match, const char *key, const char *value)
{
    const char *want = json_string_value(json_object_get(match, key));
    return !want || (value && strcmp(want, value) == 0);
}

int idp_fault_fires(idp_fault *f, const idp_fault_subject *s, double unit)
{
    json_t *m = f->match;
    if (idp_fault_retired(f, s->now_ms))
        return 0;
    if (!str_matches(m, "endpoint", s->endpoint) || !str_matches(m, "method", s->method) ||
        !str_matches(m, "grant_type", s->grant_type) ||
        !str_matches(m, "client_id", s->client_id) || !str_matches(m, "user", s->user))
        return 0;
    json_t *after = json_object_get(m, "after"), *before = json_object_get(m, "before");
    if (after && s->now_ms < llround(json_number_value(after) * 1000.0))
        return 0;
    if (before && s->now_ms >= llround(json_number_value(before) * 1000.0))
        return 0;
    f->matched++;
    json_t *nth = json_object_get(m, "nth");
    if (nth && f->matched != json_integer_value(nth))
        return 0;
    json_t *p = json_object_get(m, "probability");
    return !p || unit < json_number_value(p);
}

json_t *idp_fault_describe(const idp_fault *f, int64_t now_ms)
{
    json_t *d = json_deep_copy(f->spec);
    json_object_set_new(d, "matched", json_integer(f->matched));
    json_object_set_new(d, "hits", json_integer(f->hits));
    json_object_set_new(d, "active", json_boolean(!idp_fault_retired(f, now_ms)));
    return d;
}

const char *idp_fault_str(const idp_fault *f, const char *key)
{
    return json_string_value(json_object_get(f->action, key));
}

double idp_fault_num(const idp_fault *f, const char *key, double dflt)
{
    json_t *v = json_object_get(f->action, key);
    return v ? json_number_value(v) : dflt;
}

int idp_fault_bool(const idp_fault *f, const char *key)
{
    return json_is_true(json_object_get(f->action, key));
}
