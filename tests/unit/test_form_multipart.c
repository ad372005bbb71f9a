/* test_form_multipart.c - multipart/form-data: a browser-like body, spooled
 * files byte for byte and gone after arena_free, every cap crossed by one,
 * truncation at every byte, malformed bodies, safe file names, and seeded
 * random damage (FORM_TEST_SEED=N repeats a run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "core/limits.h"
#include "web/form_multipart.h"

#define B "----WebKitFormBoundary7MA4YWxkTrZu0gW"
#define CT "multipart/form-data; boundary=" B
#define BIG (64u * 1024 * 1024)

struct fixture {
    struct arena *arena;
    char *dir; /* private spool directory */
    struct kv_list fields;
    struct form_file *files;
    size_t n_files;
    struct err err;
};

static int
setup(void **state)
{
    struct fixture *f = g_new0(struct fixture, 1);

    f->arena = arena_new(0);
    f->dir = g_dir_make_tmp("postern-form-XXXXXX", NULL);
    assert_non_null(f->dir);
    *state = f;
    return 0;
}

static unsigned
dir_count(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    unsigned n = 0;

    assert_non_null(d);
    while (g_dir_read_name(d) != NULL)
        n++;
    g_dir_close(d);
    return n;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    arena_free(&f->arena);
    /* every spooled file is gone with the arena */
    assert_int_equal(dir_count(f->dir), 0);
    assert_int_equal(rmdir(f->dir), 0);
    g_free(f->dir);
    g_free(f);
    return 0;
}

/* ---------------------------------------------------------------------
 * Helpers
 */

static int
parse_with(struct fixture *f, const char *ct, const void *body, size_t len,
           size_t max_field, uint64_t max_file, uint64_t max_total)
{
    memset(&f->fields, 0, sizeof(f->fields));
    f->files = NULL;
    f->n_files = 0;
    err_clear(&f->err);
    return form_parse_multipart(f->arena, ct, body, len, f->dir, max_field,
                                max_file, max_total, &f->fields, &f->files,
                                &f->n_files, &f->err);
}

static int
parse(struct fixture *f, const GString *body)
{
    return parse_with(f, CT, body->str, body->len, BIG, BIG, BIG);
}

static void
add_field(GString *s, const char *name, const char *value)
{
    g_string_append_printf(s,
                           "--" B "\r\n"
                           "Content-Disposition: form-data; name=\"%s\"\r\n"
                           "\r\n"
                           "%s\r\n",
                           name, value);
}

static void
add_file(GString *s, const char *name, const char *filename, const char *ct,
         const void *data, size_t len)
{
    g_string_append_printf(s,
                           "--" B "\r\n"
                           "Content-Disposition: form-data; name=\"%s\"; "
                           "filename=\"%s\"\r\n"
                           "Content-Type: %s\r\n"
                           "\r\n",
                           name, filename, ct);
    g_string_append_len(s, data, (gssize)len);
    g_string_append(s, "\r\n");
}

static void
add_end(GString *s)
{
    g_string_append(s, "--" B "--\r\n");
}

