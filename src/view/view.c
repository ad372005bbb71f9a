/* view.c - shared view-model helpers and the small pages (login, error).
 * Layer: view. Trust: inputs may be untrusted; they are only stored here. */
#include <string.h>

#include "view/view.h"

static void
view_obj_put(void *o)
{
    json_object_put(o);
}

GTimeZone *
view_tz_local(void)
{
    static GTimeZone *tz;

    if (g_once_init_enter(&tz))
        g_once_init_leave(&tz, g_time_zone_new_local());
    return tz;
}

struct json_object *
view_obj_new(struct arena *a)
{
    struct json_object *o = json_object_new_object();

    arena_defer(a, view_obj_put, o);
    return o;
}

const char *
view_size(struct arena *a, uint64_t n)
{
    static const char *const units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
    double unit = 1000.0;
    size_t i = 0;

    if (n < 1000)
        return n == 1 ? "1 byte" : arena_printf(a, "%u bytes", (unsigned)n);
    while (i + 1 < G_N_ELEMENTS(units) && (double)n >= unit * 1000.0) {
        unit *= 1000.0;
        i++;
    }
    /* a no-break space: the unit stays with its number */
    return arena_printf(a, "%.1f\u00a0%s", (double)n / unit, units[i]);
}

void
view_add(struct json_object *o, const char *key, struct json_object *v)
{
    json_object_object_add_ex(o, key, v, JSON_C_OBJECT_KEY_IS_CONSTANT);
}

void
view_add_str(struct json_object *o, const char *key, const char *s)
{
    view_add(o, key, s != NULL ? json_object_new_string(s) : NULL);
}

void
view_add_id(struct json_object *o, const char *key, const char *id)
{
    size_t n = strlen(id);
    bool number = n > 0 && n <= 10 && id[0] != '0';

    for (size_t i = 0; i < n && number; i++)
        number = g_ascii_isdigit(id[i]);
    if (number && g_ascii_strtoull(id, NULL, 10) <= UINT32_MAX) {
        view_add(o, key, json_object_new_int64(
                             (int64_t)g_ascii_strtoull(id, NULL, 10)));
        return;
    }
    view_add_str(o, key, id);
}

void
view_add_caps(struct json_object *o, unsigned caps)
{
    static const struct {
        const char *name;
        enum store_cap cap;
    } names[] = {
        {"folders", STORE_CAP_FOLDERS}, {"flags", STORE_CAP_FLAGS},
        {"move", STORE_CAP_MOVE},       {"search", STORE_CAP_SEARCH},
        {"snapshot", STORE_CAP_SNAPSHOT},
    };
    struct json_object *c = json_object_new_object();

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        json_object_object_add(c, names[i].name,
                               json_object_new_boolean((caps &
                                                        names[i].cap) != 0));
    json_object_object_add(o, "caps", c);
}

struct json_object *
view_login(struct arena *a, const struct cfg *cfg, const char *user,
           const char *server, const char *error)
{
    struct json_object *v = view_obj_new(a);
    struct json_object *servers = json_object_new_array();

    for (size_t i = 0; i < cfg->n_servers; i++) {
        struct json_object *s = json_object_new_object();
        const char *name = cfg->servers[i]->name;

        view_add_str(s, "name", name);
        json_object_object_add(
            s, "selected",
            json_object_new_boolean(server != NULL
                                        ? strcmp(server, name) == 0
                                        : i == 0));
        json_object_array_add(servers, s);
    }
    view_add_str(v, "title", "Log in");
    json_object_object_add(v, "servers", servers);
    json_object_object_add(v, "choose_server",
                           json_object_new_boolean(cfg->n_servers > 1 &&
                                                   !cfg->allow_any_server));
    /* allow_any_server: a text field, the configured names suggested */
    json_object_object_add(v, "any_server",
                           json_object_new_boolean(cfg->allow_any_server));
    view_add_str(v, "login_server",
                 server != NULL && cfg->allow_any_server ? server : "");
    view_add_str(v, "login_user", user != NULL ? user : "");
    view_add_str(v, "error", error);
    return v;
}

struct json_object *
view_error(struct arena *a, int status, const char *code, const char *message,
           const char *retry_url)
{
    struct json_object *v = view_obj_new(a);
    struct json_object *e = json_object_new_object();

    view_add_str(e, "code", code);
    view_add_str(e, "message", message);
    json_object_object_add(v, "error", e);
    json_object_object_add(v, "status", json_object_new_int(status));
    view_add_str(v, "title", message);
    view_add_str(v, "retry_url", retry_url);
    return v;
}
