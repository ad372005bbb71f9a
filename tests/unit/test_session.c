/* test_session.c - the session table: cookies decoded strictly, the
 * password only sealed, CSRF tokens, expiry by the test clock, logout,
 * reaping and reference counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "session/session.h"
#include "session/session_priv.h"
#include "session/vault.h"

#define SEC G_TIME_SPAN_SECOND
#define IDLE 60
#define MAX_AGE 3600

static const char password[] = "hunter2-but-longer";
static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static _Atomic int64_t fake_now;

static int64_t
fake_clock(void)
{
    return atomic_load(&fake_now);
}

static struct cfg test_cfg = {
    .session_idle = IDLE,
    .session_max = MAX_AGE,
};
static struct cfg_server test_server = {
    .name = (char *)"home",
    .host = (char *)"mail.example.org",
    .port = 993,
};

struct fixture {
    struct session_table *t;
    struct session *s;
    char *cookie;
};

static int
setup(void **state)
{
    struct fixture *f = g_new0(struct fixture, 1);
    struct err err = {0};

    atomic_store(&fake_now, 1000 * SEC);
    f->t = session_table_new(&test_cfg);
    session_table_set_clock(f->t, fake_clock);
    f->s = session_create(f->t, &test_server, "alice", password, &f->cookie,
                          &err);
    assert_non_null(f->s);
    assert_int_equal(err.kind, ERR_NONE);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    session_unref(&f->s);
    session_cookie_free(&f->cookie);
    assert_null(f->cookie);
    session_table_free(&f->t);
    assert_null(f->t);
    g_free(f);
    return 0;
}

/* Looks cookie up and expects a session; the caller unrefs it. */
static struct session *
lookup_ok(struct session_table *t, const char *cookie, struct session_key *k)
{
    struct session *s = session_lookup(t, cookie, k);

    assert_non_null(s);
    return s;
}

static void
assert_lookup_fails(struct session_table *t, const char *cookie)
{
    struct session_key k;
    struct session *s;

    memset(&k, 0xAA, sizeof(k));
    s = session_lookup(t, cookie, &k);
    /* Cookies are not printed, not even test ones (STYLE §3.11). */
    if (s != NULL)
        fail_msg("a malformed or altered cookie opened a session");
    for (size_t i = 0; i < sizeof(k.bytes); i++)
        assert_int_equal(k.bytes[i], 0);
}

/* The 64 bytes a cookie carries (id, then key). */
static void
cookie_decode(const char *cookie, unsigned char out[64])
{
    char std[89];
    gsize len = 0;
    guchar *raw;

    assert_int_equal(strlen(cookie), 86);
    for (size_t i = 0; i < 86; i++)
        std[i] = cookie[i] == '-' ? '+' : cookie[i] == '_' ? '/' : cookie[i];
    strcpy(std + 86, "==");
    raw = g_base64_decode(std, &len);
    assert_int_equal(len, 64);
    memcpy(out, raw, 64);
    g_free(raw);
}

static void
cookie_encode(const unsigned char raw[64], char out[87])
{
    gchar *std = g_base64_encode(raw, 64);

    assert_int_equal(strlen(std), 88);
    for (size_t i = 0; i < 86; i++)
        out[i] = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i];
    out[86] = '\0';
    g_free(std);
}

static bool
contains(const void *hay, size_t hay_len, const void *needle, size_t len)
{
    return memmem(hay, hay_len, needle, len) != NULL;
}

/* ==== create and look up =============================================== */

static void
test_cookie_is_86_base64url_chars(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(strlen(f->cookie), SESSION_COOKIE_LEN);
    assert_int_equal(strspn(f->cookie, b64url_chars), SESSION_COOKIE_LEN);
    assert_string_equal(SESSION_COOKIE_NAME, "postern");
}

