/* Request framing as it arrives (frame.h). It follows libevent 2.1's reading: lines end
 * in LF or CRLF; the first Transfer-Encoding field decides chunking (its value exactly
 * "chunked"); HEAD and TRACE have no body; empty lines between chunks are skipped; a
 * chunk-size line is hex digits, then the end of the line or a space. */
#include "frame.h"

#include <ctype.h>
#include <string.h>

enum {
    FR_IDLE,    /* between requests */
    FR_LINE1,   /* the request line */
    FR_FIELD,   /* header fields */
    FR_SIZE,    /* a chunk-size line (or an empty line before one) */
    FR_DATA,    /* chunk data */
    FR_TRAILER, /* trailer fields after the last chunk */
    FR_DONE,    /* the request has ended */
    FR_OPAQUE,  /* a body whose end libevent alone knows */
};

#define TE_FIELD "transfer-encoding:"

void Idp_frame_reset(idp_frame *f)
{
    memset(f, 0, sizeof *f);
    f->state = FR_IDLE;
}

static void line_start(idp_frame *f)
{
    f->line_len = 0;
    f->line[0] = '\0';
}

static void line_add(idp_frame *f, unsigned char c)
{
    if (f->line_len < sizeof f->line - 1) {
        f->line[f->line_len] = (char)tolower(c);
        f->line[f->line_len + 1] = '\0';
    }
    f->line_len++;
}

/* The value of a whole captured field line with leading and trailing blanks trimmed,
 * or NULL when the line was longer than what was kept. */
static const char *field_value(idp_frame *f, size_t name_len, size_t *len)
{
    if (f->line_len >= sizeof f->line - 1)
        return NULL;
    const char *v = f->line + name_len, *end = f->line + f->line_len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *len = (size_t)(end - v);
    return v;
}

static void field_end(idp_frame *f)
{
    int te = strncmp(f->line, TE_FIELD, strlen(TE_FIELD)) == 0;
    if (f->line[0] == ' ' || f->line[0] == '\t') { /* obs-fold: continues the field */
        if (f->last_te)
            f->chunked = -1;
        return;
    }
    if (te && f->chunked == 0) {
        size_t len = 0;
        const char *v = field_value(f, strlen(TE_FIELD), &len);
        f->chunked = !v ? -1 : (len == 7 && memcmp(v, "chunked", 7) == 0);
        if (f->chunked == 0)
            f->chunked = -2; /* seen, not chunked: later ones do not count */
    }
    f->last_te = te;
}

/* The head has ended: what comes next. */
static int head_end(idp_frame *f)
{
    if (f->no_body) {
        f->state = FR_DONE;
        return IDP_FRAME_HEAD | IDP_FRAME_END;
    }
    f->state = f->chunked == 1 ? FR_SIZE : FR_OPAQUE;
    f->size = 0;
    f->digits = f->size_end = 0;
    return IDP_FRAME_HEAD;
}

static int line_byte(idp_frame *f, unsigned char c)
{
    if (c != '\n') {
        if (c != '\r' || f->state == FR_LINE1)
            line_add(f, c);
        return 0;
    }
    int first = f->state == FR_LINE1;
    if (first) {
        f->no_body = strncmp(f->line, "head ", 5) == 0 || strncmp(f->line, "trace ", 6) == 0;
        f->state = f->line_len > 1 ? FR_FIELD : FR_OPAQUE; /* an empty one: refused */
        line_start(f);
        return 0;
    }
    if (f->line_len == 0) /* an empty line ends the fields, or the trailer */
        return f->state == FR_FIELD ? head_end(f) : (f->state = FR_DONE, IDP_FRAME_END);
    if (f->state == FR_FIELD)
        field_end(f);
    line_start(f);
    return 0;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A byte of a chunk-size line; @p p may be rewritten. */
static void size_byte(idp_frame *f, unsigned char *p)
{
    if (*p == '\n') {
        if (f->digits == 0 && !f->size_end) /* an empty line: libevent skips it */
            return;
        f->state = f->size == 0 ? FR_TRAILER : FR_DATA;
        f->digits = f->size_end = 0;
        line_start(f);
        return;
    }
    if (f->size_end)
        return;
    int v = hex_value(*p);
    if (v >= 0 && f->digits < 15) {
        f->size = f->size * 16 + (uint64_t)v;
        f->digits++;
        return;
    }
    if (f->digits == 0 || v >= 0) { /* not a size we are sure of: libevent decides */
        f->state = *p == '\r' && f->digits == 0 ? FR_SIZE : FR_OPAQUE;
        return;
    }
    f->size_end = 1;
    if (*p == ';' || *p == '\t') /* an extension, or blanks before one */
        *p = ' ';
    else if (*p != ' ' && *p != '\r')
        f->state = FR_OPAQUE;
}

int Idp_frame_scan(idp_frame *f, unsigned char *p, size_t n)
{
    int events = 0;
    for (size_t i = 0; i < n; i++) {
        switch (f->state) {
        case FR_IDLE:
            f->state = FR_LINE1;
            line_start(f);
            events |= IDP_FRAME_START;
            /* fall through */
        case FR_LINE1:
        case FR_FIELD:
        case FR_TRAILER:
            events |= line_byte(f, p[i]);
            break;
        case FR_SIZE:
            size_byte(f, &p[i]);
            break;
        case FR_DATA: {
            size_t take = f->size < n - i ? (size_t)f->size : n - i;
            f->size -= take;
            i += take - 1;
            if (f->size == 0)
                f->state = FR_SIZE;
            break;
        }
        default: /* FR_DONE, FR_OPAQUE */
            return events;
        }
    }
    return events;
}
