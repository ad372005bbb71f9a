/* test_mime_decode.c - transfer decodings and charsets, fed whole, split at
 * every byte and in seeded random chunks (MIME_TEST_SEED=N repeats a run);
 * broken input; download names and Content-Disposition values. Every text
 * output is checked to be valid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/attr.h"
#include "mime/mime_decode.h"

#define FFFD "\xef\xbf\xbd"

/* ---------------------------------------------------------------------
 * Helpers
 */

static void
assert_text_ok(const char *charset, const GString *out)
{
    if (charset == NULL)
        return;
    /* valid UTF-8, and (g_utf8_validate_len refuses NUL) no NUL either */
    if (!g_utf8_validate_len(out->str, out->len, NULL))
        fail_msg("output for charset %s is not valid UTF-8", charset);
}

/* Decodes in[0..len) fed in chunks of the given sizes (cycled; NULL or 0:
 * one feed). */
static GString *
decode_chunked(const char *te, const char *cs, const void *in, size_t len,
               const size_t *chunks, size_t nchunks)
{
    struct mime_decoder *d = mime_decoder_new(te, cs);
    GString *out = g_string_new(NULL);
    const unsigned char *p = in;
    size_t off = 0, k = 0;

    assert_non_null(d);
    while (off < len) {
        size_t n = len - off;

        if (nchunks > 0 && chunks[k % nchunks] < n)
            n = chunks[k % nchunks];
        mime_decoder_feed(d, p + off, n, out);
        off += n;
        k++;
    }
    mime_decoder_finish(d, out);
    mime_decoder_free(&d);
    assert_null(d);
    assert_text_ok(cs, out);
    return out;
}

static GString *
decode(const char *te, const char *cs, const void *in, size_t len)
{
    return decode_chunked(te, cs, in, len, NULL, 0);
}

static void
assert_decodes(const char *te, const char *cs, const char *in,
               const char *expected)
{
    GString *out = decode(te, cs, in, strlen(in));

    if (out->len != strlen(expected) ||
        memcmp(out->str, expected, out->len) != 0)
        fail_msg("%s/%s: \"%s\" gave \"%s\", want \"%s\"", te ? te : "(null)",
                 cs ? cs : "(null)", in, out->str, expected);
    g_string_free(out, TRUE);
}

/* Whole, split once at every position, one byte at a time, and seeded
 * random chunks: all give the same output. */
static void
assert_split_invariant(const char *te, const char *cs, const void *in,
                       size_t len, const char *expected, size_t exp_len)
{
    GString *whole = decode(te, cs, in, len);
    const char *seed_env = getenv("MIME_TEST_SEED");
    guint32 seed =
        seed_env ? (guint32)strtoul(seed_env, NULL, 10) : g_random_int();
    GRand *rnd = g_rand_new_with_seed(seed);
    static const size_t one = 1;

    if (expected != NULL) {
        assert_int_equal(whole->len, exp_len);
        assert_memory_equal(whole->str, expected, exp_len);
    }
    for (size_t cut = 1; cut < len; cut++) {
        struct mime_decoder *d = mime_decoder_new(te, cs);
        GString *out = g_string_new(NULL);

        mime_decoder_feed(d, in, cut, out);
        mime_decoder_feed(d, (const char *)in + cut, len - cut, out);
        mime_decoder_finish(d, out);
        mime_decoder_free(&d);
        assert_text_ok(cs, out);
        if (out->len != whole->len ||
            memcmp(out->str, whole->str, out->len) != 0)
            fail_msg("%s/%s: split at %zu differs", te ? te : "-",
                     cs ? cs : "-", cut);
        g_string_free(out, TRUE);
    }
    {
        GString *out = decode_chunked(te, cs, in, len, &one, 1);

        assert_int_equal(out->len, whole->len);
        assert_memory_equal(out->str, whole->str, out->len);
        g_string_free(out, TRUE);
    }
    for (int round = 0; round < 20; round++) {
        size_t chunks[16];
        GString *out;

        for (size_t i = 0; i < N_ELEMENTS(chunks); i++)
            chunks[i] = (size_t)g_rand_int_range(rnd, 1, 12);
        out = decode_chunked(te, cs, in, len, chunks, N_ELEMENTS(chunks));
        if (out->len != whole->len ||
            memcmp(out->str, whole->str, out->len) != 0)
            fail_msg("%s/%s: random chunks differ (MIME_TEST_SEED=%u)",
                     te ? te : "-", cs ? cs : "-", seed);
        g_string_free(out, TRUE);
    }
    g_rand_free(rnd);
    g_string_free(whole, TRUE);
}

/* base64 of s with CRLF every 76 characters, as mailers write it */
static char *
base64_lines(const void *s, size_t len)
{
    char *flat = g_base64_encode(s, len);
    GString *out = g_string_new(NULL);
    size_t n = strlen(flat);

    for (size_t i = 0; i < n; i += 76) {
        g_string_append_len(out, flat + i, (gssize)MIN(76, n - i));
        g_string_append(out, "\r\n");
    }
    g_free(flat);
    return g_string_free(out, FALSE);
}

