/* exec+faketime: libfaketime (Debian's libfaketime) preloaded into the adapter, with an
 * absolute timestamp in a file of the run's own, rewritten before every line sent:
 * time(), gettimeofday() and clock_gettime(), CLOCK_MONOTONIC too, then read the virtual
 * clock, frozen between lines. FAKETIME_NO_CACHE makes each read see the file as it is
 * (about 1.6 µs a read, 30 times a plain one: measured with Node's Date.now). */
#define _GNU_SOURCE
#include "exec_faketime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *hr_faketime_library(void)
{
    const char *env = getenv("RENEWLAB_LIBFAKETIME");
    return env && *env ? env : RENEWLAB_LIBFAKETIME;
}

/* Our environment without the variables we set, then ours. */
static char **child_env(const hr_faketime *ft)
{
    static const char *const ours[] = {"LD_PRELOAD=", "FAKETIME", "TZ=", "ASAN_OPTIONS="};
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 8, sizeof *envp);
    size_t k = 0;
    const char *preload = getenv("LD_PRELOAD");
    for (size_t i = 0; envp && i < n; i++) {
        int skip = 0;
        for (size_t j = 0; j < sizeof ours / sizeof ours[0]; j++)
            skip |= !strncmp(environ[i], ours[j], strlen(ours[j]));
        if (!skip)
            envp[k++] = strdup(environ[i]);
    }
    if (!envp)
        return NULL;
    char *vars[5] = {NULL, NULL, NULL, NULL, NULL};
    const char *asan = getenv("ASAN_OPTIONS");
    int bad = asprintf(&vars[0], "LD_PRELOAD=%s%s%s", hr_faketime_library(),
                       preload && *preload ? ":" : "", preload ? preload : "") < 0;
    bad |= asprintf(&vars[1], "FAKETIME_TIMESTAMP_FILE=%s", ft->file) < 0;
    vars[2] = strdup("FAKETIME_NO_CACHE=1");
    vars[3] = strdup("TZ=UTC");
    /* a client built with AddressSanitizer wants its runtime first: libfaketime is */
    bad |= asprintf(&vars[4], "ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "",
                    asan && *asan ? ":" : "") < 0;
    for (int i = 0; i < 5; i++) {
        bad |= !vars[i];
        envp[k++] = vars[i];
    }
    if (bad) { /* out of memory: nothing half-made */
        for (size_t i = 0; i < k; i++)
            free(envp[i]);
        free(envp);
        return NULL;
    }
    return envp;
}

int hr_faketime_set(hr_faketime *ft, double now)
{
    time_t secs = (time_t)now;
    long micros = (long)((now - (double)secs) * 1e6 + 0.5);
    if (micros >= 1000000)
        secs++, micros -= 1000000;
    struct tm tm;
    char stamp[64], tmp[128];
    gmtime_r(&secs, &tm);
    size_t len = strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(stamp + len, sizeof stamp - len, ".%06ld\n", micros);
    snprintf(tmp, sizeof tmp, "%s.tmp", ft->file);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(stamp, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok && rename(tmp, ft->file) == 0 ? 0 : -1;
}

int hr_faketime_open(hr_faketime *ft, double now, char *err, size_t n)
{
    memset(ft, 0, sizeof *ft);
    if (access(hr_faketime_library(), R_OK) != 0) {
        snprintf(err, n,
                 "exec+faketime needs libfaketime: %s is missing (Debian: apt install "
                 "libfaketime, or set RENEWLAB_LIBFAKETIME)",
                 hr_faketime_library());
        return -1;
    }
    snprintf(ft->dir, sizeof ft->dir, "/tmp/renewlab-faketime-XXXXXX");
    if (!mkdtemp(ft->dir)) {
        snprintf(err, n, "exec+faketime: cannot make a folder: %s", strerror(errno));
        ft->dir[0] = '\0';
        return -1;
    }
    snprintf(ft->file, sizeof ft->file, "%s/now", ft->dir);
    if (hr_faketime_set(ft, now) != 0 || !(ft->envp = child_env(ft))) {
        snprintf(err, n, "exec+faketime: cannot write %s", ft->file);
        hr_faketime_close(ft);
        return -1;
    }
    return 0;
}

void hr_faketime_close(hr_faketime *ft)
{
    for (size_t i = 0; ft->envp && ft->envp[i]; i++)
        free(ft->envp[i]);
    free(ft->envp);
    ft->envp = NULL;
    if (*ft->file) {
        char tmp[128];
        snprintf(tmp, sizeof tmp, "%s.tmp", ft->file);
        unlink(tmp);
        unlink(ft->file);
    }
    if (*ft->dir)
        rmdir(ft->dir);
    ft->dir[0] = ft->file[0] = '\0';
}
