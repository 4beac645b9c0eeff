/* Config loading: JSON in, typed structs out. Unknown keys, wrong types and impossible
 * values are errors of the form "file:line: /json/pointer: reason". */
#include "cm_file.h"
#include "config.h"
#include "fault.h"
#include "handlers.h"
#include "keys.h"
#include "oidc_names.h"
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"
#include "demo_config.h"

/* RFC 6265 §4.1.1 cookie-name: an RFC 2616 token */
#define COOKIE_NAME_CHARS                                                                          \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"

/* F_SKIP: a known key whose value a dedicated function reads */
typedef enum { F_STR, F_BOOL, F_SECS, F_STRLIST, F_OBJ, F_SKIP } field_type;

typedef struct field {
    const char *name;
    field_type type;
    size_t offset;
    const struct field *sub; /* F_OBJ: fields of the nested object, same base */
} field;

typedef struct load_ctx {
    const char *file, *text;
    size_t len;
    char *err;
    size_t errlen;
} load_ctx;

static const field REFRESH_FIELDS[] = {
#define R(n, t, m)                                                                                 \
    {                                                                                              \
        n, t, offsetof(idp_client, refresh.m), NULL                                                \
    }
    R("issue", F_BOOL, issue),
    R("rotation", F_BOOL, rotation),
    R("reuse_detection", F_BOOL, reuse_detection),
    R("reuse_grace", F_SECS, reuse_grace_ms),
    R("absolute_lifetime", F_SECS, absolute_ms),
    R("idle_lifetime", F_SECS, idle_ms),
    R("require_offline_access", F_BOOL, require_offline_access),
    R("id_token", F_BOOL, id_token),
#undef R
    {NULL, 0, 0, NULL}};

static const field CLIENT_FIELDS[] = {
#define C(n, t, m)                                                                                 \
    {                                                                                              \
        n, t, offsetof(idp_client, m), NULL                                                        \
    }
    C("client_id", F_STR, client_id),
    C("client_secret", F_STR, secret),
    C("redirect_uris", F_STRLIST, redirect_uris),
    C("post_logout_redirect_uris", F_STRLIST, post_logout_redirect_uris),
    C("allowed_origins", F_STRLIST, allowed_origins),
    C("scopes", F_STRLIST, scopes),
    {"grant_types", F_SKIP, 0, NULL}, /* client_grants() */
    C("require_consent", F_BOOL, require_consent),
    C("require_pkce", F_BOOL, require_pkce),
    C("introspect_any", F_BOOL, introspect_any),
    C("end_session_revokes", F_BOOL, end_session_revokes),
    C("access_token_lifetime", F_SECS, access_token_ms),
    C("opaque_access_tokens", F_BOOL, opaque_access_tokens),
    C("require_id_token_hint_for_prompt_none", F_BOOL, require_idt_hint),
    C("id_token_lifetime", F_SECS, id_token_ms),
    {"refresh", F_OBJ, 0, REFRESH_FIELDS},
#undef C
    {NULL, 0, 0, NULL}};

static const field USER_FIELDS[] = {{"sub", F_STR, offsetof(idp_user, sub), NULL},
                                    {"password", F_STR, offsetof(idp_user, password), NULL},
                                    {"name", F_STR, offsetof(idp_user, name), NULL},
                                    {"email", F_STR, offsetof(idp_user, email), NULL},
                                    {NULL, 0, 0, NULL}};

static const field COOKIE_FIELDS[] = {
    {"name", F_STR, offsetof(idp_config, cookie.name), NULL},
    {"same_site", F_STR, offsetof(idp_config, cookie.same_site), NULL},
    {"secure", F_BOOL, offsetof(idp_config, cookie.secure), NULL},
    {"lifetime", F_SECS, offsetof(idp_config, cookie.lifetime_ms), NULL},
    {NULL, 0, 0, NULL}};

static const field LIFETIME_FIELDS[] = {{"code", F_SECS, offsetof(idp_config, code_ms), NULL},
                                        {"session", F_SECS, offsetof(idp_config, session_ms), NULL},
                                        {NULL, 0, 0, NULL}};

