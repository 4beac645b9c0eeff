/* The in-memory token store: tokens, an advisory lock and watchers, shared by every
 * client of one process (as browser tabs share localStorage and Web Locks). */
#include "rc_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WATCHERS 16

typedef struct watcher {
    const void *owner;
    rc_store_changed cb;
    void *arg;
} watcher;

struct rc_memory_store {
    rc_tokens tokens;
    int has_tokens;
    const void *lock_owner;
    watcher watchers[MAX_WATCHERS];
    uint64_t version;
};

void rc_tokens_dispose(rc_tokens *t)
{
    free(t->access_token), free(t->refresh_token), free(t->id_token), free(t->scope);
    free(t->id_claims);
    memset(t, 0, sizeof *t);
}

int rc_tokens_copy(rc_tokens *dst, const rc_tokens *src)
{
    *dst = *src;
    dst->access_token = rc_strdup(src->access_token);
    dst->refresh_token = rc_strdup(src->refresh_token);
    dst->id_token = rc_strdup(src->id_token);
    dst->scope = rc_strdup(src->scope);
    dst->id_claims = rc_strdup(src->id_claims);
    if ((src->access_token && !dst->access_token) || (src->refresh_token && !dst->refresh_token) ||
        (src->id_token && !dst->id_token) || (src->scope && !dst->scope) ||
        (src->id_claims && !dst->id_claims)) {
        rc_tokens_dispose(dst);
        return RC_ENOMEM;
    }
    return RC_OK;
}

static void notify(rc_memory_store *m)
{
    for (int i = 0; i < MAX_WATCHERS; i++)
        if (m->watchers[i].cb)
            m->watchers[i].cb(m->watchers[i].arg);
}

static int m_try_lock(void *ctx, const void *owner)
{
    rc_memory_store *m = ctx;
    if (m->lock_owner && m->lock_owner != owner)
        return 0;
    m->lock_owner = owner;
    return 1;
}

static void m_unlock(void *ctx, const void *owner)
{
    rc_memory_store *m = ctx;
    if (m->lock_owner == owner) {
        m->lock_owner = NULL;
        notify(m);
    }
}

static int m_load(void *ctx, rc_tokens *out)
{
    rc_memory_store *m = ctx;
    if (!m->has_tokens)
        return RC_ENO_SESSION;
    return rc_tokens_copy(out, &m->tokens);
}

static int m_save(void *ctx, const rc_tokens *in)
{
    rc_memory_store *m = ctx;
    rc_tokens copy;
    if (rc_tokens_copy(&copy, in) != RC_OK)
        return RC_ENOMEM;
    rc_tokens_dispose(&m->tokens);
    m->tokens = copy;
    m->tokens.version = ++m->version;
    m->has_tokens = 1;
    return RC_OK;
}

static int m_clear(void *ctx)
{
    rc_memory_store *m = ctx;
    rc_tokens_dispose(&m->tokens);
    m->has_tokens = 0;
    m->version++;
    notify(m);
    return RC_OK;
}

static void m_watch(void *ctx, const void *owner, rc_store_changed cb, void *arg)
{
    rc_memory_store *m = ctx;
    watcher *free_slot = NULL;
    for (int i = 0; i < MAX_WATCHERS; i++) {
        if (m->watchers[i].owner == owner) {
            m->watchers[i] = (watcher){cb ? owner : NULL, cb, arg};
            return;
        }
        if (!m->watchers[i].owner && !free_slot)
            free_slot = &m->watchers[i];
    }
    if (free_slot && cb)
        *free_slot = (watcher){owner, cb, arg};
}

rc_memory_store *rc_memory_store_new(void)
{
    return calloc(1, sizeof(rc_memory_store));
}

void rc_memory_store_free(rc_memory_store *m)
{
    if (!m)
        return;
    rc_tokens_dispose(&m->tokens);
    free(m);
}

rc_store rc_memory_store_iface(rc_memory_store *m)
{
    return (rc_store){.try_lock = m_try_lock,
                      .unlock = m_unlock,
                      .load = m_load,
                      .save = m_save,
                      .clear = m_clear,
                      .watch = m_watch,
                      .ctx = m};
}
