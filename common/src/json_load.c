/* Loading a JSON file that a validator checks, with "file:line: ..." errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"

json_t *cm_json_load_checked(const char *path, cm_json_validator validate, void *arg, char *err,
                             size_t errlen)
{
    size_t len;
    char *text = cm_file_read(path, CM_FILE_MAX_TEXT, &len, err, errlen);
    if (!text)
        return NULL;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    char why[400];
    if (!doc) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    } else if (validate(doc, arg, why, sizeof why) != 0) {
        char at[300];
        snprintf(at, sizeof at, "%.*s", (int)strcspn(why, ":"), why);
        snprintf(err, errlen, "%s:%d: %s", path, cm_json_nearest_line(text, len, at), why);
        json_decref(doc);
        doc = NULL;
    }
    free(text);
    return doc;
}
