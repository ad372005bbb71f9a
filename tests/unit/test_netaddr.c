/* test_netaddr.c - address and network parsing for trusted_proxies:
 * IPv4, IPv6, prefixes, mapped addresses, and everything refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/netaddr.h"

static bool
in(const char *net, const char *addr)
{
    struct netaddr n, a;

    assert_true(netaddr_parse(net, true, &n));
    assert_true(netaddr_parse(addr, false, &a));
    return netaddr_contains(&n, &a);
}

static void
test_addresses_and_networks_parse(void **state)
{
    struct netaddr a;
    char text[64];

    (void)state;
    assert_true(netaddr_parse("192.0.2.1", false, &a));
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.prefix, 32);
    assert_true(netaddr_parse("2001:db8::1", false, &a));
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.prefix, 128);
    assert_true(netaddr_parse("10.0.0.0/8", true, &a));
    assert_int_equal(a.prefix, 8);
    assert_true(netaddr_parse("0.0.0.0/0", true, &a));
    assert_true(netaddr_parse("fd00::/8", true, &a));
    /* host bits are cleared */
    assert_true(netaddr_parse("192.168.1.77/24", true, &a));
    netaddr_format(&a, text, sizeof(text));
    assert_string_equal(text, "192.168.1.0");
    /* canonical text */
    assert_true(netaddr_parse("2001:0DB8:0000::0001", false, &a));
    netaddr_format(&a, text, sizeof(text));
    assert_string_equal(text, "2001:db8::1");
}

static void
test_mapped_ipv6_becomes_ipv4(void **state)
{
    struct netaddr a;
    char text[64];

    (void)state;
    assert_true(netaddr_parse("::ffff:127.0.0.1", false, &a));
    assert_int_equal(a.family, AF_INET);
    netaddr_format(&a, text, sizeof(text));
    assert_string_equal(text, "127.0.0.1");
    assert_true(in("127.0.0.0/8", "::ffff:127.1.2.3"));
    assert_true(in("::ffff:10.0.0.0/104", "10.9.9.9"));
}

static void
test_containment_at_the_prefix_edges(void **state)
{
    (void)state;
    assert_true(in("10.0.0.0/8", "10.255.255.255"));
    assert_false(in("10.0.0.0/8", "11.0.0.0"));
    assert_true(in("127.0.0.64/26", "127.0.0.64"));
    assert_true(in("127.0.0.64/26", "127.0.0.127"));
    assert_false(in("127.0.0.64/26", "127.0.0.63"));
    assert_false(in("127.0.0.64/26", "127.0.0.128"));
    assert_true(in("127.0.0.1", "127.0.0.1"));
    assert_false(in("127.0.0.1", "127.0.0.2"));
    assert_true(in("0.0.0.0/0", "203.0.113.9"));
    assert_true(in("fd00::/8", "fdff::1"));
    assert_false(in("fd00::/8", "fe00::1"));
    assert_true(in("2001:db8::/33", "2001:db8:7fff::1"));
    assert_false(in("2001:db8::/33", "2001:db8:8000::1"));
    /* families never mix */
    assert_false(in("0.0.0.0/0", "::1"));
    assert_false(in("::/0", "127.0.0.1"));
}

static void
test_list_lookup(void **state)
{
    struct netaddr list[2];

    (void)state;
    assert_true(netaddr_parse("127.0.0.1", true, &list[0]));
    assert_true(netaddr_parse("10.0.0.0/8", true, &list[1]));
    assert_true(netaddr_list_contains(list, 2, "10.1.2.3"));
    assert_true(netaddr_list_contains(list, 2, "127.0.0.1"));
    assert_false(netaddr_list_contains(list, 2, "127.0.0.2"));
    assert_false(netaddr_list_contains(list, 2, "not an address"));
    assert_false(netaddr_list_contains(list, 2, ""));
    assert_false(netaddr_list_contains(NULL, 0, "127.0.0.1"));
}

static void
test_garbage_is_refused(void **state)
{
    static const char *const bad[] = {
        "",         " 127.0.0.1", "127.0.0.1 ", "127.0.0",   "127.0.0.1.1",
        "256.0.0.1", "1.2.3.4:80", "[::1]",     "::1%lo",    "10.0.0.0/",
        "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "::/129", "10.0.0.0/8/8",
        "localhost", "0x7f.0.0.1", "1.2.3.4/8x",
    };
    struct netaddr a = {.prefix = 99};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (netaddr_parse(bad[i], true, &a))
            fail_msg("\"%s\" parsed", bad[i]);
    }
    assert_int_equal(a.prefix, 99); /* untouched */
    /* a prefix where only an address may be */
    assert_false(netaddr_parse("10.0.0.0/8", false, &a));
    /* one byte over the text cap */
    {
        char longer[80];

        memset(longer, '1', sizeof(longer) - 1);
        longer[sizeof(longer) - 1] = '\0';
        assert_false(netaddr_parse(longer, true, &a));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses_and_networks_parse),
        cmocka_unit_test(test_mapped_ipv6_becomes_ipv4),
        cmocka_unit_test(test_containment_at_the_prefix_edges),
        cmocka_unit_test(test_list_lookup),
        cmocka_unit_test(test_garbage_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
