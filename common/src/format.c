/* Format versions (see cm_format.h). */
#include "cm_format.h"

#include <stdio.h>

#include "cm_schema.h"

int cm_format_check(json_t *v, const char *what, char *err, size_t n)
{
    int major, minor, used = 0;
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    if (!s || sscanf(s, "%d.%d%n", &major, &minor, &used) != 2 || s[used] || major < 0 || minor < 0)
        return cm_errf(err, n,
                       "/format_version: expected \"MAJOR.MINOR\" (this renewlab reads %s "
                       "format %d.x)",
                       what, CM_FORMAT_MAJOR);
    if (major > CM_FORMAT_MAJOR)
        return cm_errf(err, n,
                       "/format_version: %s format %d.%d is newer than this renewlab reads "
                       "(%d.x): upgrade renewlab",
                       what, major, minor, CM_FORMAT_MAJOR);
    if (major < CM_FORMAT_MAJOR)
        return cm_errf(err, n,
                       "/format_version: %s format %d.%d is older than this renewlab reads "
                       "(%d.x): see docs/formats.md for what changed",
                       what, major, minor, CM_FORMAT_MAJOR);
    return minor > CM_FORMAT_MINOR;
}