static void
assert_file_is(const struct form_file *file, const void *data, size_t len)
{
    gchar *got = NULL;
    gsize got_len = 0;
    struct stat st;

    assert_int_equal(file->size, len);
    assert_int_equal(stat(file->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(g_file_get_contents(file->path, &got, &got_len, NULL));
    assert_int_equal(got_len, len);
    assert_memory_equal(got, data, len);
    g_free(got);
}

static void
assert_fails(struct fixture *f, int rc, enum err_kind kind,
             const char *msg_part)
{
    assert_int_equal(rc, -1);
    if (f->err.kind != kind)
        fail_msg("want %s, got %s: %s", err_kind_name(kind),
                 err_kind_name(f->err.kind), f->err.msg);
    if (msg_part != NULL && strstr(f->err.msg, msg_part) == NULL)
        fail_msg("\"%s\" does not hold \"%s\"", f->err.msg, msg_part);
}

/* A binary payload: every byte value, NULs, CRLFs, and lines that look
 * like the boundary but are not delimiters. */
static GByteArray *
binary_payload(void)
{
    static const char tricky[] = "\r\n--" B "x\r\n\r\n--" B " y\r\n--\r\n";
    GByteArray *b = g_byte_array_new();

    for (unsigned i = 0; i < 512; i++) {
        guint8 c = (guint8)(i * 7);

        g_byte_array_append(b, &c, 1);
    }
    g_byte_array_append(b, (const guint8 *)tricky, sizeof(tricky) - 1);
    g_byte_array_append(b, (const guint8 *)"\0\0\r\n\r\n\0", 7);
    return b;
}

/* ---------------------------------------------------------------------
 * What a browser sends
 */

static void
test_browser_body_gives_fields_and_byte_identical_files(void **state)
{
    struct fixture *f = *state;
    GByteArray *bin = binary_payload();
    static const char text[] = "Grüße,\r\nnaïve café — 日本語\r\n";
    GString *s = g_string_new(NULL);

    add_field(s, "csrf", "tok123");
    add_field(s, "to", "Jöhn Dœ <john@example.org>");
    add_field(s, "subject", "Ünïcödé ✓");
    add_field(s, "text", "line 1\r\n\r\nline 3, then an empty value:");
    add_field(s, "empty", "");
    add_file(s, "attach", "data.bin", "application/octet-stream", bin->data,
             bin->len);
    add_file(s, "attach", "r\xc3\xa9sum\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.txt",
             "text/plain", text, sizeof(text) - 1);
    add_file(s, "attach", "", "application/octet-stream", "", 0); /* none */
    add_end(s);

    assert_int_equal(parse(f, s), 0);
    assert_int_equal(f->fields.n, 5);
    assert_string_equal(kv_list_get(&f->fields, "csrf"), "tok123");
    assert_string_equal(kv_list_get(&f->fields, "to"),
                        "Jöhn Dœ <john@example.org>");
    assert_string_equal(kv_list_get(&f->fields, "subject"), "Ünïcödé ✓");
    assert_string_equal(kv_list_get(&f->fields, "text"),
                        "line 1\r\n\r\nline 3, then an empty value:");
    assert_string_equal(kv_list_get(&f->fields, "empty"), "");
    assert_int_equal(f->fields.items[4].value_len, 0);

    assert_int_equal(f->n_files, 2);
    assert_string_equal(f->files[0].field, "attach");
    assert_string_equal(f->files[0].filename, "data.bin");
    assert_string_equal(f->files[0].content_type, "application/octet-stream");
    assert_file_is(&f->files[0], bin->data, bin->len);
    assert_string_equal(f->files[1].filename,
                        "r\xc3\xa9sum\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.txt");
    assert_string_equal(f->files[1].content_type, "text/plain");
    assert_file_is(&f->files[1], text, sizeof(text) - 1);
    /* the files are in the spool directory, and nowhere else */
    assert_true(g_str_has_prefix(f->files[0].path, f->dir));
    assert_int_equal(dir_count(f->dir), 2);

    g_byte_array_free(bin, TRUE);
    g_string_free(s, TRUE);
}

static void
test_spooled_files_are_gone_after_arena_free(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);
    char *path;

    add_file(s, "a", "one.txt", "text/plain", "1", 1);
    add_file(s, "a", "two.txt", "text/plain", "22", 2);
    add_end(s);
    assert_int_equal(parse(f, s), 0);
    assert_int_equal(f->n_files, 2);
    path = g_strdup(f->files[1].path);
    assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    arena_free(&f->arena);
    assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    assert_int_equal(dir_count(f->dir), 0);
    f->arena = arena_new(0); /* for teardown */
    g_free(path);
    g_string_free(s, TRUE);
}

static void
test_files_of_a_failed_parse_are_removed_with_the_arena(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);

    add_file(s, "a", "ok.txt", "text/plain", "fine", 4);
    add_file(s, "a", "big.txt", "text/plain", "too big", 7);
    add_end(s);
    assert_fails(f, parse_with(f, CT, s->str, s->len, BIG, 6, BIG), ERR_LIMIT,
                 "big.txt");
    assert_int_equal(dir_count(f->dir), 1); /* until the arena goes */
    arena_free(&f->arena);
    assert_int_equal(dir_count(f->dir), 0);
    f->arena = arena_new(0);
    g_string_free(s, TRUE);
}

