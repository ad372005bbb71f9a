/* pool.c - each session's logged-in stores, kept between requests, under
 * per-session, per-server and global caps; and the reaper thread.
 * Layer: session. Trust: stores are ours; their servers are not (a store
 * may die at any time, and closing one may block on the network). */

/*
 * Locks, and the order they are taken in
 * --------------------------------------
 *  store lock   session_mem.c's mutex over the session hash table. Taken
 *               alone: nothing else is locked while holding it, and it is
 *               never taken while holding another lock.
 *  s->lock      one per session: its sealed password, its idle stores,
 *               its count of open stores, the dropped/ended flags.
 *  p->lock      the pool's counters (open stores, per server), the set of
 *               sessions with stores, the list of slot waiters. Held only
 *               for a few table operations, never across anything slow.
 *  r->lock      the reaper's stop flag. Taken alone.
 *  cache_lock   a session's store cache; the pool never takes it. Its
 *               holder holds a store and must not wait in pool_acquire.
 *
 *  Order: s->lock, then p->lock. Never p->lock then s->lock, and never two
 *  sessions' locks at once: code that has p's list of sessions copies it
 *  (taking references), drops p->lock, then locks the sessions one by one.
 *
 *  No lock at all is held while a store is opened, pinged or closed (IMAP
 *  LOGOUT goes over the network), so a slow or hung server only ever
 *  stalls the request that talks to it. The only waiting is on s->cond
 *  (which releases s->lock), so one session's requests take turns and
 *  other sessions are not affected.
 *
 * Who wakes a waiter
 * ------------------
 *  A request waits on its own session's s->cond. A store of that session
 *  coming back (pool_release) or being closed signals it.
 *
 *  A request that finds the per-server or global cap full is listed in
 *  p->waiters in the same p->lock section that saw the caps full, then
 *  (without s->lock) tries to close the longest-idle store of another
 *  session that counts against the same cap, and retries if it could.
 *  Only if there was none does it wait, and only if s->slot_events did
 *  not move since it was listed: whoever frees a slot or puts a store to
 *  idle afterwards sees it listed (p->n_waiters), bumps slot_events and
 *  signals s->cond under s->lock. So no wake-up is lost, and idle stores
 *  of other sessions never keep a new session out.
 *
 * Lifetime
 * --------
 *  While s has stores counted here (s->n_open > 0), s->pool == p and p
 *  holds one reference to s (in p->sessions). The last store closed drops
 *  it. A store is counted from the moment its slot is taken (before the
 *  opener runs) until after it is closed, so the caps also cover stores
 *  being opened and being logged out.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "core/log.h"
#include "session/pool.h"
#include "session/session_priv.h"

struct pool_idle {
    struct store *st;
    int64_t since_us;       /* the pool's clock, when it was released */
};

struct pool {
    unsigned per_session, per_server, total;
    int64_t idle_us;
    unsigned connect_timeout, io_timeout, command_timeout; /* seconds */
    uint64_t max_message;   /* for the stores: max_message_size */
    unsigned pop3_idle;     /* seconds */
    pool_open_fn *open;
    void *open_ctx;
    int64_t (*now)(void);
    atomic_uint n_idle;     /* for pool_idle_count; changed under s->lock */

    pthread_mutex_t lock;   /* guards everything below */
    unsigned n_open;
    GHashTable *server_open; /* "host:port" (owned) -> open stores */
    GHashTable *sessions;   /* struct session * with n_open > 0; one ref */
    GPtrArray *waiters;     /* struct session *, one ref per entry */
    atomic_uint n_waiters;  /* waiters->len, readable without the lock */
};

enum pool_slot {
    POOL_SLOT_TAKEN,
    POOL_SLOT_SESSION_FULL,
    POOL_SLOT_SERVER_FULL,
    POOL_SLOT_TOTAL_FULL
};

static int64_t
pool_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Waits on cond (CLOCK_MONOTONIC) until deadline_us (pool_mono_us). */
static void
pool_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock,
                     int64_t deadline_us)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_us / 1000000),
        .tv_nsec = (long)(deadline_us % 1000000) * 1000,
    };
    int rc = pthread_cond_timedwait(cond, lock, &ts);

    xassert(rc == 0 || rc == ETIMEDOUT);
}

