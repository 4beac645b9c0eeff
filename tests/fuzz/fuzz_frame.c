/* Fuzz target: the connection framing scanner (mock_idp/src/frame.c). The first byte sets
 * how the rest arrives (pieces of 1 to 16 bytes); scanned in pieces or whole, the bytes
 * and the events must agree, and the only rewrite is ';' or a tab to a space. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static int scan(unsigned char *p, size_t n, size_t step)
{
    idp_frame f;
    Idp_frame_reset(&f);
    int events = 0;
    for (size_t i = 0; i < n; i += step)
        events |= Idp_frame_scan(&f, p + i, n - i < step ? n - i : step);
    return events;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = 1 + data[0] % 16, n = size - 1;
    unsigned char *whole = malloc(n + 1), *split = malloc(n + 1);
    memcpy(whole, data + 1, n);
    memcpy(split, data + 1, n);
    int a = scan(whole, n, n ? n : 1), b = scan(split, n, step);
    if (a != b || memcmp(whole, split, n) != 0)
        __builtin_trap(); /* how the bytes arrive changes nothing */
    for (size_t i = 0; i < n; i++)
        if (whole[i] != data[1 + i] &&
            !(whole[i] == ' ' && (data[1 + i] == ';' || data[1 + i] == '\t')))
            __builtin_trap();
    free(whole);
    free(split);
    return 0;
}