static const field TOP_FIELDS[] = {
    {"issuer", F_STR, offsetof(idp_config, issuer), NULL},
    {"signing_alg", F_STR, offsetof(idp_config, signing_alg), NULL},
    {"signing_key", F_STR, offsetof(idp_config, key_file), NULL},
    {"key_overlap", F_SECS, offsetof(idp_config, key_overlap_ms), NULL},
    {"cookie", F_OBJ, 0, COOKIE_FIELDS},
    {"lifetimes", F_OBJ, 0, LIFETIME_FIELDS},
    {"clients", F_SKIP, 0, NULL}, /* load_clients() */
    {"users", F_SKIP, 0, NULL},   /* load_users() */
    {"faults", F_SKIP, 0, NULL},  /* load_faults() */
    {"discovery_omit", F_STRLIST, offsetof(idp_config, discovery_omit), NULL},
    {NULL, 0, 0, NULL}};

static int fail(load_ctx *cx, const char *pointer, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (!cx->text) { /* a live change through the control API: no file, no line */
        snprintf(cx->err, cx->errlen, "%s: %s", *pointer ? pointer : "/", reason);
        return IDP_ECONFIG;
    }
    snprintf(cx->err, cx->errlen, "%s:%d: %s: %s", cx->file,
             cm_json_nearest_line(cx->text, cx->len, pointer), *pointer ? pointer : "/", reason);
    return IDP_ECONFIG;
}

static int set_strlist(idp_strlist *l, json_t *v, load_ctx *cx, const char *ptr)
{
    if (!json_is_array(v))
        return fail(cx, ptr, "expected an array of strings");
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->n = 0;
    l->items = calloc(json_array_size(v) + 1, sizeof(char *));
    if (!l->items)
        return IDP_ENOMEM;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        char sub[300];
        snprintf(sub, sizeof sub, "%s/%zu", ptr, i);
        if (!json_is_string(item))
            return fail(cx, sub, "expected a string");
        l->items[l->n++] = strdup(json_string_value(item));
    }
    return 0;
}

static int set_field(const field *f, json_t *v, void *base, load_ctx *cx, const char *ptr)
{
    char *p = (char *)base + f->offset;
    switch (f->type) {
    case F_STR:
        if (json_is_null(v)) {
            free(*(char **)p);
            *(char **)p = NULL;
            return 0;
        }
        if (!json_is_string(v))
            return fail(cx, ptr, "expected a string");
        free(*(char **)p);
        *(char **)p = strdup(json_string_value(v));
        return 0;
    case F_BOOL:
        if (!json_is_boolean(v))
            return fail(cx, ptr, "expected true or false");
        *(int *)p = json_is_true(v);
        return 0;
    case F_SECS:
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 3.2e9)
            return fail(cx, ptr, "expected a number of seconds (0 or more)");
        *(int64_t *)p = (int64_t)(json_number_value(v) * 1000.0 + 0.5);
        return 0;
    case F_STRLIST:
        return set_strlist((idp_strlist *)p, v, cx, ptr);
    case F_OBJ:
    case F_SKIP:
        break;
    }
    return 0;
}

static int parse_fields(const field *fields, json_t *obj, void *base, load_ctx *cx,
                        const char *ptr);

static int parse_one(const field *fields, const char *key, json_t *v, void *base, load_ctx *cx,
                     const char *sub)
{
    for (const field *f = fields; f->name; f++) {
        if (strcmp(f->name, key) != 0)
            continue;
        if (f->type == F_OBJ && f->sub) {
            if (!json_is_object(v))
                return fail(cx, sub, "expected an object");
            return parse_fields(f->sub, v, base, cx, sub);
        }
        if (f->type == F_SKIP)
            return 0;
        return set_field(f, v, base, cx, sub);
    }
    return fail(cx, sub, "unknown key \"%s\"", key);
}

