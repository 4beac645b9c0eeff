/* Checking adapter lines against the protocol's message table (exec_proto.h). */
#include "exec_proto.h"

#include <stdio.h>
#include <string.h>

#include "cm_schema.h"

static const char *const EVENTS[] = {
    "logged_in",  "renewed", "renew_failed", "session_lost", "interaction_required",
    "logged_out", NULL};
static const char *const METHODS[] = {"GET", "POST", NULL};
static const char *const CAPS[] = {"refresh",    "silent", "virtual_clock",
                                   "real_clock", "revoke", NULL};

static const cm_param HELLO[] = {{"type", CM_T_STR, 1, NULL},
                                 {"protocol", CM_T_INT, 1, NULL},
                                 {"name", CM_T_STR, 1, NULL},
                                 {"version", CM_T_STR, 0, NULL},
                                 {"capabilities", CM_T_STRARRAY, 1, CAPS},
                                 {NULL, 0, 0, NULL}};
static const cm_param HTTP[] = {
    {"type", CM_T_STR, 1, NULL}, {"id", CM_T_INT, 1, NULL},      {"method", CM_T_STR, 1, METHODS},
    {"url", CM_T_STR, 1, NULL},  {"headers", CM_T_OBJ, 0, NULL}, {"body", CM_T_STR, 0, NULL},
    {NULL, 0, 0, NULL}};
static const cm_param CANCEL[] = {
    {"type", CM_T_STR, 1, NULL}, {"id", CM_T_INT, 1, NULL}, {NULL, 0, 0, NULL}};
static const cm_param EVENT[] = {{"type", CM_T_STR, 1, NULL},
                                 {"event", CM_T_STR, 1, EVENTS},
                                 {"method", CM_T_STR, 0, NULL},
                                 {"reason", CM_T_STR, 0, NULL},
                                 {"transient", CM_T_BOOL, 0, NULL},
                                 {"detail", CM_T_STR, 0, NULL},
                                 {NULL, 0, 0, NULL}};
static const cm_param DONE[] = {{"type", CM_T_STR, 1, NULL},
                                {"seq", CM_T_INT, 1, NULL},
                                {"status", CM_T_STR, 1, NULL},
                                {"http_status", CM_T_INT, 0, NULL},
                                {NULL, 0, 0, NULL}};
static const cm_param IDLE[] = {
    {"type", CM_T_STR, 1, NULL}, {"wake_at", CM_T_ANY, 1, NULL}, {NULL, 0, 0, NULL}};
static const cm_param LOG[] = {
    {"type", CM_T_STR, 1, NULL}, {"text", CM_T_STR, 1, NULL}, {NULL, 0, 0, NULL}};

static const struct {
    const char *type;
    const cm_param *params;
} MESSAGES[] = {{"hello", HELLO}, {"http", HTTP}, {"http_cancel", CANCEL},
                {"event", EVENT}, {"done", DONE}, {"idle", IDLE},
                {"log", LOG}};

/* An http line's headers: any, each a string, named in lower case with RFC 9110 token
 * characters (reserved ones are accepted and left out by the harness). */
static int check_headers(json_t *h, char *err, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        int ok = *k != '\0';
        for (const char *c = k; *c; c++)
            ok &= (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                  (*c != '\0' && strchr("!#$%&'*+-.^_`|~", *c));
        if (!ok)
            return cm_errf(err, n, "/headers/%.60s: a header name in lower case", k);
        if (!json_is_string(v))
            return cm_errf(err, n, "/headers/%.60s: a string", k);
    }
    return 0;
}

static int check_fields(json_t *msg, char *err, size_t n)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type)
        return cm_errf(err, n, "/type: required, a string");
    for (size_t i = 0; i < sizeof MESSAGES / sizeof MESSAGES[0]; i++) {
        if (strcmp(type, MESSAGES[i].type) != 0)
            continue;
        if (cm_schema_check(msg, MESSAGES[i].params, "", NULL, err, n) != 0)
            return -1;
        if (check_headers(json_object_get(msg, "headers"), err, n) != 0)
            return -1;
        json_t *wake = json_object_get(msg, "wake_at");
        if (!strcmp(type, "idle") && !json_is_null(wake) &&
            !(json_is_number(wake) && json_number_value(wake) >= 0))
            return cm_errf(err, n, "/wake_at: null or a time in epoch seconds");
        if (json_object_get(msg, "id") && json_integer_value(json_object_get(msg, "id")) < 1)
            return cm_errf(err, n, "/id: a positive integer");
        return 0;
    }
    return cm_errf(err, n, "/type: unknown message type \"%.40s\"", type);
}

json_t *hr_proto_parse(const char *line, size_t len, char *err, size_t errlen)
{
    if (len > HR_PROTO_MAX_LINE) {
        cm_errf(err, errlen, "line longer than %d bytes", HR_PROTO_MAX_LINE);
        return NULL;
    }
    json_error_t je;
    json_t *msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!msg) {
        cm_errf(err, errlen, "not JSON: %s (column %d)", je.text, je.column);
        return NULL;
    }
    if (!json_is_object(msg)) {
        cm_errf(err, errlen, "/: a message is a JSON object");
    } else if (check_fields(msg, err, errlen) == 0) {
        return msg;
    }
    json_decref(msg);
    return NULL;
}

int hr_proto_has(json_t *hello, const char *cap)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(hello, "capabilities"), i,
                       c) if (!strcmp(json_string_value(c), cap)) return 1;
    return 0;
}
