/* test_mime_build.c - outgoing messages written, parsed back with GMime and
 * checked header by header (decoded), body and attachments byte for byte,
 * CRLF and line lengths; what the user typed refused with the field named;
 * envelope recipients bare and once each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "core/attr.h"
#include "mime/mime_build.h"

#define FROM "Alice Example <alice@postern.test>"

/* ---------------------------------------------------------------------
 * Helpers
 */

/* Writes b; the raw bytes come back NUL-terminated (for strstr). */
static GByteArray *
write_ok(const struct mime_build *b, bool include_bcc, char **id_out)
{
    GMimeStream *out = g_mime_stream_mem_new();
    GByteArray *raw = g_byte_array_new();
    GByteArray *mem;
    struct err err = {0};
    int rc;

    rc = mime_build_write(b, include_bcc, out, id_out, &err);
    if (rc != 0)
        fail_msg("mime_build_write: %s", err.msg);
    mem = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
    g_byte_array_append(raw, mem->data, mem->len);
    g_byte_array_append(raw, (const guint8 *)"", 1);
    g_byte_array_set_size(raw, raw->len - 1); /* the NUL stays after len */
    g_object_unref(out);
    return raw;
}

static const char *
raw_text(const GByteArray *raw)
{
    return (const char *)raw->data;
}

/* Every line ends in CRLF, and no line is over 998 octets. */
static void
assert_lines_ok(const GByteArray *raw)
{
    size_t line = 0;

    for (size_t i = 0; i < raw->len; i++) {
        unsigned char c = raw->data[i];

        if (c == '\r') {
            if (i + 1 >= raw->len || raw->data[i + 1] != '\n')
                fail_msg("bare CR at offset %zu", i);
            continue;
        }
        if (c == '\n') {
            if (i == 0 || raw->data[i - 1] != '\r')
                fail_msg("bare LF at offset %zu", i);
            line = 0;
            continue;
        }
        if (++line > 998)
            fail_msg("line over 998 octets at offset %zu", i);
    }
}

static GMimeMessage *
parse_back(const GByteArray *raw)
{
    GMimeStream *s =
        g_mime_stream_mem_new_with_buffer((const char *)raw->data, raw->len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

    g_object_unref(p);
    g_object_unref(s);
    assert_non_null(m);
    return m;
}

/* The decoded content of a leaf part. */
static GByteArray *
part_bytes(GMimeObject *obj)
{
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
    GMimeStream *ms = g_mime_stream_mem_new();
    GByteArray *copy = g_byte_array_new();
    GByteArray *mem;

    assert_non_null(w);
    assert_true(g_mime_data_wrapper_write_to_stream(w, ms) >= 0);
    mem = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
    g_byte_array_append(copy, mem->data, mem->len);
    g_object_unref(ms);
    return copy;
}

static void
assert_bytes_equal(const GByteArray *got, const void *want, size_t len)
{
    if (got->len != len)
        fail_msg("%u bytes, want %zu", got->len, len);
    assert_memory_equal(got->data, want, len);
}

/* "Name <addr>" or "addr" of address i of a list, mailboxes only. */
static void
assert_mailbox(InternetAddressList *l, int i, const char *name,
               const char *addr)
{
    InternetAddress *ia;
    const char *got_name;

    assert_non_null(l);
    assert_true(i < internet_address_list_length(l));
    ia = internet_address_list_get_address(l, i);
    assert_true(INTERNET_ADDRESS_IS_MAILBOX(ia));
    assert_string_equal(
        internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)), addr);
    got_name = internet_address_get_name(ia);
    if (name == NULL)
        assert_true(got_name == NULL || got_name[0] == '\0');
    else
        assert_string_equal(got_name, name);
}

/* The raw header line (unfolded not needed: the ones checked are short). */
static bool
raw_has_header(const GByteArray *raw, const char *name)
{
    char *needle = g_strdup_printf("\r\n%s:", name);
    const char *head_end = strstr(raw_text(raw), "\r\n\r\n");
    const char *hit;
    bool found;

    /* the first header has no CRLF before it */
    if (g_ascii_strncasecmp(raw_text(raw), name, strlen(name)) == 0 &&
        raw_text(raw)[strlen(name)] == ':') {
        g_free(needle);
        return true;
    }
    hit = strstr(raw_text(raw), needle);
    found = hit != NULL && (head_end == NULL || hit < head_end);
    g_free(needle);
    return found;
}