static int parse_fields(const field *fields, json_t *obj, void *base, load_ctx *cx, const char *ptr)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char sub[300];
        snprintf(sub, sizeof sub, "%s/%s", ptr, key);
        int rc = parse_one(fields, key, v, base, cx, sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void client_defaults(idp_client *c)
{
    memset(c, 0, sizeof *c);
    c->grants = IDP_GT_CODE | IDP_GT_REFRESH;
    c->require_pkce = 1;
    c->access_token_ms = 300 * 1000;
    c->id_token_ms = 300 * 1000;
    c->refresh = (idp_refresh_policy){.issue = 1,
                                      .rotation = 1,
                                      .reuse_detection = 1,
                                      .absolute_ms = 86400 * 1000LL,
                                      .id_token = 1};
}

static int client_grants(idp_client *c, json_t *obj, load_ctx *cx, const char *ptr)
{
    json_t *g = json_object_get(obj, "grant_types");
    if (!g)
        return 0;
    char sub[300];
    snprintf(sub, sizeof sub, "%s/grant_types", ptr);
    if (!json_is_array(g))
        return fail(cx, sub, "expected an array of grant type names");
    c->grants = 0;
    size_t i;
    json_t *item;
    json_array_foreach(g, i, item)
    {
        const char *name = json_string_value(item);
        snprintf(sub, sizeof sub, "%s/grant_types/%zu", ptr, i);
        if (name && strcmp(name, OIDC_GRANT_AUTHORIZATION_CODE) == 0)
            c->grants |= IDP_GT_CODE;
        else if (name && strcmp(name, OIDC_GRANT_REFRESH_TOKEN) == 0)
            c->grants |= IDP_GT_REFRESH;
        else if (name && strcmp(name, OIDC_GRANT_CLIENT_CREDENTIALS) == 0)
            c->grants |= IDP_GT_CLIENT_CREDENTIALS;
        else
            return fail(cx, sub,
                        "unknown grant type (authorization_code, refresh_token, "
                        "client_credentials)");
    }
    return 0;
}

int Idp_url_clean(const char *url)
{
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f) /* CR, LF, space, controls: header injection */
            return 0;
    return 1;
}

/* "scheme://host[:port]" of an absolute http(s) URL, or -1 when it is not one. */
static int url_origin(const char *url, char *out, size_t n)
{
    const char *rest = strncmp(url, "https://", 8) == 0  ? url + 8
                       : strncmp(url, "http://", 7) == 0 ? url + 7
                                                         : NULL;
    if (!rest || !*rest || strchr(url, '#') || !Idp_url_clean(url))
        return -1;
    size_t hostlen = strcspn(rest, "/?");
    if (hostlen == 0 || (size_t)(rest - url) + hostlen >= n)
        return -1;
    memcpy(out, url, (size_t)(rest - url) + hostlen);
    out[(rest - url) + hostlen] = '\0';
    return 0;
}

/* Every URL of @p l an absolute http(s) URL without fragment, spaces or controls. */
static int check_urls(const idp_strlist *l, load_ctx *cx, const char *ptr, const char *name)
{
    char sub[300], origin[256];
    for (size_t i = 0; i < l->n; i++) {
        snprintf(sub, sizeof sub, "%s/%s/%zu", ptr, name, i);
        if (url_origin(l->items[i], origin, sizeof origin) != 0)
            return fail(cx, sub,
                        "must be an absolute http(s) URL without a fragment, spaces or "
                        "control characters");
    }
    return 0;
}

static int client_check(idp_config *cfg, idp_client *c, load_ctx *cx, const char *ptr, int patching)
{
    char origin[256];
    if (!c->client_id || !*c->client_id)
        return fail(cx, ptr, "client_id is required");
    const idp_client *same = Idp_config_client(cfg, c->client_id);
    if (same && same != c && !patching)
        return fail(cx, ptr, "duplicate client_id \"%s\"", c->client_id);
    if ((c->grants & IDP_GT_CLIENT_CREDENTIALS) && !c->secret)
        return fail(cx, ptr, "client_credentials needs a client_secret");
    if (check_urls(&c->redirect_uris, cx, ptr, "redirect_uris") != 0 ||
        check_urls(&c->post_logout_redirect_uris, cx, ptr, "post_logout_redirect_uris") != 0)
        return IDP_ECONFIG;
    if (!c->scopes.n) {
        json_t *def = json_pack("[sssss]", "openid", "profile", "email", "offline_access", "api");
        set_strlist(&c->scopes, def, cx, ptr);
        json_decref(def);
    }
    if (!c->allowed_origins.n) { /* CORS: derived from the redirect URIs */
        c->allowed_origins.items = calloc(c->redirect_uris.n + 1, sizeof(char *));
        for (size_t i = 0; c->allowed_origins.items && i < c->redirect_uris.n; i++) {
            url_origin(c->redirect_uris.items[i], origin, sizeof origin);
            if (!Idp_strlist_has(&c->allowed_origins, origin))
                c->allowed_origins.items[c->allowed_origins.n++] = strdup(origin);
        }
    }
    return 0;
}

