/* test_smtp_reply.c - the SMTP reply parser: every case is fed whole, split
 * in two at every byte, byte by byte and in seeded random chunks
 * (SMTP_TEST_SEED=N repeats a run), and must give the same replies or the
 * same error every time. Also both caps at and over by one, the feed
 * contract, and reading EHLO keywords (smtp_caps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "smtp/smtp_caps.h"
#include "smtp/smtp_reply.h"

/* ---- the driver ---- */

struct reply_run {
    int n; /* replies, or -1 on error */
    struct err err;
    GString *dump;
};

/* "250 [2.0.0] "text" {line0|line1}\n" per reply. */
static void
reply_dump(const struct smtp_reply *r, GString *out)
{
    g_string_append_printf(out, "%u [%s] \"%s\" {", r->code, r->enhanced,
                           r->text);
    for (size_t i = 0; i < r->n_lines; i++)
        g_string_append_printf(out, "%s%s", i > 0 ? "|" : "", r->lines[i]);
    g_string_append(out, "}\n");
}

/* Feeds wire[0..len) to a fresh parser in chunks ending at cuts[] (then at
 * len), checking the feed contract at each call. */
static void
reply_run(const char *wire, size_t len, const size_t *cuts, size_t ncuts,
          struct reply_run *run)
{
    struct smtp_reply_parser *p = smtp_reply_parser_new();
    const unsigned char *w = (const unsigned char *)wire;
    size_t start = 0;

    run->n = 0;
    memset(&run->err, 0, sizeof(run->err));
    g_string_truncate(run->dump, 0);
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;

        while (start < end) {
            size_t used = (size_t)-1;
            const struct smtp_reply *r = NULL;
            enum smtp_feed_result fr;

            fr = smtp_reply_feed(p, w + start, end - start, &used, &r,
                                 &run->err);
            if (fr == SMTP_FEED_ERROR) {
                assert_int_not_equal(run->err.kind, ERR_NONE);
                run->n = -1;
                smtp_reply_parser_free(&p);
                return;
            }
            assert_true(used <= end - start);
            if (fr == SMTP_FEED_MORE) {
                assert_int_equal(used, end - start);
            } else {
                assert_int_equal(fr, SMTP_FEED_REPLY);
                assert_non_null(r);
                assert_true(used > 0);
                reply_dump(r, run->dump);
                run->n++;
            }
            start += used;
        }
    }
    smtp_reply_parser_free(&p);
    assert_null(p);
}

static unsigned
reply_seed(void)
{
    static unsigned seed;

    if (seed == 0) {
        const char *env = getenv("SMTP_TEST_SEED");

        seed = env != NULL ? (unsigned)strtoul(env, NULL, 10)
                           : (unsigned)g_get_real_time();
        if (seed == 0)
            seed = 1;
        print_message("# random chunks: SMTP_TEST_SEED=%u\n", seed);
    }
    return seed;
}

static void
reply_same(const char *what, const char *mode, const struct reply_run *ref,
           const struct reply_run *got)
{
    if (got->n != ref->n || strcmp(got->dump->str, ref->dump->str) != 0 ||
        (ref->n < 0 && (got->err.kind != ref->err.kind ||
                        strcmp(got->err.msg, ref->err.msg) != 0)))
        fail_msg("%s: fed %s: got %d replies [%s] err %s '%s'; fed whole: "
                 "%d [%s] err %s '%s'",
                 what, mode, got->n, got->dump->str,
                 err_kind_name(got->err.kind), got->err.msg, ref->n,
                 ref->dump->str, err_kind_name(ref->err.kind), ref->err.msg);
}

/* Feeds wire whole, split in two at every byte, byte by byte and in random
 * chunks; every way must agree with the whole feed, left in *ref. */
static void
reply_all_ways(const char *what, const char *wire, size_t len,
               struct reply_run *ref)
{
    struct reply_run got = {.dump = g_string_new(NULL)};
    size_t *cuts = g_new0(size_t, len + 1);
    GRand *rnd = g_rand_new_with_seed(reply_seed());
    char mode[64];

