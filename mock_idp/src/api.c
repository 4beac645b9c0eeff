/* The in-process API (mock_idp.h): what the control API does, as functions on the opaque
 * server. The control-API handlers (h_control.c) and the harness both call these, so each
 * operation is written once. They run on the caller's thread without taking the state
 * lock: for a server serving from one loop (the harness), or under the lock (handlers). */
#include "cm_clock.h"
#include "cm_map.h"
#include "config.h"
#include "fault.h"
#include "handlers.h"
#include "keys.h"
#include "server_state.h"
#include "store.h"
#include "trace.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int idp_server_login(idp_server *s, const char *sub, char *cookie, size_t n)
{
    idp_session *sess =
        Idp_config_user(s->cfg, sub) ? Idp_session_create(s, sub, cm_clock_now(s->clock)) : NULL;
    if (!sess)
        return -1;
    snprintf(cookie, n, "%s=%s", s->cfg->cookie.name, sess->cookie);
    return 0;
}

json_t *idp_server_revoke_grants(idp_server *s, const char *family, const char *sub,
                                 const char *client_id)
{
    json_t *revoked = json_array();
    for (size_t i = 0; i < s->store.n_families; i++) {
        idp_family *f = s->store.families[i];
        if ((family && strcmp(family, f->label)) || (sub && strcmp(sub, f->sub)) ||
            (client_id && strcmp(client_id, f->client_id)) || f->revoked)
            continue;
        Idp_family_revoke(f, "grant revoked by an administrator");
        json_array_append_new(revoked, json_string(f->label));
    }
    return revoked;
}

json_t *idp_server_end_sessions(idp_server *s, const char *sub)
{
    json_t *ended = json_array();
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&s->store.sessions, &pos, &key, &v)) {
        idp_session *sess = v;
        if (sub && strcmp(sub, sess->sub) != 0)
            continue;
        json_array_append_new(ended, json_string(sess->label));
        Idp_session_end(s, sess); /* removal leaves a tombstone: iteration stays valid */
    }
    return ended;
}

int idp_server_add_fault(idp_server *s, json_t *rule, char *err, size_t n)
{
    return Idp_faults_add(s, rule, err, n, NULL);
}

void idp_server_clear_faults(idp_server *s)
{
    Idp_faults_clear(s);
}

int idp_server_rotate_keys(idp_server *s, double overlap_s)
{
    int64_t overlap = overlap_s >= 0 ? llround(overlap_s * 1000.0) : s->cfg->key_overlap_ms;
    return Idp_keys_rotate(&s->keys, cm_clock_now(s->clock), overlap);
}

int idp_server_apply_preset(idp_server *s, const char *name, char *err, size_t n)
{
    return Idp_preset_apply(s, name, err, n);
}

int idp_server_patch_client(idp_server *s, const char *client_id, json_t *patch, char *err,
                            size_t n)
{
    return Idp_client_patch(s->cfg, client_id, patch, err, n);
}

int idp_config_patch_client(idp_config *cfg, const char *client_id, json_t *patch, char *err,
                            size_t n)
{
    return Idp_client_patch(cfg, client_id, patch, err, n);
}

json_t *idp_server_trace(idp_server *s)
{
    return Idp_trace_snapshot(&s->trace);
}

json_t *idp_presets(void)
{
    return Idp_presets_list();
}

int idp_fault_rule_check(json_t *rule, char *err, size_t n)
{
    idp_fault *f = Idp_fault_parse(rule, "x", err, n);
    Idp_fault_free(f);
    return f ? 0 : -1;
}
