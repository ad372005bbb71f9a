/* test_msg_memo.c - what a store remembers of the last message: the
 * structure deep-copied, small parts by section, and nothing of another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/limits.h"
#include "store/msg_memo.h"

static void
fill_message(struct arena *a, struct store_message *m)
{
    struct mime_address *from = arena_alloc(a, sizeof(*from));
    struct mime_envelope *inner = arena_alloc(a, sizeof(*inner));

    memset(m, 0, sizeof(*m));
    m->folder = arena_strdup(a, "INBOX");
    m->id = arena_strdup(a, "42");
    m->env.subject = arena_strdup(a, "Quarterly report");
    from->name = arena_strdup(a, "Carol");
    from->email = arena_strdup(a, "carol@example.org");
    m->env.from = from;
    m->env.n_from = 1;
    inner->subject = arena_strdup(a, "forwarded");
    m->n_parts = 2;
    m->parts = arena_alloc(a, 2 * sizeof(*m->parts));
    m->parts[0].section = arena_strdup(a, "1");
    m->parts[0].type = arena_strdup(a, "text");
    m->parts[0].subtype = arena_strdup(a, "html");
    m->parts[0].parent = -1;
    m->parts[1].section = arena_strdup(a, "2");
    m->parts[1].type = arena_strdup(a, "message");
    m->parts[1].subtype = arena_strdup(a, "rfc822");
    m->parts[1].envelope = inner;
    m->headers = arena_strdup(a, "Subject: Quarterly report\r\n\r\n");
    m->headers_len = strlen(m->headers);
    m->size = 1234;
}

static void
test_the_structure_outlives_the_arena_it_came_from(void **state)
{
    struct msg_memo *memo = msg_memo_new();
    struct arena *src = arena_new(0), *dst = arena_new(0);
    struct store_message m, got;

    (void)state;
    fill_message(src, &m);
    msg_memo_set_message(memo, "INBOX", 7, "42", &m);
    arena_free(&src); /* the request that read it is over */
    assert_true(msg_memo_get_message(memo, "INBOX", 7, "42", dst, &got));
    assert_string_equal(got.env.subject, "Quarterly report");
    assert_string_equal(got.env.from[0].email, "carol@example.org");
    assert_int_equal(got.n_parts, 2);
    assert_string_equal(got.parts[0].subtype, "html");
    assert_string_equal(got.parts[1].envelope->subject, "forwarded");
    assert_null(got.parts[0].envelope);
    assert_int_equal(got.headers_len, strlen("Subject: Quarterly report\r\n\r\n"));
    assert_memory_equal(got.headers, "Subject: Quarterly report\r\n\r\n",
                        got.headers_len);
    assert_int_equal(got.size, 1234);
    arena_free(&dst);
    msg_memo_free(&memo);
}

static void
test_another_folder_validity_or_id_is_not_remembered(void **state)
{
    struct msg_memo *memo = msg_memo_new();
    struct arena *a = arena_new(0);
    struct store_message m, got;

    (void)state;
    fill_message(a, &m);
    msg_memo_set_message(memo, "INBOX", 7, "42", &m);
    assert_false(msg_memo_get_message(memo, "Sent", 7, "42", a, &got));
    /* a new UIDVALIDITY: UID 42 may be another message now */
    assert_false(msg_memo_get_message(memo, "INBOX", 8, "42", a, &got));
    assert_false(msg_memo_get_message(memo, "INBOX", 7, "43", a, &got));
    assert_true(msg_memo_get_message(memo, "INBOX", 7, "42", a, &got));
    arena_free(&a);
    msg_memo_free(&memo);
}

static void
test_parts_of_the_message_and_only_of_it(void **state)
{
    struct msg_memo *memo = msg_memo_new();
    GBytes *b;
    gsize len;

    (void)state;
    msg_memo_add_part(memo, "INBOX", 7, "42", "1", "<p>hi</p>", 9);
    msg_memo_add_part(memo, "INBOX", 7, "42", NULL, "whole", 5);
    b = msg_memo_part(memo, "INBOX", 7, "42", "1");
    assert_non_null(b);
    assert_memory_equal(g_bytes_get_data(b, &len), "<p>hi</p>", 9);
    assert_int_equal(len, 9);
    g_bytes_unref(b);
    b = msg_memo_part(memo, "INBOX", 7, "42", NULL);
    assert_non_null(b);
    assert_int_equal(g_bytes_get_size(b), 5);
    g_bytes_unref(b);
    assert_null(msg_memo_part(memo, "INBOX", 7, "42", "2"));
    assert_null(msg_memo_part(memo, "INBOX", 7, "41", "1"));
    /* a part of another message: the first one is forgotten */
    msg_memo_add_part(memo, "INBOX", 7, "41", "1", "x", 1);
    assert_null(msg_memo_part(memo, "INBOX", 7, "42", "1"));
    b = msg_memo_part(memo, "INBOX", 7, "41", "1");
    assert_non_null(b);
    g_bytes_unref(b);
    msg_memo_clear(memo);
    assert_null(msg_memo_part(memo, "INBOX", 7, "41", "1"));
    msg_memo_free(&memo);
}

static void
test_parts_stop_at_the_byte_budget(void **state)
{
    struct msg_memo *memo = msg_memo_new();
    size_t half = LIM_IMAP_MEMO_BYTES / 2 + 1;
    char *big = g_malloc0(half);
    GBytes *b;

    (void)state;
    msg_memo_add_part(memo, "INBOX", 7, "42", "1", big, half);
    msg_memo_add_part(memo, "INBOX", 7, "42", "2", big, half); /* over */
    msg_memo_add_part(memo, "INBOX", 7, "42", "3", "small", 5);
    b = msg_memo_part(memo, "INBOX", 7, "42", "1");
    assert_non_null(b);
    g_bytes_unref(b);
    assert_null(msg_memo_part(memo, "INBOX", 7, "42", "2"));
    b = msg_memo_part(memo, "INBOX", 7, "42", "3");
    assert_non_null(b);
    g_bytes_unref(b);
    g_free(big);
    msg_memo_free(&memo);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_structure_outlives_the_arena_it_came_from),
        cmocka_unit_test(test_another_folder_validity_or_id_is_not_remembered),
        cmocka_unit_test(test_parts_of_the_message_and_only_of_it),
        cmocka_unit_test(test_parts_stop_at_the_byte_budget),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
