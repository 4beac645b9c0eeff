/* The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2, RFC 7636), with the login
 * and consent pages a real browser can fill in, and the prompt=none outcomes
 * (OIDC Core §3.1.2.6). */
#include "cm_json.h"
#include "cm_map.h"
#include "cm_rng.h"
#include "config.h"
#include "fault.h"
#include "handlers.h"
#include "keys.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "cm_form.h"
#include "cm_strbuf.h"

static const char *const PARAMS[] = {"client_id",      "redirect_uri",
                                     "response_type",  "scope",
                                     "state",          "nonce",
                                     "code_challenge", "code_challenge_method",
                                     "prompt",         "response_mode",
                                     "max_age",        "id_token_hint",
                                     "login_hint",     NULL};

typedef struct authz {
    json_t *p; /* the authorization request's parameters (borrowed) */
    const idp_client *client;
    idp_session *sess;
    int logged_in_now, consented_now;
} authz;

static const char *P(const authz *a, const char *name)
{
    return json_string_value(json_object_get(a->p, name));
}

/* Errors that must not be redirected (RFC 6749 §4.1.2.1): a page, never a redirect. */
static void error_page(idp_resp *rs, const char *error, const char *desc)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_puts(&b, "<!doctype html><html><head><title>Authorization error</title></head><body>"
                       "<h1>Authorization error</h1><p id=\"error\">");
    cm_strbuf_html(&b, error);
    cm_strbuf_puts(&b, "</p><p id=\"error_description\">");
    cm_strbuf_html(&b, desc);
    cm_strbuf_puts(&b, "</p></body></html>");
    rs->error = error;
    Idp_resp_html(rs, 400, cm_strbuf_take(&b));
}

static void add_param(cm_strbuf *b, char *sep, const char *name, const char *value)
{
    if (!value)
        return;
    char *enc = cm_form_encode(value);
    cm_strbuf_printf(b, "%c%s=%s", *sep, name, enc ? enc : "");
    free(enc);
    *sep = '&';
}

/* The login and consent pages: never in another site's frame, where "Allow" could be
 * clickjacked (both headers: older browsers know only X-Frame-Options). */
static void interaction_page(idp_resp *rs, char *html)
{
    Idp_resp_html(rs, 200, html);
    Idp_resp_header(rs, "X-Frame-Options", "DENY");
    Idp_resp_header(rs, "Content-Security-Policy", "frame-ancestors 'none'");
}

/* Redirect back to the client with code or error (query or fragment response mode). */
/* The "error page that navigates _top" fault: instead of redirecting, an HTML error page
 * whose script sends the top-level window (the iframe's parent) to the client. */
static void error_page_top(idp_resp *rs, const char *url, const char *error)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_puts(&b,
                   "<!doctype html><html><head><title>Error</title></head><body><p id=\"error\">");
    cm_strbuf_html(&b, error);
    cm_strbuf_puts(&b, "</p><a id=\"continue\" target=\"_top\" href=\"");
    cm_strbuf_html(&b, url);
    cm_strbuf_puts(&b, "\">Continue</a><script>window.top.location.href = "
                       "document.getElementById('continue').href;</script></body></html>");
    Idp_resp_html(rs, 200, cm_strbuf_take(&b));
    rs->error = error;
}

/* The redirect_page fault: the redirect as an HTML page that navigates by script, as IdPs
 * with an intermediate page do. Unlike a 302, such a page is refused in a frame when it
 * forbids framing (deny_framing), and the silent renewal then never comes back. */
static void redirect_page(idp_resp *rs, const char *url, const char *deny)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_puts(&b, "<!doctype html><html><head><title>Redirecting</title></head><body>"
                       "<a id=\"continue\" href=\"");
    cm_strbuf_html(&b, url);
    cm_strbuf_puts(&b, "\">Continue</a><script>window.location.replace("
                       "document.getElementById('continue').href);</script></body></html>");
    Idp_resp_html(rs, 200, cm_strbuf_take(&b));
    if (deny && !strcmp(deny, "xfo"))
        Idp_resp_header(rs, "X-Frame-Options", "DENY");
    else if (deny)
        Idp_resp_header(rs, "Content-Security-Policy", "frame-ancestors 'none'");
}

