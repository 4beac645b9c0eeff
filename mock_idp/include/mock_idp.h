/* mock_idp: a mock OpenID Connect provider for token-renewal testing.
 * Runs on the caller's event_base and time interface, so the harness can embed it on
 * a virtual clock, and the `mock-idp` CLI can run it on real time. */
#ifndef MOCK_IDP_H
#define MOCK_IDP_H

#include <stddef.h>
#include <stdint.h>

#include "cm_clock.h"
#include "cm_rng.h"

struct event_base;

typedef struct idp_server idp_server;
typedef struct idp_config idp_config;

/** Error codes (only ever grow at the end). */
enum idp_status {
    IDP_OK = 0,
    IDP_ENOMEM = -1,
    IDP_ECONFIG = -2, /* configuration file or value invalid */
    IDP_EKEY = -3,    /* signing key could not be made or loaded */
    IDP_ELISTEN = -4, /* could not bind the listening socket */
    IDP_ETLS = -5,    /* TLS certificate or key could not be loaded */
    IDP_EIO = -6,     /* a file could not be opened or written */
};

/** Options beyond the config file (from the command line). All strings borrowed. */
typedef struct idp_options {
    const char *issuer;         /* NULL: from the config, else from the listen address;
                                 * "{port}" is replaced by the bound port */
    const char *trace_out;      /* append each trace entry as a JSON line; NULL: none */
    const char *control_secret; /* NULL: control API on loopback only */
    const char *tls_cert, *tls_key;
    const char *const *presets; /* applied in order after the config */
    size_t n_presets;
    size_t trace_limit; /* entries kept in memory (ring buffer); 0: 100000 */
    size_t state_limit; /* grants, sessions, codes kept (oldest evicted); 0: 10000 */
    void *signing_key;  /* an EVP_PKEY to sign with (borrowed, reference taken); NULL: from
                         * the config (generated, or its signing_key file) */
} idp_options;

/** A short English description of an idp_status. */
const char *idp_strerror(int status);

/** Load and validate a JSON config file; on error, @p err gets "file:line: reason".
 * Returns 0 and a config to own in *out, or a negative idp_status. */
int idp_config_load(const char *path, idp_config **out, char *err, size_t errlen);
/** As idp_config_load, from @p len bytes of @p text; @p name stands for the file in errors. */
int idp_config_parse(const char *name, const char *text, size_t len, idp_config **out, char *err,
                     size_t errlen);
/** The built-in demo config (README "Demo configuration"). Returns 0 or IDP_ENOMEM. */
int idp_config_demo(idp_config **out);
/** The config's signing algorithm ("RS256", "ES256", "EdDSA"; borrowed). */
const char *idp_config_signing_alg(const idp_config *cfg);
/** Whether the config names a signing key file. */
int idp_config_has_key_file(const idp_config *cfg);
/** Free a config. NULL is a no-op. */
void idp_config_free(idp_config *cfg);

/** Make a server. Takes over @p cfg (even on failure); borrows @p base and @p clock,
 * which must outlive the server; copies @p rng. Returns 0 and the server in *out. */
int idp_server_new(struct event_base *base, cm_clock *clock, cm_rng rng, idp_config *cfg,
                   const idp_options *opts, idp_server **out, char *err, size_t errlen);
/** Bind @p host:@p port (0 = any free port) and start serving. */
int idp_server_listen(idp_server *s, const char *host, int port, char *err, size_t errlen);
/** The issuer URL (borrowed; valid after listen). */
const char *idp_server_issuer(const idp_server *s);
/** The bound port, or -1 before listen. */
int idp_server_port(const idp_server *s);
/** Begin a graceful stop: no new connections; answers a fault rule holds still go out
 * when due. @p drained is called once when none is left (at once if there is none). The
 * caller ends the rest at its drain deadline with idp_server_shutdown. */
void idp_server_drain(idp_server *s, void (*drained)(void *arg), void *arg);
/** Stop accepting connections and end every answer a fault rule holds or hangs with
 * 503. Returns how many were ended; the caller then runs the loop a little longer (a
 * drain) to flush them. */
int idp_server_shutdown(idp_server *s);
/** Stop serving and free everything. NULL is a no-op. */
void idp_server_free(idp_server *s);

#endif
