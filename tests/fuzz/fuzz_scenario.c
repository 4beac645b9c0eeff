/* Fuzz target: scenario validation, and the pointer-to-line locator on the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[600];
    json_t *scn = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (scn && scn_validate(scn, err, sizeof err) != 0) {
        char ptr[300];
        snprintf(ptr, sizeof ptr, "%.*s", (int)strcspn(err, ":"), err);
        cm_json_pointer_line((const char *)data, size, ptr);
    }
    cm_json_pointer_line((const char *)data, size, "/steps/0/rule/match");
    json_decref(scn);
    return 0;
}
