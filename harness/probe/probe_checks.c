/* The IdP-compatibility probes (docs/probe.md): discovery, keys, refresh tokens and their
 * lifetime; revocation and introspection in probe_revoke.c, prompt=none and
 * offline_access in probe_prompt.c. Each probe fills its rows whatever happens: a value,
 * "not applicable" (a prerequisite is absent) or "not measured" (a step failed, with that
 * step's evidence). A row that claims a capability has seen the IdP refuse a counterfeit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_strbuf.h"
#include "probe_int.h"
#include "renew_core.h"

#define GARBAGE_TOKEN "renewlab-probe-this-is-not-a-token"

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
    const char *issuer = pb_meta_str(p, "issuer");
    if (!issuer || strcmp(issuer, pb_options(p)->issuer) != 0)
        cm_strbuf_printf(&b, "issuer: expected \"%s\" (the URL it was fetched from), got \"%s\"",
                         pb_options(p)->issuer, issuer ? issuer : "(none)");
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!json_object_get(pb_meta(p), required[i]))
            cm_strbuf_printf(&b, "%s%s missing", b.len ? "; " : "", required[i]);
    json_t *grants = json_object_get(pb_meta(p), "grant_types_supported");
    int refresh = !grants;
    size_t i;
    json_t *g;
    json_array_foreach(grants, i, g) refresh |= !strcmp(json_string_value(g), "refresh_token");
    if (!refresh)
        cm_strbuf_printf(&b, "%sgrant_types_supported lists no refresh_token", b.len ? "; " : "");
    int ok = !b.len;
    pb_row(p, "discovery", ok ? "consistent" : "inconsistent", ok, "%s",
           ok ? "issuer matches; required metadata present (OIDC Discovery §3, RFC 8414 §3.3)"
              : b.data);
    cm_strbuf_dispose(&b);
    static const char *const optional[] = {"revocation_endpoint", "introspection_endpoint",
                                           "end_session_endpoint", "check_session_iframe"};
    for (size_t k = 0; k < sizeof optional / sizeof optional[0]; k++)
        pb_row(p, optional[k], pb_meta_str(p, optional[k]) ? "advertised" : "not advertised", -1,
               "%s", pb_meta_str(p, optional[k]) ? pb_meta_str(p, optional[k]) : "-");
}

static void probe_jwks(probe *p)
{
    const char *text = pb_jwks_text(p);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    int usable = text ? rc_jwks_usable_keys(text, strlen(text)) : 0;
    usable = usable > 0 ? usable : 0;
    size_t i, n = json_array_size(json_object_get(doc, "keys")), kids = 0;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) kids += pb_jstr(k, "kid") != NULL;
    if (!text)
        pb_row(p, "jwks", "unreachable", 0, "jwks_uri did not answer 200");
    else
        pb_row(p, "jwks", usable ? "usable" : "unusable", usable > 0 && kids == n,
               "%zu keys, %d usable by renew_core, %zu with kid%s", n, usable, kids,
               kids < n && n > 1 ? " (several keys without kid: clients must try each)" : "");
    json_decref(doc);
}

/* ---- refresh tokens ------------------------------------------------------------------------ */

static const char *const AFTER_REFRESH[] = {"id_token_on_refresh", "rotation",
                                            "reuse_detection",     "grace_window",
                                            "family_revocation",   NULL};
static const char *const REUSE_ROWS[] = {"reuse_detection", "grace_window", "family_revocation",
                                         NULL};

/* OIDC Core §12.2 on the refreshed ID token, with the login's claims when known. */
static void check_refreshed_id_token(probe *p, json_t *login, const pb_resp *r)
{
    const char *idt = pb_jstr(r->json, "id_token");
    if (!idt) {
        pb_row(p, "id_token_on_refresh", "no", -1,
               "none returned (allowed: §12.2 makes it optional)");
        return;
    }
    const char *text = pb_jwks_text(p);
    const char *orig = pb_jstr(login, "id_token");
    rc_id_token_check c = {.issuer = pb_options(p)->issuer,
                           .client_id = pb_options(p)->client_id,
                           .original_id_token = orig,
                           .now_ms = (int64_t)time(NULL) * 1000,
                           .skew_ms = 60000};
    int rc = text ? rc_id_token_validate(idt, text, &c) : RC_EJWKS;
    pb_row(p, "id_token_on_refresh", rc == RC_OK ? "yes, conforms" : "yes, refused by the core",
           rc == RC_OK, "%s%s", rc == RC_OK ? "signature and claims checked" : rc_err_name(rc),
           orig ? " (§12.2 against the login's ID token)" : " (no login ID token to compare)");
}

