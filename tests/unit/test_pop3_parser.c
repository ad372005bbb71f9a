/* test_pop3_parser.c - POP3 status lines: every case fed whole and split
 * in two at every byte must give the same reply or the same error kind;
 * the line cap is crossed by one byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/limits.h"
#include "pop3/pop3_parser.h"

/* Feeds wire (one or more lines) in two chunks cut at split; dumps each
 * reply as "STATUS|code|text\n" into out. Returns the kind of the error
 * (ERR_NONE when all went well). */
static enum err_kind
feed_split(struct pop3_parser *p, const char *wire, size_t split,
           GString *out)
{
    size_t len = strlen(wire);
    size_t cuts[2] = {split, len};
    size_t off = 0;
    static const char *const names[] = {"OK", "ERR", "CONT"};

    pop3_parser_reset(p);
    g_string_truncate(out, 0);
    for (size_t k = 0; k < 2; k++) {
        while (off < cuts[k]) {
            struct pop3_reply r;
            struct err err = {0};
            size_t used = 0;
            enum pop3_feed_result res;

            res = pop3_parser_feed(p, (const unsigned char *)wire + off,
                                   cuts[k] - off, &used, &r, &err);
            assert_true(used <= cuts[k] - off);
            if (res == POP3_FEED_ERROR) {
                assert_int_not_equal(err.kind, ERR_NONE);
                return err.kind;
            }
            if (res == POP3_FEED_MORE)
                assert_int_equal(used, cuts[k] - off);
            else
                g_string_append_printf(out, "%s|%s|%s\n", names[r.status],
                                       r.code, r.text);
            off += used;
        }
    }
    return ERR_NONE;
}

struct pcase {
    const char *wire;
    const char *want;      /* dump when ok */
    enum err_kind kind;    /* ERR_NONE: must parse */
};

static const struct pcase cases[] = {
    {"+OK\r\n", "OK||\n", ERR_NONE},
    {"+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n",
     "OK||POP3 ready <1896.697170952@dbc.mtview.ca.us>\n", ERR_NONE},
    {"-ERR [AUTH] Authentication failed.\r\n",
     "ERR|AUTH|Authentication failed.\n", ERR_NONE},
    {"-ERR [SYS/TEMP] try later\r\n", "ERR|SYS/TEMP|try later\n", ERR_NONE},
    {"-ERR [IN-USE] locked\r\n", "ERR|IN-USE|locked\n", ERR_NONE},
    {"-ERR [IN-USE]\r\n", "ERR|IN-USE|\n", ERR_NONE},
    {"-ERR [not a code] text\r\n", "ERR||[not a code] text\n", ERR_NONE},
    {"-ERR [SYS/] x\r\n", "ERR||[SYS/] x\n", ERR_NONE},
    {"-ERR [AUTH x\r\n", "ERR||[AUTH x\n", ERR_NONE},
    {"-ERR\r\n", "ERR||\n", ERR_NONE},
    {"+ \r\n", "CONT||\n", ERR_NONE},
    {"+\r\n", "CONT||\n", ERR_NONE},
    {"+ PDEyMzQ+\r\n", "CONT||PDEyMzQ+\n", ERR_NONE},
    {"+OK 2 320\n", "OK||2 320\n", ERR_NONE},           /* bare LF */
    {"+ok lower\r\n", "OK||lower\n", ERR_NONE},
    {"+OK a\r\n-ERR b\r\n", "OK||a\nERR||b\n", ERR_NONE},
    {"+OKAY\r\n", NULL, ERR_PROTO},
    {"-ERROR\r\n", NULL, ERR_PROTO},
    {"* OK imap\r\n", NULL, ERR_PROTO},
    {"\r\n", NULL, ERR_PROTO},
    {"+OK a\rb\r\n", NULL, ERR_PROTO},
    {"+-\r\n", NULL, ERR_PROTO},
};

static void
test_status_lines_split_at_every_byte(void **state)
{
    struct pop3_parser *p = pop3_parser_new(0);
    GString *out = g_string_new(NULL);

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const struct pcase *c = &cases[i];

        for (size_t split = 0; split <= strlen(c->wire); split++) {
            enum err_kind k = feed_split(p, c->wire, split, out);

            if (k != c->kind)
                fail_msg("case %zu split %zu: kind %d, want %d", i, split,
                         (int)k, (int)c->kind);
            if (c->kind == ERR_NONE)
                assert_string_equal(out->str, c->want);
        }
    }
    g_string_free(out, TRUE);
    pop3_parser_free(&p);
    assert_null(p);
}