static void
test_lookup_with_the_cookie_gives_session_and_key(void **state)
{
    struct fixture *f = *state;
    unsigned char raw[64];
    struct session_key k;
    struct session *s = lookup_ok(f->t, f->cookie, &k);

    assert_ptr_equal(s, f->s);
    cookie_decode(f->cookie, raw);
    assert_memory_equal(k.bytes, raw + 32, 32);
    assert_string_equal(session_user(s), "alice");
    assert_ptr_equal(session_server(s), &test_server);
    assert_int_equal(session_table_count(f->t), 1);
    session_key_wipe(&k);
    for (size_t i = 0; i < sizeof(k.bytes); i++)
        assert_int_equal(k.bytes[i], 0);
    session_unref(&s);
    assert_null(s);
}

static void
test_password_opens_with_the_cookie_key_only(void **state)
{
    struct fixture *f = *state;
    struct session_key k, other;
    struct err err = {0};
    struct session *s = lookup_ok(f->t, f->cookie, &k);
    char *pw = session_password(s, &k, &err);

    assert_non_null(pw);
    assert_string_equal(pw, password);
    vault_secret_free(&pw);

    other = k;
    other.bytes[5] ^= 1;
    pw = session_password(s, &other, &err);
    assert_null(pw);
    assert_int_equal(err.kind, ERR_AUTH);
    session_unref(&s);
}

static void
test_every_single_char_change_makes_the_cookie_useless(void **state)
{
    struct fixture *f = *state;
    char bad[SESSION_COOKIE_LEN + 1];

    for (size_t i = 0; i < SESSION_COOKIE_LEN; i++) {
        /* A few substitutes per position, including ones that differ only
         * in the bits the last character does not use. */
        for (size_t j = 0; j < 64; j += 5) {
            strcpy(bad, f->cookie);
            if (bad[i] == b64url_chars[j])
                continue;
            bad[i] = b64url_chars[j];
            assert_lookup_fails(f->t, bad);
        }
        strcpy(bad, f->cookie);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_lookup_fails(f->t, bad);
    }
    /* The original still works and the failures ended nothing. */
    {
        struct session_key k;
        struct session *s = lookup_ok(f->t, f->cookie, &k);

        session_unref(&s);
    }
    assert_int_equal(session_table_count(f->t), 1);
}

static void
test_malformed_cookies_are_refused(void **state)
{
    struct fixture *f = *state;
    char buf[200];

    assert_lookup_fails(f->t, NULL);
    assert_lookup_fails(f->t, "");
    assert_lookup_fails(f->t, "garbage");
    snprintf(buf, sizeof(buf), "%.85s", f->cookie);        /* too short */
    assert_lookup_fails(f->t, buf);
    snprintf(buf, sizeof(buf), "%sA", f->cookie);          /* too long */
    assert_lookup_fails(f->t, buf);
    snprintf(buf, sizeof(buf), "%s==", f->cookie);         /* padded */
    assert_lookup_fails(f->t, buf);
    snprintf(buf, sizeof(buf), " %.85s", f->cookie);       /* space */
    assert_lookup_fails(f->t, buf);
    snprintf(buf, sizeof(buf), "%.85s=", f->cookie);
    assert_lookup_fails(f->t, buf);
    /* Standard base64 spelling of the same bytes. */
    strcpy(buf, f->cookie);
    for (char *c = buf; *c != '\0'; c++)
        *c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
    if (strcmp(buf, f->cookie) != 0)
        assert_lookup_fails(f->t, buf);
    /* A NUL in the middle makes it short. */
    memcpy(buf, f->cookie, SESSION_COOKIE_LEN + 1);
    buf[40] = '\0';
    assert_lookup_fails(f->t, buf);
    /* Bytes outside the alphabet, including high ones. */
    memcpy(buf, f->cookie, SESSION_COOKIE_LEN + 1);
    buf[10] = '\xc3';
    assert_lookup_fails(f->t, buf);
    memset(buf, 'A', SESSION_COOKIE_LEN);
    buf[SESSION_COOKIE_LEN] = '\0';
    assert_lookup_fails(f->t, buf);
}

