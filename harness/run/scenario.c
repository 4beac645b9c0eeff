/* Scenario files: loading with positions, and validation (unknown keys, wrong types,
 * impossible steps) with "file:line: /json/pointer: reason" errors. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_format.h"
#include "cm_json.h"
#include "cm_schema.h"
#include "cm_strbuf.h"
#include "mock_idp.h"
#include "target.h"

/* A use step's callers: enough for any race, small enough to run in milliseconds. */
#define HR_MAX_USE_COUNT 10000

static const char *const METHODS[] = {"refresh", "silent", NULL};
static const char *const MISBEHAVE[] = {"no_single_flight",
                                        "retry_invalid_grant",
                                        "no_revoke",
                                        "keep_old_refresh",
                                        "renew_after_expiry",
                                        "no_backoff",
                                        "skip_id_token_checks",
                                        NULL};
static const char *const STEPS[] = {
    "login",       "advance",      "use",          "api_call", "logout", "fault", "clear_faults",
    "rotate_keys", "revoke_grant", "end_sessions", "preset",   "client", "note",  NULL};
static const char *const SESSION_STATES[] = {"alive", "lost", "logged_out", "none", NULL};
static const char *const COOKIE_MODES[] = {"allowed", "blocked", NULL};
static const char *const SWALLOW_MODES[] = {"capture", "bubble", "return_false", NULL};

/* A table, two members a row. */
/* clang-format off */
static const cm_param TOP[] = {
    {"id", CM_T_STR, 1, NULL},        {"catalogue", CM_T_STR, 1, NULL},
    {"title", CM_T_STR, 1, NULL},     {"teaches", CM_T_STR, 1, NULL},
    {"refs", CM_T_STRARRAY, 1, NULL}, {"targets", CM_T_STRARRAY, 1, NULL},
    {"idp", CM_T_OBJ, 0, NULL},       {"client", CM_T_OBJ, 0, NULL},
    {"faults", CM_T_ARRAY, 0, NULL},  {"steps", CM_T_ARRAY, 1, NULL},
    {"expect", CM_T_OBJ, 1, NULL},    {"start", CM_T_NUM, 0, NULL},
    {"app", CM_T_OBJ, 0, NULL},       {"format_version", CM_T_STR, 0, NULL},
    {NULL, 0, 0, NULL}};
/* clang-format on */

/* What the application page around a browser client does (docs/browser.md). */
static const cm_param APP[] = {{"swallow_messages", CM_T_STR, 0, SWALLOW_MODES},
                               {NULL, 0, 0, NULL}};

static const cm_param IDP[] = {{"presets", CM_T_STRARRAY, 0, NULL},
                               {"client", CM_T_OBJ, 0, NULL},
                               {"discovery_omit", CM_T_STRARRAY, 0, NULL},
                               {NULL, 0, 0, NULL}};

static const cm_param CLIENT[] = {{"renew_before", CM_T_NUM, 0, NULL},
                                  {"jitter", CM_T_NUM, 0, NULL},
                                  {"min_interval", CM_T_NUM, 0, NULL},
                                  {"request_timeout", CM_T_NUM, 0, NULL},
                                  {"max_retries", CM_T_INT, 0, NULL},
                                  {"backoff_initial", CM_T_NUM, 0, NULL},
                                  {"backoff_max", CM_T_NUM, 0, NULL},
                                  {"clock_skew", CM_T_NUM, 0, NULL},
                                  {"clock_offset", CM_T_NUM, 0, NULL},
                                  {"methods", CM_T_STRARRAY, 0, METHODS},
                                  {"misbehave", CM_T_STRARRAY, 0, MISBEHAVE},
                                  {"scope", CM_T_STR, 0, NULL},
                                  {"client_id", CM_T_STR, 0, NULL},
                                  {"tabs", CM_T_INT, 0, NULL},
                                  {"silent_cookies", CM_T_STR, 0, COOKIE_MODES},
                                  {"revoke_on_logout", CM_T_BOOL, 0, NULL},
                                  {"id_token_hint", CM_T_BOOL, 0, NULL},
                                  {"issuer_suffix", CM_T_STR, 0, NULL},
                                  {"monitor_session", CM_T_BOOL, 0, NULL},
                                  {"check_interval", CM_T_NUM, 0, NULL},
                                  {NULL, 0, 0, NULL}};

static const cm_param STEP[] = {
    {"do", CM_T_STR, 1, STEPS},      {"sub", CM_T_STR, 0, NULL},     {"seconds", CM_T_NUM, 0, NULL},
    {"tab", CM_T_INT, 0, NULL},      {"count", CM_T_INT, 0, NULL},   {"path", CM_T_STR, 0, NULL},
    {"rule", CM_T_OBJ, 0, NULL},     {"overlap", CM_T_NUM, 0, NULL}, {"name", CM_T_STR, 0, NULL},
    {"settings", CM_T_OBJ, 0, NULL}, {"text", CM_T_STR, 0, NULL},    {NULL, 0, 0, NULL}};

