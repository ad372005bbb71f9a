/* test_compress.c - Accept-Encoding negotiation, the gzip round trip, and
 * which responses compress_response leaves alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <zlib.h>

#include "core/cfg.h"
#include "web/app.h"
#include "web/compress.h"
#include "web/request.h"

struct fixture {
    struct cfg cfg;
    struct web_app app;
    struct arena *arena;
    struct request req;
    struct response resp;
};

static int
setup(void **state)
{
    struct fixture *f = g_new0(struct fixture, 1);

    f->cfg.compress = true;
    f->cfg.base_path = "/";
    f->app.cfg = &f->cfg;
    f->arena = arena_new(0);
    request_init(&f->req, f->arena, &f->app);
    response_init(&f->resp, f->arena);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    arena_free(&f->arena);
    g_free(f);
    return 0;
}

/* Inflates a gzip stream; the caller frees the result. */
static GString *
gunzip(const char *data, size_t len)
{
    GString *out = g_string_new(NULL);
    z_stream z = {0};
    char buf[4096];
    int rc;

    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    do {
        z.next_out = (Bytef *)buf;
        z.avail_out = sizeof(buf);
        rc = inflate(&z, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        g_string_append_len(out, buf, (gssize)(sizeof(buf) - z.avail_out));
    } while (rc != Z_STREAM_END);
    inflateEnd(&z);
    return out;
}

static void
test_accept_encoding_values(void **state)
{
    static const struct {
        const char *value;
        bool gzip;
    } cases[] = {
        {"gzip", true},
        {"GZIP", true},
        {"x-gzip", true},
        {"gzip, deflate, br", true},
        {"br;q=1.0, gzip;q=0.8", true},
        {"gzip;q=0.001", true},
        {"*", true},
        {"*;q=0.5", true},
        {"gzip;q=0", false},
        {"gzip; q=0.000", false},
        {"gzip;q=0, *", false},   /* an explicit refusal beats "*" */
        {"*, gzip;q=0", false},
        {"*;q=0", false},
        {"deflate, br", false},
        {"identity", false},
        {"gzipper", false},
        {"", false},
        {",,,", false},
    };

    (void)state;
    assert_false(compress_accepts_gzip(NULL));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (compress_accepts_gzip(cases[i].value) != cases[i].gzip)
            fail_msg("Accept-Encoding: \"%s\": want %d", cases[i].value,
                     cases[i].gzip);
    }
}

static void
test_text_types(void **state)
{
    (void)state;
    assert_true(compress_type_is_text("text/html; charset=utf-8"));
    assert_true(compress_type_is_text("application/json"));
    assert_true(compress_type_is_text("text/css; charset=utf-8"));
    assert_true(compress_type_is_text("text/javascript"));
    assert_false(compress_type_is_text("image/png"));
    assert_false(compress_type_is_text("application/octet-stream"));
    assert_false(compress_type_is_text("text/htmlx"));
    assert_false(compress_type_is_text(NULL));
}

static void
test_gzip_round_trip(void **state)
{
    GString *in = g_string_new(NULL), *gz = g_string_new("keep");
    struct err err = {0};
    GString *back;

    (void)state;
    for (int i = 0; i < 2000; i++)
        g_string_append_printf(in, "<li>message %d</li>\n", i);
    assert_int_equal(compress_gzip(in->str, in->len, gz, &err), 0);
    assert_memory_equal(gz->str, "keep", 4); /* appended, not replaced */
    assert_true(gz->len - 4 < in->len / 4);
    back = gunzip(gz->str + 4, gz->len - 4);
    assert_int_equal(back->len, in->len);
    assert_memory_equal(back->str, in->str, in->len);
    g_string_free(back, TRUE);
    /* the empty body too */
    g_string_truncate(gz, 0);
    assert_int_equal(compress_gzip("", 0, gz, &err), 0);
    back = gunzip(gz->str, gz->len);
    assert_int_equal(back->len, 0);
    g_string_free(back, TRUE);
    g_string_free(gz, TRUE);
    g_string_free(in, TRUE);
}

