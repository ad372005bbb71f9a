/* test_mustache.c - unit tests for view/mustache: every case of the official
 * spec files, then our own escaping, syntax-error and limit cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <json-c/json.h>

#include "core/err.h"
#include "core/limits.h"
#include "view/mustache.h"

/* The Makefile passes the folder's absolute path; this fallback only keeps
 * a hand-made build working from the repository root. */
#ifndef MUSTACHE_SPEC_DIR
#define MUSTACHE_SPEC_DIR "../shared/testdata/mustache-spec"
#endif

/* The spec files hold 136 cases (lambdas and optional modules left out). */
#define SPEC_CASES 136

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Partials from a json-c object of name -> source string. */
static const char *
partials_from_object(void *ctx, const char *name, size_t *len_out)
{
    struct json_object *obj = ctx;
    struct json_object *src = NULL;

    if (obj == NULL || !json_object_object_get_ex(obj, name, &src) ||
        !json_object_is_type(src, json_type_string))
        return NULL;
    *len_out = (size_t)json_object_get_string_len(src);
    return json_object_get_string(src);
}

/* Compiles and renders tpl over the JSON text view_json with the partials
 * in partials_json (may be NULL). Returns the output (g_free it), or NULL
 * with *err set. */
static char *
render_text(const char *tpl, const char *view_json, const char *partials_json,
            struct err *err)
{
    struct json_object *view = json_tokener_parse(view_json);
    struct json_object *partials =
        partials_json == NULL ? NULL : json_tokener_parse(partials_json);
    struct mustache *t = mustache_compile(tpl, strlen(tpl), err);
    GString *out = g_string_new(NULL);
    char *result = NULL;

    if (t != NULL &&
        mustache_render(t, view, partials_from_object, partials, out,
                        err) == 0)
        result = g_strdup(out->str);
    g_string_free(out, TRUE);
    mustache_free(&t);
    json_object_put(partials);
    json_object_put(view);
    return result;
}

static void
assert_renders(const char *tpl, const char *view_json, const char *expected)
{
    struct err err = { 0 };
    char *got = render_text(tpl, view_json, NULL, &err);

    if (got == NULL)
        print_error("unexpected error: %s\n", err.msg);
    assert_non_null(got);
    assert_string_equal(got, expected);
    g_free(got);
}

static void
assert_compile_fails(const char *tpl, enum err_kind kind,
                     const char *message_part)
{
    struct err err = { 0 };
    struct mustache *t = mustache_compile(tpl, strlen(tpl), &err);

    assert_null(t);
    assert_int_equal(err.kind, kind);
    if (strstr(err.msg, message_part) == NULL)
        print_error("message \"%s\" lacks \"%s\"\n", err.msg, message_part);
    assert_non_null(strstr(err.msg, message_part));
}

/* ------------------------------------------------------------------ */
/* The official spec                                                   */
/* ------------------------------------------------------------------ */

/* Runs one spec case; prints it and returns false if it fails. */
static bool
spec_case_passes(const char *file, struct json_object *test)
{
    struct json_object *name = NULL;
    struct json_object *data = NULL;
    struct json_object *tpl = NULL;
    struct json_object *partials = NULL;
    struct json_object *expected = NULL;
    struct err err = { 0 };
    struct mustache *t;
    GString *out = g_string_new(NULL);
    bool ok = false;

    json_object_object_get_ex(test, "name", &name);
    json_object_object_get_ex(test, "data", &data);
    json_object_object_get_ex(test, "partials", &partials);
    if (!json_object_object_get_ex(test, "template", &tpl) ||
        !json_object_object_get_ex(test, "expected", &expected)) {
        print_error("%s: %s: no template or expected\n", file,
                    json_object_get_string(name));
        g_string_free(out, TRUE);
        return false;
    }
    t = mustache_compile(json_object_get_string(tpl),
                         (size_t)json_object_get_string_len(tpl), &err);
    if (t == NULL) {
        print_error("%s: %s: compile failed: %s\n", file,
                    json_object_get_string(name), err.msg);
    } else if (mustache_render(t, data, partials_from_object, partials, out,
                               &err) < 0) {
        print_error("%s: %s: render failed: %s\n", file,
                    json_object_get_string(name), err.msg);
    } else if (out->len != (size_t)json_object_get_string_len(expected) ||
               memcmp(out->str, json_object_get_string(expected),
                      out->len) != 0) {
        /* JSON-quoted, so whitespace and line breaks show */
        struct json_object *got =
            json_object_new_string_len(out->str, (int)out->len);

        print_error("%s: %s:\n  expected: %s\n  got:      %s\n", file,
                    json_object_get_string(name),
                    json_object_to_json_string(expected),
                    json_object_to_json_string(got));
        json_object_put(got);
    } else {
        ok = true;
    }
    mustache_free(&t);
    g_string_free(out, TRUE);
    return ok;
}

