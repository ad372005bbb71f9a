/* test_pop3_dot.c - the POP3 multi-line decoder: each body decoded whole,
 * split in two at every byte and byte by byte must give the same bytes,
 * stop at the same place, and fail the same way; the cap is crossed by
 * one byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "pop3/pop3_dot.h"

/* Decodes wire[0..len) in chunks of at most step bytes, the first one cut
 * at split. Returns the error kind (ERR_NONE when it ended cleanly, with
 * the body in out and the position after the terminator in *end_out;
 * ERR_NONE with *end_out = SIZE_MAX when the terminator never came). */
static enum err_kind
decode(const char *wire, size_t len, size_t split, size_t step, uint64_t max,
       GString *out, size_t *end_out)
{
    struct pop3_dot d;
    size_t off = 0;

    pop3_dot_init(&d, max);
    g_string_truncate(out, 0);
    *end_out = SIZE_MAX;
    while (off < len) {
        size_t n = len - off;
        unsigned char buf[64];
        size_t olen, used;
        bool done;
        struct err err = {0};

        if (off < split && split - off < n)
            n = split - off;
        if (n > step)
            n = step;
        if (n > sizeof(buf))
            n = sizeof(buf);
        if (pop3_dot_decode(&d, (const unsigned char *)wire + off, n, buf,
                            &olen, &used, &done, &err) < 0) {
            assert_int_not_equal(err.kind, ERR_NONE);
            return err.kind;
        }
        assert_true(olen <= used);
        assert_true(used == n || done);
        g_string_append_len(out, (const char *)buf, (gssize)olen);
        off += used;
        if (done) {
            *end_out = off;
            return ERR_NONE;
        }
    }
    return ERR_NONE;
}

struct dcase {
    const char *wire;
    const char *body;    /* NULL: must fail */
    size_t end;          /* bytes consumed up to and with ".CRLF" */
    enum err_kind kind;
};

#define W(s) s, sizeof(s) - 1

static const struct dcase cases[] = {
    {".\r\n", "", 3, ERR_NONE},
    {"a\r\n.\r\n", "a\r\n", 6, ERR_NONE},
    {"..\r\n.\r\n", ".\r\n", 7, ERR_NONE},
    {"..x\r\n...\r\n.\r\n", ".x\r\n..\r\n", 13, ERR_NONE},
    {"a.b\r\n.\r\nNEXT", "a.b\r\n", 8, ERR_NONE},      /* leftover */
    {"x\r\n.\r\n+OK\r\n", "x\r\n", 6, ERR_NONE},
    {"a\r\n .\r\n.\r\n", "a\r\n .\r\n", 10, ERR_NONE},
    {"a\r\n\r\n.\r\n", "a\r\n\r\n", 8, ERR_NONE},
    {"1 120\r\n2 200\r\n.\r\n", "1 120\r\n2 200\r\n", 17, ERR_NONE},
    {".x\r\n.\r\n", "x\r\n", 7, ERR_NONE},  /* unstuffed dot: kept line */
    {"a\r\n.\rX", NULL, 0, ERR_PROTO},
    {".\r.", NULL, 0, ERR_PROTO},
};

static void
test_bodies_split_at_every_byte(void **state)
{
    GString *out = g_string_new(NULL);

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const struct dcase *c = &cases[i];
        size_t len = strlen(c->wire);

        for (size_t split = 0; split <= len; split++) {
            static const size_t steps[] = {1, 2, 3, SIZE_MAX};

            for (size_t s = 0; s < G_N_ELEMENTS(steps); s++) {
                size_t end;
                enum err_kind k = decode(c->wire, len, split, steps[s],
                                         UINT64_MAX, out, &end);

                if (k != c->kind)
                    fail_msg("case %zu split %zu step %zu: kind %d", i,
                             split, steps[s], (int)k);
                if (c->kind != ERR_NONE)
                    continue;
                assert_string_equal(out->str, c->body);
                assert_int_equal(end, c->end);
            }
        }
    }
    g_string_free(out, TRUE);
}

static void
test_unterminated_body_wants_more(void **state)
{
    GString *out = g_string_new(NULL);
    size_t end;

    (void)state;
    assert_int_equal(decode(W("a\r\n..b\r\n."), 0, 64, UINT64_MAX, out,
                            &end),
                     ERR_NONE);
    assert_int_equal(end, SIZE_MAX);
    assert_string_equal(out->str, "a\r\n.b\r\n");
    g_string_free(out, TRUE);
}

static void
test_cap_crossed_by_one(void **state)
{
    static const char wire[] = "abc\r\n..d\r\n.\r\n"; /* body: 9 bytes */
    GString *out = g_string_new(NULL);
    size_t end;

    (void)state;
    for (size_t split = 0; split <= sizeof(wire) - 1; split++) {
        assert_int_equal(decode(W(wire), split, 64, 9, out, &end),
                         ERR_NONE);
        assert_string_equal(out->str, "abc\r\n.d\r\n");
        assert_int_equal(decode(W(wire), split, 64, 8, out, &end),
                         ERR_LIMIT);
        assert_int_equal(decode(W(wire), split, 1, 8, out, &end),
                         ERR_LIMIT);
    }
    g_string_free(out, TRUE);
}

static void
test_random_bodies_round_trip(void **state)
{
    /* stuffs random lines, many starting with '.', then decodes them in
     * random chunks: the body must come back byte for byte */
    unsigned seed = (unsigned)g_get_real_time();
    GRand *rnd = g_rand_new_with_seed(seed);
    GString *body = g_string_new(NULL), *wire = g_string_new(NULL);
    GString *out = g_string_new(NULL);

    (void)state;
    print_message("# seed %u\n", seed);
    for (int round = 0; round < 200; round++) {
        int lines = g_rand_int_range(rnd, 0, 20);
        size_t end;

        g_string_truncate(body, 0);
        g_string_truncate(wire, 0);
        for (int l = 0; l < lines; l++) {
            int n = g_rand_int_range(rnd, 0, 6);

            g_string_truncate(out, 0);
            for (int k = 0; k < n; k++)
                g_string_append_c(out, ".a\r"[g_rand_int_range(rnd, 0, 2)]);
            g_string_append(body, out->str);
            g_string_append(body, "\r\n");
            if (out->str[0] == '.')
                g_string_append_c(wire, '.');
            g_string_append(wire, out->str);
            g_string_append(wire, "\r\n");
        }
        g_string_append(wire, ".\r\n");
        assert_int_equal(decode(wire->str, wire->len,
                                (size_t)g_rand_int_range(rnd, 0,
                                                         (gint32)wire->len +
                                                             1),
                                (size_t)g_rand_int_range(rnd, 1, 8),
                                UINT64_MAX, out, &end),
                         ERR_NONE);
        assert_int_equal(end, wire->len);
        assert_int_equal(out->len, body->len);
        assert_memory_equal(out->str, body->str, body->len);
    }
    g_string_free(body, TRUE);
    g_string_free(wire, TRUE);
    g_string_free(out, TRUE);
    g_rand_free(rnd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bodies_split_at_every_byte),
        cmocka_unit_test(test_unterminated_body_wants_more),
        cmocka_unit_test(test_cap_crossed_by_one),
        cmocka_unit_test(test_random_bodies_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