static void redirect_back(idp_server *s, const authz *a, idp_resp *rs, const char *code,
                          const char *error, const char *desc)
{
    const char *uri = P(a, "redirect_uri");
    const char *mode = P(a, "response_mode");
    int fragment = mode && strcmp(mode, "fragment") == 0;
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_puts(&b, uri);
    char sep = fragment ? '#' : strchr(uri, '?') ? '&' : '?';
    add_param(&b, &sep, "code", code);
    add_param(&b, &sep, "error", error);
    add_param(&b, &sep, "error_description", desc);
    add_param(&b, &sep, "state",
              Idp_fault_active(s, FA_WRONG_STATE) && P(a, "state") ? "not-the-state-you-sent"
                                                                   : P(a, "state"));
    add_param(&b, &sep, "iss", s->issuer); /* RFC 9207 */
    char *sstate = code ? Idp_session_state(s, a->client->client_id, uri, a->sess) : NULL;
    add_param(&b, &sep, "session_state", sstate); /* OIDC Session Management §2 */
    free(sstate);
    char *url = cm_strbuf_take(&b);
    const idp_fault *page = Idp_fault_active(s, FA_REDIRECT_PAGE);
    if (error && Idp_fault_active(s, FA_ERROR_PAGE_TOP))
        error_page_top(rs, url ? url : uri, error);
    else if (page)
        redirect_page(rs, url ? url : uri, Idp_fault_str(page, "deny_framing"));
    else
        Idp_resp_redirect(rs, url ? url : uri);
    free(url);
    if (error)
        rs->error = error;
}

static char *pending_put(idp_server *s, json_t *params)
{
    char id[48];
    if (cm_rng_token(&s->rng, 16, id, sizeof id) != 0 ||
        cm_map_put(&s->store.pending, id, json_incref(params)) != 0) {
        return NULL;
    }
    return strdup(id);
}

