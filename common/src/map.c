/* A string-keyed open-addressing hash map (FNV-1a, linear probing, tombstones). */
#include "cm_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TOMBSTONE ((char *)1)

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void cm_map_init(cm_map *m)
{
    memset(m, 0, sizeof *m);
}

void cm_map_dispose(cm_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
            free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static cm_map_slot *find(const cm_map *m, const char *key, uint64_t h)
{
    if (!m->cap)
        return NULL;
    size_t i = h & (m->cap - 1);
    for (;;) {
        cm_map_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == h && s->key != TOMBSTONE && strcmp(s->key, key) == 0)
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

/* Rehash without tombstones: at twice the size, or the same when they were most of it. */
static int grow(cm_map *m)
{
    size_t cap = !m->cap ? 16 : m->count * 4 < m->cap ? m->cap : m->cap * 2;
    cm_map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        char *k = m->slots[i].key;
        if (!k || k == TOMBSTONE)
            continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->count;
    return 0;
}

int cm_map_put(cm_map *m, const char *key, void *value)
{
    uint64_t h = hash(key);
    cm_map_slot *s = find(m, key, h);
    if (s) {
        s->value = value;
        return 0;
    }
    /* keep the load (live + tombstones) under 1/2 so linear probes stay short */
    if ((m->used + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    char *k = strdup(key);
    if (!k)
        return -1;
    size_t i = h & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != TOMBSTONE)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->used++;
    m->slots[i] = (cm_map_slot){.key = k, .value = value, .hash = h};
    m->count++;
    return 0;
}

void *cm_map_get(const cm_map *m, const char *key)
{
    cm_map_slot *s = find(m, key, hash(key));
    return s ? s->value : NULL;
}

void *cm_map_remove(cm_map *m, const char *key)
{
    cm_map_slot *s = find(m, key, hash(key));
    if (!s)
        return NULL;
    void *v = s->value;
    free(s->key);
    s->key = TOMBSTONE;
    s->value = NULL;
    m->count--;
    return v;
}

int cm_map_next(const cm_map *m, size_t *pos, const char **key, void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        cm_map_slot *s = &m->slots[*pos];
        if (s->key && s->key != TOMBSTONE) {
            *key = s->key;
            *value = s->value;
            (*pos)++;
            return 1;
        }
    }
    return 0;
}
