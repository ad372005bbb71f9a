/* test_view_mail.c - the mailbox list's rows: dates in their short form
 * (time today, day and month this year, else the whole date) and RFC 3339,
 * and sizes as GLib writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <json-c/json.h>

#include "core/arena.h"
#include "view/view.h"

/* What the row shows for t, by the rule written out with GLib's own
 * formatter (main() runs in the C locale, as this test does): "14:05"
 * today, "3 Nov" this year, else "2025-11-03". */
static char *
expected_short(int64_t t, GDateTime *now)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(t);
    GDateTime *d = g_date_time_to_timezone(utc, view_tz_local());
    const char *fmt = "%Y-%m-%d";
    char *s;

    if (g_date_time_get_year(d) == g_date_time_get_year(now))
        fmt = g_date_time_get_day_of_year(d) ==
                      g_date_time_get_day_of_year(now)
                  ? "%H:%M"
                  : "%e %b";
    s = g_date_time_format(d, fmt);
    /* GLib pads %e with a figure space (U+2007): the row wants none */
    if (g_str_has_prefix(s, "\xe2\x80\x87"))
        memmove(s, s + 3, strlen(s + 3) + 1);
    g_date_time_unref(d);
    g_date_time_unref(utc);
    return s;
}

static struct json_object *
row(struct json_object *view, size_t i)
{
    struct json_object *msgs = NULL;

    assert_true(json_object_object_get_ex(view, "messages", &msgs));
    return json_object_array_get_idx(msgs, i);
}

static const char *
field(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;

    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

/* The list view of n rows, each filled in by set(i, row) on plain
 * defaults. */
static struct json_object *
list_of(struct arena *a, size_t n,
        void (*set)(size_t i, struct store_summary *m, const void *ctx),
        const void *ctx)
{
    struct store_summary *items = arena_alloc(a, n * sizeof(*items));
    struct store_page page = {.folder = "INBOX", .page = 1, .pages = 1,
                              .total = (unsigned)n, .items = items, .n = n};

    for (size_t i = 0; i < n; i++) {
        items[i].id = arena_printf(a, "%zu", i + 1);
        items[i].subject = items[i].from.name = "";
        items[i].from.email = "x@example.org";
        set(i, &items[i], ctx);
    }
    return view_mailbox(a, &page, NULL, "alice", "csrf");
}

static void
set_date(size_t i, struct store_summary *m, const void *ctx)
{
    m->date = ((const int64_t *)ctx)[i];
}

static void
set_size(size_t i, struct store_summary *m, const void *ctx)
{
    m->size = ((const uint64_t *)ctx)[i];
}

static void
test_row_dates_are_short_and_rfc3339(void **state)
{
    struct arena *a = arena_new(0);
    GDateTime *now = g_date_time_new_now(view_tz_local());
    int64_t t_now = g_date_time_to_unix(now);
    /* now; a day before (today or this year, or last year in January);
     * a month before; fixed dates in earlier years */
    const int64_t times[] = {
        t_now, t_now - 86400, t_now - 31 * 86400, 1718333447 /* 2024 */,
        946684799 /* 1999-12-31T23:59:59Z */, 86400 * 366 /* 1971 */,
    };
    struct json_object *view;

    (void)state;
    view = list_of(a, G_N_ELEMENTS(times), set_date, times);
    for (size_t i = 0; i < G_N_ELEMENTS(times); i++) {
        GDateTime *u = g_date_time_new_from_unix_utc(times[i]);
        char *want = expected_short(times[i], now);
        char *rfc = g_date_time_format(u, "%Y-%m-%dT%H:%M:%SZ");

        assert_string_equal(field(row(view, i), "date_display"), want);
        assert_string_equal(field(row(view, i), "date"), rfc);
        g_free(rfc);
        g_free(want);
        g_date_time_unref(u);
    }
    assert_string_equal(field(row(view, 4), "date"), "1999-12-31T23:59:59Z");
    g_date_time_unref(now);
    arena_free(&a);
}

/* A row's size reads as GLib's g_format_size() would write it. */
static void
test_row_sizes_read_as_glib_writes_them(void **state)
{
    struct arena *a = arena_new(0);
    const uint64_t sizes[] = {
        0, 1, 2, 999, 1000, 1049, 1050, 1500, 999949, 999950, 1000000,
        12345678, 999999999, 5000000000ull, 123456789012345ull,
        UINT64_MAX,
    };
    struct json_object *view;

    (void)state;
    view = list_of(a, G_N_ELEMENTS(sizes), set_size, sizes);
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        char *want = g_format_size(sizes[i]);

        assert_string_equal(field(row(view, i), "size_display"), want);
        g_free(want);
    }
    arena_free(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_dates_are_short_and_rfc3339),
        cmocka_unit_test(test_row_sizes_read_as_glib_writes_them),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
