/* The IdP-compatibility probes (docs/probe.md). Each fills rows of the matrix; a probe
 * that needs what it was not given says so in its row instead of guessing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_form.h"
#include "cm_strbuf.h"
#include "probe.h"
#include "renew_core.h"

#define UNKNOWN_TOKEN "renewlab-probe-unknown-token"
/* a valid S256 challenge (RFC 7636 appendix B): prompt=none requests must be well formed */
#define PKCE_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static const char *meta_str(probe *p, const char *key)
{
    return json_string_value(json_object_get(pb_meta(p), key));
}

static const char *jstr(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static const char *answer(const pb_resp *r, char *buf, size_t n)
{
    if (r->err)
        snprintf(buf, n, "%s", rc_strerror(r->err));
    else
        snprintf(buf, n, "%d%s%s", r->status, jstr(r->json, "error") ? " " : "",
                 jstr(r->json, "error") ? jstr(r->json, "error") : "");
    return buf;
}

/* ---- discovery and keys ----------------------------------------------------------------- */

static void probe_discovery(probe *p)
{
    static const char *const required[] = {"authorization_endpoint",
                                           "token_endpoint",
                                           "jwks_uri",
                                           "response_types_supported",
                                           "subject_types_supported",
                                           "id_token_signing_alg_values_supported"};
    cm_strbuf b;
    cm_strbuf_init(&b);
    const char *issuer = meta_str(p, "issuer");
    if (!issuer || strcmp(issuer, pb_options(p)->issuer) != 0)
        cm_strbuf_printf(&b, "issuer is \"%s\", not the URL it was fetched from; ",
                         issuer ? issuer : "(none)");
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!json_object_get(pb_meta(p), required[i]))
            cm_strbuf_printf(&b, "%s missing; ", required[i]);
    json_t *grants = json_object_get(pb_meta(p), "grant_types_supported");
    int refresh = !grants;
    size_t i;
    json_t *g;
    json_array_foreach(grants, i, g) refresh |= !strcmp(json_string_value(g), "refresh_token");
    if (!refresh)
        cm_strbuf_puts(&b, "grant_types_supported lists no refresh_token; ");
    int ok = !b.data || !*b.data;
    pb_row(p, "discovery", ok ? "consistent" : "inconsistent", ok, "%s",
           ok ? "issuer matches; required metadata present (OIDC Discovery §3, RFC 8414 §3.3)"
              : b.data);
    cm_strbuf_dispose(&b);
    static const char *const optional[] = {"revocation_endpoint", "introspection_endpoint",
                                           "end_session_endpoint", "check_session_iframe"};
    for (size_t k = 0; k < sizeof optional / sizeof optional[0]; k++)
        pb_row(p, optional[k], meta_str(p, optional[k]) ? "advertised" : "not advertised", -1, "%s",
               meta_str(p, optional[k]) ? meta_str(p, optional[k]) : "-");
}

static void probe_jwks(probe *p)
{
    const char *text = pb_jwks_text(p);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    int usable = text ? rc_jwks_usable_keys(text, strlen(text)) : 0;
    usable = usable > 0 ? usable : 0;
    size_t i, n = json_array_size(json_object_get(doc, "keys")), kids = 0;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) kids += jstr(k, "kid") != NULL;
    if (!text)
        pb_row(p, "jwks", "unreachable", 0, "jwks_uri did not answer 200");
    else
        pb_row(p, "jwks", usable ? "usable" : "unusable", usable > 0 && kids == n,
               "%zu keys, %d usable by renew_core, %zu with kid%s", n, usable, kids,
               kids < n && n > 1 ? " (several keys without kid: clients must try each)" : "");
    json_decref(doc);
}

/* ---- refresh tokens ------------------------------------------------------------------------ */

/* OIDC Core §12.2 on the refreshed ID token, with the login's claims when known. */
static void check_refreshed_id_token(probe *p, json_t *login, const pb_resp *r)
{
    const char *idt = jstr(r->json, "id_token");
    if (!idt) {
        pb_row(p, "id_token_on_refresh", "no", -1,
               "none returned (allowed: §12.2 makes it optional)");
        return;
    }
    const char *text = pb_jwks_text(p);
    const char *orig = jstr(login, "id_token");
    rc_id_token_check c = {.issuer = pb_options(p)->issuer,
                           .client_id = pb_options(p)->client_id,
                           .original_id_token = orig,
                           .now_ms = (int64_t)time(NULL) * 1000,
                           .skew_ms = 60000};
    int rc = text ? rc_id_token_validate(idt, text, &c) : RC_EJWKS;
    int have_orig = orig != NULL;
    pb_row(p, "id_token_on_refresh", rc == RC_OK ? "yes, conforms" : "yes, refused by the core",
           rc == RC_OK, "%s%s", rc == RC_OK ? "signature and claims checked" : rc_err_name(rc),
           have_orig ? " (§12.2 against the login's ID token)" : " (no login ID token to compare)");
}

