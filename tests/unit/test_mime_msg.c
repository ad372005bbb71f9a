/* test_mime_msg.c - raw messages (the fixtures, generated ones, garbage)
 * into envelope, parts and section bytes. The expected part lists are
 * Dovecot 2.3's BODYSTRUCTURE of the same files, walked as store_imap does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "core/arena.h"
#include "core/limits.h"
#include "mime/mime_decode.h"
#include "mime/mime_msg.h"

/* ---------------------------------------------------------------------
 * Helpers
 */

static char *
fixture_load(const char *name, size_t *len_out)
{
    char *path = g_strdup_printf("%s/tests/fixtures/%s.eml", SOURCE_DIR, name);
    char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, NULL))
        fail_msg("cannot read %s", path);
    g_free(path);
    *len_out = len;
    return data;
}

static struct mime_msg *
parse_ok(struct arena *a, const void *data, size_t len)
{
    struct mime_msg *m = NULL;
    struct err err = {0};

    if (mime_msg_parse(a, data, len, &m, &err) != 0)
        fail_msg("parse failed: %s", err.msg);
    assert_non_null(m);
    return m;
}

/* One line per part: section|parent|depth|type/subtype|charset|encoding|
 * filename|content id|disposition|flowed delsp|size, "-" for NULL. */
static char *
parts_string(const struct mime_msg *m)
{
    size_t n;
    const struct mime_part *p = mime_msg_parts(m, &n);
    GString *s = g_string_new("");

#define S(x) ((x) != NULL ? (x) : "-")
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(s, "%s|%d|%u|%s/%s|%s|%s|%s|%s|%s|%d%d|%llu\n",
                               p[i].section, p[i].parent, p[i].depth, p[i].type,
                               p[i].subtype, S(p[i].charset), p[i].encoding,
                               S(p[i].filename), S(p[i].content_id),
                               S(p[i].disposition), p[i].flowed, p[i].delsp,
                               (unsigned long long)p[i].size);
#undef S
    return g_string_free(s, FALSE);
}

static void
section_bytes(const struct mime_msg *m, const char *section,
              const unsigned char **d, size_t *len)
{
    struct err err = {0};

    if (mime_msg_section(m, section, d, len, &err) != 0)
        fail_msg("no section %s: %s", section, err.msg);
}

static void
assert_section_is(const struct mime_msg *m, const char *section,
                  const char *expected)
{
    const unsigned char *d;
    size_t len;

    section_bytes(m, section, &d, &len);
    if (len != strlen(expected) || memcmp(d, expected, len) != 0)
        fail_msg("section %s is \"%.*s\", want \"%s\"", section, (int)len, d,
                 expected);
}

/* The slice lies inside the parsed buffer: no copy was made. */
static void
assert_slice_of(const struct mime_msg *m, const char *section, const char *buf,
                size_t buflen)
{
    const unsigned char *d;
    size_t len;

    section_bytes(m, section, &d, &len);
    assert_true((const char *)d >= buf &&
                (const char *)d + len <= buf + buflen);
}

static GString *
decode_base64(const unsigned char *d, size_t len)
{
    struct mime_decoder *dec = mime_decoder_new("base64", NULL);
    GString *out = g_string_new(NULL);

    mime_decoder_feed(dec, d, len, out);
    mime_decoder_finish(dec, out);
    mime_decoder_free(&dec);
    return out;
}

/* ---------------------------------------------------------------------
 * Fixtures: the part list is Dovecot's
 */

struct fixture_case {
    const char *name;
    const char *parts;
};