/* The per-server cap counts by address, so two [server] sections naming
 * the same host share it: the cap protects the machine. */
static char *
pool_server_key(const struct session *s)
{
    return g_strdup_printf("%s:%u", s->server->host, s->server->port);
}

struct pool *
pool_new(const struct cfg *cfg, pool_open_fn *open, void *open_ctx)
{
    struct pool *p = g_new0(struct pool, 1);

    xassert(cfg != NULL && open != NULL);
    xassert(cfg->pool_per_session > 0 && cfg->pool_per_server > 0 &&
            cfg->pool_total > 0);
    p->per_session = cfg->pool_per_session;
    p->per_server = cfg->pool_per_server;
    p->total = cfg->pool_total;
    p->idle_us = (int64_t)cfg->pool_idle * G_TIME_SPAN_SECOND;
    p->connect_timeout = cfg->connect_timeout;
    p->io_timeout = cfg->io_timeout;
    p->command_timeout = cfg->command_timeout;
    p->max_message = cfg->max_message_size;
    p->pop3_idle = cfg->pop3_idle;
    p->open = open;
    p->open_ctx = open_ctx;
    p->now = g_get_monotonic_time;
    atomic_init(&p->n_idle, 0);
    atomic_init(&p->n_waiters, 0);
    xassert(pthread_mutex_init(&p->lock, NULL) == 0);
    p->server_open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          NULL);
    p->sessions = g_hash_table_new(g_direct_hash, g_direct_equal);
    p->waiters = g_ptr_array_new();
    return p;
}

void
pool_set_clock(struct pool *p, int64_t (*now)(void))
{
    p->now = now != NULL ? now : g_get_monotonic_time;
}

/* ==== counting slots =================================================== */

/* Called with s->lock held. Counts one more store of s when the server
 * and global caps allow (the caller checked the per-session one). When
 * they do not, lists s in p->waiters in the same critical section, so a
 * slot freed from now on wakes it; the caller must pool_slot_unwait. */
static enum pool_slot
pool_slot_take(struct pool *p, struct session *s)
{
    char *key = pool_server_key(s);
    enum pool_slot r = POOL_SLOT_TAKEN;
    unsigned on_server;

    pthread_mutex_lock(&p->lock);
    on_server = GPOINTER_TO_UINT(g_hash_table_lookup(p->server_open, key));
    if (p->n_open >= p->total) {
        r = POOL_SLOT_TOTAL_FULL;
    } else if (on_server >= p->per_server) {
        r = POOL_SLOT_SERVER_FULL;
    } else {
        p->n_open++;
        g_hash_table_replace(p->server_open, key,
                             GUINT_TO_POINTER(on_server + 1));
        key = NULL; /* the table owns it now */
        if (s->pool == NULL) {
            s->pool = p;
            session_ref(s);
            g_hash_table_add(p->sessions, s);
        }
        xassert(s->pool == p);
        s->n_open++;
    }
    if (r != POOL_SLOT_TAKEN) {
        session_ref(s);
        g_ptr_array_add(p->waiters, s);
        atomic_store(&p->n_waiters, p->waiters->len);
    }
    pthread_mutex_unlock(&p->lock);
    g_free(key);
    return r;
}

/* Called with s->lock held, after a wait that pool_slot_take listed. */
static void
pool_slot_unwait(struct pool *p, struct session *s)
{
    bool found;

    pthread_mutex_lock(&p->lock);
    found = g_ptr_array_remove(p->waiters, s);
    atomic_store(&p->n_waiters, p->waiters->len);
    pthread_mutex_unlock(&p->lock);
    xassert(found);
    /* The waiter's caller holds a reference too: never the last one. */
    session_unref(&s);
}

/* Called with s->lock held. Uncounts one store of s. Returns true when
 * that was its last one: p no longer knows s, and the caller must drop
 * p's reference (session_unref) once s->lock is released. */
