/* view_mail.c - view models of the folder tree and of a mailbox page.
 * Layer: view. Field names are the JSON contract of DESIGN §3; the extra
 * fields (hrefs, display strings) serve the templates. */
#include <string.h>

#include <glib.h>

#include "view/view.h"

/* A query-string-safe copy of s, in the arena. */
static const char *
view_q(struct arena *a, const char *s)
{
    char *e = g_uri_escape_string(s, NULL, FALSE);
    const char *r = arena_strdup(a, e);

    g_free(e);
    return r;
}

static void
view_add_int(struct json_object *o, const char *key, int64_t v)
{
    view_add(o, key, json_object_new_int64(v));
}

static void
view_add_bool(struct json_object *o, const char *key, bool v)
{
    view_add(o, key, json_object_new_boolean(v));
}

static void
view_common(struct json_object *v, const char *user, const char *csrf)
{
    view_add_str(v, "user", user);
    view_add_str(v, "csrf", csrf);
}

struct json_object *
view_folders(struct arena *a, const struct store_folder_list *list,
             const char *user, const char *csrf)
{
    struct json_object *v = view_obj_new(a);
    struct json_object *arr = json_object_new_array();

    for (size_t i = 0; i < list->n; i++) {
        const struct store_folder *f = &list->items[i];
        struct json_object *o = json_object_new_object();

        view_add_str(o, "name", f->name);
        view_add_str(o, "path", f->path);
        view_add_str(o, "role", store_role_name(f->role));
        if (f->has_counts) {
            view_add_int(o, "unread", f->unread);
            view_add_int(o, "total", f->total);
        } else {
            view_add(o, "unread", NULL);
            view_add(o, "total", NULL);
        }
        view_add_bool(o, "subscribed", f->subscribed);
        view_add_bool(o, "selectable", f->selectable);
        view_add_int(o, "depth", f->depth);
        view_add_str(o, "href_f", view_q(a, f->path));
        /* three steps of indent are all a phone's width can spare; the
           true depth is in "depth" */
        view_add_str(o, "indent", arena_printf(a, "%u", MIN(f->depth, 3u)));
        view_add_bool(o, "has_unread", f->has_counts && f->unread > 0);
        view_add_bool(o, "is_inbox", f->role == STORE_ROLE_INBOX);
        view_add_bool(o, "is_trash", f->role == STORE_ROLE_TRASH ||
                                         f->role == STORE_ROLE_JUNK);
        json_object_array_add(arr, o);
    }
    view_add_str(v, "title", "Folders");
    view_add(v, "folders", arr);
    view_common(v, user, csrf);
    return v;
}

/* The C locale's month names, which main() sets: g_date_time_format()
 * asks gettext for them on every call, a fifth of a cached list page's
 * CPU for its 50 rows. */
static const char *const view_months[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* "14:05" today, "3 Nov" this year, else "2025-11-03": short enough for
 * a phone's list row. Local time of the server, in now's zone
 * (view_tz_local()). */
static const char *
view_date_short(struct arena *a, int64_t t, GDateTime *now)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(t);
    GDateTime *d = utc != NULL ? g_date_time_to_timezone(
                                     utc, g_date_time_get_timezone(now))
                               : NULL;
    int y, m, day;
    const char *r;

    if (d == NULL) {
        if (utc != NULL)
            g_date_time_unref(utc);
        return "";
    }
    g_date_time_get_ymd(d, &y, &m, &day);
    if (y == g_date_time_get_year(now) &&
        g_date_time_get_day_of_year(d) == g_date_time_get_day_of_year(now))
        r = arena_printf(a, "%02d:%02d", g_date_time_get_hour(d),
                         g_date_time_get_minute(d));
    else if (y == g_date_time_get_year(now))
        r = arena_printf(a, "%d %s", day, view_months[(m - 1) % 12]);
    else
        r = arena_printf(a, "%04d-%02d-%02d", y, m, day);
    g_date_time_unref(d);
    g_date_time_unref(utc);
    return r;
}

static const char *
view_rfc3339(struct arena *a, int64_t t)
{
    GDateTime *d = g_date_time_new_from_unix_utc(t);
    int y, m, day;
    const char *r;

    if (d == NULL)
        return "";
    g_date_time_get_ymd(d, &y, &m, &day);
    r = arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, day,
                     g_date_time_get_hour(d), g_date_time_get_minute(d),
                     g_date_time_get_second(d));
    g_date_time_unref(d);
    return r;
}

