/* The matrix: a fixed, documented set of rows (docs/probe.md, "The matrix"), each a
 * value, "not applicable" or "not measured", told on stderr as soon as it is known. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "probe_int.h"

static const char *const ROWS[] = {"discovery",
                                   "revocation_endpoint",
                                   "introspection_endpoint",
                                   "end_session_endpoint",
                                   "check_session_iframe",
                                   "jwks",
                                   "refresh",
                                   "refresh_rejects_unknown_token",
                                   "id_token_on_refresh",
                                   "rotation",
                                   "reuse_detection",
                                   "grace_window",
                                   "family_revocation",
                                   "offline_access_required",
                                   "revocation_unknown_token",
                                   "revocation",
                                   "revocation_cascade",
                                   "introspection",
                                   "prompt_none_without_session",
                                   "prompt_none_with_session",
                                   "refresh_lifetime",
                                   NULL};

static void vrow(probe *p, const char *name, const char *value, int ok, const char *fmt, va_list ap)
{
    char text[900];
    vsnprintf(text, sizeof text, fmt, ap);
    json_object_set_new(p->rows, name,
                        json_pack("{s:s, s:s, s:o, s:s}", "capability", name, "value", value, "ok",
                                  ok < 0 ? json_null() : json_boolean(ok), "evidence", text));
    fprintf(stderr, "probe: %-30s %s%s\n", name, ok == 0 ? "PROBLEM: " : "", value);
}

void pb_row(probe *p, const char *name, const char *value, int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vrow(p, name, value, ok, fmt, ap);
    va_end(ap);
}

void pb_rows_say(probe *p, const char *const *names, const char *value, const char *fmt, ...)
{
    for (size_t i = 0; names[i]; i++) {
        va_list ap;
        va_start(ap, fmt);
        vrow(p, names[i], value, -1, fmt, ap);
        va_end(ap);
    }
}

const char *pb_value(probe *p, const char *name)
{
    return json_string_value(json_object_get(json_object_get(p->rows, name), "value"));
}

json_t *pb_rows(probe *p)
{
    json_t *out = json_array();
    for (size_t i = 0; ROWS[i]; i++) {
        json_t *row = json_object_get(p->rows, ROWS[i]);
        if (!row) /* a safety net: every branch of the probes fills its rows */
            row = json_pack("{s:s, s:s, s:n, s:s}", "capability", ROWS[i], "value", "not measured",
                            "ok", "evidence", "no probe reached it");
        else
            json_incref(row);
        json_array_append_new(out, row);
    }
    return out;
}