    reply_run(wire, len, NULL, 0, ref);
    for (size_t k = 0; k <= len; k++) {
        cuts[0] = k;
        reply_run(wire, len, cuts, 1, &got);
        snprintf(mode, sizeof(mode), "split at byte %zu", k);
        reply_same(what, mode, ref, &got);
    }
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    reply_run(wire, len, cuts, len, &got);
    reply_same(what, "byte by byte", ref, &got);
    for (int round = 0; round < 20; round++) {
        size_t n = 0, at = 0;

        while (at < len) {
            at += (size_t)g_rand_int_range(rnd, 1, 17);
            if (at < len)
                cuts[n++] = at;
        }
        reply_run(wire, len, cuts, n, &got);
        reply_same(what, "in random chunks", ref, &got);
    }
    g_rand_free(rnd);
    g_free(cuts);
    g_string_free(got.dump, TRUE);
}

/* ---- table-driven cases ---- */

struct ok_case {
    const char *name;
    const char *wire;
    int n;
    const char *dump;
};

static const struct ok_case ok_cases[] = {
    {"a one-line greeting", "220 mail.example ESMTP Postfix\r\n", 1,
     "220 [] \"mail.example ESMTP Postfix\" {mail.example ESMTP Postfix}\n"},
    {"a multi-line EHLO reply keeps every line",
     "250-mail.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
     "250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
     1,
     "250 [] \"mail.example PIPELINING SIZE 10240000 AUTH PLAIN LOGIN "
     "8BITMIME\" {mail.example|PIPELINING|SIZE 10240000|AUTH PLAIN LOGIN|"
     "8BITMIME}\n"},
    {"an enhanced status code is taken apart",
     "550 5.1.1 <bob@x>: Recipient address rejected: User unknown\r\n", 1,
     "550 [5.1.1] \"<bob@x>: Recipient address rejected: User unknown\" "
     "{5.1.1 <bob@x>: Recipient address rejected: User unknown}\n"},
    {"an enhanced code on every line is removed from the joined text",
     "550-5.1.1 The account you tried\r\n550-5.1.1 to reach does\r\n"
     "550 5.1.1 not exist.\r\n",
     1,
     "550 [5.1.1] \"The account you tried to reach does not exist.\" "
     "{5.1.1 The account you tried|5.1.1 to reach does|"
     "5.1.1 not exist.}\n"},
    {"a reply with only a code", "250\r\n", 1, "250 [] \"\" {}\n"},
    {"a reply with a code and a space", "354 \r\n", 1, "354 [] \"\" {}\n"},
    {"an enhanced code alone", "250 2.1.5\r\n", 1,
     "250 [2.1.5] \"\" {2.1.5}\n"},
    {"an enhanced code of another class is text", "250 5.0.0 odd\r\n", 1,
     "250 [] \"5.0.0 odd\" {5.0.0 odd}\n"},
    {"an enhanced code must be followed by a space", "250 2.0.0Ok\r\n", 1,
     "250 [] \"2.0.0Ok\" {2.0.0Ok}\n"},
    {"an enhanced code has at most three digits a part", "550 5.1234.1 x\r\n",
     1, "550 [] \"5.1234.1 x\" {5.1234.1 x}\n"},
    {"a 3xx reply has no enhanced code", "334 VXNlcm5hbWU6\r\n", 1,
     "334 [] \"VXNlcm5hbWU6\" {VXNlcm5hbWU6}\n"},
    {"a bare LF ends a line", "250-a\n250 b\n", 1, "250 [] \"a b\" {a|b}\n"},
    {"empty continuation lines add nothing to the text", "250-\r\n250 last\r\n",
     1, "250 [] \"last\" {|last}\n"},
    {"two replies in one buffer", "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n", 2,
     "250 [2.0.0] \"Ok\" {2.0.0 Ok}\n221 [2.0.0] \"Bye\" {2.0.0 Bye}\n"},
    {"a tab is text", "250 a\tb\r\n", 1, "250 [] \"a\tb\" {a\tb}\n"},
    {"invalid UTF-8 in the text is replaced", "554 bad \xff\xfe bytes\r\n", 1,
     "554 [] \"bad \xef\xbf\xbd\xef\xbf\xbd bytes\" {bad \xff\xfe bytes}\n"},
    {"UTF-8 text is kept", "250 gr\xc3\xbc\xc3\x9f dich\r\n", 1,
     "250 [] \"gr\xc3\xbc\xc3\x9f dich\" {gr\xc3\xbc\xc3\x9f dich}\n"},
    {"codes from 200 to 559", "200 a\r\n559 b\r\n", 2,
     "200 [] \"a\" {a}\n559 [] \"b\" {b}\n"},
};