static void
assert_check_fails(const struct mime_build *b, const char *msg)
{
    struct err err = {0};
    GPtrArray *rcpts = g_ptr_array_new_with_free_func(g_free);

    assert_int_equal(mime_build_check(b, rcpts, &err), -1);
    assert_int_equal(err.kind, ERR_INPUT);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("\"%s\" does not hold \"%s\"", err.msg, msg);
    assert_int_equal(rcpts->len, 0); /* nothing on failure */
    g_ptr_array_free(rcpts, TRUE);
}

static char *
temp_file_with(const void *data, size_t len)
{
    char *path = NULL;
    int fd = g_file_open_tmp("postern-build-XXXXXX", &path, NULL);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

static GByteArray *
binary_payload(void)
{
    GByteArray *b = g_byte_array_new();

    for (unsigned i = 0; i < 1000; i++) {
        guint8 c = (guint8)(i * 13 + i / 256);

        g_byte_array_append(b, &c, 1);
    }
    g_byte_array_append(b, (const guint8 *)"\0\0\r\n\n\r.\r\nFrom x\n", 16);
    return b;
}

/* ---------------------------------------------------------------------
 * Writing
 */

static void
test_headers_and_text_parse_back_decoded(void **state)
{
    struct mime_build b = {
        .from = FROM,
        .to = "Jöhn Dœ <john@example.org>, \"Smith, Jane\" <jane@example.org>",
        .cc = "carol@example.org",
        .bcc = "dave@example.org",
        .subject = "Grüße — ünïcödé ✓ test",
        .text = "Hello Jöhn,\nsecond line\r\nthird\n\n-- \nAlice\n",
        .message_id_domain = "postern.test",
    };
    char *id = NULL;
    GByteArray *raw = write_ok(&b, false, &id);
    GMimeMessage *m = parse_back(raw);
    GMimeObject *body = g_mime_message_get_mime_part(m);
    GByteArray *text;
    GDateTime *date, *now;
    GRegex *re;
    const char *subject_raw;

    (void)state;
    assert_lines_ok(raw);
    assert_mailbox(g_mime_message_get_from(m), 0, "Alice Example",
                   "alice@postern.test");
    assert_int_equal(internet_address_list_length(g_mime_message_get_from(m)),
                     1);
    assert_mailbox(g_mime_message_get_to(m), 0, "Jöhn Dœ", "john@example.org");
    assert_mailbox(g_mime_message_get_to(m), 1, "Smith, Jane",
                   "jane@example.org");
    assert_mailbox(g_mime_message_get_cc(m), 0, NULL, "carol@example.org");
    assert_int_equal(internet_address_list_length(g_mime_message_get_bcc(m)),
                     0);
    assert_false(raw_has_header(raw, "Bcc"));
    assert_null(strstr(raw_text(raw), "dave@"));

    /* the subject is encoded on the wire and decodes to what was typed */
    assert_string_equal(g_mime_message_get_subject(m),
                        "Grüße — ünïcödé ✓ test");
    subject_raw = strstr(raw_text(raw), "\r\nSubject: ");
    assert_non_null(subject_raw);
    assert_true(g_str_has_prefix(subject_raw, "\r\nSubject: =?"));
    for (const char *p = raw_text(raw); *p != '\0'; p++) {
        if (p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n')
            break;
        assert_true((unsigned char)*p < 0x80); /* headers are ASCII */
    }

    date = g_mime_message_get_date(m);
    assert_non_null(date);
    now = g_date_time_new_now_utc();
    assert_true(llabs((long long)g_date_time_difference(now, date)) <
                120 * G_TIME_SPAN_SECOND);
    g_date_time_unref(now);

    re = g_regex_new("^<[A-Za-z0-9._+-]+@postern\\.test>$", 0, 0, NULL);
    assert_true(g_regex_match(re, id, 0, NULL));
    g_regex_unref(re);
    assert_int_equal(strlen(id), strlen(g_mime_message_get_message_id(m)) + 2);
    assert_memory_equal(id + 1, g_mime_message_get_message_id(m),
                        strlen(id) - 2);

    assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(m), "User-Agent"),
                        "postern");
    assert_string_equal(
        g_mime_object_get_header(GMIME_OBJECT(m), "MIME-Version"), "1.0");
    assert_null(g_mime_object_get_header(GMIME_OBJECT(m), "In-Reply-To"));
    assert_null(g_mime_object_get_header(GMIME_OBJECT(m), "References"));

    assert_true(GMIME_IS_TEXT_PART(body));
    assert_true(g_mime_content_type_is_type(
        g_mime_object_get_content_type(body), "text", "plain"));
    assert_string_equal(
        g_mime_object_get_content_type_parameter(body, "charset"), "utf-8");
    assert_int_equal(g_mime_part_get_content_encoding(GMIME_PART(body)),
                     GMIME_CONTENT_ENCODING_8BIT);
    text = part_bytes(body);
    assert_bytes_equal(text,
                       "Hello Jöhn,\r\nsecond line\r\nthird\r\n\r\n-- \r\n"
                       "Alice\r\n",
                       strlen("Hello Jöhn,\r\nsecond line\r\nthird\r\n\r\n"
                              "-- \r\nAlice\r\n"));
    g_byte_array_free(text, TRUE);
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
    g_free(id);
}