static const struct fixture_case fixture_cases[] = {
    {"plain-ascii", "1|-1|0|text/plain|us-ascii|7bit|-|-|-|00|169\n"},
    {"alternative", "|-1|0|multipart/alternative|-|7bit|-|-|-|00|0\n"
                    "1|0|1|text/plain|us-ascii|7bit|-|-|-|00|40\n"
                    "2|0|1|text/html|us-ascii|7bit|-|-|-|00|79\n"},
    {"mixed-attachments",
     "|-1|0|multipart/mixed|-|7bit|-|-|-|00|0\n"
     "1|0|1|text/plain|us-ascii|7bit|-|-|-|00|37\n"
     "2|0|1|application/pdf|-|base64|report.pdf|-|attachment|00|114\n"
     "3|0|1|application/pdf|-|base64|R\xc3\xa9sum\xc3\xa9 ann\xc3\xa9"
     "e 2026.pdf|-|attachment|00|130\n"
     "4|0|1|text/csv|utf-8|base64|\xc3\x9c"
     "bersicht Q1 \xe2\x82\xac.csv|-|attachment|00|40\n"
     "5|0|1|text/plain|utf-8|base64|\xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc"
     "\xce\xad\xcf\x81\xce\xb1 \xce\xb1\xcf\x80\xcf\x8c \xcf\x84\xce\xb7\xce"
     "\xbd \xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1.txt|-|attachment|00|60\n"
     "6|0|1|text/html|us-ascii|7bit|page.html|-|attachment|00|66\n"
     "7|0|1|image/svg+xml|-|7bit|drawing.svg|-|inline|00|128\n"
     "8|0|1|image/png|-|base64|pixel.png|-|attachment|00|94\n"},
    {"related-cid",
     "|-1|0|multipart/related|-|7bit|-|-|-|00|0\n"
     "1|0|1|text/html|utf-8|7bit|-|-|-|00|139\n"
     "2|0|1|image/png|-|base64|logo.png|logo.png@fixture.postern.test|"
     "inline|00|102\n"},
    {"forwarded",
     "|-1|0|multipart/mixed|-|7bit|-|-|-|00|0\n"
     "1|0|1|text/plain|us-ascii|7bit|-|-|-|00|34\n"
     "2|0|1|message/rfc822|-|7bit|-|-|inline|00|776\n"
     "2|2|2|multipart/mixed|-|7bit|-|-|-|00|0\n"
     "2.1|3|3|multipart/alternative|-|7bit|-|-|-|00|0\n"
     "2.1.1|4|4|text/plain|utf-8|7bit|-|-|-|00|25\n"
     "2.1.2|4|4|text/html|utf-8|7bit|-|-|-|00|38\n"
     "2.2|3|3|text/plain|utf-8|7bit|notes.txt|-|attachment|00|23\n"},
    {"signed",
     "|-1|0|multipart/signed|-|7bit|-|-|-|00|0\n"
     "1|0|1|text/plain|utf-8|7bit|-|-|-|00|33\n"
     "2|0|1|application/pgp-signature|-|7bit|signature.asc|-|attachment|00|"
     "171\n"},
    {"encrypted",
     "|-1|0|multipart/encrypted|-|7bit|-|-|-|00|0\n"
     "1|0|1|application/pgp-encrypted|-|7bit|-|-|-|00|12\n"
     "2|0|1|application/octet-stream|-|7bit|encrypted.asc|-|inline|00|189\n"},
    {"broken-8bit-header", "1|-1|0|text/plain|us-ascii|7bit|-|-|-|00|61\n"},
    {"broken-base64",
     "|-1|0|multipart/mixed|-|7bit|-|-|-|00|0\n"
     "1|0|1|text/plain|utf-8|base64|-|-|-|00|159\n"
     "2|0|1|application/octet-stream|-|base64|garbage.bin|-|attachment|00|"
     "20\n"},
    /* Dovecot: multipart/mixed with one empty text/plain; we show the body
     * (what message_untagged does with a structure it cannot read) */
    {"broken-boundary-mismatch", "1|-1|0|text/plain|-|8bit|-|-|-|00|303\n"},
    {"broken-no-boundary", "1|-1|0|text/plain|-|8bit|-|-|-|00|118\n"},
    {"broken-unknown-charset",
     "1|-1|0|text/plain|x-nonsense|8bit|-|-|-|00|77\n"},
    {"encoded-koi8r", "1|-1|0|text/plain|koi8-r|8bit|-|-|-|00|39\n"},
    {"encoded-latin1-q", "1|-1|0|text/plain|iso-8859-1|8bit|-|-|-|00|58\n"},
    {"encoded-sjis", "1|-1|0|text/plain|shift_jis|8bit|-|-|-|00|43\n"},
    {"encoded-utf8-b", "1|-1|0|text/plain|utf-8|base64|-|-|-|00|46\n"},
    {"flowed-delsp", "1|-1|0|text/plain|utf-8|7bit|-|-|-|11|90\n"},
};

static void
test_fixture_parts_match_dovecot_bodystructure(void **state)
{
    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(fixture_cases); i++) {
        struct arena *a = arena_new(0);
        size_t len;
        char *data = fixture_load(fixture_cases[i].name, &len);
        char *got = parts_string(parse_ok(a, data, len));

        if (strcmp(got, fixture_cases[i].parts) != 0)
            fail_msg("%s: parts\n%swant\n%s", fixture_cases[i].name, got,
                     fixture_cases[i].parts);
        g_free(got);
        arena_free(&a);
        g_free(data);
    }
}

