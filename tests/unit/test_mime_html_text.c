/* test_mime_html_text.c - the readable text of HTML for quoting: blocks as
 * lines, scripts and styles left out, whitespace folded, deep nesting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "mime/mime_html_text.h"

static void
assert_text(const char *html, const char *want)
{
    char *got = mime_html_to_text(html, strlen(html));

    if (strcmp(got, want) != 0)
        fail_msg("got \"%s\", expected \"%s\"", got, want);
    g_free(got);
}

static void
test_blocks_become_lines_and_inline_stays_inline(void **state)
{
    (void)state;
    assert_text("<p>Hello <b>Bob</b>,</p><p>see   you\n soon</p>",
                "Hello Bob,\n\nsee you soon");
    assert_text("a<br>b<div>c</div>", "a\nb\nc");
    assert_text("<ul><li>one</li><li>two</li></ul>", "one\ntwo");
}

static void
test_scripts_styles_and_head_are_left_out(void **state)
{
    (void)state;
    assert_text("<head><title>T</title><style>p{}</style></head>"
                "<body><script>alert(1)</script>text</body>",
                "text");
}

static void
test_entities_are_decoded_and_blank_runs_folded(void **state)
{
    (void)state;
    assert_text("<p>a &lt;b&gt; &amp; c</p><p></p><p></p><p>d</p>",
                "a <b> & c\n\nd");
}

static void
test_deep_nesting_and_invalid_utf8_are_handled(void **state)
{
    GString *s = g_string_new(NULL);
    char *got;

    (void)state;
    for (int i = 0; i < 2000; i++)
        g_string_append(s, "<span>");
    g_string_append(s, "deep\xff");
    got = mime_html_to_text(s->str, s->len);
    assert_true(g_utf8_validate(got, -1, NULL));
    assert_non_null(strstr(got, "deep"));
    g_free(got);
    g_string_free(s, TRUE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_become_lines_and_inline_stays_inline),
        cmocka_unit_test(test_scripts_styles_and_head_are_left_out),
        cmocka_unit_test(test_entities_are_decoded_and_blank_runs_folded),
        cmocka_unit_test(test_deep_nesting_and_invalid_utf8_are_handled),
    };

    return cmocka_run_group_tests_name("mime_html_text", tests, NULL, NULL);
}
