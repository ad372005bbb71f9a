/* test_pool.c - the connection pool over a fake store (a test double of
 * our own store interface): caps, waiting and its timeout, transparent
 * replacement of dead stores, reaping, logout, and that sessions never
 * wait on each other's slow servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "session/pool.h"
#include "session/session.h"
#include "session/vault.h"

#define SEC G_TIME_SPAN_SECOND
#define PASSWORD "s3cret pass"

/* ==== the fake store =================================================== */

struct fake_world {
    atomic_int opens, closes, pings, open_calls;
    atomic_int next_id;
    atomic_int in_slow_open;     /* a slow open has started */
    atomic_bool refuse;          /* the next opens fail with ERR_AUTH */
    atomic_bool bad_login_seen;  /* the opener got something unexpected */
};

struct fake_store {
    struct store base;
    struct fake_world *w;
    int id;
    atomic_bool dead;            /* ping fails with ERR_CONN */
};

static int
fake_ping(struct store *st, struct err *err)
{
    struct fake_store *f = (struct fake_store *)st;

    atomic_fetch_add(&f->w->pings, 1);
    if (atomic_load(&f->dead)) {
        err_set(err, ERR_CONN, "connection reset");
        return -1;
    }
    return 0;
}

static void
fake_close(struct store *st)
{
    struct fake_store *f = (struct fake_store *)st;

    atomic_fetch_add(&f->w->closes, 1);
    g_free(f);
}

static const struct store_ops fake_ops = {
    .name = "fake",
    .ping = fake_ping,
    .close = fake_close,
};

/* Users named "slow..." take 500 ms to log in. */
static struct store *
fake_open(void *ctx, const struct store_login *login, struct err *err)
{
    struct fake_world *w = ctx;
    struct fake_store *f;

    atomic_fetch_add(&w->open_calls, 1);
    if (login->password == NULL || strcmp(login->password, PASSWORD) != 0 ||
        login->server == NULL || login->io_timeout == 0 ||
        login->connect_timeout == 0)
        atomic_store(&w->bad_login_seen, true);
    if (strncmp(login->user, "slow", 4) == 0) {
        atomic_fetch_add(&w->in_slow_open, 1);
        g_usleep(500 * 1000);
    }
    if (atomic_load(&w->refuse)) {
        err_set(err, ERR_AUTH, "LOGIN failed");
        return NULL;
    }
    f = g_new0(struct fake_store, 1);
    f->base.ops = &fake_ops;
    f->base.server = login->server;
    f->w = w;
    f->id = atomic_fetch_add(&w->next_id, 1) + 1;
    atomic_fetch_add(&w->opens, 1);
    return &f->base;
}

/* ==== fixture ========================================================== */

static struct cfg_server server1 = {
    .name = (char *)"one", .host = (char *)"imap.one.test", .port = 993,
};
static struct cfg_server server2 = {
    .name = (char *)"two", .host = (char *)"imap.two.test", .port = 993,
};

static _Atomic int64_t fake_now;

static int64_t
fake_clock(void)
{
    return atomic_load(&fake_now);
}

struct user {
    struct session *s;
    struct session_key key;
    char *cookie;
};

struct held {
    struct store *st;
    struct session *s;
};

struct fixture {
    struct cfg cfg;
    struct fake_world w;
    struct session_table *t;
    struct pool *p;
    struct user u[4];
    GArray *held;            /* struct held: stores the test still holds */
};

/* Tracks st as held by the test, so that teardown can give back what a
 * failed test left behind (pool_free would rightly abort otherwise). */
static void
hold(struct fixture *f, struct user *u, struct store *st)
{
    struct held h = {.st = st, .s = u->s};

    if (st != NULL)
        g_array_append_val(f->held, h);
}

/* pool_release, and forgets st as held. */
static void
release(struct fixture *f, struct user *u, struct store **st)
{
    for (guint i = 0; i < f->held->len; i++) {
        if (g_array_index(f->held, struct held, i).st == *st) {
            g_array_remove_index_fast(f->held, i);
            break;
        }
    }
    pool_release(f->p, u->s, st);
}

