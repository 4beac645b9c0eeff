/* Presets: named bundles of client settings and fault rules that reproduce real IdP
 * behaviours (each names its source; README "Presets"). Each applies to every client. */
#include "config.h"
#include "handlers.h"
#include "server_state.h"

#include <string.h>

typedef struct preset {
    const char *name, *summary, *source;
    const char *client_patch; /* JSON object applied to every client, or NULL */
    const char *rule;         /* JSON fault rule, or NULL */
} preset;

static const preset PRESETS[] = {
    {"dex-no-prompt-none",
     "the authorize endpoint renders its login page for prompt=none instead of redirecting "
     "with an error",
     "dexidp/dex#990 (prompt=none unsupported), dex PR #4325", NULL,
     "{\"id\": \"preset:dex-no-prompt-none\", \"match\": {\"endpoint\": \"authorize\"},"
     " \"action\": {\"type\": \"prompt_none_ignored\"}}"},
    {"non-rotating", "refresh responses carry no new refresh token; the old one stays valid",
     "RFC 6749 §6 (a new refresh token is optional); ADFS, angular-auth-oidc-client#1338",
     "{\"refresh\": {\"rotation\": false}}", NULL},
    {"strict-rotation",
     "rotation on every refresh; a rotated token used again revokes the family; no grace",
     "RFC 9700 §4.14.2",
     "{\"refresh\": {\"rotation\": true, \"reuse_detection\": true,"
     " \"reuse_grace\": 0}}",
     NULL},
    {"rotation-with-grace",
     "rotation with reuse detection, but a rotated token stays usable "
     "for 10 s (a non-standard grace window some IdPs offer)",
     "RFC 9700 §4.14.2 (retries after a lost response); Auth0 reuse interval, Okta grace period",
     "{\"refresh\": {\"rotation\": true, \"reuse_detection\": true, \"reuse_grace\": 10}}", NULL},
    {"short-idle-lifetime", "refresh tokens expire after 120 s without use",
     "bjerkio/oidc-react#966, oidc-client-ts#2012 (laptop slept)",
     "{\"refresh\": {\"idle_lifetime\": 120}}", NULL},
    {"offline-access-required", "refresh tokens only when the offline_access scope is granted",
     "OIDC Core §11; oidc-client-ts#1429", "{\"refresh\": {\"require_offline_access\": true}}",
     NULL},
    {"no-refresh-tokens", "the IdP never issues refresh tokens: iframe renewal only",
     "IdPs that renew in an iframe only (no refresh tokens for SPAs)",
     "{\"refresh\": {\"issue\": false}}", NULL},
};

static const preset *find(const char *name)
{
    for (size_t i = 0; name && i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (strcmp(PRESETS[i].name, name) == 0)
            return &PRESETS[i];
    return NULL;
}

json_t *Idp_presets_list(void)
{
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const preset *p = &PRESETS[i];
        json_t *item = json_pack("{s:s, s:s, s:s}", "name", p->name, "summary", p->summary,
                                 "source", p->source);
        if (p->client_patch)
            json_object_set_new(item, "client_settings", json_loads(p->client_patch, 0, NULL));
        if (p->rule)
            json_object_set_new(item, "fault", json_loads(p->rule, 0, NULL));
        json_array_append_new(list, item);
    }
    return json_pack("{s:o}", "presets", list);
}

int Idp_preset_apply(idp_server *s, const char *name, char *err, size_t errlen)
{
    const preset *p = find(name);
    if (!p) {
        snprintf(err, errlen, "unknown preset \"%s\" (GET /_mock/presets lists them)",
                 name ? name : "");
        return IDP_ECONFIG;
    }
    json_t *patch = p->client_patch ? json_loads(p->client_patch, 0, NULL) : NULL;
    int rc = 0;
    for (size_t i = 0; patch && rc == 0 && i < s->cfg->n_clients; i++)
        rc = Idp_client_patch(s->cfg, s->cfg->clients[i].client_id, patch, err, errlen);
    json_decref(patch);
    if (rc == 0 && p->rule) {
        json_t *rule = json_loads(p->rule, 0, NULL);
        Idp_faults_remove(s, json_string_value(json_object_get(rule, "id"))); /* idempotent */
        rc = Idp_faults_add(s, rule, err, errlen, NULL) == 0 ? 0 : IDP_ECONFIG;
        json_decref(rule);
    }
    return rc;
}
