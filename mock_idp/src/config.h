/* mock_idp internals: the configuration model (clients, users, cookies) and its helpers (config.c).
 */
#ifndef IDP_CONFIG_H
#define IDP_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mock_idp.h"

#define IDP_B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* ---- configuration ---------------------------------------------------------------- */

enum { IDP_GT_CODE = 1, IDP_GT_REFRESH = 2, IDP_GT_CLIENT_CREDENTIALS = 4 };

typedef struct idp_refresh_policy {
    int issue;                  /* issue refresh tokens at all */
    int rotation;               /* a new refresh token on every refresh */
    int reuse_detection;        /* a rotated token presented again revokes the family */
    int64_t reuse_grace_ms;     /* a rotated token stays usable this long (0 = never) */
    int64_t absolute_ms;        /* family lifetime from the grant (0 = unlimited) */
    int64_t idle_ms;            /* expires when unused this long (0 = unlimited) */
    int require_offline_access; /* only when the grant includes offline_access */
    int id_token;               /* refresh responses carry an ID token (§12.2) */
} idp_refresh_policy;

typedef struct idp_strlist {
    char **items;
    size_t n;
} idp_strlist;

typedef struct idp_client {
    char *client_id;
    char *secret; /* NULL for a public client */
    idp_strlist redirect_uris, post_logout_redirect_uris, allowed_origins, scopes;
    unsigned grants;
    int require_consent, require_pkce, introspect_any, end_session_revokes;
    int opaque_access_tokens; /* random strings instead of RFC 9068 JWTs */
    int require_idt_hint;     /* prompt=none needs id_token_hint: the newest ID token issued
                               * to that user and client (as some IdPs insist) */
    int64_t access_token_ms, id_token_ms;
    idp_refresh_policy refresh;
} idp_client;

typedef struct idp_user {
    char *sub, *password, *name, *email;
} idp_user;

typedef struct idp_cookie_policy {
    char *name, *same_site;
    int secure;
    int64_t lifetime_ms;
} idp_cookie_policy;

struct idp_config {
    char *issuer, *signing_alg, *key_file;
    int64_t key_overlap_ms, code_ms, session_ms;
    idp_cookie_policy cookie;
    idp_client *clients;
    size_t n_clients;
    idp_user *users;
    size_t n_users;
    json_t *faults;             /* fault rules from the file (validated), or NULL */
    idp_strlist discovery_omit; /* metadata names left out of discovery (RFC 8414 §2 tests) */
};

/** Change a client's settings live (same keys as the config's client objects). On error,
 * nothing changes and @p err gets "/pointer: reason". */
int Idp_client_patch(idp_config *cfg, const char *client_id, json_t *patch, char *err,
                     size_t errlen);
/** Copies of every client's settings (restored by reset), and their release. */
idp_client *Idp_clients_snapshot(const idp_config *cfg);
void Idp_clients_restore(idp_config *cfg, const idp_client *snapshot);
void Idp_clients_snapshot_free(idp_client *snapshot, size_t n);
/** A client's effective settings as JSON (new reference; the secret is never shown). */
json_t *Idp_client_describe(const idp_client *c);

const idp_client *Idp_config_client(const idp_config *cfg, const char *client_id);
const idp_user *Idp_config_user(const idp_config *cfg, const char *sub);
int Idp_strlist_has(const idp_strlist *l, const char *s);
/** True when @p url holds no space, CR, LF or other control byte. */
int Idp_url_clean(const char *url);

#endif