static void
user_login(struct fixture *f, struct user *u, const struct cfg_server *srv,
           const char *name)
{
    struct err err = {0};
    struct session *found;

    u->s = session_create(f->t, srv, name, PASSWORD, &u->cookie, &err);
    assert_non_null(u->s);
    found = session_lookup(f->t, u->cookie, &u->key);
    assert_ptr_equal(found, u->s);
    session_unref(&found);
}

/* Starts the pool with cfg as the test changed it. */
static void
start(struct fixture *f)
{
    f->t = session_table_new(&f->cfg);
    session_table_set_clock(f->t, fake_clock);
    f->p = pool_new(&f->cfg, fake_open, &f->w);
    pool_set_clock(f->p, fake_clock);
    user_login(f, &f->u[0], &server1, "alice");
    user_login(f, &f->u[1], &server1, "bob");
    user_login(f, &f->u[2], &server2, "carol");
    user_login(f, &f->u[3], &server1, "slowpoke");
}

static int
setup(void **state)
{
    struct fixture *f = g_new0(struct fixture, 1);

    f->cfg.pool_per_session = 2;
    f->cfg.pool_per_server = 100;
    f->cfg.pool_total = 100;
    f->cfg.pool_idle = 300;
    f->cfg.io_timeout = 1;
    f->cfg.connect_timeout = 5;
    f->cfg.session_idle = 1800;
    f->cfg.session_max = 12 * 3600;
    atomic_store(&fake_now, 5000 * SEC);
    f->held = g_array_new(FALSE, FALSE, sizeof(struct held));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    for (guint i = 0; f->p != NULL && i < f->held->len; i++) {
        struct held *h = &g_array_index(f->held, struct held, i);

        h->st->broken = true;
        pool_release(f->p, h->s, &h->st);
    }
    g_array_free(f->held, TRUE);
    if (f->p != NULL) {
        for (size_t i = 0; i < N_ELEMENTS(f->u); i++) {
            session_unref(&f->u[i].s);
            session_key_wipe(&f->u[i].key);
            session_cookie_free(&f->u[i].cookie);
        }
        session_table_free(&f->t);
        pool_free(&f->p);
        /* Every store opened was closed exactly once. */
        assert_int_equal(atomic_load(&f->w.opens),
                         atomic_load(&f->w.closes));
        assert_false(atomic_load(&f->w.bad_login_seen));
    }
    g_free(f);
    return 0;
}

static struct store *
acquire_ok(struct fixture *f, struct user *u)
{
    struct err err = {0};
    struct store *st = pool_acquire(f->p, u->s, &u->key, &err);

    if (st == NULL)
        fail_msg("pool_acquire: %s: %s", err_kind_name(err.kind), err.msg);
    hold(f, u, st);
    return st;
}

static int64_t
mono_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* A thread that acquires a store for one user. */
struct acquirer {
    struct fixture *f;
    struct user *u;
    pthread_t thread;
    atomic_bool done;
    struct store *st;
    struct err err;
    int64_t ms;              /* how long pool_acquire took */
};

static void *
acquirer_main(void *arg)
{
    struct acquirer *a = arg;
    int64_t t0 = mono_ms();

    a->st = pool_acquire(a->f->p, a->u->s, &a->u->key, &a->err);
    a->ms = mono_ms() - t0;
    atomic_store(&a->done, true);
    return NULL;
}

static void
acquirer_start(struct acquirer *a, struct fixture *f, struct user *u)
{
    memset(a, 0, sizeof(*a));
    a->f = f;
    a->u = u;
    assert_int_equal(pthread_create(&a->thread, NULL, acquirer_main, a), 0);
}

static void
acquirer_join(struct acquirer *a)
{
    assert_int_equal(pthread_join(a->thread, NULL), 0);
    hold(a->f, a->u, a->st);
}

/* ==== basic use ======================================================== */