static void
test_bcc_is_written_only_for_drafts(void **state)
{
    struct mime_build b = {
        .from = FROM,
        .to = "bob@example.org",
        .bcc = "Dave Hidden <dave@example.org>, eve@example.org",
        .subject = "s",
        .text = "t",
    };
    GByteArray *raw = write_ok(&b, true, NULL);
    GMimeMessage *m = parse_back(raw);

    (void)state;
    assert_true(raw_has_header(raw, "Bcc"));
    assert_mailbox(g_mime_message_get_bcc(m), 0, "Dave Hidden",
                   "dave@example.org");
    assert_mailbox(g_mime_message_get_bcc(m), 1, NULL, "eve@example.org");
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);

    raw = write_ok(&b, false, NULL);
    assert_false(raw_has_header(raw, "Bcc"));
    assert_null(strstr(raw_text(raw), "dave@"));
    assert_null(strstr(raw_text(raw), "eve@"));
    g_byte_array_free(raw, TRUE);
}

static void
test_a_draft_may_have_no_recipient(void **state)
{
    struct mime_build b = {.from = "alice@postern.test", .subject = "later"};
    GByteArray *raw = write_ok(&b, true, NULL);
    GMimeMessage *m = parse_back(raw);

    (void)state;
    assert_string_equal(g_mime_message_get_subject(m), "later");
    assert_false(raw_has_header(raw, "To"));
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
}

static void
test_reply_headers_are_written_when_given(void **state)
{
    struct mime_build b = {
        .from = FROM,
        .to = "bob@example.org",
        .subject = "Re: hi",
        .text = "ok",
        .in_reply_to = "<orig.1@example.org>",
        .references = "  <root@example.org>\t<mid$x@example.org>  "
                      "<orig.1@example.org> ",
    };
    GByteArray *raw = write_ok(&b, false, NULL);
    GMimeMessage *m = parse_back(raw);
    GMimeReferences *refs;
    const char *irt;

    (void)state;
    irt = g_mime_object_get_header(GMIME_OBJECT(m), "In-Reply-To");
    assert_non_null(irt);
    assert_non_null(strstr(irt, "<orig.1@example.org>"));
    refs = g_mime_references_parse(
        NULL, g_mime_object_get_header(GMIME_OBJECT(m), "References"));
    assert_int_equal(g_mime_references_length(refs), 3);
    assert_string_equal(g_mime_references_get_message_id(refs, 0),
                        "root@example.org");
    assert_string_equal(g_mime_references_get_message_id(refs, 1),
                        "mid$x@example.org");
    assert_string_equal(g_mime_references_get_message_id(refs, 2),
                        "orig.1@example.org");
    g_mime_references_free(refs);
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
}

