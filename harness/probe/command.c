/* Running the login command: through the shell in its own process group, its standard
 * output read until it exits or a deadline passes; past the deadline the whole group is
 * killed (a hung command never hangs the probe), and reaped: the probe is the subreaper
 * of what the command starts, so the members orphaned by the shell's death come back to
 * it, and it returns only once every one of them is gone. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cm_clock.h"
#include "cm_strbuf.h"
#include "probe.h"

#define OUTPUT_MAX (1 << 20) /* a token response is a few KB */

static pid_t start(const char *cmd, int *out_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of the command are ours to reap */
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fds[1], STDOUT_FILENO);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    setpgid(pid, pid); /* also here: no race with the child's own call */
    *out_fd = fds[0];
    return pid;
}

/* Read until end of output or @p deadline_ms; 1 when the output ended, 0 on timeout. */
static int read_until(int fd, int64_t deadline_ms, cm_strbuf *out)
{
    char chunk[4096];
    for (;;) {
        int64_t left = deadline_ms - cm_wallclock_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0)
            return 1;
        if (out->len < OUTPUT_MAX)
            cm_strbuf_append(out, chunk, (size_t)n);
    }
}

/* Wait for @p pid until @p deadline_ms; its status, or -2 on timeout. */
static int reap(pid_t pid, int64_t deadline_ms)
{
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (cm_wallclock_ms() >= deadline_ms)
            return -2;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int pb_command_run(const char *cmd, double timeout_s, cm_strbuf *out)
{
    int fd = -1;
    pid_t pid = start(cmd, &fd);
    if (pid < 0)
        return PB_CMD_START;
    int64_t deadline = cm_wallclock_ms() + (int64_t)(timeout_s * 1000.0);
    int ended = read_until(fd, deadline, out);
    close(fd);
    int status = ended ? reap(pid, deadline) : -2;
    if (status == -2) { /* past the deadline: the command and whatever it started */
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        /* the shell's children are ours now: wait for each member of its group to die */
        while (waitpid(-pid, NULL, 0) > 0 || errno == EINTR)
            ;
        return PB_CMD_TIMEOUT;
    }
    return status < 0 ? PB_CMD_START : status;
}
