/* Reading trace entries and events (JSON) in the judge and the figures. */
#ifndef HR_TRACE_ACCESS_H
#define HR_TRACE_ACCESS_H

#include <jansson.h>
#include <string.h>

/* A string member, or "" when absent. */
static inline const char *hr_str(json_t *e, const char *key)
{
    const char *v = json_string_value(json_object_get(e, key));
    return v ? v : "";
}

/* The entry's time, seconds from the run's start. */
static inline double hr_t(json_t *e)
{
    return json_number_value(json_object_get(e, "t"));
}

static inline int hr_is_refresh(json_t *e)
{
    return !strcmp(hr_str(e, "endpoint"), "token") &&
           !strcmp(hr_str(e, "grant_type"), "refresh_token");
}

static inline int hr_status(json_t *e)
{
    return (int)json_integer_value(json_object_get(e, "status"));
}

/* The access token a token answer issued ("at#N"), or NULL. */
static inline const char *hr_issued_at(json_t *e)
{
    const char *first = json_string_value(json_array_get(json_object_get(e, "issued"), 0));
    return first && !strncmp(first, "at#", 3) && hr_status(e) == 200 ? first : NULL;
}

#endif