static void
test_id_of_one_session_with_key_of_another_is_refused(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    char *cookie2 = NULL;
    struct session *s2 = session_create(f->t, &test_server, "bob", "pw2",
                                        &cookie2, &err);
    unsigned char a[64], b[64], mixed[64];
    char cookie[87];

    assert_non_null(s2);
    cookie_decode(f->cookie, a);
    cookie_decode(cookie2, b);
    memcpy(mixed, a, 32);
    memcpy(mixed + 32, b + 32, 32);
    cookie_encode(mixed, cookie);
    assert_lookup_fails(f->t, cookie);
    memcpy(mixed, b, 32);
    memcpy(mixed + 32, a + 32, 32);
    cookie_encode(mixed, cookie);
    assert_lookup_fails(f->t, cookie);
    /* Sanity of the helpers: re-encoding a real cookie works. */
    cookie_encode(a, cookie);
    assert_string_equal(cookie, f->cookie);
    session_unref(&s2);
    session_cookie_free(&cookie2);
}

/* ==== what the server keeps ============================================ */

static void
test_session_memory_holds_no_password_id_or_key(void **state)
{
    struct fixture *f = *state;
    const struct session *s = f->s;
    unsigned char raw[64];

    cookie_decode(f->cookie, raw);
    /* Not in the struct, the sealed box or the user name... */
    assert_false(contains(s, sizeof(*s), password, 6));
    assert_false(contains(s->box.ct, s->box.ct_len, password, 6));
    assert_false(contains(s->user, strlen(s->user) + 1, password, 6));
    assert_true(s->box.is_sealed);
    /* ...and neither the id nor the key, whole or in part. */
    for (size_t i = 0; i + 8 <= 64; i += 8) {
        assert_false(contains(s, sizeof(*s), raw + i, 8));
        assert_false(contains(s->box.ct, s->box.ct_len, raw + i, 8));
    }
    /* The box differs from the password in every respect we can see. */
    assert_memory_not_equal(s->box.ct, password, sizeof(password) - 1);
}

static void
test_two_sessions_with_one_password_have_different_boxes(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    char *cookie2 = NULL;
    struct session *s2 = session_create(f->t, &test_server, "alice",
                                        password, &cookie2, &err);

    assert_non_null(s2);
    assert_string_not_equal(cookie2, f->cookie);
    assert_memory_not_equal(s2->box.ct, f->s->box.ct, s2->box.ct_len);
    assert_memory_not_equal(s2->id_hash, f->s->id_hash, SESSION_HASH_LEN);
    assert_string_not_equal(session_csrf_token(s2),
                            session_csrf_token(f->s));
    assert_int_equal(session_table_count(f->t), 2);
    session_unref(&s2);
    session_cookie_free(&cookie2);
}

static void
test_bad_user_names_and_passwords_are_refused(void **state)
{
    struct fixture *f = *state;
    char *long_user = g_malloc(SESSION_USER_MAX + 2);
    char *long_pw = g_malloc(VAULT_SECRET_MAX + 2);
    struct err err = {0};
    char *cookie = (char *)"untouched";

    assert_null(session_create(f->t, &test_server, "", "pw", &cookie, &err));
    assert_int_equal(err.kind, ERR_INPUT);
    assert_null(cookie);

    memset(long_user, 'u', SESSION_USER_MAX + 1);
    long_user[SESSION_USER_MAX + 1] = '\0';
    err_clear(&err);
    assert_null(session_create(f->t, &test_server, long_user, "pw", &cookie,
                               &err));
    assert_int_equal(err.kind, ERR_LIMIT);

    memset(long_pw, 'p', VAULT_SECRET_MAX + 1);
    long_pw[VAULT_SECRET_MAX + 1] = '\0';
    err_clear(&err);
    assert_null(session_create(f->t, &test_server, "carol", long_pw,
                               &cookie, &err));
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_null(cookie);
    assert_int_equal(session_table_count(f->t), 1);

    /* Exactly at the caps is fine. */
    long_user[SESSION_USER_MAX] = '\0';
    long_pw[VAULT_SECRET_MAX] = '\0';
    err_clear(&err);
    {
        struct session *s = session_create(f->t, &test_server, long_user,
                                           long_pw, &cookie, &err);
        struct session_key k;
        struct session *found;
        char *pw;

        assert_non_null(s);
        found = lookup_ok(f->t, cookie, &k);
        pw = session_password(found, &k, &err);
        assert_string_equal(pw, long_pw);
        vault_secret_free(&pw);
        session_unref(&found);
        session_unref(&s);
        session_cookie_free(&cookie);
    }
    g_free(long_user);
    g_free(long_pw);
}

