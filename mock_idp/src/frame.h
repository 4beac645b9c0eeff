/* A request's framing, read as its bytes arrive and before libevent parses them
 * (docs/hardening.md, "Connections"): where a request starts, where its head ends, where
 * a chunked body ends. Chunk extensions ("5;name=value", RFC 9112 §7.1.1), which
 * libevent 2.1 refuses with a 413, are rewritten in place to a form it reads as the bare
 * size ("5 name=value"). Anything the scanner is unsure of it leaves alone, for libevent
 * to judge. */
#ifndef IDP_FRAME_H
#define IDP_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct idp_frame {
    int state;       /* FR_* (frame.c) */
    size_t line_len; /* bytes of the current line so far, CR excluded */
    char line[40];   /* its first bytes, in lower case */
    int no_body;     /* HEAD and TRACE carry no body (libevent reads none) */
    int chunked;     /* the first Transfer-Encoding: 0 none yet, 1 chunked, -1 unsure, -2 not */
    int last_te;     /* the field line just ended was that Transfer-Encoding */
    uint64_t size;   /* the chunk size being read, then the bytes of the chunk left */
    int digits;      /* hex digits of the chunk size so far */
    int size_end;    /* the chunk size has ended; the rest of its line is ignored */
} idp_frame;

enum {
    IDP_FRAME_START = 1, /* the first byte of a request */
    IDP_FRAME_HEAD = 2,  /* its head (request line and fields) has ended */
    IDP_FRAME_END = 4,   /* its body has ended (no body, or a chunked one) */
};

/* Ready for a new request. */
void Idp_frame_reset(idp_frame *f);

/* Scan @p n bytes that just arrived, rewriting chunk extensions in place; returns the
 * IDP_FRAME_* events among them. Bytes after a request's end are not looked at until
 * Idp_frame_reset. */
int Idp_frame_scan(idp_frame *f, unsigned char *p, size_t n);

#endif