/* g_ptr_array_sort() passes pointers to the elements. */
static gint
compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_every_official_spec_case_passes(void **state)
{
    const char *dir = getenv("MUSTACHE_SPEC_DIR");
    GDir *d;
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    const char *entry;
    unsigned total = 0;
    unsigned failed = 0;
    guint i;

    (void)state;
    if (dir == NULL || dir[0] == '\0')
        dir = MUSTACHE_SPEC_DIR;
    d = g_dir_open(dir, 0, NULL);
    if (d == NULL) {
        print_message("mustache spec folder %s does not exist; skipping\n",
                      dir);
        g_ptr_array_free(files, TRUE);
        skip();
        return;
    }
    while ((entry = g_dir_read_name(d)) != NULL) {
        if (g_str_has_suffix(entry, ".json"))
            g_ptr_array_add(files, g_build_filename(dir, entry, NULL));
    }
    g_dir_close(d);
    g_ptr_array_sort(files, compare_paths);

    for (i = 0; i < files->len; i++) {
        const char *path = g_ptr_array_index(files, i);
        struct json_object *spec = json_object_from_file(path);
        struct json_object *tests = NULL;
        size_t k;

        if (spec == NULL ||
            !json_object_object_get_ex(spec, "tests", &tests) ||
            !json_object_is_type(tests, json_type_array)) {
            print_error("%s: not a spec file\n", path);
            failed++;
            json_object_put(spec);
            continue;
        }
        for (k = 0; k < json_object_array_length(tests); k++) {
            total++;
            if (!spec_case_passes(path, json_object_array_get_idx(tests, k)))
                failed++;
        }
        json_object_put(spec);
    }
    g_ptr_array_free(files, TRUE);
    print_message("mustache spec: %u of %u cases passed\n", total - failed,
                  total);
    assert_int_equal(failed, 0);
    assert_int_equal(total, SPEC_CASES);
}

/* ------------------------------------------------------------------ */
/* Our own cases                                                       */
/* ------------------------------------------------------------------ */

