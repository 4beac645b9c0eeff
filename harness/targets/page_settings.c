/* The settings a page client receives (page_settings.h). */
#include <string.h>

#include "page_settings.h"

typedef enum { SET_NUM, SET_INT, SET_TRUE, SET_FALSE } set_kind; /* SET_*: the default */

/* A scenario's client settings, with the defaults renew_core has too (docs/config.md). */
static const struct {
    const char *name;
    set_kind kind;
    double dflt;
} SETTINGS[] = {
    {"renew_before", SET_NUM, 60},     {"request_timeout", SET_NUM, 10},
    {"max_retries", SET_INT, 4},       {"backoff_initial", SET_NUM, 1},
    {"backoff_max", SET_NUM, 60},      {"min_interval", SET_NUM, 5},
    {"clock_skew", SET_NUM, 60},       {"revoke_on_logout", SET_TRUE, 0},
    {"monitor_session", SET_FALSE, 0}, {"check_interval", SET_NUM, 1},
    {"id_token_hint", SET_TRUE, 0},
};

/* What the harness itself sets: the run's, not the scenario's client settings. */
static const char *const RUN_SETTINGS[] = {"target",  "issuer", "origin", "client_id", "scope",
                                           "methods", "tabs",   "app",    NULL};

int hr_page_setting_known(const char *name)
{
    for (size_t i = 0; i < sizeof SETTINGS / sizeof SETTINGS[0]; i++)
        if (!strcmp(SETTINGS[i].name, name))
            return 1;
    for (size_t i = 0; RUN_SETTINGS[i]; i++)
        if (!strcmp(RUN_SETTINGS[i], name))
            return 1;
    return 0;
}

static json_t *setting(json_t *cl, size_t i)
{
    json_t *v = json_object_get(cl, SETTINGS[i].name);
    switch (SETTINGS[i].kind) {
    case SET_TRUE:
        return json_boolean(!json_is_false(v));
    case SET_FALSE:
        return json_boolean(json_is_true(v));
    case SET_INT:
        return json_integer(v ? (json_int_t)json_number_value(v) : (json_int_t)SETTINGS[i].dflt);
    default:
        return json_real(v ? json_number_value(v) : SETTINGS[i].dflt);
    }
}

json_t *hr_page_settings(json_t *client)
{
    json_t *out = json_object();
    const char *scope = json_string_value(json_object_get(client, "scope"));
    json_t *methods = json_object_get(client, "methods"), *tabs = json_object_get(client, "tabs");
    json_object_set_new(out, "scope",
                        json_string(scope ? scope : "openid profile offline_access api"));
    json_object_set_new(out, "methods",
                        methods ? json_incref(methods) : json_pack("[s]", "refresh"));
    json_object_set_new(out, "tabs", json_integer(tabs ? json_integer_value(tabs) : 1));
    for (size_t i = 0; i < sizeof SETTINGS / sizeof SETTINGS[0]; i++)
        json_object_set_new(out, SETTINGS[i].name, setting(client, i));
    return out;
}