/* The counterfeits: a garbage refresh token and none at all must be refused (RFC 6749
 * §5.2: invalid_grant, invalid_request). 1 when both were. */
static int counterfeits_refused(probe *p)
{
    char a[160], b[160];
    pb_resp garbage, missing;
    pb_refresh(p, GARBAGE_TOKEN, &garbage);
    pb_refresh(p, NULL, &missing);
    int refused = !garbage.err && garbage.status >= 400 && !missing.err && missing.status >= 400;
    int measured = !garbage.err && !missing.err;
    pb_row(p, "refresh_rejects_unknown_token",
           !measured ? "not measured"
           : refused ? "yes"
                     : "no",
           measured ? refused : -1, "a garbage refresh token: %s; none at all: %s%s",
           pb_answer(&garbage, a, sizeof a), pb_answer(&missing, b, sizeof b),
           refused || !measured ? ""
                                : " (the IdP accepts any token: nothing it says about "
                                  "rotation or reuse means anything)");
    pb_resp_dispose(&garbage), pb_resp_dispose(&missing);
    return refused || !measured;
}

/* The old token was accepted right after rotation: grace window, or no reuse detection. */
static void old_token_accepted(probe *p, const char *rt1)
{
    double wait = pb_options(p)->grace_wait;
    if (wait <= 0) {
        pb_row(p, "reuse_detection", "not seen", -1,
               "the rotated token was accepted right after rotation (grace window or no "
               "detection; --grace-wait S tells them apart)");
        pb_row(p, "grace_window", "not measured", -1, "needs --grace-wait S");
        pb_row(p, "family_revocation", "not measured", -1, "no reuse was refused");
        return;
    }
    pb_wait(p, wait);
    pb_resp r;
    pb_refresh(p, rt1, &r);
    char buf[160];
    int refused = !r.err && r.status >= 400;
    pb_row(p, "reuse_detection", refused ? "yes" : "no", refused,
           "a rotated token presented %.0f s after its rotation: %s", wait,
           pb_answer(&r, buf, sizeof buf));
    pb_row(p, "grace_window", refused ? "yes" : "no", -1,
           refused ? "rotated tokens are accepted right after rotation, refused %.0f s later"
                   : "rotated tokens stay usable (%.0f s later too)",
           wait);
    pb_row(p, "family_revocation", "not measured", -1, "the reuse was not refused at once");
    pb_resp_dispose(&r);
}

static void reuse_and_family(probe *p, const char *rt0, const char *rt1, const char *at1)
{
    pb_resp r;
    pb_refresh(p, rt0, &r);
    char buf[160], why[200];
    if (!r.err && r.status == 200) {
        pb_resp_dispose(&r);
        old_token_accepted(p, rt1);
        return;
    }
    pb_row(p, "reuse_detection", "yes", 1, "the rotated token presented again: %s",
           pb_answer(&r, buf, sizeof buf));
    pb_row(p, "grace_window", "no", -1, "refused at once");
    pb_resp_dispose(&r);
    pb_refresh(p, rt1, &r); /* the newest token of the family */
    int revoked = !r.err && r.status >= 400;
    const char *at_state = at1 ? pb_token_state(p, at1, why, sizeof why) : "unknown";
    pb_row(p, "family_revocation", revoked ? "yes" : "no", revoked,
           "the newest refresh token after the reuse: %s (RFC 9700 §4.14.2); the family's "
           "newest access token: %s (%s)",
           pb_answer(&r, buf, sizeof buf), at_state, at1 ? why : "none");
    pb_resp_dispose(&r);
}

static void after_refresh(probe *p, json_t *t, const pb_resp *r)
{
    check_refreshed_id_token(p, t, r);
    if (!counterfeits_refused(p)) {
        pb_rows_say(p, AFTER_REFRESH + 1, "meaningless", "the IdP accepts any token");
        return;
    }
    const char *rt0 = pb_jstr(t, "refresh_token"), *rt1 = pb_jstr(r->json, "refresh_token");
    int rotated = rt1 && strcmp(rt1, rt0) != 0;
    pb_row(p, "rotation", rotated ? "yes" : "no", rotated ? 1 : -1, "%s",
           rotated ? "a new refresh token with every refresh"
           : rt1   ? "the same refresh token came back"
                   : "no refresh token in the answer: the old one stays (RFC 6749 §6)");
    if (rotated)
        reuse_and_family(p, rt0, rt1, pb_jstr(r->json, "access_token"));
    else
        pb_rows_say(p, REUSE_ROWS, "not applicable", "no rotation");
}

