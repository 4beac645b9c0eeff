/* Revocation (RFC 7009) and introspection (RFC 7662) probes, each with its counterfeit:
 * an empty revocation request must be refused, a garbage token must not introspect as
 * active (docs/probe.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_form.h"
#include "cm_strbuf.h"
#include "probe_int.h"

#define UNKNOWN_TOKEN "renewlab-probe-unknown-token"

static const char *const REVOKE_ROWS[] = {"revocation_unknown_token", "revocation",
                                          "revocation_cascade", NULL};

/* A revocation request: @p token NULL sends an empty body. */
static void revoke(probe *p, const char *token, pb_resp *out)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    char *tok = cm_form_encode(token ? token : ""), *id = cm_form_encode(pb_options(p)->client_id);
    if (token)
        cm_strbuf_printf(&b, "token=%s&token_type_hint=refresh_token", tok ? tok : "");
    if (token && !pb_options(p)->client_secret)
        cm_strbuf_printf(&b, "&client_id=%s", id ? id : "");
    free(tok), free(id);
    pb_http(p, pb_meta_str(p, "revocation_endpoint"), b.data ? b.data : "", NULL, 1, out);
    cm_strbuf_dispose(&b);
}

static int introspectable(probe *p)
{
    return pb_options(p)->client_secret && pb_meta_str(p, "introspection_endpoint");
}

static const char *introspect(probe *p, const char *at)
{
    char *tok = cm_form_encode(at);
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_printf(&b, "token=%s", tok ? tok : "");
    free(tok);
    pb_resp r;
    pb_http(p, pb_meta_str(p, "introspection_endpoint"), b.data, NULL, 1, &r);
    cm_strbuf_dispose(&b);
    const char *state =
        !r.err && r.status == 200 && r.json
            ? (json_is_true(json_object_get(r.json, "active")) ? "active" : "inactive")
            : "unknown";
    pb_resp_dispose(&r);
    return state;
}

static const char *userinfo(probe *p, const char *at)
{
    pb_resp r;
    pb_http(p, pb_meta_str(p, "userinfo_endpoint"), NULL, at, 0, &r);
    const char *state = r.err             ? "unknown"
                        : r.status == 200 ? "active"
                        : r.status == 401 ? "inactive"
                                          : "unknown";
    pb_resp_dispose(&r);
    return state;
}

enum { BY_INTROSPECTION, BY_USERINFO };
static const char *(*const ASK[])(probe *, const char *) = {introspect, userinfo};
static const char *const ASKED_BY[] = {"introspection", "userinfo"};

/* How @p by answers a garbage access token (asked once: the answer does not change). */
static const char *garbage_answer(probe *p, int by)
{
    if (!p->garbage_seen[by])
        p->garbage_seen[by] = ASK[by](p, "renewlab-probe-garbage-access-token");
    return p->garbage_seen[by];
}

/* Is @p at accepted? Asked as the probe may, and only trusted when a garbage token is
 * refused the same way (a permissive IdP calls everything active). */
const char *pb_token_state(probe *p, const char *at, char *why, size_t n)
{
    int by = introspectable(p)                     ? BY_INTROSPECTION
             : pb_meta_str(p, "userinfo_endpoint") ? BY_USERINFO
                                                   : -1;
    if (by < 0) {
        snprintf(why, n, "no introspection (needs --client-secret) and no userinfo endpoint");
        return "unknown";
    }
    if (strcmp(garbage_answer(p, by), "inactive") != 0) {
        snprintf(why, n, "%s does not refuse a garbage token: it tells nothing", ASKED_BY[by]);
        return "unknown";
    }
    snprintf(why, n, "by %s", ASKED_BY[by]);
    return ASK[by](p, at);
}

/* A live access token of a fresh grant and its refresh token (both the caller's). */
static int live_grant(probe *p, char **rt, char **at, char *why, size_t n)
{
    json_t *t = pb_tokens(p, "revocation", NULL, why, n);
    if (!pb_jstr(t, "refresh_token")) {
        if (t)
            snprintf(why, n, "the login gave no refresh token to revoke");
        json_decref(t);
        return -1;
    }
    pb_resp r;
    pb_refresh(p, pb_jstr(t, "refresh_token"), &r); /* the grant's newest tokens */
    const char *live = pb_jstr(r.json, "refresh_token") ? pb_jstr(r.json, "refresh_token")
                                                        : pb_jstr(t, "refresh_token");
    *rt = strdup(live);
    *at = strdup(pb_jstr(r.json, "access_token") ? pb_jstr(r.json, "access_token")
                                                 : pb_jstr(t, "access_token"));
    pb_resp_dispose(&r);
    json_decref(t);
    return 0;
}

