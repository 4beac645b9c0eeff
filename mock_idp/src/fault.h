/* Fault rules: match + action + lifetime (docs/control-api.md, "Fault rules"). */
#ifndef IDP_FAULT_H
#define IDP_FAULT_H

#include <jansson.h>
#include <stdint.h>

typedef enum {
    FA_STATUS,
    FA_LATENCY,
    FA_HANG,
    FA_RESET,
    FA_CLOSE,
    FA_TRUNCATE,
    FA_HTML_502,
    FA_CONTENT_TYPE,
    FA_TOKEN_RESPONSE,
    FA_ID_TOKEN,
    FA_PROMPT_NONE_IGNORED,
    FA_AUTHORIZE_ERROR,
    FA_FRAME_DENY,
    FA_ERROR_PAGE_TOP,
    FA_SESSION_LOST,
    FA_SESSION_SWITCH,
    FA_REVOKE_GRANT,
    FA_CLOCK_SKEW,
    FA_CORS,
    FA_WRONG_STATE,
    FA_REDIRECT_PAGE
} idp_fault_kind;

#define IDP_FAULT_ID_MAX 64
#define IDP_MAX_EPOCH_SECONDS 253402300799.0 /* 9999-12-31T23:59:59Z: clock and until */
#define IDP_FAULT_MAX_SECONDS 31536000.0     /* a year: the bound of every duration in a rule */

typedef struct idp_fault {
    char id[IDP_FAULT_ID_MAX + 1]; /* any text of 1 to IDP_FAULT_ID_MAX bytes */
    json_t *spec;                  /* the rule as given, ids filled in (owned) */
    json_t *match;                 /* borrowed from spec, may be NULL */
    json_t *action;                /* borrowed from spec */
    idp_fault_kind kind;
    long times;       /* hits before the rule retires; 0 = unlimited */
    int64_t until_ms; /* retires at this IdP time; 0 = never */
    long matched;     /* requests that met the match conditions (before nth/probability) */
    long hits;        /* requests the rule was applied to */
} idp_fault;

/** What a request offers to match against (all borrowed, NULL when unknown). */
typedef struct idp_fault_subject {
    const char *endpoint, *method, *grant_type, *client_id, *user;
    int64_t now_ms;
    /* whether the request carries a parameter (match key "param"); may be NULL */
    int (*has_param)(const void *req, const char *name);
    const void *req;
} idp_fault_subject;

/** Validate @p spec (borrowed) and build a rule. On error returns NULL and writes
 * "/json/pointer: reason" into @p err. @p id_hint names the rule when spec has no "id". */
idp_fault *Idp_fault_parse(json_t *spec, const char *id_hint, char *err, size_t errlen);
void Idp_fault_free(idp_fault *f);
/** Whether the rule's match conditions hold (counting the match); @p unit is a draw in
 * [0,1) for the probability. Retired rules never fire. */
int Idp_fault_fires(idp_fault *f, const idp_fault_subject *subj, double unit);
/** The rule as JSON for listing (new reference): spec plus matched/hits/active. */
json_t *Idp_fault_describe(const idp_fault *f, int64_t now_ms);
/** Whether the rule is spent (times reached or past until). */
int Idp_fault_retired(const idp_fault *f, int64_t now_ms);
/** Action parameter helpers. */
const char *Idp_fault_str(const idp_fault *f, const char *key);
double Idp_fault_num(const idp_fault *f, const char *key, double dflt);
int Idp_fault_bool(const idp_fault *f, const char *key);

#endif
