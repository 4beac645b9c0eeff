/* application/x-www-form-urlencoded parsing with explicit lengths: a decoded NUL never
 * truncates a value, and duplicates are detected (RFC 6749 §3.1). */
#ifndef CM_FORM_H
#define CM_FORM_H

#include <stddef.h>

#include "cm_utf8.h"

typedef struct cm_form_field {
    char *name; /* NUL-terminated, may contain embedded NULs if allowed */
    size_t name_len;
    char *value;
    size_t value_len;
} cm_form_field;

typedef struct cm_form {
    cm_form_field *fields;
    size_t count;
} cm_form;

enum cm_form_status {
    CM_FORM_OK = 0,
    CM_FORM_EBADESCAPE = -1, /* '%' not followed by two hex digits */
    CM_FORM_ECONTROL = -2,   /* a decoded control byte (NUL, CR, LF, ...) */
    CM_FORM_EUTF8 = -3,      /* decoded bytes are not valid UTF-8 */
    CM_FORM_EDUPLICATE = -4, /* a parameter appears twice */
    CM_FORM_ENOMEM = -5,
    CM_FORM_ETOOMANY = -6, /* more than CM_FORM_MAX_FIELDS */
};

#define CM_FORM_MAX_FIELDS 64

/** Parse @p len bytes of form data into @p form (caller-allocated, filled with owned
 * copies; release with cm_form_dispose even on error). On error, @p bad (optional) gets
 * the offending parameter name (borrowed from @p form) when known. */
int cm_form_parse(const char *data, size_t len, cm_form *form, const char **bad);
/** Release what cm_form_parse allocated. */
void cm_form_dispose(cm_form *form);
/** The value of @p name, borrowed from @p form, or NULL when absent. */
const char *cm_form_get(const cm_form *form, const char *name);
/** Decode one percent-encoded component ("+" is a space) into a fresh buffer (@p out, set
 * even on error; caller frees): CM_FORM_OK, or the status that refuses it (bad escape,
 * control byte, invalid UTF-8). */
int cm_form_decode(const char *s, size_t n, char **out, size_t *outlen);
/** A short English description of a cm_form_status. */
const char *cm_form_strerror(int status);
/** Percent-encode @p in for a query string or form body; returns a malloc'd string. */
char *cm_form_encode(const char *in);

#endif