struct bad_case {
    const char *name;
    const char *wire;
    enum err_kind kind;
    const char *msg;
    size_t len; /* of wire; 0: strlen(wire) */
};

static const struct bad_case bad_cases[] = {
    {"a letter in the code", "25x ok\r\n", ERR_PROTO,
     "SMTP reply line 1: not a reply code", 0},
    {"a code below 200", "150 ok\r\n", ERR_PROTO,
     "SMTP reply line 1: not a reply code", 0},
    {"a code above 559", "260 ok\r\n", ERR_PROTO,
     "SMTP reply line 1: not a reply code", 0},
    {"a four-digit code", "2500 ok\r\n", ERR_PROTO,
     "SMTP reply line 1: no '-' or ' ' after the code", 0},
    {"another separator", "250_ok\r\n", ERR_PROTO,
     "SMTP reply line 1: no '-' or ' ' after the code", 0},
    {"an empty line", "\r\n", ERR_PROTO, "SMTP reply line 1: not a reply code",
     0},
    {"an HTTP server", "HTTP/1.1 400 Bad Request\r\n", ERR_PROTO,
     "SMTP reply line 1: not a reply code", 0},
    {"another code inside a multi-line reply",
     "250-mail.example\r\n250-SIZE 1\r\n251 x\r\n", ERR_PROTO,
     "SMTP reply line 3: code 251 in a reply that began with 250", 0},
    {"a CR without LF", "250 a\rb\r\n", ERR_PROTO,
     "SMTP reply line 1: CR not followed by LF", 0},
    {"a CR without LF after the code", "250\rx", ERR_PROTO,
     "SMTP reply line 1: CR not followed by LF", 0},
    {"a control character in the text", "250 a\x01z\r\n", ERR_PROTO,
     "SMTP reply line 1: control character in the text", 0},
    {"a NUL in the text", "250 a\0z\r\n", ERR_PROTO,
     "SMTP reply line 1: control character in the text", 9},
    {"DEL in the text", "250 a\x7fz\r\n", ERR_PROTO,
     "SMTP reply line 1: control character in the text", 0},
    {"garbage after a good reply", "250 ok\r\nok\r\n", ERR_PROTO,
     "SMTP reply line 1: not a reply code", 0},
};

static void
test_reply_parses_the_same_fed_any_way(void **state)
{
    const struct ok_case *c = *state;
    struct reply_run ref = {.dump = g_string_new(NULL)};

    reply_all_ways(c->name, c->wire, strlen(c->wire), &ref);
    if (ref.n < 0)
        fail_msg("%s: %s '%s'", c->name, err_kind_name(ref.err.kind),
                 ref.err.msg);
    assert_int_equal(ref.n, c->n);
    assert_string_equal(ref.dump->str, c->dump);
    g_string_free(ref.dump, TRUE);
}

static void
test_bad_reply_fails_the_same_fed_any_way(void **state)
{
    const struct bad_case *c = *state;
    struct reply_run ref = {.dump = g_string_new(NULL)};

    reply_all_ways(c->name, c->wire, c->len > 0 ? c->len : strlen(c->wire),
                   &ref);
    assert_int_equal(ref.n, -1);
    assert_int_equal(ref.err.kind, c->kind);
    assert_string_equal(ref.err.msg, c->msg);
    g_string_free(ref.dump, TRUE);
}