static void
test_ascii_text_is_7bit_and_long_lines_quoted_printable(void **state)
{
    GString *long_text = g_string_new("short line\n");
    struct mime_build b = {
        .from = FROM,
        .to = "bob@example.org",
        .text = "plain ASCII\nonly\n",
    };
    GByteArray *raw = write_ok(&b, false, NULL);
    GMimeMessage *m = parse_back(raw);
    GMimeObject *body = g_mime_message_get_mime_part(m);
    GByteArray *text;
    GString *want;

    (void)state;
    assert_int_equal(g_mime_part_get_content_encoding(GMIME_PART(body)),
                     GMIME_CONTENT_ENCODING_7BIT);
    text = part_bytes(body);
    assert_bytes_equal(text, "plain ASCII\r\nonly\r\n", 19);
    g_byte_array_free(text, TRUE);
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);

    /* a lone CR is a line end too, and the last line gets one */
    b.text = "mac\rline\r\nlast";
    raw = write_ok(&b, false, NULL);
    assert_lines_ok(raw);
    assert_true(
        g_str_has_suffix(raw_text(raw), "\r\n\r\nmac\r\nline\r\nlast\r\n"));
    g_byte_array_free(raw, TRUE);

    /* a line of 999 octets (and one of 3000 with non-ASCII) */
    for (unsigned i = 0; i < 999; i++)
        g_string_append_c(long_text, 'x');
    g_string_append(long_text, "\n");
    for (unsigned i = 0; i < 1000; i++)
        g_string_append(long_text, "é.");
    g_string_append(long_text, " \nend");
    b.text = long_text->str;
    raw = write_ok(&b, false, NULL);
    assert_lines_ok(raw);
    m = parse_back(raw);
    body = g_mime_message_get_mime_part(m);
    assert_int_equal(g_mime_part_get_content_encoding(GMIME_PART(body)),
                     GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    text = part_bytes(body);
    want = g_string_new(long_text->str);
    g_string_replace(want, "\n", "\r\n", 0);
    g_string_append(want, "\r\n"); /* the last line is ended */
    assert_bytes_equal(text, want->str, want->len);
    g_string_free(want, TRUE);
    g_byte_array_free(text, TRUE);
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);

    /* exactly 998 octets still goes as it is */
    g_string_assign(long_text, "");
    for (unsigned i = 0; i < 998; i++)
        g_string_append_c(long_text, 'y');
    b.text = long_text->str;
    raw = write_ok(&b, false, NULL);
    m = parse_back(raw);
    assert_int_equal(g_mime_part_get_content_encoding(
                         GMIME_PART(g_mime_message_get_mime_part(m))),
                     GMIME_CONTENT_ENCODING_7BIT);
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
    g_string_free(long_text, TRUE);
}

static void
test_long_headers_are_folded_under_998_octets(void **state)
{
    GString *subject = g_string_new("Re: ");
    GString *to = g_string_new(NULL);
    GString *refs = g_string_new(NULL);
    GString *name = g_string_new(NULL);
    GString *long_name = g_string_new(NULL);
    struct mime_build_attachment at = {.data = (const unsigned char *)"x",
                                       .len = 1};
    struct mime_build b = {
        .from = FROM, .text = "x", .attachments = &at, .n_attachments = 1};
    GByteArray *raw;
    GMimeMessage *m;

    (void)state;
    for (unsigned i = 0; i < 2000; i++)
        g_string_append_c(subject, 'a'); /* one ASCII word */
    for (unsigned i = 0; i < 120; i++)
        g_string_append(name, "ü");
    for (unsigned i = 0; i < 1200; i++)
        g_string_append_c(name, 'n');
    g_string_append(name, ".txt");
    at.filename = name->str;
    for (unsigned i = 0; i < 1500; i++)
        g_string_append_c(long_name, 'L'); /* a name of one long word */
    g_string_append_printf(to, "\"%s\" <long@example.org>, ", long_name->str);
    for (unsigned i = 0; i < 200; i++)
        g_string_append_printf(to, "%s\"Pérson %u\" <p%u@example.org>",
                               i > 0 ? ", " : "", i, i);
    for (unsigned i = 0; i < 200; i++)
        g_string_append_printf(refs, "<%u.abcdefghij@example.org> ", i);
    b.subject = subject->str;
    b.to = to->str;
    b.references = refs->str;
    raw = write_ok(&b, false, NULL);
    assert_lines_ok(raw);
    m = parse_back(raw);
    assert_string_equal(g_mime_message_get_subject(m), subject->str);
    assert_int_equal(internet_address_list_length(g_mime_message_get_to(m)),
                     201);
    assert_mailbox(g_mime_message_get_to(m), 0, long_name->str,
                   "long@example.org");
    assert_mailbox(g_mime_message_get_to(m), 200, "Pérson 199",
                   "p199@example.org");
    assert_string_equal(
        g_mime_part_get_filename(GMIME_PART(g_mime_multipart_get_part(
            GMIME_MULTIPART(g_mime_message_get_mime_part(m)), 1))),
        name->str);
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
    g_string_free(name, TRUE);
    g_string_free(long_name, TRUE);
    g_string_free(subject, TRUE);
    g_string_free(to, TRUE);
    g_string_free(refs, TRUE);
}