static void
test_filenames_are_made_safe(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);

    add_file(s, "a", "../../etc/passwd", "text/plain", "x", 1);
    add_file(s, "a", "..", "text/plain", "y", 1); /* nothing left */
    add_file(s, "a", "", "text/plain", "z", 1);   /* no name, has bytes */
    add_file(s, "a", "say %22hi%22.txt", "text/plain", "w", 1);
    add_file(s, "a",
             ".hidden\xe2\x80\xae"
             "fdp.exe",
             "text/plain", "v", 1);
    add_file(s, "a", "\xff\xfe.txt", "text/plain", "u", 1);
    g_string_append(s, "--" B "\r\n"
                       "Content-Disposition: form-data; name=\"a\"; "
                       "filename*=UTF-8''%C3%A9t%C3%A9%2F..%2Fx.txt\r\n"
                       "\r\n"
                       "t\r\n");
    add_end(s);
    assert_int_equal(parse(f, s), 0);
    assert_int_equal(f->n_files, 7);
    assert_string_equal(f->files[0].filename, "passwd");
    assert_string_equal(f->files[1].filename, "");
    assert_string_equal(f->files[2].filename, "");
    assert_string_equal(f->files[3].filename, "say \"hi\".txt");
    assert_string_equal(f->files[4].filename, "hiddenfdp.exe");
    assert_true(g_utf8_validate(f->files[5].filename, -1, NULL));
    assert_true(g_str_has_suffix(f->files[5].filename, ".txt"));
    assert_string_equal(f->files[6].filename, "x.txt");
    assert_string_equal(f->files[6].content_type, "application/octet-stream");
    for (size_t i = 0; i < f->n_files; i++) {
        assert_null(strchr(f->files[i].filename, '/'));
        assert_null(strchr(f->files[i].filename, '\\'));
        assert_true(g_str_has_prefix(f->files[i].path, f->dir));
    }
    g_string_free(s, TRUE);
}

static void
test_odd_content_types_become_octet_stream(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);

    add_file(s, "a", "1", "text/plain; charset=utf-8", "x", 1);
    add_file(s, "a", "2", "nonsense", "x", 1);
    add_file(s, "a", "3", "text/", "x", 1);
    add_file(s, "a", "4", "a b/c", "x", 1);
    add_file(s, "a", "5", "image/png\x01", "x", 1);
    add_end(s);
    assert_int_equal(parse(f, s), 0);
    assert_int_equal(f->n_files, 5);
    assert_string_equal(f->files[0].content_type, "text/plain; charset=utf-8");
    for (size_t i = 1; i < 5; i++)
        assert_string_equal(f->files[i].content_type,
                            "application/octet-stream");
    g_string_free(s, TRUE);
}

static void
test_preamble_epilogue_padding_and_folding_are_understood(void **state)
{
    struct fixture *f = *state;
    static const char body[] =
        "This is a preamble.\r\n"
        "--" B " \t\r\n"
        "content-disposition: form-data;\r\n"
        "\tname=\"folded\"\r\n"
        "X-Other: ignored\r\n"
        "  and its continuation\r\n"
        "\r\n"
        "v1\r\n"
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"last\"\r\n"
        "\r\n"
        "v2\r\n"
        "--" B "--"
        "this is the epilogue\r\n--" B "\r\nignored";

    assert_int_equal(parse_with(f, CT, body, sizeof(body) - 1, BIG, BIG, BIG),
                     0);
    assert_int_equal(f->fields.n, 2);
    assert_string_equal(kv_list_get(&f->fields, "folded"), "v1");
    assert_string_equal(kv_list_get(&f->fields, "last"), "v2");
}