/* ---- limits ---- */

/* A reply whose one line has exactly len bytes, CR LF included. */
static char *
line_of(size_t len)
{
    GString *s = g_string_new("250 ");

    while (s->len < len - 2)
        g_string_append_c(s, 'x');
    g_string_append(s, "\r\n");
    return g_string_free(s, FALSE);
}

static void
test_a_line_at_the_cap_parses_and_one_byte_more_fails(void **state)
{
    struct reply_run ref = {.dump = g_string_new(NULL)};
    char *at = line_of(SMTP_REPLY_LINE_MAX);
    char *over = line_of(SMTP_REPLY_LINE_MAX + 1);

    (void)state;
    reply_all_ways("line at the cap", at, strlen(at), &ref);
    assert_int_equal(ref.n, 1);
    reply_all_ways("line over the cap", over, strlen(over), &ref);
    assert_int_equal(ref.n, -1);
    assert_int_equal(ref.err.kind, ERR_LIMIT);
    assert_string_equal(ref.err.msg, "SMTP reply line 1: over the cap of "
                                     "4096 bytes a line");
    g_free(at);
    g_free(over);
    g_string_free(ref.dump, TRUE);
}

static void
test_a_line_over_the_cap_fails_before_its_end(void **state)
{
    struct smtp_reply_parser *p = smtp_reply_parser_new();
    char *over = line_of(SMTP_REPLY_LINE_MAX + 100);
    const struct smtp_reply *r;
    struct err err = {0};
    size_t used;

    (void)state;
    /* without the line end: the cap bites while the line still streams */
    assert_int_equal(smtp_reply_feed(p, (const unsigned char *)over,
                                     SMTP_REPLY_LINE_MAX + 1, &used, &r, &err),
                     SMTP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_LIMIT);
    smtp_reply_parser_free(&p);
    g_free(over);
}

/* A reply of n lines. */
static char *
lines_of(size_t n)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 1; i < n; i++)
        g_string_append_printf(s, "250-KEYWORD%zu\r\n", i);
    g_string_append(s, "250 LAST\r\n");
    return g_string_free(s, FALSE);
}

static void
test_a_reply_at_the_line_cap_parses_and_one_line_more_fails(void **state)
{
    struct reply_run ref = {.dump = g_string_new(NULL)};
    char *at = lines_of(SMTP_REPLY_LINES_MAX);
    char *over = lines_of(SMTP_REPLY_LINES_MAX + 1);

    (void)state;
    reply_all_ways("lines at the cap", at, strlen(at), &ref);
    assert_int_equal(ref.n, 1);
    reply_all_ways("lines over the cap", over, strlen(over), &ref);
    assert_int_equal(ref.n, -1);
    assert_int_equal(ref.err.kind, ERR_LIMIT);
    assert_string_equal(ref.err.msg, "SMTP reply line 65: over the cap of "
                                     "64 lines a reply");
    g_free(at);
    g_free(over);
    g_string_free(ref.dump, TRUE);
}

/* ---- the feed contract ---- */

static void
test_feed_returns_one_reply_and_leaves_the_rest(void **state)
{
    static const char wire[] = "250 one\r\n250 two\r\n25";
    const unsigned char *w = (const unsigned char *)wire;
    struct smtp_reply_parser *p = smtp_reply_parser_new();
    const struct smtp_reply *r = NULL;
    struct err err = {0};
    size_t used;

    (void)state;
    assert_int_equal(smtp_reply_feed(p, w, sizeof(wire) - 1, &used, &r, &err),
                     SMTP_FEED_REPLY);
    assert_int_equal(used, 9);
    assert_string_equal(r->text, "one");
    assert_int_equal(smtp_reply_class(r), 2);
    assert_int_equal(
        smtp_reply_feed(p, w + 9, sizeof(wire) - 1 - 9, &used, &r, &err),
        SMTP_FEED_REPLY);
    assert_int_equal(used, 9);
    assert_string_equal(r->text, "two");
    assert_int_equal(smtp_reply_feed(p, w + 18, 2, &used, &r, &err),
                     SMTP_FEED_MORE);
    assert_int_equal(used, 2);
    smtp_reply_parser_free(&p);
    smtp_reply_parser_free(&p); /* NULL-safe */
}

