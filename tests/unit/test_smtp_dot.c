/* test_smtp_dot.c - dot-stuffing for SMTP DATA: every case is stuffed
 * whole, split in two at every byte, byte by byte and in seeded random
 * chunks (SMTP_TEST_SEED=N repeats a run), and must give the same bytes
 * every time, within SMTP_DOT_OUT_MAX at each call. The module has no
 * error path; the case that must "fail" here is the smuggling one: a
 * message that holds its own terminator must not end the DATA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/attr.h"
#include "smtp/smtp_dot.h"

static unsigned
dot_seed(void)
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

/* Stuffs in[0..len) in chunks ending at cuts[] (then at len), finishes,
 * and returns the wire bytes. */
static GString *
dot_run(const char *in, size_t len, const size_t *cuts, size_t ncuts)
{
    struct smtp_dot d = {0};
    GString *wire = g_string_new(NULL);
    size_t start = 0;
    unsigned char fin[SMTP_DOT_FINISH_MAX];
    size_t n;

    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        size_t room = SMTP_DOT_OUT_MAX(end - start);
        /* one byte more than allowed, to see the bound kept */
        unsigned char *out = g_malloc(room + 1);

        out[room] = 0xa5;
        n = smtp_dot_stuff(&d, (const unsigned char *)in + start, end - start,
                           out);
        assert_true(n <= room);
        assert_int_equal(out[room], 0xa5);
        g_string_append_len(wire, (const char *)out, (gssize)n);
        g_free(out);
        start = end;
    }
    n = smtp_dot_finish(&d, fin);
    assert_true(n <= SMTP_DOT_FINISH_MAX);
    g_string_append_len(wire, (const char *)fin, (gssize)n);
    assert_false(d.cr);
    assert_false(d.mid_line);
    return wire;
}

static void
dot_check(const char *what, const GString *ref, const GString *got,
          const char *mode)
{
    if (got->len != ref->len || memcmp(got->str, ref->str, ref->len) != 0) {
        gchar *g = g_strescape(got->str, NULL);
        gchar *r = g_strescape(ref->str, NULL);

        fail_msg("%s: stuffed %s: \"%s\"; whole: \"%s\"", what, mode, g, r);
    }
}

/* Stuffs in whole, split at every byte, byte by byte and in random chunks;
 * returns the bytes (the same every way). */
static GString *
dot_all_ways(const char *what, const char *in, size_t len)
{
    GString *ref = dot_run(in, len, NULL, 0), *got;
    size_t *cuts = g_new0(size_t, len + 1);
    GRand *rnd = g_rand_new_with_seed(dot_seed());
    char mode[64];

    for (size_t k = 0; k <= len; k++) {
        cuts[0] = k;
        got = dot_run(in, len, cuts, 1);
        snprintf(mode, sizeof(mode), "split at byte %zu", k);
        dot_check(what, ref, got, mode);
        g_string_free(got, TRUE);
    }
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    got = dot_run(in, len, cuts, len);
    dot_check(what, ref, got, "byte by byte");
    g_string_free(got, TRUE);
    for (int round = 0; round < 20; round++) {
        size_t n = 0, at = 0;

        while (at < len) {
            at += (size_t)g_rand_int_range(rnd, 1, 6);
            if (at < len)
                cuts[n++] = at;
        }
        got = dot_run(in, len, cuts, n);
        dot_check(what, ref, got, "in random chunks");
        g_string_free(got, TRUE);
    }
    g_rand_free(rnd);
    g_free(cuts);
    return ref;
}

struct dot_case {
    const char *name;
    const char *in;
    const char *wire;
    size_t in_len; /* 0: strlen(in) */
    size_t wire_len;
};

static const struct dot_case dot_cases[] = {
    {"an empty message is just the terminator", "", ".\r\n", 0, 0},
    {"CRLF lines pass unchanged", "a: b\r\n\r\nhello\r\n",
     "a: b\r\n\r\nhello\r\n.\r\n", 0, 0},
    {"a message without a final line end gets one", "no newline",
     "no newline\r\n.\r\n", 0, 0},
    {"a dot line in the body is doubled", "a\r\n.\r\nb\r\n",
     "a\r\n..\r\nb\r\n.\r\n", 0, 0},
    {"a dot that starts the message is doubled", ".\r\n", "..\r\n.\r\n", 0, 0},
    {"every leading dot is doubled, once", "..x\r\n.y\r\n...\r\n",
     "...x\r\n..y\r\n....\r\n.\r\n", 0, 0},
    {"dots inside a line stay", "a.b.\r\nc .\r\n", "a.b.\r\nc .\r\n.\r\n", 0,
     0},
    {"bare LF becomes CRLF", "a\nb\n\nc", "a\r\nb\r\n\r\nc\r\n.\r\n", 0, 0},
    {"a dot line after bare LF is doubled", "a\n.\nb\n",
     "a\r\n..\r\nb\r\n.\r\n", 0, 0},
    {"a bare CR becomes CRLF", "a\rb\r", "a\r\nb\r\n.\r\n", 0, 0},
    {"CR CR LF is two line ends", "a\r\r\nb", "a\r\n\r\nb\r\n.\r\n", 0, 0},
    {"a message ending in a dot line without CRLF", "a\r\n.",
     "a\r\n..\r\n.\r\n", 0, 0},
    {"NUL and 8-bit bytes pass", "\xc3\xa9\0\xff\r\n",
     "\xc3\xa9\0\xff\r\n.\r\n", 6, 9},
    {"the worst case for the output bound", "\r.\r.\r.\n.",
     "\r\n..\r\n..\r\n..\r\n..\r\n.\r\n", 0, 0},
};