/* ---------------------------------------------------------------------
 * Envelopes
 */

static void
test_envelope_of_a_plain_message(void **state)
{
    struct arena *a = arena_new(0);
    size_t len;
    char *data = fixture_load("plain-ascii", &len);
    const struct mime_envelope *e = mime_msg_envelope(parse_ok(a, data, len));

    (void)state;
    assert_string_equal(e->subject, "Fixture plain ASCII: quarterly figures");
    assert_int_equal(e->date, 1772543109); /* Tue, 03 Mar 2026 14:05:09 +0100 */
    assert_int_equal(e->n_from, 1);
    assert_string_equal(e->from[0].name, "Bob Builder");
    assert_string_equal(e->from[0].email, "bob@postern.test");
    assert_int_equal(e->n_to, 1);
    assert_string_equal(e->to[0].email, "alice@postern.test");
    /* a bare address has an empty name */
    assert_int_equal(e->n_cc, 1);
    assert_string_equal(e->cc[0].name, "");
    assert_string_equal(e->cc[0].email, "carol@example.org");
    /* no Reply-To: IMAP's ENVELOPE gives From */
    assert_int_equal(e->n_reply_to, 1);
    assert_string_equal(e->reply_to[0].email, "bob@postern.test");
    assert_string_equal(e->message_id, "<plain-ascii@fixture.postern.test>");
    assert_null(e->in_reply_to);
    arena_free(&a);
    g_free(data);
}

static void
test_envelope_names_and_subjects_are_decoded(void **state)
{
    struct arena *a = arena_new(0);
    size_t len;
    char *data = fixture_load("encoded-utf8-b", &len);
    const struct mime_envelope *e = mime_msg_envelope(parse_ok(a, data, len));
    char *d2;
    size_t len2;

    (void)state;
    /* two folded encoded-words, joined without the space */
    assert_string_equal(e->subject, "Gr\xc3\xbc\xc3\x9f"
                                    "e aus Z\xc3\xbcrich \xe2\x80\x94 "
                                    "\xe4\xb8\x96\xe7\x95\x8c \xe2\x9c\x93");
    assert_string_equal(e->from[0].name, "J\xc3\xbcrgen Wei\xc3\x9f");
    assert_int_equal(e->n_to, 2);
    assert_string_equal(e->to[0].name, "Alice Example");
    assert_string_equal(e->to[1].name, "Bj\xc3\xb6rn");
    assert_string_equal(e->to[1].email, "bjorn@example.se");
    assert_string_equal(e->cc[0].name, "Zo\xc3\xab \xc3\x96lund");
    assert_int_equal(e->n_reply_to, 1);
    assert_string_equal(e->reply_to[0].name, "J\xc3\xbcrgen (B\xc3\xbcro)");
    assert_string_equal(e->reply_to[0].email, "buero@example.de");

    /* raw Latin-1 in Subject and From: valid UTF-8 all the same */
    d2 = fixture_load("broken-8bit-header", &len2);
    e = mime_msg_envelope(parse_ok(a, d2, len2));
    assert_true(g_utf8_validate(e->subject, -1, NULL));
    assert_string_equal(e->subject,
                        "Caf\xc3\xa9 cr\xc3\xa8me: raw 8-bit header");
    assert_true(g_utf8_validate(e->from[0].name, -1, NULL));
    assert_string_equal(e->from[0].email, "rene@example.org");
    arena_free(&a);
    g_free(data);
    g_free(d2);
}

static void
test_embedded_message_has_its_envelope(void **state)
{
    struct arena *a = arena_new(0);
    size_t len, n;
    char *data = fixture_load("forwarded", &len);
    struct mime_msg *m = parse_ok(a, data, len);
    const struct mime_part *p = mime_msg_parts(m, &n);

    (void)state;
    assert_string_equal(mime_msg_envelope(m)->subject, "Fwd: \xc3\x87"
                                                       "a marche");
    assert_null(p[0].envelope);
    assert_null(p[1].envelope);
    assert_non_null(p[2].envelope);
    assert_string_equal(p[2].envelope->subject, "\xc3\x87"
                                                "a marche");
    assert_string_equal(p[2].envelope->from[0].name, "Zo\xc3\xab \xc3\x96lund");
    assert_int_equal(p[2].envelope->date, 1770024600); /* 2 Feb 2026 09:30 */
    assert_string_equal(p[2].envelope->message_id,
                        "<inner-forwarded@fixture.postern.test>");
    assert_null(p[3].envelope);
    arena_free(&a);
    g_free(data);
}

