/* Format versions of renewlab's documents (docs/formats.md): "MAJOR.MINOR" in a
 * "format_version" member. A reader reads its own major and any minor: a newer minor only
 * adds members, a newer major is refused with a message naming both versions. */
#ifndef CM_FORMAT_H
#define CM_FORMAT_H

#include <jansson.h>
#include <stddef.h>

/** The version every format has today (scenario, trace, report; the exec protocol has its
 * own integer "protocol"). */
#define CM_FORMAT_MAJOR 1
#define CM_FORMAT_MINOR 0
#define CM_FORMAT_VERSION "1.0"

/** Check @p v, a document's "format_version" (NULL: absent, read as CM_FORMAT_VERSION),
 * for a @p what ("scenario", "trace"). 0 when this reader reads it; 1 when it is a newer
 * minor (read it; an unknown member may then come from it: say so); -1 with
 * "/format_version: reason" in @p err (not "MAJOR.MINOR", or another major). */
int cm_format_check(json_t *v, const char *what, char *err, size_t errlen);

#endif
