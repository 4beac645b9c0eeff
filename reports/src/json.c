/* The JSON report: the report object with sorted keys, stable for golden files. */
#include "reports.h"

#include <stdlib.h>

int rpt_json_write(const char *path, json_t *report, char *err, size_t errlen)
{
    char *text = json_dumps(report, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    if (!text) {
        snprintf(err, errlen, "%s: cannot serialise the report", path);
        return RPT_EIO;
    }
    int rc = rpt_write_file(path, text, err, errlen);
    free(text);
    return rc;
}
