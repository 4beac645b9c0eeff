/* Loading a JSON file that a validator checks, with "file:line: ..." errors; the JSON
 * files of a folder. */
#include <dirent.h>
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

static int by_name(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

json_t *cm_json_files(const char *dir, int skip_underscore)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    json_t *names = json_array();
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".json") &&
            !(skip_underscore && e->d_name[0] == '_'))
            json_array_append_new(names, json_string(e->d_name));
    }
    closedir(d);
    size_t n = json_array_size(names);
    json_t **sorted = calloc(n + 1, sizeof *sorted);
    for (size_t i = 0; sorted && i < n; i++)
        sorted[i] = json_array_get(names, i);
    if (sorted)
        qsort(sorted, n, sizeof sorted[0], by_name);
    json_t *paths = json_array();
    for (size_t i = 0; sorted && i < n; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", dir, json_string_value(sorted[i]));
        json_array_append_new(paths, json_string(full));
    }
    free(sorted);
    json_decref(names);
    return paths;
}
