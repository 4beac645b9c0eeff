/* Fuzz target: base64url decoding; what decodes must encode back to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm_b64url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = cm_b64_decoded_max(size) + 1;
    uint8_t *out = malloc(cap);
    long n = cm_b64url_decode((const char *)data, size, out, cap);
    if (n >= 0) {
        char *again = malloc(cm_b64url_encoded_size((size_t)n));
        size_t m = cm_b64url_encode(out, (size_t)n, again);
        if (m != size || memcmp(again, data, size) != 0)
            __builtin_trap(); /* only canonical encodings are accepted */
        free(again);
    }
    free(out);
    return 0;
}
