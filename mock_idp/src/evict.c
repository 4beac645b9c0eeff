/* Bounded state: past --state-limit the oldest grants, sessions and codes are evicted
 * (counted in GET /_mock/state), after each request that made one. */
#include "cm_map.h"
#include "server_state.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

static size_t limit_of(const idp_store *st)
{
    return st->limit ? st->limit : 10000;
}

static void evict_families(idp_server *s, size_t n)
{
    idp_store *st = &s->store;
    for (size_t i = 0; i < n; i++) {
        st->families[i]->evicted = 1;
        for (idp_token *t = st->families[i]->tokens; t; t = t->next_in_family)
            cm_map_remove(&st->tokens, t->key);
    }
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&st->codes, &pos, &key, &v)) { /* codes pointing at them go too */
        idp_code *c = v;
        if (c->family && c->family->evicted) {
            cm_map_remove(&st->codes, c->value);
            Idp_store_code_free(c);
        }
    }
    for (size_t i = 0; i < n; i++)
        Idp_store_family_free(st->families[i]);
    memmove(st->families, st->families + n, (st->n_families - n) * sizeof *st->families);
    st->n_families -= n;
    st->evicted += n;
}

static void evict_loose(idp_store *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cm_map_remove(&st->tokens, st->loose[i]->key);
        Idp_store_token_free(st->loose[i]);
    }
    memmove(st->loose, st->loose + n, (st->n_loose - n) * sizeof *st->loose);
    st->n_loose -= n;
    st->evicted += n;
}

/* Sessions and codes live in maps: evict those created before a serial threshold. */
static unsigned long serial_threshold(const cm_map *m, size_t n, int sessions)
{
    unsigned long min = (unsigned long)-1, max = 0;
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(m, &pos, &key, &v)) {
        unsigned long sr = sessions ? ((idp_session *)v)->serial : ((idp_code *)v)->serial;
        min = sr < min ? sr : min;
        max = sr > max ? sr : max;
    }
    /* serials are dense enough: evicting below min + n removes about n of the oldest */
    return min + n > max ? max : min + n;
}

static void evict_sessions(idp_store *st, size_t n)
{
    unsigned long below = serial_threshold(&st->sessions, n, 1);
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&st->sessions, &pos, &key, &v)) {
        idp_session *sess = v;
        if (sess->serial < below) {
            cm_map_remove(&st->sessions, sess->cookie);
            Idp_store_session_free(sess);
            st->evicted++;
        }
    }
}

static void evict_codes(idp_store *st, size_t n)
{
    unsigned long below = serial_threshold(&st->codes, n, 0);
    size_t pos = 0;
    const char *key;
    void *v;
    while (cm_map_next(&st->codes, &pos, &key, &v)) {
        idp_code *c = v;
        if (c->serial < below) {
            cm_map_remove(&st->codes, c->value);
            Idp_store_code_free(c);
            st->evicted++;
        }
    }
}

int Idp_store_over_limits(const idp_store *st)
{
    size_t limit = limit_of(st);
    return st->n_families > limit || st->n_loose > limit || st->sessions.count > limit ||
           st->codes.count > limit || st->pending.count > limit;
}

void Idp_store_enforce_limits(idp_server *s)
{
    idp_store *st = &s->store;
    size_t limit = limit_of(st), batch = limit / 10 ? limit / 10 : 1;
    if (st->n_families > limit)
        evict_families(s, st->n_families - limit + batch);
    if (st->n_loose > limit)
        evict_loose(st, st->n_loose - limit + batch);
    if (st->sessions.count > limit)
        evict_sessions(st, st->sessions.count - limit + batch);
    if (st->codes.count > limit)
        evict_codes(st, st->codes.count - limit + batch);
    if (st->pending.count > limit) { /* unanswered login forms: drop them all */
        size_t pos = 0;
        const char *key;
        void *v;
        while (cm_map_next(&st->pending, &pos, &key, &v))
            json_decref(v);
        cm_map_dispose(&st->pending);
        cm_map_init(&st->pending);
    }
}