static const cm_param EXPECT[] = {{"events", CM_T_OBJ, 0, NULL},
                                  {"checks", CM_T_ARRAY, 0, NULL},
                                  {"final", CM_T_OBJ, 0, NULL},
                                  {"requests", CM_T_OBJ, 0, NULL},
                                  {"severity", CM_T_STR, 0, HR_SEVERITIES},
                                  {NULL, 0, 0, NULL}};

static const cm_param FINAL[] = {{"session", CM_T_STR, 0, SESSION_STATES},
                                 {"severity", CM_T_STR, 0, HR_SEVERITIES},
                                 {NULL, 0, 0, NULL}};
static const cm_param RANGE[] = {{"min", CM_T_INT, 0, NULL},
                                 {"max", CM_T_INT, 0, NULL},
                                 {"severity", CM_T_STR, 0, HR_SEVERITIES},
                                 {NULL, 0, 0, NULL}};

static const char *const EVENT_NAMES[] = {"logged_in",
                                          "renewed",
                                          "renew_failed",
                                          "session_lost",
                                          "interaction_required",
                                          "logged_out",
                                          "page_hijacked",
                                          NULL};
static const char *const REQUEST_KINDS[] = {"refresh",  "code", "revoke", "authorize",
                                            "resource", "jwks", NULL};

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* Rules, presets and client settings are checked by the IdP's own code on a demo config:
 * a scenario can never say what the IdP would not accept. */
static int check_idp(json_t *scn, char *err, size_t n)
{
    json_t *idp = json_object_get(scn, "idp");
    if (idp && cm_schema_check(idp, IDP, "/idp", NULL, err, n) != 0)
        return -1;
    json_t *all = idp_presets(), *known = json_object_get(all, "presets");
    size_t i, k;
    json_t *v, *p;
    json_array_foreach(json_object_get(idp, "presets"), i, v)
    {
        int found = 0;
        json_array_foreach(known, k, p) found |= json_equal(json_object_get(p, "name"), v);
        if (!found) {
            json_decref(all);
            return cm_errf(err, n, "/idp/presets/%zu: unknown preset \"%s\"", i,
                           json_string_value(v));
        }
    }
    json_decref(all);
    json_t *settings = json_object_get(idp, "client");
    if (settings) {
        idp_config *cfg;
        char why[300];
        idp_config_demo(&cfg);
        int rc = idp_config_patch_client(cfg, "demo-spa", settings, why, sizeof why);
        idp_config_free(cfg);
        if (rc != 0)
            return cm_errf(err, n, "/idp/client%s", why);
    }
    return 0;
}

static int check_rule(json_t *rule, const char *ptr, char *err, size_t n)
{
    char why[300];
    if (idp_fault_rule_check(rule, why, sizeof why) != 0)
        return cm_errf(err, n, "%s%s", ptr, why[0] == '/' && why[1] == ':' ? why + 1 : why);
    return 0;
}

static int check_step(json_t *step, size_t i, int tabs, char *err, size_t n)
{
    char ptr[64];
    snprintf(ptr, sizeof ptr, "/steps/%zu", i);
    if (cm_schema_check(step, STEP, ptr, NULL, err, n) != 0)
        return -1;
    const char *what = json_string_value(json_object_get(step, "do"));
    json_t *secs = json_object_get(step, "seconds"), *tab = json_object_get(step, "tab");
    if (!strcmp(what, "advance") &&
        (!secs || json_number_value(secs) < 0 || json_number_value(secs) > 31 * 86400.0))
        return cm_errf(err, n, "%s/seconds: advance needs seconds between 0 and 31 days", ptr);
    if (tab && (json_integer_value(tab) < 0 || json_integer_value(tab) >= tabs))
        return cm_errf(err, n, "%s/tab: there are %d tabs (0 to %d)", ptr, tabs, tabs - 1);
    json_t *count = json_object_get(step, "count");
    if (count && (json_integer_value(count) < 1 || json_integer_value(count) > HR_MAX_USE_COUNT))
        return cm_errf(err, n, "%s/count: must be 1 to %d callers", ptr, HR_MAX_USE_COUNT);
    if (!strcmp(what, "fault")) {
        char rp[80];
        snprintf(rp, sizeof rp, "%s/rule", ptr);
        if (!json_object_get(step, "rule"))
            return cm_errf(err, n, "%s/rule: required for a fault step", ptr);
        return check_rule(json_object_get(step, "rule"), rp, err, n);
    }
    if (!strcmp(what, "preset") && !json_object_get(step, "name"))
        return cm_errf(err, n, "%s/name: required for a preset step", ptr);
    if (!strcmp(what, "client") && !json_object_get(step, "settings"))
        return cm_errf(err, n, "%s/settings: required for a client step", ptr);
    return 0;
}

