/* Page clients: the browser clients the page target loads, each a folder under
 * harness/web/clients (docs/browser.md, "Page clients"): manifest.json, its scripts, and
 * whatever else its page needs. Adding a browser library means adding a folder. */
#ifndef HR_PAGE_CLIENTS_H
#define HR_PAGE_CLIENTS_H

#include <jansson.h>
#include <stddef.h>

typedef struct hr_page_client {
    char name[64];    /* the manifest's name: the target's catalogue name */
    char dir[512];    /* its folder */
    json_t *manifest; /* checked: scripts, libraries, capabilities */
} hr_page_client;

/** Whether harness/web/clients/@p name is a page client (its manifest is readable). */
int hr_page_client_exists(const char *name);
/** ", NAME" for each page client folder, sorted, into @p buf. */
void hr_page_client_names(char *buf, size_t n);
/** Load @p spec: a client's name, or a folder's path (with a '/'). 0, or -1 with
 * "manifest.json: reason" in @p err. */
int hr_page_client_load(const char *spec, hr_page_client *c, char *err, size_t n);
void hr_page_client_dispose(hr_page_client *c);
/** The URLs of its scripts, in order, as the app page loads them (new reference). */
json_t *hr_page_client_scripts(const hr_page_client *c);
/** A library it needs that is not installed: its path in @p buf, or NULL. */
const char *hr_page_client_missing(const hr_page_client *c, const char *web_dir, char *buf,
                                   size_t n);
/** Who the client is, for the findings store: {"name": its manifest's name, "version":
 * the installed version of its first npm library, when it has one} (new reference). */
json_t *hr_page_client_identity(const hr_page_client *c, const char *web_dir);
/** Close the shared browsers (no more runs in this process). */
void hr_page_release(void);
/** Kill every browser the page target launched (signals). */
void hr_page_kill_all(void);

#endif