static void page_head(cm_strbuf *b, const char *title)
{
    cm_strbuf_puts(b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>");
    cm_strbuf_html(b, title);
    cm_strbuf_puts(b,
                   "</title><style>body{font-family:sans-serif;max-width:28em;margin:3em auto}"
                   "input,button{display:block;margin:.5em 0;font-size:1em}</style></head><body>");
}

static void show_login(idp_server *s, const authz *a, idp_resp *rs, const char *message)
{
    char *id = pending_put(s, a->p);
    cm_strbuf b;
    cm_strbuf_init(&b);
    page_head(&b, "Sign in — mock-idp");
    cm_strbuf_puts(&b, "<h1>Sign in</h1><p>to continue to <b id=\"client\">");
    cm_strbuf_html(&b, a->client->client_id);
    cm_strbuf_puts(&b, "</b></p>");
    if (message) {
        cm_strbuf_puts(&b, "<p id=\"message\" style=\"color:#b00\">");
        cm_strbuf_html(&b, message);
        cm_strbuf_puts(&b, "</p>");
    }
    cm_strbuf_puts(&b, "<form method=\"post\" action=\"/login\"><input type=\"hidden\" "
                       "name=\"interaction\" value=\"");
    cm_strbuf_html(&b, id ? id : "");
    cm_strbuf_puts(&b,
                   "\"><label>User <input name=\"username\" autocomplete=\"username\" value=\"");
    cm_strbuf_html(&b, P(a, "login_hint") ? P(a, "login_hint") : "");
    cm_strbuf_puts(&b, "\"></label><label>Password <input name=\"password\" type=\"password\">"
                       "</label><button type=\"submit\">Sign in</button></form></body></html>");
    free(id);
    interaction_page(rs, cm_strbuf_take(&b));
}

static void show_consent(idp_server *s, const authz *a, idp_resp *rs)
{
    char *id = pending_put(s, a->p);
    cm_strbuf b;
    cm_strbuf_init(&b);
    page_head(&b, "Consent — mock-idp");
    cm_strbuf_puts(&b, "<h1>Allow access?</h1><p><b id=\"client\">");
    cm_strbuf_html(&b, a->client->client_id);
    cm_strbuf_puts(&b, "</b> asks for <span id=\"scope\">");
    cm_strbuf_html(&b, P(a, "scope") ? P(a, "scope") : "openid");
    cm_strbuf_puts(&b, "</span>.</p><form method=\"post\" action=\"/consent\">"
                       "<input type=\"hidden\" name=\"interaction\" value=\"");
    cm_strbuf_html(&b, id ? id : "");
    cm_strbuf_puts(&b,
                   "\"><button name=\"decision\" value=\"allow\">Allow</button>"
                   "<button name=\"decision\" value=\"deny\">Deny</button></form></body></html>");
    free(id);
    interaction_page(rs, cm_strbuf_take(&b));
}

static void issue_code(idp_server *s, const authz *a, const idp_req *rq, idp_resp *rs)
{
    idp_code *c = calloc(1, sizeof *c);
    char value[64];
    if (!c || cm_rng_token(&s->rng, 32, value, sizeof value) != 0) {
        free(c);
        redirect_back(s, a, rs, NULL, OIDC_ERR_SERVER_ERROR, "cannot issue a code");
        return;
    }
    c->serial = ++s->store.next_code;
    snprintf(c->label, sizeof c->label, "code#%lu", c->serial);
    c->value = strdup(value);
    c->client_id = strdup(a->client->client_id);
    c->redirect_uri = strdup(P(a, "redirect_uri"));
    c->sub = strdup(a->sess->sub);
    c->scope = strdup(P(a, "scope") ? P(a, "scope") : OIDC_SCOPE_OPENID);
    c->nonce = P(a, "nonce") ? strdup(P(a, "nonce")) : NULL;
    c->challenge = P(a, "code_challenge") ? strdup(P(a, "code_challenge")) : NULL;
    c->session_label = strdup(a->sess->label);
    c->auth_time_ms = a->sess->auth_time_ms;
    c->expires_ms = rq->now_ms + s->cfg->code_ms;
    cm_map_put(&s->store.codes, c->value, c);
    Idp_resp_note(rs, "issued", c->label);
    redirect_back(s, a, rs, c->value, NULL, NULL);
}

/* max_age (OIDC Core §3.1.2.1): non-negative whole seconds, at most a century. */
static int max_age_valid(const char *v)
{
    size_t n = strlen(v);
    return n > 0 && n <= 10 && strspn(v, "0123456789") == n && atoll(v) <= 3153600000LL;
}

/* Session checks of OIDC Core §3.1.2.2: max_age and id_token_hint (@p hint_sub, its
 * verified subject). Returns the reason the session cannot be used silently, or NULL. */
static const char *session_problem(const authz *a, const idp_req *rq, const char *hint_sub)
{
    if (!a->sess)
        return "no session";
    const char *max_age = P(a, "max_age");
    if (max_age && !a->logged_in_now && rq->now_ms - a->sess->auth_time_ms > atoll(max_age) * 1000)
        return "max_age exceeded";
    if (P(a, "id_token_hint") && !(hint_sub && strcmp(hint_sub, a->sess->sub) == 0))
        return "id_token_hint names another user";
    return NULL;
}

/* require_id_token_hint_for_prompt_none: the hint must be the newest ID token issued to
 * its user at this client (an IdP that insists answers invalid_request). */
static const char *hint_problem(idp_server *s, const authz *a, const char *hint_sub)
{
    const char *hint = P(a, "id_token_hint");
    if (!a->client->require_idt_hint)
        return NULL;
    if (!hint)
        return "id_token_hint is required with prompt=none";
    int latest =
        hint_sub && Idp_value_is_latest_id_token(&s->store, a->client->client_id, hint_sub, hint);
    return latest ? NULL
                  : "id_token_hint is not the latest ID token issued to this user and client";
}

static int needs_consent(const authz *a)
{
    if (a->consented_now)
        return 0;
    const char *prompt = P(a, "prompt");
    if (prompt && Idp_scope_has(prompt, "consent"))
        return 1;
    return a->client->require_consent && !cm_map_get(&a->sess->consents, a->client->client_id);
}

/* The flow with the verified subject of id_token_hint (@p hint_sub; NULL: none, or not
 * signed by us). */
static void flow(idp_server *s, authz *a, const idp_req *rq, idp_resp *rs, const char *hint_sub)
{
    const char *prompt = P(a, "prompt");
    int none = prompt && strcmp(prompt, "none") == 0;
    int force_login = prompt && Idp_scope_has(prompt, "login") && !a->logged_in_now;
    const char *problem;
    if (a->sess) {
        Idp_resp_note(rs, "sub", a->sess->sub);
        Idp_resp_note(rs, "session", a->sess->label);
    }
    if (none && Idp_fault_active(s, FA_PROMPT_NONE_IGNORED)) {
        show_login(s, a, rs, NULL); /* as Dex does: prompt=none is not supported */
        return;
    }
    if (none && (problem = hint_problem(s, a, hint_sub)) != NULL) {
        redirect_back(s, a, rs, NULL, OIDC_ERR_INVALID_REQUEST, problem);
        return;
    }
    problem = session_problem(a, rq, hint_sub);
    if (none) {
        if (problem)
            redirect_back(s, a, rs, NULL, OIDC_ERR_LOGIN_REQUIRED, problem);
        else if (needs_consent(a))
            redirect_back(s, a, rs, NULL, OIDC_ERR_CONSENT_REQUIRED, "consent not yet given");
        else
            issue_code(s, a, rq, rs);
        return;
    }
    if (problem || force_login)
        show_login(s, a, rs, NULL);
    else if (needs_consent(a))
        show_consent(s, a, rs);
    else
        issue_code(s, a, rq, rs);
}

static void continue_flow(idp_server *s, authz *a, const idp_req *rq, idp_resp *rs)
{
    const char *hint = P(a, "id_token_hint");
    int needed = hint && (a->sess || a->client->require_idt_hint);   /* by the checks below */
    json_t *claims = needed ? Idp_jws_verify(&s->keys, hint) : NULL; /* verified once */
    flow(s, a, rq, rs, json_string_value(json_object_get(claims, "sub")));
    json_decref(claims);
}

static const char *check_scope_pkce(const authz *a, const char **error)
{
    *error = OIDC_ERR_INVALID_REQUEST;
    const char *rt = P(a, "response_type");
    if (!rt || strcmp(rt, "code") != 0) {
        *error = OIDC_ERR_UNSUPPORTED_RESPONSE_TYPE;
        return "only response_type=code is supported";
    }
    const char *mode = P(a, "response_mode");
    if (mode && strcmp(mode, "query") && strcmp(mode, "fragment"))
        return "response_mode must be query or fragment";
    const char *prompt = P(a, "prompt");
    if (prompt && Idp_scope_has(prompt, "none") && strcmp(prompt, "none") != 0)
        return "prompt=none cannot be combined with other values";
    const char *scope = P(a, "scope") ? P(a, "scope") : OIDC_SCOPE_OPENID;
    if (!Idp_scope_allowed(a->client, scope)) {
        *error = OIDC_ERR_INVALID_SCOPE;
        return "scope not allowed for this client";
    }
    const char *chal = P(a, "code_challenge"), *method = P(a, "code_challenge_method");
    if (!chal && a->client->require_pkce)
        return "code_challenge (PKCE) is required for this client";
    if (chal && (!method || strcmp(method, OIDC_PKCE_S256) != 0))
        return "code_challenge_method must be S256";
    /* an S256 challenge is BASE64URL(SHA256(verifier)): exactly 43 characters (RFC 7636
     * §4.2) */
    if (chal && (strlen(chal) != 43 || strspn(chal, IDP_B64URL_CHARS) != 43))
        return "code_challenge must be 43 base64url characters (RFC 7636 §4.2)";
    const char *max_age = P(a, "max_age");
    if (max_age && !max_age_valid(max_age))
        return "max_age must be a whole number of seconds from 0 to 3153600000";
    return NULL;
}

static json_t *collect_params(const idp_req *rq)
{
    json_t *p = json_object();
    for (size_t i = 0; PARAMS[i]; i++) {
        const char *v = Idp_req_param(rq, PARAMS[i]);
        if (v)
            json_object_set_new(p, PARAMS[i], cm_json_text(v));
    }
    return p;
}

static idp_session *cookie_session(idp_server *s, const idp_req *rq)
{
    char buf[256];
    return Idp_session_find(s, Idp_req_cookie(rq, s->cfg->cookie.name, buf, sizeof buf),
                            rq->now_ms);
}

void Idp_h_authorize(idp_server *s, idp_req *rq, idp_resp *rs)
{
    authz a = {.p = collect_params(rq)};
    a.client = Idp_config_client(s->cfg, P(&a, "client_id"));
    Idp_resp_note(rs, "client_id", P(&a, "client_id"));
    Idp_resp_note(rs, "prompt", P(&a, "prompt"));
    if (rs->trace && P(&a, "id_token_hint")) /* its presence only: never a token's value */
        json_object_set_new(rs->trace, "id_token_hint", json_true());
    const char *error, *desc;
    if (!a.client)
        error_page(rs, OIDC_ERR_INVALID_REQUEST, "unknown or missing client_id");
    else if (!Idp_strlist_has(&a.client->redirect_uris, P(&a, "redirect_uri")))
        error_page(rs, OIDC_ERR_INVALID_REQUEST, "redirect_uri missing or not registered");
    else if (!(a.client->grants & IDP_GT_CODE))
        redirect_back(s, &a, rs, NULL, OIDC_ERR_UNAUTHORIZED_CLIENT,
                      "client may not use the code flow");
    else if ((desc = check_scope_pkce(&a, &error)) != NULL)
        redirect_back(s, &a, rs, NULL, error, desc);
    else if (Idp_fault_active(s, FA_AUTHORIZE_ERROR))
        redirect_back(s, &a, rs, NULL, Idp_fault_str(s->active_fault, "error"),
                      "answered by a fault rule");
    else {
        a.sess = cookie_session(s, rq);
        continue_flow(s, &a, rq, rs);
    }
    json_decref(a.p);
}

void Idp_set_session_cookie(idp_server *s, idp_resp *rs, const idp_session *sess)
{
    char hdr[512];
    const idp_cookie_policy *c = &s->cfg->cookie;
    snprintf(hdr, sizeof hdr, "%s=%s; Path=/; HttpOnly; SameSite=%s%s; Max-Age=%lld", c->name,
             sess->cookie, c->same_site, c->secure ? "; Secure" : "",
             (long long)(c->lifetime_ms / 1000));
    Idp_resp_header(rs, "Set-Cookie", hdr);
}

/* Looks up (and consumes) the pending authorization request of a form post. */
static int take_pending(idp_server *s, idp_req *rq, idp_resp *rs, authz *a)
{
    const char *id = cm_form_get(&rq->form, "interaction");
    if (strcmp(rq->method, "POST") != 0 || !rq->form_parsed) {
        error_page(rs, OIDC_ERR_INVALID_REQUEST, "expected a form POST");
        return -1;
    }
    a->p = id ? cm_map_remove(&s->store.pending, id) : NULL;
    a->client = a->p ? Idp_config_client(s->cfg, P(a, "client_id")) : NULL;
    if (!a->client) {
        error_page(rs, OIDC_ERR_INVALID_REQUEST, "unknown or expired interaction");
        return -1;
    }
    Idp_resp_note(rs, "client_id", a->client->client_id);
    return 0;
}

void Idp_h_login_form(idp_server *s, idp_req *rq, idp_resp *rs)
{
    authz a = {0};
    if (take_pending(s, rq, rs, &a) != 0)
        return;
    const char *user = cm_form_get(&rq->form, "username");
    const char *pass = cm_form_get(&rq->form, "password");
    const idp_user *u = Idp_config_user(s->cfg, user);
    if (!u || !Idp_str_equal_ct(pass, u->password)) {
        rs->error = OIDC_ERR_ACCESS_DENIED;
        show_login(s, &a, rs, "Unknown user or wrong password.");
    } else if (!(a.sess = Idp_session_create(s, u->sub, rq->now_ms))) {
        error_page(rs, OIDC_ERR_SERVER_ERROR, "cannot create a session");
    } else {
        a.logged_in_now = 1;
        Idp_resp_note(rs, "session", a.sess->label);
        continue_flow(s, &a, rq, rs);
        Idp_set_session_cookie(s, rs, a.sess);
    }
    json_decref(a.p);
}

void Idp_h_consent_form(idp_server *s, idp_req *rq, idp_resp *rs)
{
    authz a = {0};
    if (take_pending(s, rq, rs, &a) != 0)
        return;
    const char *decision = cm_form_get(&rq->form, "decision");
    a.sess = cookie_session(s, rq);
    if (!a.sess) {
        show_login(s, &a, rs, "Your session ended; sign in again.");
    } else if (!decision || strcmp(decision, "allow") != 0) {
        redirect_back(s, &a, rs, NULL, OIDC_ERR_ACCESS_DENIED, "the user denied consent");
    } else {
        cm_map_put(&a.sess->consents, a.client->client_id, (void *)1);
        a.consented_now = 1;
        continue_flow(s, &a, rq, rs);
    }
    json_decref(a.p);
}

void Idp_clear_session_cookie(idp_server *s, idp_resp *rs)
{
    char hdr[512];
    const idp_cookie_policy *c = &s->cfg->cookie;
    snprintf(hdr, sizeof hdr, "%s=; Path=/; HttpOnly; SameSite=%s%s; Max-Age=0", c->name,
             c->same_site, c->secure ? "; Secure" : "");
    Idp_resp_header(rs, "Set-Cookie", hdr);
}