/* ---------------------------------------------------------------------
 * Transfer encodings
 */

static const char sample_utf8[] =
    "Gr\xc3\xbc\xc3\x9f"
    "e aus K\xc3\xb6ln \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e, "
    "\xf0\x9f\x98\x80 and a long enough line to need more than one "
    "base64 line when encoded, with = signs and trailing spaces   \r\n"
    "second line\r\n";

static void
test_base64_split_at_every_byte_gives_the_whole_result(void **state)
{
    char *b64 = base64_lines(sample_utf8, strlen(sample_utf8));

    (void)state;
    assert_split_invariant("base64", "utf-8", b64, strlen(b64), sample_utf8,
                           strlen(sample_utf8));
    assert_split_invariant("base64", NULL, b64, strlen(b64), sample_utf8,
                           strlen(sample_utf8));
    g_free(b64);
}

static void
test_base64_of_every_length_decodes_with_and_without_padding(void **state)
{
    unsigned char bytes[40];

    (void)state;
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof bytes; len++) {
        char *b64 = g_base64_encode(bytes, len);
        size_t n = strlen(b64);
        GString *out;

        assert_split_invariant("base64", NULL, b64, n, (const char *)bytes,
                               len);
        while (n > 0 && b64[n - 1] == '=')
            n--; /* the same without padding */
        out = decode("base64", NULL, b64, n);
        assert_int_equal(out->len, len);
        assert_memory_equal(out->str, bytes, len);
        g_string_free(out, TRUE);
        g_free(b64);
    }
}

static void
test_bad_base64_decodes_what_it_can(void **state)
{
    (void)state;
    /* characters outside the alphabet are skipped */
    assert_decodes("base64", NULL, "SGV*sb!G8=", "Hello");
    assert_decodes("base64", NULL,
                   "SG Vs\tbG\x01\xff"
                   "8=",
                   "Hello");
    /* missing padding */
    assert_decodes("base64", NULL, "SGVsbG8", "Hello");
    assert_decodes("base64", NULL, "SGVsbA", "Hell");
    /* truncated: one character is not a byte */
    assert_decodes("base64", NULL, "SGVsb", "Hel");
    assert_decodes("base64", NULL, "S", "");
    /* nothing decodable */
    assert_decodes("base64", NULL, "!!!!", "");
    assert_decodes("base64", NULL, "====", "");
    assert_decodes("base64", NULL, "", "");
    /* padding ends the data: what follows is ignored */
    assert_decodes("base64", NULL, "SGVsbA==IQ==", "Hell");
    assert_decodes("base64", NULL, "SGVs=bG8=", "Hel");
    /* text decoded from broken base64 is still valid UTF-8 */
    assert_decodes("base64", "utf-8", "/w==", FFFD);
    assert_decodes("base64", "utf-8", "5pc", FFFD); /* e6 97: cut short */
}

static const char sample_qp[] =
    "Gr=C3=BCße, caf=c3=a9 =E2=82=AC 10 =3D ten, a soft=\r\n"
    " break, a bare LF soft=\n"
    "break and a hard\r\nbreak. Tabs\tstay.=\r\n";

static void
test_quoted_printable_split_at_every_byte_gives_the_whole_result(void **state)
{
    static const char expected[] =
        "Gr\xc3\xbc\xc3\x9f"
        "e, caf\xc3\xa9 \xe2\x82\xac 10 = ten, a soft break, a bare LF "
        "softbreak and a hard\r\nbreak. Tabs\tstay.";

    (void)state;
    assert_split_invariant("quoted-printable", "utf-8", sample_qp,
                           strlen(sample_qp), expected, strlen(expected));
    assert_split_invariant("Quoted-Printable", NULL, sample_qp,
                           strlen(sample_qp), expected, strlen(expected));
}

static void
test_quoted_printable_soft_breaks_and_malformed_escapes(void **state)
{
    (void)state;
    assert_decodes("quoted-printable", NULL, "a=3Db", "a=b");
    assert_decodes("quoted-printable", NULL, "soft=\r\nbreak", "softbreak");
    assert_decodes("quoted-printable", NULL, "soft=\nbreak", "softbreak");
    assert_decodes("quoted-printable", NULL, "a=\r\n=\r\nb", "ab");
    /* malformed escapes are kept as they are */
    assert_decodes("quoted-printable", NULL, "=G1", "=G1");
    assert_decodes("quoted-printable", NULL, "x=4g y", "x=4g y");
    assert_decodes("quoted-printable", NULL, "100% =\tok", "100% =\tok");
    /* a lone '=' at the very end is a soft break with nothing after it */
    assert_decodes("quoted-printable", NULL, "end=", "end");
    /* an escaped invalid byte in a text part becomes U+FFFD */
    assert_decodes("quoted-printable", "utf-8", "a=FFb", "a" FFFD "b");
    assert_decodes("quoted-printable", "utf-8", "a=00b", "a" FFFD "b");
}