static void
test_attachments_come_back_byte_identical(void **state)
{
    GByteArray *bin = binary_payload();
    char *path = temp_file_with(bin->data, bin->len);
    static const char pdf[] = "%PDF-1.4\n\x80\x81\x82\n%%EOF\n";
    static const char latin[] = "caf\xe9\n";
    static const char fwd[] = "Subject: fwd\nFrom: x@example.net\n\n"
                              "body \xc3\xbc\nline 2\n";
    struct mime_build_attachment at[] = {
        {.filename = "données 日本.bin",
         .content_type = "application/octet-stream",
         .path = path},
        {.filename = "report.pdf",
         .content_type = "Application/PDF",
         .data = (const unsigned char *)pdf,
         .len = sizeof(pdf) - 1},
        {.filename = "latin.txt",
         .content_type = "text/plain; charset=iso-8859-1; x=\"a\r\nX: y\"",
         .data = (const unsigned char *)latin,
         .len = sizeof(latin) - 1},
        {.filename = "fwd.eml",
         .data = (const unsigned char *)fwd,
         .len = sizeof(fwd) - 1,
         .is_message = true},
        {.filename = NULL, .content_type = NULL, .data = NULL, .len = 0},
    };
    struct mime_build b = {
        .from = FROM,
        .to = "bob@example.org",
        .subject = "files",
        .text = "see attached\n",
        .attachments = at,
        .n_attachments = N_ELEMENTS(at),
    };
    GByteArray *raw = write_ok(&b, false, NULL);
    GMimeMessage *m = parse_back(raw);
    GMimeObject *top = g_mime_message_get_mime_part(m);
    GMimeMultipart *mixed;
    GMimeObject *p;
    GByteArray *got;
    GMimeMessage *inner;

    (void)state;
    assert_lines_ok(raw);
    assert_true(g_str_has_suffix(raw_text(raw), "--\r\n")); /* line ended */
    assert_false(g_str_has_suffix(raw_text(raw), "\r\n\r\n"));
    assert_true(GMIME_IS_MULTIPART(top));
    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(top),
                                            "multipart", "mixed"));
    mixed = GMIME_MULTIPART(top);
    assert_int_equal(g_mime_multipart_get_count(mixed), 6);

    p = g_mime_multipart_get_part(mixed, 0);
    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(p),
                                            "text", "plain"));
    got = part_bytes(p);
    assert_bytes_equal(got, "see attached\r\n", 14);
    g_byte_array_free(got, TRUE);

    /* binary from a file, non-ASCII name in RFC 2231 */
    p = g_mime_multipart_get_part(mixed, 1);
    assert_string_equal(g_mime_part_get_filename(GMIME_PART(p)),
                        "données 日本.bin");
    assert_string_equal(g_mime_content_disposition_get_disposition(
                            g_mime_object_get_content_disposition(p)),
                        "attachment");
    assert_int_equal(g_mime_part_get_content_encoding(GMIME_PART(p)),
                     GMIME_CONTENT_ENCODING_BASE64);
    assert_non_null(strstr(raw_text(raw), "filename*"));
    got = part_bytes(p);
    assert_bytes_equal(got, bin->data, bin->len);
    g_byte_array_free(got, TRUE);

    /* from memory, the type lower-cased */
    p = g_mime_multipart_get_part(mixed, 2);
    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(p),
                                            "application", "pdf"));
    assert_string_equal(g_mime_part_get_filename(GMIME_PART(p)), "report.pdf");
    got = part_bytes(p);
    assert_bytes_equal(got, pdf, sizeof(pdf) - 1);
    g_byte_array_free(got, TRUE);

    /* a text type keeps its charset, and nothing else of what was sent */
    p = g_mime_multipart_get_part(mixed, 3);
    assert_string_equal(g_mime_object_get_content_type_parameter(p, "charset"),
                        "iso-8859-1");
    assert_null(g_mime_object_get_content_type_parameter(p, "x"));
    assert_null(strstr(raw_text(raw), "X: y"));
    got = part_bytes(p);
    assert_bytes_equal(got, latin, sizeof(latin) - 1);
    g_byte_array_free(got, TRUE);

    /* the forwarded message: message/rfc822, 8bit, CRLF, not base64 */
    p = g_mime_multipart_get_part(mixed, 4);
    assert_true(GMIME_IS_MESSAGE_PART(p));
    assert_string_equal(
        g_mime_object_get_header(p, "Content-Transfer-Encoding"), "8bit");
    assert_string_equal(
        g_mime_content_disposition_get_parameter(
            g_mime_object_get_content_disposition(p), "filename"),
        "fwd.eml");
    inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(p));
    assert_string_equal(g_mime_message_get_subject(inner), "fwd");
    assert_non_null(strstr(raw_text(raw),
                           "Subject: fwd\r\nFrom: x@example.net"
                           "\r\n\r\nbody \xc3\xbc\r\nline 2\r\n"));

    /* no name, no type, no bytes */
    p = g_mime_multipart_get_part(mixed, 5);
    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(p),
                                            "application", "octet-stream"));
    assert_null(g_mime_part_get_filename(GMIME_PART(p)));
    got = part_bytes(p);
    assert_int_equal(got->len, 0);
    g_byte_array_free(got, TRUE);

    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
    unlink(path);
    g_free(path);
    g_byte_array_free(bin, TRUE);
}