static void
test_second_acquire_while_first_is_held_opens_a_second(void **state)
{
    struct fixture *f = *state;
    struct store *a, *b;

    start(f);
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    assert_ptr_not_equal(a, b);
    assert_int_equal(atomic_load(&f->w.opens), 2);
    assert_int_equal(pool_open_count(f->p), 2);
    assert_int_equal(pool_idle_count(f->p), 0);
    release(f, &f->u[0], &a);
    assert_null(a);
    release(f, &f->u[0], &b);
    assert_int_equal(pool_idle_count(f->p), 2);
    assert_int_equal(pool_open_count(f->p), 2);
    release(f, &f->u[0], &b); /* NULL: nothing */
}

static void
test_released_store_is_reused_after_a_ping(void **state)
{
    struct fixture *f = *state;
    struct store *a, *again;

    start(f);
    a = acquire_ok(f, &f->u[0]);
    assert_int_equal(atomic_load(&f->w.pings), 0);
    release(f, &f->u[0], &a);
    again = acquire_ok(f, &f->u[0]);
    assert_int_equal(atomic_load(&f->w.opens), 1);
    assert_int_equal(atomic_load(&f->w.pings), 1);
    assert_int_equal(((struct fake_store *)again)->id, 1);
    release(f, &f->u[0], &again);
}

static void
test_third_acquire_waits_and_gets_the_released_store(void **state)
{
    struct fixture *f = *state;
    struct acquirer third;
    struct store *a, *b, *a_was;

    f->cfg.io_timeout = 5;
    start(f);
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    a_was = a;
    acquirer_start(&third, f, &f->u[0]);
    g_usleep(150 * 1000);
    assert_false(atomic_load(&third.done)); /* it waits: the cap is 2 */
    release(f, &f->u[0], &a);
    acquirer_join(&third);
    assert_ptr_equal(third.st, a_was);
    assert_int_equal(atomic_load(&f->w.opens), 2);
    assert_true(third.ms < 2500);
    release(f, &f->u[0], &third.st);
    release(f, &f->u[0], &b);
}

static void
test_waiting_past_io_timeout_gives_err_timeout(void **state)
{
    struct fixture *f = *state;
    struct store *a, *b, *other;
    struct err err = {0};
    int64_t t0, ms;

    start(f); /* io_timeout = 1 */
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    t0 = mono_ms();
    assert_null(pool_acquire(f->p, f->u[0].s, &f->u[0].key, &err));
    ms = mono_ms() - t0;
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_string_equal(err.msg, "all 2 connections of this session are busy");
    assert_true(ms >= 900 && ms < 3000);
    /* Meanwhile another session is not affected. */
    other = acquire_ok(f, &f->u[1]);
    release(f, &f->u[1], &other);
    release(f, &f->u[0], &a);
    release(f, &f->u[0], &b);
}

static void
test_per_session_cap_of_one_serialises_a_session(void **state)
{
    struct fixture *f = *state;
    struct store *a;
    struct err err = {0};

    f->cfg.pool_per_session = 1;
    start(f);
    a = acquire_ok(f, &f->u[0]);
    assert_null(pool_acquire(f->p, f->u[0].s, &f->u[0].key, &err));
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_string_equal(err.msg, "all 1 connections of this session are busy");
    assert_int_equal(atomic_load(&f->w.opens), 1);
    release(f, &f->u[0], &a);
}

/* ==== dead and broken stores =========================================== */

static void
test_dead_idle_store_is_replaced_transparently(void **state)
{
    struct fixture *f = *state;
    struct store *a, *b, *c;

    start(f);
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    atomic_store(&((struct fake_store *)a)->dead, true);
    atomic_store(&((struct fake_store *)b)->dead, true);
    release(f, &f->u[0], &a);
    release(f, &f->u[0], &b);
    c = acquire_ok(f, &f->u[0]);  /* both dead ones pinged and closed */
    assert_int_equal(((struct fake_store *)c)->id, 3);
    assert_int_equal(atomic_load(&f->w.pings), 2);
    assert_int_equal(atomic_load(&f->w.closes), 2);
    assert_int_equal(atomic_load(&f->w.opens), 3);
    assert_int_equal(pool_open_count(f->p), 1);
    release(f, &f->u[0], &c);
}

