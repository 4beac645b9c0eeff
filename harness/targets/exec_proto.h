/* The exec adapter protocol (docs/exec-protocol.md): checking the lines an adapter writes.
 * Pure functions on strings, fuzzed (tests/fuzz/fuzz_exec_proto.c). */
#ifndef HR_EXEC_PROTO_H
#define HR_EXEC_PROTO_H

#include <jansson.h>
#include <stddef.h>

#define HR_PROTO_VERSION 1
#define HR_PROTO_MAX_LINE (256 * 1024) /* a line longer than this is refused */

/** Parse and check one line from an adapter (without its newline). Returns the message
 * (new reference: an object with a known "type" and well-typed fields), or NULL with the
 * reason in @p err ("/pointer: reason" or a JSON syntax error). */
json_t *hr_proto_parse(const char *line, size_t len, char *err, size_t errlen);
/** Whether the adapter's @p hello declares capability @p cap. */
int hr_proto_has(json_t *hello, const char *cap);

#endif
