/* Fuzz target: renew_core's JWS parser, signature check and ID-token claim checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rc_int.h"

static rc_jwks jwks;

/* A fixed EC key in the JWKS: inputs can only pass with a forged signature (a bug). */
static const char JWKS[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\","
                           "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                           "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!jwks.keys)
        rc_jwks_parse(JWKS, strlen(JWKS), &jwks);
    char *token = malloc(size + 1);
    memcpy(token, data, size);
    token[size] = '\0';
    rc_jwt jwt;
    int rc = rc_jwt_parse(token, &jwt);
    if (rc == RC_OK) {
        rc_idt_expect e = {.issuer = "https://idp",
                           .client_id = "app",
                           .nonce = "n",
                           .now_ms = 1800000000000LL,
                           .skew_ms = 60000};
        rc_idt_check_claims(jwt.claims, json_string_value(json_object_get(jwt.header, "alg")), &e);
        e.original = jwt.claims;
        rc_idt_check_claims(jwt.claims, "EdDSA", &e);
        if (rc_jwt_verify(&jwt, &jwks) == RC_OK)
            __builtin_trap(); /* a signature by our key cannot come from the fuzzer */
    }
    rc_jwt_dispose(&jwt);
    free(token);
    return 0;
}