static void
test_a_message_that_cannot_travel_as_8bit_goes_as_octet_stream(void **state)
{
    static const char bad[] = "Subject: x\r\n\r\nNUL \0 here\r\n";
    struct mime_build_attachment at = {
        .data = (const unsigned char *)bad,
        .len = sizeof(bad) - 1,
        .is_message = true,
    };
    struct mime_build b = {
        .from = FROM,
        .to = "bob@example.org",
        .attachments = &at,
        .n_attachments = 1,
    };
    GByteArray *raw = write_ok(&b, false, NULL);
    GMimeMessage *m = parse_back(raw);
    GMimeObject *p = g_mime_multipart_get_part(
        GMIME_MULTIPART(g_mime_message_get_mime_part(m)), 1);
    GByteArray *got;

    (void)state;
    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(p),
                                            "application", "octet-stream"));
    assert_string_equal(g_mime_part_get_filename(GMIME_PART(p)), "message.eml");
    assert_int_equal(g_mime_part_get_content_encoding(GMIME_PART(p)),
                     GMIME_CONTENT_ENCODING_BASE64);
    got = part_bytes(p);
    assert_bytes_equal(got, bad, sizeof(bad) - 1);
    g_byte_array_free(got, TRUE);
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
}

static void
test_content_types_that_are_not_clean_become_octet_stream(void **state)
{
    static const char *const types[] = {
        "multipart/mixed; boundary=x",
        "message/rfc822",
        "garbage",
        "",
        "text/",
        "/plain",
        "te xt/plain",
    };
    struct mime_build_attachment at[N_ELEMENTS(types)];
    struct mime_build b = {
        .from = FROM,
        .to = "bob@example.org",
        .attachments = at,
        .n_attachments = N_ELEMENTS(types),
    };
    GByteArray *raw;
    GMimeMessage *m;
    GMimeMultipart *mixed;

    (void)state;
    memset(at, 0, sizeof(at));
    for (size_t i = 0; i < N_ELEMENTS(types); i++) {
        at[i].content_type = types[i];
        at[i].data = (const unsigned char *)"x";
        at[i].len = 1;
    }
    raw = write_ok(&b, false, NULL);
    m = parse_back(raw);
    mixed = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
    for (size_t i = 0; i < N_ELEMENTS(types); i++) {
        GMimeObject *p = g_mime_multipart_get_part(mixed, (int)i + 1);

        if (!g_mime_content_type_is_type(g_mime_object_get_content_type(p),
                                         "application", "octet-stream"))
            fail_msg("\"%s\" was kept", types[i]);
    }
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
}

static void
test_missing_attachment_file_is_an_internal_error(void **state)
{
    struct mime_build_attachment at = {.path = "/nonexistent/postern/x"};
    struct mime_build b = {
        .from = FROM,
        .to = "bob@example.org",
        .attachments = &at,
        .n_attachments = 1,
    };
    GMimeStream *out = g_mime_stream_mem_new();
    struct err err = {0};
    char *id = NULL;

    (void)state;
    assert_int_equal(mime_build_write(&b, false, out, &id, &err), -1);
    assert_int_equal(err.kind, ERR_INTERNAL);
    assert_null(id);
    g_object_unref(out);
}

static void
test_message_id_domain_defaults_to_the_senders(void **state)
{
    struct mime_build b = {
        .from = "Zoë <zoe@Bücher.example>",
        .to = "bob@example.org",
    };
    char *id = NULL;
    GByteArray *raw = write_ok(&b, false, &id);

    (void)state;
    assert_true(g_str_has_suffix(id, "@xn--bcher-kva.example>"));
    assert_true(g_str_has_prefix(id, "<"));
    g_free(id);
    g_byte_array_free(raw, TRUE);
}

/* ---------------------------------------------------------------------
 * Checking what was typed
 */