static void cascade(probe *p, const char *at, const char *before, const char *why_before)
{
    char why[200];
    const char *after = pb_token_state(p, at, why, sizeof why);
    if (strcmp(before, "active") != 0 || !strcmp(after, "unknown"))
        pb_row(p, "revocation_cascade", "not measured", -1,
               "the grant's access token was %s before (%s) and %s after: cannot tell", before,
               why_before, after);
    else
        pb_row(p, "revocation_cascade", !strcmp(after, "inactive") ? "yes" : "no", -1,
               "the grant's access token was active before and %s after, %s (RFC 7009 §2.1: "
               "MAY)",
               after, why);
}

static void revoke_grant(probe *p)
{
    char why[300], buf[160];
    char *rt = NULL, *at = NULL;
    if (live_grant(p, &rt, &at, why, sizeof why) != 0) {
        pb_rows_say(p, REVOKE_ROWS + 1, "not measured", "%s", why);
        return;
    }
    char why_before[200];
    const char *before = pb_token_state(p, at, why_before, sizeof why_before);
    pb_resp r;
    revoke(p, rt, &r);
    int ok200 = !r.err && r.status == 200;
    pb_answer(&r, buf, sizeof buf);
    pb_resp_dispose(&r);
    if (!ok200) {
        pb_row(p, "revocation", "does not work", 0, "revoking the refresh token: %s", buf);
        pb_row(p, "revocation_cascade", "not measured", -1, "the revocation was refused: %s", buf);
    } else {
        char after[160];
        pb_refresh(p, rt, &r);
        int dead = !r.err && r.status >= 400;
        pb_row(p, "revocation", dead ? "works" : "does not work", dead,
               "revoking the refresh token: 200; refreshing with it then: %s",
               pb_answer(&r, after, sizeof after));
        pb_resp_dispose(&r);
        cascade(p, at, before, why_before);
    }
    free(rt), free(at);
}

void pb_probe_revocation(probe *p)
{
    if (!pb_meta_str(p, "revocation_endpoint")) {
        pb_rows_say(p, REVOKE_ROWS, "not applicable", "no revocation_endpoint");
        return;
    }
    pb_resp unknown, empty;
    char a[160], b[160];
    revoke(p, UNKNOWN_TOKEN, &unknown);
    revoke(p, NULL, &empty); /* RFC 7009 §2.1: token is REQUIRED */
    int u200 = !unknown.err && unknown.status == 200;
    int refused = !empty.err && empty.status >= 400;
    pb_row(p, "revocation_unknown_token",
           !u200     ? "error"
           : refused ? "200"
                     : "200 to anything",
           u200 && refused, "an unknown token: %s (RFC 7009 §2.2: 200); an empty request: %s",
           pb_answer(&unknown, a, sizeof a), pb_answer(&empty, b, sizeof b));
    pb_resp_dispose(&unknown), pb_resp_dispose(&empty);
    revoke_grant(p);
}

void pb_probe_introspection(probe *p)
{
    if (!pb_meta_str(p, "introspection_endpoint")) {
        pb_row(p, "introspection", "not applicable", -1, "no introspection_endpoint");
        return;
    }
    if (!pb_options(p)->client_secret) {
        pb_row(p, "introspection", "not measured", -1,
               "needs --client-secret (RFC 7662 wants client auth)");
        return;
    }
    const char *garbage = garbage_answer(p, BY_INTROSPECTION);
    char why[300];
    json_t *t = pb_tokens(p, "introspection", NULL, why, sizeof why);
    const char *at = pb_jstr(t, "access_token");
    const char *live = at ? introspect(p, at) : NULL;
    if (!live)
        pb_row(p, "introspection", "not measured", -1, "no access token to introspect: %s",
               t ? "the login gave none" : why);
    else if (strcmp(garbage, "inactive") != 0)
        pb_row(p, "introspection", "meaningless", 0,
               "a garbage token introspects as %s (RFC 7662 §2.2: active false)", garbage);
    else
        pb_row(p, "introspection", !strcmp(live, "active") ? "works" : "does not work",
               !strcmp(live, "active"), "a live access token: %s; a garbage one: inactive", live);
    json_decref(t);
}