static bool
pool_slot_give(struct pool *p, struct session *s)
{
    char *key = pool_server_key(s);
    unsigned on_server;
    bool forgotten = false;

    pthread_mutex_lock(&p->lock);
    xassert(s->pool == p && s->n_open > 0 && p->n_open > 0);
    on_server = GPOINTER_TO_UINT(g_hash_table_lookup(p->server_open, key));
    xassert(on_server > 0);
    if (on_server == 1)
        g_hash_table_remove(p->server_open, key);
    else
        g_hash_table_replace(p->server_open, g_strdup(key),
                             GUINT_TO_POINTER(on_server - 1));
    p->n_open--;
    s->n_open--;
    if (s->n_open == 0) {
        g_hash_table_remove(p->sessions, s);
        s->pool = NULL;
        forgotten = true;
    }
    pthread_mutex_unlock(&p->lock);
    g_free(key);
    return forgotten;
}

/* Tells every session with a request waiting for a slot that one may be
 * free now, or that a store went idle. No lock held. */
static void
pool_wake_slot_waiters(struct pool *p)
{
    GPtrArray *waiting;

    if (atomic_load(&p->n_waiters) == 0)
        return;
    waiting = g_ptr_array_new();
    pthread_mutex_lock(&p->lock);
    for (guint i = 0; i < p->waiters->len; i++) {
        struct session *s = g_ptr_array_index(p->waiters, i);

        session_ref(s);
        g_ptr_array_add(waiting, s);
    }
    pthread_mutex_unlock(&p->lock);
    for (guint i = 0; i < waiting->len; i++) {
        struct session *s = g_ptr_array_index(waiting, i);

        pthread_mutex_lock(&s->lock);
        s->slot_events++;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        session_unref(&s);
    }
    g_ptr_array_free(waiting, TRUE);
}

/* Closes *st (if not NULL) and uncounts it. No lock may be held: closing
 * talks to the server. Wakes whoever may now take the slot. */
static void
pool_discard(struct pool *p, struct session *s, struct store **st)
{
    struct session *pool_ref = s;
    bool forgotten;

    store_close(st);
    pthread_mutex_lock(&s->lock);
    forgotten = pool_slot_give(p, s);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (forgotten)
        session_unref(&pool_ref);
    pool_wake_slot_waiters(p);
}

/* ==== acquire and release ============================================== */

static void
pool_memo_free(void *m)
{
    struct store_memo *memo = m;

    store_memo_unref(&memo);
}

/* A new reference to s's store memo, made on first use. The cache lock is
 * held only for the lookup, never across a wait: no deadlock with a
 * request of s that holds it. */
static struct store_memo *
pool_session_memo(struct session *s)
{
    struct store_memo *m;

    session_cache_lock(s);
    m = session_cache(s);
    if (m == NULL) {
        m = store_memo_new();
        session_set_cache(s, m, pool_memo_free);
    }
    m = store_memo_ref(m);
    session_cache_unlock(s);
    return m;
}

/* Opens a store in the slot just taken for s. No lock held. */
static struct store *
pool_open_new(struct pool *p, struct session *s,
              const struct session_key *key, struct err *err)
{
    struct store_login login = {
        .server = s->server,
        .user = s->user,
        .client_addr = s->client_addr,
        .connect_timeout = p->connect_timeout,
        .io_timeout = p->io_timeout,
        .command_timeout = p->command_timeout,
        .max_message = p->max_message,
        .pop3_idle = p->pop3_idle,
    };
    struct store *st = NULL;
    char *password;
    bool is_gone;

    password = session_password(s, key, err);
    if (password == NULL) {
        pool_discard(p, s, &st);
        return NULL;
    }
    login.password = password;
    login.memo = pool_session_memo(s);
    st = p->open(p->open_ctx, &login, err);
    login.password = NULL;
    vault_secret_free(&password);
    store_memo_unref(&login.memo);
    if (st == NULL) {
        if (err != NULL && err->kind == ERR_NONE)
            err_set(err, ERR_INTERNAL, "store opener failed without a reason");
        pool_discard(p, s, &st);
        return NULL;
    }

    /* Logged out (or expired) while we were connecting: this store would
     * outlive its session's credentials. */
    pthread_mutex_lock(&s->lock);
    is_gone = s->is_ended || s->is_dropped;
    pthread_mutex_unlock(&s->lock);
    if (is_gone) {
        pool_discard(p, s, &st);
        err_set(err, ERR_AUTH, "the session ended while connecting");
        return NULL;
    }
    return st;
}

