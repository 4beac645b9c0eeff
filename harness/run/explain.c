/* A scenario's story and steps in words (renewlab explain). */
#include <stdlib.h>
#include <string.h>

#include "cm_strbuf.h"
#include "harness.h"

static void step_words(cm_strbuf *b, json_t *s)
{
    const char *what = json_string_value(json_object_get(s, "do"));
    json_t *v;
    if (!strcmp(what, "login"))
        cm_strbuf_printf(b, "log in as %s",
                         json_string_value(json_object_get(s, "sub"))
                             ? json_string_value(json_object_get(s, "sub"))
                             : "alice");
    else if (!strcmp(what, "advance"))
        cm_strbuf_printf(b, "let %g s of virtual time pass",
                         json_number_value(json_object_get(s, "seconds")));
    else if (!strcmp(what, "use"))
        cm_strbuf_printf(b, "ask for a fresh access token (%lld caller(s) at once)",
                         (v = json_object_get(s, "count")) ? json_integer_value(v) : 1);
    else if (!strcmp(what, "api_call"))
        cm_strbuf_printf(b, "call the resource %s with the access token",
                         json_string_value(json_object_get(s, "path"))
                             ? json_string_value(json_object_get(s, "path"))
                             : "/resource");
    else if (!strcmp(what, "fault")) {
        char *rule = json_dumps(json_object_get(s, "rule"), JSON_COMPACT | JSON_SORT_KEYS);
        cm_strbuf_printf(b, "the IdP starts misbehaving: %s", rule);
        free(rule);
    } else if (!strcmp(what, "note"))
        cm_strbuf_printf(b, "(%s)", json_string_value(json_object_get(s, "text")));
    else
        cm_strbuf_printf(b, "%s", what);
    if ((v = json_object_get(s, "tab")))
        cm_strbuf_printf(b, " [tab %lld]", json_integer_value(v));
}

char *scn_explain(json_t *scn)
{
    cm_strbuf b;
    cm_strbuf_init(&b);
    cm_strbuf_printf(
        &b, "%s — %s\ncatalogue: %s\ntargets:", json_string_value(json_object_get(scn, "id")),
        json_string_value(json_object_get(scn, "title")),
        json_string_value(json_object_get(scn, "catalogue")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(scn, "targets"), i, v)
        cm_strbuf_printf(&b, " %s", json_string_value(v));
    cm_strbuf_printf(&b,
                     "\n\n%s\n\nreferences:", json_string_value(json_object_get(scn, "teaches")));
    json_array_foreach(json_object_get(scn, "refs"), i, v)
        cm_strbuf_printf(&b, " %s", json_string_value(v));
    char *setup = json_dumps(json_object_get(scn, "idp"), JSON_COMPACT | JSON_SORT_KEYS);
    char *client = json_dumps(json_object_get(scn, "client"), JSON_COMPACT | JSON_SORT_KEYS);
    cm_strbuf_printf(&b, "\n\nIdP: %s\nclient: %s\n", setup ? setup : "demo configuration",
                     client ? client : "defaults");
    free(setup), free(client);
    json_array_foreach(json_object_get(scn, "faults"), i, v)
    {
        char *rule = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        cm_strbuf_printf(&b, "fault from the start: %s\n", rule);
        free(rule);
    }
    cm_strbuf_puts(&b, "\nsteps:\n");
    json_array_foreach(json_object_get(scn, "steps"), i, v)
    {
        cm_strbuf_printf(&b, "  %zu. ", i + 1);
        step_words(&b, v);
        cm_strbuf_puts(&b, "\n");
    }
    char *expect = json_dumps(json_object_get(scn, "expect"), JSON_INDENT(2) | JSON_SORT_KEYS);
    cm_strbuf_printf(&b, "\nexpected:\n%s\n", expect);
    free(expect);
    return cm_strbuf_take(&b);
}