/* The old token was accepted right after rotation: grace window, or no reuse detection. */
static void old_token_accepted(probe *p, const char *rt1)
{
    double wait = pb_options(p)->grace_wait;
    if (wait <= 0) {
        pb_row(p, "reuse_detection", "not seen", -1,
               "the rotated token was accepted right after rotation (grace window or no "
               "detection; --grace-wait S tells them apart)");
        pb_row(p, "grace_window", "unknown", -1, "not measured (--grace-wait 0)");
        return;
    }
    pb_wait(p, wait);
    pb_resp r;
    pb_refresh(p, rt1, &r);
    char buf[80];
    int refused = !r.err && r.status >= 400;
    pb_row(p, "reuse_detection", refused ? "yes" : "no", refused,
           "a rotated token presented %.0f s after its rotation: %s", wait,
           answer(&r, buf, sizeof buf));
    pb_row(p, "grace_window", refused ? "yes" : "no", -1,
           refused ? "rotated tokens are accepted right after rotation, refused %.0f s later"
                   : "rotated tokens stay usable (%.0f s later too)",
           wait);
    pb_resp_dispose(&r);
}

static void reuse_and_family(probe *p, const char *rt0, const char *rt1)
{
    pb_resp r;
    pb_refresh(p, rt0, &r);
    char buf[80];
    if (!r.err && r.status == 200) {
        pb_resp_dispose(&r);
        old_token_accepted(p, rt1);
        pb_row(p, "family_revocation", "not measured", -1, "no reuse was refused");
        return;
    }
    pb_row(p, "reuse_detection", "yes", 1, "the rotated token presented again: %s",
           answer(&r, buf, sizeof buf));
    pb_row(p, "grace_window", "no", -1, "refused at once");
    pb_resp_dispose(&r);
    pb_refresh(p, rt1, &r); /* the newest token of the family */
    int revoked = !r.err && r.status >= 400;
    pb_row(p, "family_revocation", revoked ? "yes" : "no", revoked,
           "the newest token after the reuse: %s (RFC 9700 §4.14.2)", answer(&r, buf, sizeof buf));
    pb_resp_dispose(&r);
}

static void probe_refresh_family(probe *p)
{
    char why[200], buf[80];
    json_t *t = pb_tokens(p, "refresh, rotation and reuse", why, sizeof why);
    if (!t) {
        pb_row(p, "refresh", "not measured", -1, "%s", why);
        return;
    }
    const char *rt0 = jstr(t, "refresh_token");
    if (!rt0) {
        pb_row(p, "refresh", "no refresh tokens", -1,
               "the login's token response has no refresh_token: renewal only by prompt=none");
        json_decref(t);
        return;
    }
    pb_resp r;
    pb_refresh(p, rt0, &r);
    if (r.err || r.status != 200 || !jstr(r.json, "access_token")) {
        pb_row(p, "refresh", "fails", 0, "refresh grant: %s", answer(&r, buf, sizeof buf));
        pb_resp_dispose(&r);
        json_decref(t);
        return;
    }
    pb_row(p, "refresh", "works", 1, "new access token, expires_in %lld s",
           json_integer_value(json_object_get(r.json, "expires_in")));
    check_refreshed_id_token(p, t, &r);
    const char *rt1 = jstr(r.json, "refresh_token");
    int rotated = rt1 && strcmp(rt1, rt0) != 0;
    pb_row(p, "rotation", rotated ? "yes" : "no", rotated ? 1 : -1, "%s",
           rotated ? "a new refresh token with every refresh"
           : rt1   ? "the same refresh token came back"
                   : "no refresh token in the answer: the old one stays (RFC 6749 §6)");
    if (rotated)
        reuse_and_family(p, rt0, rt1);
    else
        pb_row(p, "reuse_detection", "not applicable", -1, "no rotation");
    pb_resp_dispose(&r);
    json_decref(t);
}

/* ---- offline_access, revocation, introspection --------------------------------------------- */

static void probe_offline_access(probe *p)
{
    if (!pb_options(p)->login_command) {
        pb_row(p, "offline_access_required", "not measured", -1, "needs --login-command");
        return;
    }
    const char *refresh = pb_value(p, "refresh");
    if (refresh && !strcmp(refresh, "no refresh tokens")) {
        pb_row(p, "offline_access_required", "not applicable", -1, "no refresh tokens at all");
        return;
    }
    char why[200];
    setenv("RENEWLAB_PROBE_SCOPE", "openid", 1); /* the login command asks without it */
    json_t *t = pb_tokens(p, "offline_access", why, sizeof why);
    unsetenv("RENEWLAB_PROBE_SCOPE");
    int required = !jstr(t, "refresh_token");
    pb_row(p, "offline_access_required", required ? "yes" : "no", -1, "%s",
           required ? "no refresh token without the offline_access scope (OIDC Core §11)"
                    : "a refresh token without offline_access too");
    json_decref(t);
}

