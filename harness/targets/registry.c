/* The target registry (target.h): --target NAME or NAME:ARG, one syntax for all. Adding a
 * C-level target is a file and a line here; adding a browser client is a folder under
 * harness/web/clients (the page target loads it by name). */
#include <stdio.h>
#include <string.h>

#include "page_clients.h"
#include "target.h"

extern const hr_target_ops hr_target_core, hr_target_exec, hr_target_exec_faketime, hr_target_page;

static const hr_target_ops *const REGISTRY[] = {&hr_target_core, &hr_target_exec,
                                                &hr_target_exec_faketime, &hr_target_page};

int hr_target_resolve(const char *spec, hr_target_ref *out, char *err, size_t n)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof REGISTRY / sizeof REGISTRY[0]; i++) {
        const hr_target_ops *t = REGISTRY[i];
        if (strlen(t->name) != len || strncmp(t->name, spec, len) != 0)
            continue;
        if (t->arg && (!colon || !colon[1])) {
            snprintf(err, n, "target \"%s\" needs an argument (%s:%s)", spec, t->name, t->arg);
            return -1;
        }
        if (!t->arg && colon) {
            snprintf(err, n, "target \"%s\" takes no argument", t->name);
            return -1;
        }
        *out = (hr_target_ref){t, colon ? colon + 1 : NULL};
        return 0;
    }
    if (!colon && hr_page_client_exists(spec)) { /* a browser client's folder */
        *out = (hr_target_ref){&hr_target_page, spec};
        return 0;
    }
    char names[300];
    hr_target_names(names, sizeof names);
    snprintf(err, n, "unknown target \"%s\" (%s)", spec, names);
    return -1;
}

int hr_target_check(const hr_target_ref *ref, char *err, size_t n)
{
    return ref->ops->check ? ref->ops->check(ref->arg, err, n) : 0;
}

int hr_catalogue_known(const char *name, int *browser)
{
    *browser = 0;
    for (size_t i = 0; i < sizeof REGISTRY / sizeof REGISTRY[0]; i++) {
        if (!REGISTRY[i]->arg && !strcmp(REGISTRY[i]->catalogue(NULL), name))
            return 1;
        if (REGISTRY[i]->group && !strcmp(REGISTRY[i]->group, name))
            return *browser = 1;
    }
    *browser = hr_page_client_exists(name);
    return *browser;
}

void hr_catalogue_names(char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof REGISTRY / sizeof REGISTRY[0] && at < n; i++) {
        const char *name = REGISTRY[i]->arg ? REGISTRY[i]->group : REGISTRY[i]->catalogue(NULL);
        if (name)
            at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? ", " : "", name);
    }
    if (at < n)
        hr_page_client_names(buf + at, n - at);
}

void hr_target_names(char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof REGISTRY / sizeof REGISTRY[0] && at < n; i++) {
        const hr_target_ops *t = REGISTRY[i];
        at += (size_t)snprintf(buf + at, n - at, "%s%s%s%s", i ? ", " : "", t->name,
                               t->arg ? ":" : "", t->arg ? t->arg : "");
    }
    if (at < n)
        hr_page_client_names(buf + at, n - at); /* ", iframe, oidc-client-ts" */
}

void hr_targets_release(void)
{
    hr_page_release();
}

void hr_targets_kill_all(void)
{
    hr_page_kill_all();
}
