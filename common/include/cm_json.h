/* JSON helpers shared by every loader: file loading with positions, finding the source
 * line of a JSON pointer (jansson keeps no positions for parsed values), and a fast
 * writer of jansson's sorted compact text. */
#ifndef CM_JSON_H
#define CM_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "cm_file.h"
#include "cm_strbuf.h"

/** The 1-based line where the value at JSON pointer @p pointer ("/clients/0/id")
 * starts in @p text, or 0 when it cannot be found. */
int cm_json_pointer_line(const char *text, size_t len, const char *pointer);
/** The line of @p pointer, or of its nearest ancestor that exists (a missing key has no
 * line), or 1. */
int cm_json_nearest_line(const char *text, size_t len, const char *pointer);
/** Checks a parsed document: 0, or -1 with "/pointer: reason" in @p err. */
typedef int (*cm_json_validator)(json_t *doc, void *arg, char *err, size_t errlen);
/** Load the JSON file @p path (duplicate keys refused) and check it with @p validate.
 * Returns the document (new reference), or NULL with "file:line:column: reason" (syntax)
 * or "file:line: /pointer: reason" in @p err. */
json_t *cm_json_load_checked(const char *path, cm_json_validator validate, void *arg, char *err,
                             size_t errlen);
/** The paths of the *.json files of the folder @p dir, in name order, those whose name
 * starts with '_' left out when @p skip_underscore (new reference); NULL when @p dir is no
 * folder that can be read. */
json_t *cm_json_files(const char *dir, int skip_underscore);
/** The text json_dumps(@p j, JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_REAL_PRECISION(@p real_precision)) writes (0: jansson's default precision, 17),
 * written faster (json_dump.c): malloc'd, or NULL (not an object or array, invalid UTF-8,
 * no memory). */
char *cm_json_dumps_sorted(const json_t *j, int real_precision);
/** Append @p len bytes at @p s as a JSON string, as jansson writes it (", \ and control
 * characters escaped, UTF-8 as is): 0, or -1 for invalid UTF-8 (nothing appended). */
int cm_json_put_string(cm_strbuf *b, const char *s, size_t len);

/** A JSON string of the NUL-terminated bytes @p s, whatever they are: invalid UTF-8 is
 * replaced by U+FFFD (cm_utf8_sanitize). NULL only for NULL @p s or no memory. Every
 * text a peer controls goes into JSON through this, never through json_string. */
json_t *cm_json_text(const char *s);
/** The same for @p n bytes (which may hold NUL). */
json_t *cm_json_textn(const char *s, size_t n);

#endif