static void
test_broken_store_is_closed_on_release(void **state)
{
    struct fixture *f = *state;
    struct store *a;

    start(f);
    a = acquire_ok(f, &f->u[0]);
    a->broken = true;
    release(f, &f->u[0], &a);
    assert_null(a);
    assert_int_equal(atomic_load(&f->w.closes), 1);
    assert_int_equal(pool_open_count(f->p), 0);
    assert_int_equal(pool_idle_count(f->p), 0);
    a = acquire_ok(f, &f->u[0]);   /* a new one */
    assert_int_equal(atomic_load(&f->w.opens), 2);
    release(f, &f->u[0], &a);
}

static void
test_opener_error_passes_through_and_frees_the_slot(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    struct store *a;

    start(f);
    atomic_store(&f->w.refuse, true);
    assert_null(pool_acquire(f->p, f->u[0].s, &f->u[0].key, &err));
    assert_int_equal(err.kind, ERR_AUTH);
    assert_string_equal(err.msg, "LOGIN failed");
    assert_int_equal(pool_open_count(f->p), 0);
    atomic_store(&f->w.refuse, false);
    a = acquire_ok(f, &f->u[0]);
    release(f, &f->u[0], &a);
}

static void
test_wrong_key_opens_nothing(void **state)
{
    struct fixture *f = *state;
    struct session_key wrong;
    struct err err = {0};

    start(f);
    wrong = f->u[0].key;
    wrong.bytes[0] ^= 0x80;
    assert_null(pool_acquire(f->p, f->u[0].s, &wrong, &err));
    assert_int_equal(err.kind, ERR_AUTH);
    assert_int_equal(atomic_load(&f->w.open_calls), 0);
    assert_int_equal(pool_open_count(f->p), 0);
}

/* ==== caps across sessions ============================================= */

static void
test_global_cap_is_respected(void **state)
{
    struct fixture *f = *state;
    struct store *a, *b, *c;
    struct err err = {0};

    f->cfg.pool_total = 2;
    start(f);
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    assert_null(pool_acquire(f->p, f->u[2].s, &f->u[2].key, &err));
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_string_equal(err.msg,
                        "all 2 mail server connections of postern are busy");
    assert_int_equal(pool_open_count(f->p), 2);

    /* An idle store of alice does not keep carol out: it is closed. */
    release(f, &f->u[0], &a);
    c = acquire_ok(f, &f->u[2]);
    assert_int_equal(atomic_load(&f->w.closes), 1);
    assert_int_equal(pool_open_count(f->p), 2);
    assert_ptr_equal(c->server, &server2);
    release(f, &f->u[2], &c);
    release(f, &f->u[0], &b);
}

static void
test_waiter_for_a_global_slot_wakes_when_one_frees(void **state)
{
    struct fixture *f = *state;
    struct acquirer carol;
    struct store *a, *b;

    f->cfg.pool_total = 2;
    f->cfg.io_timeout = 5;
    start(f);
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    acquirer_start(&carol, f, &f->u[2]);
    g_usleep(150 * 1000);
    assert_false(atomic_load(&carol.done));
    release(f, &f->u[0], &a); /* goes idle: carol closes it */
    acquirer_join(&carol);
    assert_non_null(carol.st);
    assert_true(carol.ms < 2500);
    assert_int_equal(pool_open_count(f->p), 2);
    release(f, &f->u[2], &carol.st);

    /* And when a store is closed rather than kept. */
    a = acquire_ok(f, &f->u[0]);  /* takes carol's slot back by eviction */
    acquirer_start(&carol, f, &f->u[2]);
    g_usleep(150 * 1000);
    assert_false(atomic_load(&carol.done));
    a->broken = true;
    release(f, &f->u[0], &a);
    acquirer_join(&carol);
    assert_non_null(carol.st);
    release(f, &f->u[2], &carol.st);
    release(f, &f->u[0], &b);
}

