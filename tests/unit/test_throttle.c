/* test_throttle.c - login throttling on a fake clock: the allowance per
 * address and per user, waits that double up to the cap, forgetting after
 * the window, success forgetting only the user, and the cap on keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include "session/throttle.h"

static int64_t fake_now_us;

static int64_t
fake_now(void)
{
    return fake_now_us;
}

static void
advance(int64_t seconds)
{
    fake_now_us += seconds * G_USEC_PER_SEC;
}

static struct throttle *
new_throttle(unsigned per_addr, unsigned per_user, size_t max_entries)
{
    struct throttle_opts o = {
        .fails_per_address = per_addr,
        .fails_per_user = per_user,
        .window = 900,
        .delay_max = 600,
        .max_entries = max_entries,
    };
    struct throttle *t = throttle_new(&o);

    fake_now_us = 1000 * G_USEC_PER_SEC;
    throttle_set_clock(t, fake_now);
    return t;
}

static void
test_failures_under_the_allowance_cost_nothing(void **state)
{
    struct throttle *t = new_throttle(20, 3, 100);

    (void)state;
    assert_int_equal(throttle_check(t, "192.0.2.1", "s", "alice"), 0);
    throttle_fail(t, "192.0.2.1", "s", "alice");
    throttle_fail(t, "192.0.2.1", "s", "alice");
    assert_int_equal(throttle_check(t, "192.0.2.1", "s", "alice"), 0);
    throttle_fail(t, "192.0.2.1", "s", "alice");
    /* the third reached the allowance: the next try waits */
    assert_int_equal(throttle_check(t, "192.0.2.1", "s", "alice"),
                     THROTTLE_FIRST_WAIT);
    /* from anywhere: the user is throttled, not just the address */
    assert_int_equal(throttle_check(t, "198.51.100.7", "s", "alice"),
                     THROTTLE_FIRST_WAIT);
    /* names compare without case; servers keep users apart */
    assert_int_equal(throttle_check(t, "198.51.100.7", "s", "ALICE"),
                     THROTTLE_FIRST_WAIT);
    assert_int_equal(throttle_check(t, "192.0.2.1", "other", "alice"), 0);
    throttle_free(&t);
    assert_null(t);
}

static void
test_waits_double_up_to_the_cap_and_count_down(void **state)
{
    struct throttle *t = new_throttle(100, 1, 100);
    unsigned want = THROTTLE_FIRST_WAIT;

    (void)state;
    throttle_fail(t, "a", "s", "bob");
    for (int i = 0; i < 12; i++) {
        unsigned w = throttle_check(t, "a", "s", "bob");

        assert_int_equal(w, want);
        advance(w); /* waited it out: may try again */
        assert_int_equal(throttle_check(t, "a", "s", "bob"), 0);
        throttle_fail(t, "a", "s", "bob");
        want = want * 2 > 600 ? 600 : want * 2;
    }
    assert_int_equal(throttle_check(t, "a", "s", "bob"), 600);
    advance(599);
    assert_int_equal(throttle_check(t, "a", "s", "bob"), 1);
    throttle_free(&t);
}

static void
test_the_window_forgets_counted_from_the_end_of_the_wait(void **state)
{
    struct throttle *t = new_throttle(100, 2, 100);

    (void)state;
    throttle_fail(t, "a", "s", "carol");
    advance(901); /* one failure, long ago: forgotten */
    throttle_fail(t, "a", "s", "carol");
    assert_int_equal(throttle_check(t, "a", "s", "carol"), 0);
    throttle_fail(t, "a", "s", "carol");
    assert_int_equal(throttle_check(t, "a", "s", "carol"),
                     THROTTLE_FIRST_WAIT);
    /* past the wait, but within the window after it: still counted */
    advance(THROTTLE_FIRST_WAIT + 800);
    assert_int_equal(throttle_check(t, "a", "s", "carol"), 0);
    throttle_fail(t, "a", "s", "carol");
    assert_int_equal(throttle_check(t, "a", "s", "carol"),
                     2 * THROTTLE_FIRST_WAIT);
    /* and after the window from the end of that wait: a clean slate */
    advance(2 * THROTTLE_FIRST_WAIT + 901);
    throttle_fail(t, "a", "s", "carol");
    assert_int_equal(throttle_check(t, "a", "s", "carol"), 0);
    throttle_free(&t);
}

static void
test_success_forgets_the_user_but_not_the_address(void **state)
{
    struct throttle *t = new_throttle(4, 3, 100);

    (void)state;
    /* someone at the address guesses at dave */
    throttle_fail(t, "203.0.113.5", "s", "dave");
    throttle_fail(t, "203.0.113.5", "s", "dave");
    /* erin at the same address (a shared NAT) is not blocked by that */
    assert_int_equal(throttle_check(t, "203.0.113.5", "s", "erin"), 0);
    throttle_success(t, "203.0.113.5", "s", "erin");
    /* nor does her success wash the address's count */
    throttle_fail(t, "203.0.113.5", "s", "frank");
    throttle_fail(t, "203.0.113.5", "s", "gina");
    assert_int_equal(throttle_check(t, "203.0.113.5", "s", "erin"),
                     THROTTLE_FIRST_WAIT);
    /* from elsewhere erin is fine */
    assert_int_equal(throttle_check(t, "192.0.2.9", "s", "erin"), 0);
    /* dave's own success forgets dave's failures */
    throttle_fail(t, "192.0.2.9", "s", "dave");
    assert_int_equal(throttle_check(t, "192.0.2.9", "s", "dave"),
                     THROTTLE_FIRST_WAIT);
    throttle_success(t, "192.0.2.9", "s", "dave");
    assert_int_equal(throttle_check(t, "192.0.2.9", "s", "dave"), 0);
    throttle_free(&t);
}

static void
test_the_table_never_grows_past_its_cap(void **state)
{
    struct throttle *t = new_throttle(100, 1, 50);

    (void)state;
    throttle_fail(t, NULL, "s", "target");
    for (int i = 0; i < 1000; i++) {
        char addr[32], user[32];

        g_snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
        g_snprintf(user, sizeof(user), "spray%d", i);
        advance(1);
        throttle_fail(t, addr, "s", user);
        /* the user under attack stays: it is touched all the time */
        if (i % 10 == 0)
            throttle_fail(t, addr, "s", "target");
        assert_true(throttle_count(t) <= 50);
    }
    assert_int_equal(throttle_count(t), 50);
    assert_true(throttle_check(t, NULL, "s", "target") > 0);
    throttle_free(&t);
}

static void
test_missing_keys_are_not_counted(void **state)
{
    struct throttle *t = new_throttle(1, 1, 10);

    (void)state;
    throttle_fail(t, NULL, NULL, NULL);
    throttle_fail(t, "", "s", "");
    assert_int_equal(throttle_count(t), 0);
    assert_int_equal(throttle_check(t, NULL, NULL, NULL), 0);
    throttle_success(t, NULL, NULL, NULL);
    throttle_free(&t);
    throttle_free(&t); /* NULL-safe */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failures_under_the_allowance_cost_nothing),
        cmocka_unit_test(test_waits_double_up_to_the_cap_and_count_down),
        cmocka_unit_test(
            test_the_window_forgets_counted_from_the_end_of_the_wait),
        cmocka_unit_test(test_success_forgets_the_user_but_not_the_address),
        cmocka_unit_test(test_the_table_never_grows_past_its_cap),
        cmocka_unit_test(test_missing_keys_are_not_counted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
