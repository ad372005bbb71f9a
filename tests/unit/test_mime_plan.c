/* test_mime_plan.c - what of a message is shown and what is listed as an
 * attachment, for every structure mail readers meet; and the section and
 * inline-image checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/limits.h"
#include "mime/mime_part.h"

/* A part: section, parent, depth, type/subtype, and optional extras. */
#define P(sec, par, dep, t, s) {.section = sec, .parent = par, .depth = dep, \
                                .type = t, .subtype = s, .encoding = "7bit"}

/* The plan as text: "T1 H2 E3 ] A4 I5" (text, html, embed begin/end,
 * attachment, inline) by section. */
static char *
plan_string(const struct mime_part *parts, size_t n, bool plain)
{
    struct mime_plan plan;
    struct err err = {0};
    GString *s = g_string_new("");

    assert_int_equal(mime_plan_make(parts, n, plain, &plan, &err), 0);
    for (size_t i = 0; i < plan.n_show; i++) {
        const char *sec = parts[plan.show[i].part].section;

        switch (plan.show[i].kind) {
        case MIME_SHOW_TEXT: g_string_append_printf(s, "T%s ", sec); break;
        case MIME_SHOW_HTML: g_string_append_printf(s, "H%s ", sec); break;
        case MIME_SHOW_EMBED_BEGIN:
            g_string_append_printf(s, "E%s ", sec);
            break;
        case MIME_SHOW_EMBED_END: g_string_append(s, "] "); break;
        }
    }
    for (size_t i = 0; i < plan.n_attachments; i++)
        g_string_append_printf(s, "A%s ", parts[plan.attachments[i]].section);
    for (size_t i = 0; i < plan.n_inline; i++)
        g_string_append_printf(s, "I%s ", parts[plan.inline_parts[i]].section);
    mime_plan_clear(&plan);
    if (s->len > 0)
        g_string_truncate(s, s->len - 1);
    return g_string_free(s, FALSE);
}

static void
assert_plan(const struct mime_part *parts, size_t n, bool plain,
            const char *want)
{
    char *got = plan_string(parts, n, plain);

    if (strcmp(got, want) != 0)
        fail_msg("plan \"%s\", expected \"%s\"", got, want);
    g_free(got);
}

static void
test_single_text_part_is_shown(void **state)
{
    const struct mime_part parts[] = {P("1", -1, 0, "text", "plain")};
    const struct mime_part html[] = {P("1", -1, 0, "text", "html")};
    const struct mime_part pdf[] = {P("1", -1, 0, "application", "pdf")};

    (void)state;
    assert_plan(parts, 1, false, "T1");
    assert_plan(html, 1, false, "H1");
    assert_plan(pdf, 1, false, "A1");
}

static void
test_alternative_prefers_html_unless_plain_is_asked(void **state)
{
    const struct mime_part parts[] = {
        P("", -1, 0, "multipart", "alternative"),
        P("1", 0, 1, "text", "plain"),
        P("2", 0, 1, "text", "html"),
    };

    (void)state;
    assert_plan(parts, 3, false, "H2");
    assert_plan(parts, 3, true, "T1");
}

static void
test_related_shows_root_and_keeps_cid_images_inline(void **state)
{
    struct mime_part parts[] = {
        P("", -1, 0, "multipart", "related"),
        P("1", 0, 1, "text", "html"),
        P("2", 0, 1, "image", "png"),
        P("3", 0, 1, "image", "gif"),
    };

    (void)state;
    parts[2].content_id = "logo@x";
    assert_plan(parts, 4, false, "H1 A3 I2");
}

static void
test_mixed_with_alternative_and_attachments(void **state)
{
    struct mime_part parts[] = {
        P("", -1, 0, "multipart", "mixed"),
        P("1", 0, 1, "multipart", "alternative"),
        P("1.1", 1, 2, "text", "plain"),
        P("1.2", 1, 2, "multipart", "related"),
        P("1.2.1", 3, 3, "text", "html"),
        P("1.2.2", 3, 3, "image", "jpeg"),
        P("2", 0, 1, "application", "pdf"),
        P("3", 0, 1, "text", "plain"),
    };

    (void)state;
    parts[5].content_id = "img1";
    parts[7].disposition = "attachment";
    parts[7].filename = "notes.txt";
    assert_plan(parts, 8, false, "H1.2.1 A2 A3 I1.2.2");
    assert_plan(parts, 8, true, "T1.1 A2 A3");
}

