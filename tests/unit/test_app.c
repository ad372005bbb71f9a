/* test_app.c - the web layer without sockets: routing, error pages in HTML
 * and JSON, security headers, static files with ETags, base paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <json-c/json.h>

#include "core/cfg.h"
#include "web/app.h"
#include "web/request.h"
#include "web/static.h"

struct fixture {
    struct cfg *cfg;
    struct web_app *app;
    struct arena *arena;
    struct request req;
    struct response resp;
};

static int
setup_with(void **state, const char *base_path)
{
    struct fixture *f = g_new0(struct fixture, 1);
    char *text = g_strdup_printf("[postern]\ndata_dir = %s\nbase_path = %s\n"
                                 "access_log = false\n"
                                 "[server one]\nhost = a.example\n"
                                 "[server two]\nhost = b.example\n",
                                 SOURCE_DIR, base_path);
    struct err err = {0};

    f->cfg = cfg_load_data("test.conf", text, strlen(text), &err);
    g_free(text);
    if (f->cfg == NULL)
        fail_msg("%s", err.msg);
    f->app = web_app_new(f->cfg, &err);
    if (f->app == NULL)
        fail_msg("%s", err.msg);
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return setup_with(state, "/");
}

static int
setup_webmail(void **state)
{
    return setup_with(state, "/webmail/");
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    arena_free(&f->arena);
    web_app_free(&f->app);
    cfg_free(&f->cfg);
    g_free(f);
    return 0;
}

/* Runs one request through the app; headers are "Name: value" strings. */
static struct response *
run(struct fixture *f, const char *method, const char *uri,
    const char *const *headers)
{
    struct err err = {0};

    arena_free(&f->arena);
    f->arena = arena_new(0);
    request_init(&f->req, f->arena, f->app);
    response_init(&f->resp, f->arena);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        char **kv = g_strsplit(headers[i], ": ", 2);

        assert_int_equal(request_add_header(&f->req, kv[0], kv[1], 16384,
                                            &err), 0);
        g_strfreev(kv);
    }
    if (request_set_uri(&f->req, method, uri, &err) < 0)
        web_app_reject(f->app, &f->req, &f->resp, &err);
    else
        web_app_handle(f->app, &f->req, &f->resp);
    return &f->resp;
}

static void
assert_security_headers(const struct response *r)
{
    const char *csp = response_header(r, "Content-Security-Policy");

    assert_non_null(csp);
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe-inline"));
    assert_string_equal(response_header(r, "X-Content-Type-Options"),
                        "nosniff");
    assert_string_equal(response_header(r, "Referrer-Policy"), "no-referrer");
}

static void
test_login_form_lists_servers_and_escapes_input(void **state)
{
    struct fixture *f = *state;
    struct response *r = run(f, "GET", "/?user=%3Cb%3E%22x", NULL);

    assert_int_equal(r->status, 200);
    assert_string_equal(response_header(r, "Content-Type"),
                        "text/html; charset=utf-8");
    assert_string_equal(response_header(r, "Cache-Control"), "no-store");
    assert_security_headers(r);
    assert_non_null(strstr(r->body->str, "<form method=\"post\" "
                                         "action=\"/login\">"));
    assert_non_null(strstr(r->body->str, "<option value=\"two\">two"));
    assert_non_null(strstr(r->body->str, "value=\"&lt;b&gt;&quot;x\""));
    assert_null(strstr(r->body->str, "<b>"));
}

static void
test_login_view_answers_json_when_asked(void **state)
{
    struct fixture *f = *state;
    static const char *const accept[] = {"Accept: application/json", NULL};
    struct response *r = run(f, "GET", "/", accept);
    struct json_object *o = json_tokener_parse(r->body->str);
    struct json_object *servers;

    assert_int_equal(r->status, 200);
    assert_string_equal(response_header(r, "Content-Type"),
                        "application/json");
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "servers", &servers));
    assert_int_equal(json_object_array_length(servers), 2);
    json_object_put(o);
}

static void
test_unknown_path_is_a_404_page_or_json_error(void **state)
{
    struct fixture *f = *state;
    static const char *const accept[] = {"Accept: application/json", NULL};
    struct response *r = run(f, "GET", "/no/such/page", NULL);
    struct json_object *o, *e, *code;

    assert_int_equal(r->status, 404);
    assert_security_headers(r);
    assert_non_null(strstr(r->body->str, "<h1 id=\"error-title\">404"));

    r = run(f, "GET", "/no/such/page", accept);
    assert_int_equal(r->status, 404);
    o = json_tokener_parse(r->body->str);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "error", &e));
    assert_true(json_object_object_get_ex(e, "code", &code));
    assert_string_equal(json_object_get_string(code), "not_found");
    json_object_put(o);
}

static void
test_wrong_method_is_405_with_allow(void **state)
{
    struct fixture *f = *state;
    struct response *r = run(f, "DELETE", "/", NULL);

    assert_int_equal(r->status, 405);
    assert_string_equal(response_header(r, "Allow"), "GET, HEAD");
    r = run(f, "GET", "/login", NULL);
    assert_int_equal(r->status, 405);
    assert_string_equal(response_header(r, "Allow"), "POST");
}

static void
test_bad_url_is_a_400_page(void **state)
{
    struct fixture *f = *state;
    struct response *r = run(f, "GET", "/mailbox?f=%zz", NULL);

    assert_int_equal(r->status, 400);
    assert_security_headers(r);
    assert_non_null(strstr(r->body->str, "not valid"));
}