/* ==== CSRF ============================================================= */

static void
test_csrf_token_is_checked_exactly(void **state)
{
    struct fixture *f = *state;
    const char *tok = session_csrf_token(f->s);
    char copy[SESSION_CSRF_LEN + 2];

    assert_int_equal(strlen(tok), SESSION_CSRF_LEN);
    assert_int_equal(strspn(tok, b64url_chars), SESSION_CSRF_LEN);
    assert_ptr_equal(session_csrf_token(f->s), tok); /* stable */

    strcpy(copy, tok);
    assert_true(session_csrf_ok(f->s, copy));
    copy[SESSION_CSRF_LEN - 1] = copy[SESSION_CSRF_LEN - 1] == 'A' ? 'B' : 'A';
    assert_false(session_csrf_ok(f->s, copy));
    strcpy(copy, tok);
    copy[0] = copy[0] == 'A' ? 'B' : 'A';
    assert_false(session_csrf_ok(f->s, copy));
    assert_false(session_csrf_ok(f->s, NULL));
    assert_false(session_csrf_ok(f->s, ""));
    snprintf(copy, sizeof(copy), "%.*s", SESSION_CSRF_LEN - 1, tok);
    assert_false(session_csrf_ok(f->s, copy));
    snprintf(copy, sizeof(copy), "%sA", tok);
    assert_false(session_csrf_ok(f->s, copy));
}

/* ==== expiry =========================================================== */

static void
test_use_keeps_a_session_alive_until_idle_too_long(void **state)
{
    struct fixture *f = *state;
    struct session_key k;
    struct session *s;

    for (int i = 0; i < 3; i++) {
        atomic_fetch_add(&fake_now, (IDLE - 1) * SEC);
        s = lookup_ok(f->t, f->cookie, &k);
        session_unref(&s);
    }
    atomic_fetch_add(&fake_now, IDLE * SEC + 1);
    assert_lookup_fails(f->t, f->cookie);
    assert_int_equal(session_table_count(f->t), 0);
}

static void
test_expired_session_is_wiped_for_those_holding_it(void **state)
{
    struct fixture *f = *state;
    struct session_key k;
    struct session *s = lookup_ok(f->t, f->cookie, &k);
    struct err err = {0};
    char *pw;

    atomic_fetch_add(&fake_now, (IDLE + 1) * SEC);
    assert_lookup_fails(f->t, f->cookie);
    pw = session_password(s, &k, &err);
    assert_null(pw);
    assert_int_equal(err.kind, ERR_AUTH);
    assert_false(f->s->box.is_sealed);
    session_unref(&s);
}

static void
test_session_older_than_max_age_ends_even_when_used(void **state)
{
    struct fixture *f = *state;
    struct session_key k;
    struct session *s;
    int64_t start = atomic_load(&fake_now);

    while (atomic_load(&fake_now) + (IDLE / 2) * SEC <= start + MAX_AGE * SEC) {
        atomic_fetch_add(&fake_now, (IDLE / 2) * SEC);
        s = lookup_ok(f->t, f->cookie, &k);
        session_unref(&s);
    }
    atomic_store(&fake_now, start + MAX_AGE * SEC + 1);
    assert_lookup_fails(f->t, f->cookie);
    assert_int_equal(session_table_count(f->t), 0);
}