static void
test_groups_are_flattened_and_missing_headers_are_empty(void **state)
{
    static const char msg[] =
        "Subject: e\r\nContent-Type: message/rfc822\r\n\r\n"
        "Subject: inner\r\nTo: undisclosed-recipients:;\r\n"
        "Cc: grp: a@b.c, \"N\" <d@e.f>;\r\nIn-Reply-To:  <x@y>\r\n"
        "Date: garbage\r\n\r\ninner body\r\n";
    struct arena *a = arena_new(0);
    struct mime_msg *m = parse_ok(a, msg, sizeof(msg) - 1);
    const struct mime_envelope *top = mime_msg_envelope(m);
    size_t n;
    const struct mime_part *p = mime_msg_parts(m, &n);
    const struct mime_envelope *e;

    (void)state;
    assert_int_equal(top->date, 0);
    assert_int_equal(top->n_from, 0);
    assert_int_equal(top->n_reply_to, 0);
    assert_null(top->message_id);
    assert_int_equal(n, 2);
    e = p[0].envelope;
    assert_non_null(e);
    assert_int_equal(e->n_to, 0);
    assert_int_equal(e->n_cc, 2);
    assert_string_equal(e->cc[0].email, "a@b.c");
    assert_string_equal(e->cc[1].name, "N");
    assert_string_equal(e->cc[1].email, "d@e.f");
    assert_string_equal(e->in_reply_to, "<x@y>");
    assert_int_equal(e->date, 0);
    arena_free(&a);
}

/* ---------------------------------------------------------------------
 * Section bytes: what BODY[section] gives (checked against Dovecot)
 */

static void
test_sections_of_attachments_decode_to_their_content(void **state)
{
    static const unsigned char png_sig[] = {0x89, 'P',  'N',  'G',
                                            '\r', '\n', 0x1a, '\n'};
    struct arena *a = arena_new(0);
    size_t len;
    char *data = fixture_load("mixed-attachments", &len);
    struct mime_msg *m = parse_ok(a, data, len);
    const unsigned char *d;
    size_t dl;
    GString *dec;

    (void)state;
    assert_section_is(m, "4", "UXVhcnRhbDtVbXNhdHoKUTE7MTIgNTAwIOKCrAo=");
    section_bytes(m, "4", &d, &dl);
    dec = decode_base64(d, dl);
    assert_string_equal(dec->str, "Quartal;Umsatz\nQ1;12 500 \xe2\x82\xac\n");
    g_string_free(dec, TRUE);

    section_bytes(m, "8", &d, &dl);
    assert_int_equal(dl, 94);
    dec = decode_base64(d, dl);
    assert_true(dec->len > sizeof(png_sig));
    assert_memory_equal(dec->str, png_sig, sizeof(png_sig));
    g_string_free(dec, TRUE);

    section_bytes(m, "2", &d, &dl);
    dec = decode_base64(d, dl);
    assert_true(g_str_has_prefix(dec->str, "%PDF-1.4"));
    g_string_free(dec, TRUE);

    assert_section_is(m, "1", "MIXEDMARKER Seven attachments follow.");
    for (const char *s = "12345678"; *s != '\0'; s++) {
        char sec[2] = {*s, '\0'};

        assert_slice_of(m, sec, data, len);
    }
    arena_free(&a);
    g_free(data);
}

static void
test_embedded_message_section_is_the_whole_message(void **state)
{
    static const char inner_start[] =
        "From: =?utf-8?Q?Zo=C3=AB_=C3=96lund?= <zoe@example.org>\r\n";
    static const char inner_end[] = "--fwd-inner-mixed--\r\n";
    struct arena *a = arena_new(0);
    size_t len;
    char *data = fixture_load("forwarded", &len);
    struct mime_msg *m = parse_ok(a, data, len);
    const unsigned char *d;
    size_t dl;
    const char *start = strstr(data, inner_start);
    const char *end = strstr(data, inner_end);

    (void)state;
    assert_non_null(start);
    assert_non_null(end);
    section_bytes(m, "2", &d, &dl);
    /* from the embedded headers to its close delimiter and CRLF; the CRLF
     * before --fwd-outer-- is the outer boundary's */
    assert_ptr_equal((const char *)d, start);
    assert_int_equal(dl, (size_t)(end + strlen(inner_end) - start));
    assert_int_equal(dl, 776);
    assert_section_is(m, "2.1.1", "Inner plain FWDTEXTMARKER");
    assert_section_is(m, "2.1.2", "<p>Inner <i>HTML</i> FWDHTMLMARKER</p>");
    assert_section_is(m, "2.2", "Inner attachment notes.");
    /* a multipart's section is its body: preamble, parts, epilogue */
    assert_section_is(m, "2.1",
                      "--fwd-inner-alt\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                      "Inner plain FWDTEXTMARKER\r\n"
                      "--fwd-inner-alt\r\n"
                      "Content-Type: text/html; charset=utf-8\r\n\r\n"
                      "<p>Inner <i>HTML</i> FWDHTMLMARKER</p>\r\n"
                      "--fwd-inner-alt--\r\n");
    arena_free(&a);
    g_free(data);
}