static void
test_quoted_boundary_and_no_parts_at_all(void **state)
{
    struct fixture *f = *state;
    static const char body[] = "--a b:c\r\n"
                               "Content-Disposition: form-data; name=x\r\n"
                               "\r\n"
                               "1\r\n"
                               "--a b:c--\r\n";
    static const char empty[] = "--" B "--\r\n";

    assert_int_equal(parse_with(f, "Multipart/Form-Data; boundary=\"a b:c\"",
                                body, sizeof(body) - 1, BIG, BIG, BIG),
                     0);
    assert_string_equal(kv_list_get(&f->fields, "x"), "1");
    assert_int_equal(parse_with(f, CT, empty, sizeof(empty) - 1, BIG, BIG, BIG),
                     0);
    assert_int_equal(f->fields.n, 0);
    assert_int_equal(f->n_files, 0);
    assert_null(f->files);
}

/* ---------------------------------------------------------------------
 * Caps, each crossed by one byte
 */

static void
test_field_over_max_field_is_a_limit_naming_the_field(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);

    add_field(s, "subject", "0123456789");
    add_end(s);
    assert_int_equal(parse_with(f, CT, s->str, s->len, 10, BIG, BIG), 0);
    assert_fails(f, parse_with(f, CT, s->str, s->len, 9, BIG, BIG), ERR_LIMIT,
                 "the field \"subject\" is 10 bytes; the limit is 9 bytes");
    g_string_free(s, TRUE);
}

static void
test_file_over_max_file_is_a_limit_a_person_understands(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);
    char *data = g_malloc0(3000);

    add_file(s, "a", "x.pdf", "application/pdf", data, 3000);
    add_end(s);
    assert_int_equal(parse_with(f, CT, s->str, s->len, BIG, 3000, BIG), 0);
    assert_fails(f, parse_with(f, CT, s->str, s->len, BIG, 2999, BIG),
                 ERR_LIMIT,
                 "attachment \"x.pdf\" is 3000 bytes; the limit is 2999 bytes");
    assert_fails(f, parse_with(f, CT, s->str, s->len, BIG, 2048, BIG),
                 ERR_LIMIT, "attachment \"x.pdf\" is 3 KB; the limit is 2 KB");
    g_free(data);
    g_string_free(s, TRUE);
}

static void
test_a_31_mb_file_against_25_mb_reads_like_that(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);
    size_t n = 31u * 1024 * 1024;
    char *data = g_malloc0(n);

    add_file(s, "a", "x.pdf", "application/pdf", data, n);
    add_end(s);
    assert_fails(
        f, parse_with(f, CT, s->str, s->len, BIG, 25u * 1024 * 1024, BIG),
        ERR_LIMIT, "attachment \"x.pdf\" is 31 MB; the limit is 25 MB");
    assert_int_equal(dir_count(f->dir), 0); /* refused before writing */
    g_free(data);
    g_string_free(s, TRUE);
}

static void
test_files_together_over_max_total_is_a_limit(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);

    add_file(s, "a", "a.txt", "text/plain", "12345", 5);
    add_file(s, "a", "b.txt", "text/plain", "678", 3);
    add_field(s, "text", "fields do not count towards the total");
    add_end(s);
    assert_int_equal(parse_with(f, CT, s->str, s->len, BIG, 5, 8), 0);
    assert_int_equal(f->n_files, 2);
    assert_fails(f, parse_with(f, CT, s->str, s->len, BIG, 5, 7), ERR_LIMIT,
                 "with attachment \"b.txt\" the attachments come to 8 bytes; "
                 "the limit is 7 bytes");
    g_string_free(s, TRUE);
}

