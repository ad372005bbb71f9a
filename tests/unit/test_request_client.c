/* test_request_client.c - X-Forwarded-For / -Proto believed from trusted
 * proxies only, read from the right, capped, and never from strangers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/limits.h"
#include "web/request.h"
#include "web/request_client.h"

struct fixture {
    struct arena *arena;
    struct request req;
    struct netaddr trusted[2];
};

static int
setup(void **state)
{
    struct fixture *f = g_new0(struct fixture, 1);

    f->arena = arena_new(0);
    request_init(&f->req, f->arena, NULL);
    assert_true(netaddr_parse("127.0.0.1", true, &f->trusted[0]));
    assert_true(netaddr_parse("10.0.0.0/8", true, &f->trusted[1]));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    arena_free(&f->arena);
    g_free(f);
    return 0;
}

static void
add(struct fixture *f, const char *name, const char *value)
{
    struct err err = {0};

    assert_int_equal(request_add_header(&f->req, name, value, 1u << 20,
                                        &err), 0);
}

static void
resolve(struct fixture *f, const char *peer, bool https)
{
    f->req.client_addr = peer;
    f->req.is_https = https;
    request_client_resolve(&f->req, f->trusted, 2);
}

static void
test_a_stranger_is_not_believed(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-For", "6.6.6.6");
    add(f, "X-Forwarded-Proto", "https");
    resolve(f, "192.0.2.7", false);
    assert_string_equal(request_client_addr(&f->req), "192.0.2.7");
    assert_false(request_client_is_https(&f->req));
    assert_string_equal(f->req.peer_addr, "192.0.2.7");
}

static void
test_a_stranger_cannot_turn_https_off_either(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-Proto", "http");
    resolve(f, "192.0.2.7", true);
    assert_true(request_client_is_https(&f->req));
}

static void
test_a_trusted_proxy_is_believed(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-For", "6.6.6.6");
    add(f, "X-Forwarded-Proto", "HTTPS");
    resolve(f, "127.0.0.1", false);
    assert_string_equal(request_client_addr(&f->req), "6.6.6.6");
    assert_true(request_client_is_https(&f->req));
    assert_string_equal(f->req.peer_addr, "127.0.0.1");
}

static void
test_the_chain_is_walked_from_the_right(void **state)
{
    struct fixture *f = *state;

    /* forged, real client, another trusted proxy */
    add(f, "X-Forwarded-For", "1.1.1.1,  2001:DB8::0001 , 10.9.8.7");
    resolve(f, "127.0.0.1", false);
    assert_string_equal(request_client_addr(&f->req), "2001:db8::1");
}

static void
test_repeated_headers_are_one_list(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-For", "5.5.5.5");
    add(f, "X-Forwarded-For", "10.0.0.1");
    resolve(f, "127.0.0.1", false);
    assert_string_equal(request_client_addr(&f->req), "5.5.5.5");
}

static void
test_all_trusted_ends_at_the_leftmost(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-For", "10.0.0.3, 10.0.0.2");
    resolve(f, "10.0.0.1", false);
    assert_string_equal(request_client_addr(&f->req), "10.0.0.3");
}

static void
test_garbage_stops_the_walk_at_the_last_good_hop(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-For", "6.6.6.6, <script>, 10.0.0.2");
    resolve(f, "127.0.0.1", false);
    assert_string_equal(request_client_addr(&f->req), "10.0.0.2");
}

static void
test_the_last_proto_wins_and_junk_is_ignored(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-Proto", "http, https");
    add(f, "X-Forwarded-Proto", "http");
    resolve(f, "127.0.0.1", true);
    assert_false(request_client_is_https(&f->req));
}

static void
test_unknown_proto_changes_nothing(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-Proto", "gopher");
    resolve(f, "127.0.0.1", true);
    assert_true(request_client_is_https(&f->req));
}

static void
test_only_the_last_hops_are_read(void **state)
{
    struct fixture *f = *state;
    GString *xff = g_string_new("6.6.6.6");

    /* one trusted hop more than the cap: the walk never reaches 6.6.6.6 */
    for (unsigned i = 0; i < LIM_HTTP_FORWARDED_HOPS; i++)
        g_string_append_printf(xff, ", 10.0.0.%u", i + 1);
    add(f, "X-Forwarded-For", xff->str);
    g_string_free(xff, TRUE);
    resolve(f, "127.0.0.1", false);
    assert_string_equal(request_client_addr(&f->req), "10.0.0.1");
}

static void
test_one_under_the_cap_reaches_the_client(void **state)
{
    struct fixture *f = *state;
    GString *xff = g_string_new("6.6.6.6");

    for (unsigned i = 0; i + 1 < LIM_HTTP_FORWARDED_HOPS; i++)
        g_string_append_printf(xff, ", 10.0.0.%u", i + 1);
    add(f, "X-Forwarded-For", xff->str);
    g_string_free(xff, TRUE);
    resolve(f, "127.0.0.1", false);
    assert_string_equal(request_client_addr(&f->req), "6.6.6.6");
}

static void
test_resolving_twice_changes_nothing(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-For", "10.0.0.5");
    resolve(f, "127.0.0.1", false);
    assert_string_equal(request_client_addr(&f->req), "10.0.0.5");
    request_client_resolve(&f->req, f->trusted, 2);
    assert_string_equal(request_client_addr(&f->req), "10.0.0.5");
    assert_string_equal(f->req.peer_addr, "127.0.0.1");
}

static void
test_no_trusted_proxies_means_no_one(void **state)
{
    struct fixture *f = *state;

    add(f, "X-Forwarded-For", "6.6.6.6");
    f->req.client_addr = "127.0.0.1";
    request_client_resolve(&f->req, NULL, 0);
    assert_string_equal(request_client_addr(&f->req), "127.0.0.1");
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_stranger_is_not_believed),
        T(test_a_stranger_cannot_turn_https_off_either),
        T(test_a_trusted_proxy_is_believed),
        T(test_the_chain_is_walked_from_the_right),
        T(test_repeated_headers_are_one_list),
        T(test_all_trusted_ends_at_the_leftmost),
        T(test_garbage_stops_the_walk_at_the_last_good_hop),
        T(test_the_last_proto_wins_and_junk_is_ignored),
        T(test_unknown_proto_changes_nothing),
        T(test_only_the_last_hops_are_read),
        T(test_one_under_the_cap_reaches_the_client),
        T(test_resolving_twice_changes_nothing),
        T(test_no_trusted_proxies_means_no_one),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
