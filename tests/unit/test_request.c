/* test_request.c - URL and form decoding, headers, cookies and content
 * negotiation of struct request, with every cap crossed by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/limits.h"
#include "web/form.h"
#include "web/request.h"

struct fixture {
    struct arena *arena;
    struct request req;
};

static int
setup(void **state)
{
    struct fixture *f = g_new0(struct fixture, 1);

    f->arena = arena_new(0);
    request_init(&f->req, f->arena, NULL); /* no app: base path "/" */
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

static void
test_form_decodes_escapes_plus_and_repeats(void **state)
{
    struct fixture *f = *state;
    struct kv_list l = {0};
    struct err err = {0};
    const char body[] = "uid=1&uid=22&to=Re%C3%A7us+2026&empty=&flag&&x=%2B";

    assert_int_equal(form_parse_urlencoded(f->arena, body, strlen(body), &l,
                                           &err), 0);
    assert_int_equal(l.n, 6);
    assert_string_equal(l.items[0].value, "1");
    assert_string_equal(l.items[1].name, "uid");
    assert_string_equal(l.items[1].value, "22");
    assert_string_equal(kv_list_get(&l, "to"), "Reçus 2026");
    assert_string_equal(kv_list_get(&l, "empty"), "");
    assert_string_equal(kv_list_get(&l, "flag"), "");
    assert_string_equal(kv_list_get(&l, "x"), "+");
    assert_null(kv_list_get(&l, "missing"));
}

static void
test_form_refuses_bad_escapes_and_nul(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {"a=%", "a=%4", "a=%zz", "a=%00b",
                                      "%=1"};

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        struct kv_list l = {0};
        struct err err = {0};

        assert_int_equal(form_parse_urlencoded(f->arena, bad[i],
                                               strlen(bad[i]), &l, &err),
                         -1);
        assert_int_equal(err.kind, ERR_INPUT);
    }
}

static void
test_form_field_cap_is_enforced_at_one_past(void **state)
{
    struct fixture *f = *state;
    GString *s = g_string_new("");
    struct kv_list l = {0};
    struct err err = {0};

    for (unsigned i = 0; i < LIM_FORM_FIELDS; i++)
        g_string_append(s, "a=1&");
    assert_int_equal(form_parse_urlencoded(f->arena, s->str, s->len, &l,
                                           &err), 0);
    assert_int_equal(l.n, LIM_FORM_FIELDS);
    g_string_append(s, "b=2");
    l = (struct kv_list){0};
    assert_int_equal(form_parse_urlencoded(f->arena, s->str, s->len, &l,
                                           &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    g_string_free(s, TRUE);
}

static void
test_uri_splits_path_and_query(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};

    assert_int_equal(request_set_uri(&f->req, "GET",
                                     "/mailbox?f=INBOX&page=2&q=a%20b",
                                     &err), 0);
    assert_string_equal(f->req.path, "/mailbox");
    assert_string_equal(request_query(&f->req, "f"), "INBOX");
    assert_string_equal(request_query(&f->req, "page"), "2");
    assert_string_equal(request_query(&f->req, "q"), "a b");
}

static void
test_uri_path_is_decoded_without_plus(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};

    assert_int_equal(request_set_uri(&f->req, "GET", "/static/a+b%20c.css",
                                     &err), 0);
    assert_string_equal(f->req.path, "/static/a+b c.css");
}

static void
test_uri_errors_have_categories(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *uri;
        enum err_kind kind;
    } cases[] = {
        {"mailbox", ERR_INPUT},    {"/a%0", ERR_INPUT},
        {"/a%00b", ERR_INPUT},     {"/a#frag", ERR_INPUT},
        {"/a?x=%g1", ERR_INPUT},   {"http://h/a", ERR_INPUT},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct err err = {0};

        assert_int_equal(request_set_uri(&f->req, "GET", cases[i].uri, &err),
                         -1);
        assert_int_equal(err.kind, cases[i].kind);
    }
}