static void
test_per_server_cap_is_respected(void **state)
{
    struct fixture *f = *state;
    struct store *a, *c;
    struct err err = {0};

    f->cfg.pool_per_server = 1;
    start(f);
    a = acquire_ok(f, &f->u[0]);            /* alice on one */
    assert_null(pool_acquire(f->p, f->u[1].s, &f->u[1].key, &err));
    assert_int_equal(err.kind, ERR_TIMEOUT); /* bob on one: full */
    assert_string_equal(err.msg, "all 1 connections to server one are busy");
    c = acquire_ok(f, &f->u[2]);            /* carol on two: fine */
    assert_int_equal(pool_open_count(f->p), 2);

    /* carol's idle store is no use to bob: another server. */
    release(f, &f->u[2], &c);
    err_clear(&err);
    assert_null(pool_acquire(f->p, f->u[1].s, &f->u[1].key, &err));
    assert_int_equal(err.kind, ERR_TIMEOUT);
    assert_int_equal(atomic_load(&f->w.closes), 0);
    release(f, &f->u[0], &a);
}

static void
test_slow_open_of_one_session_does_not_delay_another(void **state)
{
    struct fixture *f = *state;
    struct acquirer slow;
    struct store *b;
    int64_t t0, ms;
    bool slow_was_done;

    start(f);
    acquirer_start(&slow, f, &f->u[3]);
    while (atomic_load(&f->w.in_slow_open) == 0)
        g_usleep(1000);
    t0 = mono_ms();
    b = acquire_ok(f, &f->u[1]);         /* same server, other session */
    release(f, &f->u[1], &b);
    b = acquire_ok(f, &f->u[1]);         /* and a reuse with a ping */
    ms = mono_ms() - t0;
    slow_was_done = atomic_load(&slow.done);
    release(f, &f->u[1], &b);
    acquirer_join(&slow);                /* before anything can fail */
    assert_false(slow_was_done);
    assert_true(ms < 100);
    assert_non_null(slow.st);
    assert_true(slow.ms >= 450);
    release(f, &f->u[3], &slow.st);
}

/* ==== reaping and logout =============================================== */

static void
test_pool_reap_closes_only_stores_idle_too_long(void **state)
{
    struct fixture *f = *state;
    struct store *a, *b, *c;

    start(f); /* pool_idle = 300 s */
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    c = acquire_ok(f, &f->u[2]);
    release(f, &f->u[0], &a);
    atomic_fetch_add(&fake_now, 200 * SEC);
    release(f, &f->u[0], &b);
    assert_int_equal(pool_reap(f->p), 0);
    atomic_fetch_add(&fake_now, 100 * SEC);  /* a: exactly 300 s */
    assert_int_equal(pool_reap(f->p), 0);
    atomic_fetch_add(&fake_now, 1);          /* a: 300 s and 1 us */
    assert_int_equal(pool_reap(f->p), 1);
    assert_int_equal(atomic_load(&f->w.closes), 1);
    assert_int_equal(pool_open_count(f->p), 2);
    assert_int_equal(pool_idle_count(f->p), 1);
    atomic_fetch_add(&fake_now, 1000 * SEC);
    assert_int_equal(pool_reap(f->p), 1);    /* b; c is in use */
    assert_int_equal(pool_open_count(f->p), 1);
    release(f, &f->u[2], &c);
    assert_int_equal(pool_reap(f->p), 0);    /* just released */
}

static void
test_drop_session_closes_idle_now_and_in_use_on_release(void **state)
{
    struct fixture *f = *state;
    struct store *a, *b;
    struct err err = {0};

    start(f);
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    release(f, &f->u[0], &a);
    pool_drop_session(f->p, f->u[0].s);
    assert_int_equal(atomic_load(&f->w.closes), 1);
    assert_int_equal(pool_open_count(f->p), 1);
    release(f, &f->u[0], &b);
    assert_int_equal(atomic_load(&f->w.closes), 2);
    assert_int_equal(pool_open_count(f->p), 0);
    assert_null(pool_acquire(f->p, f->u[0].s, &f->u[0].key, &err));
    assert_int_equal(err.kind, ERR_AUTH);
    pool_drop_session(f->p, f->u[1].s); /* no stores: harmless */
}

