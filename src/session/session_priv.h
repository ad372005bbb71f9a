/* session_priv.h - the inside of struct session, shared by session.c and
 * pool.c and by nothing else (everyone else uses session.h).
 * Layer: session. Lock rules: see the top of pool.c. */
#ifndef POSTERN_SESSION_SESSION_PRIV_H
#define POSTERN_SESSION_SESSION_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "session/session.h"
#include "session/vault.h"

struct pool;

#define SESSION_KEY_CHECK_LEN 32u /* SHA-256 */

/* pthread rather than GMutex/GCond: GLib's Linux mutex is a bare futex
 * that ThreadSanitizer cannot see, and the pool's waits need a
 * CLOCK_MONOTONIC condition variable. */
struct session {
    /* Set by session_create, never changed afterwards. Nothing here
     * opens the vault or makes a cookie: the id and the key exist only
     * in the cookie. */
    unsigned char id_hash[SESSION_HASH_LEN];      /* SHA-256(id) */
    unsigned char key_check[SESSION_KEY_CHECK_LEN]; /* SHA-256(label, key) */
    char *user;
    const struct cfg_server *server;
    char csrf[SESSION_CSRF_LEN + 1];
    int64_t created_us;

    _Atomic int64_t last_used_us; /* the table's clock */
    atomic_uint refs;
    atomic_uint store_caps;   /* enum store_cap bits of its last store */

    /* lock guards everything from here to the cache part. */
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* CLOCK_MONOTONIC; signalled when a store
                                 of this session comes back or a pool slot
                                 frees up */
    struct vault_box box;     /* the password, sealed under the key */
    bool is_ended;            /* destroyed or expired: box wiped */

    /* The pool's part (pool.c), also under lock. */
    struct pool *pool;        /* the pool counting stores of this session,
                                 which then holds a reference to it; NULL
                                 while n_open is 0 */
    GQueue idle;              /* struct pool_idle *, newest first */
    unsigned n_open;          /* idle + in use + being opened */
    unsigned slot_events;     /* bumped whenever a slot may have freed up
                                 or a store gone idle anywhere in the pool
                                 while a request of s waits for a slot */
    bool is_dropped;          /* no new stores; close the rest on release */

    /* The store cache (session_cache_lock). cache_owner identifies the
     * thread holding cache_lock (0 when none), so misuse aborts. */
    pthread_mutex_t cache_lock;
    _Atomic uintptr_t cache_owner;
    void *cache;
    void (*cache_free)(void *);
};

#endif
