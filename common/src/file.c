/* Bounded reading of user-named files (cm_file.h). */
#include "cm_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *refuse(char *err, size_t n, const char *path, const char *why)
{
    snprintf(err, n, "%s: %s", path, why);
    return NULL;
}

static char *cannot_read(char *err, size_t n, const char *path)
{
    snprintf(err, n, "%s: cannot read: %s", path, strerror(errno));
    return NULL;
}

/* The 1-based line of byte @p at. */
static size_t line_of(const char *buf, size_t at)
{
    size_t line = 1;
    for (size_t i = 0; i < at; i++)
        line += buf[i] == '\n';
    return line;
}

static char *read_all(int fd, size_t size, size_t *len, char *err, size_t n, const char *path)
{
    char *buf = malloc(size + 2); /* one byte more than fstat said: to see it grow */
    if (!buf)
        return refuse(err, n, path, "out of memory");
    size_t got = 0;
    for (ssize_t r; got <= size; got += (size_t)r) {
        r = read(fd, buf + got, size + 1 - got);
        if (r < 0 && errno == EINTR)
            r = 0;
        else if (r < 0) {
            free(buf);
            return cannot_read(err, n, path);
        } else if (r == 0)
            break;
    }
    if (got > size) {
        free(buf);
        return refuse(err, n, path, "changed while it was read");
    }
    buf[got] = '\0';
    const char *nul = memchr(buf, '\0', got);
    if (nul) {
        snprintf(err, n, "%s:%zu: holds a NUL byte (not a text file)", path,
                 line_of(buf, (size_t)(nul - buf)));
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

char *cm_file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO with no writer must not wait for one */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return cannot_read(err, errlen, path);
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0)
        cannot_read(err, errlen, path);
    else if (S_ISDIR(st.st_mode))
        refuse(err, errlen, path, "is a directory, not a file");
    else if (!S_ISREG(st.st_mode))
        refuse(err, errlen, path, "not a regular file (a FIFO, socket or device)");
    else if ((unsigned long long)st.st_size > max)
        snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
    else
        buf = read_all(fd, (size_t)st.st_size, len, err, errlen, path);
    close(fd);
    return buf;
}