/* binascii.b2a_uu(b"Hello, uuencoded world!\n") */
static const char sample_uu[] = "begin 644 hello.txt\n"
                                "82&5L;&\\L('5U96YC;V1E9\"!W;W)L9\"$*\n"
                                "`\n"
                                "end\n";

static void
test_uuencode_split_at_every_byte_gives_the_whole_result(void **state)
{
    static const char expected[] = "Hello, uuencoded world!\n";

    (void)state;
    assert_split_invariant("x-uuencode", NULL, sample_uu, strlen(sample_uu),
                           expected, strlen(expected));
    assert_decodes("X-UUE", "us-ascii", sample_uu, expected);
    assert_decodes("uuencode", NULL, sample_uu, expected);
}

static void
test_identity_encodings_and_unknown_ones_pass_bytes_through(void **state)
{
    static const char *const names[] = {NULL,     "7bit", "8BIT",
                                        "binary", "",     "x-gzip"};
    unsigned char all[256];

    (void)state;
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (unsigned char)i;
    for (size_t i = 0; i < N_ELEMENTS(names); i++) {
        GString *out = decode(names[i], NULL, all, sizeof all);

        assert_int_equal(out->len, sizeof all);
        assert_memory_equal(out->str, all, sizeof all);
        g_string_free(out, TRUE);
    }
    assert_decodes("7bit", "utf-8", "SGVsbG8=", "SGVsbG8=");
}

static void
test_binary_base64_keeps_every_byte_value(void **state)
{
    unsigned char all[256];
    char *b64;

    (void)state;
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (unsigned char)(255 - i);
    b64 = base64_lines(all, sizeof all);
    assert_split_invariant("base64", NULL, b64, strlen(b64), (const char *)all,
                           sizeof all);
    g_free(b64);
}

/* ---------------------------------------------------------------------
 * Charsets
 */

