/* Observe mode's grouping: which IdP session, grant (family), user or client each trace
 * entry belongs to, so that a server-side RP serving many users is graded per user and not
 * as one client (docs/observe.md, "Groups"). Entries name their grant and session only
 * where the IdP knows them; the rest is resolved through the tokens and codes they present
 * or were issued. */
#include <stdio.h>
#include <string.h>

#include "groups.h"
#include "harness.h"
#include "trace_access.h"

/* What the trace says about ids: token or code -> family, family -> session and client,
 * session -> user. */
typedef struct links {
    json_t *family_of;              /* "at#N" / "rt#N" / "code#N" -> "f#N" */
    json_t *session_of, *client_of; /* "f#N" -> "sess#N", client id */
    json_t *user_of;                /* "sess#N" -> sub */
} links;

static void link(json_t *map, const char *key, const char *value)
{
    if (*key && *value && !json_object_get(map, key))
        json_object_set_new(map, key, json_string(value));
}

static void learn(links *l, json_t *e)
{
    const char *fam = hr_str(e, "family"), *sess = hr_str(e, "session");
    link(l->family_of, hr_str(e, "presented"), fam);
    json_t *issued = json_object_get(e, "issued");
    size_t i;
    json_t *id;
    if (json_is_string(issued))
        link(l->family_of, json_string_value(issued), fam);
    json_array_foreach(issued, i, id) link(l->family_of, json_string_value(id), fam);
    link(l->session_of, fam, sess);
    link(l->client_of, fam, hr_str(e, "client_id"));
    link(l->user_of, sess, hr_str(e, "sub"));
}

static const char *get(json_t *map, const char *key)
{
    return json_string_value(json_object_get(map, key));
}

/* The entry's family: its own, or that of what it presented or was issued (an authorize
 * entry's code becomes a family when it is redeemed). */
static const char *family(links *l, json_t *e)
{
    const char *f = hr_str(e, "family");
    if (*f)
        return f;
    if ((f = get(l->family_of, hr_str(e, "presented"))))
        return f;
    json_t *issued = json_object_get(e, "issued");
    return json_is_string(issued) ? get(l->family_of, json_string_value(issued)) : NULL;
}

typedef struct who {
    const char *family, *session, *user, *client;
} who;

static who resolve(links *l, json_t *e)
{
    who w = {.family = family(l, e)};
    w.session = *hr_str(e, "session") ? hr_str(e, "session") : get(l->session_of, w.family);
    w.user = *hr_str(e, "sub") ? hr_str(e, "sub") : get(l->user_of, w.session);
    w.client = *hr_str(e, "client_id") ? hr_str(e, "client_id") : get(l->client_of, w.family);
    return w;
}

/* Requests about no one in particular: graded in no group but "none". */
static int anonymous(json_t *e)
{
    const char *ep = hr_str(e, "endpoint");
    return !strcmp(ep, "discovery") || !strcmp(ep, "jwks") || !strcmp(ep, "check_session");
}

static const char *key_of(const who *w, const char *by, json_t *e)
{
    if (!strcmp(by, "none"))
        return "";
    if (anonymous(e))
        return NULL;
    const char *k = !strcmp(by, "session")  ? (w->session ? w->session : w->family)
                    : !strcmp(by, "family") ? w->family
                    : !strcmp(by, "user")   ? w->user
                                            : w->client;
    return k ? k : "unattributed";
}

static void add_name(json_t *set, const char *v)
{
    if (v && *v)
        json_object_set_new(set, v, json_true());
}

static void name_part(char *out, size_t n, const char *label, json_t *set)
{
    size_t len = strlen(out);
    const char *k;
    json_t *v;
    int first = 1;
    if (json_object_size(set) == 0)
        return;
    len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s ", len ? ", " : "", label);
    json_object_foreach(set, k, v)
    {
        if (len >= n)
            return;
        len += (size_t)snprintf(out + len, n - len, "%s%s", first ? "" : " ", k);
        first = 0;
    }
}

/* "client demo-spa, user alice, session sess#1, families f#1 f#2" */
static json_t *group_name(json_t *g, const char *key)
{
    char name[600] = "";
    name_part(name, sizeof name, "client", json_object_get(g, "clients"));
    name_part(name, sizeof name, "user", json_object_get(g, "users"));
    name_part(name, sizeof name, "session", json_object_get(g, "sessions"));
    name_part(name, sizeof name, "families", json_object_get(g, "families"));
    return json_string(*name ? name : *key ? key : "the whole trace");
}

json_t *hr_groups(json_t *entries, const char *by)
{
    links l = {json_object(), json_object(), json_object(), json_object()};
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) learn(&l, e);
    json_t *groups = json_object(), *order = json_array();
    json_array_foreach(entries, i, e)
    {
        who w = resolve(&l, e);
        const char *key = key_of(&w, by, e);
        if (!key)
            continue;
        json_t *g = json_object_get(groups, key);
        if (!g) {
            g = json_pack("{s:s, s:[], s:{}, s:{}, s:{}, s:{}}", "key", key, "entries", "clients",
                          "users", "sessions", "families");
            json_object_set_new(groups, key, g);
            json_array_append(order, g);
        }
        json_array_append(json_object_get(g, "entries"), e);
        add_name(json_object_get(g, "clients"), w.client);
        add_name(json_object_get(g, "users"), w.user);
        add_name(json_object_get(g, "sessions"), w.session);
        add_name(json_object_get(g, "families"), w.family);
    }
    json_array_foreach(order, i, e) json_object_set_new(e, "name", group_name(e, hr_str(e, "key")));
    json_decref(groups);
    json_decref(l.family_of), json_decref(l.session_of), json_decref(l.client_of),
        json_decref(l.user_of);
    return order;
}

int hr_group_by_known(const char *by)
{
    static const char *const known[] = {"session", "family", "user", "client", "none", NULL};
    for (size_t i = 0; known[i]; i++)
        if (!strcmp(known[i], by))
            return 1;
    return 0;
}
