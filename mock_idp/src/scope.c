/* Scopes: space-separated lists, and what a client may ask for. */
#include "config.h"
#include "store.h"

#include <string.h>

int Idp_scope_has(const char *scope, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = scope; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, item, n) == 0)
            return 1;
        p += len;
        p += strspn(p, " ");
    }
    return 0;
}

int Idp_scope_subset(const char *sub, const char *super)
{
    char item[128];
    for (const char *p = sub; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len >= sizeof item)
            return 0;
        memcpy(item, p, len);
        item[len] = '\0';
        if (len && !Idp_scope_has(super, item))
            return 0;
        p += len;
        p += strspn(p, " ");
    }
    return 1;
}

int Idp_scope_allowed(const idp_client *c, const char *scope)
{
    char item[128];
    for (const char *p = scope; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len >= sizeof item)
            return 0;
        memcpy(item, p, len);
        item[len] = '\0';
        if (len && !Idp_strlist_has(&c->scopes, item))
            return 0;
        p += len;
        p += strspn(p, " ");
    }
    return 1;
}
