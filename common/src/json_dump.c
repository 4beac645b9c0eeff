/* json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(p)) for the IdP's hot path.
 * jansson decodes every byte of a string as UTF-8 and calls back per chunk; a token answer
 * is ~2 KB of base64url, dumped once for the answer and again for the trace. This writes
 * the same text (tests/unit/common/test_json_dump.c compares the two on random values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_form.h"
#include "cm_json.h"
#include "cm_strbuf.h"

static int needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* "%lld" without printf: integers are in every answer and trace entry. */
static void put_integer(cm_strbuf *b, json_int_t v)
{
    char buf[24], *p = buf + sizeof buf;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    cm_strbuf_append(b, p, (size_t)(buf + sizeof buf - p));
}

int cm_json_put_string(cm_strbuf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80) {
            if (!cm_utf8_valid((const unsigned char *)s, len))
                return -1;
            break;
        }
    cm_strbuf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape(c))
            continue;
        cm_strbuf_append(b, s + run, i - run);
        run = i + 1;
        static const char short_escape[] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r',
                                            ['\t'] = 't', ['"'] = '"',  ['\\'] = '\\'};
        char seq[8];
        if (c < sizeof short_escape && short_escape[c])
            snprintf(seq, sizeof seq, "\\%c", short_escape[c]);
        else
            snprintf(seq, sizeof seq, "\\u%04X", c);
        cm_strbuf_puts(b, seq);
    }
    cm_strbuf_append(b, s + run, len - run);
    cm_strbuf_append(b, "\"", 1);
    return 0;
}

/* jansson's jsonp_dtostr: %.*g, ".0" when it would read back as an integer, no '+' or
 * leading zeros in the exponent. */
static void put_real(cm_strbuf *b, double v, int precision)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf - 3, "%.*g", precision ? precision : 17, v);
    if (n < 0 || (size_t)n >= sizeof buf - 3)
        return;
    if (!strchr(buf, '.') && !strchr(buf, 'e'))
        memcpy(buf + n, ".0", 3), n += 2;
    char *e = strchr(buf, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        memmove(start, end, strlen(end) + 1);
        n = (int)strlen(buf);
    }
    cm_strbuf_append(b, buf, (size_t)n);
}

typedef struct key_len {
    const char *key;
    size_t len;
} key_len;

static int compare_keys(const void *a, const void *b)
{
    const key_len *k1 = a, *k2 = b;
    size_t n = k1->len < k2->len ? k1->len : k2->len;
    int res = memcmp(k1->key, k2->key, n);
    return res ? res : (k1->len > k2->len) - (k1->len < k2->len);
}

static int put_value(cm_strbuf *b, const json_t *j, int precision);

static int put_object(cm_strbuf *b, const json_t *j, int precision)
{
    size_t n = json_object_size(j), i = 0;
    key_len stack[16], *keys = n <= 16 ? stack : malloc(n * sizeof *keys);
    if (!keys)
        return -1;
    for (void *it = json_object_iter((json_t *)j); it; it = json_object_iter_next((json_t *)j, it))
        keys[i++] = (key_len){json_object_iter_key(it), json_object_iter_key_len(it)};
    qsort(keys, n, sizeof *keys, compare_keys);
    int rc = 0;
    cm_strbuf_append(b, "{", 1);
    for (i = 0; i < n && rc == 0; i++) {
        if (i)
            cm_strbuf_append(b, ",", 1);
        rc = cm_json_put_string(b, keys[i].key, keys[i].len);
        cm_strbuf_append(b, ":", 1);
        if (rc == 0)
            rc = put_value(b, json_object_getn(j, keys[i].key, keys[i].len), precision);
    }
    cm_strbuf_append(b, "}", 1);
    if (keys != stack)
        free(keys);
    return rc;
}

static int put_value(cm_strbuf *b, const json_t *j, int precision)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return put_object(b, j, precision);
    case JSON_ARRAY:
        cm_strbuf_append(b, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                cm_strbuf_append(b, ",", 1);
            if (put_value(b, json_array_get(j, i), precision) != 0)
                return -1;
        }
        cm_strbuf_append(b, "]", 1);
        return 0;
    case JSON_STRING:
        return cm_json_put_string(b, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        put_integer(b, json_integer_value(j));
        return 0;
    case JSON_REAL:
        put_real(b, json_real_value(j), precision);
        return 0;
    case JSON_TRUE:
        cm_strbuf_append(b, "true", 4);
        return 0;
    case JSON_FALSE:
        cm_strbuf_append(b, "false", 5);
        return 0;
    default:
        cm_strbuf_append(b, "null", 4);
        return 0;
    }
}

char *cm_json_dumps_sorted(const json_t *j, int real_precision)
{
    if (!json_is_object(j) && !json_is_array(j))
        return NULL;
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_reserve(&b, 1024); /* most texts fit: no growing step by step */
    if (put_value(&b, j, real_precision) != 0) {
        cm_strbuf_dispose(&b);
        return NULL;
    }
    /* a copy of its size: kept ones (the trace) neither carry slack nor pin the large
     * working buffer's leftovers between them (a shrinking realloc did, RSS +75 %) */
    size_t len = b.len;
    char *text = cm_strbuf_take(&b), *exact = text ? malloc(len + 1) : NULL;
    if (exact)
        memcpy(exact, text, len + 1);
    free(exact ? text : NULL);
    return exact ? exact : text;
}