static int check_ranges(json_t *obj, const char *const *names, const char *ptr, char *err, size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char sub[120];
        snprintf(sub, sizeof sub, "%s/%s", ptr, key);
        if (!in_list(names, key))
            return cm_errf(err, n, "%s: unknown name", sub);
        if (!json_is_integer(v) && !json_is_object(v))
            return cm_errf(err, n, "%s: expected a count or {\"min\", \"max\", \"severity\"}", sub);
        if (json_is_object(v) && cm_schema_check(v, RANGE, sub, NULL, err, n) != 0)
            return -1;
    }
    return 0;
}

static int check_expect(json_t *e, char *err, size_t n)
{
    if (cm_schema_check(e, EXPECT, "/expect", NULL, err, n) != 0)
        return -1;
    json_t *final = json_object_get(e, "final");
    if (final && cm_schema_check(final, FINAL, "/expect/final", NULL, err, n) != 0)
        return -1;
    if (check_ranges(json_object_get(e, "events"), EVENT_NAMES, "/expect/events", err, n) != 0 ||
        check_ranges(json_object_get(e, "requests"), REQUEST_KINDS, "/expect/requests", err, n))
        return -1;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(e, "checks"), i, c)
    {
        const char *name = json_is_string(c) ? json_string_value(c) : NULL;
        if (!name || !in_list(HR_CHECKS, name))
            return cm_errf(err, n,
                           "/expect/checks/%zu: unknown check (renewlab explain lists them)", i);
    }
    return 0;
}

/* Each name is a target's catalogue name (core, or a page client's folder); a scenario
 * naming a browser client must stay short: those cost ~0.08 s of real time per virtual
 * second. */
static int check_targets(json_t *scn, char *err, size_t n)
{
    int browsers = 0, browser;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(scn, "targets"), i, v)
    {
        if (!hr_catalogue_known(json_string_value(v), &browser)) {
            char names[300];
            hr_catalogue_names(names, sizeof names);
            return cm_errf(err, n, "/targets: \"%.60s\" is not one of the allowed values (%s)",
                           json_string_value(v), names);
        }
        browsers += browser;
    }
    if (json_object_get(scn, "app") &&
        browsers < (int)json_array_size(json_object_get(scn, "targets")))
        return cm_errf(err, n,
                       "/app: only browser targets have an application page (\"targets\": "
                       "[\"browser\"])");
    if (!browsers)
        return 0;
    double total = 0;
    json_array_foreach(json_object_get(scn, "steps"), i, v) total +=
        json_number_value(json_object_get(v, "seconds"));
    if (total > HR_BROWSER_MAX_SECONDS)
        return cm_errf(err, n,
                       "/steps: %.0f s of advance; a scenario with a browser target advances at "
                       "most %d s",
                       total, HR_BROWSER_MAX_SECONDS);
    return 0;
}

/* Everything but the format version. */
static int validate_known(json_t *scn, char *err, size_t n)
{
    if (cm_schema_check(scn, TOP, "", NULL, err, n) != 0)
        return -1;
    json_t *client = json_object_get(scn, "client");
    if (client && cm_schema_check(client, CLIENT, "/client", NULL, err, n) != 0)
        return -1;
    json_t *app = json_object_get(scn, "app");
    if (app && cm_schema_check(app, APP, "/app", NULL, err, n) != 0)
        return -1;
    json_t *tabs_v = json_object_get(client, "tabs");
    int tabs = tabs_v ? (int)json_integer_value(tabs_v) : 1;
    if (tabs < 1 || tabs > 4)
        return cm_errf(err, n, "/client/tabs: between 1 and 4");
    if (check_idp(scn, err, n) != 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(scn, "faults"), i, v)
    {
        char ptr[40];
        snprintf(ptr, sizeof ptr, "/faults/%zu", i);
        if (check_rule(v, ptr, err, n) != 0)
            return -1;
    }
    json_t *steps = json_object_get(scn, "steps");
    if (json_array_size(steps) == 0)
        return cm_errf(err, n, "/steps: at least one step");
    json_array_foreach(steps, i, v) if (check_step(v, i, tabs, err, n) != 0) return -1;
    if (check_targets(scn, err, n) != 0)
        return -1;
    return check_expect(json_object_get(scn, "expect"), err, n);
}

int scn_validate(json_t *scn, char *err, size_t n)
{
    if (!json_is_object(scn))
        return cm_errf(err, n, "/: a scenario must be a JSON object");
    json_t *version = json_object_get(scn, "format_version");
    int newer = cm_format_check(version, "scenario", err, n);
    if (newer < 0 || validate_known(scn, err, n) == 0)
        return newer < 0 ? -1 : 0;
    if (newer) { /* what this renewlab does not know may come from the newer minor */
        size_t len = strlen(err);
        snprintf(err + len, n - len, " (the scenario is format %s, newer than this renewlab's %s)",
                 json_string_value(version), CM_FORMAT_VERSION);
    }
    return -1;
}

static int validate_scenario(json_t *scn, void *arg, char *err, size_t n)
{
    (void)arg;
    return scn_validate(scn, err, n);
}

json_t *scn_load(const char *path, char *err, size_t errlen)
{
    return cm_json_load_checked(path, validate_scenario, NULL, err, errlen);
}
