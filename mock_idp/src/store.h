/* mock_idp internals: the state (sessions, codes, grants, tokens): store.c, values.c,
 * mint.c, scope.c, evict.c. */
#ifndef IDP_STORE_H
#define IDP_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_map.h"
#include "config.h"
#include "mock_idp.h"

/* ---- state: sessions, codes, grants (families), tokens ---------------------------- */

typedef struct idp_session {
    char label[24];       /* "sess#N" */
    unsigned long serial; /* creation order, for eviction */
    char *cookie;         /* cookie value */
    char *sub;
    int64_t auth_time_ms, expires_ms;
    cm_map consents; /* client_id -> (void*)1 */
} idp_session;

typedef enum { IDP_TOK_ACCESS, IDP_TOK_REFRESH } idp_token_kind;

typedef struct idp_family idp_family;

typedef struct idp_token {
    idp_token_kind kind;
    char label[24];     /* "at#N" / "rt#N" */
    char key[48];       /* in the token map: the value, or "#" + SHA-256 of a longer one */
    char *value;        /* refresh tokens; access tokens only until answered (Idp_token_sent) */
    idp_family *family; /* NULL for client_credentials access tokens */
    char *client_id, *sub, *scope;
    int64_t issued_ms, expires_ms, last_used_ms;
    int64_t rotated_ms; /* refresh tokens: when superseded (0 = current) */
    int revoked;
    struct idp_token *next_in_family; /* the next older token of its family */
    struct idp_token *prev_in_family; /* the next newer one */
} idp_token;

struct idp_family {
    char label[24]; /* "f#N" */
    int evicted;    /* being freed by Idp_store_enforce_limits */
    char *client_id, *sub, *scope, *nonce, *session_label;
    int64_t auth_time_ms, created_ms, expires_ms; /* expires_ms 0 = no absolute limit */
    int revoked;
    char *revoked_why;
    idp_token *tokens;  /* newest first */
    idp_token *oldest;  /* the list's last */
    size_t n_tokens[2]; /* in the list, by kind */
    idp_token *current_rt;
};

typedef struct idp_code {
    char label[24];
    unsigned long serial;
    char *value, *client_id, *redirect_uri, *sub, *scope, *nonce, *challenge, *session_label;
    int64_t auth_time_ms, expires_ms;
    int used;
    idp_family *family; /* the grant it produced, revoked if the code is replayed */
} idp_code;

typedef struct idp_store {
    cm_map sessions;       /* cookie value -> idp_session */
    cm_map codes;          /* code value -> idp_code */
    cm_map tokens;         /* token value -> idp_token */
    cm_map pending;        /* interaction id -> json_t (authorize parameters) */
    cm_map latest_idt;     /* "client_id sub" -> the newest ID token issued (its value key,
                            * malloc'd), for require_id_token_hint_for_prompt_none */
    idp_family **families; /* oldest first */
    size_t n_families, cap_families;
    idp_token **loose; /* tokens of no grant (client_credentials), oldest first */
    size_t n_loose, cap_loose;
    unsigned long next_session, next_code, next_family, next_at, next_rt;
    size_t limit;             /* grants, sessions, codes, loose tokens kept; 0 = 10000 */
    size_t grant_tokens_kept; /* per grant and kind (see idp_options); 0 = 64 */
    unsigned long evicted;    /* entries evicted to stay within the limit */
} idp_store;

void Idp_store_init(idp_store *st);
/** Whether Idp_store_enforce_limits has something to evict. */
int Idp_store_over_limits(const idp_store *st);
/** Evict the oldest grants, sessions, codes and loose tokens beyond the store's limit
 * (in batches of a tenth), so a long-running IdP's memory stays bounded. */
void Idp_store_enforce_limits(idp_server *s);
void Idp_store_dispose(idp_store *st);
/* Inside the store's part (store.c, mint.c, evict.c): freeing, keys, values. */
void Idp_store_token_free(idp_token *t);
void Idp_store_family_free(idp_family *f);
void Idp_store_session_free(idp_session *s);
void Idp_store_code_free(idp_code *c);
/** The token map's key of a long value from its SHA-256: "#" and its base64url
 * (values.c). */
void Idp_value_key_of_hash(const unsigned char md[32], char key[48]);
/** The token map's key for @p value: short values as they are, long ones (JWTs) hashed. */
void Idp_value_key(const char *value, char key[48]);
/** A fresh random token value (malloc'd), or NULL. */
char *Idp_value_random(idp_server *s);
/* Remember @p jwt as the newest ID token issued to @p sub at @p client_id. */
void Idp_value_note_id_token(idp_store *st, const char *client_id, const char *sub,
                             const char *jwt);
/* Whether @p jwt is that newest ID token. */
int Idp_value_is_latest_id_token(const idp_store *st, const char *client_id, const char *sub,
                                 const char *jwt);
/** An ID token to mint with an access token (its at_hash from it), in the same signing
 * window (mint.c). */
typedef struct id_companion {
    const char *nonce;
    char *jwt; /* out */
} id_companion;
/** The value of access token @p t (a signed JWT, or opaque), and @p idc's ID token when
 * given; t->key is set for a JWT (mint.c). NULL when out of memory. */
char *Idp_mint_access_value(idp_server *s, const idp_client *c, idp_token *t, id_companion *idc);

/** Token lifecycle (store.c; tokens are minted in mint.c). */
idp_session *Idp_session_create(idp_server *s, const char *sub, int64_t now_ms);
idp_session *Idp_session_find(idp_server *s, const char *cookie, int64_t now_ms);
void Idp_session_end(idp_server *s, idp_session *sess);
idp_family *Idp_family_create(idp_server *s, const idp_code *code, int64_t now_ms);
idp_token *Idp_token_issue(idp_server *s, idp_token_kind kind, idp_family *fam, const idp_client *c,
                           const char *sub, const char *scope, int64_t now_ms);
/** An access token for @p fam and the ID token that goes with it (at_hash of the access
 * token; @p nonce NULL = none), signed together: *id_token gets it (caller frees). */
idp_token *Idp_token_issue_with_id_token(idp_server *s, idp_family *fam, const idp_client *c,
                                         const char *scope, const char *nonce, int64_t now_ms,
                                         char **id_token);
idp_token *Idp_token_find(idp_server *s, const char *value);
/** The token's value is in the answer: forget it (a JWT access token is ~1 KB; the map
 * keeps its hash). Refresh tokens keep theirs (a fault rule may send one again). */
void Idp_token_sent(idp_token *t);
/** Revoke a family and every token in it; @p why is recorded in the state. */
void Idp_family_revoke(idp_family *fam, const char *why);
/** Whether a token is usable now (not revoked, not expired, family alive). */
int Idp_token_live(const idp_token *t, int64_t now_ms);
json_t *Idp_store_state(idp_server *s, int64_t now_ms);
void Idp_store_reset(idp_server *s);
/** Build a signed ID token for @p fam at @p now_ms; @p access_token for at_hash (may be
 * NULL); @p nonce NULL = none. Caller frees. */
char *Idp_id_token(idp_server *s, const idp_family *fam, const idp_client *c,
                   const char *access_token, const char *nonce, int64_t now_ms);
/** Scope helpers (space-separated lists; scope.c). */
int Idp_scope_has(const char *scope, const char *item);
int Idp_scope_subset(const char *sub, const char *super);
/** Whether every item of @p scope is among the client's allowed scopes. */
int Idp_scope_allowed(const idp_client *c, const char *scope);

#endif
