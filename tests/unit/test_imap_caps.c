/* test_imap_caps.c - capability names to bits: case, unknown names, lists
 * from a greeting's response code, and the description for logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_caps.h"

static void
test_names_map_to_bits_whatever_the_case(void **state)
{
    (void)state;
    assert_int_equal(imap_caps_bit("IMAP4rev1", 9), IMAP_CAP_IMAP4REV1);
    assert_int_equal(imap_caps_bit("auth=plain", 10), IMAP_CAP_AUTH_PLAIN);
    assert_int_equal(imap_caps_bit("LITERAL+", 8), IMAP_CAP_LITERAL_PLUS);
    assert_int_equal(imap_caps_bit("UTF8=ACCEPT", 11), IMAP_CAP_UTF8_ACCEPT);
    assert_int_equal(imap_caps_bit("AUTH=PLAINX", 11), 0);
    assert_int_equal(imap_caps_bit("AUTH=PLAIN", 9), 0); /* a prefix only */
    assert_int_equal(imap_caps_bit("XYZZY", 5), 0);
}

static void
test_dovecot_greeting_list_is_parsed(void **state)
{
    const char *text = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
                       "LITERAL+ STARTTLS AUTH=PLAIN";
    uint32_t caps = imap_caps_parse_text(text);

    (void)state;
    assert_int_equal(caps, IMAP_CAP_IMAP4REV1 | IMAP_CAP_SASL_IR |
                               IMAP_CAP_ENABLE | IMAP_CAP_IDLE |
                               IMAP_CAP_LITERAL_PLUS | IMAP_CAP_STARTTLS |
                               IMAP_CAP_AUTH_PLAIN | IMAP_CAP_ID);
    assert_int_equal(imap_caps_parse_text(""), 0);
    assert_int_equal(imap_caps_parse_text("   IMAP4rev1  "),
                     IMAP_CAP_IMAP4REV1);
}

static void
test_description_lists_names_and_never_overflows(void **state)
{
    char buf[64], tiny[8];

    (void)state;
    assert_string_equal(imap_caps_describe(IMAP_CAP_MOVE | IMAP_CAP_SORT,
                                           buf, sizeof(buf)),
                        "SORT MOVE");
    imap_caps_describe(0xffffffffu, tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_map_to_bits_whatever_the_case),
        cmocka_unit_test(test_dovecot_greeting_list_is_parsed),
        cmocka_unit_test(test_description_lists_names_and_never_overflows),
    };

    return cmocka_run_group_tests_name("imap_caps", tests, NULL, NULL);
}
