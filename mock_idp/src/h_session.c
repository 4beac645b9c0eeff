/* OpenID Connect Session Management 1.0: session_state in authorization responses (§2)
 * and the OP's check_session_iframe (§3.3), which answers the RP frame's postMessage with
 * "changed", "unchanged" or "error". The OP frame asks this server over a same-origin
 * fetch (its cookie is HttpOnly), so a server-side logout is seen at once. */
#include "cm_rng.h"
#include "handlers.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"
#include "cm_form.h"

/* "scheme://host[:port]" of @p uri, or "" */
static void origin_of(const char *uri, char *out, size_t n)
{
    const char *host = uri ? strstr(uri, "://") : NULL;
    size_t len = host ? strcspn(host + 3, "/?#") + (size_t)(host + 3 - uri) : 0;
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), uri ? uri : "");
}

/* §3.1 example: hash(client_id " " origin " " browser_state " " salt) "." salt, with the
 * session's secret cookie value as the browser state. */
static int session_hash(const char *client_id, const char *origin, const idp_session *sess,
                        const char *salt, char *out, size_t n)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, client_id, strlen(client_id)) && EVP_DigestUpdate(ctx, " ", 1) &&
             EVP_DigestUpdate(ctx, origin, strlen(origin)) && EVP_DigestUpdate(ctx, " ", 1) &&
             EVP_DigestUpdate(ctx, sess->cookie, strlen(sess->cookie)) &&
             EVP_DigestUpdate(ctx, " ", 1) && EVP_DigestUpdate(ctx, salt, strlen(salt)) &&
             EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok || n < cm_b64url_encoded_size(sizeof md) + strlen(salt) + 2)
        return -1;
    size_t len = cm_b64url_encode(md, sizeof md, out);
    snprintf(out + len, n - len, ".%s", salt);
    return 0;
}

char *Idp_session_state(idp_server *s, const char *client_id, const char *redirect_uri,
                        const idp_session *sess)
{
    char origin[256], salt[16], out[96];
    origin_of(redirect_uri, origin, sizeof origin);
    if (!sess || cm_rng_token(&s->rng, 6, salt, sizeof salt) != 0 ||
        session_hash(client_id, origin, sess, salt, out, sizeof out) != 0)
        return NULL;
    return strdup(out);
}

static const char CHECK_PAGE[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>check_session</title></head>"
    "<body><script>\n"
    "window.addEventListener('message', function (e) {\n"
    "  var parts = typeof e.data === 'string' ? e.data.split(' ') : [];\n"
    "  if (parts.length !== 2) { e.source.postMessage('error', e.origin); return; }\n"
    "  var q = new URLSearchParams({client_id: parts[0], origin: e.origin,\n"
    "                               session_state: parts[1]});\n"
    "  fetch('/check_session/status?' + q, {credentials: 'include'})\n"
    "    .then(function (r) { return r.json(); })\n"
    "    .then(function (j) { e.source.postMessage(j.status, e.origin); })\n"
    "    .catch(function () { e.source.postMessage('error', e.origin); });\n"
    "});\n"
    "</script></body></html>";

static const char *session_status(idp_server *s, const idp_req *rq, idp_resp *rs)
{
    const char *client_id = Idp_req_param(rq, "client_id");
    const char *origin = Idp_req_param(rq, "origin");
    const char *state = Idp_req_param(rq, "session_state");
    const char *dot = state ? strrchr(state, '.') : NULL;
    if (!client_id || !origin || !dot || !dot[1] || strlen(dot + 1) > 16)
        return "error";
    char buf[256], want[96];
    idp_session *sess =
        Idp_session_find(s, Idp_req_cookie(rq, s->cfg->cookie.name, buf, sizeof buf), rq->now_ms);
    if (!sess)
        return "changed";
    if (rs->trace)
        json_object_set_new(rs->trace, "sub", json_string(sess->sub));
    if (session_hash(client_id, origin, sess, dot + 1, want, sizeof want) != 0)
        return "error";
    return Idp_str_equal_ct(want, state) ? "unchanged" : "changed";
}

void Idp_h_check_session(idp_server *s, idp_req *rq, idp_resp *rs)
{
    if (strcmp(rq->path, "/check_session") == 0) {
        Idp_resp_html(rs, 200, strdup(CHECK_PAGE));
        return;
    }
    if (strcmp(rq->path, "/check_session/status") != 0) {
        Idp_resp_json(rs, 404, json_pack("{s:s}", "error", "not found"));
        return;
    }
    const char *status = session_status(s, rq, rs);
    if (rs->trace)
        json_object_set_new(rs->trace, "session_status", json_string(status));
    Idp_resp_json(rs, 200, json_pack("{s:s}", "status", status));
}
