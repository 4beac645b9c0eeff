/* UTF-8 (RFC 3629): validation, and untrusted bytes made into valid text. Every byte a
 * peer sent that ends up in JSON (an error description, a trace field) goes through
 * cm_utf8_sanitize, so no answer fails on what it quotes. */
#ifndef CM_UTF8_H
#define CM_UTF8_H

#include <stddef.h>

#include "cm_strbuf.h"

/** The length of the valid UTF-8 sequence that starts @p s (of @p len bytes): 1 to 4, or 0
 * for an invalid one (overlong forms, surrogates, past U+10FFFF, truncated). */
size_t cm_utf8_seq(const unsigned char *s, size_t len);
/** True when @p s (of @p len bytes) is valid UTF-8. */
int cm_utf8_valid(const unsigned char *s, size_t len);
/** Append @p len bytes at @p s to @p b with every invalid byte replaced by U+FFFD. */
void cm_utf8_sanitize(cm_strbuf *b, const char *s, size_t len);

#endif
