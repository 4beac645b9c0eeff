/* Fault rules: parsing with precise errors, and matching. Applying them is in
 * fault_apply.c; the rule schema is documented in docs/control-api.md. */
#include "fault.h"

#include "cm_schema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ID_TOKEN_FAULTS[] = {
    "unknown_kid",       "alg_none",    "hs256_public_key", "bad_signature",
    "wrong_aud",         "wrong_iss",   "other_sub",        "add_azp",
    "auth_time_changed", "expired",     "iat_future",       "nonce_wrong",
    "nonce_original",    "bad_at_hash", "kid_absent",       NULL};
static const char *const AUTHZ_ERRORS[] = {"interaction_required", "consent_required",
                                           "account_selection_required", "login_required", NULL};
static const char *const FRAME_HEADERS[] = {"xfo", "csp", NULL};
static const char *const CORS_MODES[] = {"missing", "wrong", NULL};

typedef struct action_def {
    const char *type;
    idp_fault_kind kind;
    cm_param params[5];
} action_def;

static const action_def ACTIONS[] = {
    {"status",
     FA_STATUS,
     {{"status", CM_T_INT, 1, NULL},
      {"error", CM_T_STR, 0, NULL},
      {"error_description", CM_T_STR, 0, NULL},
      {"retry_after", CM_T_NUM, 0, NULL}}},
    {"latency", FA_LATENCY, {{"seconds", CM_T_NUM, 1, NULL}}},
    {"hang", FA_HANG, {{"after_effect", CM_T_BOOL, 0, NULL}}},
    {"reset", FA_RESET, {{"after_effect", CM_T_BOOL, 0, NULL}}},
    {"close", FA_CLOSE, {{"after_effect", CM_T_BOOL, 0, NULL}}},
    {"truncate", FA_TRUNCATE, {{NULL, 0, 0, NULL}}},
    {"html_502", FA_HTML_502, {{NULL, 0, 0, NULL}}},
    {"content_type", FA_CONTENT_TYPE, {{"value", CM_T_STR, 1, NULL}}},
    {"token_response",
     FA_TOKEN_RESPONSE,
     {{"omit", CM_T_STRARRAY, 0, NULL},
      {"set", CM_T_OBJ, 0, NULL},
      {"same_refresh_token", CM_T_BOOL, 0, NULL}}},
    {"id_token", FA_ID_TOKEN, {{"fault", CM_T_STR, 1, ID_TOKEN_FAULTS}}},
    {"prompt_none_ignored", FA_PROMPT_NONE_IGNORED, {{NULL, 0, 0, NULL}}},
    {"authorize_error", FA_AUTHORIZE_ERROR, {{"error", CM_T_STR, 1, AUTHZ_ERRORS}}},
    {"frame_deny",
     FA_FRAME_DENY,
     {{"header", CM_T_STR, 1, FRAME_HEADERS}, {"only_redirect", CM_T_BOOL, 0, NULL}}},
    {"error_page_top", FA_ERROR_PAGE_TOP, {{NULL, 0, 0, NULL}}},
    {"session_lost", FA_SESSION_LOST, {{NULL, 0, 0, NULL}}},
    {"session_switch", FA_SESSION_SWITCH, {{"sub", CM_T_STR, 1, NULL}}},
    {"revoke_grant", FA_REVOKE_GRANT, {{NULL, 0, 0, NULL}}},
    {"clock_skew", FA_CLOCK_SKEW, {{"seconds", CM_T_NUM, 1, NULL}}},
    {"cors", FA_CORS, {{"mode", CM_T_STR, 1, CORS_MODES}}},
    {"wrong_state", FA_WRONG_STATE, {{NULL, 0, 0, NULL}}},
    {"redirect_page", FA_REDIRECT_PAGE, {{"deny_framing", CM_T_STR, 0, FRAME_HEADERS}}},
};

static const cm_param MATCH_PARAMS[] = {{"endpoint", CM_T_STR, 0, NULL},
                                        {"method", CM_T_STR, 0, NULL},
                                        {"grant_type", CM_T_STR, 0, NULL},
                                        {"client_id", CM_T_STR, 0, NULL},
                                        {"user", CM_T_STR, 0, NULL},
                                        {"nth", CM_T_INT, 0, NULL},
                                        {"probability", CM_T_NUM, 0, NULL},
                                        {"after", CM_T_NUM, 0, NULL},
                                        {"before", CM_T_NUM, 0, NULL},
                                        {"param", CM_T_STR, 0, NULL},
                                        {NULL, 0, 0, NULL}};

static const cm_param RULE_PARAMS[] = {{"id", CM_T_STR, 0, NULL},
                                       {"match", CM_T_OBJ, 0, NULL},
                                       {"action", CM_T_OBJ, 1, NULL},
                                       {"times", CM_T_INT, 0, NULL},
                                       {"until", CM_T_NUM, 0, NULL},
                                       {"description", CM_T_STR, 0, NULL},
                                       {NULL, 0, 0, NULL}};