static void
test_headers_and_text_split_the_message(void **state)
{
    struct arena *a = arena_new(0);
    size_t len, hl;
    char *data = fixture_load("plain-ascii", &len);
    struct mime_msg *m = parse_ok(a, data, len);
    const char *h;
    const unsigned char *d;
    size_t dl;

    (void)state;
    mime_msg_headers(m, &h, &hl);
    assert_ptr_equal(h, data);
    assert_int_equal(hl, 367);
    assert_memory_equal(h + hl - 4, "\r\n\r\n", 4);
    assert_true(g_str_has_prefix(h, "From: Bob Builder"));
    section_bytes(m, "", &d, &dl);
    assert_ptr_equal((const char *)d, data + hl);
    assert_int_equal(hl + dl, len);
    /* the single part "1" is the whole body */
    section_bytes(m, "1", &d, &dl);
    assert_ptr_equal((const char *)d, data + hl);
    assert_int_equal(dl, len - hl);
    arena_free(&a);
    g_free(data);
}

static void
test_sections_that_are_not_there_are_not_found(void **state)
{
    static const char *const missing[] = {"3",     "0", "2.3", "1.1",
                                          "2.1.3", "x", "2."};
    struct arena *a = arena_new(0);
    size_t len;
    char *data = fixture_load("forwarded", &len);
    struct mime_msg *m = parse_ok(a, data, len);

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(missing); i++) {
        const unsigned char *d = NULL;
        size_t dl = 0;
        struct err err = {0};

        assert_int_equal(mime_msg_section(m, missing[i], &d, &dl, &err), -1);
        assert_int_equal(err.kind, ERR_NOT_FOUND);
    }
    arena_free(&a);
    g_free(data);
}

/* Shapes checked by hand against Dovecot: a digest's header-less parts are
 * message/rfc822; a multipart's epilogue belongs to its body. */
static void
test_digest_and_nested_shapes_match_dovecot(void **state)
{
    static const char digest[] =
        "Subject: d\r\nContent-Type: multipart/digest; boundary=D\r\n\r\n"
        "pre\r\n--D\r\n\r\nSubject: in1\r\n\r\nbody1\r\n--D\r\n"
        "Content-Type: message/rfc822\r\n\r\nSubject: in2\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: Base64\r\n\r\naGk=\r\n--D--\r\nepi\r\n";
    static const char nested[] =
        "Subject: f\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n"
        "--X\r\nContent-Type: multipart/alternative; boundary=Y\r\n\r\n"
        "--Y\r\n\r\na\r\n--Y--\r\nepi-y\r\n--X\r\n"
        "Content-Type: message/rfc822\r\n\r\nSubject: g\r\n"
        "Content-Type: multipart/mixed; boundary=Z\r\n\r\n"
        "--Z\r\n\r\nz1\r\n--Z--\r\n\r\n--X--\r\n";
    struct arena *a = arena_new(0);
    struct mime_msg *m = parse_ok(a, digest, sizeof(digest) - 1);
    char *got = parts_string(m);

    (void)state;
    assert_string_equal(got, "|-1|0|multipart/digest|-|7bit|-|-|-|00|0\n"
                             "1|0|1|message/rfc822|-|7bit|-|-|-|00|21\n"
                             "1.1|1|2|text/plain|us-ascii|7bit|-|-|-|00|5\n"
                             "2|0|1|message/rfc822|-|7bit|-|-|-|00|96\n"
                             "2.1|3|2|text/plain|utf-8|base64|-|-|-|00|4\n");
    g_free(got);
    assert_section_is(m, "1", "Subject: in1\r\n\r\nbody1");
    assert_section_is(m, "2.1", "aGk=");

    m = parse_ok(a, nested, sizeof(nested) - 1);
    got = parts_string(m);
    assert_string_equal(got, "|-1|0|multipart/mixed|-|7bit|-|-|-|00|0\n"
                             "1|0|1|multipart/alternative|-|7bit|-|-|-|00|0\n"
                             "1.1|1|2|text/plain|us-ascii|7bit|-|-|-|00|1\n"
                             "2|0|1|message/rfc822|-|7bit|-|-|-|00|75\n"
                             "2|3|2|multipart/mixed|-|7bit|-|-|-|00|0\n"
                             "2.1|4|3|text/plain|us-ascii|7bit|-|-|-|00|2\n");
    g_free(got);
    assert_section_is(m, "1", "--Y\r\n\r\na\r\n--Y--\r\nepi-y");
    assert_section_is(m, "2",
                      "Subject: g\r\n"
                      "Content-Type: multipart/mixed; boundary=Z\r\n"
                      "\r\n--Z\r\n\r\nz1\r\n--Z--\r\n");
    assert_section_is(m, "2.1", "z1");
    arena_free(&a);
}