static void
test_bad_addresses_are_refused_naming_field_and_text(void **state)
{
    const struct mime_build good = {.from = FROM, .to = "bob@example.org"};
    struct mime_build b;

    (void)state;
    b = good;
    b.to = "bob@";
    assert_check_fails(&b, "To: \"bob@\" is not an e-mail address");
    b = good;
    b.to = "ok@example.org, carol";
    assert_check_fails(&b, "To: \"carol\" is not an e-mail address");
    b = good;
    b.cc = "Carol <carol@>";
    assert_check_fails(&b, "Cc: \"Carol <carol@>\" is not an e-mail address");
    b = good;
    b.bcc = "@example.org";
    assert_check_fails(&b, "Bcc: \"@example.org\" is not an e-mail address");
    b = good;
    b.to = "a@example.org b@example.org"; /* a missing comma */
    assert_check_fails(&b, "To: \"a@example.org b@example.org\"");
    b = good;
    b.to = "foo@bar@baz.org";
    assert_check_fails(&b, "To: \"foo@bar@baz.org\"");
    b = good;
    b.to = "Smith, John <john@example.org>"; /* an unquoted comma */
    assert_check_fails(&b, "To: \"Smith\" is not an e-mail address");
    b = good;
    b.to = "Team: ok@example.org, nope;";
    assert_check_fails(&b, "To: \"nope\" is not an e-mail address");
    b = good;
    b.from = "not an address";
    assert_check_fails(&b, "From: \"not an address\" is not an e-mail");
    b = good;
    b.from = "a@example.org, b@example.org";
    assert_check_fails(&b, "From: \"a@example.org, b@example.org\" is not one");
    b = good;
    b.from = "";
    assert_check_fails(&b, "From: no sender address");
    b = good;
    b.from = NULL;
    assert_check_fails(&b, "From: no sender address");
}

static void
test_no_recipient_is_refused(void **state)
{
    struct mime_build b = {.from = FROM};

    (void)state;
    assert_check_fails(&b, "no recipient");
    b.to = "";
    b.cc = " , ;";
    b.bcc = "Undisclosed recipients:;";
    assert_check_fails(&b, "no recipient");
}

static void
test_line_breaks_in_header_text_are_refused(void **state)
{
    const struct mime_build good = {
        .from = FROM,
        .to = "bob@example.org",
        .subject = "fine",
    };
    struct mime_build_attachment at = {.filename = "a\r\nb.txt"};
    struct mime_build b;
    GMimeStream *out;
    struct err err = {0};

    (void)state;
    b = good;
    b.subject = "hi\r\nBcc: victim@example.org";
    assert_check_fails(&b, "the subject holds a line break");
    b = good;
    b.subject = "only a LF\n";
    assert_check_fails(&b, "the subject holds a line break");
    b = good;
    b.subject = "only a CR\r";
    assert_check_fails(&b, "the subject holds a line break");
    b = good;
    b.to = "\"Bob\nBcc: victim@example.org\" <bob@example.org>";
    assert_check_fails(&b, "the To field holds a line break");
    b = good;
    b.from = "Alice\r <alice@postern.test>";
    assert_check_fails(&b, "the From field holds a line break");
    b = good;
    b.cc = "c@example.org\r\n";
    assert_check_fails(&b, "the Cc field holds a line break");
    b = good;
    b.in_reply_to = "<a@b>\r\nX: y";
    assert_check_fails(&b, "In-Reply-To holds a line break");
    b = good;
    b.attachments = &at;
    b.n_attachments = 1;
    assert_check_fails(&b, "the attachment name \"a??b.txt\" holds a line");

    /* write() refuses the same, and writes nothing */
    b = good;
    b.subject = "hi\r\nBcc: victim@example.org";
    out = g_mime_stream_mem_new();
    assert_int_equal(mime_build_write(&b, false, out, NULL, &err), -1);
    assert_int_equal(err.kind, ERR_INPUT);
    assert_int_equal(g_mime_stream_length(out), 0);
    g_object_unref(out);
}

static void
test_invalid_utf8_is_refused(void **state)
{
    const struct mime_build good = {.from = FROM, .to = "bob@example.org"};
    struct mime_build b;

    (void)state;
    b = good;
    b.subject = "caf\xe9";
    assert_check_fails(&b, "the subject is not valid UTF-8");
    b = good;
    b.to = "J\xf6hn <john@example.org>";
    assert_check_fails(&b, "the To field is not valid UTF-8");
    b = good;
    b.text = "body \xc3\x28";
    assert_check_fails(&b, "the text is not valid UTF-8");
    b = good;
    b.text = "overlong \xc0\xaf";
    assert_check_fails(&b, "the text is not valid UTF-8");
}

static void
test_bad_message_ids_and_domain_are_refused(void **state)
{
    const struct mime_build good = {.from = FROM, .to = "bob@example.org"};
    struct mime_build b;

    (void)state;
    b = good;
    b.in_reply_to = "no-brackets@example.org";
    assert_check_fails(&b, "In-Reply-To: \"no-brackets@example.org\" is not");
    b = good;
    b.in_reply_to = "<a@x> <b@y>";
    assert_check_fails(&b, "In-Reply-To: \"<b@y>\" is not a message id");
    b = good;
    b.references = "<a@x> <b y@z>";
    assert_check_fails(&b, "References: \"<b\" is not a message id");
    b = good;
    b.references = "<a@x> <>";
    assert_check_fails(&b, "References: \"<>\"");
    b = good;
    b.message_id_domain = "bad domain!";
    assert_check_fails(&b, "the Message-ID domain \"bad domain!\"");
}

