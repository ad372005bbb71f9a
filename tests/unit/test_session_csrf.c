/* test_session_csrf.c - CSRF tokens masked per response (BREACH): every
 * mask differs, every mask unmasks to the token, tampering is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "session/session.h"

static struct cfg test_cfg = {.session_idle = 600, .session_max = 3600};
static struct cfg_server test_server = {.name = "home", .host = "mail"};

static void
test_masks_differ_and_unmask_to_the_token(void **state)
{
    char tok[SESSION_CSRF_LEN + 1], m1[SESSION_CSRF_MASKED_LEN + 1],
        m2[SESSION_CSRF_MASKED_LEN + 1], back[SESSION_CSRF_LEN + 1];
    struct err err = {0};

    (void)state;
    assert_int_equal(session_token_new(tok, &err), 0);
    assert_true(session_csrf_mask(tok, m1));
    assert_true(session_csrf_mask(tok, m2));
    assert_int_equal(strlen(m1), SESSION_CSRF_MASKED_LEN);
    assert_string_not_equal(m1, m2);
    /* the token's text is nowhere in its masks */
    assert_null(strstr(m1, tok));
    assert_true(session_csrf_unmask(m1, back));
    assert_string_equal(back, tok);
    assert_true(session_csrf_unmask(m2, back));
    assert_string_equal(back, tok);
    /* a bare token passes through */
    assert_true(session_csrf_unmask(tok, back));
    assert_string_equal(back, tok);
}

static void
test_bad_shapes_are_refused(void **state)
{
    char tok[SESSION_CSRF_LEN + 1], m[SESSION_CSRF_MASKED_LEN + 2],
        back[SESSION_CSRF_LEN + 1];
    struct err err = {0};

    (void)state;
    assert_int_equal(session_token_new(tok, &err), 0);
    assert_true(session_csrf_mask(tok, m));
    assert_false(session_csrf_unmask(NULL, back));
    assert_false(session_csrf_unmask("", back));
    m[SESSION_CSRF_MASKED_LEN - 1] = '\0'; /* one short */
    assert_false(session_csrf_unmask(m, back));
    assert_true(session_csrf_mask(tok, m));
    strcat(m, "A"); /* one long */
    assert_false(session_csrf_unmask(m, back));
    assert_true(session_csrf_mask(tok, m));
    m[10] = '+'; /* not base64url */
    assert_false(session_csrf_unmask(m, back));
    /* masking takes only canonical tokens */
    assert_false(session_csrf_mask(NULL, m));
    assert_false(session_csrf_mask("short", m));
    tok[SESSION_CSRF_LEN - 1] = 'B'; /* unused low bits set */
    assert_false(session_csrf_mask(tok, m));
}

static void
test_the_session_accepts_masked_and_bare_but_not_tampered(void **state)
{
    struct session_table *t = session_table_new(&test_cfg);
    char m[SESSION_CSRF_MASKED_LEN + 1];
    struct err err = {0};
    char *cookie = NULL, *cookie2 = NULL;
    struct session *s = session_create(t, &test_server, "alice", "pw",
                                       &cookie, &err);
    struct session *other = session_create(t, &test_server, "bob", "pw2",
                                           &cookie2, &err);

    (void)state;
    assert_non_null(s);
    assert_non_null(other);
    assert_true(session_csrf_ok(s, session_csrf_token(s)));
    for (int i = 0; i < 50; i++) {
        assert_true(session_csrf_mask(session_csrf_token(s), m));
        assert_true(session_csrf_ok(s, m));
        assert_false(session_csrf_ok(other, m));
    }
    /* any changed character of the second half changes the token */
    assert_true(session_csrf_mask(session_csrf_token(s), m));
    for (size_t i = 43; i < SESSION_CSRF_MASKED_LEN - 1; i++) {
        char saved = m[i];

        m[i] = saved == 'A' ? 'B' : 'A';
        if (session_csrf_ok(s, m))
            fail_msg("changed at %zu and still accepted", i);
        m[i] = saved;
    }
    assert_true(session_csrf_ok(s, m));
    session_unref(&s);
    session_unref(&other);
    session_cookie_free(&cookie);
    session_cookie_free(&cookie2);
    session_table_free(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_differ_and_unmask_to_the_token),
        cmocka_unit_test(test_bad_shapes_are_refused),
        cmocka_unit_test(test_the_session_accepts_masked_and_bare_but_not_tampered),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