static void
test_uri_length_cap_is_enforced_at_one_past(void **state)
{
    struct fixture *f = *state;
    char *uri = g_malloc(LIM_HTTP_URL + 2);
    struct err err = {0};

    memset(uri, 'a', LIM_HTTP_URL + 1);
    uri[0] = '/';
    uri[LIM_HTTP_URL] = '\0';
    assert_int_equal(request_set_uri(&f->req, "GET", uri, &err), 0);
    uri[LIM_HTTP_URL] = 'a';
    uri[LIM_HTTP_URL + 1] = '\0';
    assert_int_equal(request_set_uri(&f->req, "GET", uri, &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    g_free(uri);
}

static void
test_header_byte_cap_is_enforced(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    char value[101];

    memset(value, 'v', 100);
    value[100] = '\0';
    /* "X-A: " + 100 + CRLF = 107 bytes each */
    assert_int_equal(request_add_header(&f->req, "X-A", value, 214, &err), 0);
    assert_int_equal(request_add_header(&f->req, "X-B", value, 214, &err), 0);
    assert_int_equal(request_add_header(&f->req, "X-C", "", 214, &err), -1);
    assert_int_equal(err.kind, ERR_LIMIT);
    assert_string_equal(request_header(&f->req, "x-b"), value);
}

static void
test_header_count_cap_is_enforced(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};

    for (unsigned i = 0; i < LIM_HTTP_HEADER_COUNT; i++)
        assert_int_equal(request_add_header(&f->req, "X", "1", 1u << 20,
                                            &err), 0);
    assert_int_equal(request_add_header(&f->req, "X", "1", 1u << 20, &err),
                     -1);
    assert_int_equal(err.kind, ERR_LIMIT);
}

static void
test_cookies_are_parsed_from_every_cookie_header(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};

    assert_int_equal(request_add_header(&f->req, "Cookie",
                                        "a=1; postern=abc=def;  b = 2;bad",
                                        4096, &err), 0);
    assert_int_equal(request_add_header(&f->req, "Cookie", "c=3", 4096,
                                        &err), 0);
    assert_string_equal(request_cookie(&f->req, "postern"), "abc=def");
    assert_string_equal(request_cookie(&f->req, "a"), "1");
    assert_string_equal(request_cookie(&f->req, "b"), " 2");
    assert_string_equal(request_cookie(&f->req, "c"), "3");
    assert_null(request_cookie(&f->req, "bad"));
}

static void
test_json_is_chosen_by_accept_or_format(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};

    assert_false(request_wants_json(&f->req));
    assert_int_equal(request_add_header(&f->req, "Accept",
                                        "text/html,application/json;q=0.9",
                                        4096, &err), 0);
    assert_false(request_wants_json(&f->req));
    f->req.headers.n = 0;
    assert_int_equal(request_add_header(&f->req, "Accept", "application/json",
                                        4096, &err), 0);
    assert_true(request_wants_json(&f->req));
    assert_int_equal(request_set_uri(&f->req, "GET", "/?format=html", &err),
                     0);
    assert_false(request_wants_json(&f->req));
    f->req.headers.n = 0;
    assert_int_equal(request_set_uri(&f->req, "GET", "/?format=json", &err),
                     0);
    assert_true(request_wants_json(&f->req));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_form_decodes_escapes_plus_and_repeats),
        T(test_form_refuses_bad_escapes_and_nul),
        T(test_form_field_cap_is_enforced_at_one_past),
        T(test_uri_splits_path_and_query),
        T(test_uri_path_is_decoded_without_plus),
        T(test_uri_errors_have_categories),
        T(test_uri_length_cap_is_enforced_at_one_past),
        T(test_header_byte_cap_is_enforced),
        T(test_header_count_cap_is_enforced),
        T(test_cookies_are_parsed_from_every_cookie_header),
        T(test_json_is_chosen_by_accept_or_format),
#undef T
    };

    return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}
