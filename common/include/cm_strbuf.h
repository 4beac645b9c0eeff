/* A growable string buffer: append formatted text, take the result. */
#ifndef CM_STRBUF_H
#define CM_STRBUF_H

#include <stddef.h>

typedef struct cm_strbuf {
    char *data; /* always NUL-terminated once anything is appended */
    size_t len, cap;
    int failed; /* set after an allocation failure; later appends do nothing */
} cm_strbuf;

void cm_strbuf_init(cm_strbuf *b);
void cm_strbuf_dispose(cm_strbuf *b);
/** Make room for @p n more bytes at once (appends grow the buffer as needed anyway). */
void cm_strbuf_reserve(cm_strbuf *b, size_t n);
void cm_strbuf_append(cm_strbuf *b, const char *s, size_t n);
void cm_strbuf_puts(cm_strbuf *b, const char *s);
void cm_strbuf_printf(cm_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Append @p s in ASCII lower case (HTTP header names). */
void cm_strbuf_lower(cm_strbuf *b, const char *s);
/** Append @p s with HTML special characters escaped. */
void cm_strbuf_html(cm_strbuf *b, const char *s);
/** Hand the buffer to the caller (malloc'd, NUL-terminated; NULL after a failure) and
 * reset @p b. */
char *cm_strbuf_take(cm_strbuf *b);

#endif
