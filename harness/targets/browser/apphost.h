/* The application origin of the browser targets: a small libevent HTTP server on
 * http://127.0.0.1:PORT serving the app page, the callback pages, the page client's files,
 * the run's configuration, and the harness link (commands out, events in). */
#ifndef HR_APPHOST_H
#define HR_APPHOST_H

#include <jansson.h>
#include <stddef.h>

struct event_base;
typedef struct hr_apphost hr_apphost;

/** Called for each JSON object the page posts to /event (@p event borrowed). */
typedef void (*hr_app_event_cb)(void *arg, json_t *event);

/** Listen on 127.0.0.1 (any free port) on @p base. 0, or -1 with the reason in @p err.
 * *out is the caller's (free with hr_apphost_free). */
int hr_apphost_new(struct event_base *base, hr_app_event_cb on_event, void *arg, hr_apphost **out,
                   char *err, size_t errlen);
/** "http://127.0.0.1:PORT" (borrowed). */
const char *hr_apphost_origin(const hr_apphost *h);
/** What /config.json answers (@p config taken over). */
void hr_apphost_set_config(hr_apphost *h, json_t *config);
/** Serve the shared page files of @p web_dir (harness-link.js, app.html, ...), the page
 * client's folder @p dir at /client/FILE (its own app.html and silent.html first), and its
 * @p libraries (taken over: file name -> the file's path, for npm packages) at /lib/NAME. */
void hr_apphost_set_client(hr_apphost *h, const char *web_dir, const char *dir, json_t *libraries);
/** Queue a command for the page (@p cmd taken over); it gets the next sequence number. */
void hr_apphost_command(hr_apphost *h, json_t *cmd);
/** Stop listening and free. NULL is a no-op. */
void hr_apphost_free(hr_apphost *h);

#endif
