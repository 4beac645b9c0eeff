/* Page clients: the browser clients the page target loads, each a folder under
 * harness/web/clients (docs/page-protocol.md): manifest.json, its scripts, and
 * whatever else its page needs. Adding a browser library means adding a folder. */
#ifndef HR_PAGE_CLIENTS_H
#define HR_PAGE_CLIENTS_H

#include <jansson.h>
#include <stddef.h>

typedef struct hr_page_client {
    char name[64];    /* the manifest's name: the target's catalogue name */
    char dir[512];    /* its folder */
    json_t *manifest; /* checked (docs/page-protocol.md) */
    char version[40]; /* its library's installed version, once hr_page_client_pinned ran */
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
/** Find @p rel (a path like "node_modules/PKG/FILE") in the client's folder first, then in
 * the web folder (the installed share tree): 0 with the path in @p buf, or -1 (@p buf
 * holds the web folder's path). */
int hr_page_client_file(const hr_page_client *c, const char *rel, char *buf, size_t n);
/** Its "libraries", each resolved by hr_page_client_file: NAME -> path (new reference);
 * NULL when one is not installed, its path then in @p missing. */
json_t *hr_page_client_libraries(const hr_page_client *c, char *missing, size_t n);
/** Whether the installed npm package of its "library" is the version the manifest pins:
 * 0 (or no "library"), or -1 with the difference in @p err. */
int hr_page_client_pinned(hr_page_client *c, char *err, size_t n);
/** Who the client is, for the findings store: {"name": its manifest's name, "library" and
 * "version": its npm package and the installed version, when it names one} (new
 * reference). */
json_t *hr_page_client_identity(const hr_page_client *c);
/** Close the shared browsers (no more runs in this process). */
void hr_page_release(void);
/** Kill every browser the page target launched (signals). */
void hr_page_kill_all(void);

#endif
