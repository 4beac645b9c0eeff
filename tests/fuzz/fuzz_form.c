/* Fuzz target: form-urlencoded bodies and query strings (cm_form_parse). */
#include <stdint.h>
#include <string.h>

#include "cm_form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cm_form f;
    const char *bad = NULL;
    if (cm_form_parse((const char *)data, size, &f, &bad) == CM_FORM_OK) {
        for (size_t i = 0; i < f.count; i++) {
            /* a decoded value has no NUL and is valid UTF-8: the parser promised it */
            if (memchr(f.fields[i].value, '\0', f.fields[i].value_len) ||
                !cm_utf8_valid((const unsigned char *)f.fields[i].value, f.fields[i].value_len))
                __builtin_trap();
        }
        cm_form_get(&f, "grant_type");
    }
    cm_form_dispose(&f);
    return 0;
}
