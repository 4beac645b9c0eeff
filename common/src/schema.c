/* Table-driven checks of JSON objects (used by the fault-rule and scenario loaders). */
#include "cm_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cm_errf(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

const char *cm_type_name(cm_type t)
{
    static const char *const names[] = {
        "a string",  "an integer", "a number", "true or false", "an array of strings",
        "an object", "an array",   "a value"};
    return names[t];
}

static int choice_ok(const cm_param *p, const char *v)
{
    if (!p->choices)
        return 1;
    for (const char *const *c = p->choices; *c; c++)
        if (strcmp(*c, v) == 0)
            return 1;
    return 0;
}

/* Type and allowed values; on failure writes the reason (without the pointer). */
static int value_ok(json_t *v, const cm_param *p, char *why, size_t n)
{
    size_t i;
    json_t *item;
    int ok;
    switch (p->type) {
    case CM_T_STR:
        ok = json_is_string(v);
        break;
    case CM_T_INT:
        ok = json_is_integer(v);
        break;
    case CM_T_NUM:
        ok = json_is_number(v);
        break;
    case CM_T_BOOL:
        ok = json_is_boolean(v);
        break;
    case CM_T_OBJ:
        ok = json_is_object(v);
        break;
    case CM_T_ARRAY:
        ok = json_is_array(v);
        break;
    case CM_T_ANY:
        ok = 1;
        break;
    case CM_T_STRARRAY:
        ok = json_is_array(v);
        json_array_foreach(v, i, item) if (!json_is_string(item)) ok = 0;
        break;
    default:
        ok = 0;
    }
    if (!ok) {
        snprintf(why, n, "expected %s", cm_type_name(p->type));
        return 0;
    }
    if (p->type == CM_T_STR && !choice_ok(p, json_string_value(v))) {
        snprintf(why, n, "\"%s\" is not one of the allowed values", json_string_value(v));
        return 0;
    }
    if (p->type == CM_T_STRARRAY) {
        json_array_foreach(v, i, item) if (!choice_ok(p, json_string_value(item)))
        {
            snprintf(why, n, "\"%s\" is not one of the allowed values", json_string_value(item));
            return 0;
        }
    }
    return 1;
}

static int skipped(const char *key, const char *const *skip)
{
    for (; skip && *skip; skip++)
        if (strcmp(*skip, key) == 0)
            return 1;
    return 0;
}

int cm_schema_check(json_t *obj, const cm_param *params, const char *ptr, const char *const *skip,
                    char *err, size_t errlen)
{
    if (!json_is_object(obj))
        return cm_errf(err, errlen, "%s: expected an object", *ptr ? ptr : "/");
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (skipped(key, skip))
            continue;
        const cm_param *p = params;
        while (p->name && strcmp(p->name, key) != 0)
            p++;
        if (!p->name)
            return cm_errf(err, errlen, "%s/%s: unknown key", ptr, key);
        char why[200];
        if (!value_ok(v, p, why, sizeof why))
            return cm_errf(err, errlen, "%s/%s: %s", ptr, key, why);
    }
    for (const cm_param *p = params; p->name; p++)
        if (p->required && !json_object_get(obj, p->name))
            return cm_errf(err, errlen, "%s/%s: required", ptr, p->name);
    return 0;
}
