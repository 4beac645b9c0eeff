/* mock_idp internals: the trace ring and its documents (trace.c). */
#ifndef IDP_TRACE_H
#define IDP_TRACE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_strbuf.h"

/* ---- trace ------------------------------------------------------------------------ */

/* A ring buffer of serialized entries (compact JSON, ~350 bytes each): the newest `cap`
 * entries within `max_bytes`; older ones are dropped and counted, never silently (the
 * --trace-out file, when given, keeps every entry). */
typedef struct idp_trace {
    struct idp_trace_item {
        unsigned long seq;
        char *line;
    } * ring;
    size_t cap, head, count; /* head: index of the oldest entry */
    size_t bytes, max_bytes; /* what the kept entries take; 0 = 8 MB */
    unsigned long dropped;
    unsigned long next_seq;  /* the last seq handed out (Idp_trace_begin, state lock) */
    unsigned long committed; /* entries up to this seq are in the ring and the file */
    struct idp_trace_early {
        unsigned long seq;
        char *line; /* NULL: the entry was lost (no memory); its seq still commits */
    } * early;      /* finished before an earlier seq (worker loops): waiting */
    size_t n_early, cap_early;
    FILE *out;            /* optional JSON-lines copy */
    pthread_mutex_t lock; /* worker loops finish entries outside the state lock */
} idp_trace;

/** Commit the entry numbered @p seq (its serialized @p line, taken over; NULL when it was
 * lost): entries reach the ring and the --trace-out file in seq order, whatever order
 * worker loops finish them in. */
void Idp_trace_commit(idp_trace *t, unsigned long seq, char *line);
/** Where a read of the trace stands: the next seq wanted, how many entries may follow. */
typedef struct idp_trace_cursor {
    unsigned long next;
    size_t left;
    size_t written; /* entries written so far (commas go between them) */
} idp_trace_cursor;

/** Append the kept entries from @p c onwards to @p out, comma-separated, until about
 * @p max_bytes are written (at least one entry); advances @p c. Returns how many were
 * appended: 0 when the read is complete. The lock is held only while copying. */
size_t Idp_trace_chunk(idp_trace *t, idp_trace_cursor *c, cm_strbuf *out, size_t max_bytes);
/** The trace document {"dropped":N,"requests":[...]} in parts: its head (with the dropped
 * count as it stands), and its tail. */
void Idp_trace_doc_head(idp_trace *t, cm_strbuf *out);
void Idp_trace_doc_tail(cm_strbuf *out);
/** The whole document from @p c, into @p out (for transports that do not stream). */
void Idp_trace_doc(idp_trace *t, idp_trace_cursor *c, cm_strbuf *out);
/** The entries in order, oldest first (new reference to a new array). */
json_t *Idp_trace_snapshot(idp_trace *t);
/** Forget every entry (and the dropped count); sequence numbers go on unless @p restart. */
void Idp_trace_clear(idp_trace *t, int restart);
/** Entries dropped so far. */
unsigned long Idp_trace_dropped(idp_trace *t);
void Idp_trace_dispose(idp_trace *t);
/** Seconds as a JSON number from milliseconds. */
json_t *Idp_seconds(int64_t ms);

#endif