void pb_probe_refresh(probe *p)
{
    char why[300], buf[160];
    json_t *t = pb_tokens(p, "refresh", NULL, why, sizeof why);
    const char *rt0 = pb_jstr(t, "refresh_token");
    if (!rt0) {
        int none = t != NULL;
        pb_row(p, "refresh", none ? "no refresh tokens" : "not measured", -1, "%s",
               none ? "the login's token response has no refresh_token: renewal only by "
                      "prompt=none"
                    : why);
        if (!none)
            counterfeits_refused(p); /* needs no grant */
        else
            pb_row(p, "refresh_rejects_unknown_token", "not applicable", -1, "no refresh tokens");
        pb_rows_say(p, AFTER_REFRESH, none ? "not applicable" : "not measured", "%s",
                    none ? "no refresh tokens" : why);
        json_decref(t);
        return;
    }
    pb_resp r;
    pb_refresh(p, rt0, &r);
    if (r.err || r.status != 200 || !pb_jstr(r.json, "access_token")) {
        pb_row(p, "refresh", "fails", 0, "refresh grant: %s", pb_answer(&r, buf, sizeof buf));
        counterfeits_refused(p);
        pb_rows_say(p, AFTER_REFRESH, "not measured", "the refresh failed: %s", buf);
    } else {
        pb_row(p, "refresh", "works", 1, "new access token, expires_in %lld s",
               json_integer_value(json_object_get(r.json, "expires_in")));
        after_refresh(p, t, &r);
    }
    pb_resp_dispose(&r);
    json_decref(t);
}

/* refresh_expires_in (Keycloak and mock-idp send it) twice, a moment apart: a sliding
 * (idle) lifetime starts again, an absolute one counts down. */
static void lifetime_of(probe *p, json_t *t)
{
    pb_resp a, b;
    pb_refresh(p, pb_jstr(t, "refresh_token"), &a);
    const char *next = pb_jstr(a.json, "refresh_token") ? pb_jstr(a.json, "refresh_token")
                                                        : pb_jstr(t, "refresh_token");
    json_t *first = json_object_get(a.json, "refresh_expires_in");
    char buf[160];
    if (a.err || a.status != 200) {
        pb_row(p, "refresh_lifetime", "not measured", -1, "the refresh failed: %s",
               pb_answer(&a, buf, sizeof buf));
    } else if (!json_is_integer(first)) {
        pb_row(p, "refresh_lifetime", "not advertised", -1,
               "no refresh_expires_in: absolute vs idle lifetimes need hours of waiting; "
               "rehearse them with mock-idp presets");
    } else {
        pb_wait(p, 2.0);
        pb_refresh(p, next, &b);
        json_t *second = json_object_get(b.json, "refresh_expires_in");
        json_int_t s1 = json_integer_value(first), s2 = json_integer_value(second);
        if (!b.err && b.status == 200 && json_is_integer(second))
            pb_row(p, "refresh_lifetime", s2 >= s1 ? "idle (sliding)" : "absolute", -1,
                   "refresh_expires_in %lld s, then %lld s two seconds later", (long long)s1,
                   (long long)s2);
        else
            pb_row(p, "refresh_lifetime", "not measured", -1, "the second refresh: %s",
                   pb_answer(&b, buf, sizeof buf));
        pb_resp_dispose(&b);
    }
    pb_resp_dispose(&a);
}

void pb_probe_lifetime(probe *p)
{
    char why[300];
    const char *refresh = pb_value(p, "refresh");
    if (refresh && !strcmp(refresh, "no refresh tokens")) {
        pb_row(p, "refresh_lifetime", "not applicable", -1, "no refresh tokens");
        return;
    }
    json_t *t = pb_tokens(p, "refresh_lifetime", NULL, why, sizeof why);
    if (!pb_jstr(t, "refresh_token"))
        pb_row(p, "refresh_lifetime", "not measured", -1, "%s",
               t ? "the login gave no refresh token" : why);
    else
        lifetime_of(p, t);
    json_decref(t);
}

void pb_run_all(probe *p)
{
    probe_discovery(p);
    probe_jwks(p);
    pb_probe_refresh(p);
    pb_probe_offline_access(p);
    pb_probe_revocation(p);
    pb_probe_introspection(p);
    pb_probe_prompt_none(p);
    pb_probe_lifetime(p);
}

json_t *hr_probe(const pb_opts *o, char *err, size_t errlen)
{
    probe *p = pb_open(o, err, errlen);
    if (!p)
        return NULL;
    pb_run_all(p);
    json_t *out = json_pack("{s:s, s:s, s:o}", "issuer", o->issuer, "client_id", o->client_id,
                            "capabilities", pb_rows(p));
    if (pb_login_failure(p))
        json_object_set_new(out, "login_failure", json_string(pb_login_failure(p)));
    pb_close(p);
    return out;
}
