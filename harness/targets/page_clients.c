/* Page clients (page_clients.h): finding, loading and checking their manifests. */
#include "page_clients.h"
#include "page_settings.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "browser.h"
#include "cm_file.h"
#include "cm_schema.h"
#include "harness.h"
#include "target.h"

static const cm_param MANIFEST[] = {{"name", CM_T_STR, 1, NULL},
                                    {"description", CM_T_STR, 0, NULL},
                                    {"library", CM_T_OBJ, 0, NULL},
                                    {"scripts", CM_T_STRARRAY, 1, NULL},
                                    {"libraries", CM_T_OBJ, 0, NULL},
                                    {"capabilities", CM_T_STRARRAY, 1, NULL},
                                    {"settings", CM_T_OBJ, 0, NULL},
                                    {"options", CM_T_OBJ, 0, NULL},
                                    {NULL, 0, 0, NULL}};
static const cm_param LIBRARY[] = {{"package", CM_T_STR, 1, NULL},
                                   {"version", CM_T_STR, 1, NULL},
                                   {"upstream", CM_T_STR, 0, NULL},
                                   {NULL, 0, 0, NULL}};

static int plain_name(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n < 64 && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void client_dir(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/clients/%s", hr_data_dir(HR_DATA_WEB), name);
}

int hr_page_client_exists(const char *name)
{
    char dir[512], path[600];
    if (!plain_name(name))
        return 0;
    client_dir(name, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    return access(path, R_OK) == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void hr_page_client_names(char *buf, size_t n)
{
    char dir[512], *names[64];
    size_t count = 0, at = 0;
    snprintf(dir, sizeof dir, "%s/clients", hr_data_dir(HR_DATA_WEB));
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && count < 64 && (e = readdir(d)))
        if (hr_page_client_exists(e->d_name))
            names[count++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, count, sizeof names[0], by_name);
    buf[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        if (at < n)
            at += (size_t)snprintf(buf + at, n - at, ", %s", names[i] ? names[i] : "");
        free(names[i]);
    }
}

static int check_capabilities(json_t *m, char *err, size_t n)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "capabilities"), i, v)
    {
        if (!hr_cap_of(json_string_value(v)))
            return cm_errf(err, n, "/capabilities/%zu: unknown capability \"%.60s\"", i,
                           json_string_value(v));
    }
    return 0;
}

/* A relative path that stays in its folder. */
static int inside(const char *path)
{
    return *path && *path != '/' && !strstr(path, "..");
}

static int check_libraries(json_t *m, char *err, size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(m, "libraries"), key, v)
    {
        if (!json_is_string(v) || !inside(json_string_value(v)))
            return cm_errf(err, n,
                           "/libraries/%.60s: a path in the folder or the web folder, without "
                           "\"..\"",
                           key);
    }
    json_t *lib = json_object_get(m, "library");
    if (lib && cm_schema_check(lib, LIBRARY, "/library", NULL, err, n) != 0)
        return -1;
    const char *pkg = json_string_value(json_object_get(lib, "package"));
    if (pkg && (!inside(pkg) || strstr(pkg, "//")))
        return cm_errf(err, n, "/library/package: an npm package name");
    return 0;
}

/* Every script is a file of the folder or one of its libraries. */
static int check_scripts(json_t *m, char *err, size_t n)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "scripts"), i, v)
    {
        const char *s = json_string_value(v);
        int lib =
            !strncmp(s, "/lib/", 5) && json_object_get(json_object_get(m, "libraries"), s + 5);
        if (!lib && (strchr(s, '/') || !*s || *s == '.'))
            return cm_errf(err, n,
                           "/scripts/%zu: a file of the folder or /lib/NAME of \"libraries\"", i);
    }
    return 0;
}

/* One target of a setting: an option name, or {"option", "times", "if_true", "if_false"}. */
static int mapping_ok(json_t *v)
{
    if (json_is_string(v))
        return 1;
    json_t *option = json_object_get(v, "option"), *times = json_object_get(v, "times");
    size_t known =
        !!option + !!times + !!json_object_get(v, "if_true") + !!json_object_get(v, "if_false");
    return json_is_object(v) && json_is_string(option) && (!times || json_is_number(times)) &&
           known == json_object_size(v);
}

/* "settings": a scenario setting -> the library option (or options) it sets. */
static int check_settings(json_t *m, char *err, size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(m, "settings"), key, v)
    {
        if (!hr_page_setting_known(key))
            return cm_errf(err, n,
                           "/settings/%.60s: not a scenario setting (docs/page-protocol.md "
                           "lists them)",
                           key);
        size_t i;
        json_t *one;
        int ok = mapping_ok(v) || (json_is_array(v) && json_array_size(v) > 0);
        json_array_foreach(v, i, one) ok = ok && mapping_ok(one);
        if (!ok)
            return cm_errf(err, n,
                           "/settings/%.60s: an option name, {\"option\": NAME, \"times\": N, "
                           "\"if_true\": V, \"if_false\": V}, or a list of them",
                           key);
    }
    return 0;
}

