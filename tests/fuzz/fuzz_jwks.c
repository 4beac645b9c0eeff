/* Fuzz target: JWKS parsing into OpenSSL keys. */
#include <stdint.h>

#include "rc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rc_jwks jwks;
    rc_jwks_parse((const char *)data, size, &jwks);
    rc_jwks_dispose(&jwks);
    return 0;
}
