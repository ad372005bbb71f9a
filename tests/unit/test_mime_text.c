/* test_mime_text.c - plain text to HTML: escaping, links (and what must
 * never be linked), quote levels, format=flowed, line ends, long lines,
 * the input cap crossed by one byte. Every output is checked to be valid
 * UTF-8 inside one <div class="text">. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/attr.h"
#include "core/err.h"
#include "core/limits.h"
#include "mime/mime_text.h"

#define FFFD "\xef\xbf\xbd"
#define DIV "<div class=\"text\">"
#define A_END "\" target=\"_blank\" rel=\"noopener noreferrer\">"
#define LINK(href, text) "<a href=\"" href A_END text "</a>"

/* Renders len bytes and returns what is inside the <div>. */
static char *
render_len(const char *text, size_t len, bool flowed, bool delsp)
{
    GString *out = g_string_new("prefix:");
    struct err err = {0};
    char *inner;

    assert_int_equal(mime_text_to_html(text, len, flowed, delsp, out, &err), 0);
    assert_int_equal(err.kind, ERR_NONE);
    if (!g_utf8_validate_len(out->str, out->len, NULL))
        fail_msg("output is not valid UTF-8");
    assert_true(g_str_has_prefix(out->str, "prefix:" DIV)); /* appended */
    assert_true(g_str_has_suffix(out->str, "</div>"));
    inner = g_strndup(out->str + strlen("prefix:" DIV),
                      out->len - strlen("prefix:" DIV) - strlen("</div>"));
    g_string_free(out, TRUE);
    return inner;
}

static char *
render(const char *text, bool flowed, bool delsp)
{
    return render_len(text, strlen(text), flowed, delsp);
}

