/* render.c - the template set and the two renderings of a view model.
 * Layer: view. Templates are read once at start-up and never change. */
#include <string.h>

#include <glib.h>

#include "view/mustache.h"
#include "view/render.h"

#define RENDER_SUFFIX ".mustache"

struct render_tmpl {
    char *source;
    size_t len;
    struct mustache *compiled;
};

struct render_set {
    GHashTable *by_name; /* name -> struct render_tmpl */
    struct mustache_cache *partials; /* compiled once, not per page */
};

static void
render_tmpl_free(gpointer p)
{
    struct render_tmpl *t = p;

    mustache_free(&t->compiled);
    g_free(t->source);
    g_free(t);
}

struct render_set *
render_set_load(const char *dir, struct err *err)
{
    struct render_set *rs = g_new0(struct render_set, 1);
    GError *gerr = NULL;
    GDir *d = g_dir_open(dir, 0, &gerr);
    const char *entry;

    rs->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        render_tmpl_free);
    rs->partials = mustache_cache_new();
    if (d == NULL) {
        err_set(err, ERR_CONFIG, "templates: %s", gerr->message);
        g_error_free(gerr);
        render_set_free(&rs);
        return NULL;
    }
    while ((entry = g_dir_read_name(d)) != NULL) {
        struct render_tmpl *t;
        char *path;
        gsize len;

        if (!g_str_has_suffix(entry, RENDER_SUFFIX))
            continue;
        t = g_new0(struct render_tmpl, 1);
        path = g_build_filename(dir, entry, NULL);
        if (!g_file_get_contents(path, &t->source, &len, &gerr)) {
            err_set(err, ERR_CONFIG, "%s: %s", path, gerr->message);
            g_error_free(gerr);
        } else {
            struct err cerr = {0};

            t->len = len;
            t->compiled = mustache_compile(t->source, t->len, &cerr);
            if (t->compiled == NULL)
                err_set(err, ERR_CONFIG, "%s: %s", path, cerr.msg);
        }
        g_free(path);
        if (t->compiled == NULL) {
            render_tmpl_free(t);
            g_dir_close(d);
            render_set_free(&rs);
            return NULL;
        }
        g_hash_table_insert(rs->by_name,
                            g_strndup(entry, strlen(entry) -
                                                 strlen(RENDER_SUFFIX)),
                            t);
    }
    g_dir_close(d);
    return rs;
}

void
render_set_free(struct render_set **rsp)
{
    struct render_set *rs = *rsp;

    if (rs == NULL)
        return;
    if (rs->by_name != NULL)
        g_hash_table_destroy(rs->by_name);
    mustache_cache_free(&rs->partials);
    g_free(rs);
    *rsp = NULL;
}

bool
render_set_has(const struct render_set *rs, const char *name)
{
    return g_hash_table_contains(rs->by_name, name);
}

static const char *
render_partial(void *ctx, const char *name, size_t *len_out)
{
    const struct render_set *rs = ctx;
    const struct render_tmpl *t = g_hash_table_lookup(rs->by_name, name);

    if (t == NULL)
        return NULL;
    *len_out = t->len;
    return t->source;
}

int
render_html(const struct render_set *rs, const char *name,
            struct json_object *view, GString *out, struct err *err)
{
    const struct render_tmpl *t = g_hash_table_lookup(rs->by_name, name);

    if (t == NULL) {
        err_set(err, ERR_INTERNAL, "no template %s", name);
        return -1;
    }
    return mustache_render_cached(t->compiled, view, render_partial,
                                  (void *)rs, rs->partials, out, err);
}

void
render_json(struct json_object *view, GString *out)
{
    size_t len;
    const char *s = json_object_to_json_string_length(
        view, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

    g_string_append_len(out, s, (gssize)len);
}