static void
page(struct fixture *f, const char *type, size_t len)
{
    struct err err = {0};

    response_set_header(&f->resp, f->arena, "Content-Type", type);
    for (size_t i = 0; i < len; i++)
        g_string_append_c(f->resp.body, (char)('a' + i % 7));
    assert_int_equal(request_add_header(&f->req, "Accept-Encoding",
                                        "gzip", 1u << 20, &err), 0);
}

static void
test_a_page_is_compressed(void **state)
{
    struct fixture *f = *state;
    GString *back;
    char *want;

    page(f, "text/html; charset=utf-8", 5000);
    want = g_strndup(f->resp.body->str, f->resp.body->len);
    compress_response(&f->req, &f->resp);
    assert_string_equal(response_header(&f->resp, "Content-Encoding"),
                        "gzip");
    assert_string_equal(response_header(&f->resp, "Vary"),
                        "Accept-Encoding");
    back = gunzip(f->resp.body->str, f->resp.body->len);
    assert_string_equal(back->str, want);
    g_string_free(back, TRUE);
    g_free(want);
}

static void
test_a_short_body_is_left_but_varies(void **state)
{
    struct fixture *f = *state;

    page(f, "application/json", COMPRESS_MIN_BYTES - 1);
    compress_response(&f->req, &f->resp);
    assert_null(response_header(&f->resp, "Content-Encoding"));
    assert_string_equal(response_header(&f->resp, "Vary"),
                        "Accept-Encoding");
    assert_int_equal(f->resp.body->len, COMPRESS_MIN_BYTES - 1);
}

static void
test_the_threshold_itself_is_compressed(void **state)
{
    struct fixture *f = *state;

    page(f, "application/json", COMPRESS_MIN_BYTES);
    compress_response(&f->req, &f->resp);
    assert_non_null(response_header(&f->resp, "Content-Encoding"));
}

static void
test_binary_types_are_left_alone(void **state)
{
    struct fixture *f = *state;

    page(f, "image/png", 5000);
    compress_response(&f->req, &f->resp);
    assert_null(response_header(&f->resp, "Content-Encoding"));
    assert_null(response_header(&f->resp, "Vary"));
}

static ssize_t
no_stream(void *ctx, char *buf, size_t max)
{
    (void)ctx;
    (void)buf;
    (void)max;
    return 0;
}

static void
test_streams_are_left_alone(void **state)
{
    struct fixture *f = *state;

    page(f, "text/plain; charset=utf-8", 5000);
    f->resp.stream = no_stream;
    compress_response(&f->req, &f->resp);
    assert_null(response_header(&f->resp, "Content-Encoding"));
}

static void
test_compress_off_and_not_accepted_leave_it(void **state)
{
    struct fixture *f = *state;

    page(f, "text/html", 5000);
    f->cfg.compress = false;
    compress_response(&f->req, &f->resp);
    assert_null(response_header(&f->resp, "Content-Encoding"));
    assert_int_equal(f->resp.body->len, 5000);
    f->cfg.compress = true;
    f->req.headers.n = 0; /* no Accept-Encoding */
    compress_response(&f->req, &f->resp);
    assert_null(response_header(&f->resp, "Content-Encoding"));
}

static void
test_already_coded_and_304_are_left(void **state)
{
    struct fixture *f = *state;

    page(f, "text/css", 5000);
    response_set_header(&f->resp, f->arena, "Content-Encoding", "gzip");
    compress_response(&f->req, &f->resp);
    assert_int_equal(f->resp.body->len, 5000);
    response_init(&f->resp, f->arena);
    response_set_header(&f->resp, f->arena, "Content-Type", "text/css");
    for (int i = 0; i < 5000; i++)
        g_string_append_c(f->resp.body, 'x'); /* a bug's body */
    f->resp.status = 304;
    compress_response(&f->req, &f->resp);
    assert_null(response_header(&f->resp, "Content-Encoding"));
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_encoding_values),
        cmocka_unit_test(test_text_types),
        cmocka_unit_test(test_gzip_round_trip),
        T(test_a_page_is_compressed),
        T(test_a_short_body_is_left_but_varies),
        T(test_the_threshold_itself_is_compressed),
        T(test_binary_types_are_left_alone),
        T(test_streams_are_left_alone),
        T(test_compress_off_and_not_accepted_leave_it),
        T(test_already_coded_and_304_are_left),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
