/* Severities (docs/severity.md): what the spec obliges a client to do (must), what it or
 * RFC 9700 advises (should), and renewlab's own choices (policy); and the gate that
 * decides, from --fail-on, which failed runs count for the exit status. */
#include <string.h>

#include "harness.h"

const char *const HR_SEVERITIES[] = {"must", "should", "policy", NULL};

const char *hr_severity_name(hr_severity s)
{
    return s >= HR_MUST && s <= HR_POLICY ? HR_SEVERITIES[s] : "must";
}

int hr_severity_parse(const char *name)
{
    for (int i = 0; name && HR_SEVERITIES[i]; i++)
        if (!strcmp(HR_SEVERITIES[i], name))
            return i;
    return -1;
}

/* The gravest severity among the run's failed expectations, or -1 when none failed. */
static int worst_failed(json_t *run)
{
    int worst = -1;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(run, "checks"), i, c)
    {
        if (json_is_true(json_object_get(c, "passed")))
            continue;
        int s = hr_severity_parse(json_string_value(json_object_get(c, "severity")));
        s = s < 0 ? HR_MUST : s; /* a check without one is taken at its gravest */
        worst = worst < 0 || s < worst ? s : worst;
    }
    return worst;
}

void hr_gate(json_t *run, hr_severity fail_on)
{
    const char *verdict = json_string_value(json_object_get(run, "verdict"));
    if (!verdict || strcmp(verdict, "fail"))
        return;
    int worst = worst_failed(run);
    if (worst >= 0)
        json_object_set_new(run, "severity", json_string(hr_severity_name(worst)));
    int known = json_is_true(json_object_get(run, "expected_finding"));
    json_object_set_new(run, "blocking",
                        json_boolean(!known && (worst < 0 || worst <= (int)fail_on)));
}