static void
test_lf_line_ends_give_the_same_shape(void **state)
{
    static const char msg[] =
        "Subject: lf\nContent-Type: multipart/mixed; boundary=B\n\n"
        "--B\nContent-Type: text/plain\n\nhello\n"
        "--B\nContent-Type: message/rfc822\n\nSubject: in\n\nbody\n"
        "--B--\n";
    struct arena *a = arena_new(0);
    struct mime_msg *m = parse_ok(a, msg, sizeof(msg) - 1);
    char *got = parts_string(m);
    const char *h;
    size_t hl;

    (void)state;
    assert_string_equal(got, "|-1|0|multipart/mixed|-|7bit|-|-|-|00|0\n"
                             "1|0|1|text/plain|us-ascii|7bit|-|-|-|00|5\n"
                             "2|0|1|message/rfc822|-|7bit|-|-|-|00|17\n"
                             "2.1|2|2|text/plain|us-ascii|7bit|-|-|-|00|4\n");
    g_free(got);
    assert_section_is(m, "2", "Subject: in\n\nbody");
    mime_msg_headers(m, &h, &hl);
    assert_int_equal(hl, strlen("Subject: lf\nContent-Type: multipart/mixed; "
                                "boundary=B\n\n"));
    arena_free(&a);
}

/* ---------------------------------------------------------------------
 * Limits and garbage
 */

/* A multipart/mixed with n_children text parts: n_children + 1 parts. */
static GString *
wide_message(unsigned n_children)
{
    GString *s = g_string_new("Subject: wide\r\n"
                              "Content-Type: multipart/mixed; boundary=W\r\n"
                              "\r\n");

    for (unsigned i = 0; i < n_children; i++)
        g_string_append_printf(s, "--W\r\n\r\npart %u\r\n", i + 1);
    g_string_append(s, "--W--\r\n");
    return s;
}

/* levels nested multiparts around one text part, which is at depth
 * levels. */
static GString *
deep_message(unsigned levels)
{
    GString *s = g_string_new("Subject: deep\r\n");

    for (unsigned i = 0; i < levels; i++)
        g_string_append_printf(s,
                               "Content-Type: multipart/mixed; boundary=L%u\r\n"
                               "\r\n--L%u\r\n",
                               i, i);
    g_string_append(s, "Content-Type: text/plain\r\n\r\ndeepest\r\n");
    for (unsigned i = levels; i-- > 0;)
        g_string_append_printf(s, "--L%u--\r\n", i);
    return s;
}

