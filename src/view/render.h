/* render.h - turns a view model into the response body: JSON as is, or HTML
 * through the mustache templates. Layer: view. Templates are trusted files;
 * view-model strings are untrusted and escaped by {{ }}. */
#ifndef POSTERN_VIEW_RENDER_H
#define POSTERN_VIEW_RENDER_H

#include <stdbool.h>

#include <glib.h>
#include <json-c/json.h>

#include "core/attr.h"
#include "core/err.h"

struct render_set;

/* Loads and compiles every DIR/NAME.mustache. NULL with ERR_CONFIG naming
 * the file (and line) when the folder is unreadable or a template is bad.
 * The set is immutable afterwards and shared by all threads. */
struct render_set *render_set_load(const char *dir, struct err *err);
void render_set_free(struct render_set **rs);

/* True if the set has a template of that name. */
bool render_set_has(const struct render_set *rs, const char *name);

/* Appends the HTML rendering of view through template name (partials come
 * from the same set). ERR_INTERNAL for an unknown template. */
ATTR_NODISCARD int render_html(const struct render_set *rs, const char *name,
                               struct json_object *view, GString *out,
                               struct err *err);

/* Appends view as compact JSON. */
void render_json(struct json_object *view, GString *out);

#endif