static void
test_logout_closes_the_sessions_stores(void **state)
{
    struct fixture *f = *state;
    struct store *a, *b, *c;
    struct err err = {0};

    start(f);
    a = acquire_ok(f, &f->u[0]);
    b = acquire_ok(f, &f->u[0]);
    c = acquire_ok(f, &f->u[1]);
    release(f, &f->u[0], &a);
    session_destroy(f->t, f->u[0].s);
    assert_int_equal(atomic_load(&f->w.closes), 1);      /* the idle one */
    assert_null(pool_acquire(f->p, f->u[0].s, &f->u[0].key, &err));
    assert_int_equal(err.kind, ERR_AUTH);
    release(f, &f->u[0], &b);                   /* closed now */
    assert_int_equal(atomic_load(&f->w.closes), 2);
    assert_int_equal(pool_open_count(f->p), 1);          /* bob's */
    release(f, &f->u[1], &c);
}

static void
test_logout_while_opening_closes_the_new_store(void **state)
{
    struct fixture *f = *state;
    struct acquirer slow;

    start(f);
    acquirer_start(&slow, f, &f->u[3]);
    while (atomic_load(&f->w.in_slow_open) == 0)
        g_usleep(1000);
    session_destroy(f->t, f->u[3].s);
    acquirer_join(&slow);
    assert_null(slow.st);
    assert_int_equal(slow.err.kind, ERR_AUTH);
    assert_int_equal(atomic_load(&f->w.opens), 1);
    assert_int_equal(atomic_load(&f->w.closes), 1);
    assert_int_equal(pool_open_count(f->p), 0);
}

static void
test_expired_sessions_lose_their_stores_when_reaped(void **state)
{
    struct fixture *f = *state;
    struct store *a, *c;

    start(f);
    a = acquire_ok(f, &f->u[0]);
    c = acquire_ok(f, &f->u[2]);
    release(f, &f->u[0], &a);
    release(f, &f->u[2], &c);
    atomic_fetch_add(&fake_now, 1000 * SEC);
    {
        struct session_key k;
        struct session *s = session_lookup(f->t, f->u[2].cookie, &k);

        session_unref(&s); /* carol stays active */
    }
    atomic_fetch_add(&fake_now, 1000 * SEC);   /* alice idle 2000 s */
    assert_int_equal(session_table_reap(f->t), 3); /* alice, bob, slowpoke */
    assert_int_equal(pool_open_count(f->p), 1);     /* carol's */
    assert_int_equal(atomic_load(&f->w.closes), 1);
}

static void
test_reaper_thread_reaps_and_stops(void **state)
{
    struct fixture *f = *state;
    struct pool_reaper *r;
    struct store *a;
    int64_t t0;

    start(f);
    a = acquire_ok(f, &f->u[0]);
    release(f, &f->u[0], &a);
    r = pool_reaper_start(f->p, f->t, 10);
    g_usleep(50 * 1000);
    assert_int_equal(pool_open_count(f->p), 1);    /* not idle long yet */
    atomic_fetch_add(&fake_now, 301 * SEC);
    t0 = mono_ms();
    while (pool_open_count(f->p) > 0 && mono_ms() - t0 < 2000)
        g_usleep(5 * 1000);
    assert_int_equal(pool_open_count(f->p), 0);
    assert_int_equal(session_table_count(f->t), 4); /* sessions live on */
    atomic_fetch_add(&fake_now, 2000 * SEC);
    t0 = mono_ms();
    while (session_table_count(f->t) > 0 && mono_ms() - t0 < 2000)
        g_usleep(5 * 1000);
    assert_int_equal(session_table_count(f->t), 0);
    t0 = mono_ms();
    pool_reaper_stop(&r);
    assert_null(r);
    assert_true(mono_ms() - t0 < 500);
    pool_reaper_stop(&r); /* NULL-safe */
}