static int check(json_t *m, char *err, size_t n)
{
    if (cm_schema_check(m, MANIFEST, "", NULL, err, n) != 0 || check_capabilities(m, err, n) ||
        check_libraries(m, err, n) || check_scripts(m, err, n) || check_settings(m, err, n))
        return -1;
    return 0;
}

int hr_page_client_load(const char *spec, hr_page_client *c, char *err, size_t n)
{
    memset(c, 0, sizeof *c);
    if (strchr(spec, '/'))
        snprintf(c->dir, sizeof c->dir, "%s", spec);
    else if (plain_name(spec))
        client_dir(spec, c->dir, sizeof c->dir);
    else
        return cm_errf(err, n, "page client \"%.60s\": a name of [a-z0-9._-] or a folder", spec);
    char path[600], ferr[300];
    snprintf(path, sizeof path, "%s/manifest.json", c->dir);
    size_t len;
    char *text = cm_file_read(path, CM_FILE_MAX_TEXT, &len, ferr, sizeof ferr);
    if (!text)
        return cm_errf(err, n, "%s", ferr);
    json_error_t je;
    c->manifest = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!c->manifest)
        return cm_errf(err, n, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    char why[300];
    if (!json_is_object(c->manifest) || check(c->manifest, why, sizeof why) != 0) {
        cm_errf(err, n, "%s: %s", path, json_is_object(c->manifest) ? why : "not a JSON object");
        hr_page_client_dispose(c);
        return -1;
    }
    snprintf(c->name, sizeof c->name, "%s",
             json_string_value(json_object_get(c->manifest, "name")));
    return 0;
}

void hr_page_client_dispose(hr_page_client *c)
{
    json_decref(c->manifest);
    c->manifest = NULL;
}

json_t *hr_page_client_scripts(const hr_page_client *c)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c->manifest, "scripts"), i, v)
    {
        const char *s = json_string_value(v);
        json_array_append_new(out, !strncmp(s, "/lib/", 5) ? json_string(s)
                                                           : json_sprintf("/client/%s", s));
    }
    return out;
}

int hr_page_client_file(const hr_page_client *c, const char *rel, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", c->dir, rel);
    if (access(buf, R_OK) == 0)
        return 0;
    snprintf(buf, n, "%s/%s", hr_data_dir(HR_DATA_WEB), rel);
    return access(buf, R_OK) == 0 ? 0 : -1;
}

json_t *hr_page_client_libraries(const hr_page_client *c, char *missing, size_t n)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(c->manifest, "libraries"), key, v)
    {
        if (hr_page_client_file(c, json_string_value(v), missing, n) != 0) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, key, json_string(missing));
    }
    return out;
}

/* The installed version of the manifest's library (new reference), or NULL. */
static json_t *installed_version(const hr_page_client *c)
{
    const char *pkg =
        json_string_value(json_object_get(json_object_get(c->manifest, "library"), "package"));
    char rel[300], path[1024];
    if (!pkg)
        return NULL;
    snprintf(rel, sizeof rel, "node_modules/%s/package.json", pkg);
    if (hr_page_client_file(c, rel, path, sizeof path) != 0)
        return NULL;
    json_t *doc = json_load_file(path, 0, NULL);
    json_t *version = json_incref(json_object_get(doc, "version"));
    json_decref(doc);
    if (!json_is_string(version)) {
        json_decref(version);
        return NULL;
    }
    return version;
}

int hr_page_client_pinned(hr_page_client *c, char *err, size_t n)
{
    json_t *lib = json_object_get(c->manifest, "library");
    if (!lib)
        return 0;
    const char *pkg = json_string_value(json_object_get(lib, "package"));
    const char *want = json_string_value(json_object_get(lib, "version"));
    json_t *have = installed_version(c);
    int rc = 0;
    if (!have)
        rc = cm_errf(err, n, "%.60s: the npm package %.80s is not installed (in %.200s or %.200s)",
                     c->name, pkg, c->dir, hr_data_dir(HR_DATA_WEB));
    else if (strcmp(json_string_value(have), want) != 0)
        rc = cm_errf(err, n, "%.60s: the manifest pins %.80s %.40s, the installed one is %.40s",
                     c->name, pkg, want, json_string_value(have));
    if (have)
        snprintf(c->version, sizeof c->version, "%s", json_string_value(have));
    json_decref(have);
    return rc;
}

json_t *hr_page_client_identity(const hr_page_client *c)
{
    json_t *id = json_pack("{s:s}", "name", c->name);
    json_t *lib = json_object_get(c->manifest, "library");
    if (lib)
        json_object_set(id, "library", json_object_get(lib, "package"));
    if (*c->version) /* read once, by hr_page_client_pinned */
        json_object_set_new(id, "version", json_string(c->version));
    return id;
}

void hr_page_release(void)
{
    hr_browser_pool_close();
}

void hr_page_kill_all(void)
{
    hr_browser_kill_all();
}
