/* Capabilities (target.h): one list for the target interface, the exec protocol's
 * "capabilities" and the page clients' manifests (docs/targets.md). */
#include <stdio.h>
#include <string.h>

#include "target.h"

static const struct {
    const char *name;
    unsigned cap;
} CAPS[] = {{"refresh", HR_CAP_REFRESH},
            {"silent", HR_CAP_SILENT},
            {"revoke", HR_CAP_REVOKE},
            {"tabs", HR_CAP_TABS},
            {"monitor_session", HR_CAP_MONITOR_SESSION},
            {"misbehave", HR_CAP_MISBEHAVE},
            {"virtual_clock", HR_CAP_VIRTUAL_CLOCK},
            {"real_clock", HR_CAP_REAL_CLOCK}};

unsigned hr_cap_of(const char *name)
{
    for (size_t i = 0; name && i < sizeof CAPS / sizeof CAPS[0]; i++)
        if (!strcmp(CAPS[i].name, name))
            return CAPS[i].cap;
    return 0;
}

unsigned hr_caps_of(json_t *names)
{
    unsigned caps = 0;
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) caps |= hr_cap_of(json_string_value(v));
    return caps;
}

const char *hr_caps_missing(unsigned caps, json_t *scn, char *buf, size_t n)
{
    json_t *cl = json_object_get(scn, "client");
    json_t *methods = json_object_get(cl, "methods"), *tabs = json_object_get(cl, "tabs");
    size_t i;
    json_t *m;
    if (json_array_size(json_object_get(cl, "misbehave")) && !(caps & HR_CAP_MISBEHAVE))
        return "the scenario configures deliberate bugs of renew_core (a negative control)";
    if (tabs && json_integer_value(tabs) > 1 && !(caps & HR_CAP_TABS))
        return "several client instances sharing storage are not part of protocol 1";
    if (!methods && !(caps & HR_CAP_REFRESH))
        return "needs capability refresh";
    json_array_foreach(methods, i, m) if (!(caps & hr_cap_of(json_string_value(m))))
    {
        snprintf(buf, n, "needs capability %s", json_string_value(m));
        return buf;
    }
    return NULL;
}