static void
test_parts_over_the_limit_by_one_are_refused(void **state)
{
    struct arena *a = arena_new(0);
    GString *ok = wide_message(LIM_MIME_PARTS - 1);
    GString *over = wide_message(LIM_MIME_PARTS);
    struct mime_msg *m = NULL;
    struct err err = {0};
    size_t n;
    const struct mime_part *p;

    (void)state;
    m = parse_ok(a, ok->str, ok->len);
    p = mime_msg_parts(m, &n);
    assert_int_equal(n, LIM_MIME_PARTS);
    assert_string_equal(p[n - 1].section, "999");
    assert_section_is(m, "999", "part 999");

    m = NULL;
    assert_int_equal(mime_msg_parse(a, over->str, over->len, &m, &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_null(m);
    g_string_free(ok, TRUE);
    g_string_free(over, TRUE);
    arena_free(&a);
}

static void
test_nesting_over_the_limit_by_one_is_refused(void **state)
{
    struct arena *a = arena_new(0);
    GString *ok = deep_message(LIM_MIME_DEPTH);
    GString *over = deep_message(LIM_MIME_DEPTH + 1);
    struct mime_msg *m = NULL;
    struct err err = {0};
    size_t n;
    const struct mime_part *p;
    GString *sec = g_string_new("1");

    (void)state;
    m = parse_ok(a, ok->str, ok->len);
    p = mime_msg_parts(m, &n);
    assert_int_equal(n, LIM_MIME_DEPTH + 1);
    assert_int_equal(p[n - 1].depth, LIM_MIME_DEPTH);
    assert_int_equal(p[n - 1].parent, (int)n - 2);
    assert_string_equal(p[n - 1].type, "text");
    for (unsigned i = 1; i < LIM_MIME_DEPTH; i++)
        g_string_append(sec, ".1");
    assert_string_equal(p[n - 1].section, sec->str);
    assert_section_is(m, sec->str, "deepest");

    m = NULL;
    assert_int_equal(mime_msg_parse(a, over->str, over->len, &m, &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_null(m);
    g_string_free(sec, TRUE);
    g_string_free(ok, TRUE);
    g_string_free(over, TRUE);
    arena_free(&a);
}

static void
assert_one_part_over(const struct mime_msg *m, const char *body,
                     size_t body_len)
{
    size_t n;
    const struct mime_part *p = mime_msg_parts(m, &n);
    const unsigned char *d;
    size_t dl;

    assert_int_equal(n, 1);
    assert_string_equal(p[0].section, "1");
    assert_int_equal(p[0].parent, -1);
    assert_string_equal(p[0].type, "text");
    assert_string_equal(p[0].subtype, "plain");
    assert_int_equal(p[0].size, body_len);
    section_bytes(m, "1", &d, &dl);
    assert_int_equal(dl, body_len);
    if (body_len > 0)
        assert_memory_equal(d, body, body_len);
}

static void
test_garbage_still_gives_one_part(void **state)
{
    static const char junk[] =
        "garbage \x01\x02 no colon here\r\nmore junk\r\n";
    static const unsigned char bin[] = {0x00, 0xff, 0x0a, 0x3a, 0x0d, 0x0a,
                                        0x00, 0x80, 0x2d, 0x2d, 0x0a};
    struct arena *a = arena_new(0);
    struct mime_msg *m;
    const char *h;
    size_t hl;
    GRand *rnd = g_rand_new_with_seed(20260301);

    (void)state;
    m = parse_ok(a, junk, sizeof(junk) - 1);
    assert_one_part_over(m, junk, sizeof(junk) - 1);
    assert_string_equal(mime_msg_envelope(m)->subject, "");
    mime_msg_headers(m, &h, &hl);
    assert_int_equal(hl, 0);

    m = parse_ok(a, bin, sizeof(bin));
    assert_int_equal(mime_msg_parts(m, &hl)[0].parent, -1);
    assert_int_equal(hl, 1);

    m = parse_ok(a, "", 0);
    assert_one_part_over(m, "", 0);

    /* headers and no body at all */
    m = parse_ok(a, "Subject: only\r\n", 15);
    assert_one_part_over(m, "", 0);
    assert_string_equal(mime_msg_envelope(m)->subject, "only");

    /* seeded random bytes: never a failure, always at least one part */
    for (int round = 0; round < 200; round++) {
        unsigned char buf[512];
        size_t len = (size_t)g_rand_int_range(rnd, 0, sizeof(buf));
        size_t n;

        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)g_rand_int_range(rnd, 0, 256);
        m = parse_ok(a, buf, len);
        assert_true(mime_msg_parts(m, &n) != NULL && n >= 1);
        assert_true(g_utf8_validate(mime_msg_envelope(m)->subject, -1, NULL));
    }
    g_rand_free(rnd);
    arena_free(&a);
}

/* ---------------------------------------------------------------------
 * A header block alone (POP3 TOP n 0)
 */

static void
assert_headers_attachment(const char *fixture, bool expected)
{
    struct arena *a = arena_new(0);
    size_t len, hl;
    char *data = fixture_load(fixture, &len);
    struct mime_msg *m = parse_ok(a, data, len);
    struct mime_envelope env;
    bool has = !expected;
    struct err err = {0};
    const char *h;
    char *copy;

    mime_msg_headers(m, &h, &hl);
    copy = g_strndup(h, hl);
    assert_int_equal(mime_msg_parse_headers(a, copy, hl, &env, &has, &err), 0);
    /* the strings are the arena's, not the input's */
    memset(copy, 'x', hl);
    g_free(copy);
    if (has != expected)
        fail_msg("%s: has_attachments %d, want %d", fixture, has, expected);
    assert_string_equal(env.subject, mime_msg_envelope(m)->subject);
    assert_int_equal(env.date, mime_msg_envelope(m)->date);
    assert_int_equal(env.n_from, mime_msg_envelope(m)->n_from);
    assert_string_equal(env.from[0].email, mime_msg_envelope(m)->from[0].email);
    assert_string_equal(env.message_id, mime_msg_envelope(m)->message_id);
    arena_free(&a);
    g_free(data);
}

static void
test_header_block_gives_envelope_and_paperclip(void **state)
{
    (void)state;
    assert_headers_attachment("plain-ascii", false);
    assert_headers_attachment("alternative", false);
    assert_headers_attachment("related-cid", false);
    assert_headers_attachment("encoded-utf8-b", false);
    assert_headers_attachment("mixed-attachments", true);
    assert_headers_attachment("forwarded", true);
    assert_headers_attachment("signed", true);
    assert_headers_attachment("encrypted", true);
}

static void
test_single_part_paperclip_follows_the_imap_rule(void **state)
{
    static const struct {
        const char *headers;
        bool has;
    } cases[] = {
        {"Content-Type: application/pdf\r\n\r\n", true},
        {"Content-Type: image/png; name=x.png\r\n\r\n", true},
        {"Content-Type: image/png\r\n\r\n", false},
        {"Content-Type: text/plain\r\n"
         "Content-Disposition: attachment; filename=a.txt\r\n\r\n",
         true},
        {"Content-Type: text/html; name=page.html\r\n\r\n", false},
        {"Content-Type: text/csv; name=a.csv\r\n\r\n", true},
        {"Content-Type: message/rfc822\r\n\r\n", true},
        {"Content-Type: multipart/alternative; boundary=x\r\n\r\n", false},
        {"Content-Type: multipart/report; boundary=x\r\n\r\n", true},
        {"Subject: no type\r\n\r\n", false},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct arena *a = arena_new(0);
        struct mime_envelope env;
        bool has = !cases[i].has;
        struct err err = {0};

        assert_int_equal(mime_msg_parse_headers(a, cases[i].headers,
                                                strlen(cases[i].headers), &env,
                                                &has, &err),
                         0);
        if (has != cases[i].has)
            fail_msg("\"%s\": has_attachments %d", cases[i].headers, has);
        arena_free(&a);
    }
}

static void
test_header_garbage_gives_an_empty_envelope(void **state)
{
    static const char junk[] = "\x01\x02 not a header\r\n";
    struct arena *a = arena_new(0);
    struct mime_envelope env;
    bool has = true;
    struct err err = {0};

    (void)state;
    assert_int_equal(
        mime_msg_parse_headers(a, junk, sizeof(junk) - 1, &env, &has, &err), 0);
    assert_false(has);
    assert_string_equal(env.subject, "");
    assert_int_equal(env.n_from, 0);
    assert_int_equal(env.date, 0);
    assert_int_equal(mime_msg_parse_headers(a, "", 0, &env, &has, &err), 0);
    assert_false(has);
    arena_free(&a);
}

int
main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_parts_match_dovecot_bodystructure),
        cmocka_unit_test(test_envelope_of_a_plain_message),
        cmocka_unit_test(test_envelope_names_and_subjects_are_decoded),
        cmocka_unit_test(test_embedded_message_has_its_envelope),
        cmocka_unit_test(
            test_groups_are_flattened_and_missing_headers_are_empty),
        cmocka_unit_test(test_sections_of_attachments_decode_to_their_content),
        cmocka_unit_test(test_embedded_message_section_is_the_whole_message),
        cmocka_unit_test(test_headers_and_text_split_the_message),
        cmocka_unit_test(test_sections_that_are_not_there_are_not_found),
        cmocka_unit_test(test_digest_and_nested_shapes_match_dovecot),
        cmocka_unit_test(test_lf_line_ends_give_the_same_shape),
        cmocka_unit_test(test_parts_over_the_limit_by_one_are_refused),
        cmocka_unit_test(test_nesting_over_the_limit_by_one_is_refused),
        cmocka_unit_test(test_garbage_still_gives_one_part),
        cmocka_unit_test(test_header_block_gives_envelope_and_paperclip),
        cmocka_unit_test(test_single_part_paperclip_follows_the_imap_rule),
        cmocka_unit_test(test_header_garbage_gives_an_empty_envelope),
    };

    /* as main.c does, once before anything else */
    g_mime_init();
    return cmocka_run_group_tests_name("mime_msg", tests, NULL, NULL);
}
