/* Fresh tokens for the probes: the login command's contract, version 2 (docs/probe.md,
 * "The login command"), or the one --refresh-token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cm_strbuf.h"
#include "probe_int.h"

/* Why a login is needed: the documented list ($RENEWLAB_PROBE_PURPOSE). */
static const char *const PURPOSES[] = {
    "refresh",     "offline_access",   "revocation", "introspection",
    "prompt_none", "refresh_lifetime", NULL};

static int known_purpose(const char *purpose)
{
    for (size_t i = 0; PURPOSES[i]; i++)
        if (!strcmp(PURPOSES[i], purpose))
            return 1;
    return 0;
}

static void set_or_unset(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

static void login_environment(const probe *p, const char *purpose, const char *scope)
{
    set_or_unset("RENEWLAB_PROBE_ISSUER", p->o.issuer);
    set_or_unset("RENEWLAB_PROBE_CLIENT_ID", p->o.client_id);
    set_or_unset("RENEWLAB_PROBE_CLIENT_SECRET", p->o.client_secret);
    set_or_unset("RENEWLAB_PROBE_REDIRECT_URI", p->o.redirect_uri);
    set_or_unset("RENEWLAB_PROBE_SCOPE", scope ? scope : PB_DEFAULT_SCOPE);
    set_or_unset("RENEWLAB_PROBE_PURPOSE", purpose);
}

/* How the command failed, in words that name it: exit code or signal, not a wait status. */
static void failure_words(const probe *p, int rc, char *why, size_t n)
{
    double limit = p->o.login_timeout > 0 ? p->o.login_timeout : 60;
    const char *cmd = p->o.login_command;
    if (rc == PB_CMD_TIMEOUT)
        snprintf(why, n, "the login command `%.200s` did not finish within %g s (--login-timeout)",
                 cmd, limit);
    else if (rc == PB_CMD_START)
        snprintf(why, n, "the login command `%.200s` could not be started", cmd);
    else if (WIFSIGNALED(rc))
        snprintf(why, n, "the login command `%.200s` was killed by signal %d", cmd, WTERMSIG(rc));
    else if (WEXITSTATUS(rc) != 0)
        snprintf(why, n, "the login command `%.200s` exited with %d", cmd, WEXITSTATUS(rc));
    else
        snprintf(why, n,
                 "the login command `%.200s` printed no token response (a JSON object with "
                 "access_token)",
                 cmd);
}

static void keep_cookie(probe *p, json_t *t)
{
    const char *cookie = json_string_value(json_object_get(t, "session_cookie"));
    if (cookie && *cookie) {
        free(p->cookie);
        p->cookie = strdup(cookie);
    }
}

static json_t *run_login(probe *p, const char *purpose, const char *scope, char *why, size_t n)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    login_environment(p, purpose, scope);
    int rc =
        pb_command_run(p->o.login_command, p->o.login_timeout > 0 ? p->o.login_timeout : 60, &b);
    json_t *t = b.data ? json_loads(b.data, 0, NULL) : NULL;
    cm_strbuf_dispose(&b);
    if (rc == 0 && json_is_string(json_object_get(t, "access_token"))) {
        pb_note_id_token(p, json_string_value(json_object_get(t, "id_token")));
        keep_cookie(p, t);
        return t;
    }
    json_decref(t);
    failure_words(p, rc, why, n);
    if (!p->login_failure)
        p->login_failure = strdup(why);
    return NULL;
}

json_t *pb_tokens(probe *p, const char *purpose, const char *scope, char *why, size_t n)
{
    if (!known_purpose(purpose)) {
        snprintf(why, n, "internal error: unknown purpose %s", purpose);
        return NULL;
    }
    if (p->o.login_command && p->login_failure) { /* once is enough: it is not retried */
        snprintf(why, n, "%s", p->login_failure);
        return NULL;
    }
    if (p->o.login_command)
        return run_login(p, purpose, scope, why, n);
    if (p->o.refresh_token && !p->given_used && !scope) {
        p->given_used = 1;
        return json_pack("{s:s}", "refresh_token", p->o.refresh_token);
    }
    snprintf(why, n, "needs a fresh grant (%s): give --login-command", purpose);
    return NULL;
}

const char *pb_session_cookie(probe *p)
{
    if (p->o.session_cookie)
        return p->o.session_cookie;
    if (!p->cookie && p->o.login_command) {
        char why[300];
        json_decref(pb_tokens(p, "prompt_none", NULL, why, sizeof why));
    }
    return p->cookie;
}

void pb_note_id_token(probe *p, const char *id_token)
{
    char *copy = id_token ? strdup(id_token) : NULL;
    if (copy) {
        free(p->latest_idt);
        p->latest_idt = copy;
    }
}

const char *pb_latest_id_token(probe *p)
{
    return p->latest_idt;
}

const char *pb_login_failure(probe *p)
{
    return p->login_failure;
}