static void
test_nul_in_line_is_a_protocol_error(void **state)
{
    static const unsigned char wire[] = "+OK a\0b\r\n";
    struct pop3_parser *p = pop3_parser_new(0);
    struct pop3_reply r;
    struct err err = {0};
    size_t used;

    (void)state;
    assert_int_equal(pop3_parser_feed(p, wire, sizeof(wire) - 1, &used, &r,
                                      &err),
                     POP3_FEED_ERROR);
    assert_int_equal(err.kind, ERR_PROTO);
    pop3_parser_free(&p);
}

static void
test_leftover_bytes_are_not_consumed(void **state)
{
    static const char wire[] = "+OK 1 octets\r\nbody\r\n.\r\n";
    struct pop3_parser *p = pop3_parser_new(0);
    struct pop3_reply r;
    struct err err = {0};
    size_t used;

    (void)state;
    assert_int_equal(pop3_parser_feed(p, (const unsigned char *)wire,
                                      strlen(wire), &used, &r, &err),
                     POP3_FEED_LINE);
    assert_int_equal(used, strlen("+OK 1 octets\r\n"));
    assert_string_equal(r.text, "1 octets");
    pop3_parser_free(&p);
}

static void
test_line_cap_crossed_by_one(void **state)
{
    struct pop3_parser *p = pop3_parser_new(0);
    GString *out = g_string_new(NULL);
    GString *line = g_string_new("+OK ");

    (void)state;
    /* exactly LIM_POP3_LINE bytes with CRLF: accepted */
    while (line->len < LIM_POP3_LINE - 2)
        g_string_append_c(line, 'x');
    g_string_append(line, "\r\n");
    assert_int_equal(line->len, LIM_POP3_LINE);
    for (size_t split = 0; split <= line->len; split += 97)
        assert_int_equal(feed_split(p, line->str, split, out), ERR_NONE);
    /* one more byte: ERR_LIMIT wherever it is cut */
    g_string_insert_c(line, 4, 'y');
    for (size_t split = 0; split <= line->len; split += 97)
        assert_int_equal(feed_split(p, line->str, split, out), ERR_LIMIT);
    assert_int_equal(feed_split(p, line->str, line->len - 1, out),
                     ERR_LIMIT);
    assert_int_equal(feed_split(p, line->str, line->len, out), ERR_LIMIT);
    g_string_free(line, TRUE);
    g_string_free(out, TRUE);
    pop3_parser_free(&p);
}

static void
test_small_cap_and_feed_after_error(void **state)
{
    struct pop3_parser *p = pop3_parser_new(6); /* "+OK a" CRLF = 7 */
    struct pop3_reply r;
    struct err err = {0};
    size_t used;
    static const unsigned char ok[] = "+OK\r\n", big[] = "+OK a\r\n";

    (void)state;
    assert_int_equal(pop3_parser_feed(p, ok, 5, &used, &r, &err),
                     POP3_FEED_LINE);
    assert_int_equal(pop3_parser_feed(p, big, 7, &used, &r, &err),
                     POP3_FEED_ERROR);
    assert_int_equal(err.kind, ERR_LIMIT);
    err_clear(&err);
    assert_int_equal(pop3_parser_feed(p, ok, 5, &used, &r, &err),
                     POP3_FEED_ERROR);
    assert_int_equal(err.kind, ERR_INTERNAL);
    err_clear(&err);
    pop3_parser_reset(p);
    assert_int_equal(pop3_parser_feed(p, ok, 5, &used, &r, &err),
                     POP3_FEED_LINE);
    pop3_parser_free(&p);
    pop3_parser_free(&p); /* NULL-safe */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_lines_split_at_every_byte),
        cmocka_unit_test(test_nul_in_line_is_a_protocol_error),
        cmocka_unit_test(test_leftover_bytes_are_not_consumed),
        cmocka_unit_test(test_line_cap_crossed_by_one),
        cmocka_unit_test(test_small_cap_and_feed_after_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