static void
assert_renders(const char *text, bool flowed, bool delsp, const char *expected)
{
    char *got = render(text, flowed, delsp);

    if (strcmp(got, expected) != 0)
        fail_msg("\"%s\"\n  gave \"%s\"\n  want \"%s\"", text, got, expected);
    g_free(got);
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ---------------------------------------------------------------------
 * Escaping
 */

static void
test_every_special_character_is_escaped(void **state)
{
    (void)state;
    assert_renders("a & b < c > d \" e ' f", false, false,
                   "a &amp; b &lt; c &gt; d &quot; e &#39; f\n");
    assert_renders("&amp; stays text", false, false, "&amp;amp; stays text\n");
    assert_renders("", false, false, "");
}

static void
test_a_script_line_is_only_text(void **state)
{
    char *got;

    (void)state;
    assert_renders("<script>alert('x')</script>", false, false,
                   "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\n");
    got = render("<img src=x onerror=alert(1)>\n<a href=\"javascript:x\">",
                 false, false);
    assert_null(strchr(got, '<'));
    assert_null(strchr(got, '"'));
    g_free(got);
}

static void
test_control_characters_are_replaced_and_tabs_kept(void **state)
{
    (void)state;
    assert_renders("a\tb\fc", false, false, "a\tb\fc\n");
    assert_renders("bell\x07 esc\x1b[0m del\x7f", false, false,
                   "bell" FFFD " esc" FFFD "[0m del" FFFD "\n");
    assert_renders("c1\xc2\x85 nbsp\xc2\xa0", false, false,
                   "c1" FFFD " nbsp\xc2\xa0\n");
}

static void
test_invalid_utf8_and_nul_are_replaced_not_trusted(void **state)
{
    char *got;

    (void)state;
    assert_renders("caf\xe9 <b>", false, false, "caf" FFFD " &lt;b&gt;\n");
    got = render_len("a\0b", 3, false, false);
    assert_string_equal(got, "a" FFFD "b\n");
    g_free(got);
}

/* ---------------------------------------------------------------------
 * Links
 */

static void
test_http_and_https_urls_are_linked(void **state)
{
    (void)state;
    assert_renders("see http://example.com/a/b?c=d#e now", false, false,
                   "see " LINK("http://example.com/a/b?c=d#e",
                               "http://example.com/a/b?c=d#e") " now\n");
    assert_renders("https://example.org", false, false,
                   LINK("https://example.org", "https://example.org") "\n");
    assert_renders("HTTPS://EXAMPLE.ORG/X", false, false,
                   LINK("HTTPS://EXAMPLE.ORG/X", "HTTPS://EXAMPLE.ORG/X") "\n");
    assert_renders(
        "ipv6 http://[::1]:8080/", false, false,
        "ipv6 " LINK("http://[::1]:8080/", "http://[::1]:8080/") "\n");
    /* non-ASCII text right after a URL is not part of it */
    assert_renders(
        "\xe8\xa9\xb3\xe7\xb4\xb0https://example.jp/\xe3\x82\x92", false, false,
        "\xe8\xa9\xb3\xe7\xb4\xb0" LINK(
            "https://example.jp/", "https://example.jp/") "\xe3\x82\x92\n");
}

static void
test_a_url_with_an_ampersand_is_escaped_in_href_and_text(void **state)
{
    (void)state;
    assert_renders("https://x.org/?a=1&b=2&lt=3", false, false,
                   LINK("https://x.org/?a=1&amp;b=2&amp;lt=3",
                        "https://x.org/?a=1&amp;b=2&amp;lt=3") "\n");
    assert_renders("http://x.org/it's", false, false,
                   LINK("http://x.org/it&#39;s", "http://x.org/it&#39;s") "\n");
}

static void
test_trailing_punctuation_is_not_part_of_a_url(void **state)
{
    (void)state;
    assert_renders(
        "Go to http://example.com.", false, false,
        "Go to " LINK("http://example.com", "http://example.com") ".\n");
    assert_renders("http://a.com/x, http://b.com/y; ok?", false, false,
                   LINK("http://a.com/x", "http://a.com/x") ", " LINK(
                       "http://b.com/y", "http://b.com/y") "; ok?\n");
    assert_renders("Really http://a.com/!?!", false, false,
                   "Really " LINK("http://a.com/", "http://a.com/") "!?!\n");
    assert_renders("(see http://example.com/page)", false, false,
                   "(see " LINK("http://example.com/page",
                                "http://example.com/page") ")\n");
    assert_renders("http://en.wikipedia.org/wiki/Foo_(bar).", false, false,
                   LINK("http://en.wikipedia.org/wiki/Foo_(bar)",
                        "http://en.wikipedia.org/wiki/Foo_(bar)") ".\n");
    assert_renders("'http://a.com/x'", false, false,
                   "&#39;" LINK("http://a.com/x", "http://a.com/x") "&#39;\n");
    assert_renders("<http://a.com/x>", false, false,
                   "&lt;" LINK("http://a.com/x", "http://a.com/x") "&gt;\n");
    /* a quote ends a URL: nothing can break out of the attribute */
    assert_renders(
        "http://a.com/\"onmouseover=alert(1)", false, false,
        LINK("http://a.com/", "http://a.com/") "&quot;onmouseover=alert(1)\n");
}

static void
test_www_mailto_and_bare_addresses_are_linked(void **state)
{
    (void)state;
    assert_renders(
        "at www.example.com, or", false, false,
        "at " LINK("http://www.example.com", "www.example.com") ", or\n");
    assert_renders("mailto:bob@example.com?subject=Hi&body=x", false, false,
                   LINK("mailto:bob@example.com?subject=Hi&amp;body=x",
                        "mailto:bob@example.com?subject=Hi&amp;body=x") "\n");
    assert_renders("Mail bob.smith+tag@mail.example.co.uk!", false, false,
                   "Mail " LINK("mailto:bob.smith+tag@mail.example.co.uk",
                                "bob.smith+tag@mail.example.co.uk") "!\n");
    assert_renders(
        "<alice@example.org>.", false, false,
        "&lt;" LINK("mailto:alice@example.org", "alice@example.org") "&gt;.\n");
    /* an address, not a web site with user info */
    assert_renders("www.bank.com@evil.example", false, false,
                   LINK("mailto:www.bank.com@evil.example",
                        "www.bank.com@evil.example") "\n");
}

static void
test_other_schemes_and_near_misses_are_not_linked(void **state)
{
    static const char *const plain[] = {
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "javascript://example.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "http://",
        "http:// example.com",
        "https://.",
        "xhttp://example.com",
        "www.",
        "foo.www.example.com",
        "user@localhost",
        "a@b.c",
        "a@b.c0m",
        "@example.com",
        "bob.@example.com",
        "bob@-example.com",
        "mailto:",
    };

    (void)state;
    for (size_t i = 0; i < N_ELEMENTS(plain); i++) {
        char *got = render(plain[i], false, false);

        if (strstr(got, "<a ") != NULL)
            fail_msg("\"%s\" was linked: %s", plain[i], got);
        g_free(got);
    }
}

static void
test_only_http_https_and_mailto_hrefs_are_ever_produced(void **state)
{
    const char *seed_env = getenv("MIME_TEST_SEED");
    guint32 seed =
        seed_env ? (guint32)strtoul(seed_env, NULL, 10) : g_random_int();
    GRand *rnd = g_rand_new_with_seed(seed);
    static const char *const parts[] = {
        "http://", "https://", "www.", "mailto:", "javascript:", "@",
        "a",       ".",        "com",  "(",       ")",           "\"",
        "'",       "<",        ">",    "&",       " ",           "\n",
        "> ",      "x.org",    "/",    "?",       "=",           "\xc3\xa9",
    };

    (void)state;
    for (int round = 0; round < 2000; round++) {
        GString *in = g_string_new(NULL);
        int n = g_rand_int_range(rnd, 1, 12);
        char *got;

        for (int k = 0; k < n; k++)
            g_string_append(in,
                            parts[g_rand_int_range(rnd, 0, N_ELEMENTS(parts))]);
        got = render(in->str, g_rand_boolean(rnd), g_rand_boolean(rnd));
        for (const char *p = strstr(got, "href=\""); p != NULL;
             p = strstr(p + 1, "href=\"")) {
            p += 6;
            if (g_ascii_strncasecmp(p, "http://", 7) != 0 &&
                g_ascii_strncasecmp(p, "https://", 8) != 0 &&
                g_ascii_strncasecmp(p, "mailto:", 7) != 0)
                fail_msg("href %.20s from \"%s\" (MIME_TEST_SEED=%u)", p,
                         in->str, seed);
        }
        /* the markup is only ours: every '<' starts a tag we write */
        for (const char *p = strchr(got, '<'); p != NULL;
             p = strchr(p + 1, '<')) {
            if (!g_str_has_prefix(p, "<a href=\"") &&
                !g_str_has_prefix(p, "</a>") &&
                !g_str_has_prefix(p, "<blockquote class=\"q") &&
                !g_str_has_prefix(p, "</blockquote>"))
                fail_msg("markup %.20s from \"%s\" (MIME_TEST_SEED=%u)", p,
                         in->str, seed);
        }
        g_free(got);
        g_string_free(in, TRUE);
    }
    g_rand_free(rnd);
}

/* ---------------------------------------------------------------------
 * Quotes
 */

static void
test_quote_levels_one_to_three(void **state)
{
    (void)state;
    assert_renders("> one\n>> two\n>>> three\n", false, false,
                   "<blockquote class=\"q1\">one\n"
                   "<blockquote class=\"q2\">two\n"
                   "<blockquote class=\"q3\">three\n"
                   "</blockquote></blockquote></blockquote>");
    /* "> > " counts like ">>"; '>' without a space is a quote too */
    assert_renders("> > two\n>no space\n", false, false,
                   "<blockquote class=\"q1\"><blockquote class=\"q2\">two\n"
                   "</blockquote>no space\n</blockquote>");
    /* an empty quoted line stays in its block */
    assert_renders(">\n> a\n>\n", false, false,
                   "<blockquote class=\"q1\">\na\n\n</blockquote>");
}

static void
test_mixed_quotes_and_text_make_separate_blocks(void **state)
{
    (void)state;
    assert_renders("Hi,\n> a\n>> b\n> c\nreply\n> d\n", false, false,
                   "Hi,\n"
                   "<blockquote class=\"q1\">a\n"
                   "<blockquote class=\"q2\">b\n"
                   "</blockquote>c\n"
                   "</blockquote>reply\n"
                   "<blockquote class=\"q1\">d\n"
                   "</blockquote>");
    /* a level 2 line with no level 1 line first opens both */
    assert_renders(">> deep\ntop", false, false,
                   "<blockquote class=\"q1\"><blockquote class=\"q2\">deep\n"
                   "</blockquote></blockquote>top\n");
}

static void
test_quote_levels_are_capped(void **state)
{
    char *got;

    (void)state;
    got = render(">>>>>>>>>>>> twelve\n> one\n", false, false);
    assert_int_equal(count(got, "<blockquote"), MIME_TEXT_QUOTE_MAX);
    assert_int_equal(count(got, "</blockquote>"), MIME_TEXT_QUOTE_MAX);
    assert_non_null(strstr(got, "<blockquote class=\"q8\">twelve\n"));
    assert_null(strstr(got, "q9"));
    g_free(got);
}

/* ---------------------------------------------------------------------
 * format=flowed
 */

static void
test_flowed_lines_are_joined(void **state)
{
    (void)state;
    assert_renders("This is a \nflowed paragraph \nof three lines.\n"
                   "Hard line.\n",
                   true, false,
                   "This is a flowed paragraph of three lines.\n"
                   "Hard line.\n");
    /* the same text without format=flowed keeps its lines */
    assert_renders("This is a \nflowed.\n", false, false,
                   "This is a \nflowed.\n");
    /* RFC 3676 §4.2: an empty line is a fixed line, so it ends the
     * paragraph a flowed line opened (and is part of it); a flowed last
     * line just ends */
    assert_renders("a \n\nb \n", true, false, "a \nb \n");
    assert_renders("a \n\nb \n", true, true, "a\nb\n");
    assert_renders("a\n\nb\n", true, false, "a\n\nb\n");
}

static void
test_flowed_delsp_removes_the_soft_space(void **state)
{
    (void)state;
    assert_renders("\xe6\x97\xa5\xe6\x9c\xac \n\xe8\xaa\x9e\n", true, true,
                   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n");
    assert_renders("super \ncalifragilistic\n", true, true,
                   "supercalifragilistic\n");
    /* delsp without format=flowed means nothing */
    assert_renders("a \nb\n", false, true, "a \nb\n");
}

static void
test_flowed_space_stuffing_is_removed(void **state)
{
    (void)state;
    assert_renders(" From me\n >not a quote\n  two spaces\n", true, false,
                   "From me\n&gt;not a quote\n two spaces\n");
    assert_renders(" stuffed and \nflowed\n", true, false,
                   "stuffed and flowed\n");
}

static void
test_flowed_quoted_paragraphs_keep_their_depth(void **state)
{
    (void)state;
    assert_renders("> quoted \n> para\n>> deeper \n>> para\nreply\n", true,
                   false,
                   "<blockquote class=\"q1\">quoted para\n"
                   "<blockquote class=\"q2\">deeper para\n"
                   "</blockquote></blockquote>reply\n");
    /* RFC 3676: "> >" is depth 1 whose text starts with '>' */
    assert_renders("> > x\n", true, false,
                   "<blockquote class=\"q1\">&gt; x\n</blockquote>");
    /* flowed into another depth: the paragraph ends there */
    assert_renders("> a \nb\n", true, false,
                   "<blockquote class=\"q1\">a \n</blockquote>b\n");
    assert_renders(">> a \n> b\n", true, true,
                   "<blockquote class=\"q1\"><blockquote class=\"q2\">a\n"
                   "</blockquote>b\n</blockquote>");
}

static void
test_flowed_signature_separator_is_a_hard_break(void **state)
{
    (void)state;
    assert_renders("Regards \n-- \nBob \nSmith\n", true, false,
                   "Regards \n-- \nBob Smith\n");
    assert_renders("Regards \n-- \nBob\n", true, true, "Regards\n-- \nBob\n");
    assert_renders("> text \n> -- \n> sig\n", true, false,
                   "<blockquote class=\"q1\">text \n-- \nsig\n"
                   "</blockquote>");
}

static void
test_flowed_urls_are_linked_after_joining(void **state)
{
    (void)state;
    assert_renders(
        "see http://example.com/a/very/long/path/ \nnext\n", true, true,
        "see " LINK("http://example.com/a/very/long/path/next",
                    "http://example.com/a/very/long/path/next") "\n");
}

/* ---------------------------------------------------------------------
 * Line ends, size
 */

static void
test_crlf_lf_and_cr_line_ends_give_the_same_output(void **state)
{
    static const char *const inputs[] = {
        "one\r\n> two \r\n> three\r\n\r\nfour\r\n",
        "one\n> two \n> three\n\nfour\n",
        "one\r> two \r> three\r\rfour\r",
        "one\n> two \r\n> three\r\n\nfour",
    };

    (void)state;
    for (int flowed = 0; flowed <= 1; flowed++) {
        char *first = render(inputs[0], flowed, false);

        for (size_t i = 1; i < N_ELEMENTS(inputs); i++) {
            char *got = render(inputs[i], flowed, false);

            assert_string_equal(got, first);
            g_free(got);
        }
        assert_null(strchr(first, '\r'));
        g_free(first);
    }
}

static void
test_very_long_lines_render_in_linear_time(void **state)
{
    static const char *const units[] = {"word ",   "a.", "x@", "www.",
                                        "http://", "(",  ">",  "&"};
    const size_t size = 2u * 1024 * 1024;

    (void)state;
    for (size_t u = 0; u < N_ELEMENTS(units); u++) {
        GString *in = g_string_sized_new(size + 64);
        GString *out = g_string_new(NULL);
        struct err err = {0};
        gint64 t0 = g_get_monotonic_time();

        if (u == 0)
            g_string_append(in, "start https://example.com/x ");
        while (in->len < size)
            g_string_append(in, units[u]);
        assert_int_equal(
            mime_text_to_html(in->str, in->len, u % 2 == 0, false, out, &err),
            0);
        assert_true(g_utf8_validate_len(out->str, out->len, NULL));
        if (strcmp(units[u], ">") != 0) /* ">" x 2M is a quote marker */
            assert_true(out->len >= in->len);
        if (u == 0)
            assert_int_equal(count(out->str, "<a "), 1);
        /* quadratic work on 2 MiB would take minutes, not seconds */
        if (g_get_monotonic_time() - t0 > 10 * G_USEC_PER_SEC)
            fail_msg("\"%s\" x %zu took too long", units[u],
                     size / strlen(units[u]));
        g_string_free(out, TRUE);
        g_string_free(in, TRUE);
    }
}

static void
test_input_over_the_cap_is_a_limit_error(void **state)
{
    size_t cap = LIM_SANITIZE_INPUT;
    char *big = g_malloc(cap + 1);
    GString *out = g_string_new("unchanged");
    struct err err = {0};

    (void)state;
    memset(big, 'a', cap + 1);
    for (size_t i = 100; i < cap; i += 100)
        big[i] = '\n';
    assert_int_equal(mime_text_to_html(big, cap + 1, false, false, out, &err),
                     -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_string_equal(out->str, "unchanged");

    err_clear(&err);
    assert_int_equal(mime_text_to_html(big, cap, true, false, out, &err), 0);
    assert_int_equal(err.kind, ERR_NONE);
    assert_true(out->len > cap);
    g_string_free(out, TRUE);
    g_free(big);
}

/* ---- rows, for the frame's height ---- */

static unsigned
rows(const char *text, bool flowed)
{
    return mime_text_rows(text, strlen(text), flowed, 37, 14);
}

static void
test_rows_wrap_each_line_at_the_width(void **state)
{
    char line[80];

    (void)state;
    assert_int_equal(rows("", false), 0);
    assert_int_equal(rows("Hello\n", false), 1);
    assert_int_equal(rows("one\r\ntwo\rthree\n\nfive", false), 5);
    memset(line, 'x', 74);
    line[74] = '\0';
    assert_int_equal(rows(line, false), 2); /* exactly two widths */
    line[74] = 'y';
    line[75] = '\0';
    assert_int_equal(rows(line, false), 3);
    /* a tab reaches the next multiple of 8: 4 tabs and 6 more is 38 */
    assert_int_equal(rows("\t\t\t\tabcdef", false), 2);
    assert_int_equal(rows("\t\t\t\tabcde", false), 1);
}

static void
test_rows_count_characters_not_bytes(void **state)
{
    GString *s = g_string_new(NULL);

    (void)state;
    for (int i = 0; i < 37; i++)
        g_string_append(s, "\xc3\xa9"); /* é, two bytes */
    assert_int_equal(rows(s->str, false), 1);
    g_string_append(s, "\xe2\x82\xac"); /* the 38th: € */
    assert_int_equal(rows(s->str, false), 2);
    g_string_free(s, TRUE);
}

/* A quote's prefix takes no room of its own; its margins take about a
 * row where the depth changes. */
static void
test_rows_add_one_where_the_quote_depth_changes(void **state)
{
    (void)state;
    assert_int_equal(rows("On Monday Bob wrote:\n> hi\n> there\nYes.\n",
                          false), 6);
    assert_int_equal(rows(">> deep\n", false), 2);
    assert_int_equal(rows(">> deep\n", true), 2);
}

static void
test_rows_stop_counting_past_max(void **state)
{
    GString *s = g_string_new(NULL);

    (void)state;
    for (int i = 0; i < 10000; i++)
        g_string_append(s, "line\n");
    assert_int_equal(rows(s->str, false), 15);
    g_string_truncate(s, 0);
    g_string_append_c(s, 'x');
    for (int i = 0; i < 100000; i++)
        g_string_append_c(s, 'x'); /* one line of 2,703 rows */
    assert_int_equal(rows(s->str, false), 15);
    g_string_free(s, TRUE);
}

int
main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_special_character_is_escaped),
        cmocka_unit_test(test_a_script_line_is_only_text),
        cmocka_unit_test(test_control_characters_are_replaced_and_tabs_kept),
        cmocka_unit_test(test_invalid_utf8_and_nul_are_replaced_not_trusted),
        cmocka_unit_test(test_http_and_https_urls_are_linked),
        cmocka_unit_test(
            test_a_url_with_an_ampersand_is_escaped_in_href_and_text),
        cmocka_unit_test(test_trailing_punctuation_is_not_part_of_a_url),
        cmocka_unit_test(test_www_mailto_and_bare_addresses_are_linked),
        cmocka_unit_test(test_other_schemes_and_near_misses_are_not_linked),
        cmocka_unit_test(
            test_only_http_https_and_mailto_hrefs_are_ever_produced),
        cmocka_unit_test(test_quote_levels_one_to_three),
        cmocka_unit_test(test_mixed_quotes_and_text_make_separate_blocks),
        cmocka_unit_test(test_quote_levels_are_capped),
        cmocka_unit_test(test_flowed_lines_are_joined),
        cmocka_unit_test(test_flowed_delsp_removes_the_soft_space),
        cmocka_unit_test(test_flowed_space_stuffing_is_removed),
        cmocka_unit_test(test_flowed_quoted_paragraphs_keep_their_depth),
        cmocka_unit_test(test_flowed_signature_separator_is_a_hard_break),
        cmocka_unit_test(test_flowed_urls_are_linked_after_joining),
        cmocka_unit_test(test_crlf_lf_and_cr_line_ends_give_the_same_output),
        cmocka_unit_test(test_very_long_lines_render_in_linear_time),
        cmocka_unit_test(test_input_over_the_cap_is_a_limit_error),
        cmocka_unit_test(test_rows_wrap_each_line_at_the_width),
        cmocka_unit_test(test_rows_count_characters_not_bytes),
        cmocka_unit_test(test_rows_add_one_where_the_quote_depth_changes),
        cmocka_unit_test(test_rows_stop_counting_past_max),
    };

    return cmocka_run_group_tests_name("mime_text", tests, NULL, NULL);
}
