/* A growable string buffer. */
#include "cm_strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cm_strbuf_init(cm_strbuf *b)
{
    memset(b, 0, sizeof *b);
}

void cm_strbuf_dispose(cm_strbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int reserve(cm_strbuf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void cm_strbuf_reserve(cm_strbuf *b, size_t n)
{
    reserve(b, n);
}

void cm_strbuf_append(cm_strbuf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cm_strbuf_puts(cm_strbuf *b, const char *s)
{
    cm_strbuf_append(b, s, strlen(s));
}

void cm_strbuf_printf(cm_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void cm_strbuf_html(cm_strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            cm_strbuf_puts(b, "&lt;");
            break;
        case '>':
            cm_strbuf_puts(b, "&gt;");
            break;
        case '&':
            cm_strbuf_puts(b, "&amp;");
            break;
        case '"':
            cm_strbuf_puts(b, "&quot;");
            break;
        case '\'':
            cm_strbuf_puts(b, "&#39;");
            break;
        default:
            cm_strbuf_append(b, s, 1);
        }
    }
}

char *cm_strbuf_take(cm_strbuf *b)
{
    char *p = b->failed ? NULL : b->data;
    if (b->failed)
        free(b->data);
    else if (!p)
        p = calloc(1, 1);
    memset(b, 0, sizeof *b);
    return p;
}

void cm_strbuf_lower(cm_strbuf *b, const char *s)
{
    for (; s && *s; s++) {
        char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        cm_strbuf_append(b, &c, 1);
    }
}
