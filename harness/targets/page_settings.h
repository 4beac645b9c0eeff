/* The settings a page client receives (docs/page-protocol.md, "Settings"): one table, for
 * the run's configuration (page.c) and for checking the names a manifest's "settings" maps
 * (page_clients.c). */
#ifndef HR_PAGE_SETTINGS_H
#define HR_PAGE_SETTINGS_H

#include <jansson.h>

/** Whether @p name is a setting a page receives (a manifest's "settings" may map it). */
int hr_page_setting_known(const char *name);
/** The scenario's client settings (@p client, borrowed) as a page receives them, with
 * their defaults (new reference). */
json_t *hr_page_settings(json_t *client);

#endif