static void
test_more_than_lim_form_fields_parts_is_a_limit(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new(NULL);

    for (unsigned i = 0; i < LIM_FORM_FIELDS; i++)
        add_field(s, "f", "v");
    add_end(s);
    assert_int_equal(parse(f, s), 0);
    assert_int_equal(f->fields.n, LIM_FORM_FIELDS);
    g_string_truncate(s, s->len - strlen("--" B "--\r\n"));
    add_field(s, "f", "v");
    add_end(s);
    assert_fails(f, parse(f, s), ERR_LIMIT, "parts");
    g_string_free(s, TRUE);
}

static void
test_part_headers_over_the_cap_are_a_limit(void **state)
{
    struct fixture *f = *state;
    static const char cd[] = "Content-Disposition: form-data; name=\"h\"\r\n";
    GString *s = g_string_new(NULL);
    size_t pad;

    /* a header block (every CRLF included) of exactly LIM_HTTP_HEADERS */
    pad = LIM_HTTP_HEADERS - (sizeof(cd) - 1) - strlen("X-Pad: \r\n");
    g_string_append(s, "--" B "\r\n");
    g_string_append(s, cd);
    g_string_append(s, "X-Pad: ");
    for (size_t i = 0; i < pad; i++)
        g_string_append_c(s, 'p');
    g_string_append(s, "\r\n\r\nvalue\r\n");
    add_end(s);
    assert_int_equal(parse(f, s), 0);
    assert_string_equal(kv_list_get(&f->fields, "h"), "value");

    g_string_insert_c(s, (gssize)strlen("--" B "\r\n") + sizeof(cd), 'p');
    assert_fails(f, parse(f, s), ERR_LIMIT, "headers");
    g_string_free(s, TRUE);
}

/* ---------------------------------------------------------------------
 * Malformed bodies
 */

static void
test_bad_content_types_and_boundaries_are_input_errors(void **state)
{
    struct fixture *f = *state;
    static const char body[] = "--" B "--\r\n";
    static const char *const bad[] = {
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"trailing \"",
        "multipart/form-data; boundary=bad<char>",
        "multipart/form-data; boundary="
        "1234567890123456789012345678901234567890123456789012345678901234567890"
        "1",
        "multipart/mixed; boundary=" B,
        "application/x-www-form-urlencoded",
        "",
        "garbage",
    };

    for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
        if (parse_with(f, bad[i], body, sizeof(body) - 1, BIG, BIG, BIG) !=
                -1 ||
            f->err.kind != ERR_INPUT)
            fail_msg("content type \"%s\" was not refused", bad[i]);
    }
    assert_fails(f, parse_with(f, NULL, body, sizeof(body) - 1, BIG, BIG, BIG),
                 ERR_INPUT, NULL);
    /* 70 characters is the most RFC 2046 allows, and fine */
    assert_int_equal(
        parse_with(f,
                   "multipart/form-data; boundary=1234567890123456789012345"
                   "678901234567890123456789012345678901234567890",
                   "--1234567890123456789012345678901234567890123456789012345"
                   "678901234567890--",
                   74, BIG, BIG, BIG),
        0);
}

