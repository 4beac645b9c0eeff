/* Checking JSON objects against a table of known keys: types, required keys, allowed
 * values. Errors are "/json/pointer: reason", for loaders to prefix with file and line. */
#ifndef CM_SCHEMA_H
#define CM_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
    CM_T_STR,
    CM_T_INT,
    CM_T_NUM,
    CM_T_BOOL,
    CM_T_STRARRAY,
    CM_T_OBJ,
    CM_T_ARRAY,
    CM_T_ANY
} cm_type;

typedef struct cm_param {
    const char *name; /* NULL ends a table */
    cm_type type;
    int required;
    const char *const *choices; /* CM_T_STR / CM_T_STRARRAY items: allowed values, NULL = any */
} cm_param;

/** Check @p obj (must be an object) against @p params; keys named in @p skip (NULL-ended,
 * may be NULL) are accepted without checks. @p ptr prefixes the pointer in errors.
 * Returns 0, or -1 with "/ptr/key: reason" in @p err. */
int cm_schema_check(json_t *obj, const cm_param *params, const char *ptr, const char *const *skip,
                    char *err, size_t errlen);
/** printf into @p err (@p n bytes); returns -1, for "return cm_errf(...)" in loaders. */
int cm_errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** "a string", "an integer", ... for messages. */
const char *cm_type_name(cm_type t);

#endif