static void
test_escaping_covers_all_five_characters(void **state)
{
    (void)state;
    assert_renders("{{s}}", "{\"s\": \"a&b<c>d\\\"e'f\"}",
                   "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    assert_renders("{{{s}}}|{{&s}}", "{\"s\": \"&<>\\\"'\"}",
                   "&<>\"'|&<>\"'");
    assert_renders("{{#l}}{{.}}{{/l}}", "{\"l\": [\"<\", \"'\"]}",
                   "&lt;&#39;");
}

static void
test_numbers_booleans_and_containers_interpolate_as_documented(void **state)
{
    struct json_object *view = json_object_new_object();
    struct mustache *t;
    struct err err = { 0 };
    GString *out = g_string_new(NULL);
    static const char tpl[] = "{{d}} {{h}} {{i}} {{big}} {{u}} {{t}} {{f}} "
                              "[{{o}}][{{a}}][{{n}}]";

    (void)state;
    json_object_object_add(view, "d", json_object_new_double(1.21));
    json_object_object_add(view, "h", json_object_new_double(0.1 + 0.2));
    json_object_object_add(view, "i", json_object_new_int(-7));
    json_object_object_add(view, "big", json_object_new_int64(INT64_MIN));
    json_object_object_add(view, "u", json_object_new_uint64(UINT64_MAX));
    json_object_object_add(view, "t", json_object_new_boolean(1));
    json_object_object_add(view, "f", json_object_new_boolean(0));
    json_object_object_add(view, "o", json_object_new_object());
    json_object_object_add(view, "a", json_object_new_array());
    json_object_object_add(view, "n", NULL);
    t = mustache_compile(tpl, sizeof(tpl) - 1, &err);
    assert_non_null(t);
    assert_int_equal(mustache_render(t, view, NULL, NULL, out, &err), 0);
    assert_string_equal(out->str,
                        "1.21 0.30000000000000004 -7 -9223372036854775808 "
                        "18446744073709551615 true false [][][]");
    mustache_free(&t);
    g_string_free(out, TRUE);
    json_object_put(view);
}

static void
test_zero_and_empty_string_are_truthy_as_in_the_spec(void **state)
{
    (void)state;
    assert_renders("{{#z}}z{{/z}}{{#e}}e{{/e}}{{^f}}f{{/f}}{{^m}}m{{/m}}",
                   "{\"z\": 0, \"e\": \"\", \"f\": false}", "zefm");
}

static void
test_unclosed_section_is_an_error_naming_the_line(void **state)
{
    (void)state;
    assert_compile_fails("a\nb\n{{#items}}\nx\n", ERR_INPUT,
                         "line 3: unclosed section \"items\"");
}

static void
test_unmatched_close_tag_is_an_error_naming_the_line(void **state)
{
    (void)state;
    assert_compile_fails("x\n{{/items}}", ERR_INPUT,
                         "line 2: unmatched close tag \"items\"");
    assert_compile_fails("{{#a}}\n\n{{/b}}{{/a}}", ERR_INPUT,
                         "line 3: unmatched close tag \"b\"");
}

static void
test_malformed_tags_are_errors_naming_the_line(void **state)
{
    (void)state;
    assert_compile_fails("ok\n{{name", ERR_INPUT, "line 2: unclosed tag");
    assert_compile_fails("{{{name}}", ERR_INPUT, "line 1: unclosed tag");
    assert_compile_fails("\n\n{{=<%>=}}", ERR_INPUT,
                         "line 3: bad set-delimiter tag");
    assert_compile_fails("{{= a b c =}}", ERR_INPUT, "bad set-delimiter tag");
    assert_compile_fails("{{=a= b=}}", ERR_INPUT, "bad set-delimiter tag");
    assert_compile_fails("{{ }}", ERR_INPUT, "line 1: empty or malformed");
    assert_compile_fails("{{a..b}}", ERR_INPUT, "malformed name \"a..b\"");
    assert_compile_fails("{{#a b}}{{/a b}}", ERR_INPUT, "malformed name");
}

/* Partial source "pN" includes "pN+1" until N reaches ctx's limit. */
struct partial_chain {
    unsigned last;
    GPtrArray *sources;    /* kept until the render ends */
};

static const char *
partials_chain(void *ctx, const char *name, size_t *len_out)
{
    struct partial_chain *chain = ctx;
    unsigned n = (unsigned)strtoul(name + 1, NULL, 10);
    char *src;

    if (n < chain->last)
        src = g_strdup_printf("%u{{>p%u}}", n, n + 1);
    else
        src = g_strdup_printf("%u", n);
    g_ptr_array_add(chain->sources, src);
    *len_out = strlen(src);
    return src;
}

static int
render_chain(unsigned last, GString *out, struct err *err)
{
    struct partial_chain chain = {
        .last = last, .sources = g_ptr_array_new_with_free_func(g_free),
    };
    struct mustache *t = mustache_compile("{{>p1}}", 7, err);
    int rc;

    assert_non_null(t);
    rc = mustache_render(t, NULL, partials_chain, &chain, out, err);
    mustache_free(&t);
    g_ptr_array_free(chain.sources, TRUE);
    return rc;
}

static void
test_partials_nest_to_the_limit_and_one_more_fails(void **state)
{
    GString *out = g_string_new(NULL);
    struct err err = { 0 };

    (void)state;
    assert_int_equal(render_chain(LIM_TEMPLATE_DEPTH, out, &err), 0);
    assert_string_equal(out->str, "12345678910111213141516");
    g_string_truncate(out, 0);
    assert_int_equal(render_chain(LIM_TEMPLATE_DEPTH + 1, out, &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    g_string_free(out, TRUE);
}

static void
test_self_recursive_partial_ends_in_a_limit_error(void **state)
{
    struct err err = { 0 };
    char *got;

    (void)state;
    got = render_text("{{>me}}", "{}", "{\"me\": \"x{{>me}}\"}", &err);
    assert_null(got);
    assert_int_equal(err.kind, ERR_LIMIT);

    /* a standalone self-include grows its indentation at every level */
    err_clear(&err);
    got = render_text("{{>me}}", "{}", "{\"me\": \"x\\n  {{>me}}\\n\"}", &err);
    assert_null(got);
    assert_int_equal(err.kind, ERR_LIMIT);
}

static void
test_partial_that_fails_to_compile_is_an_input_error(void **state)
{
    struct err err = { 0 };
    char *got;

    (void)state;
    got = render_text("a {{>bad}} b", "{}", "{\"bad\": \"\\n{{#open}}\"}",
                      &err);
    assert_null(got);
    assert_int_equal(err.kind, ERR_INPUT);
    assert_non_null(strstr(err.msg, "partial \"bad\""));
    assert_non_null(strstr(err.msg, "line 2: unclosed section \"open\""));
}

static char *
nested_sections(unsigned depth)
{
    GString *s = g_string_new(NULL);
    unsigned i;

    for (i = 0; i < depth; i++)
        g_string_append(s, "{{#a}}");
    g_string_append(s, "x");
    for (i = 0; i < depth; i++)
        g_string_append(s, "{{/a}}");
    return g_string_free(s, FALSE);
}

static void
test_section_nesting_at_the_limit_compiles_and_one_more_fails(void **state)
{
    char *at = nested_sections(LIM_TEMPLATE_SECTION_DEPTH);
    char *over = nested_sections(LIM_TEMPLATE_SECTION_DEPTH + 1);
    struct err err = { 0 };
    struct mustache *t;

    (void)state;
    assert_renders(at, "{\"a\": true}", "x");
    t = mustache_compile(over, strlen(over), &err);
    assert_null(t);
    assert_int_equal(err.kind, ERR_LIMIT);
    g_free(at);
    g_free(over);
}

static void
test_rendering_the_same_template_twice_gives_the_same_output(void **state)
{
    static const char tpl[] =
        "<ul>\n{{#items}}\n  {{>item}}\n{{/items}}\n</ul>\n"
        "{{^items}}none{{/items}}";
    struct json_object *view = json_tokener_parse(
        "{\"items\": [{\"n\": \"a<\"}, {\"n\": \"b\"}], \"cls\": \"x\"}");
    struct json_object *partials =
        json_tokener_parse("{\"item\": \"<li class={{cls}}>{{n}}</li>\\n\"}");
    struct err err = { 0 };
    struct mustache *t = mustache_compile(tpl, sizeof(tpl) - 1, &err);
    GString *first = g_string_new(NULL);
    GString *second = g_string_new(NULL);

    (void)state;
    assert_non_null(t);
    assert_int_equal(mustache_render(t, view, partials_from_object, partials,
                                     first, &err), 0);
    assert_int_equal(mustache_render(t, view, partials_from_object, partials,
                                     second, &err), 0);
    assert_string_equal(first->str, "<ul>\n  <li class=x>a&lt;</li>\n"
                                    "  <li class=x>b</li>\n</ul>\n");
    assert_string_equal(first->str, second->str);
    g_string_free(first, TRUE);
    g_string_free(second, TRUE);
    mustache_free(&t);
    mustache_free(&t); /* NULL-safe after the first */
    json_object_put(partials);
    json_object_put(view);
}

/* A template set's partials compiled once: each indentation keeps its
 * own compiled copy, and every render through the shared cache gives
 * what a render with its own cache gives. */
static void
test_a_shared_partial_cache_renders_like_a_fresh_one(void **state)
{
    static const char a[] = "<ul>\n  {{>item}}\n</ul>\n{{>item}}";
    static const char b[] = "    {{>item}}\n";
    struct json_object *view = json_tokener_parse("{\"n\": \"x&\"}");
    struct json_object *partials =
        json_tokener_parse("{\"item\": \"<li>{{n}}</li>\\n<br>\\n\"}");
    struct err err = { 0 };
    struct mustache *ta = mustache_compile(a, sizeof(a) - 1, &err);
    struct mustache *tb = mustache_compile(b, sizeof(b) - 1, &err);
    struct mustache_cache *cache = mustache_cache_new();
    GString *fresh = g_string_new(NULL), *got = g_string_new(NULL);

    (void)state;
    assert_non_null(ta);
    assert_non_null(tb);
    for (int i = 0; i < 3; i++) {
        const struct mustache *t = i == 1 ? tb : ta;

        g_string_truncate(fresh, 0);
        g_string_truncate(got, 0);
        assert_int_equal(mustache_render(t, view, partials_from_object,
                                         partials, fresh, &err), 0);
        assert_int_equal(mustache_render_cached(t, view,
                                                partials_from_object,
                                                partials, cache, got, &err),
                         0);
        assert_string_equal(got->str, fresh->str);
    }
    assert_string_equal(got->str, "<ul>\n  <li>x&amp;</li>\n  <br>\n</ul>\n"
                                  "<li>x&amp;</li>\n<br>\n");
    g_string_free(fresh, TRUE);
    g_string_free(got, TRUE);
    mustache_cache_free(&cache);
    mustache_cache_free(&cache); /* NULL-safe after the first */
    mustache_free(&ta);
    mustache_free(&tb);
    json_object_put(partials);
    json_object_put(view);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_official_spec_case_passes),
        cmocka_unit_test(test_a_shared_partial_cache_renders_like_a_fresh_one),
        cmocka_unit_test(test_escaping_covers_all_five_characters),
        cmocka_unit_test(
            test_numbers_booleans_and_containers_interpolate_as_documented),
        cmocka_unit_test(test_zero_and_empty_string_are_truthy_as_in_the_spec),
        cmocka_unit_test(test_unclosed_section_is_an_error_naming_the_line),
        cmocka_unit_test(test_unmatched_close_tag_is_an_error_naming_the_line),
        cmocka_unit_test(test_malformed_tags_are_errors_naming_the_line),
        cmocka_unit_test(test_partials_nest_to_the_limit_and_one_more_fails),
        cmocka_unit_test(test_self_recursive_partial_ends_in_a_limit_error),
        cmocka_unit_test(test_partial_that_fails_to_compile_is_an_input_error),
        cmocka_unit_test(
            test_section_nesting_at_the_limit_compiles_and_one_more_fails),
        cmocka_unit_test(
            test_rendering_the_same_template_twice_gives_the_same_output),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
