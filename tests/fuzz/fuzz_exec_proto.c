/* Fuzz target: the exec adapter protocol's line checker and the capability check on what
 * passes it (harness/src/exec_proto.c). */
#include <stdint.h>
#include <string.h>

#include "exec_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300], buf[120];
    json_t *m = hr_proto_parse((const char *)data, size, err, sizeof err);
    if (m && !strcmp(json_string_value(json_object_get(m, "type")), "hello")) {
        json_t *scn = json_pack("{s:{s:[s], s:i}}", "client", "methods", "silent", "tabs", 1);
        hr_proto_missing(m, scn, buf, sizeof buf);
        json_decref(scn);
    }
    json_decref(m);
    return 0;
}
