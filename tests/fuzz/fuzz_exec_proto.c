/* Fuzz target: the exec adapter protocol's line checker and the capability check on what
 * passes it (harness/targets/exec_proto.c, caps.c). */
#include <stdint.h>
#include <string.h>

#include "exec_proto.h"
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300], buf[120];
    json_t *m = hr_proto_parse((const char *)data, size, err, sizeof err);
    if (m && !strcmp(json_string_value(json_object_get(m, "type")), "hello")) {
        json_t *scn = json_pack("{s:{s:[s], s:i}}", "client", "methods", "silent", "tabs", 1);
        hr_caps_missing(hr_caps_of(json_object_get(m, "capabilities")), scn, buf, sizeof buf);
        json_decref(scn);
    }
    json_decref(m);
    return 0;
}