static void
test_malformed_bodies_are_input_errors(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *body;
        const char *why;
    } bad[] = {
        {"", "without its boundary"},
        {"hello, this is not multipart at all", "without its boundary"},
        {"--other\r\n\r\nx\r\n--other--\r\n", "without its boundary"},
        /* LF alone does not make a delimiter */
        {"--" B "\nContent-Disposition: form-data; name=\"a\"\n\nv\n--" B
         "--\n",
         "boundary"},
        {"--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv",
         "truncated"},
        {"--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n"
         "--" B,
         "truncated"},
        {"--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n"
         "--" B "-\r\n",
         "truncated"},
        {"--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n--" B
         "--\r\n",
         "empty line"},
        {"--" B "\r\n\r\nno headers\r\n--" B "--\r\n", "Content-Disposition"},
        {"--" B "\r\nContent-Type: text/plain\r\n\r\nv\r\n--" B "--\r\n",
         "Content-Disposition"},
        {"--" B "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n"
         "--" B "--\r\n",
         "form-data"},
        {"--" B "\r\nContent-Disposition: form-data\r\n\r\nv\r\n--" B "--\r\n",
         "name"},
        {"--" B "\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\n"
         "v\r\n--" B "--\r\n",
         "name"},
        {"--" B "\r\nno colon here\r\n\r\nv\r\n--" B "--\r\n", "malformed"},
        {"--" B "\r\n: empty name\r\n\r\nv\r\n--" B "--\r\n", "malformed"},
        {"--" B "\r\n continued\r\n\r\nv\r\n--" B "--\r\n", "continuation"},
        {"--" B "\r\nContent-Disposition: form-data; name=\"a\"\rX\r\n\r\n"
         "v\r\n--" B "--\r\n",
         "bare CR"},
    };

    for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
        int rc =
            parse_with(f, CT, bad[i].body, strlen(bad[i].body), BIG, BIG, BIG);

        if (rc != -1 || f->err.kind != ERR_INPUT ||
            strstr(f->err.msg, bad[i].why) == NULL)
            fail_msg("case %zu: rc %d, %s: %s", i, rc,
                     err_kind_name(f->err.kind), f->err.msg);
    }
}

static void
test_nul_bytes_in_headers_or_text_fields_are_refused(void **state)
{
    struct fixture *f = *state;
    static const char in_value[] =
        "--" B "\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n"
        "a\0b\r\n--" B "--\r\n";
    static const char in_header[] =
        "--" B "\r\nContent-Disposition: form-data; name=\"a\0\"\r\n\r\n"
        "v\r\n--" B "--\r\n";

    assert_fails(
        f, parse_with(f, CT, in_value, sizeof(in_value) - 1, BIG, BIG, BIG),
        ERR_INPUT, "\"subject\"");
    assert_fails(
        f, parse_with(f, CT, in_header, sizeof(in_header) - 1, BIG, BIG, BIG),
        ERR_INPUT, "NUL");
}

/* Every prefix of a good body is refused as truncated (ERR_INPUT), until
 * the close delimiter is complete. */
static void
test_truncated_at_every_byte_is_an_input_error(void **state)
{
    struct fixture *f = *state;
    GByteArray *bin = binary_payload();
    GString *s = g_string_new(NULL);
    size_t complete;

    add_field(s, "to", "a@example.org");
    add_file(s, "f", "b.bin", "application/octet-stream", bin->data, bin->len);
    add_end(s);
    complete = s->len - 2; /* after "--B--" */
    for (size_t cut = 0; cut < s->len; cut++) {
        int rc = parse_with(f, CT, s->str, cut, BIG, BIG, BIG);

        if (cut < complete) {
            if (rc != -1 || f->err.kind != ERR_INPUT)
                fail_msg("cut at %zu of %zu: rc %d (%s)", cut, s->len, rc,
                         f->err.msg);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(f->n_files, 1);
            assert_file_is(&f->files[0], bin->data, bin->len);
        }
    }
    g_byte_array_free(bin, TRUE);
    g_string_free(s, TRUE);
}

static void
test_unwritable_spool_dir_is_an_internal_error(void **state)
{
    struct fixture *f = *state;
    struct kv_list fields = {0};
    struct form_file *files = NULL;
    size_t n = 0;
    GString *s = g_string_new(NULL);
    struct err err = {0};

    add_file(s, "a", "a.txt", "text/plain", "x", 1);
    add_end(s);
    assert_int_equal(form_parse_multipart(f->arena, CT,
                                          (const unsigned char *)s->str, s->len,
                                          "/nonexistent/postern", BIG, BIG, BIG,
                                          &fields, &files, &n, &err),
                     -1);
    assert_int_equal(err.kind, ERR_INTERNAL);
    g_string_free(s, TRUE);
}

