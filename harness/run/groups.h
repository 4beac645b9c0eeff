/* Observe mode's grouping of trace entries (groups.c); internal to harness/run. */
#ifndef HR_GROUPS_H
#define HR_GROUPS_H

#include <jansson.h>

/** The entries (borrowed) in groups by @p by: "session" (an IdP session with its families),
 * "family", "user", "client" or "none" (one group, the whole trace). A new array of
 * {"key", "name" (client, user, session, families), "entries" (borrowed references)} in the
 * order of each group's first entry; requests about no one (discovery, JWKS, check_session)
 * are in no group but "none", entries that resolve to no one in "unattributed". */
json_t *hr_groups(json_t *entries, const char *by);

#endif
