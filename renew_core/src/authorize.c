/* The authorization code flow, for logging in and for silent renewal: the request with
 * PKCE (RFC 7636) and prompt=none (OIDC Core §3.1.2.6), the callback's state check
 * (RFC 6749 §10.12) and the code exchange with its ID-token checks. */
#include "client_int.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"
#include "cm_form.h"

char *rc_authorize_url(rc_client *c, int silent, char *state, char *nonce, char *verifier)
{
    if (!c->authorization_endpoint || !c->redirect_uri)
        return NULL;
    rc_random_token(c, state, 64);
    rc_random_token(c, nonce, 64);
    rc_random_token(c, verifier, 64); /* 43 characters: the shortest verifier allowed */
    unsigned char md[SHA256_DIGEST_LENGTH];
    char challenge[64];
    SHA256((const unsigned char *)verifier, strlen(verifier), md);
    cm_b64url_encode(md, sizeof md, challenge);
    cm_strbuf q;
    cm_strbuf_init(&q);
    rc_form_add(&q, "response_type", "code");
    rc_form_add(&q, "client_id", c->client_id);
    rc_form_add(&q, "redirect_uri", c->redirect_uri);
    rc_form_add(&q, "scope", c->scope);
    rc_form_add(&q, "state", state);
    rc_form_add(&q, "nonce", nonce);
    rc_form_add(&q, "code_challenge", challenge);
    rc_form_add(&q, "code_challenge_method", "S256");
    if (silent) /* with the session's latest ID token (OIDC Core §3.1.2.1) */
        rc_form_add(&q, "prompt", "none");
    if (silent && c->cfg.id_token_hint && c->tok.id_token)
        rc_form_add(&q, "id_token_hint", c->tok.id_token);
    cm_strbuf url;
    cm_strbuf_init(&url);
    cm_strbuf_printf(&url, "%s%c%s", c->authorization_endpoint,
                     strchr(c->authorization_endpoint, '?') ? '&' : '?', q.data ? q.data : "");
    cm_strbuf_dispose(&q);
    return cm_strbuf_take(&url);
}

typedef struct redeem_op {
    rc_opbase base;
    void *parent;
    rc_code_done done;
    char nonce[64];
    char *saved_body;
    size_t saved_len;
    int jwks_refetched;
} redeem_op;

static void redeem_finish(rc_client *c, redeem_op *op, int status, const char *error)
{
    void *parent = op->parent;
    rc_code_done done = op->done;
    free(op->saved_body);
    free(op);
    done(c, parent, status, error);
}

/* A silent renewal must bring back the same user (Session Management: another user in
 * the IdP session means this session is over). */
static int same_user(rc_client *c, json_t *claims)
{
    const char *before = json_string_value(json_object_get(c->id_claims, "sub"));
    const char *now = json_string_value(json_object_get(claims, "sub"));
    return !c->has_session || !before || (now && strcmp(before, now) == 0);
}

static void judge_code_answer(rc_client *c, redeem_op *op, const rc_http_response *r)
{
    rc_token_answer a;
    int rc = rc_token_answer_parse(c, r, op->nonce, &a);
    if (rc == RC_EJWT_KID && !op->jwks_refetched) {
        op->jwks_refetched = 1;
        op->saved_body = malloc(r->body_len + 1);
        if (op->saved_body) {
            memcpy(op->saved_body, r->body, r->body_len);
            op->saved_len = r->body_len;
            if (rc_jwks_refetch(c, &op->base) == RC_OK) {
                rc_token_answer_dispose(&a);
                return;
            }
        }
    }
    if (rc == RC_OK && !same_user(c, a.claims))
        rc = RC_EJWT_SUB;
    if (rc == RC_OK)
        rc = rc_session_commit(c, &a);
    rc_token_answer_dispose(&a);
    redeem_finish(c, op, rc, rc == RC_OK ? NULL : rc_err_name(rc));
}

static void redeem_after_jwks(rc_client *c, void *opv, int status)
{
    redeem_op *op = opv;
    if (status != RC_OK) {
        redeem_finish(c, op, RC_EJWT_KID, "JWKS refetch failed");
        return;
    }
    rc_http_response again = {.status = 200, .body = op->saved_body, .body_len = op->saved_len};
    judge_code_answer(c, op, &again);
}

static void on_code_token(rc_client *c, void *opv, int err, const rc_http_response *r)
{
    redeem_op *op = opv;
    char error[64] = "";
    if (err)
        redeem_finish(c, op, err, rc_strerror(err));
    else if (r->status != 200)
        redeem_finish(c, op, rc_classify_error(r, error, sizeof error), error);
    else
        judge_code_answer(c, op, r);
}

static int authz_error_status(const char *error)
{
    static const char *const interaction[] = {"login_required", "interaction_required",
                                              "consent_required", "account_selection_required"};
    for (size_t i = 0; i < sizeof interaction / sizeof interaction[0]; i++)
        if (strcmp(error, interaction[i]) == 0)
            return RC_EINTERACTION;
    return RC_EOAUTH;
}

/* The parameters of a callback URL: the fragment when there is one, else the query. */
static int callback_params(const char *url, cm_form *f)
{
    const char *p = strchr(url, '#');
    if (!p)
        p = strchr(url, '?');
    const char *start = p ? p + 1 : "";
    size_t len = strcspn(start, "#");
    return cm_form_parse(start, len, f, NULL);
}

int rc_redeem_callback(rc_client *c, void *parent, const char *callback_url, const char *state,
                       const char *nonce, const char *verifier, rc_code_done done)
{
    cm_form f;
    int rc = callback_params(callback_url, &f) == CM_FORM_OK ? RC_OK : RC_EPROTOCOL;
    const char *error = cm_form_get(&f, "error"), *code = cm_form_get(&f, "code");
    const char *got_state = cm_form_get(&f, "state");
    if (rc == RC_OK && (!got_state || strcmp(got_state, state) != 0))
        rc = RC_ESTATE; /* not the answer to our request (RFC 6749 §10.12) */
    else if (rc == RC_OK && error)
        rc = authz_error_status(error);
    else if (rc == RC_OK && !code)
        rc = RC_EPROTOCOL;
    redeem_op *op = rc == RC_OK ? calloc(1, sizeof *op) : NULL;
    if (rc == RC_OK && !op)
        rc = RC_ENOMEM;
    if (rc != RC_OK) {
        done(c, parent, rc, error ? error : rc_err_name(rc)); /* error is borrowed from f */
        cm_form_dispose(&f);
        return RC_OK; /* reported through done */
    }
    *op = (redeem_op){.base.after_jwks = redeem_after_jwks, .parent = parent, .done = done};
    snprintf(op->nonce, sizeof op->nonce, "%s", nonce);
    cm_strbuf b;
    cm_strbuf_init(&b);
    rc_form_add(&b, "grant_type", "authorization_code");
    rc_form_add(&b, "code", code);
    rc_form_add(&b, "redirect_uri", c->redirect_uri);
    rc_form_add(&b, "code_verifier", verifier);
    rc_form_client(c, &b);
    cm_form_dispose(&f);
    rc = rc_post_form(c, op, c->token_endpoint, &b, on_code_token);
    if (rc != RC_OK)
        redeem_finish(c, op, rc, rc_strerror(rc));
    return RC_OK;
}

/* ---- login with an IdP session cookie --------------------------------------------------- */
