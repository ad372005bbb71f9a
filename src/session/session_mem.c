/* session_mem.c - the in-memory session store: a GHashTable keyed by the
 * SHA-256 of the cookie id, under one mutex. Layer: session.
 * Trust: keys are hashes of random ids; compared in constant time anyway. */
#include <pthread.h>
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>

#include "session/session.h"

struct session_mem {
    pthread_mutex_t lock;   /* held only for hash table operations */
    GHashTable *map;        /* session_id_hash(s) -> s, one reference */
};

/* The key is SHA-256 output, so any 4 of its bytes are a good hash. */
static guint
session_mem_hash(gconstpointer key)
{
    const unsigned char *h = key;

    return (guint)h[0] | (guint)h[1] << 8 | (guint)h[2] << 16 |
           (guint)h[3] << 24;
}

static gboolean
session_mem_equal(gconstpointer a, gconstpointer b)
{
    return CRYPTO_memcmp(a, b, SESSION_HASH_LEN) == 0;
}

void *
session_mem_new(void)
{
    struct session_mem *m = g_new0(struct session_mem, 1);

    xassert(pthread_mutex_init(&m->lock, NULL) == 0);
    m->map = g_hash_table_new(session_mem_hash, session_mem_equal);
    return m;
}

static void
session_mem_free(void *impl)
{
    struct session_mem *m = impl;

    if (m == NULL)
        return;
    xassert(g_hash_table_size(m->map) == 0);
    g_hash_table_destroy(m->map);
    pthread_mutex_destroy(&m->lock);
    g_free(m);
}

static int
session_mem_put(void *impl, struct session *s, struct err *err)
{
    struct session_mem *m = impl;
    const unsigned char *key = session_id_hash(s);
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    if (g_hash_table_contains(m->map, key)) {
        /* Two equal SHA-256s of fresh random ids: the generator is
         * broken. Refuse rather than hand out someone else's session. */
        err_set(err, ERR_INTERNAL, "session id collision");
        rc = -1;
    } else {
        session_ref(s);
        g_hash_table_insert(m->map, (gpointer)key, s);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static struct session *
session_mem_get(void *impl, const unsigned char hash[SESSION_HASH_LEN])
{
    struct session_mem *m = impl;
    struct session *s;

    pthread_mutex_lock(&m->lock);
    s = g_hash_table_lookup(m->map, hash);
    if (s != NULL)
        session_ref(s);
    pthread_mutex_unlock(&m->lock);
    return s;
}

static bool
session_mem_remove(void *impl, struct session *s)
{
    struct session_mem *m = impl;
    const unsigned char *key = session_id_hash(s);
    bool found;

    pthread_mutex_lock(&m->lock);
    found = g_hash_table_lookup(m->map, key) == s;
    if (found)
        g_hash_table_remove(m->map, key);
    pthread_mutex_unlock(&m->lock);
    return found;
}

static void
session_mem_take_if(void *impl, session_store_pick_fn *pick, void *ctx,
                    GPtrArray *out)
{
    struct session_mem *m = impl;
    GHashTableIter it;
    gpointer key, value;

    pthread_mutex_lock(&m->lock);
    g_hash_table_iter_init(&it, m->map);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (pick == NULL || pick(value, ctx)) {
            g_ptr_array_add(out, value);
            g_hash_table_iter_steal(&it);
        }
    }
    pthread_mutex_unlock(&m->lock);
}

static size_t
session_mem_count(void *impl)
{
    struct session_mem *m = impl;
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = g_hash_table_size(m->map);
    pthread_mutex_unlock(&m->lock);
    return n;
}

const struct session_store_ops session_mem_ops = {
    .name = "memory",
    .free = session_mem_free,
    .put = session_mem_put,
    .get = session_mem_get,
    .remove = session_mem_remove,
    .take_if = session_mem_take_if,
    .count = session_mem_count,
};