static const char *const TYPE_ONLY[] = {"type", NULL};

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
        return cm_errf(err, n, "/match/nth: must be 1 or more");
    if ((v = json_object_get(m, "probability")) &&
        (json_number_value(v) < 0 || json_number_value(v) > 1))
        return cm_errf(err, n, "/match/probability: must be between 0 and 1");
    if ((v = json_object_get(spec, "times")) && json_integer_value(v) < 1)
        return cm_errf(err, n, "/times: must be 1 or more");
    if ((v = json_object_get(a, "status")) &&
        (json_integer_value(v) < 100 || json_integer_value(v) > 599))
        return cm_errf(err, n, "/action/status: must be an HTTP status (100-599)");
    int skew = strcmp(json_string_value(json_object_get(a, "type")), "clock_skew") == 0;
    if ((v = json_object_get(a, "seconds")) && json_number_value(v) < 0 && !skew)
        return cm_errf(err, n, "/action/seconds: must be 0 or more");
    if (v && fabs(json_number_value(v)) > IDP_FAULT_MAX_SECONDS)
        return cm_errf(err, n, "/action/seconds: must be within %s%.0f seconds (a year)",
                       skew ? "-/+" : "0 to ", IDP_FAULT_MAX_SECONDS);
    if ((v = json_object_get(spec, "until")) &&
        (json_number_value(v) < 0 || json_number_value(v) > IDP_MAX_EPOCH_SECONDS))
        return cm_errf(err, n, "/until: must be epoch seconds from 0 to %.0f",
                       IDP_MAX_EPOCH_SECONDS);
    if ((v = json_object_get(a, "retry_after")) &&
        (json_number_value(v) < 0 || json_number_value(v) > IDP_FAULT_MAX_SECONDS))
        return cm_errf(err, n, "/action/retry_after: must be 0 to %.0f seconds",
                       IDP_FAULT_MAX_SECONDS);
    static const char *const EPOCHS[] = {"after", "before"};
    for (int i = 0; i < 2; i++)
        if ((v = json_object_get(m, EPOCHS[i])) &&
            (json_number_value(v) < 0 || json_number_value(v) > IDP_MAX_EPOCH_SECONDS))
            return cm_errf(err, n, "/match/%s: must be epoch seconds from 0 to %.0f", EPOCHS[i],
                           IDP_MAX_EPOCH_SECONDS);
    size_t idlen = json_string_length(json_object_get(spec, "id"));
    if (json_object_get(spec, "id") && (idlen == 0 || idlen > IDP_FAULT_ID_MAX))
        return cm_errf(err, n, "/id: must be 1 to %d bytes", IDP_FAULT_ID_MAX);
    return 0;
}

idp_fault *Idp_fault_parse(json_t *spec, const char *id_hint, char *err, size_t errlen)
{
    if (!json_is_object(spec)) {
        cm_errf(err, errlen, "/: a fault rule must be a JSON object");
        return NULL;
    }
    if (cm_schema_check(spec, RULE_PARAMS, "", NULL, err, errlen) != 0)
        return NULL;
    json_t *match = json_object_get(spec, "match"), *action = json_object_get(spec, "action");
    const char *type = json_string_value(json_object_get(action, "type"));
    const action_def *def = find_action(type);
    if (!def) {
        cm_errf(err, errlen, "/action/type: %s", type ? "unknown action type" : "required");
        return NULL;
    }
    if ((match && cm_schema_check(match, MATCH_PARAMS, "/match", NULL, err, errlen) != 0) ||
        cm_schema_check(action, def->params, "/action", TYPE_ONLY, err, errlen) != 0 ||
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

void Idp_fault_free(idp_fault *f)
{
    if (!f)
        return;
    json_decref(f->spec);
    free(f);
}

int Idp_fault_retired(const idp_fault *f, int64_t now_ms)
{
    return (f->times && f->hits >= f->times) || (f->until_ms && now_ms >= f->until_ms);
}

static int str_matches(json_t *match, const char *key, const char *value)
{
    const char *want = json_string_value(json_object_get(match, key));
    return !want || (value && strcmp(want, value) == 0);
}

int Idp_fault_fires(idp_fault *f, const idp_fault_subject *s, double unit)
{
    json_t *m = f->match;
    if (Idp_fault_retired(f, s->now_ms))
        return 0;
    if (!str_matches(m, "endpoint", s->endpoint) || !str_matches(m, "method", s->method) ||
        !str_matches(m, "grant_type", s->grant_type) ||
        !str_matches(m, "client_id", s->client_id) || !str_matches(m, "user", s->user))
        return 0;
    const char *param = json_string_value(json_object_get(m, "param"));
    if (param && !(s->has_param && s->has_param(s->req, param)))
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

json_t *Idp_fault_describe(const idp_fault *f, int64_t now_ms)
{
    json_t *d = json_deep_copy(f->spec);
    json_object_set_new(d, "matched", json_integer(f->matched));
    json_object_set_new(d, "hits", json_integer(f->hits));
    json_object_set_new(d, "active", json_boolean(!Idp_fault_retired(f, now_ms)));
    return d;
}

const char *Idp_fault_str(const idp_fault *f, const char *key)
{
    return json_string_value(json_object_get(f->action, key));
}

double Idp_fault_num(const idp_fault *f, const char *key, double dflt)
{
    json_t *v = json_object_get(f->action, key);
    return v ? json_number_value(v) : dflt;
}

int Idp_fault_bool(const idp_fault *f, const char *key)
{
    return json_is_true(json_object_get(f->action, key));
}
