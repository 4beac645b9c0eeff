/* Fuzz target: the mock IdP's config loader (with fault rules and positions). */
#include <stdint.h>

#include "mock_idp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    idp_config *cfg = NULL;
    char err[512];
    if (idp_config_parse("fuzz", (const char *)data, size, &cfg, err, sizeof err) == 0)
        idp_config_free(cfg);
    return 0;
}