static void
test_parser_refuses_use_after_error_until_reset(void **state)
{
    struct smtp_reply_parser *p = smtp_reply_parser_new();
    const struct smtp_reply *r;
    struct err err = {0};
    size_t used;

    (void)state;
    assert_int_equal(
        smtp_reply_feed(p, (const unsigned char *)"xyz", 3, &used, &r, &err),
        SMTP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_PROTO);
    err_clear(&err);
    assert_int_equal(smtp_reply_feed(p, (const unsigned char *)"250 a\r\n", 7,
                                     &used, &r, &err),
                     SMTP_FEED_ERROR);
    assert_int_equal(err.kind, ERR_INTERNAL);
    err_clear(&err);
    smtp_reply_reset(p);
    assert_int_equal(smtp_reply_feed(p, (const unsigned char *)"250 a\r\n", 7,
                                     &used, &r, &err),
                     SMTP_FEED_REPLY);
    assert_string_equal(r->text, "a");
    smtp_reply_parser_free(&p);
}

static void
test_reset_drops_a_partial_reply(void **state)
{
    struct smtp_reply_parser *p = smtp_reply_parser_new();
    const struct smtp_reply *r;
    struct err err = {0};
    size_t used;

    (void)state;
    assert_int_equal(smtp_reply_feed(p, (const unsigned char *)"250-a\r\n25", 9,
                                     &used, &r, &err),
                     SMTP_FEED_MORE);
    smtp_reply_reset(p);
    assert_int_equal(smtp_reply_feed(p, (const unsigned char *)"550 b\r\n", 7,
                                     &used, &r, &err),
                     SMTP_FEED_REPLY);
    assert_int_equal(r->code, 550);
    assert_int_equal(r->n_lines, 1);
    smtp_reply_parser_free(&p);
}

/* ---- EHLO keywords ---- */

static void
caps_of(const char *wire, struct smtp_caps *caps)
{
    struct smtp_reply_parser *p = smtp_reply_parser_new();
    const struct smtp_reply *r = NULL;
    struct err err = {0};
    size_t used;

    assert_int_equal(smtp_reply_feed(p, (const unsigned char *)wire,
                                     strlen(wire), &used, &r, &err),
                     SMTP_FEED_REPLY);
    smtp_caps_parse(r, caps);
    smtp_reply_parser_free(&p);
}

static void
test_ehlo_keywords_become_bits(void **state)
{
    struct smtp_caps caps;
    char names[256];

    (void)state;
    caps_of("250-mail.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
            "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n"
            "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
            "250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n",
            &caps);
    assert_string_equal(smtp_caps_describe(caps.bits, names, sizeof(names)),
                        "STARTTLS AUTH AUTH-PLAIN AUTH-LOGIN SIZE 8BITMIME "
                        "PIPELINING ENHANCEDSTATUSCODES SMTPUTF8");
    assert_true(caps.size_max == 10240000);
}

static void
test_ehlo_keywords_ignore_case_and_take_the_old_auth_form(void **state)
{
    struct smtp_caps caps;
    char names[128];

    (void)state;
    caps_of("250-mail.example\r\n250-auth=login\r\n250 size\r\n", &caps);
    assert_string_equal(smtp_caps_describe(caps.bits, names, sizeof(names)),
                        "AUTH AUTH-LOGIN SIZE");
    assert_true(caps.size_max == 0);
    caps_of("250-x\r\n250-AUTH CRAM-MD5 DIGEST-MD5\r\n250 AUTH=PLAIN\r\n",
            &caps);
    assert_string_equal(smtp_caps_describe(caps.bits, names, sizeof(names)),
                        "AUTH AUTH-PLAIN");
}