static void
pool_set_busy_error(struct pool *p, struct session *s, enum pool_slot why,
                    struct err *err)
{
    switch (why) {
    case POOL_SLOT_SESSION_FULL:
        err_set(err, ERR_TIMEOUT,
                "all %u connections of this session are busy",
                p->per_session);
        return;
    case POOL_SLOT_SERVER_FULL:
        err_set(err, ERR_TIMEOUT, "all %u connections to server %s are busy",
                p->per_server, s->server->name);
        return;
    case POOL_SLOT_TOTAL_FULL:
        err_set(err, ERR_TIMEOUT,
                "all %u mail server connections of postern are busy",
                p->total);
        return;
    case POOL_SLOT_TAKEN:
        break;
    }
    xassert_unreached();
}

static GPtrArray *pool_sessions_copy(struct pool *p);

/* Closes the store that has been idle longest among those of sessions
 * other than except (which the caller does not hold locked) and, when
 * server_key is not NULL, of that server only. Returns whether there was
 * one. Makes room when a cap is full of idle stores. No lock held. */
static bool
pool_evict_one(struct pool *p, struct session *except, const char *server_key)
{
    GPtrArray *sessions = pool_sessions_copy(p);
    struct session *best = NULL;
    int64_t best_since = INT64_MAX;
    struct pool_idle *idle = NULL;

    for (guint i = 0; i < sessions->len; i++) {
        struct session *s = g_ptr_array_index(sessions, i);
        struct pool_idle *oldest;

        if (s == except)
            continue;
        if (server_key != NULL) {
            char *key = pool_server_key(s);
            bool same = strcmp(key, server_key) == 0;

            g_free(key);
            if (!same)
                continue;
        }
        pthread_mutex_lock(&s->lock);
        oldest = g_queue_peek_tail(&s->idle);
        if (oldest != NULL && oldest->since_us < best_since) {
            best = s;
            best_since = oldest->since_us;
        }
        pthread_mutex_unlock(&s->lock);
    }
    if (best != NULL) {
        /* It may have been taken meanwhile; then evict nothing and let
         * the caller look again. */
        pthread_mutex_lock(&best->lock);
        idle = g_queue_pop_tail(&best->idle);
        if (idle != NULL)
            atomic_fetch_sub(&p->n_idle, 1);
        pthread_mutex_unlock(&best->lock);
    }
    if (idle != NULL) {
        struct store *st = idle->st;

        g_free(idle);
        pool_discard(p, best, &st);
    }
    for (guint i = 0; i < sessions->len; i++) {
        struct session *s = g_ptr_array_index(sessions, i);

        session_unref(&s);
    }
    g_ptr_array_free(sessions, TRUE);
    return idle != NULL;
}

struct store *
pool_acquire(struct pool *p, struct session *s, const struct session_key *key,
             struct err *err)
{
    int64_t deadline = pool_mono_us() + (int64_t)p->io_timeout * 1000000;

    xassert(p != NULL && s != NULL && key != NULL);
    pthread_mutex_lock(&s->lock);
    for (;;) {
        struct pool_idle *idle;
        enum pool_slot slot;
        bool timed_out;

        if (s->is_ended || s->is_dropped) {
            pthread_mutex_unlock(&s->lock);
            err_set(err, ERR_AUTH, "the session has ended");
            return NULL;
        }

        idle = g_queue_pop_head(&s->idle);
        if (idle != NULL) {
            struct store *st = idle->st;
            struct err ping_err = {0};

            g_free(idle);
            atomic_fetch_sub(&p->n_idle, 1);
            pthread_mutex_unlock(&s->lock);
            if (store_ping(st, &ping_err) == 0)
                return st;
            /* Dead (server restarted, its idle timeout, network): close it
             * and carry on as if it had never been there. ping_err is not
             * the caller's business. */
            pool_discard(p, s, &st);
            pthread_mutex_lock(&s->lock);
            continue;
        }

        if (s->n_open < p->per_session) {
            unsigned events = s->slot_events;

            slot = pool_slot_take(p, s);
            if (slot == POOL_SLOT_TAKEN) {
                pthread_mutex_unlock(&s->lock);
                return pool_open_new(p, s, key, err);
            }
            /* The cap is full. Full of idle stores of other sessions, it
             * should not keep s out: close the oldest one and retry. */
            pthread_mutex_unlock(&s->lock);
            {
                char *server_key = slot == POOL_SLOT_SERVER_FULL
                                       ? pool_server_key(s)
                                       : NULL;
                bool evicted = pool_evict_one(p, s, server_key);

                g_free(server_key);
                pthread_mutex_lock(&s->lock);
                if (evicted || s->slot_events != events) {
                    pool_slot_unwait(p, s);
                    continue;
                }
            }
        } else {
            slot = POOL_SLOT_SESSION_FULL;
        }

        /* Nothing to take: wait for a store of s to come back or a slot
         * to free up, and look again. */
        timed_out = pool_mono_us() >= deadline;
        if (!timed_out)
            pool_cond_wait_until(&s->cond, &s->lock, deadline);
        if (slot != POOL_SLOT_SESSION_FULL)
            pool_slot_unwait(p, s);
        if (timed_out) {
            pthread_mutex_unlock(&s->lock);
            pool_set_busy_error(p, s, slot, err);
            return NULL;
        }
    }
}