/* clang-format off */
static const struct {
    const char *charset, *in, *utf8;
} samples[] = {
    { "us-ascii", "plain text", "plain text" },
    { "utf-8", "Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e" },
    { "UTF8", "\xe2\x82\xac", "\xe2\x82\xac" },
    { " utf-8 ", "\xe2\x82\xac", "\xe2\x82\xac" },
    { "iso-8859-1", "Gr\xfc\xdf" "e", "Gr\xc3\xbc\xc3\x9f" "e" }, /* Grüße */
    { "ISO_8859-1", "Gr\xfc\xdf" "e", "Gr\xc3\xbc\xc3\x9f" "e" },
    { "latin1", "\xa4", "\xc2\xa4" },                      /* ¤, not € */
    { "iso-8859-15", "\xa4", "\xe2\x82\xac" },             /* € */
    { "windows-1252", "\x80", "\xe2\x82\xac" },            /* € */
    { "cp1252", "\x93quoted\x94", "\xe2\x80\x9cquoted\xe2\x80\x9d" },
    /* widened like browsers do: 0x80-0x9F in "latin1" mail are cp1252 */
    { "iso-8859-1", "\x80 \x93x\x94",
      "\xe2\x82\xac \xe2\x80\x9cx\xe2\x80\x9d" },
    { "us-ascii", "caf\xe9", "caf\xc3\xa9" },
    { "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4",                 /* Привет */
      "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
    { "KOI8-R", "\xf0\xd2\xc9\xd7\xc5\xd4",
      "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
    { "shift_jis", "\x93\xfa\x96\x7b\x8c\xea",              /* 日本語 */
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
    { "Shift_JIS", "C:\\\x87\x40", "C:\\\xe2\x91\xa0" },    /* '\', ① */
    { "x-sjis", "\x93\xfa", "\xe6\x97\xa5" },
    { "iso-2022-jp", "\x1b$BF|K\\8l\x1b(B!",                /* 日本語! */
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e!" },
    { "ISO-2022-JP", "a\x1b$BF|\x1b(Bb", "a\xe6\x97\xa5" "b" },
    { "gb2312", "\xd6\xd0\xce\xc4", "\xe4\xb8\xad\xe6\x96\x87" }, /* 中文 */
    { "gbk", "\xd6\xd0\xce\xc4", "\xe4\xb8\xad\xe6\x96\x87" },
    { "gb18030", "\xd6\xd0\x81\x30\x81\x30", "\xe4\xb8\xad\xc2\x80" },
    { "gb2312", "\x81\x30\x81\x30", "\xc2\x80" },          /* as gb18030 */
    { "big5", "\xa4\xa4\xa4\xe5", "\xe4\xb8\xad\xe6\x96\x87" },
    { "euc-kr", "\xc7\xd1\xb1\xb9", "\xed\x95\x9c\xea\xb5\xad" },  /* 한국 */
    { "ks_c_5601-1987", "\xc7\xd1", "\xed\x95\x9c" },
    { "utf-16le", "a\0\xac\x20", "a\xe2\x82\xac" },
};
/* clang-format on */

static size_t
sample_len(size_t i)
{
    /* the UTF-16 sample has NUL bytes: its length is fixed */
    return strcmp(samples[i].charset, "utf-16le") == 0 ? 4
                                                       : strlen(samples[i].in);
}

static void
test_every_charset_decodes_its_sample(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(samples); i++) {
        GString *out =
            decode(NULL, samples[i].charset, samples[i].in, sample_len(i));

        if (strcmp(out->str, samples[i].utf8) != 0)
            fail_msg("%s sample %zu gave \"%s\", want \"%s\"",
                     samples[i].charset, i, out->str, samples[i].utf8);
        g_string_free(out, TRUE);
    }
}

static void
test_multibyte_characters_split_at_every_byte_in_every_charset(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(samples); i++) {
        assert_split_invariant(NULL, samples[i].charset, samples[i].in,
                               sample_len(i), samples[i].utf8,
                               strlen(samples[i].utf8));
    }
}

static void
test_charset_text_through_base64_splits_anywhere(void **state)
{
    /* 日本語のテキスト in ISO-2022-JP, in base64: the split falls inside
     * base64 quanta, escape sequences and two-byte characters at once */
    static const char jis[] = "\x1b$BF|K\\8l$N%F%-%9%H\x1b(B end";
    static const char utf8[] =
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3"
        "\x82\xad\xe3\x82\xb9\xe3\x83\x88 end";
    char *b64 = base64_lines(jis, strlen(jis));

    (void)state;
    assert_split_invariant("base64", "iso-2022-jp", b64, strlen(b64), utf8,
                           strlen(utf8));
    g_free(b64);
}

static void
test_one_large_feed_gives_the_same_as_small_ones(void **state)
{
    /* 'a' then 100000 x 日 in Shift_JIS: internal slices of the input
     * fall inside characters */
    GString *sjis = g_string_new("a");
    GString *utf8 = g_string_new("a");
    size_t chunk = 7;

    (void)state;
    for (int i = 0; i < 100000; i++) {
        g_string_append(sjis, "\x93\xfa");
        g_string_append(utf8, "\xe6\x97\xa5");
    }
    for (int pass = 0; pass < 2; pass++) {
        GString *out = decode_chunked(NULL, "shift_jis", sjis->str, sjis->len,
                                      &chunk, pass);

        assert_int_equal(out->len, utf8->len);
        assert_memory_equal(out->str, utf8->str, utf8->len);
        g_string_free(out, TRUE);
    }
    g_string_free(sjis, TRUE);
    g_string_free(utf8, TRUE);
}

static void
test_invalid_utf8_becomes_replacement_never_passed_through(void **state)
{
    /* clang-format off */
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "a\xff" "b", "a" FFFD "b" },
        { "\xc0\xaf", FFFD FFFD },                  /* overlong '/' */
        { "\xe0\x80\xaf", FFFD FFFD FFFD },         /* overlong, 3 bytes */
        { "\xed\xa0\x80", FFFD FFFD FFFD },         /* a surrogate */
        { "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD }, /* over U+10FFFF */
        { "\xf5\x80", FFFD FFFD },
        { "\xe6\x97" "A", FFFD "A" },               /* cut-off sequence */
        { "\xe6\x97\xe6\x97\xa5", FFFD "\xe6\x97\xa5" },
        { "\x80\xbf", FFFD FFFD },                  /* lone continuations */
        { "\xf0\x9f\x98", FFFD },                   /* cut off by the end */
        { "\xef\xbf\xbe", "\xef\xbf\xbe" },         /* U+FFFE is valid */
    };
    /* clang-format on */

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
        assert_decodes(NULL, "utf-8", cases[i].in, cases[i].out);
        assert_split_invariant(NULL, "utf-8", cases[i].in, strlen(cases[i].in),
                               cases[i].out, strlen(cases[i].out));
    }
    /* NUL is never text */
    {
        GString *out = decode(NULL, "utf-8", "a\0b", 3);

        assert_string_equal(out->str, "a" FFFD "b");
        g_string_free(out, TRUE);
    }
}

