/* UTF-8 validation and replacement of invalid sequences (RFC 3629 §3, §4). */
#include "cm_utf8.h"

static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */

size_t cm_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t need;
    unsigned min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        need = 1, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        need = 2, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        need = 3, min = 0x10000;
    else
        return 0;
    if (need >= len)
        return 0;
    unsigned cp = c & (0x3f >> need);
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    /* overlong forms, surrogates and code points past U+10FFFF are invalid */
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return need + 1;
}

int cm_utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = cm_utf8_seq(s + i, len - i)) == 0)
            return 0;
    return 1;
}

void cm_utf8_sanitize(cm_strbuf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the valid run not yet appended */
    for (size_t i = 0, n; i < len; i += n ? n : 1) {
        if ((n = cm_utf8_seq(u + i, len - i)) != 0)
            continue;
        cm_strbuf_append(b, s + run, i - run);
        cm_strbuf_append(b, REPLACEMENT, sizeof REPLACEMENT - 1);
        run = i + 1;
    }
    cm_strbuf_append(b, s + run, len - run);
}