static void revoke(probe *p, const char *token, const char *hint, pb_resp *out)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    char *tok = cm_form_encode(token), *id = cm_form_encode(pb_options(p)->client_id);
    cm_strbuf_printf(&b, "token=%s&token_type_hint=%s", tok ? tok : "", hint);
    if (!pb_options(p)->client_secret)
        cm_strbuf_printf(&b, "&client_id=%s", id ? id : "");
    free(tok), free(id);
    pb_http(p, meta_str(p, "revocation_endpoint"), b.data, NULL, NULL, 1, out);
    cm_strbuf_dispose(&b);
}

/* Is the access token still accepted? Introspection when we may, else userinfo. */
static const char *access_token_state(probe *p, const char *at, char *buf, size_t n)
{
    pb_resp r;
    if (pb_options(p)->client_secret && meta_str(p, "introspection_endpoint")) {
        char *tok = cm_form_encode(at);
        cm_strbuf b;
        cm_strbuf_init(&b);
        cm_strbuf_printf(&b, "token=%s", tok ? tok : "");
        free(tok);
        pb_http(p, meta_str(p, "introspection_endpoint"), b.data, NULL, NULL, 1, &r);
        cm_strbuf_dispose(&b);
        snprintf(buf, n, "%s",
                 r.status == 200 && r.json
                     ? (json_is_true(json_object_get(r.json, "active")) ? "active" : "inactive")
                     : "unknown");
    } else if (meta_str(p, "userinfo_endpoint")) {
        pb_http(p, meta_str(p, "userinfo_endpoint"), NULL, at, NULL, 0, &r);
        snprintf(buf, n, "%s",
                 r.status == 200   ? "active"
                 : r.status == 401 ? "inactive"
                                   : "unknown");
    } else {
        snprintf(buf, n, "unknown");
        return buf;
    }
    pb_resp_dispose(&r);
    return buf;
}

static void revoke_refresh_token(probe *p, json_t *t)
{
    char buf[80], before[16], after[16];
    pb_resp r;
    pb_refresh(p, jstr(t, "refresh_token"), &r); /* a live access token of this grant */
    const char *rt =
        jstr(r.json, "refresh_token") ? jstr(r.json, "refresh_token") : jstr(t, "refresh_token");
    char *at = jstr(r.json, "access_token") ? strdup(jstr(r.json, "access_token")) : NULL;
    char *live_rt = strdup(rt);
    pb_resp_dispose(&r);
    access_token_state(p, at ? at : "", before, sizeof before);
    revoke(p, live_rt, "refresh_token", &r);
    int ok200 = !r.err && r.status == 200;
    pb_resp_dispose(&r);
    pb_refresh(p, live_rt, &r);
    int dead = !r.err && r.status >= 400;
    pb_row(p, "revocation", ok200 && dead ? "works" : "does not work", ok200 && dead,
           "revoking the refresh token answered %s; refreshing with it then: %s",
           ok200 ? "200" : "an error", answer(&r, buf, sizeof buf));
    pb_resp_dispose(&r);
    access_token_state(p, at ? at : "", after, sizeof after);
    pb_row(p, "revocation_cascade",
           !strcmp(after, "inactive") ? "yes"
           : !strcmp(after, "active") ? "no"
                                      : "unknown",
           -1, "the grant's access token was %s before and %s after (RFC 7009 §2.1: MAY)", before,
           after);
    pb_row(p, "introspection",
           pb_options(p)->client_secret && meta_str(p, "introspection_endpoint")
               ? (!strcmp(before, "active") ? "works" : "does not work")
               : "not measured",
           pb_options(p)->client_secret && meta_str(p, "introspection_endpoint")
               ? !strcmp(before, "active")
               : -1,
           "%s",
           pb_options(p)->client_secret ? "a live access token introspected"
                                        : "needs --client-secret (RFC 7662 wants client auth)");
    free(at), free(live_rt);
}

static void probe_revocation(probe *p)
{
    if (!meta_str(p, "revocation_endpoint")) {
        pb_row(p, "revocation", "not advertised", -1, "no revocation_endpoint");
        return;
    }
    pb_resp r;
    char buf[80], why[200];
    revoke(p, UNKNOWN_TOKEN, "refresh_token", &r);
    pb_row(p, "revocation_unknown_token", !r.err && r.status == 200 ? "200" : "error",
           !r.err && r.status == 200, "an unknown token: %s (RFC 7009 §2.2: 200)",
           answer(&r, buf, sizeof buf));
    pb_resp_dispose(&r);
    json_t *t = pb_tokens(p, "revocation", why, sizeof why);
    if (!jstr(t, "refresh_token")) {
        pb_row(p, "revocation", "not measured", -1, "%s", t ? "no refresh token to revoke" : why);
        json_decref(t);
        return;
    }
    revoke_refresh_token(p, t);
    json_decref(t);
}