static void
test_forwarded_message_is_embedded(void **state)
{
    const struct mime_part parts[] = {
        P("", -1, 0, "multipart", "mixed"),
        P("1", 0, 1, "text", "plain"),
        P("2", 0, 1, "message", "rfc822"),
        P("2.1", 2, 2, "multipart", "alternative"),
        P("2.1.1", 3, 3, "text", "plain"),
        P("2.1.2", 3, 3, "text", "html"),
    };

    (void)state;
    assert_plan(parts, 6, false, "T1 E2 H2.1.2 ]");
}

static void
test_signed_and_encrypted_parts_are_attachments(void **state)
{
    const struct mime_part signed_[] = {
        P("", -1, 0, "multipart", "signed"),
        P("1", 0, 1, "text", "plain"),
        P("2", 0, 1, "application", "pgp-signature"),
    };
    const struct mime_part enc[] = {
        P("", -1, 0, "multipart", "encrypted"),
        P("1", 0, 1, "application", "pgp-encrypted"),
        P("2", 0, 1, "application", "octet-stream"),
    };

    (void)state;
    assert_plan(signed_, 3, false, "T1 A2");
    assert_plan(enc, 3, false, "A1 A2");
}

static void
test_too_deep_or_too_many_parts_are_refused(void **state)
{
    struct mime_part *parts = g_new0(struct mime_part, LIM_MIME_DEPTH + 2);
    struct mime_plan plan;
    struct err err = {0};

    (void)state;
    for (unsigned i = 0; i <= LIM_MIME_DEPTH + 1; i++) {
        parts[i] = (struct mime_part)P("1", (int)i - 1, i, "multipart",
                                       "mixed");
    }
    assert_int_equal(mime_plan_make(parts, LIM_MIME_DEPTH + 2, false, &plan,
                                    &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_null(plan.show);
    g_free(parts);
    err_clear(&err);
    assert_int_equal(mime_plan_make(NULL, LIM_MIME_PARTS + 1, false, &plan,
                                    &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
}

static void
test_sections_are_checked(void **state)
{
    static const char *const good[] = {"1", "2.1", "1.2.3", "99999"};
    static const char *const bad[] = {"",    "0",  "1.",   ".1",  "1..2",
                                      "a",   "01", "1.0",  "123456",
                                      "1,2", "1 ", "HEADER"};

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
        assert_true(mime_section_is_valid(good[i]));
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (mime_section_is_valid(bad[i]))
            fail_msg("section \"%s\" accepted", bad[i]);
    }
}

static void
test_only_raster_images_show_inline(void **state)
{
    (void)state;
    assert_true(mime_is_inline_image("image", "png"));
    assert_true(mime_is_inline_image("IMAGE", "JPEG"));
    assert_false(mime_is_inline_image("image", "svg+xml"));
    assert_false(mime_is_inline_image("text", "html"));
    assert_false(mime_is_inline_image(NULL, "png"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_text_part_is_shown),
        cmocka_unit_test(test_alternative_prefers_html_unless_plain_is_asked),
        cmocka_unit_test(test_related_shows_root_and_keeps_cid_images_inline),
        cmocka_unit_test(test_mixed_with_alternative_and_attachments),
        cmocka_unit_test(test_forwarded_message_is_embedded),
        cmocka_unit_test(test_signed_and_encrypted_parts_are_attachments),
        cmocka_unit_test(test_too_deep_or_too_many_parts_are_refused),
        cmocka_unit_test(test_sections_are_checked),
        cmocka_unit_test(test_only_raster_images_show_inline),
    };

    return cmocka_run_group_tests_name("mime_plan", tests, NULL, NULL);
}
