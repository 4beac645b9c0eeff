/* Headless Chromium for the browser targets: launched in its own process group with a
 * fresh profile, closed over the DevTools pipe, and never left behind (facts measured in
 * shared/BROWSER.md). */
#ifndef HR_BROWSER_H
#define HR_BROWSER_H

#include <stddef.h>
#include <sys/types.h>

typedef struct hr_browser {
    pid_t pid;     /* the browser process, also its process group */
    int reaped;    /* the process was reaped (exited early); its group may remain */
    int cdp_in;    /* --remote-debugging-pipe: we write commands here (its fd 3) */
    int cdp_out;   /* and read NUL-terminated answers here (its fd 4) */
    char dir[256]; /* the run's private folder: profile, TMPDIR, HOME, stderr log */
    char log[300]; /* the browser's stderr (console lines, framing refusals) */
} hr_browser;

/** The Chromium binary: $RENEWLAB_CHROMIUM, else Debian's /usr/lib/chromium/chromium. */
const char *hr_browser_binary(void);
/** Launch headless Chromium at @p url with a fresh profile; @p block_third_party_cookies
 * is written into the profile (cookie_controls_mode 1, else 0). 0, or -1 with the reason
 * in @p err (an infrastructure failure). @p b is the caller's. */
int hr_browser_launch(hr_browser *b, const char *url, int block_third_party_cookies, char *err,
                      size_t errlen);
/** Close the browser (Browser.close, then SIGKILL to its group if it lingers), wait until
 * every process of its group is gone and remove its folder. Safe to call twice. */
void hr_browser_close(hr_browser *b);
/** Lines of the browser's log that explain a failure (console output, refused frames),
 * newest last, as a JSON array (new reference). */
struct json_t;
struct json_t *hr_browser_console(const hr_browser *b);
/** The last line the browser logged (new reference: a JSON string, or NULL). */
struct json_t *hr_browser_log_tail(const hr_browser *b);
/** The browser process was reaped by the caller: hr_browser_close only ends its group. */
void hr_browser_forget(hr_browser *b);
/** Kill every browser this process launched and has not closed (exit paths, signals). */
void hr_browser_kill_all(void);

#endif