static void
test_static_file_has_type_etag_and_304(void **state)
{
    struct fixture *f = *state;
    struct response *r = run(f, "GET", "/static/postern.css", NULL);
    const char *hdr[2] = {NULL, NULL};
    char *etag;

    assert_int_equal(r->status, 200);
    assert_string_equal(response_header(r, "Content-Type"),
                        "text/css; charset=utf-8");
    /* the rules, not the comments (the file starts with one) */
    assert_non_null(strstr(r->body->str, ":root{"));
    assert_null(strstr(r->body->str, "/*"));
    etag = g_strdup(response_header(r, "ETag"));
    assert_int_equal(strlen(etag), 18);
    assert_int_equal(etag[0], '"');
    hdr[0] = g_strdup_printf("If-None-Match: W/\"zz\", %s", etag);
    r = run(f, "GET", "/static/postern.css", hdr);
    assert_int_equal(r->status, 304);
    assert_int_equal(r->body->len, 0);
    g_free((char *)hdr[0]);
    hdr[0] = "If-None-Match: \"0000000000000000\"";
    r = run(f, "GET", "/static/postern.css", hdr);
    assert_int_equal(r->status, 200);
    g_free(etag);
}

static void
test_css_comments_and_line_breaks_go_strings_stay(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"/* head */\na{b:c}\n", "a{b:c}"},
        {"a{\nb:c;\nd:e}\nf{}\n", "a{b:c;d:e}f{}"},
        {"a{b:c}\n/* own line */\nd{}", "a{b:c}d{}"},
        {"a,\nb{}", "a,\nb{}"}, /* only after { } ; */
        {"a{b:c} /* why */\nd{e:f}", "a{b:c} \nd{e:f}"},
        {"a{content:\"/* kept */\"}", "a{content:\"/* kept */\"}"},
        {"a{content:'\\'/*'}/**/b{}", "a{content:'\\'/*'}b{}"},
        {"a{}/* never closed", "a{}"},
        {"a{}/*/b{}*/c{}", "a{}c{}"},
        /* two tokens stay two; a comment between others just goes */
        {"a{margin:1px/**/2px}", "a{margin:1px/**/2px}"},
        {"a/* x */.b{}", "a.b{}"},
        /* an unquoted url() holds no comment */
        {"a{b:url(x/*y*/z)}/**/c{}", "a{b:url(x/*y*/z)}c{}"},
        {"a{b:url( \"/*\" )/* c */}", "a{b:url( \"/*\" )}"},
        {"", ""},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *css = g_strdup(cases[i].in);
        size_t n = web_static_minify_css(css, strlen(css));

        css[n] = '\0';
        if (strcmp(css, cases[i].out) != 0)
            fail_msg("\"%s\" gave \"%s\", not \"%s\"", cases[i].in, css,
                     cases[i].out);
        g_free(css);
    }
}

static void
test_static_refuses_traversal_and_unknown_names(void **state)
{
    struct fixture *f = *state;
    static const char *const uris[] = {
        "/static/../conf/postern.conf", "/static/%2e%2e/conf/postern.conf",
        "/static/..%2fMakefile",        "/static/nope.css",
        "/static/",                     "/static/.hidden",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(uris); i++) {
        struct response *r = run(f, "GET", uris[i], NULL);

        if (r->status != 404)
            fail_msg("%s answered %d", uris[i], r->status);
        assert_null(strstr(r->body->str, "[postern]"));
    }
}

static void
test_healthz_and_metrics_answer(void **state)
{
    struct fixture *f = *state;
    struct response *r = run(f, "GET", "/healthz", NULL);

    assert_int_equal(r->status, 200);
    assert_string_equal(r->body->str, "ok\n");
    web_app_request_done(f->app, &f->req, 404, 10);
    r = run(f, "GET", "/metrics", NULL);
    assert_non_null(strstr(r->body->str,
                           "postern_responses_total{class=\"4xx\"} 1\n"));
}

static void
test_base_path_prefixes_links_and_bounds_routes(void **state)
{
    struct fixture *f = *state;
    struct response *r = run(f, "GET", "/webmail/", NULL);

    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->body->str, "action=\"/webmail/login\""));
    assert_non_null(strstr(r->body->str, "href=\"/webmail/static/"));
    r = run(f, "GET", "/webmail", NULL);
    assert_int_equal(r->status, 200);
    r = run(f, "GET", "/webmail/static/postern.css", NULL);
    assert_int_equal(r->status, 200);
    r = run(f, "GET", "/static/postern.css", NULL);
    assert_int_equal(r->status, 404);
    r = run(f, "GET", "/webmailx/", NULL);
    assert_int_equal(r->status, 404);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_login_form_lists_servers_and_escapes_input),
        T(test_login_view_answers_json_when_asked),
        T(test_unknown_path_is_a_404_page_or_json_error),
        T(test_wrong_method_is_405_with_allow),
        T(test_bad_url_is_a_400_page),
        T(test_static_file_has_type_etag_and_304),
        T(test_static_refuses_traversal_and_unknown_names),
        cmocka_unit_test(test_css_comments_and_line_breaks_go_strings_stay),
        T(test_healthz_and_metrics_answer),
        cmocka_unit_test_setup_teardown(
            test_base_path_prefixes_links_and_bounds_routes, setup_webmail,
            teardown),
#undef T
    };

    return cmocka_run_group_tests_name("app", tests, NULL, NULL);
}
