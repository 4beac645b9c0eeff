/* Client authentication at the token, revocation and introspection endpoints
 * (RFC 6749 §2.3.1: client_secret_basic, client_secret_post; "none" for public clients). */
#include "cm_json.h"
#include "config.h"
#include "handlers.h"
#include "oidc_names.h"
#include "req.h"
#include "server_state.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_b64url.h"
#include "cm_form.h"

/* Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1). */
static int parse_basic(const char *hdr, char **id, char **secret)
{
    if (!hdr || strncasecmp(hdr, "Basic ", 6) != 0)
        return -1;
    const char *b64 = hdr + 6;
    size_t n = strlen(b64);
    if (n == 0 || n > 2048)
        return -1;
    size_t cap = cm_b64_decoded_max(n);
    char *raw = malloc(cap + 1);
    long len = raw ? cm_b64_decode(b64, n, (uint8_t *)raw, cap) : -1;
    /* the decoded pair becomes "id=secret" form data: one decoder for both */
    char *colon = len > 0 ? memchr(raw, ':', (size_t)len) : NULL;
    int rc = -1;
    if (colon) {
        *colon = '=';
        cm_form f;
        if (cm_form_parse(raw, (size_t)len, &f, NULL) == CM_FORM_OK && f.count == 1) {
            *id = strdup(f.fields[0].name);
            *secret = strdup(f.fields[0].value);
            rc = *id && *secret ? 0 : -1;
        }
        cm_form_dispose(&f);
    }
    free(raw);
    if (rc != 0) {
        free(*id);
        free(*secret);
        *id = *secret = NULL;
    }
    return rc;
}

static const idp_client *fail(idp_resp *rs, int status, const char *error, const char *desc)
{
    Idp_resp_oauth_error(rs, status, error, desc);
    return NULL;
}

static const idp_client *check(idp_server *s, idp_resp *rs, const char *id, const char *secret,
                               int used_basic, int require_confidential)
{
    const idp_client *c = Idp_config_client(s->cfg, id);
    if (rs->trace && id)
        json_object_set_new(rs->trace, "client_id", cm_json_text(id));
    if (!c)
        return fail(rs, 401, OIDC_ERR_INVALID_CLIENT, "unknown client");
    if (c->secret && !Idp_str_equal_ct(secret, c->secret))
        return fail(rs, 401, OIDC_ERR_INVALID_CLIENT,
                    secret ? "client authentication failed" : "client secret required");
    if (!c->secret && (secret || used_basic))
        return fail(rs, 401, OIDC_ERR_INVALID_CLIENT, "public client: no secret expected");
    if (require_confidential && !c->secret)
        return fail(rs, 401, OIDC_ERR_INVALID_CLIENT, "this endpoint needs client authentication");
    return c;
}

const idp_client *Idp_client_authenticate(idp_server *s, idp_req *rq, idp_resp *rs,
                                          int require_confidential)
{
    const char *hdr = Idp_req_header(rq, "Authorization");
    const char *form_id = cm_form_get(&rq->form, "client_id");
    const char *form_secret = cm_form_get(&rq->form, "client_secret");
    if (hdr && strncasecmp(hdr, "Basic ", 6) == 0) {
        char *id = NULL, *secret = NULL;
        if (parse_basic(hdr, &id, &secret) != 0)
            return fail(rs, 401, OIDC_ERR_INVALID_CLIENT, "malformed Basic credentials");
        const idp_client *c = NULL;
        if (form_secret) /* RFC 6749 §2.3: one authentication method per request */
            fail(rs, 400, OIDC_ERR_INVALID_REQUEST, "more than one client authentication method");
        else if (form_id && strcmp(form_id, id) != 0)
            fail(rs, 400, OIDC_ERR_INVALID_REQUEST, "client_id differs from the Basic credentials");
        else
            c = check(s, rs, id, secret, 1, require_confidential);
        free(id);
        free(secret);
        return c;
    }
    if (!form_id)
        return fail(rs, 401, OIDC_ERR_INVALID_CLIENT, "no client authentication");
    return check(s, rs, form_id, form_secret, 0, require_confidential);
}
