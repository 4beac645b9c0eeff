/* Where renewlab's data lives (see harness.h): PREFIX/share/renewlab, PREFIX being the
 * folder above the running binary's bin/. An installed tree and a build tree have the same
 * shape (the build's share/renewlab links to the source folders), so no path of either is
 * compiled in. */
#include "harness.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Used when /proc/self/exe cannot be read (no /proc): the Debian package's prefix. */
#define FALLBACK_SHARE "/usr/share/renewlab"

static const struct {
    const char *env, *sub;
} DATA[] = {
    [HR_DATA_SCENARIOS] = {"RENEWLAB_SCENARIO_DIR", "scenarios"},
    [HR_DATA_WEB] = {"RENEWLAB_WEB_DIR", "web"},
    [HR_DATA_FINDINGS] = {"RENEWLAB_FINDINGS_DIR", "findings"},
    [HR_DATA_SHARE] = {"RENEWLAB_SHARE_DIR", ""},
};

#define N_DATA (sizeof DATA / sizeof DATA[0])

static char dirs[N_DATA][PATH_MAX];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* PREFIX/share/renewlab from the binary's own path, PREFIX/bin/NAME. */
static void share_from_exe(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    if (len <= 0) {
        snprintf(out, n, "%s", FALLBACK_SHARE);
        return;
    }
    exe[len] = '\0';
    for (int up = 0; up < 2 && (slash = strrchr(exe, '/')); up++)
        *slash = '\0';
    snprintf(out, n, "%.*s/share/renewlab", PATH_MAX - 32, exe);
}

static void resolve(void)
{
    const char *env = getenv(DATA[HR_DATA_SHARE].env);
    if (env && *env)
        snprintf(dirs[HR_DATA_SHARE], sizeof dirs[0], "%s", env);
    else
        share_from_exe(dirs[HR_DATA_SHARE], sizeof dirs[0]);
    for (size_t i = 0; i < N_DATA; i++) {
        if (i == HR_DATA_SHARE)
            continue;
        env = getenv(DATA[i].env);
        if (env && *env)
            snprintf(dirs[i], sizeof dirs[0], "%s", env);
        else
            snprintf(dirs[i], sizeof dirs[0], "%.*s/%s", PATH_MAX - 32, dirs[HR_DATA_SHARE],
                     DATA[i].sub);
    }
}

const char *hr_data_dir(enum hr_data which)
{
    pthread_once(&once, resolve);
    return (size_t)which < N_DATA ? dirs[which] : dirs[HR_DATA_SHARE];
}
