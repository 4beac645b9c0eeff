/* Example: log in against mock-idp (a session from /_mock/login, then the code flow with
 * PKCE) and keep the access token fresh, printing each renewal; log out after N renewals.
 *
 *   mock-idp --listen 127.0.0.1:9400 &
 *   renew-example http://127.0.0.1:9400 demo-spa http://127.0.0.1:8080/callback 3
 *
 * Give the demo client short tokens first to see renewals within seconds:
 *   curl -X PATCH localhost:9400/_mock/clients/demo-spa -H 'Content-Type: application/json' -d
 * '{"access_token_lifetime": 65}' Against an https issuer with a private CA (mock-idp --tls-cert),
 * set RENEW_CA_FILE. With RENEW_BLOCKING=1 it asks for a token through rc_fresh_token_blocking
 * first.
 */
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renew_core.h"

typedef struct app {
    struct event_base *base;
    const char *issuer;
    rc_client *client;
    rc_transport control; /* for /_mock/login, which is not part of OIDC */
    char cookie[512];
    int renewals_left, status;
} app;

static void on_logged_out(void *arg, int status)
{
    app *a = arg;
    printf("logged out (%s)\n", rc_strerror(status));
    event_base_loopbreak(a->base);
}

static void on_event(void *arg, const rc_event *ev)
{
    app *a = arg;
    if (ev->type == RC_EV_RENEWED || ev->type == RC_EV_LOGGED_IN) {
        printf("%s: access token valid until %lld (epoch ms)\n",
               ev->type == RC_EV_RENEWED ? "renewed" : "logged in", (long long)ev->expires_at_ms);
        fflush(stdout);
        if (ev->type == RC_EV_RENEWED && --a->renewals_left == 0)
            rc_client_logout(a->client, on_logged_out, a);
    } else if (ev->type == RC_EV_RENEW_FAILED || ev->type == RC_EV_SESSION_LOST) {
        printf("%s: %s (%s)\n", ev->type == RC_EV_SESSION_LOST ? "session lost" : "renew failed",
               rc_err_name(ev->status), ev->detail ? ev->detail : "");
        if (ev->type == RC_EV_SESSION_LOST) {
            a->status = 1;
            event_base_loopbreak(a->base);
        }
    }
}

static void on_login(void *arg, int status)
{
    app *a = arg;
    if (status == RC_OK && getenv("RENEW_BLOCKING")) {
        char *token = NULL; /* the convenience call runs the loop until a token is at hand */
        int rc = rc_fresh_token_blocking(a->client, a->base, &token);
        printf("blocking call: %s (%zu characters)\n", rc_strerror(rc), token ? strlen(token) : 0);
        free(token);
    }
    if (status != RC_OK) {
        fprintf(stderr, "login failed: %s\n", rc_strerror(status));
        a->status = 1;
        event_base_loopbreak(a->base);
    }
}

static void on_mock_login(void *arg, int err, const rc_http_response *r)
{
    app *a = arg;
    json_t *body = err ? NULL : json_loadb(r->body, r->body_len, 0, NULL);
    const char *c = json_string_value(json_object_get(body, "cookie"));
    snprintf(a->cookie, sizeof a->cookie, "%s", c ? c : "");
    json_decref(body);
    if (!*a->cookie || rc_client_login_with_cookie(a->client, a->cookie, on_login, a) != RC_OK) {
        fprintf(stderr, "could not create a session at /_mock/login\n");
        a->status = 1;
        event_base_loopbreak(a->base);
    }
}

static void on_started(void *arg, int status)
{
    app *a = arg;
    char url[600];
    void *handle;
    snprintf(url, sizeof url, "%s/_mock/login", a->issuer);
    rc_http_request rq = {.method = "POST",
                          .url = url,
                          .content_type = "application/json",
                          .body = "{\"sub\":\"alice\"}",
                          .body_len = 15};
    if (status != RC_OK || a->control.send(a->control.ctx, &rq, on_mock_login, a, &handle)) {
        fprintf(stderr, "discovery failed: %s\n", rc_strerror(status));
        a->status = 1;
        event_base_loopbreak(a->base);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: renew-example ISSUER CLIENT_ID REDIRECT_URI RENEWALS\n");
        return 2;
    }
    app a = {.base = event_base_new(), .issuer = argv[1], .renewals_left = atoi(argv[4])};
    cm_clock *clock = cm_realclock_new(a.base);
    const char *ca = getenv("RENEW_CA_FILE");
    if (rc_transport_evhttp_new(a.base, NULL, ca, &a.control) != RC_OK) {
        fprintf(stderr, "cannot use the CA file %s\n", ca ? ca : "(system)");
        return 1;
    }
    rc_memory_store *store = rc_memory_store_new();
    rc_config cfg = {.issuer = argv[1],
                     .client_id = argv[2],
                     .redirect_uri = argv[3],
                     .scope = "openid offline_access"};
    rc_env env = {.base = a.base,
                  .clock = clock,
                  .rng = cm_rng_openssl(),
                  .store = rc_memory_store_iface(store),
                  .on_event = on_event,
                  .event_arg = &a,
                  .ca_file = ca};
    if (rc_client_new(&cfg, &env, &a.client) != RC_OK ||
        rc_client_start(a.client, on_started, &a) != RC_OK) {
        fprintf(stderr, "cannot start the client\n");
        return 1;
    }
    event_base_dispatch(a.base);
    rc_client_free(a.client);
    rc_transport_evhttp_free(&a.control);
    rc_memory_store_free(store);
    cm_realclock_free(clock);
    event_base_free(a.base);
    return a.status;
}