void
pool_release(struct pool *p, struct session *s, struct store **stp)
{
    struct store *st = *stp;

    if (st == NULL)
        return;
    *stp = NULL;
    pthread_mutex_lock(&s->lock);
    xassert(s->pool == p);
    if (!st->broken && !s->is_dropped && !s->is_ended) {
        struct pool_idle *idle = g_new(struct pool_idle, 1);

        idle->st = st;
        idle->since_us = p->now();
        g_queue_push_head(&s->idle, idle);
        atomic_fetch_add(&p->n_idle, 1);
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        /* Requests of other sessions waiting for a slot may close it. */
        pool_wake_slot_waiters(p);
        return;
    }
    pthread_mutex_unlock(&s->lock);
    pool_discard(p, s, &st);
}

/* ==== dropping and reaping ============================================= */

/* Closes the stores in q (struct pool_idle *), which no longer are in
 * s->idle but are still counted. No lock held. */
static size_t
pool_discard_queue(struct pool *p, struct session *s, GQueue *q)
{
    struct pool_idle *idle;
    size_t n = 0;

    while ((idle = g_queue_pop_head(q)) != NULL) {
        struct store *st = idle->st;

        g_free(idle);
        pool_discard(p, s, &st);
        n++;
    }
    return n;
}

void
pool_drop_session(struct pool *p, struct session *s)
{
    GQueue stolen = G_QUEUE_INIT;

    pthread_mutex_lock(&s->lock);
    xassert(s->pool == NULL || s->pool == p);
    s->is_dropped = true;
    stolen = s->idle;
    g_queue_init(&s->idle);
    atomic_fetch_sub(&p->n_idle, stolen.length);
    pthread_cond_broadcast(&s->cond); /* waiters give up */
    pthread_mutex_unlock(&s->lock);
    (void)pool_discard_queue(p, s, &stolen); /* nobody needs the count */
}

/* The sessions p counts stores for, each with a reference of its own. */
static GPtrArray *
pool_sessions_copy(struct pool *p)
{
    GPtrArray *copy = g_ptr_array_new();
    GHashTableIter it;
    gpointer s;

    pthread_mutex_lock(&p->lock);
    g_hash_table_iter_init(&it, p->sessions);
    while (g_hash_table_iter_next(&it, &s, NULL)) {
        session_ref(s);
        g_ptr_array_add(copy, s);
    }
    pthread_mutex_unlock(&p->lock);
    return copy;
}

void
pool_close_idle(struct pool *p, struct session *s)
{
    GQueue stolen = G_QUEUE_INIT;

    pthread_mutex_lock(&s->lock);
    stolen = s->idle;
    g_queue_init(&s->idle);
    atomic_fetch_sub(&p->n_idle, stolen.length);
    pthread_mutex_unlock(&s->lock);
    (void)pool_discard_queue(p, s, &stolen); /* nobody needs the count */
}