static void
test_reap_counts_and_removes_expired_sessions(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    char *c2 = NULL, *c3 = NULL;
    struct session *s2 = session_create(f->t, &test_server, "b", "p", &c2,
                                        &err);
    struct session *s3 = session_create(f->t, &test_server, "c", "p", &c3,
                                        &err);
    struct session_key k;
    struct session *s;

    assert_int_equal(session_table_count(f->t), 3);
    assert_int_equal(session_table_reap(f->t), 0);
    atomic_fetch_add(&fake_now, (IDLE - 10) * SEC);
    s = lookup_ok(f->t, c2, &k); /* only s2 is used */
    session_unref(&s);
    atomic_fetch_add(&fake_now, 20 * SEC);
    assert_int_equal(session_table_reap(f->t), 2);
    assert_int_equal(session_table_count(f->t), 1);
    assert_int_equal(session_table_reap(f->t), 0);
    assert_lookup_fails(f->t, f->cookie);
    assert_lookup_fails(f->t, c3);
    s = lookup_ok(f->t, c2, &k);
    session_unref(&s);
    session_unref(&s2);
    session_unref(&s3);
    session_cookie_free(&c2);
    session_cookie_free(&c3);
}

/* ==== logout and references ============================================ */

static void
test_destroy_ends_the_session_for_everyone(void **state)
{
    struct fixture *f = *state;
    struct session_key k;
    struct session *held = lookup_ok(f->t, f->cookie, &k);
    struct err err = {0};
    char *pw;

    session_destroy(f->t, f->s);
    assert_int_equal(session_table_count(f->t), 0);
    assert_lookup_fails(f->t, f->cookie);
    pw = session_password(held, &k, &err);
    assert_null(pw);
    assert_int_equal(err.kind, ERR_AUTH);
    /* What is not secret stays readable while referenced. */
    assert_string_equal(session_user(held), "alice");
    session_destroy(f->t, f->s); /* again: harmless */
    session_unref(&held);
}

static void
test_logout_wipes_the_sealed_password_at_once(void **state)
{
    struct fixture *f = *state;
    struct session_key k;
    struct session *held = lookup_ok(f->t, f->cookie, &k);
    static const unsigned char zero[VAULT_TAG_LEN];
    struct err err = {0};

    /* before: a sealed box, nothing in clear (see above) */
    assert_true(held->box.is_sealed);
    assert_non_null(held->box.ct);
    session_destroy(f->t, f->s);
    /* after: the table no longer has it, and the session a request still
     * holds has no box left at all: no ciphertext, nonce or tag */
    assert_int_equal(session_table_count(f->t), 0);
    assert_lookup_fails(f->t, f->cookie);
    assert_true(held->is_ended);
    assert_false(held->box.is_sealed);
    assert_null(held->box.ct);
    assert_int_equal(held->box.ct_len, 0);
    assert_memory_equal(held->box.nonce, zero, VAULT_NONCE_LEN);
    assert_memory_equal(held->box.tag, zero, VAULT_TAG_LEN);
    /* the cookie's key opens nothing now */
    assert_null(session_password(held, &k, &err));
    assert_int_equal(err.kind, ERR_AUTH);
    assert_false(contains(held, sizeof(*held), password, 6));
    session_key_wipe(&k);
    session_unref(&held);
}

static void
test_references_outlive_the_table(void **state)
{
    struct fixture *f = *state;
    struct session_key k;
    struct session *held = lookup_ok(f->t, f->cookie, &k);
    struct err err = {0};

    session_ref(held);
    session_table_free(&f->t);
    assert_string_equal(session_user(held), "alice");
    assert_null(session_password(held, &k, &err));
    assert_int_equal(err.kind, ERR_AUTH);
    session_unref(&held);
    assert_null(held);
    held = f->s;
    session_unref(&held); /* the extra one taken above */
    /* f->s (the creator's reference) is dropped by teardown: ASan would
     * report it if the counts were off by one either way. */
    f->t = session_table_new(&test_cfg);
}

/* ==== cache ============================================================ */

static int cache_frees;

static void
count_free(void *p)
{
    cache_frees++;
    g_free(p);
}

