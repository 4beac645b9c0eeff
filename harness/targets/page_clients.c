/* Page clients (page_clients.h): finding, loading and checking their manifests. */
#include "page_clients.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apphost.h"
#include "browser.h"
#include "cm_file.h"
#include "cm_schema.h"
#include "target.h"

static const cm_param MANIFEST[] = {{"name", CM_T_STR, 1, NULL},
                                    {"description", CM_T_STR, 0, NULL},
                                    {"scripts", CM_T_STRARRAY, 1, NULL},
                                    {"libraries", CM_T_OBJ, 0, NULL},
                                    {"capabilities", CM_T_STRARRAY, 1, NULL},
                                    {NULL, 0, 0, NULL}};

static int plain_name(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n < 64 && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void client_dir(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/clients/%s", hr_web_dir(), name);
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
    snprintf(dir, sizeof dir, "%s/clients", hr_web_dir());
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

/* Every script is a file of the folder or one of its libraries; every capability known. */
static int check(json_t *m, char *err, size_t n)
{
    if (cm_schema_check(m, MANIFEST, "", NULL, err, n) != 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "capabilities"), i, v) if (
        !hr_cap_of(json_string_value(
            v))) return cm_errf(err, n, "/capabilities/%zu: unknown capability \"%.60s\"", i,
                                json_string_value(v));
    const char *key;
    json_object_foreach(
        json_object_get(m, "libraries"), key,
        v) if (!json_is_string(v) ||
               strstr(json_string_value(v), "..")) return cm_errf(err, n,
                                                                  "/libraries/%.60s: a path under "
                                                                  "harness/web, without \"..\"",
                                                                  key);
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

const char *hr_page_client_missing(const hr_page_client *c, const char *web_dir, char *buf,
                                   size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(c->manifest, "libraries"), key, v)
    {
        snprintf(buf, n, "%s/%s", web_dir, json_string_value(v));
        if (access(buf, R_OK) != 0)
            return buf;
    }
    return NULL;
}

/* The npm package a library path names: "node_modules/NAME/..." or
 * "node_modules/@SCOPE/NAME/..." -> its folder, "node_modules/NAME", into @p buf. */
static int package_dir(const char *path, char *buf, size_t n)
{
    if (strncmp(path, "node_modules/", 13))
        return -1;
    const char *end = strchr(path + 13, '/');
    if (end && path[13] == '@')
        end = strchr(end + 1, '/');
    if (!end || (size_t)(end - path) >= n)
        return -1;
    snprintf(buf, n, "%.*s", (int)(end - path), path);
    return 0;
}

json_t *hr_page_client_identity(const hr_page_client *c, const char *web_dir)
{
    json_t *id = json_pack("{s:s}", "name", c->name);
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(c->manifest, "libraries"), key, v)
    {
        char dir[300], path[900];
        if (package_dir(json_string_value(v), dir, sizeof dir) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s/package.json", web_dir, dir);
        json_t *pkg = json_load_file(path, 0, NULL);
        json_t *version = json_object_get(pkg, "version");
        if (json_is_string(version))
            json_object_set(id, "version", version);
        json_decref(pkg);
        if (json_is_string(version))
            break;
    }
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
