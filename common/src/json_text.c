/* Untrusted bytes into JSON strings: valid UTF-8 by construction. */
#include "cm_json.h"
#include "cm_utf8.h"

#include <string.h>

json_t *cm_json_textn(const char *s, size_t n)
{
    if (!s)
        return NULL;
    if (cm_utf8_valid((const unsigned char *)s, n))
        return json_stringn(s, n);
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_utf8_sanitize(&b, s, n);
    json_t *j = b.failed ? NULL : json_stringn(b.data ? b.data : "", b.len);
    cm_strbuf_dispose(&b);
    return j;
}

json_t *cm_json_text(const char *s)
{
    return s ? cm_json_textn(s, strlen(s)) : NULL;
}