/* ---- prompt=none and logout ---------------------------------------------------------------- */

static void prompt_none(probe *p, const char *cookie, const char *row)
{
    const pb_opts *o = pb_options(p);
    char *id = cm_form_encode(o->client_id), *cb = cm_form_encode(o->redirect_uri);
    char url[1500], buf[80];
    snprintf(url, sizeof url,
             "%s?response_type=code&client_id=%s&redirect_uri=%s&scope=openid&state=probe"
             "&nonce=probe&prompt=none&code_challenge=" PKCE_CHALLENGE
             "&code_challenge_method=S256",
             meta_str(p, "authorization_endpoint"), id ? id : "", cb ? cb : "");
    free(id), free(cb);
    pb_resp r;
    pb_http(p, url, NULL, NULL, cookie, 0, &r);
    const char *loc = r.location ? r.location : "";
    int redirect = !r.err && r.status >= 300 && r.status < 400;
    const char *value = !redirect               ? "ignored (answers a page)"
                        : strstr(loc, "code=")  ? "supported (code)"
                        : strstr(loc, "error=") ? "supported (error)"
                                                : "redirect without code or error";
    int ok = redirect && (cookie ? strstr(loc, "code=") != NULL : strstr(loc, "error=") != NULL);
    pb_row(p, row, value, ok, "%s: %s%s%.200s",
           cookie ? "with the session cookie" : "without a session", answer(&r, buf, sizeof buf),
           redirect ? " to " : "", redirect ? loc : "");
    pb_resp_dispose(&r);
}

static void probe_prompt_none(probe *p)
{
    if (!pb_options(p)->redirect_uri) {
        pb_row(p, "prompt_none", "not measured", -1, "needs --redirect-uri");
        return;
    }
    prompt_none(p, NULL, "prompt_none_without_session");
    if (pb_options(p)->session_cookie)
        prompt_none(p, pb_options(p)->session_cookie, "prompt_none_with_session");
    else
        pb_row(p, "prompt_none_with_session", "not measured", -1, "needs --session-cookie");
}

/* refresh_expires_in (Keycloak and mock-idp send it) twice, a moment apart: a sliding
 * (idle) lifetime starts again, an absolute one counts down. */
static void probe_lifetime(probe *p)
{
    char why[200];
    json_t *t = pb_tokens(p, "refresh lifetime", why, sizeof why);
    if (!jstr(t, "refresh_token")) {
        pb_row(p, "refresh_lifetime", "not measured", -1, "%s", t ? "no refresh token" : why);
        json_decref(t);
        return;
    }
    pb_resp a, b;
    pb_refresh(p, jstr(t, "refresh_token"), &a);
    const char *next =
        jstr(a.json, "refresh_token") ? jstr(a.json, "refresh_token") : jstr(t, "refresh_token");
    json_t *first = json_object_get(a.json, "refresh_expires_in");
    if (a.status != 200 || !json_is_integer(first)) {
        pb_row(p, "refresh_lifetime", "not advertised", -1,
               "no refresh_expires_in: absolute vs idle lifetimes need hours of waiting; "
               "rehearse them with mock-idp presets");
    } else {
        pb_wait(p, 2.0);
        pb_refresh(p, next, &b);
        json_t *second = json_object_get(b.json, "refresh_expires_in");
        json_int_t s1 = json_integer_value(first), s2 = json_integer_value(second);
        if (b.status == 200 && json_is_integer(second))
            pb_row(p, "refresh_lifetime", s2 >= s1 ? "idle (sliding)" : "absolute", -1,
                   "refresh_expires_in %lld s, then %lld s two seconds later", (long long)s1,
                   (long long)s2);
        else
            pb_row(p, "refresh_lifetime", "not measured", -1, "the second refresh failed");
        pb_resp_dispose(&b);
    }
    pb_resp_dispose(&a);
    json_decref(t);
}

void pb_run_all(probe *p)
{
    probe_discovery(p);
    probe_jwks(p);
    probe_refresh_family(p);
    probe_offline_access(p);
    probe_revocation(p);
    probe_prompt_none(p);
    probe_lifetime(p);
}

json_t *hr_probe(const pb_opts *o, char *err, size_t errlen)
{
    probe *p = pb_open(o, err, errlen);
    if (!p)
        return NULL;
    pb_run_all(p);
    json_t *out = json_pack("{s:s, s:s, s:O}", "issuer", o->issuer, "client_id", o->client_id,
                            "capabilities", pb_rows(p));
    pb_close(p);
    return out;
}