static void
test_undecodable_bytes_in_legacy_charsets_become_replacement(void **state)
{
    (void)state;
    assert_decodes(NULL, "windows-1252",
                   "a\x81"
                   "b",
                   "a" FFFD "b");
    assert_decodes(NULL, "shift_jis", "\x93\xfa\xff\x93\xfa",
                   "\xe6\x97\xa5" FFFD "\xe6\x97\xa5");
    assert_decodes(NULL, "gb18030", "\xd6\xd0\xff", "\xe4\xb8\xad" FFFD);
    assert_decodes(NULL, "euc-kr", "\xc7\xd1\xff", "\xed\x95\x9c" FFFD);
    /* ISO-2022-JP is 7-bit: an 8-bit byte is not in it */
    assert_decodes(NULL, "iso-2022-jp",
                   "a\xe9"
                   "b",
                   "a" FFFD "b");
    /* a character cut off by the end of the part: one U+FFFD */
    assert_decodes(NULL, "shift_jis", "ok\x93", "ok" FFFD);
    assert_decodes(NULL, "gb18030", "ok\x81\x30\x81", "ok" FFFD);
    assert_decodes(NULL, "iso-2022-jp", "ok\x1b$", "ok" FFFD);
    assert_decodes(NULL, "iso-2022-jp", "\x1b$BF", FFFD);
    /* NUL from a legacy charset is replaced too */
    {
        GString *out = decode(NULL, "iso-8859-1", "a\0b", 3);

        assert_string_equal(out->str, "a" FFFD "b");
        g_string_free(out, TRUE);
    }
}

static void
test_unknown_charset_is_treated_as_utf8_with_replacement(void **state)
{
    static const char *const unknown[] = {"x-nonsense", "", "   ",
                                          "unicode-1-1-utf-7x"};

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(unknown); i++) {
        assert_decodes(NULL, unknown[i],
                       "Gr\xc3\xbc\xc3\x9f"
                       "e",
                       "Gr\xc3\xbc\xc3\x9f"
                       "e");
        assert_decodes(NULL, unknown[i],
                       "Gr\xfc\xdf"
                       "e",
                       "Gr" FFFD FFFD "e");
        assert_decodes("base64", unknown[i], "/w==", FFFD);
    }
}

static void
test_random_bytes_in_any_charset_give_valid_utf8(void **state)
{
    static const char *const charsets[] = {
        "utf-8",     "us-ascii",    "iso-8859-1", "windows-1252", "koi8-r",
        "shift_jis", "iso-2022-jp", "gb18030",    "euc-kr",       "big5",
        "utf-16",    "utf-7",       "x-nonsense"};
    const char *seed_env = getenv("MIME_TEST_SEED");
    guint32 seed =
        seed_env ? (guint32)strtoul(seed_env, NULL, 10) : g_random_int();
    GRand *rnd = g_rand_new_with_seed(seed);

    (void)state;
    for (size_t c = 0; c < N_ELEMENTS(charsets); c++) {
        for (int round = 0; round < 50; round++) {
            unsigned char buf[64];
            size_t len = (size_t)g_rand_int_range(rnd, 0, sizeof buf);
            size_t chunk = (size_t)g_rand_int_range(rnd, 1, 8);
            GString *out;

            for (size_t i = 0; i < len; i++)
                buf[i] = (unsigned char)g_rand_int_range(rnd, 0, 256);
            out = decode_chunked(NULL, charsets[c], buf, len, &chunk, 1);
            if (!g_utf8_validate_len(out->str, out->len, NULL))
                fail_msg("%s: invalid output (MIME_TEST_SEED=%u)", charsets[c],
                         seed);
            g_string_free(out, TRUE);
        }
    }
    g_rand_free(rnd);
}

static void
test_free_is_null_safe_and_clears_the_pointer(void **state)
{
    struct mime_decoder *d = NULL;
    struct mime_decoder *e = mime_decoder_new("base64", "koi8-r");

    (void)state;
    mime_decoder_free(&d);
    mime_decoder_free(NULL);
    mime_decoder_free(&e); /* freed without finish */
    assert_null(e);
    mime_decoder_free(&e);
}

/* ---------------------------------------------------------------------
 * Download names
 */

static char *
filename_of(const char *const *kv)
{
    const char *keys[16], *values[16];
    size_t n = 0;

    for (; kv[2 * n] != NULL; n++) {
        keys[n] = kv[2 * n];
        values[n] = kv[2 * n + 1];
    }
    return mime_param_filename(keys, values, n);
}

static void
assert_filename(const char *const *kv, const char *expected)
{
    char *name = filename_of(kv);

    if (expected == NULL) {
        if (name != NULL)
            fail_msg("want no name, got \"%s\"", name);
        return;
    }
    if (name == NULL)
        fail_msg("want \"%s\", got NULL", expected);
    assert_true(g_utf8_validate(name, -1, NULL));
    if (strcmp(name, expected) != 0)
        fail_msg("got \"%s\", want \"%s\"", name, expected);
    g_free(name);
}

