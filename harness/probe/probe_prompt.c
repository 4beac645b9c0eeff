/* prompt=none (OIDC Core §3.1.2.6, with id_token_hint per §3.1.2.1) and whether refresh
 * tokens need offline_access (§11) (docs/probe.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_form.h"
#include "cm_strbuf.h"
#include "probe_int.h"

/* a valid S256 challenge (RFC 7636 appendix B): prompt=none requests must be well formed */
#define PKCE_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

void pb_probe_offline_access(probe *p)
{
    const char *refresh = pb_value(p, "refresh");
    if (refresh && !strcmp(refresh, "no refresh tokens")) {
        pb_row(p, "offline_access_required", "not applicable", -1, "no refresh tokens at all");
        return;
    }
    if (!pb_options(p)->login_command) {
        pb_row(p, "offline_access_required", "not measured", -1, "needs --login-command");
        return;
    }
    char why[300];
    json_t *t = pb_tokens(p, "offline_access", "openid", why, sizeof why);
    int required = !pb_jstr(t, "refresh_token");
    if (!t)
        pb_row(p, "offline_access_required", "not measured", -1, "%s", why);
    else
        pb_row(p, "offline_access_required", required ? "yes" : "no", -1, "%s",
               required ? "no refresh token without the offline_access scope (OIDC Core §11)"
                        : "a refresh token without offline_access too");
    json_decref(t);
}

static char *prompt_none_url(probe *p, const char *hint)
{
    const pb_opts *o = pb_options(p);
    char *id = cm_form_encode(o->client_id), *cb = cm_form_encode(o->redirect_uri);
    char *h = hint ? cm_form_encode(hint) : NULL;
    cm_strbuf url;
    cm_strbuf_init(&url);
    cm_strbuf_printf(&url,
                     "%s%cresponse_type=code&client_id=%s&redirect_uri=%s&scope=openid"
                     "&state=probe&nonce=probe&prompt=none&code_challenge=" PKCE_CHALLENGE
                     "&code_challenge_method=S256",
                     pb_meta_str(p, "authorization_endpoint"),
                     strchr(pb_meta_str(p, "authorization_endpoint"), '?') ? '&' : '?',
                     id ? id : "", cb ? cb : "");
    if (h)
        cm_strbuf_printf(&url, "&id_token_hint=%s", h);
    free(id), free(cb), free(h);
    return cm_strbuf_take(&url);
}

static void prompt_none(probe *p, const char *cookie, const char *row)
{
    const char *hint = pb_latest_id_token(p);
    char *url = prompt_none_url(p, hint);
    char buf[160];
    pb_resp r;
    pb_navigate(p, url, cookie, &r);
    free(url);
    const char *loc = r.location ? r.location : "";
    int redirect = !r.err && r.status >= 300 && r.status < 400;
    int code = redirect && strstr(loc, "code=") != NULL;
    int error = redirect && strstr(loc, "error=") != NULL;
    const char *value = !redirect         ? "ignored (answers a page)"
                        : code && !cookie ? "ignored (a code without a session)"
                        : code            ? "supported (code)"
                        : error           ? "supported (error)"
                                          : "redirect without code or error";
    int ok = cookie ? code : error;
    const char *type = !redirect && r.content_type ? r.content_type : NULL;
    pb_row(p, row, value, ok, "%s%s: %s%s%.300s%s%.60s%s",
           cookie ? "with the session" : "without a session",
           hint ? ", id_token_hint the newest ID token" : ", no id_token_hint (no ID token yet)",
           pb_answer(&r, buf, sizeof buf), redirect ? " to " : "", redirect ? loc : "",
           type ? " (" : "", type ? type : "", type ? ", not a redirect)" : "");
    pb_resp_dispose(&r);
}

void pb_probe_prompt_none(probe *p)
{
    static const char *const rows[] = {"prompt_none_without_session", "prompt_none_with_session",
                                       NULL};
    if (!pb_meta_str(p, "authorization_endpoint")) {
        pb_rows_say(p, rows, "not measured", "no authorization_endpoint");
        return;
    }
    if (!pb_options(p)->redirect_uri) {
        pb_rows_say(p, rows, "not measured", "needs --redirect-uri");
        return;
    }
    prompt_none(p, NULL, "prompt_none_without_session");
    const char *cookie = pb_session_cookie(p);
    if (cookie)
        prompt_none(p, cookie, "prompt_none_with_session");
    else
        pb_row(p, "prompt_none_with_session", "not measured", -1,
               "needs --session-cookie, or a login command that prints session_cookie%s%s",
               pb_login_failure(p) ? ": " : "", pb_login_failure(p) ? pb_login_failure(p) : "");
}
