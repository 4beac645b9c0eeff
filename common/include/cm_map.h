/* A string-keyed hash map (open addressing) holding borrowed pointers. */
#ifndef CM_MAP_H
#define CM_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cm_map_slot {
    char *key; /* owned copy; NULL = empty; (char*)1 = tombstone */
    void *value;
    uint64_t hash; /* of key: probes compare it before the strings */
} cm_map_slot;

typedef struct cm_map {
    cm_map_slot *slots;
    size_t cap, count, used;
} cm_map;

/** Initialise an empty map (caller-allocated). */
void cm_map_init(cm_map *m);
/** Free the keys and slots; values are not touched. */
void cm_map_dispose(cm_map *m);
/** Insert or replace; the key is copied. Returns 0 or -1 on allocation failure. */
int cm_map_put(cm_map *m, const char *key, void *value);
/** The value for @p key, or NULL. */
void *cm_map_get(const cm_map *m, const char *key);
/** Remove @p key; returns its value or NULL. */
void *cm_map_remove(cm_map *m, const char *key);
/** Iterate: start with *pos = 0; returns 1 and fills key/value while entries remain. */
int cm_map_next(const cm_map *m, size_t *pos, const char **key, void **value);

#endif