static void
test_pool_free_closes_idle_stores(void **state)
{
    struct fixture *f = *state;
    struct store *a, *c;

    start(f);
    a = acquire_ok(f, &f->u[0]);
    c = acquire_ok(f, &f->u[2]);
    release(f, &f->u[0], &a);
    release(f, &f->u[2], &c);
    pool_free(&f->p);
    assert_null(f->p);
    assert_int_equal(atomic_load(&f->w.closes), 2);
    /* The sessions survive the pool and end without it. */
    session_table_free(&f->t);
    for (size_t i = 0; i < N_ELEMENTS(f->u); i++) {
        session_unref(&f->u[i].s);
        session_cookie_free(&f->u[i].cookie);
    }
}

/* ==== many threads ===================================================== */

struct worker {
    struct fixture *f;
    struct user *u;
    pthread_t thread;
    int ok, timeouts, other;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 300; i++) {
        struct err err = {0};
        struct store *st = pool_acquire(w->f->p, w->u->s, &w->u->key, &err);

        if (st == NULL) {
            if (err.kind == ERR_TIMEOUT)
                w->timeouts++;
            else
                w->other++;
            continue;
        }
        w->ok++;
        if (i % 7 == 0)
            st->broken = true;
        if (i % 11 == 0)
            atomic_store(&((struct fake_store *)st)->dead, true);
        pool_release(w->f->p, w->u->s, &st);
        if (i % 50 == 0)
            (void)pool_reap(w->f->p); /* the count is not checked here */
    }
    return NULL;
}

static void
test_many_threads_keep_the_counts_right(void **state)
{
    struct fixture *f = *state;
    struct worker w[8];
    int ok = 0;

    f->cfg.pool_total = 3;
    f->cfg.pool_per_server = 2;
    f->cfg.io_timeout = 10;
    start(f);
    for (size_t i = 0; i < N_ELEMENTS(w); i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].f = f;
        w[i].u = &f->u[i % 3];  /* not the slow one */
        assert_int_equal(
            pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
    }
    for (size_t i = 0; i < N_ELEMENTS(w); i++) {
        pthread_join(w[i].thread, NULL);
        ok += w[i].ok;
        assert_int_equal(w[i].other, 0);
        assert_int_equal(w[i].timeouts, 0);
    }
    assert_int_equal(ok, 8 * 300);
    assert_true(pool_open_count(f->p) <= 3);
    assert_int_equal(pool_open_count(f->p), pool_idle_count(f->p));
    assert_int_equal(atomic_load(&f->w.opens) - atomic_load(&f->w.closes),
                     (int)pool_open_count(f->p));
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_second_acquire_while_first_is_held_opens_a_second),
        T(test_released_store_is_reused_after_a_ping),
        T(test_third_acquire_waits_and_gets_the_released_store),
        T(test_waiting_past_io_timeout_gives_err_timeout),
        T(test_per_session_cap_of_one_serialises_a_session),
        T(test_dead_idle_store_is_replaced_transparently),
        T(test_broken_store_is_closed_on_release),
        T(test_opener_error_passes_through_and_frees_the_slot),
        T(test_wrong_key_opens_nothing),
        T(test_global_cap_is_respected),
        T(test_waiter_for_a_global_slot_wakes_when_one_frees),
        T(test_per_server_cap_is_respected),
        T(test_slow_open_of_one_session_does_not_delay_another),
        T(test_pool_reap_closes_only_stores_idle_too_long),
        T(test_drop_session_closes_idle_now_and_in_use_on_release),
        T(test_logout_closes_the_sessions_stores),
        T(test_logout_while_opening_closes_the_new_store),
        T(test_expired_sessions_lose_their_stores_when_reaped),
        T(test_reaper_thread_reaps_and_stops),
        T(test_pool_free_closes_idle_stores),
        T(test_many_threads_keep_the_counts_right),
    };
#undef T

    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
