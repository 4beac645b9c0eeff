/* Reading the files a user names (configs, scenarios, traces, keys): regular files only,
 * within a size cap, text without NUL bytes. A FIFO, a device or a directory is refused at
 * once instead of blocking or reading forever. */
#ifndef CM_FILE_H
#define CM_FILE_H

#include <stddef.h>

/** The cap on config and scenario files, and on key files. */
#define CM_FILE_MAX_TEXT ((size_t)1 << 20)

/** Read the whole of @p path: a malloc'd NUL-terminated buffer (caller frees) and its
 * length in @p len; or NULL with "PATH: reason" (or "PATH:LINE: reason" for a NUL byte) in
 * @p err: not a regular file, larger than @p max bytes, unreadable. */
char *cm_file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