static void
test_stuffing_is_the_same_fed_any_way(void **state)
{
    const struct dot_case *c = *state;
    size_t in_len = c->in_len > 0 ? c->in_len : strlen(c->in);
    size_t wire_len = c->wire_len > 0 ? c->wire_len : strlen(c->wire);
    GString *wire = dot_all_ways(c->name, c->in, in_len);

    if (wire->len != wire_len || memcmp(wire->str, c->wire, wire_len) != 0) {
        gchar *g = g_strescape(wire->str, NULL);

        fail_msg("%s: got \"%s\"", c->name, g);
    }
    g_string_free(wire, TRUE);
}

/* Counts lines that are exactly "." in wire: the DATA ends at the first. */
static size_t
dot_terminators(const GString *wire)
{
    size_t n = 0;
    const char *p = wire->str, *end = wire->str + wire->len;

    while (p < end) {
        const char *eol = g_strstr_len(p, end - p, "\r\n");

        if (eol == NULL)
            break;
        if (eol - p == 1 && p[0] == '.')
            n++;
        p = eol + 2;
    }
    return n;
}

static void
test_a_message_cannot_end_the_data_early(void **state)
{
    /* SMTP smuggling shapes: every one must leave exactly one "." line, at
     * the very end, and no bare CR or LF on the wire. */
    static const char *const smuggle[] = {
        "a\r\n.\r\nMAIL FROM:<x@y>\r\n",
        "a\n.\nRCPT TO:<x@y>\n",
        "a\r.\rDATA\r",
        "a\r\n.\rQUIT\r\n",
        "a\n.\r\nQUIT\r\n",
        "a\r.\r\nQUIT\r\n",
        ".\r\n",
        ".",
    };

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(smuggle); i++) {
        GString *wire =
            dot_all_ways(smuggle[i], smuggle[i], strlen(smuggle[i]));

        assert_int_equal(dot_terminators(wire), 1);
        assert_true(wire->len >= 3);
        assert_memory_equal(wire->str + wire->len - 3, ".\r\n", 3);
        for (size_t k = 0; k < wire->len; k++) {
            if (wire->str[k] == '\r')
                assert_int_equal(wire->str[k + 1], '\n');
            if (wire->str[k] == '\n')
                assert_true(k > 0 && wire->str[k - 1] == '\r');
        }
        g_string_free(wire, TRUE);
    }
}

static void
test_the_bound_holds_for_every_short_message(void **state)
{
    static const unsigned char alphabet[] = {'\r', '\n', '.', 'x'};

    (void)state;
    /* all strings of length 1..6 over the bytes that matter, each chunk
     * size from 1 up: no output may pass SMTP_DOT_OUT_MAX */
    for (size_t len = 1; len <= 6; len++) {
        size_t combos = 1;

        for (size_t k = 0; k < len; k++)
            combos *= N_ELEMENTS(alphabet);
        for (size_t v = 0; v < combos; v++) {
            char in[8];
            size_t x = v;
            GString *ref, *got;
            size_t cuts[8];

            for (size_t k = 0; k < len; k++) {
                in[k] = (char)alphabet[x % N_ELEMENTS(alphabet)];
                x /= N_ELEMENTS(alphabet);
            }
            ref = dot_run(in, len, NULL, 0);
            for (size_t k = 0; k < len; k++)
                cuts[k] = k + 1;
            got = dot_run(in, len, cuts, len);
            assert_int_equal(got->len, ref->len);
            assert_memory_equal(got->str, ref->str, ref->len);
            assert_int_equal(dot_terminators(ref), 1);
            g_string_free(ref, TRUE);
            g_string_free(got, TRUE);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_a_message_cannot_end_the_data_early),
        cmocka_unit_test(test_the_bound_holds_for_every_short_message),
    };
    size_t n = N_ELEMENTS(dot_cases) + N_ELEMENTS(fixed);
    struct CMUnitTest *tests = g_new0(struct CMUnitTest, n);
    size_t k = 0;
    int rc;

    for (size_t i = 0; i < N_ELEMENTS(dot_cases); i++, k++) {
        tests[k].name = dot_cases[i].name;
        tests[k].test_func = test_stuffing_is_the_same_fed_any_way;
        tests[k].initial_state = (void *)&dot_cases[i];
    }
    for (size_t i = 0; i < N_ELEMENTS(fixed); i++, k++)
        tests[k] = fixed[i];
    dot_seed();
    rc = _cmocka_run_group_tests("smtp_dot", tests, n, NULL, NULL);
    g_free(tests);
    return rc;
}
