/* throttle.c - failed logins per address and per user, with waits that
 * double, in a GHashTable capped at max_entries. Layer: session.
 * Trust: keys are UNTRUSTED strings, copied and compared only. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "core/attr.h"
#include "session/throttle.h"

struct throttle_entry {
    unsigned fails;
    int64_t last_fail_us;
    int64_t wait_until_us;  /* 0: no wait */
};

struct throttle {
    struct throttle_opts o;
    int64_t (*now)(void);
    pthread_mutex_t lock;
    GHashTable *map;        /* key string -> struct throttle_entry */
};

struct throttle *
throttle_new(const struct throttle_opts *opts)
{
    struct throttle *t = g_new0(struct throttle, 1);

    t->o = *opts;
    if (t->o.max_entries == 0)
        t->o.max_entries = 1;
    t->now = g_get_monotonic_time;
    xassert(pthread_mutex_init(&t->lock, NULL) == 0);
    t->map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return t;
}

void
throttle_free(struct throttle **tp)
{
    struct throttle *t = *tp;

    if (t == NULL)
        return;
    g_hash_table_destroy(t->map);
    pthread_mutex_destroy(&t->lock);
    g_free(t);
    *tp = NULL;
}

void
throttle_set_clock(struct throttle *t, int64_t (*now)(void))
{
    t->now = now != NULL ? now : g_get_monotonic_time;
}

/* "a <addr>" or "u <server>\n<user, lower-case>"; NULL when there is
 * nothing to count. */
static char *
throttle_key_addr(const char *addr)
{
    return addr != NULL && *addr != '\0' ? g_strconcat("a ", addr, NULL)
                                         : NULL;
}

static char *
throttle_key_user(const char *server, const char *user)
{
    char *lower, *key;

    if (user == NULL || *user == '\0')
        return NULL;
    lower = g_utf8_strdown(user, -1);
    key = g_strconcat("u ", server != NULL ? server : "", "\n", lower, NULL);
    g_free(lower);
    return key;
}

static bool
throttle_is_expired(const struct throttle *t, const struct throttle_entry *e,
                    int64_t now)
{
    int64_t from = e->wait_until_us > e->last_fail_us ? e->wait_until_us
                                                      : e->last_fail_us;

    return now - from > (int64_t)t->o.window * G_USEC_PER_SEC;
}

/* Seconds key must still wait, rounded up; 0 when none. */
static unsigned
throttle_wait_of(const struct throttle *t, const char *key, int64_t now)
{
    const struct throttle_entry *e;

    if (key == NULL)
        return 0;
    e = g_hash_table_lookup(t->map, key);
    if (e == NULL || e->wait_until_us <= now)
        return 0;
    return (unsigned)((e->wait_until_us - now + G_USEC_PER_SEC - 1) /
                      G_USEC_PER_SEC);
}

unsigned
throttle_check(struct throttle *t, const char *addr, const char *server,
               const char *user)
{
    char *ka = throttle_key_addr(addr), *ku = throttle_key_user(server, user);
    unsigned wa, wu;
    int64_t now = t->now();

    pthread_mutex_lock(&t->lock);
    wa = throttle_wait_of(t, ka, now);
    wu = throttle_wait_of(t, ku, now);
    pthread_mutex_unlock(&t->lock);
    g_free(ka);
    g_free(ku);
    return wa > wu ? wa : wu;
}

/* Makes room for one more key: expired ones first, else the key whose
 * last failure is oldest. Called with the lock held. */
static void
throttle_make_room(struct throttle *t, int64_t now)
{
    GHashTableIter it;
    gpointer k, v;
    const char *oldest = NULL;
    int64_t oldest_us = INT64_MAX;

    if (g_hash_table_size(t->map) < t->o.max_entries)
        return;
    g_hash_table_iter_init(&it, t->map);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const struct throttle_entry *e = v;

        if (throttle_is_expired(t, e, now) && e->wait_until_us <= now)
            g_hash_table_iter_remove(&it);
    }
    if (g_hash_table_size(t->map) < t->o.max_entries)
        return;
    g_hash_table_iter_init(&it, t->map);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const struct throttle_entry *e = v;

        if (e->last_fail_us < oldest_us) {
            oldest_us = e->last_fail_us;
            oldest = k;
        }
    }
    xassert(oldest != NULL);
    g_hash_table_remove(t->map, oldest);
}

static void
throttle_count_fail(struct throttle *t, char *key, unsigned allowance,
                    int64_t now)
{
    struct throttle_entry *e;
    unsigned over;
    int64_t wait_s;

    if (key == NULL)
        return;
    e = g_hash_table_lookup(t->map, key);
    if (e != NULL && throttle_is_expired(t, e, now) &&
        e->wait_until_us <= now) {
        memset(e, 0, sizeof(*e));
    }
    if (e == NULL) {
        throttle_make_room(t, now);
        e = g_new0(struct throttle_entry, 1);
        g_hash_table_insert(t->map, key, e);
        key = NULL; /* the table owns it */
    }
    g_free(key);
    if (e->fails < UINT32_MAX)
        e->fails++;
    e->last_fail_us = now;
    if (e->fails < allowance)
        return;
    over = e->fails - allowance;
    wait_s = over >= 30 ? (int64_t)t->o.delay_max
                        : (int64_t)THROTTLE_FIRST_WAIT << over;
    if (wait_s > (int64_t)t->o.delay_max)
        wait_s = (int64_t)t->o.delay_max;
    e->wait_until_us = now + wait_s * G_USEC_PER_SEC;
}

void
throttle_fail(struct throttle *t, const char *addr, const char *server,
              const char *user)
{
    int64_t now = t->now();

    pthread_mutex_lock(&t->lock);
    throttle_count_fail(t, throttle_key_addr(addr), t->o.fails_per_address,
                        now);
    throttle_count_fail(t, throttle_key_user(server, user),
                        t->o.fails_per_user, now);
    pthread_mutex_unlock(&t->lock);
}

void
throttle_success(struct throttle *t, const char *addr, const char *server,
                 const char *user)
{
    char *ku = throttle_key_user(server, user);

    (void)addr; /* kept: see throttle.h */
    if (ku == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    g_hash_table_remove(t->map, ku);
    pthread_mutex_unlock(&t->lock);
    g_free(ku);
}

size_t
throttle_count(struct throttle *t)
{
    size_t n;

    pthread_mutex_lock(&t->lock);
    n = g_hash_table_size(t->map);
    pthread_mutex_unlock(&t->lock);
    return n;
}
