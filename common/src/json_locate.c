/* Find the source line of a JSON pointer by scanning the text: jansson keeps no
 * positions for parsed values, and loader errors must say where they are. */
#include "cm_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cursor {
    const char *p, *end;
    int line;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) {
        if (*c->p == '\n')
            c->line++;
        c->p++;
    }
}

/* Scan a string at c->p; copy its raw content (escapes of '"' and '\\' resolved) into
 * buf when given. Returns 0, or -1 when the text ends first. */
static int scan_string(cursor *c, char *buf, size_t cap)
{
    size_t o = 0;
    c->p++; /* opening quote */
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p;
        if (ch == '\\' && c->p + 1 < c->end) {
            c->p++;
            ch = *c->p == 'n' ? '\n' : *c->p == 't' ? '\t' : *c->p;
        }
        if (buf && o + 1 < cap)
            buf[o++] = ch;
        c->p++;
    }
    if (buf)
        buf[o] = '\0';
    if (c->p >= c->end)
        return -1;
    c->p++;
    return 0;
}

static int skip_value(cursor *c);
static int ends_literal(char ch);

static int skip_container(cursor *c, char close)
{
    c->p++;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end)
            return -1;
        if (*c->p == close) {
            c->p++;
            return 0;
        }
        if (*c->p == ',' || *c->p == ':') {
            c->p++;
            continue;
        }
        const char *before = c->p;
        if (skip_value(c) != 0 || c->p == before) /* no progress: malformed, stop */
            return -1;
    }
}

/* A character that ends a bare literal (number, true, false, null). NUL is not one of
 * them: strchr would match the terminator of its set. */
static int ends_literal(char ch)
{
    return ch != '\0' && strchr(",]} \t\r\n", ch) != NULL;
}

static int skip_value(cursor *c)
{
    skip_ws(c);
    if (c->p >= c->end)
        return -1;
    if (*c->p == '"')
        return scan_string(c, NULL, 0);
    if (*c->p == '{')
        return skip_container(c, '}');
    if (*c->p == '[')
        return skip_container(c, ']');
    while (c->p < c->end && !ends_literal(*c->p))
        c->p++;
    return 0;
}

/* Next reference token of the pointer into tok (RFC 6901 ~0 and ~1 unescaped). */
static const char *next_token(const char *ptr, char *tok, size_t cap)
{
    size_t o = 0;
    for (ptr++; *ptr && *ptr != '/'; ptr++) {
        char ch = *ptr;
        if (ch == '~' && (ptr[1] == '0' || ptr[1] == '1'))
            ch = *++ptr == '0' ? '~' : '/';
        if (o + 1 < cap)
            tok[o++] = ch;
    }
    tok[o] = '\0';
    return ptr;
}

static int find_in_object(cursor *c, const char *tok)
{
    char key[256];
    c->p++;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p != '"')
            return -1;
        if (scan_string(c, key, sizeof key) != 0)
            return -1;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':')
            return -1;
        c->p++;
        if (strcmp(key, tok) == 0)
            return 0;
        if (skip_value(c) != 0)
            return -1;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ',')
            return -1;
        c->p++;
    }
}

static int find_in_array(cursor *c, const char *tok)
{
    char *endp;
    long want = strtol(tok, &endp, 10);
    if (*tok == '\0' || *endp != '\0' || want < 0)
        return -1;
    c->p++;
    for (long i = 0;; i++) {
        skip_ws(c);
        if (c->p >= c->end || *c->p == ']')
            return -1;
        if (i == want)
            return 0;
        if (skip_value(c) != 0)
            return -1;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ',')
            return -1;
        c->p++;
    }
}

int cm_json_pointer_line(const char *text, size_t len, const char *pointer)
{
    cursor c = {.p = text, .end = text + len, .line = 1};
    char tok[256];
    while (*pointer == '/') {
        pointer = next_token(pointer, tok, sizeof tok);
        skip_ws(&c);
        if (c.p >= c.end)
            return 0;
        int rc = *c.p == '{' ? find_in_object(&c, tok) : *c.p == '[' ? find_in_array(&c, tok) : -1;
        if (rc != 0)
            return 0;
    }
    skip_ws(&c);
    return c.p < c.end ? c.line : 0;
}

int cm_json_nearest_line(const char *text, size_t len, const char *pointer)
{
    char at[300];
    snprintf(at, sizeof at, "%s", pointer);
    int line = cm_json_pointer_line(text, len, at);
    for (char *cut; !line && (cut = strrchr(at, '/')) != NULL;) {
        *cut = '\0';
        line = cm_json_pointer_line(text, len, at);
    }
    return line ? line : 1;
}