/* Random damage to a good body: every result is success or an error with a
 * kind, never a crash (the sanitizer build checks the memory side). */
static void
test_random_damage_never_crashes(void **state)
{
    struct fixture *f = *state;
    GByteArray *bin = binary_payload();
    GString *s = g_string_new(NULL);
    const char *env = getenv("FORM_TEST_SEED");
    guint32 seed =
        env != NULL ? (guint32)strtoul(env, NULL, 10) : g_random_int();
    GRand *r = g_rand_new_with_seed(seed);

    print_message("random damage seed %u (FORM_TEST_SEED)\n", seed);
    add_field(s, "to", "a@example.org");
    add_file(s, "f", "b.bin", "application/octet-stream", bin->data, bin->len);
    add_file(s, "g", "c\xc3\xa9.txt", "text/plain", "abc", 3);
    add_end(s);
    for (unsigned round = 0; round < 2000; round++) {
        GString *d = g_string_new_len(s->str, (gssize)s->len);
        unsigned edits = (unsigned)g_rand_int_range(r, 1, 6);

        for (unsigned e = 0; e < edits; e++) {
            gsize at = (gsize)g_rand_int_range(r, 0, (gint32)d->len);
            static const char pieces[] = "\r\n-\"%;:=* \0";

            switch (g_rand_int_range(r, 0, 3)) {
            case 0:
                d->str[at] = pieces[g_rand_int_range(r, 0, sizeof(pieces))];
                break;
            case 1:
                g_string_erase(d, (gssize)at, 1);
                break;
            default:
                g_string_insert_c(
                    d, (gssize)at,
                    pieces[g_rand_int_range(r, 0, sizeof(pieces))]);
                break;
            }
        }
        if (parse_with(f, CT, d->str, d->len, 4096, 4096, 8192) < 0)
            assert_int_not_equal(f->err.kind, ERR_NONE);
        g_string_free(d, TRUE);
        if (round % 100 == 99) { /* keep the spool directory small */
            arena_free(&f->arena);
            f->arena = arena_new(0);
        }
    }
    g_rand_free(r);
    g_byte_array_free(bin, TRUE);
    g_string_free(s, TRUE);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    static const struct CMUnitTest tests[] = {
        T(test_browser_body_gives_fields_and_byte_identical_files),
        T(test_spooled_files_are_gone_after_arena_free),
        T(test_files_of_a_failed_parse_are_removed_with_the_arena),
        T(test_filenames_are_made_safe),
        T(test_odd_content_types_become_octet_stream),
        T(test_preamble_epilogue_padding_and_folding_are_understood),
        T(test_quoted_boundary_and_no_parts_at_all),
        T(test_field_over_max_field_is_a_limit_naming_the_field),
        T(test_file_over_max_file_is_a_limit_a_person_understands),
        T(test_a_31_mb_file_against_25_mb_reads_like_that),
        T(test_files_together_over_max_total_is_a_limit),
        T(test_more_than_lim_form_fields_parts_is_a_limit),
        T(test_part_headers_over_the_cap_are_a_limit),
        T(test_bad_content_types_and_boundaries_are_input_errors),
        T(test_malformed_bodies_are_input_errors),
        T(test_nul_bytes_in_headers_or_text_fields_are_refused),
        T(test_truncated_at_every_byte_is_an_input_error),
        T(test_unwritable_spool_dir_is_an_internal_error),
        T(test_random_damage_never_crashes),
    };
#undef T

    g_mime_init();
    return cmocka_run_group_tests_name("form_multipart", tests, NULL, NULL);
}