static int load_clients(idp_config *cfg, json_t *arr, load_ctx *cx)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return fail(cx, "/clients", "expected an array of clients");
    cfg->clients = calloc(json_array_size(arr) + 1, sizeof(idp_client));
    if (!cfg->clients)
        return IDP_ENOMEM;
    size_t i;
    json_t *obj;
    json_array_foreach(arr, i, obj)
    {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/clients/%zu", i);
        idp_client *c = &cfg->clients[i];
        client_defaults(c);
        cfg->n_clients = i + 1;
        if (!json_is_object(obj))
            return fail(cx, ptr, "expected an object");
        int rc = parse_fields(CLIENT_FIELDS, obj, c, cx, ptr);
        if (rc == 0)
            rc = client_grants(c, obj, cx, ptr);
        if (rc == 0)
            rc = client_check(cfg, c, cx, ptr, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int load_users(idp_config *cfg, json_t *arr, load_ctx *cx)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return fail(cx, "/users", "expected an array of users");
    cfg->users = calloc(json_array_size(arr) + 1, sizeof(idp_user));
    if (!cfg->users)
        return IDP_ENOMEM;
    size_t i;
    json_t *obj;
    json_array_foreach(arr, i, obj)
    {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/users/%zu", i);
        idp_user *u = &cfg->users[i];
        cfg->n_users = i + 1;
        if (!json_is_object(obj))
            return fail(cx, ptr, "expected an object");
        int rc = parse_fields(USER_FIELDS, obj, u, cx, ptr);
        if (rc != 0)
            return rc;
        if (!u->sub || !*u->sub)
            return fail(cx, ptr, "sub is required");
        if (Idp_config_user(cfg, u->sub) != u)
            return fail(cx, ptr, "duplicate user \"%s\"", u->sub);
        if (!u->password)
            u->password = strdup(u->sub);
    }
    return 0;
}

/* Fault rules in the config are checked here, so errors carry the file and line. */
static int load_faults(idp_config *cfg, json_t *arr, load_ctx *cx)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return fail(cx, "/faults", "expected an array of fault rules");
    size_t i;
    json_t *rule;
    json_array_foreach(arr, i, rule)
    {
        char why[300], ptr[350];
        idp_fault *f = Idp_fault_parse(rule, "x", why, sizeof why);
        if (!f) {
            const char *colon = strstr(why, ": ");
            snprintf(ptr, sizeof ptr, "/faults/%zu%.*s", i, colon ? (int)(colon - why) : 0, why);
            if (strcmp(ptr + strlen(ptr) - 1, "/") == 0)
                ptr[strlen(ptr) - 1] = '\0';
            return fail(cx, ptr, "%s", colon ? colon + 2 : why);
        }
        Idp_fault_free(f);
    }
    cfg->faults = json_incref(arr);
    return 0;
}

static void config_defaults(idp_config *cfg)
{
    cfg->signing_alg = strdup("RS256");
    cfg->key_overlap_ms = 3600 * 1000LL;
    cfg->code_ms = 60 * 1000;
    cfg->session_ms = 86400 * 1000LL;
    cfg->cookie.name = strdup("mockidp_session");
    cfg->cookie.same_site = strdup("Lax");
    cfg->cookie.lifetime_ms = 86400 * 1000LL;
}

static int config_check(idp_config *cfg, load_ctx *cx)
{
    idp_alg alg;
    if (Idp_alg_parse(cfg->signing_alg ? cfg->signing_alg : "", &alg) != 0)
        return fail(cx, "/signing_alg", "unknown algorithm (RS256, ES256, EdDSA)");
    const char *ss = cfg->cookie.same_site ? cfg->cookie.same_site : "";
    if (strcmp(ss, "Lax") && strcmp(ss, "Strict") && strcmp(ss, "None"))
        return fail(cx, "/cookie/same_site", "expected \"Lax\", \"Strict\" or \"None\"");
    if (!strcmp(ss, "None") && !cfg->cookie.secure)
        return fail(cx, "/cookie/same_site",
                    "SameSite=None needs \"secure\": true (browsers drop the cookie otherwise)");
    const char *cn = cfg->cookie.name;
    if (!cn || !*cn || strlen(cn) > 64 || strspn(cn, COOKIE_NAME_CHARS) != strlen(cn))
        return fail(cx, "/cookie/name",
                    "a cookie name is 1 to 64 token characters (RFC 6265 §4.1.1)");
    if (cfg->issuer &&
        ((strncmp(cfg->issuer, "http://", 7) && strncmp(cfg->issuer, "https://", 8)) ||
         !Idp_url_clean(cfg->issuer)))
        return fail(cx, "/issuer",
                    "the issuer must be an http(s) URL without spaces or control "
                    "characters");
    return 0;
}