static void
test_cache_is_replaced_and_freed_with_the_session(void **state)
{
    struct fixture *f = *state;

    cache_frees = 0;
    session_cache_lock(f->s);
    assert_null(session_cache(f->s));
    session_set_cache(f->s, g_strdup("one"), count_free);
    assert_string_equal(session_cache(f->s), "one");
    session_set_cache(f->s, g_strdup("two"), count_free);
    assert_int_equal(cache_frees, 1);
    assert_string_equal(session_cache(f->s), "two");
    session_cache_unlock(f->s);

    session_destroy(f->t, f->s);
    assert_int_equal(cache_frees, 0 + 1); /* still there for the holder */
    session_unref(&f->s);
    assert_int_equal(cache_frees, 2);
}

static void
test_cache_without_its_lock_aborts(void **state)
{
    struct fixture *f = *state;
    pid_t pid;
    int status = 0;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* xassert's line would look like a failure in the test log. */
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(1);
        (void)session_cache(f->s);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* ==== threads ========================================================== */

struct hammer {
    struct session_table *t;
    const char *cookie;
    atomic_int found;
};

static void *
hammer_main(void *arg)
{
    struct hammer *h = arg;

    for (int i = 0; i < 2000; i++) {
        struct session_key k;
        struct session *s = session_lookup(h->t, h->cookie, &k);

        if (s != NULL) {
            struct err err = {0};
            char *pw = session_password(s, &k, &err);

            /* Either the password, or ERR_AUTH once destroyed. */
            if (pw == NULL)
                xassert(err.kind == ERR_AUTH);
            vault_secret_free(&pw);
            atomic_fetch_add(&h->found, 1);
            session_unref(&s);
        }
        session_key_wipe(&k);
    }
    return NULL;
}

static void
test_lookups_from_threads_race_with_destroy_and_reap(void **state)
{
    struct fixture *f = *state;
    struct hammer h = {.t = f->t, .cookie = f->cookie};
    pthread_t th[4];

    for (size_t i = 0; i < N_ELEMENTS(th); i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &h), 0);
    for (int i = 0; i < 50; i++)
        (void)session_table_reap(f->t); /* nothing expired: count is 0 */
    session_destroy(f->t, f->s);
    for (size_t i = 0; i < N_ELEMENTS(th); i++)
        pthread_join(th[i], NULL);
    assert_int_equal(session_table_count(f->t), 0);
    assert_lookup_fails(f->t, f->cookie);
}

static void
test_fresh_tokens_are_base64url_and_differ(void **state)
{
    char a[SESSION_CSRF_LEN + 1], b[SESSION_CSRF_LEN + 1];
    struct err err = {0};

    (void)state;
    assert_int_equal(session_token_new(a, &err), 0);
    assert_int_equal(session_token_new(b, &err), 0);
    assert_int_equal(strlen(a), SESSION_CSRF_LEN);
    assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                               "qrstuvwxyz0123456789-_"),
                     SESSION_CSRF_LEN);
    assert_string_not_equal(a, b);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_tokens_are_base64url_and_differ),
        T(test_cookie_is_86_base64url_chars),
        T(test_lookup_with_the_cookie_gives_session_and_key),
        T(test_password_opens_with_the_cookie_key_only),
        T(test_every_single_char_change_makes_the_cookie_useless),
        T(test_malformed_cookies_are_refused),
        T(test_id_of_one_session_with_key_of_another_is_refused),
        T(test_session_memory_holds_no_password_id_or_key),
        T(test_two_sessions_with_one_password_have_different_boxes),
        T(test_bad_user_names_and_passwords_are_refused),
        T(test_csrf_token_is_checked_exactly),
        T(test_use_keeps_a_session_alive_until_idle_too_long),
        T(test_expired_session_is_wiped_for_those_holding_it),
        T(test_session_older_than_max_age_ends_even_when_used),
        T(test_reap_counts_and_removes_expired_sessions),
        T(test_destroy_ends_the_session_for_everyone),
        T(test_logout_wipes_the_sealed_password_at_once),
        T(test_references_outlive_the_table),
        T(test_cache_is_replaced_and_freed_with_the_session),
        T(test_cache_without_its_lock_aborts),
        T(test_lookups_from_threads_race_with_destroy_and_reap),
    };
#undef T

    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
