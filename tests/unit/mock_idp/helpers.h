/* In-memory harness for mock_idp unit tests: a fixed clock and requests without sockets. */
#ifndef TEST_IDP_HELPERS_H
#define TEST_IDP_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "idp_int.h"

typedef struct fake_clock {
    cm_clock iface;
    int64_t now;
} fake_clock;

static int64_t fake_now(void *ctx)
{
    return ((fake_clock *)ctx)->now;
}

static int fake_set(void *ctx, int64_t now)
{
    ((fake_clock *)ctx)->now = now;
    return 0;
}

static inline void fake_clock_init(fake_clock *c, int64_t now)
{
    memset(c, 0, sizeof *c);
    c->now = now;
    c->iface.now_ms = fake_now;
    c->iface.set_ms = fake_set;
    c->iface.ctx = c;
}

static cm_seeded_rng test_rng_state;

static inline idp_server *test_server(fake_clock *clock)
{
    idp_config *cfg;
    cr_assert_eq(idp_config_demo(&cfg), 0);
    idp_server *s = NULL;
    char err[256];
    cr_assert_eq(idp_server_new(NULL, &clock->iface, cm_rng_seeded(&test_rng_state, 1), cfg, NULL,
                                &s, err, sizeof err),
                 0, "%s", err);
    s->issuer = strdup("http://idp.test");
    return s;
}

/* Run one request through Idp_dispatch. @p query and @p body may be NULL. */
static inline void call(idp_server *s, idp_resp *rs, const char *method, const char *path,
                        const char *query, const char *body, idp_header *headers, size_t nh,
                        int loopback)
{
    idp_req rq = {0};
    rq.method = method;
    rq.path = strdup(path);
    rq.query_status =
        cm_form_parse(query ? query : "", query ? strlen(query) : 0, &rq.query, &rq.query_bad);
    rq.body = body ? body : "";
    rq.body_len = strlen(rq.body);
    if (body && body[0] != '{') {
        rq.form_parsed = 1;
        rq.form_status = cm_form_parse(rq.body, rq.body_len, &rq.form, &rq.form_bad);
    }
    idp_header all[16];
    cr_assert(nh < 16);
    if (nh)
        memcpy(all, headers, nh * sizeof *headers);
    if (body && body[0] == '{' &&
        !Idp_req_header(&(idp_req){.headers = all, .n_headers = nh}, "Content-Type"))
        all[nh++] = (idp_header){"Content-Type", "application/json"}; /* a control write */
    rq.headers = all;
    rq.n_headers = nh;
    rq.peer_loopback = loopback;
    rq.now_ms = cm_clock_now(s->clock);
    Idp_resp_init(rs);
    Idp_dispatch(s, &rq, rs);
    cm_form_dispose(&rq.query);
    cm_form_dispose(&rq.form);
    free(rq.path);
}

static inline json_t *body_json(const idp_resp *rs)
{
    return json_loads(rs->body.data ? rs->body.data : "", 0, NULL);
}

#endif