#define KV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void
test_plain_filename_and_name(void **state)
{
    (void)state;
    assert_filename(KV("filename", "report.pdf"), "report.pdf");
    assert_filename(KV("name", "a.txt"), "a.txt");
    assert_filename(KV("FileName", "Report 2026.PDF"), "Report 2026.PDF");
    /* Content-Disposition's filename before Content-Type's name */
    assert_filename(KV("name", "ct.txt", "filename", "cd.txt"), "cd.txt");
    /* raw UTF-8, as many mailers send it */
    assert_filename(KV("filename", "caf\xc3\xa9.txt"), "caf\xc3\xa9.txt");
    /* an empty filename falls back to name */
    assert_filename(KV("filename", "", "name", "n.txt"), "n.txt");
    assert_filename(KV("filename", NULL, "name", "n.txt"), "n.txt");
}

static void
test_no_filename_is_null(void **state)
{
    (void)state;
    assert_null(mime_param_filename(NULL, NULL, 0));
    assert_filename(KV("charset", "utf-8", "format", "flowed"), NULL);
    assert_filename(KV("filename", ""), NULL);
    assert_filename(KV("filename", "../.."), NULL);
    assert_filename(KV("filename", " / \x01 "), NULL);
    assert_filename(KV("filenames", "x.txt", "name*x", "y.txt"), NULL);
}

static void
test_rfc2231_continuations_and_percent_encoding(void **state)
{
    (void)state;
    assert_filename(KV("filename*0*", "UTF-8''R%C3%A9sum", "filename*1*",
                       "%C3%A9%20", "filename*2", "2026.pdf"),
                    "R\xc3\xa9sum\xc3\xa9 2026.pdf");
    /* continuations arrive in any order */
    assert_filename(KV("filename*2", "2026.pdf", "filename*0*",
                       "UTF-8''R%C3%A9sum", "filename*1*", "%C3%A9%20"),
                    "R\xc3\xa9sum\xc3\xa9 2026.pdf");
    /* a single extended value, language given */
    assert_filename(KV("filename*", "utf-8'en'%E2%82%AC%20rates.txt"),
                    "\xe2\x82\xac rates.txt");
    /* plain continuations */
    assert_filename(KV("filename*0", "long name ", "filename*1", "part.txt"),
                    "long name part.txt");
    /* a gap still gives what was sent */
    assert_filename(KV("filename*0*", "UTF-8''a", "filename*2*", "c"), "ac");
    /* RFC 2231 wins over the plain value and over name */
    assert_filename(
        KV("filename", "fallback.txt", "filename*", "UTF-8''%E2%82%AC.txt"),
        "\xe2\x82\xac.txt");
    assert_filename(KV("name*", "UTF-8''%E2%82%AC.txt", "filename", "x.txt"),
                    "\xe2\x82\xac.txt");
}

static void
test_rfc2231_in_iso_8859_1(void **state)
{
    (void)state;
    assert_filename(KV("filename*", "iso-8859-1'de'Gr%FC%DFe.txt"),
                    "Gr\xc3\xbc\xc3\x9f"
                    "e.txt");
    assert_filename(KV("filename*0*", "ISO-8859-1''%C4rger", "filename*1*",
                       "%20%FCber.txt"),
                    "\xc3\x84rger \xc3\xbc"
                    "ber.txt");
    /* an unknown charset, or bytes invalid in UTF-8: replaced */
    assert_filename(KV("filename*", "x-bogus''a%E9b"), "a" FFFD "b");
    assert_filename(KV("filename*", "UTF-8''a%FFb"), "a" FFFD "b");
}