static void
test_recipients_are_bare_and_listed_once(void **state)
{
    struct mime_build b = {
        .from = FROM,
        .to = "Bob <bob@example.org>; \"Carol, C.\" <carol@example.org>;"
              "bob@EXAMPLE.org",
        .cc = "Team: dave@example.org, bob@example.org;, Bob@example.org",
        .bcc = "x@bücher.de, carol@example.org (Carol again)",
    };
    static const char *const want[] = {
        "bob@example.org", "carol@example.org",  "dave@example.org",
        "Bob@example.org", "x@xn--bcher-kva.de",
    };
    GPtrArray *rcpts = g_ptr_array_new_with_free_func(g_free);
    struct err err = {0};

    (void)state;
    assert_int_equal(mime_build_check(&b, rcpts, &err), 0);
    if (rcpts->len != N_ELEMENTS(want)) {
        for (guint i = 0; i < rcpts->len; i++)
            print_message("rcpt %u: %s\n", i,
                          (char *)g_ptr_array_index(rcpts, i));
        fail_msg("%u recipients, want %zu", rcpts->len, N_ELEMENTS(want));
    }
    for (size_t i = 0; i < N_ELEMENTS(want); i++)
        assert_string_equal(g_ptr_array_index(rcpts, i), want[i]);
    g_ptr_array_free(rcpts, TRUE);

    /* a NULL list is fine */
    assert_int_equal(mime_build_check(&b, NULL, &err), 0);
}

static void
test_groups_and_semicolons_are_written_as_typed(void **state)
{
    struct mime_build b = {
        .from = FROM,
        .to = "a@example.org; b@example.org",
        .cc = "Team: c@example.org, d@example.org;",
    };
    GByteArray *raw = write_ok(&b, false, NULL);
    GMimeMessage *m = parse_back(raw);
    InternetAddressList *cc = g_mime_message_get_cc(m);
    InternetAddress *group;

    (void)state;
    assert_mailbox(g_mime_message_get_to(m), 0, NULL, "a@example.org");
    assert_mailbox(g_mime_message_get_to(m), 1, NULL, "b@example.org");
    assert_int_equal(internet_address_list_length(cc), 1);
    group = internet_address_list_get_address(cc, 0);
    assert_true(INTERNET_ADDRESS_IS_GROUP(group));
    assert_string_equal(internet_address_get_name(group), "Team");
    assert_mailbox(
        internet_address_group_get_members(INTERNET_ADDRESS_GROUP(group)), 1,
        NULL, "d@example.org");
    g_object_unref(m);
    g_byte_array_free(raw, TRUE);
}

int
main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_and_text_parse_back_decoded),
        cmocka_unit_test(test_bcc_is_written_only_for_drafts),
        cmocka_unit_test(test_a_draft_may_have_no_recipient),
        cmocka_unit_test(test_reply_headers_are_written_when_given),
        cmocka_unit_test(
            test_ascii_text_is_7bit_and_long_lines_quoted_printable),
        cmocka_unit_test(test_long_headers_are_folded_under_998_octets),
        cmocka_unit_test(test_attachments_come_back_byte_identical),
        cmocka_unit_test(
            test_a_message_that_cannot_travel_as_8bit_goes_as_octet_stream),
        cmocka_unit_test(
            test_content_types_that_are_not_clean_become_octet_stream),
        cmocka_unit_test(test_missing_attachment_file_is_an_internal_error),
        cmocka_unit_test(test_message_id_domain_defaults_to_the_senders),
        cmocka_unit_test(test_bad_addresses_are_refused_naming_field_and_text),
        cmocka_unit_test(test_no_recipient_is_refused),
        cmocka_unit_test(test_line_breaks_in_header_text_are_refused),
        cmocka_unit_test(test_invalid_utf8_is_refused),
        cmocka_unit_test(test_bad_message_ids_and_domain_are_refused),
        cmocka_unit_test(test_recipients_are_bare_and_listed_once),
        cmocka_unit_test(test_groups_and_semicolons_are_written_as_typed),
    };

    g_mime_init();
    return cmocka_run_group_tests_name("mime_build", tests, NULL, NULL);
}
