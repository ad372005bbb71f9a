/* mustache.h - the mustache template renderer over json-c view models.
 * Layer: view. Trust: templates are ours (still parsed defensively, with
 * named errors and capped nesting); view values are UNTRUSTED and escaped. */
#ifndef POSTERN_VIEW_MUSTACHE_H
#define POSTERN_VIEW_MUSTACHE_H

#include <stddef.h>

#include <glib.h>
#include <json-c/json.h>

#include "core/attr.h"
#include "core/err.h"

/* A compiled template. Immutable after mustache_compile(), so one compiled
 * template may be rendered by many threads at once. */
struct mustache;

/* Resolves a partial by name: returns its source and stores its length in
 * *len_out, or returns NULL if there is no such partial (which renders as
 * nothing, as the spec says). The source need not be NUL-terminated and must
 * stay valid until mustache_render() returns. */
typedef const char *mustache_partial_fn(void *ctx, const char *name,
                                        size_t *len_out);

/* Compiles the len bytes at src (not necessarily NUL-terminated; src is
 * copied, so it may be freed afterwards). Returns a template owned by the
 * caller, to be released with mustache_free().
 * On a syntax error returns NULL with err set to ERR_INPUT and a message
 * naming the line and the fault: an unclosed tag, an unclosed section, a
 * close tag with no matching open section, a bad set-delimiter tag, an empty
 * or malformed name. Sections nested deeper than LIM_TEMPLATE_SECTION_DEPTH
 * are ERR_LIMIT. */
struct mustache *mustache_compile(const char *src, size_t len,
                                  struct err *err);

/* Frees *t and sets *t to NULL. NULL-safe, and *t may be NULL. */
void mustache_free(struct mustache **t);

/* Appends the rendering of t over view to out. view is the bottom of the
 * context stack and may be any json-c value (NULL is JSON null); it is only
 * read, never modified (not even json-c's serialization cache).
 * {{x}} escapes & < > " ' as &amp; &lt; &gt; &quot; &#39;. Strings render as
 * their bytes, integers in decimal, doubles in the shortest form that reads
 * back as the same double (1.21 -> "1.21"), booleans as "true" / "false";
 * null, missing names, objects and arrays render as nothing. In sections,
 * false, null, a missing name and an empty array are falsy; everything else
 * (including 0 and "") is truthy.
 * partials may be NULL (every partial is then missing); ctx is passed to it.
 * Returns 0, or -1 with err set: ERR_LIMIT past LIM_TEMPLATE_DEPTH nested
 * partials (so a partial that includes itself ends in this error), or the
 * kind from mustache_compile() (ERR_INPUT for a syntax error) with the
 * partial's name if a partial fails to compile. On failure out may hold part
 * of the rendering; discard it. */
ATTR_NODISCARD int mustache_render(const struct mustache *t,
                                   struct json_object *view,
                                   mustache_partial_fn *partials, void *ctx,
                                   GString *out, struct err *err);

/* Partials compiled once for many renders (each with the indentation it
 * is used at): for templates whose partials never change, such as a
 * loaded template set. Thread-safe; its templates are immutable. */
struct mustache_cache;

struct mustache_cache *mustache_cache_new(void);
/* NULL-safe (cache and *cache). */
void mustache_cache_free(struct mustache_cache **cache);

/* mustache_render(), with partials compiled once into cache (which must
 * only ever see the same partials fn and ctx). cache NULL: per render. */
ATTR_NODISCARD int mustache_render_cached(const struct mustache *t,
                                          struct json_object *view,
                                          mustache_partial_fn *partials,
                                          void *ctx,
                                          struct mustache_cache *cache,
                                          GString *out, struct err *err);

#endif
