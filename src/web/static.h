/* static.h - the files under static/, read into memory at start-up and
 * served by name. Layer: web. Only names found at start-up can be served,
 * so no request path can reach another file. */
#ifndef POSTERN_WEB_STATIC_H
#define POSTERN_WEB_STATIC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "web/request.h"

struct web_static;

/* Reads every regular file directly in dir (at most 256 files of 4 MiB).
 * NULL with ERR_CONFIG when dir is unreadable. */
struct web_static *web_static_load(const char *dir, struct err *err);
void web_static_free(struct web_static **st);

/* Shrinks a stylesheet in place for the wire (comments and line breaks
 * are for whoever reads static/, not for a phone on a slow link): removes
 * its comments, with the line of one that stands on its own, and the line
 * breaks after "{", "}" and ";". Strings and url() are kept as they are;
 * tokens stay the same. Returns the new length. */
size_t web_static_minify_css(char *css, size_t len);

#define WEB_STATIC_VERSION_LEN 16u /* hex digits */

/* A hash of every file's name and content, WEB_STATIC_VERSION_LEN hex
 * digits: static URLs are BASE/static/VERSION/NAME, so a new version of
 * any file is a new URL and old ones may be cached for good. */
const char *web_static_version(const struct web_static *st);

/* Answers GET /static/[VERSION/]name: 200 with type, ETag and cache
 * headers (a year and immutable when versioned, i.e. the URL carried the
 * current version; an hour otherwise), gzip-coded when the client accepts
 * it and cfg compress is on (then with its own ETag), 304 when
 * If-None-Match matches the representation chosen, or -1 with
 * ERR_NOT_FOUND. */
ATTR_NODISCARD int web_static_serve(const struct web_static *st,
                                    struct request *req,
                                    struct response *resp, const char *name,
                                    bool versioned, struct err *err);

#endif