static const char *
view_mailbox_href(struct arena *a, const struct store_page *p,
                  const char *search, unsigned page, enum store_sort sort)
{
    return arena_printf(a, "mailbox?f=%s&page=%u&sort=%s%s%s",
                        view_q(a, p->folder), page, store_sort_name(sort),
                        search != NULL ? "&q=" : "",
                        search != NULL ? view_q(a, search) : "");
}

struct json_object *
view_mailbox(struct arena *a, const struct store_page *p, const char *search,
             const char *user, const char *csrf)
{
    struct json_object *v = view_obj_new(a);
    struct json_object *msgs = json_object_new_array();
    struct json_object *sorts = json_object_new_array();
    GDateTime *now = g_date_time_new_now(view_tz_local());
    static const struct {
        enum store_sort sort;
        const char *label;
    } sort_labels[] = {
        {STORE_SORT_DATE_DESC, "Newest first"},
        {STORE_SORT_DATE_ASC, "Oldest first"},
        {STORE_SORT_FROM_ASC, "Sender A–Z"},
        {STORE_SORT_FROM_DESC, "Sender Z–A"},
        {STORE_SORT_SUBJECT_ASC, "Subject A–Z"},
        {STORE_SORT_SUBJECT_DESC, "Subject Z–A"},
        {STORE_SORT_SIZE_DESC, "Largest first"},
        {STORE_SORT_SIZE_ASC, "Smallest first"},
    };

    view_add_str(v, "folder", p->folder);
    view_add_str(v, "folder_q", view_q(a, p->folder));
    view_add_int(v, "page", p->page);
    view_add_int(v, "pages", p->pages);
    view_add_int(v, "total", p->total);
    view_add_str(v, "sort", store_sort_name(p->sort));
    view_add_str(v, "q", search != NULL ? search : "");
    view_add_bool(v, "searching", search != NULL);
    for (size_t i = 0; i < p->n; i++) {
        const struct store_summary *m = &p->items[i];
        struct json_object *o = json_object_new_object();
        struct json_object *from = json_object_new_object();

        view_add_id(o, "uid", m->id);
        view_add_str(o, "uid_q", view_q(a, m->id));
        view_add_str(o, "subject", m->subject);
        view_add_bool(o, "has_subject", m->subject[0] != '\0');
        view_add_str(from, "name", m->from.name);
        view_add_str(from, "email", m->from.email);
        view_add_str(from, "display", m->from.name[0] != '\0'
                                          ? m->from.name
                                          : m->from.email);
        view_add(o, "from", from);
        view_add_str(o, "date", view_rfc3339(a, m->date));
        view_add_str(o, "date_display", view_date_short(a, m->date, now));
        view_add_int(o, "size", (int64_t)m->size);
        view_add_str(o, "size_display", view_size(a, m->size));
        view_add_bool(o, "seen", m->seen);
        view_add_bool(o, "flagged", m->flagged);
        view_add_bool(o, "answered", m->answered);
        view_add_bool(o, "has_attachments", m->has_attachments);
        view_add_str(o, "href", arena_printf(a, "message?f=%s&uid=%s",
                                             view_q(a, p->folder),
                                             view_q(a, m->id)));
        json_object_array_add(msgs, o);
    }
    view_add(v, "messages", msgs);
    for (size_t i = 0; i < G_N_ELEMENTS(sort_labels); i++) {
        struct json_object *o = json_object_new_object();

        view_add_str(o, "value", store_sort_name(sort_labels[i].sort));
        view_add_str(o, "label", sort_labels[i].label);
        view_add_bool(o, "selected", sort_labels[i].sort == p->sort);
        json_object_array_add(sorts, o);
    }
    view_add(v, "sorts", sorts);
    if (p->page > 1)
        view_add_str(v, "prev_href", view_mailbox_href(a, p, search,
                                                       p->page - 1, p->sort));
    if (p->page < p->pages)
        view_add_str(v, "next_href", view_mailbox_href(a, p, search,
                                                       p->page + 1, p->sort));
    view_add_str(v, "title", p->folder);
    view_add_bool(v, "empty", p->n == 0);
    view_add_str(v, "back", view_mailbox_href(a, p, search, p->page,
                                              p->sort));
    view_common(v, user, csrf);
    g_date_time_unref(now);
    return v;
}

struct json_object *
view_targets(const char *const *names, size_t n, const char *current)
{
    struct json_object *targets = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
        struct json_object *o;

        if (strcmp(names[i], current) == 0)
            continue;
        o = json_object_new_object();
        view_add_str(o, "path", names[i]);
        json_object_array_add(targets, o);
    }
    return targets;
}