static void
test_rfc2047_encoded_words_in_name(void **state)
{
    (void)state;
    assert_filename(KV("name", "=?UTF-8?B?UsOpc3Vtw6kucGRm?="),
                    "R\xc3\xa9sum\xc3\xa9.pdf");
    assert_filename(KV("filename", "=?iso-8859-1?Q?Gr=FC=DFe?= und "
                                   "=?utf-8?B?w6k=?=.txt"),
                    "Gr\xc3\xbc\xc3\x9f"
                    "e und \xc3\xa9.txt");
    assert_filename(KV("name", "=?koi8-r?B?8NLJ18XU?=.doc"),
                    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82.doc");
    /* quotes and backslashes in a raw value survive the parser */
    assert_filename(KV("filename", "say \"hi\".txt"), "say \"hi\".txt");
    /* raw 8-bit that is not UTF-8 is replaced, not passed on */
    assert_filename(KV("filename", "caf\xe9.txt"), "caf" FFFD ".txt");
}

static void
test_path_components_are_dropped(void **state)
{
    (void)state;
    /* RFC 2183 §2.3: the terminal component only */
    assert_filename(KV("filename", "../../etc/passwd"), "passwd");
    assert_filename(KV("filename", "..\\..\\boot.ini"), "boot.ini");
    assert_filename(KV("filename", "C:\\Users\\bob\\a.pdf"), "a.pdf");
    assert_filename(KV("filename", "/etc/"), "etc");
    assert_filename(KV("filename*", "UTF-8''%2e%2e%2fetc%2fpasswd"), "passwd");
    assert_filename(KV("filename", "=?UTF-8?Q?..=2F..=2Fx.sh?="), "x.sh");
    /* no hidden files */
    assert_filename(KV("filename", ".htaccess"), "htaccess");
    assert_filename(KV("filename", "  ...  evil.txt  "), "evil.txt");
    assert_filename(KV("filename", "a/..."), "a");
}

static void
test_control_and_bidi_characters_are_removed(void **state)
{
    (void)state;
    assert_filename(KV("filename", "a\x01"
                                   "b\x7f"
                                   "c\td.txt"),
                    "abcd.txt");
    assert_filename(KV("filename", "line\r\nbreak.txt"), "linebreak.txt");
    assert_filename(KV("filename", "c1\xc2\x85.txt"), "c1.txt");
    assert_filename(KV("filename*", "UTF-8''a%0D%0Ab%00c.txt"), "ab");
    /* U+202E would show "invoice\u202Efdp.exe" as "invoiceexe.pdf" */
    assert_filename(KV("filename", "invoice\xe2\x80\xae"
                                   "fdp.exe"),
                    "invoicefdp.exe");
    assert_filename(KV("filename", "\xe2\x81\xa6x\xe2\x81\xa9.txt"), "x.txt");
}

static void
test_long_names_are_shortened_keeping_the_extension(void **state)
{
    GString *raw = g_string_new(NULL);
    char *name;
    const char *kv[3] = {"filename", NULL, NULL};

    (void)state;
    for (int i = 0; i < 200; i++)
        g_string_append(raw, "\xe6\x97\xa5"); /* 600 bytes */
    g_string_append(raw, ".pdf");
    kv[1] = raw->str;
    name = filename_of(kv);
    assert_non_null(name);
    assert_true(g_utf8_validate(name, -1, NULL));
    assert_true(strlen(name) <= 255);
    assert_true(strlen(name) >= 250);
    assert_true(g_str_has_suffix(name, "\xe6\x97\xa5.pdf"));
    g_free(name);

    /* a "extension" longer than 16 bytes is not kept */
    g_string_assign(raw, "a.");
    for (int i = 0; i < 300; i++)
        g_string_append_c(raw, 'b');
    kv[1] = raw->str;
    name = filename_of(kv);
    assert_int_equal(strlen(name), 255);
    g_free(name);
    g_string_free(raw, TRUE);
}

/* ---------------------------------------------------------------------
 * Content-Disposition
 */

static void
assert_disposition(const char *disp, const char *filename, const char *expected)
{
    char *v = mime_content_disposition(disp, filename);

    for (const char *p = v; *p != '\0'; p++) {
        if (*p < 0x20 || *p > 0x7e)
            fail_msg("byte 0x%02x in \"%s\"", (unsigned char)*p, v);
    }
    assert_string_equal(v, expected);
    g_free(v);
}

static void
test_content_disposition_for_ascii_names(void **state)
{
    (void)state;
    assert_disposition("attachment", "report.pdf",
                       "attachment; filename=\"report.pdf\"; "
                       "filename*=UTF-8''report.pdf");
    assert_disposition("inline", "a b.png",
                       "inline; filename=\"a b.png\"; "
                       "filename*=UTF-8''a%20b.png");
}

static void
test_content_disposition_for_non_ascii_names(void **state)
{
    (void)state;
    assert_disposition("attachment", "R\xc3\xa9sum\xc3\xa9 2026.pdf",
                       "attachment; filename=\"R_sum_ 2026.pdf\"; "
                       "filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf");
    assert_disposition("attachment", "\xe6\x97\xa5\xe6\x9c\xac.txt",
                       "attachment; filename=\"__.txt\"; "
                       "filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt");
    /* invalid UTF-8 is replaced first */
    assert_disposition("attachment", "\xff.txt",
                       "attachment; filename=\"_.txt\"; "
                       "filename*=UTF-8''%EF%BF%BD.txt");
}

static void
test_content_disposition_escapes_quotes_and_backslashes(void **state)
{
    (void)state;
    assert_disposition("attachment", "a\"b\\c%d;e.txt",
                       "attachment; filename=\"a_b_c_d;e.txt\"; "
                       "filename*=UTF-8''a%22b%5Cc%25d%3Be.txt");
    /* header injection: CR and LF never reach the header */
    assert_disposition("attachment", "x\r\nSet-Cookie: a=b",
                       "attachment; filename=\"x__Set-Cookie: a=b\"; "
                       "filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db");
}

static void
test_content_disposition_without_a_name(void **state)
{
    (void)state;
    assert_disposition("attachment", NULL, "attachment");
    assert_disposition("inline", NULL, "inline");
    assert_disposition("INLINE", "", "inline");
    assert_disposition(NULL, NULL, "attachment");
    /* anything but inline is an attachment */
    assert_disposition("inline\r\nX: y", NULL, "attachment");
    assert_disposition("form-data", NULL, "attachment");
}

static void
assert_header_text(const char *raw, bool phrase, const char *expected)
{
    char *got = mime_decode_header_text(raw, phrase);

    assert_true(g_utf8_validate(got, -1, NULL));
    assert_string_equal(got, expected);
    g_free(got);
}

static void
test_header_text_is_decoded_to_valid_utf8(void **state)
{
    (void)state;
    assert_header_text(NULL, false, "");
    assert_header_text("  plain words ", false, "plain words");
    /* adjacent encoded-words join without the space between them */
    assert_header_text("=?utf-8?B?R3LDvMOfZSBhdXMgWsO8cmljaCDigJQg?= "
                       "=?utf-8?B?5LiW55WMIOKckw==?=",
                       false, "Gr\xc3\xbc\xc3\x9f" "e aus Z\xc3\xbcrich "
                              "\xe2\x80\x94 \xe4\xb8\x96\xe7\x95\x8c "
                              "\xe2\x9c\x93");
    assert_header_text("Re: =?iso-8859-1?Q?R=E9union?= demain", false,
                       "Re: R\xc3\xa9union demain");
    assert_header_text("=?utf-8?Q?Zo=C3=AB?= Olund", true,
                       "Zo\xc3\xab Olund");
    /* raw Latin-1 is converted, never passed through */
    assert_header_text("Caf\xe9", false, "Caf\xc3\xa9");
    /* an encoded-word in an unknown charset still gives valid UTF-8 */
    {
        char *got = mime_decode_header_text("=?x-nonsense?Q?a=FFb?=", false);

        assert_true(g_utf8_validate(got, -1, NULL));
        g_free(got);
    }
}

static void
test_dates_are_unix_seconds_or_zero(void **state)
{
    (void)state;
    assert_int_equal(mime_decode_date("Tue, 03 Mar 2026 14:05:09 +0100"),
                     1772543109);
    assert_int_equal(mime_decode_date("3 Mar 2026 13:05:09 GMT"), 1772543109);
    assert_int_equal(mime_decode_date(NULL), 0);
    assert_int_equal(mime_decode_date(""), 0);
    assert_int_equal(mime_decode_date("not a date at all"), 0);
}

int
main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_base64_split_at_every_byte_gives_the_whole_result),
        cmocka_unit_test(
            test_base64_of_every_length_decodes_with_and_without_padding),
        cmocka_unit_test(test_bad_base64_decodes_what_it_can),
        cmocka_unit_test(
            test_quoted_printable_split_at_every_byte_gives_the_whole_result),
        cmocka_unit_test(
            test_quoted_printable_soft_breaks_and_malformed_escapes),
        cmocka_unit_test(
            test_uuencode_split_at_every_byte_gives_the_whole_result),
        cmocka_unit_test(
            test_identity_encodings_and_unknown_ones_pass_bytes_through),
        cmocka_unit_test(test_binary_base64_keeps_every_byte_value),
        cmocka_unit_test(test_every_charset_decodes_its_sample),
        cmocka_unit_test(
            test_multibyte_characters_split_at_every_byte_in_every_charset),
        cmocka_unit_test(test_charset_text_through_base64_splits_anywhere),
        cmocka_unit_test(test_one_large_feed_gives_the_same_as_small_ones),
        cmocka_unit_test(
            test_invalid_utf8_becomes_replacement_never_passed_through),
        cmocka_unit_test(
            test_undecodable_bytes_in_legacy_charsets_become_replacement),
        cmocka_unit_test(
            test_unknown_charset_is_treated_as_utf8_with_replacement),
        cmocka_unit_test(test_random_bytes_in_any_charset_give_valid_utf8),
        cmocka_unit_test(test_free_is_null_safe_and_clears_the_pointer),
        cmocka_unit_test(test_plain_filename_and_name),
        cmocka_unit_test(test_no_filename_is_null),
        cmocka_unit_test(test_rfc2231_continuations_and_percent_encoding),
        cmocka_unit_test(test_rfc2231_in_iso_8859_1),
        cmocka_unit_test(test_rfc2047_encoded_words_in_name),
        cmocka_unit_test(test_path_components_are_dropped),
        cmocka_unit_test(test_control_and_bidi_characters_are_removed),
        cmocka_unit_test(test_long_names_are_shortened_keeping_the_extension),
        cmocka_unit_test(test_content_disposition_for_ascii_names),
        cmocka_unit_test(test_content_disposition_for_non_ascii_names),
        cmocka_unit_test(
            test_content_disposition_escapes_quotes_and_backslashes),
        cmocka_unit_test(test_content_disposition_without_a_name),
        cmocka_unit_test(test_header_text_is_decoded_to_valid_utf8),
        cmocka_unit_test(test_dates_are_unix_seconds_or_zero),
    };

    return cmocka_run_group_tests_name("mime_decode", tests, NULL, NULL);
}