static void
test_the_greeting_line_is_not_a_keyword(void **state)
{
    struct smtp_caps caps;

    (void)state;
    caps_of("250 STARTTLS\r\n", &caps);
    assert_int_equal(caps.bits, 0);
    caps_of("250-STARTTLS says hi\r\n250 AUTHX PLAIN\r\n", &caps);
    assert_int_equal(caps.bits, 0);
}

static void
test_size_parameters_odd_and_huge(void **state)
{
    struct smtp_caps caps;

    (void)state;
    caps_of("250-x\r\n250 SIZE 0\r\n", &caps);
    assert_true(caps.bits == SMTP_CAP_SIZE && caps.size_max == 0);
    caps_of("250-x\r\n250 SIZE 12x\r\n", &caps);
    assert_true(caps.bits == SMTP_CAP_SIZE && caps.size_max == 0);
    caps_of("250-x\r\n250 SIZE -5\r\n", &caps);
    assert_true(caps.size_max == 0);
    caps_of("250-x\r\n250 SIZE 18446744073709551615\r\n", &caps);
    assert_true(caps.size_max == UINT64_MAX);
    caps_of("250-x\r\n250 SIZE 99999999999999999999999\r\n", &caps);
    assert_true(caps.size_max == UINT64_MAX);
    caps_of("250-x\r\n250 SIZE  52428800 \r\n", &caps);
    assert_true(caps.size_max == 52428800);
}

static void
test_caps_describe_never_overflows(void **state)
{
    char small[8];

    (void)state;
    assert_string_equal(smtp_caps_describe(SMTP_CAP_STARTTLS | SMTP_CAP_AUTH,
                                           small, sizeof(small)),
                        "STARTTL");
    assert_string_equal(smtp_caps_describe(0, small, sizeof(small)), "");
}

int
main(void)
{
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_a_line_at_the_cap_parses_and_one_byte_more_fails),
        cmocka_unit_test(test_a_line_over_the_cap_fails_before_its_end),
        cmocka_unit_test(
            test_a_reply_at_the_line_cap_parses_and_one_line_more_fails),
        cmocka_unit_test(test_feed_returns_one_reply_and_leaves_the_rest),
        cmocka_unit_test(test_parser_refuses_use_after_error_until_reset),
        cmocka_unit_test(test_reset_drops_a_partial_reply),
        cmocka_unit_test(test_ehlo_keywords_become_bits),
        cmocka_unit_test(
            test_ehlo_keywords_ignore_case_and_take_the_old_auth_form),
        cmocka_unit_test(test_the_greeting_line_is_not_a_keyword),
        cmocka_unit_test(test_size_parameters_odd_and_huge),
        cmocka_unit_test(test_caps_describe_never_overflows),
    };
    size_t n = N_ELEMENTS(ok_cases) + N_ELEMENTS(bad_cases) + N_ELEMENTS(fixed);
    struct CMUnitTest *tests = g_new0(struct CMUnitTest, n);
    size_t k = 0;
    int rc;

    for (size_t i = 0; i < N_ELEMENTS(ok_cases); i++, k++) {
        tests[k].name = ok_cases[i].name;
        tests[k].test_func = test_reply_parses_the_same_fed_any_way;
        tests[k].initial_state = (void *)&ok_cases[i];
    }
    for (size_t i = 0; i < N_ELEMENTS(bad_cases); i++, k++) {
        tests[k].name = bad_cases[i].name;
        tests[k].test_func = test_bad_reply_fails_the_same_fed_any_way;
        tests[k].initial_state = (void *)&bad_cases[i];
    }
    for (size_t i = 0; i < N_ELEMENTS(fixed); i++, k++)
        tests[k] = fixed[i];
    reply_seed();
    rc = _cmocka_run_group_tests("smtp_reply", tests, n, NULL, NULL);
    g_free(tests);
    return rc;
}