int idp_config_set(idp_config *cfg, json_t *settings, char *err, size_t errlen)
{
    load_ctx cx = {.err = err, .errlen = errlen};
    if (!json_is_object(settings))
        return fail(&cx, "", "expected an object of settings");
    static const char *const LISTS[] = {"clients", "users", "faults"};
    for (int i = 0; i < 3; i++)
        if (json_object_get(settings, LISTS[i]))
            return fail(&cx, "", "\"%s\" is not a setting here", LISTS[i]);
    int rc = parse_fields(TOP_FIELDS, settings, cfg, &cx, "");
    return rc ? rc : config_check(cfg, &cx);
}

int idp_config_parse(const char *file, const char *text, size_t len, idp_config **out, char *err,
                     size_t errlen)
{
    load_ctx cx = {.file = file, .text = text, .len = len, .err = err, .errlen = errlen};
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(err, errlen, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
        return IDP_ECONFIG;
    }
    idp_config *cfg = calloc(1, sizeof *cfg);
    int rc = cfg ? 0 : IDP_ENOMEM;
    if (rc == 0) {
        config_defaults(cfg);
        rc = json_is_object(doc) ? parse_fields(TOP_FIELDS, doc, cfg, &cx, "")
                                 : fail(&cx, "", "the config must be a JSON object");
    }
    if (rc == 0)
        rc = load_clients(cfg, json_object_get(doc, "clients"), &cx);
    if (rc == 0)
        rc = load_users(cfg, json_object_get(doc, "users"), &cx);
    if (rc == 0)
        rc = load_faults(cfg, json_object_get(doc, "faults"), &cx);
    if (rc == 0)
        rc = config_check(cfg, &cx);
    json_decref(doc);
    if (rc != 0) {
        idp_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int idp_config_load(const char *path, idp_config **out, char *err, size_t errlen)
{
    size_t len;
    char *text = cm_file_read(path, CM_FILE_MAX_TEXT, &len, err, errlen);
    if (!text)
        return IDP_EIO;
    int rc = idp_config_parse(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

int idp_config_demo(idp_config **out)
{
    char err[512];
    return idp_config_parse("<demo config>", IDP_DEMO_CONFIG, strlen(IDP_DEMO_CONFIG), out, err,
                            sizeof err);
}

static void strlist_free(idp_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
}

static void client_free(idp_client *c)
{
    free(c->client_id);
    free(c->secret);
    strlist_free(&c->redirect_uris);
    strlist_free(&c->post_logout_redirect_uris);
    strlist_free(&c->allowed_origins);
    strlist_free(&c->scopes);
}

void idp_config_free(idp_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_clients; i++)
        client_free(&cfg->clients[i]);
    for (size_t i = 0; i < cfg->n_users; i++) {
        idp_user *u = &cfg->users[i];
        free(u->sub), free(u->password), free(u->name), free(u->email);
    }
    free(cfg->clients);
    free(cfg->users);
    free(cfg->issuer), free(cfg->signing_alg), free(cfg->key_file);
    free(cfg->cookie.name), free(cfg->cookie.same_site);
    json_decref(cfg->faults);
    strlist_free(&cfg->discovery_omit);
    free(cfg);
}

const idp_client *Idp_config_client(const idp_config *cfg, const char *client_id)
{
    for (size_t i = 0; client_id && i < cfg->n_clients; i++)
        if (cfg->clients[i].client_id && strcmp(cfg->clients[i].client_id, client_id) == 0)
            return &cfg->clients[i];
    return NULL;
}

const idp_user *Idp_config_user(const idp_config *cfg, const char *sub)
{
    for (size_t i = 0; sub && i < cfg->n_users; i++)
        if (cfg->users[i].sub && strcmp(cfg->users[i].sub, sub) == 0)
            return &cfg->users[i];
    return NULL;
}

int Idp_strlist_has(const idp_strlist *l, const char *s)
{
    for (size_t i = 0; s && i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

static void strlist_copy(idp_strlist *dst, const idp_strlist *src)
{
    dst->n = 0;
    dst->items = calloc(src->n + 1, sizeof(char *));
    for (size_t i = 0; dst->items && i < src->n; i++)
        dst->items[dst->n++] = strdup(src->items[i]);
}

static void client_copy(idp_client *dst, const idp_client *src)
{
    *dst = *src;
    dst->client_id = strdup(src->client_id);
    dst->secret = src->secret ? strdup(src->secret) : NULL;
    strlist_copy(&dst->redirect_uris, &src->redirect_uris);
    strlist_copy(&dst->post_logout_redirect_uris, &src->post_logout_redirect_uris);
    strlist_copy(&dst->allowed_origins, &src->allowed_origins);
    strlist_copy(&dst->scopes, &src->scopes);
}

int Idp_client_patch(idp_config *cfg, const char *client_id, json_t *patch, char *err,
                     size_t errlen)
{
    load_ctx cx = {.err = err, .errlen = errlen};
    idp_client *c = (idp_client *)Idp_config_client(cfg, client_id);
    if (!c) {
        snprintf(err, errlen, "/: unknown client \"%s\"", client_id ? client_id : "");
        return IDP_ECONFIG;
    }
    if (!json_is_object(patch))
        return fail(&cx, "", "expected an object of client settings");
    json_t *id = json_object_get(patch, "client_id");
    if (id && !(json_is_string(id) && strcmp(json_string_value(id), client_id) == 0))
        return fail(&cx, "/client_id", "a client id cannot be changed");
    idp_client copy;
    client_copy(&copy, c); /* work on a copy: an invalid patch changes nothing */
    int rc = parse_fields(CLIENT_FIELDS, patch, &copy, &cx, "");
    if (rc == 0)
        rc = client_grants(&copy, patch, &cx, "");
    if (rc == 0)
        rc = client_check(cfg, &copy, &cx, "", 1);
    if (rc != 0) {
        client_free(&copy);
        return rc;
    }
    client_free(c);
    *c = copy;
    return 0;
}

json_t *Idp_client_describe(const idp_client *c)
{
    json_t *grants = json_array();
    if (c->grants & IDP_GT_CODE)
        json_array_append_new(grants, json_string(OIDC_GRANT_AUTHORIZATION_CODE));
    if (c->grants & IDP_GT_REFRESH)
        json_array_append_new(grants, json_string(OIDC_GRANT_REFRESH_TOKEN));
    if (c->grants & IDP_GT_CLIENT_CREDENTIALS)
        json_array_append_new(grants, json_string(OIDC_GRANT_CLIENT_CREDENTIALS));
    const idp_refresh_policy *r = &c->refresh;
    json_t *refresh = json_pack(
        "{s:b, s:b, s:b, s:o, s:o, s:o, s:b, s:b}", "issue", r->issue, "rotation", r->rotation,
        "reuse_detection", r->reuse_detection, "reuse_grace", Idp_seconds(r->reuse_grace_ms),
        "absolute_lifetime", Idp_seconds(r->absolute_ms), "idle_lifetime", Idp_seconds(r->idle_ms),
        "require_offline_access", r->require_offline_access, "id_token", r->id_token);
    return json_pack(
        "{s:s, s:b, s:o, s:b, s:b, s:b, s:b, s:o, s:b, s:b, s:o, s:o}", "client_id", c->client_id,
        "confidential", c->secret != NULL, "grant_types", grants, "require_consent",
        c->require_consent, "require_pkce", c->require_pkce, "introspect_any", c->introspect_any,
        "end_session_revokes", c->end_session_revokes, "access_token_lifetime",
        Idp_seconds(c->access_token_ms), "opaque_access_tokens", c->opaque_access_tokens,
        "require_id_token_hint_for_prompt_none", c->require_idt_hint, "id_token_lifetime",
        Idp_seconds(c->id_token_ms), "refresh", refresh);
}

idp_client *Idp_clients_snapshot(const idp_config *cfg)
{
    idp_client *copy = calloc(cfg->n_clients + 1, sizeof *copy);
    for (size_t i = 0; copy && i < cfg->n_clients; i++)
        client_copy(&copy[i], &cfg->clients[i]);
    return copy;
}

void Idp_clients_restore(idp_config *cfg, const idp_client *snapshot)
{
    for (size_t i = 0; snapshot && i < cfg->n_clients; i++) {
        client_free(&cfg->clients[i]);
        client_copy(&cfg->clients[i], &snapshot[i]);
    }
}

void Idp_clients_snapshot_free(idp_client *snapshot, size_t n)
{
    for (size_t i = 0; snapshot && i < n; i++)
        client_free(&snapshot[i]);
    free(snapshot);
}

const char *idp_config_signing_alg(const idp_config *cfg)
{
    return cfg->signing_alg;
}

int idp_config_has_key_file(const idp_config *cfg)
{
    return cfg->key_file != NULL;
}
