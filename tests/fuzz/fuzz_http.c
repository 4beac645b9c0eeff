/* Fuzz target: whole requests through the mock IdP's dispatcher — the OIDC endpoints,
 * Basic auth, cookies, forms, and the control API's JSON. Input: method\npath\nquery\n
 * header lines "Name: value" ... \n\nbody. State is reset between inputs.
 * Two properties beside "no crash, no leak": no answer is a 5xx (no fault rule is in place
 * at the start of an input), and an answer of 4xx changed nothing the control API shows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idp_int.h"

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return 1800000000000LL;
}

static int fixed_set(void *ctx, int64_t now)
{
    (void)ctx, (void)now;
    return 0;
}

static cm_clock clock_ = {.now_ms = fixed_now, .set_ms = fixed_set};
static idp_server *srv;
static cm_seeded_rng rng;

static char *take_line(char **p, char *end)
{
    char *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));
    if (!nl)
        nl = end;
    *nl = '\0';
    *p = nl < end ? nl + 1 : end;
    return start;
}

/* What the control API shows of the state: grants, sessions, rules, clients, clock. */
static char *fingerprint(void)
{
    static const char *const VIEWS[] = {"/_mock/state", "/_mock/faults", "/_mock/clients",
                                        "/_mock/clock"};
    cm_strbuf b;
    cm_strbuf_init(&b);
    for (size_t i = 0; i < sizeof VIEWS / sizeof VIEWS[0]; i++) {
        idp_req rq = {.method = "GET",
                      .path = (char *)VIEWS[i],
                      .peer_loopback = 1,
                      .now_ms = fixed_now(NULL)};
        idp_resp rs;
        Idp_resp_init(&rs);
        Idp_dispatch(srv, &rq, &rs);
        Idp_resp_materialize(&rs);
        cm_strbuf_puts(&b, rs.body.data ? rs.body.data : "");
        Idp_resp_dispose(&rs);
    }
    cm_strbuf_printf(&b, "keys=%zu", srv->keys.n);
    return cm_strbuf_take(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) {
        idp_config *cfg;
        char err[256];
        idp_config_demo(&cfg);
        free(cfg->signing_alg); /* ES256: key rotation requests stay cheap */
        cfg->signing_alg = strdup("ES256");
        idp_server_new(NULL, &clock_, cm_rng_seeded(&rng, 1), cfg, NULL, &srv, err, sizeof err);
        srv->issuer = strdup("http://idp.fuzz");
    }
    char *buf = malloc(size + 1), *p = buf, *end = buf + size;
    memcpy(buf, data, size);
    buf[size] = '\0';
    idp_header headers[16];
    idp_req rq = {.headers = headers, .peer_loopback = 1, .now_ms = fixed_now(NULL)};
    rq.method = take_line(&p, end);
    rq.path = take_line(&p, end);
    char *query = take_line(&p, end);
    for (char *line; p < end && *(line = take_line(&p, end)) && rq.n_headers < 16;) {
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            headers[rq.n_headers++] = (idp_header){line, colon + 1 + (colon[1] == ' ')};
        }
    }
    rq.body = p;
    rq.body_len = (size_t)(end - p);
    rq.query_status = cm_form_parse(query, strlen(query), &rq.query, &rq.query_bad);
    const char *ct = Idp_req_header(&rq, "Content-Type");
    if (ct && !strncmp(ct, "application/x-www-form-urlencoded", 33)) {
        rq.form_parsed = 1;
        rq.form_status = cm_form_parse(rq.body, rq.body_len, &rq.form, &rq.form_bad);
    }
    char *before = fingerprint();
    idp_resp rs;
    Idp_resp_init(&rs);
    Idp_dispatch(srv, &rq, &rs);
    Idp_resp_materialize(&rs);
    if (rs.status >= 500)
        __builtin_trap(); /* bad input is the client's error, never the server's */
    char *after = rs.status >= 400 ? fingerprint() : NULL;
    if (after && strcmp(before, after) != 0)
        __builtin_trap(); /* an operation answered with an error applied something */
    free(before);
    free(after);
    Idp_resp_dispose(&rs);
    cm_form_dispose(&rq.query);
    cm_form_dispose(&rq.form);
    free(buf);
    Idp_store_reset(srv); /* every input starts from the same state */
    Idp_trace_clear(&srv->trace, 1);
    Idp_faults_clear(srv);
    Idp_clients_restore(srv->cfg, srv->startup_clients);
    while (srv->keys.n > 1) { /* drop keys added by /_mock/keys/rotate */
        EVP_PKEY_free(srv->keys.items[--srv->keys.n].pkey);
    }
    srv->keys.items[0].retire_ms = 0;
    return 0;
}
