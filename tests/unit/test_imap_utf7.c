/* test_imap_utf7.c - modified UTF-7 mailbox names (RFC 3501 §5.1.3): known
 * pairs both ways, every rejection, and seeded random round trips
 * (IMAP_TEST_SEED=N repeats a run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "imap/imap_utf7.h"

/* clang-format off */
static const struct {
    const char *utf8, *mutf7;
} pairs[] = {
    { "", "" },
    { "INBOX", "INBOX" },
    { "Re\xc3\xa7us", "Re&AOc-us" },                           /* Reçus */
    { "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8"
      "\xaa\x9e",
      "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },                     /* 台北 日本語 */
    { "&", "&-" },
    { "a&b&&", "a&-b&-&-" },
    { "\xc3\xa9&", "&AOk-&-" },                                /* é& */
    { "Entw\xc3\xbcrfe", "Entw&APw-rfe" },                     /* Entwürfe */
    { "\xe5\x8f\xb0\xe5\x8c\x97\xe5\xb8\x82", "&U,BTF14C-" },  /* 3 units */
    { "\xd0\x96" "1", "&BBY-1" },                              /* Ж1 */
    { "\xe2\x82\xac", "&IKw-" },                               /* € */
    { "\xf0\x9f\x98\x80", "&2D3eAA-" },                        /* 😀 */
    { "a\xf0\x9f\x98\x80" "b", "a&2D3eAA-b" },
    { "\xf4\x8f\xbf\xbf", "&2,,f,w-" },                        /* U+10FFFF */
    { "\t", "&AAk-" },                                         /* control */
    { "Sent - old", "Sent - old" },
};
/* clang-format on */

static void
test_known_names_encode_and_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(pairs); i++) {
        struct err err = {0};
        char *enc = imap_utf7_encode(pairs[i].utf8, &err);
        char *dec = imap_utf7_decode(pairs[i].mutf7, &err);

        assert_int_equal(err.kind, ERR_NONE);
        assert_non_null(enc);
        assert_non_null(dec);
        assert_string_equal(enc, pairs[i].mutf7);
        assert_string_equal(dec, pairs[i].utf8);
        g_free(enc);
        g_free(dec);
    }
}

/* clang-format off */
static const struct {
    const char *name, *mutf7, *msg;
} bad_decode[] = {
    { "printable ASCII in BASE64 ('a')", "&AGE-", "U+0061 encoded" },
    { "'&' in BASE64", "&ACY-", "U+0026 encoded" },
    { "U+0000", "&AAA-", "U+0000 encoded" },
    { "an unterminated shift", "&U,BTFw", "without a closing '-'" },
    { "a lone '&'", "&", "without a closing '-'" },
    { "a lone '&' before text", "a&b", "without a closing '-'" },
    { "a character outside the alphabet", "&U,B*TFw-", "0x2a at 4 is not" },
    { "standard BASE64's '/'", "&U/BTFw-", "0x2f at 2 is not BASE64" },
    { "BASE64 padding", "&AOc=-", "0x3d at 4 is not BASE64" },
    { "two characters (12 bits)", "&AO-", "not a whole number" },
    { "four characters (24 bits: an odd byte count)", "&AOcA-",
      "not a whole number" },
    { "non-zero padding bits", "&AOd-", "not a whole number" },
    { "an unpaired high surrogate", "&2D0-", "high surrogate at the end" },
    { "a high surrogate before a non-surrogate", "&2D0A6Q-",
      "unpaired high surrogate" },
    { "two high surrogates", "&2D3YPd4A-", "unpaired high surrogate" },
    { "an unpaired low surrogate", "&3gA-", "unpaired low surrogate" },
    { "a shift right after another", "&AOk-&AOk-", "right after another" },
    { "raw 8-bit bytes", "Re\xc3\xa7us", "byte 0xc3 at 2 outside" },
    { "a raw control byte", "a\tb", "byte 0x09 at 1 outside" },
    { "a raw DEL", "a\x7f", "byte 0x7f at 1 outside" },
};
/* clang-format on */

static void
test_invalid_modified_utf7_is_a_protocol_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(bad_decode); i++) {
        struct err err = {0};
        char *dec = imap_utf7_decode(bad_decode[i].mutf7, &err);

        if (dec != NULL || err.kind != ERR_PROTO ||
            strstr(err.msg, bad_decode[i].msg) == NULL)
            fail_msg("%s: \"%s\" gave %s, %s '%s'", bad_decode[i].name,
                     bad_decode[i].mutf7, dec != NULL ? dec : "NULL",
                     err_kind_name(err.kind), err.msg);
    }
}

static void
test_invalid_utf8_is_an_input_error(void **state)
{
    static const char *const bad[] = {
        "\xff",             /* never in UTF-8 */
        "a\xc3",            /* truncated */
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* a surrogate in UTF-8 */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "ok\x80ok",         /* a stray continuation byte */
    };

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
        struct err err = {0};

        assert_null(imap_utf7_encode(bad[i], &err));
        assert_int_equal(err.kind, ERR_INPUT);
    }
}

/* Random names of ASCII (with '&' and '-' often), BMP and astral
 * characters: decode(encode(x)) == x, and encode(decode(y)) == y. */
static void
test_random_names_round_trip(void **state)
{
    static const gunichar pool[] = {
        'a',  'Z',  '&',   '-',    ' ',    '~',    '/',     0x01,
        0x7f, 0xe7, 0x416, 0x20ac, 0x53f0, 0xfffd, 0x1f600, 0x10ffff};
    const char *env = getenv("IMAP_TEST_SEED");
    guint32 seed = env != NULL ? (guint32)strtoul(env, NULL, 10)
                               : (guint32)g_get_real_time();
    GRand *rnd = g_rand_new_with_seed(seed);

    (void)state;
    print_message("# random names: IMAP_TEST_SEED=%u\n", seed);
    for (int round = 0; round < 2000; round++) {
        GString *name = g_string_new(NULL);
        int len = g_rand_int_range(rnd, 0, 12);
        struct err err = {0};
        char *enc, *dec, *again;

        for (int k = 0; k < len; k++) {
            gunichar c = g_rand_boolean(rnd)
                             ? pool[g_rand_int_range(rnd, 0, N_ELEMENTS(pool))]
                             : (gunichar)g_rand_int_range(rnd, 1, 0xd800);
            g_string_append_unichar(name, c);
        }
        enc = imap_utf7_encode(name->str, &err);
        assert_non_null(enc);
        for (const char *s = enc; *s != '\0'; s++)
            assert_true(*s >= 0x20 && *s <= 0x7e);
        dec = imap_utf7_decode(enc, &err);
        if (dec == NULL)
            fail_msg("seed %u: \"%s\" does not decode: %s", seed, enc, err.msg);
        assert_string_equal(dec, name->str);
        again = imap_utf7_encode(dec, &err);
        assert_string_equal(again, enc);
        g_free(enc);
        g_free(dec);
        g_free(again);
        g_string_free(name, TRUE);
    }
    g_rand_free(rnd);
}

int
main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_names_encode_and_decode),
        cmocka_unit_test(test_invalid_modified_utf7_is_a_protocol_error),
        cmocka_unit_test(test_invalid_utf8_is_an_input_error),
        cmocka_unit_test(test_random_names_round_trip),
    };

    return cmocka_run_group_tests_name("imap_utf7", tests, NULL, NULL);
}
