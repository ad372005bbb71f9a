/* test_err.c - error records: the HTTP status of each kind, caps crossed
 * by a server becoming protocol errors, and redaction of secrets that a
 * server repeats back (whole, several times, cut short at the end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"

static void
test_statuses_of_the_kinds(void **state)
{
    struct err e = {0};

    (void)state;
    err_set(&e, ERR_THROTTLED, "wait");
    assert_int_equal(err_http_status(&e), 429);
    assert_string_equal(err_kind_name(e.kind), "throttled");
    err_clear(&e);
    err_set(&e, ERR_LIMIT, "too big");
    assert_int_equal(err_http_status(&e), 413);
}

static void
test_a_cap_crossed_by_a_server_is_a_protocol_error(void **state)
{
    struct err e = {0};

    (void)state;
    err_set(&e, ERR_LIMIT, "line over 8192 bytes");
    err_peer_limit(&e, "mail.example:143");
    assert_int_equal(e.kind, ERR_PROTO);
    assert_int_equal(err_http_status(&e), 502);
    assert_string_equal(e.msg,
                        "mail.example:143 sent too much: line over 8192 bytes");
    err_clear(&e);
    err_set(&e, ERR_TIMEOUT, "read timed out");
    err_peer_limit(&e, "x");
    assert_int_equal(e.kind, ERR_TIMEOUT); /* other kinds untouched */
    assert_string_equal(e.msg, "read timed out");
}

static void
test_secrets_are_redacted_whole_repeated_and_cut(void **state)
{
    static const char pw[] = "hunter2-secret";
    struct err e = {0};

    (void)state;
    err_set(&e, ERR_REFUSED, "NO you said alice %s, really %s!", pw, pw);
    err_redact(&e, pw, strlen(pw));
    assert_string_equal(e.msg,
                        "NO you said alice (secret), really (secret)!");
    /* a message cut short in the middle of the secret */
    err_clear(&e);
    err_set(&e, ERR_REFUSED, "NO you said hunter2-se");
    err_redact(&e, pw, strlen(pw));
    assert_string_equal(e.msg, "NO you said (secret)");
    /* but short look-alikes at the end stay (3 bytes say nothing) */
    err_clear(&e);
    err_set(&e, ERR_REFUSED, "NO hun");
    err_redact(&e, pw, strlen(pw));
    assert_string_equal(e.msg, "NO hun");
    err_redact(&e, NULL, 0); /* harmless */
    err_redact(NULL, pw, strlen(pw));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statuses_of_the_kinds),
        cmocka_unit_test(test_a_cap_crossed_by_a_server_is_a_protocol_error),
        cmocka_unit_test(test_secrets_are_redacted_whole_repeated_and_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
