/* application/x-www-form-urlencoded parsing with explicit lengths and strict checks. */
#include "cm_form.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cm_form_decode(const char *s, size_t n, char **out, size_t *outlen)
{
    char *d = malloc(n + 1);
    if (!d)
        return CM_FORM_ENOMEM;
    size_t o = 0;
    int rc = CM_FORM_OK;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                rc = CM_FORM_EBADESCAPE;
                break;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        /* control bytes (NUL included) never belong in OAuth parameters; refusing them
         * means a decoded NUL can never cut a value short in a string comparison */
        if ((unsigned char)c < 0x20 || c == 0x7f) {
            rc = CM_FORM_ECONTROL;
            break;
        }
        d[o++] = c;
    }
    d[o] = '\0';
    *out = d;
    *outlen = o;
    if (rc == CM_FORM_OK && !cm_utf8_valid((unsigned char *)d, o))
        rc = CM_FORM_EUTF8;
    return rc;
}

static int add_field(cm_form *form, const char *p, size_t n, const char **bad)
{
    if (form->count >= CM_FORM_MAX_FIELDS)
        return CM_FORM_ETOOMANY;
    const char *eq = memchr(p, '=', n);
    size_t nlen = eq ? (size_t)(eq - p) : n;
    cm_form_field *f = &form->fields[form->count];
    memset(f, 0, sizeof *f);
    form->count++;
    int rc = cm_form_decode(p, nlen, &f->name, &f->name_len);
    if (rc == CM_FORM_OK)
        rc = eq ? cm_form_decode(eq + 1, n - nlen - 1, &f->value, &f->value_len)
                : cm_form_decode("", 0, &f->value, &f->value_len);
    if (rc != CM_FORM_OK) {
        if (bad && f->name)
            *bad = f->name;
        return rc;
    }
    for (size_t i = 0; i + 1 < form->count; i++) {
        if (strcmp(form->fields[i].name, f->name) == 0) {
            if (bad)
                *bad = f->name;
            return CM_FORM_EDUPLICATE;
        }
    }
    return CM_FORM_OK;
}

int cm_form_parse(const char *data, size_t len, cm_form *form, const char **bad)
{
    memset(form, 0, sizeof *form);
    if (bad)
        *bad = NULL;
    form->fields = calloc(CM_FORM_MAX_FIELDS, sizeof *form->fields);
    if (!form->fields)
        return CM_FORM_ENOMEM;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '&')
            continue;
        if (i > start) { /* empty pairs ("a=1&&b=2") are skipped, as browsers do */
            int rc = add_field(form, data + start, i - start, bad);
            if (rc != CM_FORM_OK)
                return rc;
        }
        start = i + 1;
    }
    return CM_FORM_OK;
}

void cm_form_dispose(cm_form *form)
{
    for (size_t i = 0; form->fields && i < form->count; i++) {
        free(form->fields[i].name);
        free(form->fields[i].value);
    }
    free(form->fields);
    memset(form, 0, sizeof *form);
}

const char *cm_form_get(const cm_form *form, const char *name)
{
    for (size_t i = 0; i < form->count; i++)
        if (strcmp(form->fields[i].name, name) == 0)
            return form->fields[i].value;
    return NULL;
}

const char *cm_form_strerror(int status)
{
    switch (status) {
    case CM_FORM_OK:
        return "ok";
    case CM_FORM_EBADESCAPE:
        return "malformed percent-encoding";
    case CM_FORM_ECONTROL:
        return "control character in parameter";
    case CM_FORM_EUTF8:
        return "parameter is not valid UTF-8";
    case CM_FORM_EDUPLICATE:
        return "parameter included more than once";
    case CM_FORM_ENOMEM:
        return "out of memory";
    case CM_FORM_ETOOMANY:
        return "too many parameters";
    }
    return "unknown form error";
}

char *cm_form_encode(const char *in)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(in);
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}