size_t
pool_reap(struct pool *p)
{
    int64_t now = p->now();
    int64_t cutoff = now - p->idle_us;
    GPtrArray *sessions = pool_sessions_copy(p);
    size_t n = 0;

    for (guint i = 0; i < sessions->len; i++) {
        struct session *s = g_ptr_array_index(sessions, i);
        GQueue old = G_QUEUE_INIT;
        GList *l, *next;

        pthread_mutex_lock(&s->lock);
        for (l = s->idle.head; l != NULL; l = next) {
            struct pool_idle *idle = l->data;

            next = l->next;
            /* a store may ask to go sooner (POP3 locks the maildrop) */
            if (idle->since_us < cutoff ||
                (idle->st->idle_max > 0 &&
                 idle->since_us < now - (int64_t)idle->st->idle_max *
                                            G_TIME_SPAN_SECOND)) {
                g_queue_unlink(&s->idle, l);
                g_queue_push_tail_link(&old, l);
            }
        }
        atomic_fetch_sub(&p->n_idle, old.length);
        pthread_mutex_unlock(&s->lock);
        n += pool_discard_queue(p, s, &old);
        session_unref(&s);
    }
    g_ptr_array_free(sessions, TRUE);
    return n;
}

size_t
pool_open_count(struct pool *p)
{
    size_t n;

    pthread_mutex_lock(&p->lock);
    n = p->n_open;
    pthread_mutex_unlock(&p->lock);
    return n;
}

size_t
pool_idle_count(struct pool *p)
{
    return atomic_load(&p->n_idle);
}

void
pool_free(struct pool **pp)
{
    struct pool *p = *pp;
    GPtrArray *sessions;

    if (p == NULL)
        return;
    *pp = NULL;
    sessions = pool_sessions_copy(p);
    for (guint i = 0; i < sessions->len; i++) {
        struct session *s = g_ptr_array_index(sessions, i);

        pool_drop_session(p, s);
        session_unref(&s);
    }
    g_ptr_array_free(sessions, TRUE);

    /* Stores still counted are in use by some request: freeing the pool
     * under it is a bug in the caller's shutdown order. */
    pthread_mutex_lock(&p->lock);
    xassert(p->n_open == 0 && p->waiters->len == 0);
    xassert(g_hash_table_size(p->sessions) == 0);
    pthread_mutex_unlock(&p->lock);
    g_hash_table_destroy(p->server_open);
    g_hash_table_destroy(p->sessions);
    g_ptr_array_free(p->waiters, TRUE);
    pthread_mutex_destroy(&p->lock);
    g_free(p);
}

/* ==== the reaper thread ================================================ */

struct pool_reaper {
    struct pool *p;
    struct session_table *t;
    int64_t interval_us;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;    /* CLOCK_MONOTONIC; signalled to stop */
    bool stop;              /* under lock */
};

static void *
pool_reaper_main(void *arg)
{
    struct pool_reaper *r = arg;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        int64_t deadline = pool_mono_us() + r->interval_us;
        size_t sessions, stores;

        while (!r->stop && pool_mono_us() < deadline)
            pool_cond_wait_until(&r->cond, &r->lock, deadline);
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->lock);
        /* Ending sessions closes their stores as well. */
        sessions = r->t != NULL ? session_table_reap(r->t) : 0;
        stores = pool_reap(r->p);
        if (sessions > 0 || stores > 0)
            log_debug("reaper: %zu sessions expired, %zu idle connections "
                      "closed, %zu open", sessions, stores,
                      pool_open_count(r->p));
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

struct pool_reaper *
pool_reaper_start(struct pool *p, struct session_table *t,
                  unsigned interval_ms)
{
    struct pool_reaper *r = g_new0(struct pool_reaper, 1);
    pthread_condattr_t ca;
    sigset_t all, old;

    xassert(p != NULL && interval_ms > 0);
    r->p = p;
    r->t = t;
    r->interval_us = (int64_t)interval_ms * 1000;
    xassert(pthread_mutex_init(&r->lock, NULL) == 0);
    xassert(pthread_condattr_init(&ca) == 0);
    xassert(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
    xassert(pthread_cond_init(&r->cond, &ca) == 0);
    pthread_condattr_destroy(&ca);
    /* Signals (SIGTERM, SIGINT, SIGPIPE) are for the front end's threads;
     * the reaper starts with all of them blocked. */
    sigfillset(&all);
    xassert(pthread_sigmask(SIG_SETMASK, &all, &old) == 0);
    xassert(pthread_create(&r->thread, NULL, pool_reaper_main, r) == 0);
    xassert(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
    return r;
}

void
pool_reaper_stop(struct pool_reaper **rp)
{
    struct pool_reaper *r = *rp;

    if (r == NULL)
        return;
    *rp = NULL;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    xassert(pthread_join(r->thread, NULL) == 0);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    g_free(r);
}
